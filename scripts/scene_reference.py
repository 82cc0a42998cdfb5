#!/usr/bin/env python3
"""Independent references for `calip3d scene` (METHOD.md §8), written as fixtures under
tests/data/scene/ so that `cargo test --test it scene` needs no Python.

1. Clustering on real tiles (PDAL test data, ../shared/data/lidar/pdal): the non-ground points
   (ASPRS class not 2, 7 or 18) of 4_6_crop.las and autzen_trim.las, positions re-centred on the
   bounds' centre in f64 and turned into f32 exactly as calip3d's loader does, then
   - Euclidean (PDAL filters.cluster semantics): connected components of the radius graph
     (scipy cKDTree pairs + scipy.sparse.csgraph), sizes filtered to [min_points, max_points],
     IDs from 1 in the order of each cluster's first point;
   - DBSCAN (Open3D cluster_dbscan semantics): scikit-learn DBSCAN (min_samples counts the point
     itself, as Open3D's min_points), relabelled the same way.
   The radius is checked to have no pair within 1e-9 of it, so "closer than" and "at most" agree.
   Writes clusters_<tile>.json: parameters, cluster sizes, and an FNV-1a hash of the labels (u32
   little-endian per point of the file, 0 = none); for 4_6_crop also every label.

2. A labelled LAS written by calip3d (tests/data/scene/labelled_warsaw.las, made by
   `calip3d scene ../shared/data/lidar/pdal/warsaw_small.las --ground classified ...`, see
   tests/it/scene.rs), read back with laspy: every original dimension equal to the input's, the new
   extra-bytes dimensions present with their types and descriptions, the class-name VLR.
   Writes labelled_warsaw_laspy.json.

Usage: python3 scripts/scene_reference.py [--shared ../shared/data]
Needs numpy, scipy, scikit-learn, laspy.
"""

import argparse
import json
import pathlib

import laspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "scene"

# (tile, radius, euclidean min_points, dbscan min_points)
TILES = [("4_6_crop.las", 2.5, 10, 4), ("autzen_trim.las", 3.05, 20, 5)]


def fnv1a(labels):
    h = 0xCBF29CE484222325
    for b in np.asarray(labels, dtype="<u4").tobytes():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def by_first_point(raw, keep):
    """Relabels raw component labels (-1 = none) to 1.. in order of first point, 0 for none or
    for components `keep` rejects."""
    out = np.zeros(len(raw), dtype=np.int64)
    seen = {}
    sizes = {}
    for lab in raw:
        if lab >= 0:
            sizes[lab] = sizes.get(lab, 0) + 1
    nxt = 0
    for i, lab in enumerate(raw):
        if lab < 0:
            continue
        if lab not in seen:
            if keep(sizes[lab]):
                nxt += 1
                seen[lab] = nxt
            else:
                seen[lab] = 0
        out[i] = seen[lab]
    return out


def recentred_f32(las):
    xyz = np.stack([las.x, las.y, las.z], axis=1).astype(np.float64)
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    offset = (lo + hi) / 2.0
    return (xyz - offset).astype(np.float32)


def clusters(shared):
    for tile, radius, min_e, min_d in TILES:
        las = laspy.read(shared / "lidar" / "pdal" / tile)
        pos = recentred_f32(las).astype(np.float64)
        cls = np.asarray(las.classification)
        cand = np.flatnonzero(~np.isin(cls, [2, 7, 18]))
        p = pos[cand]
        tree = cKDTree(p)
        near = tree.query_pairs(radius * (1 + 1e-6), output_type="ndarray")
        d = np.sqrt(((p[near[:, 0]] - p[near[:, 1]]) ** 2).sum(axis=1))
        ties = int((np.abs(d - radius) < 1e-9).sum())
        assert ties == 0, f"{tile}: {ties} pairs at the radius; pick another radius"
        edges = near[d < radius]
        n = len(p)
        g = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        _, comp = connected_components(g, directed=False)
        euclid = by_first_point(comp, lambda s: s >= min_e)
        db = DBSCAN(eps=radius, min_samples=min_d).fit(p).labels_
        dbscan = by_first_point(db, lambda s: True)
        record = {"tile": tile, "radius": radius, "candidates": int(n), "points": int(len(pos))}
        for name, lab, m in [("euclidean", euclid, min_e), ("dbscan", dbscan, min_d)]:
            full = np.zeros(len(pos), dtype=np.int64)
            full[cand] = lab
            sizes = np.bincount(full)[1:].tolist() if full.max() > 0 else []
            entry = {"min_points": m, "clusters": len(sizes), "sizes": sizes, "fnv1a": fnv1a(full)}
            if tile == "4_6_crop.las":
                entry["labels"] = full.tolist()
            record[name] = entry
            print(f"{tile} {name}: {len(sizes)} clusters, {int((full > 0).sum())} points in them")
        (OUT / f"clusters_{tile.removesuffix('.las')}.json").write_text(json.dumps(record))


def labelled(shared):
    src = laspy.read(shared / "lidar" / "pdal" / "warsaw_small.las")
    out_path = OUT / "labelled_warsaw.las"
    out = laspy.read(out_path)
    same = {}
    for dim in src.point_format.dimension_names:
        same[dim] = bool(np.array_equal(np.asarray(src[dim]), np.asarray(out[dim])))
    # Byte-level: each output record starts with the input's record.
    n_in = src.header.point_format.size
    raw_in = np.frombuffer(open(shared / "lidar" / "pdal" / "warsaw_small.las", "rb").read(), np.uint8)
    raw_out = np.frombuffer(open(out_path, "rb").read(), np.uint8)
    rec_in = raw_in[src.header.offset_to_point_data:][: n_in * len(src.points)].reshape(-1, n_in)
    n_out = out.header.point_format.size
    rec_out = raw_out[out.header.offset_to_point_data:][: n_out * len(out.points)].reshape(-1, n_out)
    extra = {}
    for info in out.point_format.extra_dimensions:
        extra[info.name] = {
            "type": str(np.dtype(info.dtype)),
            "description": info.description,
        }
    names = None
    for v in out.header.vlrs:
        if v.user_id == "calip3d" and v.record_id == 1:
            names = json.loads(v.record_data_bytes().decode())
    record = {
        "points": len(out.points),
        "point_format": out.header.point_format.id,
        "input_point_format": src.header.point_format.id,
        "scales_equal": bool(np.array_equal(src.header.scales, out.header.scales)),
        "offsets_equal": bool(np.array_equal(src.header.offsets, out.header.offsets)),
        "original_dimensions_equal": same,
        "records_start_with_input_bytes": bool(np.array_equal(rec_out[:, :n_in], rec_in)),
        "extra_dimensions": extra,
        "class_names": names,
        "cluster_ids": np.asarray(out["ClusterID"]).astype(int).tolist(),
        "calip3d_class": np.asarray(out["calip3d_class"]).astype(int).tolist(),
        "calip3d_prob_max": float(np.asarray(out["calip3d_prob"]).max()),
    }
    (OUT / "labelled_warsaw_laspy.json").write_text(json.dumps(record, indent=1))
    print("labelled:", {k: v for k, v in record.items() if k not in ("cluster_ids", "calip3d_class")})


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--skip-labelled", action="store_true")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    clusters(pathlib.Path(a.shared))
    if not a.skip_labelled:
        labelled(pathlib.Path(a.shared))
