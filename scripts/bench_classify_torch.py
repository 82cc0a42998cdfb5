#!/usr/bin/env python3
"""What `calip3d classify --classes modelnet40 FILE...` does, the way a PointCLIP user writes it in
Python: load transformers' CLIPModel and tokenizer, encode the ModelNet40 prompts of the realistic
projection, then per file read the points, project (numpy, scripts/reference_pipeline.py), encode
the views and apply CALIP. Timed from outside as a whole process (model load included) by
scripts/bench_e2e.sh.

    python3 scripts/bench_classify_torch.py MODEL_DIR THREADS FILE.ply...

FILE.ply: ASCII PLY with x y z first on each vertex line (as bench_e2e.sh writes them).
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pipeline import aggregate, calip, class_features, clip_input, realistic_views  # noqa: E402

TEMPLATES = ["a depth map of a {}.", "a grayscale rendering of a 3D model of a {}.",
             "point cloud depth map of a {}."]


def read_ascii_ply(path):
    lines = Path(path).read_text().splitlines()
    end = lines.index("end_header")
    return np.array([[float(v) for v in line.split()[:3]] for line in lines[end + 1:] if line.strip()],
                    np.float32)


def main():
    from transformers import CLIPModel, PreTrainedTokenizerFast

    model_dir, threads, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    torch.set_num_threads(threads)
    model = CLIPModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=str(Path(model_dir) / "tokenizer.json"),
                                  bos_token="<|startoftext|>", eos_token="<|endoftext|>",
                                  pad_token="<|endoftext|>")
    names = (Path(__file__).resolve().parent.parent / "assets/classes/modelnet40.txt").read_text().split()
    with torch.no_grad():
        text = class_features(model, tok, [[t.replace("{}", c.replace("_", " ")) for t in TEMPLATES]
                                           for c in names])
    for f in files:
        pixels = clip_input(realistic_views(read_ascii_ply(f)))
        with torch.no_grad():
            hidden = model.vision_model(pixel_values=pixels).last_hidden_state
            tokens = model.visual_projection(model.vision_model.post_layernorm(hidden)).numpy()
        views = pixels.shape[0]
        logits = aggregate(calip(tokens[:, 0], tokens[:, 1:], text, 1.12, 0.02)["logits"], views,
                           [1.0] * views)
        print(f, names[int(np.argmax(logits))])


if __name__ == "__main__":
    main()
