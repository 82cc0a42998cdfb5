#!/usr/bin/env python3
"""Fidelity of `--precision bf16|int8` to f32 on the shared objects (../shared/data/objects, 107
files): top-1 agreement with f32 and the largest logit difference, for random ViT-B/32 and ViT-B/16
(a random model classifies nothing well; this measures agreement with f32, not accuracy). Feature
cosines are printed by benches/clip.rs.

    python3 scripts/bench_precision.py [--bin target/release/calip3d] [--archs vit-b-32,vit-b-16]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJECTS = ROOT.parent / "shared/data/objects"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/calip3d"))
    ap.add_argument("--archs", default="vit-b-32,vit-b-16")
    ap.add_argument("--precisions", default="f32,bf16,int8")
    args = ap.parse_args()
    if not OBJECTS.is_dir():
        sys.exit(f"{OBJECTS} is absent: the shared objects are needed")
    files = sorted(str(p) for p in OBJECTS.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")
    tmp = Path(tempfile.mkdtemp(prefix="calip3d-precision-"))
    env = dict(os.environ, RAYON_NUM_THREADS="2", CALIP3D_CACHE_DIR=str(tmp / "cache"))
    print(f"{len(files)} files")
    print("| model | precision | files | same top-1 as f32 | largest logit difference | mean largest difference |")
    print("|---|---|---|---|---|---|")
    for arch in args.archs.split(","):
        model = tmp / arch
        subprocess.run([str(ROOT / "target/release/examples/random_clip"), "--arch", arch, "--out", str(model),
                        "--seed", "0"], check=True, capture_output=True)
        ref = None
        for prec in args.precisions.split(","):
            out = subprocess.run([args.bin, "classify", "--classes", "modelnet40", "--model", str(model),
                                  "--device", "cpu", "-q", "--json", "-k", "1", "--precision", prec] + files,
                                 env=env, capture_output=True, text=True).stdout
            rows = {r["file"]: r["logits"] for r in map(json.loads, filter(str.strip, out.splitlines()))
                    if "logits" in r}
            if ref is None:
                ref = rows
            common = [f for f in rows if f in ref]
            argmax = lambda v: max(range(len(v)), key=v.__getitem__)
            same = sum(argmax(rows[f]) == argmax(ref[f]) for f in common)
            diffs = [max(abs(a - b) for a, b in zip(rows[f], ref[f])) for f in common]
            print(f"| {arch} | {prec} | {len(common)} | {same}/{len(common)} | {max(diffs):.4f} | "
                  f"{sum(diffs) / len(diffs):.4f} |", flush=True)


if __name__ == "__main__":
    main()
