#!/usr/bin/env python3
"""PyTorch + transformers baseline for benches/clip.rs: the same work (vision tower with
post_layernorm + projection on every token; text tower) on the same model folder, f32, CPU.

Usage: python3 scripts/bench_clip_torch.py MODEL_DIR [--batch 32] [--iters 5] [--threads 2]
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
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import CLIPModel, CLIPTokenizerFast

    model = CLIPModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation=args.attn).eval()
    size = model.config.vision_config.image_size
    pixels = torch.randn(args.batch, 3, size, size)

    @torch.inference_mode()
    def vision():
        hidden = model.vision_model(pixel_values=pixels).last_hidden_state
        return model.visual_projection(model.vision_model.post_layernorm(hidden))

    vision()
    t = time.perf_counter()
    for _ in range(args.iters):
        vision()
    secs = time.perf_counter() - t
    n = args.batch * args.iters
    print(f"torch   vision: {n / secs:.2f} images/s ({1e3 * secs / n:.1f} ms/image, batch {args.batch}, "
          f"{args.iters} iterations, threads {args.threads}, attention {args.attn})")

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
