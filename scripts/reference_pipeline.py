#!/usr/bin/env python3
"""An independent implementation of docs/METHOD.md in numpy + PyTorch + transformers, written from
the text (not from calip3d's Rust), that produces the fixtures calip3d's tests compare against.

    python3 scripts/reference_pipeline.py            # writes tests/data/{projection,calip,e2e}/

- projection/: two deterministic 1024-point clouds (clouds.npy, [2, 1024, 3], y-up) and their depth
  views for both projections (pointclip_views.npy [2, 6, 128, 128], realistic_views.npy
  [2, 10, 110, 110]), §1-§3; densify / smooth / resize use torch's max_pool2d, conv2d and
  interpolate(align_corners=True), as the original PointCLIP V2 code does.
- calip/reference.json: CALIP's attention (§5) and view aggregation (§6) on small random tensors,
  with every intermediate.
- e2e/expected.json: the whole pipeline (§1-§6) on cloud 0 with the tiny random CLIP of
  tests/data/clip/tiny (run through transformers' CLIPModel), both projections, CALIP and plain CLIP.
Dev-only: needs numpy, torch, transformers.
"""
import json
from math import pi
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

# ---------------------------------------------------------------- §2-§3 views


def rx(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


POINTCLIP = [(0, 0, pi / 2), (pi / 2, 0, pi / 2), (pi, 0, pi / 2), (3 * pi / 2, 0, pi / 2),
             (0, -pi / 2, pi / 2), (0, pi / 2, pi / 2)]
# (theta_x, theta_y, beta); theta_z = pi/2 for all
REALISTIC = ([(k * pi / 4, 0, pi / 9) for k in (1, 3, 5, 7)]
             + [(a, 0, pi / 9) for a in (0, pi / 2, pi, 3 * pi / 2)]
             + [(0, -pi / 2, pi / 15), (0, pi / 2, pi / 15)])


def pointclip_views(points):
    """§1 unit-sphere normalisation, §2 perspective projection, harmonic-mean depth, 128x128."""
    p = points.astype(np.float32)
    p = p - p.mean(axis=0, dtype=np.float64).astype(np.float32)
    radius = np.sqrt((p * p).sum(axis=1)).max()
    p = p / (radius if radius > 0 else np.float32(1))
    views = np.zeros((len(POINTCLIP), 128, 128), np.float32)
    for v, (ax, ay, az) in enumerate(POINTCLIP):
        rot = (rx(ax) @ ry(ay) @ rz(az)).astype(np.float32)
        q = p @ rot.T
        z = q[:, 2] + np.float32(1.6)
        u, w = q[:, 0] / z, q[:, 1] / z
        row = np.ceil((u + 1) * 64 - 0.5)
        col = np.ceil((w + 1) * 64 - 0.5)
        keep = (z >= 0) & (row >= 0) & (row <= 127) & (col >= 0) & (col <= 127)
        pixel = row[keep].astype(np.int64) * 128 + col[keep].astype(np.int64)
        count = np.bincount(pixel, minlength=128 * 128)
        inv = np.bincount(pixel, weights=(1 / z[keep]).astype(np.float64), minlength=128 * 128)
        img = np.where(count > 0, count / np.where(inv > 0, inv, 1), 0)
        views[v] = img.reshape(128, 128).astype(np.float32)
    return views


def gaussian_kernel():
    g = np.exp(-np.array([-1.0, 0.0, 1.0]) ** 2 / (2 * 3.0 ** 2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def realistic_views(points):
    """§3: per-view box normalisation, 8x112x112 scatter-max, 7x7 max-pool, 3x3 Gaussian, squeeze."""
    p = points.astype(np.float32)
    views = np.zeros((len(REALISTIC), 110, 110), np.float32)
    kernel = torch.from_numpy(gaussian_kernel())[None, None]
    for v, (tx, ty, beta) in enumerate(REALISTIC):
        rot = (ry(beta) @ rx(tx) @ ry(ty) @ rz(pi / 2)).astype(np.float32)
        q = p @ rot.T
        lo, hi = q.min(axis=0), q.max(axis=0)
        centre = (hi + lo) / 2
        extent = (hi - lo).max()
        n = (q - centre) / (extent if extent > 0 else np.float32(1)) * 2
        x, y, z = n[:, 0] * np.float32(0.8), n[:, 1] * np.float32(0.8), n[:, 2]
        gx = np.clip(np.ceil((x + 1) / 2 * 112), 1, 110).astype(np.int64)
        gy = np.clip(np.ceil((y + 1) / 2 * 112), 1, 110).astype(np.int64)
        d = ((z + 1) / 2 + np.float32(0.2)) / np.float32(1.2) * 6
        b = np.ceil(d).astype(np.int64)
        grid = np.zeros((8, 112, 112), np.float32)
        np.maximum.at(grid, (b, gx, gy), d)
        t = torch.from_numpy(grid)[:, None]                      # [8, 1, 112, 112]
        t = F.max_pool2d(t, kernel_size=7, stride=1, padding=2)  # [8, 1, 110, 110]
        t = F.conv2d(t, kernel, padding=1)
        img = t[:, 0].max(dim=0).values
        top = img.max()
        img = 1 - img / top if top > 0 else torch.ones_like(img)
        views[v] = img.numpy()
    return views


def clip_input(views):
    """3 channels, bilinear 224 with aligned corners, no mean/std."""
    t = torch.from_numpy(views)[:, None]
    t = F.interpolate(t, size=(224, 224), mode="bilinear", align_corners=True)
    return t.repeat(1, 3, 1, 1)


# ---------------------------------------------------------------- §5-§6 CALIP


def l2n(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def calip(global_f, spatial_f, text_f, beta2, beta3, alpha_s=0.5, alpha_t=0.5):
    fv, fs, ft = l2n(global_f), l2n(spatial_f), l2n(text_f)
    affinity = fs @ ft.T                                          # [B, P, K]
    fs_a = softmax(affinity / alpha_t, axis=2) @ ft               # [B, P, C]
    ft_a = softmax(affinity.transpose(0, 2, 1) / alpha_s, axis=2) @ fs  # [B, K, C]
    fv_a = fs_a.mean(axis=1) + fs_a.max(axis=1)                   # [B, C]
    clip_term = fv @ ft.T
    text_guided = np.einsum("bc,bkc->bk", fv, ft_a)
    visual_guided = fv_a @ ft.T
    logits = 100 * (clip_term + beta2 * text_guided + beta3 * visual_guided)
    return dict(affinity=affinity, fs_a=fs_a, ft_a=ft_a, fv_a=fv_a, clip=clip_term,
                text_guided=text_guided, visual_guided=visual_guided, logits=logits)


def aggregate(per_view, views, weights):
    w = np.asarray(weights, np.float64)
    per_cloud = per_view.reshape(-1, views, per_view.shape[-1])
    return (per_cloud * w[None, :, None]).sum(axis=1) / w.sum()


# ---------------------------------------------------------------- fixtures


def clouds():
    rng = np.random.default_rng(20261126)
    # A chair-like box frame and a torus, 1024 points each, y-up.
    legs = rng.uniform(-1, 1, (512, 3)) * [0.05, 1.0, 0.05] + rng.choice([-0.6, 0.6], (512, 1)) * [1, 0, 0] \
        + rng.choice([-0.4, 0.4], (512, 1)) * [0, 0, 1]
    seat = rng.uniform(-1, 1, (256, 3)) * [0.65, 0.03, 0.45]
    back = rng.uniform(-1, 1, (256, 3)) * [0.65, 0.6, 0.03] + [0, 0.6, -0.45]
    a = np.concatenate([legs, seat, back])
    t = rng.uniform(0, 2 * pi, (1024, 2))
    b = np.stack([(1 + 0.3 * np.cos(t[:, 1])) * np.cos(t[:, 0]), 0.3 * np.sin(t[:, 1]),
                  (1 + 0.3 * np.cos(t[:, 1])) * np.sin(t[:, 0])], axis=1) * 2.5 + [10, -3, 7]
    return np.stack([a, b]).astype(np.float32)


def write_projection(cs):
    out = DATA / "projection"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "clouds.npy", cs)
    np.save(out / "pointclip_views.npy", np.stack([pointclip_views(c) for c in cs]))
    np.save(out / "realistic_views.npy", np.stack([realistic_views(c) for c in cs]))


def write_calip():
    rng = np.random.default_rng(7)
    views, p, c, k = 3, 4, 8, 5
    g, s, t = rng.normal(size=(views, c)), rng.normal(size=(views, p, c)), rng.normal(size=(k, c))
    weights = [1.0, 0.5, 0.25]
    r = calip(g, s, t, beta2=1.12, beta3=0.02)
    ref = {"global": g, "spatial": s, "text": t, "beta2": 1.12, "beta3": 0.02, "weights": weights,
           **r, "aggregated": aggregate(r["logits"], views, weights)}
    ref["probabilities"] = softmax(ref["aggregated"], axis=1)
    out = DATA / "calip"
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference.json").write_text(json.dumps(
        {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in ref.items()}))


def class_features(model, tokenizer, prompts_per_class):
    feats = []
    with torch.no_grad():
        for prompts in prompts_per_class:
            ids = tokenizer(prompts, padding="max_length", max_length=77, truncation=True,
                            return_tensors="pt")
            e = model.get_text_features(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"])
            e = e.pooler_output if hasattr(e, "pooler_output") else e
            e = e / e.norm(dim=-1, keepdim=True)
            m = e.mean(dim=0)
            feats.append((m / m.norm()).numpy())
    return np.stack(feats)


def image_features(model, pixels):
    with torch.no_grad():
        hidden = model.vision_model(pixel_values=pixels).last_hidden_state
        tokens = model.visual_projection(model.vision_model.post_layernorm(hidden))
    return tokens[:, 0].numpy().astype(np.float64), tokens[:, 1:].numpy().astype(np.float64)


def write_e2e(cs):
    from transformers import CLIPModel, PreTrainedTokenizerFast

    tiny = DATA / "clip" / "tiny"
    model = CLIPModel.from_pretrained(tiny, torch_dtype=torch.float32).eval()
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tiny / "tokenizer.json"),
                                        bos_token="<|startoftext|>", eos_token="<|endoftext|>",
                                        pad_token="<|endoftext|>")
    classes = ["airplane", "chair", "lamp", "night_stand"]
    templates = {
        "pointclip": ["point cloud depth map of a {}."],
        "realistic": ["a depth map of a {}.", "a grayscale rendering of a 3D model of a {}.",
                      "point cloud depth map of a {}."],
    }
    cases = []
    for projection, render in [("pointclip", pointclip_views), ("realistic", realistic_views)]:
        prompts = [[t.replace("{}", c.replace("_", " ")) for t in templates[projection]] for c in classes]
        text = class_features(model, tokenizer, prompts)
        views = render(cs[0])
        g, s = image_features(model, clip_input(views))
        for method, (b2, b3) in [("calip", (1.12, 0.02)), ("baseline", (0.0, 0.0))]:
            per_view = calip(g, s, text.astype(np.float64), b2, b3)["logits"]
            logits = aggregate(per_view, len(views), [1.0] * len(views))[0]
            cases.append({"projection": projection, "method": method, "beta2": b2, "beta3": b3,
                          "prompts": prompts, "view_logits": per_view.tolist(), "logits": logits.tolist(),
                          "probabilities": softmax(logits, axis=0).tolist()})
    out = DATA / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    (out / "expected.json").write_text(json.dumps(
        {"cloud": "tests/data/projection/clouds.npy[0]", "model": "tests/data/clip/tiny",
         "classes": classes, "cases": cases}, indent=1))


if __name__ == "__main__":
    cs = clouds()
    write_projection(cs)
    write_calip()
    write_e2e(cs)
    print("wrote", DATA / "projection", DATA / "calip", DATA / "e2e")
