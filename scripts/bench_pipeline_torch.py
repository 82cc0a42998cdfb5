#!/usr/bin/env python3
"""The same zero-shot pipeline as benches/pipeline.rs, the way a PointCLIP user runs it in Python:
numpy projection (scripts/reference_pipeline.py), torch resize, transformers' CLIPModel, CALIP in
numpy. Same model folder, same cloud count, same thread count.

    python3 scripts/bench_pipeline_torch.py MODEL_DIR [CLOUDS] [THREADS]
"""
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pipeline import (aggregate, calip, class_features, clip_input,  # noqa: E402
                                pointclip_views, realistic_views)


def main():
    from transformers import CLIPModel, PreTrainedTokenizerFast

    model_dir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    model = CLIPModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=str(Path(model_dir) / "tokenizer.json"),
                                  bos_token="<|startoftext|>", eos_token="<|endoftext|>",
                                  pad_token="<|endoftext|>")
    names = (Path(__file__).resolve().parent.parent / "assets/classes/modelnet40.txt").read_text().split()
    rng = np.random.default_rng(0)
    clouds = [rng.uniform(-0.5, 0.5, (1024, 3)).astype(np.float32) for _ in range(n)]
    print("| projection | clouds | clouds/s | project | encode | attend |")
    print("|---|---|---|---|---|---|")
    for projection, render, templates in [
        ("pointclip", pointclip_views, ["point cloud depth map of a {}."]),
        ("realistic", realistic_views, ["a depth map of a {}.", "a grayscale rendering of a 3D model of a {}.",
                                        "point cloud depth map of a {}."]),
    ]:
        text = class_features(model, tok, [[t.replace("{}", c.replace("_", " ")) for t in templates] for c in names])
        stages = {"project": 0.0, "encode": 0.0, "attend": 0.0}
        start = time.perf_counter()
        t = time.perf_counter()
        pixels = torch.cat([clip_input(render(c)) for c in clouds])
        stages["project"] += time.perf_counter() - t
        t = time.perf_counter()
        with torch.no_grad():
            hidden = model.vision_model(pixel_values=pixels).last_hidden_state
            tokens = model.visual_projection(model.vision_model.post_layernorm(hidden)).numpy()
        stages["encode"] += time.perf_counter() - t
        t = time.perf_counter()
        views = pixels.shape[0] // n
        logits = calip(tokens[:, 0], tokens[:, 1:], text, 1.12, 0.02)["logits"]
        aggregate(logits, views, [1.0] * views)
        stages["attend"] += time.perf_counter() - t
        secs = time.perf_counter() - start
        total = sum(stages.values())
        print(f"| {projection} | {n} | {n / secs:.2f} | " + " | ".join(
            f"{100 * stages[k] / total:.1f}%" for k in ("project", "encode", "attend")) + " |")


if __name__ == "__main__":
    main()
