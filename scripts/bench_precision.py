#!/usr/bin/env python3
"""Fidelity of `--precision bf16|int8` to f32 on the shared objects (../shared/data/objects, 107
files), for random ViT-B/32 and ViT-B/16: the cosine of every view's global and every patch's
spatial feature against f32, the largest logit difference and top-1 agreement with f32
(examples/precision_fidelity.rs does the work; a random model classifies nothing well, so this
measures agreement with f32, not accuracy).

    python3 scripts/bench_precision.py [--archs vit-b-32,vit-b-16]

Needs `cargo build --release --example random_clip --example precision_fidelity`.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJECTS = ROOT.parent / "shared/data/objects"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", default="vit-b-32,vit-b-16")
    args = ap.parse_args()
    if not OBJECTS.is_dir():
        sys.exit(f"{OBJECTS} is absent: the shared objects are needed")
    files = sorted(str(p) for p in OBJECTS.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")
    tmp = Path(tempfile.mkdtemp(prefix="calip3d-precision-"))
    env = dict(os.environ, RAYON_NUM_THREADS="2", CALIP3D_CACHE_DIR=str(tmp / "cache"))
    examples = ROOT / "target/release/examples"
    print(f"{len(files)} files")
    for arch in args.archs.split(","):
        model = tmp / arch
        subprocess.run([str(examples / "random_clip"), "--arch", arch, "--out", str(model), "--seed", "0"],
                       check=True, capture_output=True)
        print(f"\nrandom {arch}:\n", flush=True)
        subprocess.run([str(examples / "precision_fidelity"), str(model)] + files, env=env, check=True)


if __name__ == "__main__":
    main()
