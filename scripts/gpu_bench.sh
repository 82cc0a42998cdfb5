#!/usr/bin/env bash
# One prepared command for a machine with an NVIDIA GPU (H200) whose Python has torch,
# transformers and timm, but no network and no Rust toolchain: calip3d's GPU vision tower
# (wgpu/Vulkan, our WGSL kernels) against PyTorch CUDA, all in one run, written as a markdown
# table to gpu_bench.md (and printed).
#
# Prepare here (x86-64), then carry .gpubin (git-ignored) to the GPU machine:
#   cargo build --release --bin calip3d --example robot_latency --example random_clip
#   cargo bench --bench clip --no-run      # prints the bench executable's path
#   mkdir -p .gpubin && cp target/release/calip3d target/release/examples/robot_latency \
#       <target/release/deps/clip-HASH> .gpubin/ && mv .gpubin/clip-* .gpubin/clip_bench
#   target/release/examples/random_clip --arch vit-b-32 --out .gpubin/vit-b-32
#   target/release/examples/random_clip --arch vit-b-16 --out .gpubin/vit-b-16
#   Vulkan loader packages in .gl/*.deb where the machine lacks libvulkan1 (as scripts/gpu_check.sh)
# Run there:  scripts/gpu_bench.sh [.gpubin]
#
# Measures: encoder images/s for calip3d f32/f16 and PyTorch + transformers CUDA fp32/fp16 on
# random ViT-B/32 and B/16 (same weights, same batch); end-to-end objects/s for 1,000
# ModelNet-sized clouds (calip3d batch --device gpu) against a PointCLIP V2 pipeline in PyTorch
# (scripts/reference_pipeline.py's realistic projection, CLIP on CUDA fp16); a 1 M-point scene
# tile end to end; and a robot loop's p50/p99 latency of one object over 200 calls.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.gpubin}
out=gpu_bench.md
batch=${GPU_BENCH_BATCH:-256}
iters=${GPU_BENCH_ITERS:-10}
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig 2>/dev/null || true
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CALIP3D_CACHE_DIR="$work/cache"

{
  echo "# calip3d on the GPU vs PyTorch CUDA ($(date -u +%F))"
  echo
  echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo unknown)"
  echo
} > "$out"

echo "== encoder images/s (batch $batch, $iters iterations)"
echo "| model | engine | precision | images/s | min cos global vs candle f32 |" >> "$out"
echo "|---|---|---|---|---|" >> "$out"
for arch in vit-b-32 vit-b-16; do
  model="$bin/$arch"
  # calip3d: the GPU tower only (the CPU rows would take minutes at this batch).
  CLIP_BENCH_MODEL="$model" CLIP_BENCH_PRECISIONS=none CLIP_BENCH_GPU_BATCH="$batch" \
    CLIP_BENCH_ITERS="$iters" "$bin/clip_bench" 2>&1 | tee "$work/cal.txt"
  grep '^GPU .*images/s' "$work/cal.txt" | while read -r line; do
    prec=$(echo "$line" | sed -E 's/.* (f32|f16): .*/\1/')
    ips=$(echo "$line" | sed -E 's/.*: ([0-9.]+) images\/s.*/\1/')
    cos=$(echo "$line" | sed -E 's/.*min cos global ([0-9.]+),.*/\1/')
    echo "| $arch | calip3d wgpu | $prec | $ips | $cos |" >> "$out"
  done
  python3 - "$model" "$batch" "$iters" <<'PY' | tee -a "$out"
import sys, time, torch
from transformers import CLIPModel
model_dir, batch, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
arch = model_dir.rstrip("/").split("/")[-1]
m = CLIPModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").cuda().eval()
s = m.config.vision_config.image_size
x = torch.randn(batch, 3, s, s, device="cuda")
@torch.inference_mode()
def run(half):
    with torch.autocast("cuda", dtype=torch.float16, enabled=half):
        h = m.vision_model(pixel_values=x).last_hidden_state
        return m.visual_projection(m.vision_model.post_layernorm(h)).float()
ref = run(False)
for half in (False, True):
    y = run(half); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        run(half)
    torch.cuda.synchronize()
    ips = batch * iters / (time.perf_counter() - t)
    cos = torch.nn.functional.cosine_similarity(y[:, 0], ref[:, 0], dim=-1).min().item()
    print(f"| {arch} | PyTorch CUDA | {'fp16 autocast' if half else 'fp32'} | {ips:.1f} | {cos:.5f} (vs torch fp32) |")
PY
done

echo "== end to end: 1,000 ModelNet-sized clouds"
python3 - "$work/clouds" <<'PY'
import sys, os, numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(1000):
    p = rng.uniform(-0.5, 0.5, (2048, 3)).astype(np.float32)
    p[np.arange(2048), np.arange(2048) % 3] = np.sign(p[np.arange(2048), np.arange(2048) % 3]) * 0.5
    np.save(f"{d}/c{i:04d}.npy", p)
PY
{
  echo
  echo "| end to end | engine | objects/s or latency |"
  echo "|---|---|---|"
} >> "$out"
model="$bin/vit-b-32"
for prec in f32 f16; do
  t0=$(date +%s.%N)
  "$bin/calip3d" batch "$work/clouds" --out "$work/res_$prec.jsonl" --model "$model" \
    --classes "$(tr '\n' ',' < assets/classes/modelnet40.txt | sed 's/,$//')" \
    --device gpu --precision "$prec" --views-per-encode "$batch" -q
  t1=$(date +%s.%N)
  echo "| 1,000 clouds, ViT-B/32 | calip3d --device gpu --precision $prec | $(python3 -c "print(f'{1000/($t1-$t0):.1f} objects/s')") |" >> "$out"
done
python3 - "$model" "$work/clouds" <<'PY' | tee -a "$out"
import sys, time, glob, numpy as np, torch
sys.path.insert(0, "scripts")
from reference_pipeline import clip_input, realistic_views
from transformers import CLIPModel
m = CLIPModel.from_pretrained(sys.argv[1], dtype=torch.float16).cuda().eval()
files = sorted(glob.glob(sys.argv[2] + "/*.npy"))
t = time.perf_counter()
with torch.inference_mode():
    for i in range(0, len(files), 25):
        px = torch.cat([clip_input(realistic_views(np.load(f))) for f in files[i:i + 25]]).cuda().half()
        h = m.vision_model(pixel_values=px).last_hidden_state
        m.visual_projection(m.vision_model.post_layernorm(h)).float().cpu()
dt = time.perf_counter() - t
print(f"| 1,000 clouds, ViT-B/32 | PyTorch PointCLIP V2 (numpy realistic projection, CLIP CUDA fp16) | {len(files)/dt:.1f} objects/s |")
PY

echo "== scene tile of 1 M points"
python3 - "$work/tile.npy" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
ground = np.c_[rng.uniform(0, 100, 800_000), rng.uniform(0, 100, 800_000), rng.normal(0, 0.02, 800_000)]
objs = []
for k in range(100):
    c = rng.uniform(5, 95, 2); size = rng.uniform(0.5, 3, 3)
    p = rng.uniform(-0.5, 0.5, (2000, 3)) * size
    objs.append(p + [c[0], c[1], size[2] / 2 + 0.1])
np.save(sys.argv[1], np.vstack([ground] + objs).astype(np.float32))
PY
t0=$(date +%s.%N)
"$bin/calip3d" scene "$work/tile.npy" --model "$model" --classes "tree,car,building,pole,person" \
  --device gpu --up-axis z > "$work/scene.txt" 2>&1 || tail -5 "$work/scene.txt"
t1=$(date +%s.%N)
echo "| 1 M-point tile, ViT-B/32 | calip3d scene --device gpu | $(python3 -c "print(f'{$t1-$t0:.1f} s')") |" >> "$out"

echo "== robot loop"
for prec in f32 f16; do
  line=$("$bin/robot_latency" "$model" gpu 200 "$prec")
  echo "$line"
  echo "| robot loop, one object, ViT-B/32 | calip3d gpu $prec | $(echo "$line" | sed -E 's/.*(p50 [0-9.]+ ms, p99 [0-9.]+ ms).*/\1/') |" >> "$out"
done
echo
cat "$out"
