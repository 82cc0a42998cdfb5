#!/usr/bin/env bash
# End-to-end CPU throughput of calip3d and of the Python pipeline on the same random ViT-B/32, in
# one run, same thread count (2). Dev-only: needs Python with numpy, torch, transformers.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(mktemp -d)
trap 'rm -rf "$model"' EXIT
clouds=${1:-16}
echo "## calip3d (Rust)"
# The bench writes a random ViT-B/32 into the empty folder, then Python reads the same weights.
RAYON_NUM_THREADS=2 cargo bench --bench pipeline -- "$model" "$clouds"
echo "## Python (numpy + torch + transformers)"
OMP_NUM_THREADS=2 python3 scripts/bench_pipeline_torch.py "$model" "$clouds" 2
