#!/usr/bin/env bash
# CLIP encoder: candle (benches/clip.rs) vs PyTorch + transformers on the same random ViT-B/32
# weights, same thread count. Usage: scripts/bench_clip.sh [THREADS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
batch=${2:-32}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run -q --profile bench --example random_clip -- --arch vit-b-32 --out "$dir" --seed 0
RAYON_NUM_THREADS=$threads CLIP_BENCH_MODEL=$dir CLIP_BENCH_BATCH=$batch cargo bench -q --bench clip
OMP_NUM_THREADS=$threads python3 scripts/bench_clip_torch.py "$dir" --batch "$batch" --threads "$threads"
