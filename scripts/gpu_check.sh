#!/usr/bin/env bash
# One prepared check on a machine with a real GPU (no Rust toolchain needed there): GPU-vs-CPU
# agreement tests and the projection benchmark, from binaries built here.
#
# Build here first (x86-64):
#   cargo bench --bench projection --no-run && cargo test --test it --no-run (the `it` executable; copy it as .gpubin/it)
#   mkdir -p .gpubin/objects && cp <the bench and test executables> .gpubin/
#   cp -r ../shared/data/objects/{chair,airplane,lamp,car,bathtub} .gpubin/objects/
#   Vulkan loader packages in .gl/ (see the device notes), both folders git-ignored.
# Then run this script there with .gl and .gpubin carried along.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
export CALIP3D_SHARED_DATA="$PWD/.gpubin"
echo "== GPU vs CPU agreement"
./.gpubin/it gpu:: --nocapture --test-threads 1 2>&1 | grep -Ev "^\s*$"
echo "== projection benchmark"
CALIP3D_BENCH_QUICK=1 ./.gpubin/projection
