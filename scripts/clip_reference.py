#!/usr/bin/env python3
"""Reference fixtures for calip3d's CLIP encoder, computed with PyTorch + transformers.

Sub-commands:
  tiny     write tests/data/clip/tiny/{config.json, model.safetensors, tokenizer.json}: a real CLIP
           architecture (real 49408-token vocabulary) with tiny widths and random weights, stored in
           f16 (both sides compute in f32 from the same f16 values); and
           tests/data/clip/tiny_reference.{safetensors,json}: inputs and transformers' outputs.
  tokens   write tests/data/clip/tokenizer_ids.json: transformers' CLIPTokenizer ids of test strings.
  preprocess  write tests/data/clip/{photo_rgb,small_rgba}.png and preprocess_reference.safetensors
           (transformers' PIL CLIPImageProcessor output, stored in f16).
  features MODEL_DIR OUT.safetensors [--images N]: features of a model folder (e.g. one written
           by `cargo run --example random_clip`) for formula images (`formula_pixels`) and TEXTS.

Outputs are the *unnormalised* projected features:
  image_global  = visual_projection(post_layernorm(last_hidden[:, 0]))       [B, C]
  image_spatial = visual_projection(post_layernorm(last_hidden[:, 1:]))      [B, P, C]
  text_embeds   = text_projection(final_layer_norm(last_hidden)[eot position]) [N, C]
"""
import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "clip"
TOKENIZER_JSON = ROOT / "assets" / "clip" / "tokenizer.json"

TEXTS = [
    "a photo of a cat",
    "point cloud depth map of a airplane.",
    "a grayscale rendering of a 3D model of a night stand.",
    "A Photo OF a CAT!!",
    "",
    " ".join(["very"] * 90) + " long",
]

TOKEN_TEXTS = TEXTS + [
    "hello, world... it's (really) great?",
    "we're here; they'll go & you'd stay",
    "naïve café — 東京 🚀 ü Ü",
    "   multiple   spaces\tand\nnewlines  ",
    "numbers 1234 and 3.14159",
    "<|startoftext|> literal special tokens <|endoftext|>",
    "night_stand",
    "x" * 300,
]


def tokenizer():
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=str(TOKENIZER_JSON),
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )


def transformers_clip_tokenizer():
    """transformers' own CLIPTokenizer built from the BPE file (independent of our tokenizer.json)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tokenizer", ROOT / "scripts" / "make_tokenizer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tok, _, _ = mod.build(mod.DEFAULT_BPE)
    return tok


def tiny_config():
    from transformers import CLIPConfig

    text = dict(
        vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
        layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407, pad_token_id=1,
    )
    vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_channels=3, image_size=224, patch_size=32, hidden_act="quick_gelu", layer_norm_eps=1e-5,
    )
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


@torch.no_grad()
def features(model, pixel_values, input_ids, attention_mask):
    vis = model.vision_model(pixel_values=pixel_values)
    tokens = model.vision_model.post_layernorm(vis.last_hidden_state)
    projected = model.visual_projection(tokens)
    global_ = model.visual_projection(vis.pooler_output)
    txt = model.text_model(input_ids=input_ids, attention_mask=attention_mask)
    text = model.text_projection(txt.pooler_output)
    return global_, projected[:, 1:], text


def encode_texts(tok, texts):
    enc = tok(texts, padding="max_length", truncation=True, max_length=77, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def cmd_tiny(_args):
    from transformers import CLIPModel

    torch.manual_seed(1234)
    model = CLIPModel(tiny_config()).eval()
    with torch.no_grad():
        # Perturb every parameter (layer-norm gains and biases included), so that a swapped or
        # ignored tensor changes the outputs; round to f16, the storage type.
        for _, p in model.named_parameters():
            p.add_(0.05 * torch.randn_like(p))
            p.copy_(p.half().float())
    out = DATA / "tiny"
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(out, safe_serialization=True)
    model.float()
    shutil.copy(TOKENIZER_JSON, out / "tokenizer.json")
    for extra in out.glob("generation_config.json"):
        extra.unlink()

    from transformers import CLIPModel as Reload

    model = Reload.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    g = torch.Generator().manual_seed(7)
    pixel_values = (torch.randn(3, 3, 224, 224, generator=g) * 1.2).half().float()
    ids, mask = encode_texts(tokenizer(), TEXTS)
    glob_, spatial, text = features(model, pixel_values, ids, mask)
    save_file(
        {
            "pixel_values": pixel_values.contiguous(),
            "input_ids": ids.to(torch.int64).contiguous(),
            "image_global": glob_.contiguous(),
            "image_spatial": spatial.contiguous(),
            "text_embeds": text.contiguous(),
        },
        DATA / "tiny_reference.safetensors",
    )
    (DATA / "tiny_reference.json").write_text(json.dumps({"texts": TEXTS}, indent=1, ensure_ascii=False) + "\n")
    print("tiny model:", sum(p.numel() for p in model.parameters()), "parameters;",
          "global", tuple(glob_.shape), "spatial", tuple(spatial.shape), "text", tuple(text.shape))


def cmd_tokens(_args):
    ours = tokenizer()
    theirs = transformers_clip_tokenizer()
    cases = []
    for text in TOKEN_TEXTS:
        ids = theirs(text, truncation=True, max_length=77)["input_ids"]
        assert ids == ours(text, truncation=True, max_length=77)["input_ids"], text
        cases.append({"text": text, "ids": ids})
    lines = ",\n".join(" " + json.dumps(c, ensure_ascii=False) for c in cases)
    (DATA / "tokenizer_ids.json").write_text("[\n" + lines + "\n]\n")
    print(f"wrote {len(cases)} tokenizer cases")


def formula_pixels(n, size):
    """Deterministic test images that Rust recomputes (tests/it/clip_architectures.rs):
    p[b, c, y, x] = sin(0.1 x + 0.07 (c + 1) y + 1.3 b) * cos(0.05 y - 0.3 c), in f64 then f32."""
    b, c, y, x = torch.meshgrid(
        *(torch.arange(k, dtype=torch.float64) for k in (n, 3, size, size)), indexing="ij")
    return (torch.sin(0.1 * x + 0.07 * (c + 1) * y + 1.3 * b) * torch.cos(0.05 * y - 0.3 * c)).float()


def cmd_preprocess(_args):
    """Two PNGs (RGB to downscale, RGBA to upscale; non-square) and the PIL-based
    CLIPImageProcessor's output for them."""
    import numpy as np
    from PIL import Image
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    rng = np.random.default_rng(3)
    paths = []
    for name, (w, h), mode in [("photo_rgb.png", (320, 256), "RGB"), ("small_rgba.png", (150, 100), "RGBA")]:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        chans = [128 + 100 * np.sin(x / (7 + 5 * c) + y / (11 + 3 * c)) + rng.normal(0, 10, (h, w)) for c in range(len(mode))]
        img = np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)
        path = DATA / name
        Image.fromarray(img, mode).save(path)
        paths.append(path)
    proc = CLIPImageProcessorPil()
    pixels = proc([Image.open(p) for p in paths], return_tensors="pt")["pixel_values"]
    save_file({"pixel_values": pixels.half().contiguous()}, DATA / "preprocess_reference.safetensors")
    print("preprocess reference", tuple(pixels.shape))


def cmd_features(args):
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()
    size = model.config.vision_config.image_size
    pixel_values = formula_pixels(args.images, size)
    ids, mask = encode_texts(tokenizer(), TEXTS)
    glob_, spatial, text = features(model, pixel_values, ids, mask)
    save_file(
        {"image_global": glob_.contiguous(), "image_spatial": spatial.contiguous(),
         "text_embeds": text.contiguous()},
        args.out,
    )
    print("wrote", args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("tiny").set_defaults(func=cmd_tiny)
    sub.add_parser("tokens").set_defaults(func=cmd_tokens)
    sub.add_parser("preprocess").set_defaults(func=cmd_preprocess)
    f = sub.add_parser("features")
    f.add_argument("model")
    f.add_argument("out")
    f.add_argument("--images", type=int, default=2)
    f.set_defaults(func=cmd_features)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
