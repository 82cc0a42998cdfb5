#!/usr/bin/env python3
"""PyTorch + transformers baseline for benches/clip.rs: the same work (vision tower with
post_layernorm + projection on every token; text tower) on the same model folder, f32, CPU.

Usage: python3 scripts/bench_clip_torch.py MODEL_DIR [--batch 32] [--iters 5] [--threads 2]
       [--modes fp32,bf16]

The vision modes run interleaved (fp32, bf16, fp32, ...): fp32, and bf16 autocast
(`torch.autocast("cpu", dtype=torch.bfloat16)`, what a PyTorch user would run for speed).
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    ap.add_argument("--modes", default="fp32,bf16")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import CLIPModel, CLIPTokenizerFast

    model = CLIPModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation=args.attn).eval()
    size = model.config.vision_config.image_size
    pixels = torch.randn(args.batch, 3, size, size)

    @torch.inference_mode()
    def vision(mode):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
            hidden = model.vision_model(pixel_values=pixels).last_hidden_state
            return model.visual_projection(model.vision_model.post_layernorm(hidden)).float()

    modes = args.modes.split(",")
    reference = vision("fp32")
    secs = {m: 0.0 for m in modes}
    cos = {}
    for m in modes:
        out = vision(m)  # warm-up
        cos[m] = torch.nn.functional.cosine_similarity(out.flatten(0, 1), reference.flatten(0, 1), dim=-1).min()
    for _ in range(args.iters):
        for m in modes:
            t = time.perf_counter()
            vision(m)
            secs[m] += time.perf_counter() - t
    n = args.batch * args.iters
    for m in modes:
        print(f"torch {m:>4} vision: {n / secs[m]:.2f} images/s ({1e3 * secs[m] / n:.1f} ms/image, batch "
              f"{args.batch}, {args.iters} interleaved iterations, threads {args.threads}, attention "
              f"{args.attn}, min cosine to fp32 {cos[m]:.5f})")

    tok = CLIPTokenizerFast(tokenizer_file=f"{args.model}/tokenizer.json")
    texts = [f"a grayscale rendering of a 3D model of object number {i}." for i in range(args.batch)]

    @torch.inference_mode()
    def text():
        enc = tok(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
        return model.text_projection(model.text_model(**enc).pooler_output)

    text()
    t = time.perf_counter()
    for _ in range(args.iters):
        text()
    secs = time.perf_counter() - t
    print(f"torch   text:   {n / secs:.2f} texts/s ({1e3 * secs / n:.1f} ms/text, batch {args.batch})")


if __name__ == "__main__":
    main()
