#!/usr/bin/env python3
"""Writes the benchmark-dataset fixtures of tests/it/datasets.rs with the datasets' own writers.

    python3 scripts/make_dataset_fixtures.py            # tests/data/datasets/
    python3 scripts/make_dataset_fixtures.py --benchmark /tmp/mn40-bench   # ModelNet40-test-sized

Layouts, as the downloads that PointCLIP / PointCLIP V2 read:
- modelnet40_ply_hdf5_2048/: PointNet's `save_h5` (h5py; `data` float32 gzip level 4, `label`
  uint8 gzip level 1, both chunked by h5py's default chunking), `shape_names.txt`,
  `{train,test}_files.txt` naming the files by the authors' own relative paths;
- scanobjectnn/main_split/: `data`, `label` (int64, (N,)), `mask` (int64, -1 = background),
  uncompressed (contiguous), as ScanObjectNN's h5 files;
- modelnet40_normal_resampled/: `x,y,z,nx,ny,nz` text files, `modelnet40_*` and `modelnet10_*`
  id lists;
- broken/: files that must be refused with a clear error;
- ply/: some of the shapes above as ASCII PLY (numpy-written), for the logits parity test.

Needs numpy and h5py. Shapes are procedural (seeded), a few points each, so the fixtures stay small.
"""

import argparse
import os
import shutil

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "datasets")
MODELNET40 = open(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "classes", "modelnet40.txt")
).read().split()
MODELNET10 = ["bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa", "table", "toilet"]


def shape(kind, n, rng):
    """n points on a procedural surface, inside the unit sphere (ModelNet's normalisation), y up."""
    u, v = rng.random(n), rng.random(n)
    if kind == 0:  # box
        p = rng.random((n, 3)) - 0.5
        face = rng.integers(0, 3, n)
        p[np.arange(n), face] = np.where(rng.random(n) < 0.5, -0.5, 0.5)
        p *= [0.9, 0.5, 0.4]
    elif kind == 1:  # sphere
        t, f = 2 * np.pi * u, np.arccos(2 * v - 1)
        p = np.stack([np.sin(f) * np.cos(t), np.cos(f), np.sin(f) * np.sin(t)], 1) * 0.6
    elif kind == 2:  # cylinder standing up
        t = 2 * np.pi * u
        p = np.stack([0.3 * np.cos(t), v - 0.5, 0.3 * np.sin(t)], 1)
    elif kind == 3:  # cone
        t, h = 2 * np.pi * u, v
        p = np.stack([0.4 * (1 - h) * np.cos(t), h - 0.5, 0.4 * (1 - h) * np.sin(t)], 1)
    elif kind == 4:  # torus
        t, f = 2 * np.pi * u, 2 * np.pi * v
        p = np.stack([(0.5 + 0.15 * np.cos(f)) * np.cos(t), 0.15 * np.sin(f), (0.5 + 0.15 * np.cos(f)) * np.sin(t)], 1)
    else:  # a table: top plane and four legs
        p = np.stack([u - 0.5, np.full(n, 0.3), (v - 0.5) * 0.6], 1)
        legs = rng.random(n) < 0.4
        corner = rng.integers(0, 4, n)
        p[legs, 0] = np.where(corner[legs] % 2 == 0, -0.45, 0.45)
        p[legs, 2] = np.where(corner[legs] < 2, -0.25, 0.25)
        p[legs, 1] = rng.random(legs.sum()) * 0.6 - 0.3
    p = p + rng.normal(0, 0.005, p.shape)
    return p.astype(np.float32)


def save_h5(path, data, label, data_dtype="float32", label_dtype="uint8", **extra):
    """PointNet's data_prep_util.save_h5 (gzip 4 for data, gzip 1 for label), plus extra keys."""
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=data, compression="gzip", compression_opts=4, dtype=data_dtype)
        f.create_dataset("label", data=label, compression="gzip", compression_opts=1, dtype=label_dtype)
        for k, v in extra.items():
            f.create_dataset(k, data=v, compression="gzip", compression_opts=4)


def write_ply(path, points):
    with open(path, "w") as f:
        f.write(f"ply\nformat ascii 1.0\nelement vertex {len(points)}\n")
        f.write("property float x\nproperty float y\nproperty float z\nend_header\n")
        for p in points:
            # repr of a float32 round-trips exactly through a float32 parser.
            f.write(" ".join(repr(float(c)) for c in p) + "\n")


def modelnet_h5(root, rng):
    d = os.path.join(root, "modelnet40_ply_hdf5_2048")
    os.makedirs(d)
    open(os.path.join(d, "shape_names.txt"), "w").write("\n".join(MODELNET40) + "\n")
    # (file, [(kind, class name)]): classes chosen so that shapes of one class share a kind.
    files = {
        "ply_data_train0.h5": [(0, "bed"), (1, "bowl"), (2, "bottle"), (5, "table")],
        "ply_data_test0.h5": [(0, "bed"), (2, "bottle"), (5, "table"), (1, "bowl")],
        "ply_data_test1.h5": [(3, "cone"), (2, "bottle")],
    }
    shapes = {}
    for name, content in files.items():
        data = np.stack([shape(k, 256, rng) for k, _ in content])
        label = np.array([[MODELNET40.index(c)] for _, c in content], dtype=np.uint8)
        extra = {"normal": np.zeros_like(data)} if name == "ply_data_test0.h5" else {}
        save_h5(os.path.join(d, name), data, label, **extra)
        shapes[name] = data
    # The authors' own relative paths, as in the download.
    for split in ["train", "test"]:
        names = [n for n in files if f"_{split}" in n]
        lines = [f"data/modelnet40_ply_hdf5_2048/{n}" for n in names]
        open(os.path.join(d, f"{split}_files.txt"), "w").write("\n".join(lines) + "\n")
    return shapes


def scanobjectnn(root, rng):
    d = os.path.join(root, "scanobjectnn", "main_split")
    os.makedirs(d)
    classes = open(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "classes", "scanobjectnn.txt")
    ).read().split()
    out = {}
    for prefix, content in [
        ("training", [(0, "box"), (2, "bin"), (5, "table"), (1, "pillow")]),
        ("test", [(5, "table"), (0, "box"), (2, "bin")]),
    ]:
        n_obj, n_bg = 96, 32
        data, mask = [], []
        for k, _ in content:
            obj = shape(k, n_obj, rng)
            # Background: a floor patch below the object, mixed in.
            bg = np.stack([rng.random(n_bg) - 0.5, np.full(n_bg, -0.55), rng.random(n_bg) - 0.5], 1).astype(np.float32)
            pts = np.concatenate([obj, bg])
            m = np.concatenate([np.full(n_obj, 7), np.full(n_bg, -1)])
            order = rng.permutation(len(pts))
            data.append(pts[order])
            mask.append(m[order])
        data = np.stack(data)
        mask = np.stack(mask).astype(np.int64)
        label = np.array([classes.index(c) for _, c in content], dtype=np.int64)
        with h5py.File(os.path.join(d, f"{prefix}_objectdataset_augmentedrot_scale75.h5"), "w") as f:
            f.create_dataset("data", data=data)
            f.create_dataset("label", data=label)
            f.create_dataset("mask", data=mask)
        out[prefix] = (data, mask)
    return out


def normal_resampled(root, rng):
    d = os.path.join(root, "modelnet40_normal_resampled")
    os.makedirs(d)
    items = {
        "train": [("airplane_0001", 3), ("chair_0001", 5), ("bed_0001", 0)],
        "test": [("airplane_0627", 3), ("chair_0890", 5), ("bed_0516", 0), ("bed_0517", 1)],
    }
    for split, ids in items.items():
        for ident, kind in ids:
            cls = ident.rsplit("_", 1)[0]
            os.makedirs(os.path.join(d, cls), exist_ok=True)
            p = shape(kind, 100, rng)
            n = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-6)
            np.savetxt(os.path.join(d, cls, ident + ".txt"), np.concatenate([p, n], 1), fmt="%.6f", delimiter=",")
        open(os.path.join(d, f"modelnet40_{split}.txt"), "w").write("\n".join(i for i, _ in ids) + "\n")
        mn10 = [i for i, _ in ids if i.rsplit("_", 1)[0] in MODELNET10]
        open(os.path.join(d, f"modelnet10_{split}.txt"), "w").write("\n".join(mn10) + "\n")
    open(os.path.join(d, "modelnet40_shape_names.txt"), "w").write("\n".join(MODELNET40) + "\n")
    open(os.path.join(d, "modelnet10_shape_names.txt"), "w").write("\n".join(MODELNET10) + "\n")


def broken(root, rng, good):
    d = os.path.join(root, "broken")
    os.makedirs(d)
    data = np.stack([shape(k, 64, rng) for k in range(3)])
    label = np.array([[1], [2], [3]], dtype=np.uint8)
    raw = open(good, "rb").read()
    open(os.path.join(d, "truncated.h5"), "wb").write(raw[: len(raw) // 2])
    open(os.path.join(d, "not_hdf5.h5"), "wb").write(b"this is not an HDF5 file\n" * 8)
    # A dataset that states far more shapes than the file holds: unwritten chunks, tiny file.
    with h5py.File(os.path.join(d, "huge_claim.h5"), "w") as f:
        f.create_dataset("data", shape=(10_000_000, 2048, 3), dtype="f4", chunks=(1, 2048, 3), compression="gzip")
        f.create_dataset("label", shape=(10_000_000, 1), dtype="u1", chunks=(1024, 1), compression="gzip")
    save_h5(os.path.join(d, "label_count_mismatch.h5"), data, np.array([[1], [2]], dtype=np.uint8))
    save_h5(os.path.join(d, "data_int.h5"), (data * 100).astype(np.int32), label, data_dtype="int32")
    save_h5(os.path.join(d, "label_float.h5"), data, label.astype(np.float32), label_dtype="float32")
    save_h5(os.path.join(d, "two_columns.h5"), data[:, :, :2].copy(), label)
    with h5py.File(os.path.join(d, "missing_label.h5"), "w") as f:
        f.create_dataset("data", data=data, compression="gzip", compression_opts=4)
    save_h5(os.path.join(d, "label_out_of_range.h5"), data, np.array([[1], [2], [250]], dtype=np.uint8))
    with h5py.File(os.path.join(d, "mask_mismatch.h5"), "w") as f:
        f.create_dataset("data", data=data)
        f.create_dataset("label", data=label[:, 0].astype(np.int64))
        f.create_dataset("mask", data=np.zeros((3, 10), dtype=np.int64))


def benchmark(out, rng):
    """A ModelNet40-test-sized set: 2,468 shapes of 2,048 points, in PointNet's files of 2,048."""
    d = os.path.join(out, "modelnet40_ply_hdf5_2048")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "shape_names.txt"), "w").write("\n".join(MODELNET40) + "\n")
    total, per_file, names = 2468, 2048, []
    for i, start in enumerate(range(0, total, per_file)):
        n = min(per_file, total - start)
        labels = rng.integers(0, 40, n)
        data = np.stack([shape(int(l) % 6, 2048, rng) for l in labels])
        name = f"ply_data_test{i}.h5"
        save_h5(os.path.join(d, name), data, labels[:, None].astype(np.uint8))
        names.append(f"data/modelnet40_ply_hdf5_2048/{name}")
    open(os.path.join(d, "test_files.txt"), "w").write("\n".join(names) + "\n")
    open(os.path.join(d, "train_files.txt"), "w").write("")
    print(f"wrote {total} shapes to {d}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchmark", help="write a ModelNet40-test-sized set here instead")
    args = ap.parse_args()
    rng = np.random.default_rng(20261201)
    if args.benchmark:
        return benchmark(args.benchmark, rng)
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    mn = modelnet_h5(ROOT, rng)
    sonn = scanobjectnn(ROOT, rng)
    normal_resampled(ROOT, rng)
    broken(ROOT, rng, os.path.join(ROOT, "modelnet40_ply_hdf5_2048", "ply_data_test0.h5"))
    ply = os.path.join(ROOT, "ply")
    os.makedirs(ply)
    write_ply(os.path.join(ply, "modelnet40_test0_1.ply"), mn["ply_data_test0.h5"][1])
    write_ply(os.path.join(ply, "modelnet40_test1_0.ply"), mn["ply_data_test1.h5"][0])
    data, mask = sonn["test"]
    write_ply(os.path.join(ply, "scanobjectnn_test_2.ply"), data[2])
    write_ply(os.path.join(ply, "scanobjectnn_test_2_nobg.ply"), data[2][mask[2] != -1])


if __name__ == "__main__":
    main()
