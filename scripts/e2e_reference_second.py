#!/usr/bin/env python3
"""Independent end-to-end reference of the whole METHOD.md pipeline, for calip3d's parity test.

Written from METHOD.md alone (numpy for §1-§3, §5, §6; torch + transformers only to run CLIP):
  cloud (tests/data/e2e_second/cloud.ply, <= 1024 points, y-up, so no subsampling)
  -> projection "pointclip" (§1-§2: 6 perspective views, 128x128) or "realistic" (§3: 10 views, 110x110)
  -> bilinear resize with aligned corners to 224, 3 channels, no mean/std (§2-§3)
  -> tiny random CLIP (transformers CLIPModel): global feature and spatial features = visual_projection(
     post_layernorm(every patch token, CLS excluded)); text features per class = mean of the
     L2-normalised prompt embeddings, normalised again (§4)
  -> CALIP logits per view (§5) with the default constants and with beta2 = beta3 = 0 (baseline)
  -> weighted mean over views with weights 1, softmax (§6).

Outputs tests/data/e2e_second/expected.json (inputs described, logits, probabilities) and
tests/data/e2e_second/intermediates.safetensors (the depth images before resizing and the CLIP features,
to locate a mismatch). Usage:
  python3 scripts/e2e_reference_second.py [--model tests/data/clip/tiny] [--out tests/data/e2e_second]
"""
import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np

SEED = 7
N_POINTS = 1000
N_ANCHORS = 3
# Points whose pixel / bin coordinate lies within this distance of an integer are dropped from the
# fixture, so that f32 (Rust) and f64 (here) cannot put a point in different cells.
MARGIN = 2e-4
CLASSES = ["airplane", "chair", "night_stand", "lamp", "table"]
TEMPLATES = {
    "pointclip": ["point cloud depth map of a {}."],
    "realistic": [
        "a depth map of a {}.",
        "a grayscale rendering of a 3D model of a {}.",
        "point cloud depth map of a {}.",
    ],
}
CALIP = {"alpha_s": 0.5, "alpha_t": 0.5, "beta1": 1.0, "beta2": 1.12, "beta3": 0.02}
BASELINE = dict(CALIP, beta2=0.0, beta3=0.0)


# ---------------------------------------------------------------- rotations (§2)
def rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


PI = math.pi
POINTCLIP_VIEWS = [(0, 0, PI / 2), (PI / 2, 0, PI / 2), (PI, 0, PI / 2), (3 * PI / 2, 0, PI / 2),
                   (0, -PI / 2, PI / 2), (0, PI / 2, PI / 2)]
# (theta_x, theta_y, theta_z, beta)
REALISTIC_VIEWS = ([(t, 0, PI / 2, PI / 9) for t in (PI / 4, 3 * PI / 4, 5 * PI / 4, 7 * PI / 4)]
                   + [(t, 0, PI / 2, PI / 9) for t in (0, PI / 2, PI, 3 * PI / 2)]
                   + [(0, -PI / 2, PI / 2, PI / 15), (0, PI / 2, PI / 2, PI / 15)])


def near_integer(x):
    return np.abs(x - np.round(x)) < MARGIN


# ---------------------------------------------------------------- projection A (§1-§2)
def pointclip_coords(points):
    """Per view: rotated points, float row/col positions before ceil, validity."""
    p = points - points.mean(axis=0)
    p = p / np.linalg.norm(p, axis=1).max()
    out = []
    for ax, ay, az in POINTCLIP_VIEWS:
        q = p @ (rx(ax) @ ry(ay) @ rz(az)).T
        z = q[:, 2] + 1.6
        u, w = q[:, 0] / z, q[:, 1] / z
        out.append(((u + 1) * 64 - 0.5, (w + 1) * 64 - 0.5, z))
    return out


def pointclip_images(points):
    images = []
    for rf, cf, z in pointclip_coords(points):
        r, c = np.ceil(rf).astype(int), np.ceil(cf).astype(int)
        ok = (r >= 0) & (r <= 127) & (c >= 0) & (c <= 127) & (z >= 0)
        count = np.zeros((128, 128))
        inv = np.zeros((128, 128))
        np.add.at(count, (r[ok], c[ok]), 1.0)
        np.add.at(inv, (r[ok], c[ok]), 1.0 / z[ok])
        img = np.where(count > 0, count / np.where(inv > 0, inv, 1.0), 0.0)
        images.append(img)
    return np.stack(images)


def pointclip_unstable(points):
    bad = np.zeros(len(points), bool)
    for rf, cf, _ in pointclip_coords(points):
        bad |= near_integer(rf) | near_integer(cf)
    return bad


# ---------------------------------------------------------------- projection B (§3)
def realistic_coords(points):
    out = []
    for ax, ay, az, b in REALISTIC_VIEWS:
        q = points @ (ry(b) @ rx(ax) @ ry(ay) @ rz(az)).T
        lo, hi = q.min(axis=0), q.max(axis=0)
        q = (q - (hi + lo) / 2) / (hi - lo).max() * 2
        q[:, 0] *= 0.8
        q[:, 1] *= 0.8
        gxf = (q[:, 0] + 1) / 2 * 112
        gyf = (q[:, 1] + 1) / 2 * 112
        d = ((q[:, 2] + 1) / 2 + 0.2) / 1.2 * 6
        out.append((gxf, gyf, d))
    return out


SMOOTH_1D = np.exp(-np.array([-1.0, 0.0, 1.0]) ** 2 / (2 * 3.0 ** 2))
SMOOTH = np.outer(SMOOTH_1D, SMOOTH_1D) / np.outer(SMOOTH_1D, SMOOTH_1D).sum()


def densify(slice_):
    """Max-pool 7x7, stride 1, padding 2 (padding never wins): 112x112 -> 110x110."""
    out = np.zeros((110, 110))
    for i in range(110):
        for j in range(110):
            out[i, j] = slice_[max(i - 2, 0):min(i + 5, 112), max(j - 2, 0):min(j + 5, 112)].max()
    return out


def smooth(slice_):
    padded = np.pad(slice_, 1)
    out = np.zeros_like(slice_)
    for di in range(3):
        for dj in range(3):
            out += SMOOTH[di, dj] * padded[di:di + 110, dj:dj + 110]
    return out


def realistic_images(points):
    images = []
    for gxf, gyf, d in realistic_coords(points):
        gx = np.clip(np.ceil(gxf), 1, 110).astype(int)
        gy = np.clip(np.ceil(gyf), 1, 110).astype(int)
        b = np.ceil(d).astype(int)
        grid = np.zeros((8, 112, 112))
        np.maximum.at(grid, (b, gx, gy), d)
        img = np.stack([smooth(densify(grid[s])) for s in range(8)]).max(axis=0)
        m = img.max()
        images.append(1 - img / m if m > 0 else np.ones_like(img))
    return np.stack(images)


def realistic_unstable(points):
    bad = np.zeros(len(points), bool)
    for gxf, gyf, d in realistic_coords(points):
        bad |= near_integer(gxf) | near_integer(gyf) | near_integer(d)
    return bad


# ---------------------------------------------------------------- CLIP input (§2-§3)
def resize_aligned(img, size=224):
    """Bilinear resize with aligned corners: output i samples input i*(n-1)/(size-1)."""
    def axis_weights(n):
        pos = np.arange(size) * (n - 1) / (size - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        return i0, i1, pos - i0
    r0, r1, fr = axis_weights(img.shape[0])
    c0, c1, fc = axis_weights(img.shape[1])
    rows = img[r0] * (1 - fr)[:, None] + img[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


def clip_input(images):
    resized = np.stack([resize_aligned(im) for im in images])
    return np.repeat(resized[:, None], 3, axis=1)  # [V, 3, 224, 224], no mean/std


# ---------------------------------------------------------------- CALIP (§5) and views (§6)
def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def calip_logits(fv, fs, ft, p):
    fv, fs, ft = normalize(fv), normalize(fs), normalize(ft)
    rows = []
    for v in range(fv.shape[0]):
        a = fs[v] @ ft.T
        fs_a = softmax(a / p["alpha_t"], 1) @ ft
        ft_a = softmax(a.T / p["alpha_s"], 1) @ fs[v]
        pooled = fs_a.mean(0) + fs_a.max(0)
        rows.append(100 * (p["beta1"] * ft @ fv[v] + p["beta2"] * ft_a @ fv[v]
                           + p["beta3"] * ft @ pooled))
    return np.stack(rows)


# ---------------------------------------------------------------- the cloud
def make_cloud():
    """A small seeded table shape (y-up), made so that f32 and f64 agree on every cell.

    Both normalisations are pinned so that dropping points cannot move them: the cloud is point
    symmetric (every p comes with -p, so the centroid and every bounding-box centre are 0) and
    N_ANCHORS pairs of anchor points +-e with |e| = 1 lie far outside the rest (radius
    < 0.5 < 1/sqrt(3)), so the anchors alone set the largest distance (pointclip) and every view's
    largest bounding-box extent (realistic). Anchors are drawn until none of them is near a cell
    boundary (in particular, no view's extent may come from its depth axis, which would put the
    anchor at d = 1 or 6 exactly). Pairs within MARGIN of a cell boundary are then dropped.
    """
    rng = np.random.default_rng(SEED)
    n_top = 300
    top = np.column_stack([rng.uniform(-0.3, 0.3, n_top), rng.uniform(0.14, 0.16, n_top),
                           rng.uniform(-0.2, 0.2, n_top)])
    legs = []
    for k, (x, z) in enumerate([(-0.25, -0.15), (0.25, -0.15), (-0.25, 0.15), (0.25, 0.15)]):
        m = (N_POINTS // 2 - N_ANCHORS - n_top) // 4
        ang = rng.uniform(0, 2 * PI, m)
        legs.append(np.column_stack([x + 0.02 * np.cos(ang), rng.uniform(-0.2, 0.14, m) - 0.01 * k,
                                     z + 0.02 * np.sin(ang)]))
    half = np.concatenate([top] + legs).astype(np.float32).astype(np.float64)
    assert np.linalg.norm(half, axis=1).max() < 0.5
    for attempt in range(1000):
        e = rng.normal(size=(N_ANCHORS, 3))
        e = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
        anchors = np.concatenate([e, -e])
        full = np.concatenate([anchors, half, -half])
        a = len(anchors)
        if not (pointclip_unstable(full)[:a].any() or realistic_unstable(full)[:a].any()):
            break
    else:
        raise RuntimeError("no stable anchor")
    # One pass suffices: the normalisations do not depend on which pairs remain.
    n = len(half)
    bad = pointclip_unstable(full) | realistic_unstable(full)
    bad_pair = bad[a:a + n] | bad[a + n:]
    half = half[~bad_pair]
    pts = np.concatenate([anchors, half, -half])
    assert not (pointclip_unstable(pts) | realistic_unstable(pts)).any()
    return pts


def write_ply(path, pts):
    lines = ["ply", "format ascii 1.0", "comment calip3d e2e fixture, scripts/e2e_reference_second.py",
             f"element vertex {len(pts)}", "property float x", "property float y", "property float z",
             "end_header"]
    lines += [" ".join(repr(float(np.float32(v))) for v in p) for p in pts]
    path.write_text("\n".join(lines) + "\n")


def read_ply(path):
    lines = path.read_text().splitlines()
    start = lines.index("end_header") + 1
    return np.array([[float(v) for v in ln.split()] for ln in lines[start:]], dtype=np.float32)


# ---------------------------------------------------------------- CLIP features (§4)
def clip_features(model_dir, pixels, prompts_per_class):
    import torch
    from transformers import CLIPModel, PreTrainedTokenizerFast

    model = CLIPModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=str(Path(model_dir) / "tokenizer.json"))
    with torch.no_grad():
        vis = model.vision_model(pixel_values=torch.tensor(pixels, dtype=torch.float32))
        glob = model.visual_projection(vis.pooler_output)
        spat = model.visual_projection(model.vision_model.post_layernorm(vis.last_hidden_state[:, 1:]))
        text = []
        token_ids = []
        for prompts in prompts_per_class:
            embs = []
            for prompt in prompts:
                ids = tok(prompt)["input_ids"]
                assert ids[0] == 49406 and ids[-1] == 49407, ids
                token_ids.append(ids)
                out = model.text_model(input_ids=torch.tensor([ids]))
                embs.append(model.text_projection(out.pooler_output)[0].double().numpy())
            text.append(normalize(normalize(np.stack(embs)).mean(0)))
    return glob.double().numpy(), spat.double().numpy(), np.stack(text), token_ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tests/data/clip/tiny")
    ap.add_argument("--out", default="tests/data/e2e_second")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    cloud_path = out / "cloud.ply"
    write_ply(cloud_path, make_cloud())
    pts = read_ply(cloud_path).astype(np.float64)  # exactly the numbers Rust will read

    doc = {
        "about": "Independent reference of METHOD.md §1-§6, written by scripts/e2e_reference_second.py "
                 "from METHOD.md alone (numpy projections, transformers CLIPModel).",
        "inputs": {
            "cloud": "tests/data/e2e_second/cloud.ply", "points": len(pts), "up_axis": "y",
            "point_budget_note": f"{len(pts)} <= 1024 points: no subsampling",
            "model": "tests/data/clip/tiny (random tiny CLIP, HF layout; loaded as float32)",
            "model_safetensors_sha256": hashlib.sha256(
                (Path(args.model) / "model.safetensors").read_bytes()).hexdigest(),
            "image": "depth image replicated to 3 channels, bilinear aligned-corners resize to 224, "
                     "no mean/std normalisation",
            "text_features": "per class: L2-normalise each prompt's text_embeds, mean, L2-normalise",
            "view_weights": "1 for every view",
            "calip_params": CALIP, "baseline_params": BASELINE,
            "classes": CLASSES,
        },
        "cases": {},
    }
    tensors = {}
    for projection in ("pointclip", "realistic"):
        images = pointclip_images(pts) if projection == "pointclip" else realistic_images(pts)
        prompts = [[t.replace("{}", c.replace("_", " ")) for t in TEMPLATES[projection]] for c in CLASSES]
        glob, spat, text, token_ids = clip_features(args.model, clip_input(images), prompts)
        tensors[f"{projection}/images"] = images.astype(np.float32)
        tensors[f"{projection}/global"] = glob.astype(np.float32)
        tensors[f"{projection}/spatial"] = spat.astype(np.float32)
        tensors[f"{projection}/text"] = text.astype(np.float32)
        for mode, params in (("calip", CALIP), ("baseline", BASELINE)):
            per_view = calip_logits(glob, spat, text, params)
            agg = per_view.mean(axis=0)
            doc["cases"][f"{projection}/{mode}"] = {
                "projection": projection, "mode": mode, "params": params,
                "views": len(images), "image_size": images.shape[1],
                "templates": TEMPLATES[projection], "prompts": prompts,
                "prompt_token_ids": token_ids,
                "image_sums": images.sum(axis=(1, 2)).tolist(),
                "image_nonzero": (images != (1.0 if projection == "realistic" else 0.0))
                .sum(axis=(1, 2)).tolist(),
                "per_view_logits": per_view.tolist(),
                "logits": agg.tolist(),
                "probabilities": softmax(agg, 0).tolist(),
            }
    from safetensors.numpy import save_file
    save_file(tensors, str(out / "intermediates.safetensors"))
    (out / "expected.json").write_text(json.dumps(doc, indent=1))
    print(f"{len(pts)} points; wrote {out}/cloud.ply, expected.json, intermediates.safetensors")


if __name__ == "__main__":
    main()
