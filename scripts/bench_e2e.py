#!/usr/bin/env python3
"""Whole-process wall time and peak RSS (`/usr/bin/time -v`) of `calip3d classify --classes
modelnet40` against the PyTorch + transformers pipeline (scripts/bench_classify_torch.py, model load
included) on the same random ViT-B/32 and the same clouds, 2 threads each, run interleaved
(calip3d, PyTorch, calip3d, ...) so that a noisy machine moves both alike, plus a calip3d f32 row
with an empty text-feature cache (PyTorch encodes the prompts on every run); then the fidelity of
`--precision bf16|int8` to f32 on those clouds (largest logit difference, top-1 agreement).

    python3 scripts/bench_e2e.py [--bin target/release/calip3d] [--rounds 3] [--clouds 12]
                                 [--precisions f32,bf16,int8] [--skip-torch]

Needs target/release/examples/random_clip (cargo build --release --example random_clip) and, unless
--skip-torch, Python with numpy, torch and transformers. Prints Markdown tables.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd, env):
    """(wall seconds, peak RSS in MB, stdout) of one run of `cmd` under /usr/bin/time -v."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return secs, rss, p.stdout


def cloud(n, seed):
    """A box surface with a little structure that differs by seed (as tests/common's box_cloud)."""
    import random
    r = random.Random(seed)
    size = [1.0 + seed * 0.3, 1.0, 0.5 + seed * 0.2]
    pts = []
    for i in range(n):
        p = [(r.random() - 0.5) * size[k] for k in range(3)]
        p[i % 3] = size[i % 3] * (0.5 if i % 2 == 0 else -0.5)
        pts.append(p)
    return pts


def write_ply(path, pts):
    head = (f"ply\nformat ascii 1.0\nelement vertex {len(pts)}\nproperty float x\nproperty float y\n"
            "property float z\nend_header\n")
    path.write_text(head + "".join(f"{x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in pts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/calip3d"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clouds", type=int, default=12)
    ap.add_argument("--precisions", default="f32,bf16,int8")
    ap.add_argument("--skip-torch", action="store_true")
    args = ap.parse_args()
    precisions = args.precisions.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="calip3d-e2e-"))
    model = tmp / "model"
    subprocess.run([str(ROOT / "target/release/examples/random_clip"), "--arch", "vit-b-32", "--out",
                    str(model), "--seed", "0"], check=True, capture_output=True)
    files = []
    for i in range(args.clouds):
        f = tmp / f"cloud{i:02}.ply"
        write_ply(f, cloud(1024, i))
        files.append(str(f))
    env = dict(os.environ, RAYON_NUM_THREADS="2", OMP_NUM_THREADS="2", CALIP3D_CACHE_DIR=str(tmp / "cache"))
    features = subprocess.run([args.bin, "classify", "--classes", "modelnet40", "--model", str(model),
                               "--device", "cpu", "-q", "-v", files[0]], env=env, capture_output=True,
                              text=True)
    print("calip3d -v:", " | ".join(l for l in features.stderr.splitlines() if "CPU features" in l))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine load before: {load}")

    def calip(prec, fs, json_out=False):
        cmd = [args.bin, "classify", "--classes", "modelnet40", "--model", str(model), "--device", "cpu",
               "-q", "--precision", prec] + (["--json", "-k", "1"] if json_out else []) + fs
        return cmd

    torch_cmd = lambda fs: [sys.executable, str(ROOT / "scripts/bench_classify_torch.py"), str(model), "2"] + fs
    cases = [("1 object", files[:1]), (f"{args.clouds} clouds in one call", files)]
    results = {}
    for _ in range(args.rounds):
        for name, fs in cases:
            for prec in precisions:
                results.setdefault((name, f"calip3d {prec}"), []).append(timed(calip(prec, fs), env)[:2])
            # The PyTorch pipeline encodes the prompts on every run; so does calip3d with an empty
            # text-feature cache (a first run, or --no-cache users).
            cold = dict(env, CALIP3D_CACHE_DIR=tempfile.mkdtemp(dir=tmp, prefix="cold-cache-"))
            results.setdefault((name, "calip3d f32, cold text cache"), []).append(
                timed(calip("f32", fs), cold)[:2])
            if not args.skip_torch:
                results.setdefault((name, "PyTorch fp32"), []).append(timed(torch_cmd(fs), env)[:2])
    print(f"\n| case | run | wall s (median of {args.rounds}) | peak RSS MB | wall / PyTorch |")
    print("|---|---|---|---|---|")
    for name, _ in cases:
        base = results.get((name, "PyTorch fp32"))
        for (n, who), rs in results.items():
            if n != name:
                continue
            wall = statistics.median(r[0] for r in rs)
            rss = max(r[1] for r in rs)
            ratio = (f"{statistics.median(a[0] / b[0] for a, b in zip(rs, base)):.3f}" if base else "-")
            print(f"| {name} | {who} | {wall:.2f} | {rss:.0f} | {ratio} |")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine load after: {load}")

    ref = None
    print("\n| precision | same top-1 as f32 | largest logit difference |")
    print("|---|---|---|")
    for prec in precisions:
        out = subprocess.run(calip(prec, files, json_out=True), env=env, capture_output=True, text=True,
                             check=True).stdout
        rows = [json.loads(l) for l in out.splitlines() if l.strip()]
        logits = [r["logits"] for r in rows]
        if ref is None:
            ref = logits
        top = sum(max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__)
                  for a, b in zip(logits, ref))
        diff = max(abs(x - y) for a, b in zip(logits, ref) for x, y in zip(a, b))
        print(f"| {prec} | {top}/{len(ref)} | {diff:.4f} |")


if __name__ == "__main__":
    main()
