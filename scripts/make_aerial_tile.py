#!/usr/bin/env python3
"""Writes the synthetic aerial test tile of issue 21 (tests/it/scene_hag.rs), with laspy and numpy.

A 60 m x 60 m tile in UTM zone 10N coordinates (easting 500 000 m, northing 5 000 000 m): a ground
sloped 2 % along x (and 0.5 % along y) sampled every 0.5 m with 5 cm jitter and Gaussian height
noise of sigma 2 cm, and nine real shapes from ../shared/data/objects, each scaled to a height of
1.5-3 m and standing on the ground. Object points are sampled on the mesh surfaces (area-weighted
triangles), keeping only faces an airborne scanner sees (normals not pointing down), one point per
~0.015 m^2 of surface.

Truth: `point_source_id` is 0 for ground and k (1..9) for object k; classification is 1
(unclassified) everywhere, so `--ground auto` has no provider ground to take and picks SMRF.

Two files: `aerial_m.las` (metres, WKT of WGS 84 / UTM zone 10N) and `aerial_ftus.las` (the same
points with every coordinate in US survey feet, x 3937/1200, WKT whose unit is the US survey
foot), LAS 1.4 point format 6 with the WKT bit set, scale 1 mm / 1 mft. Also `aerial_truth.json`:
each object's file, height and centroid in metres.

Usage: make_aerial_tile.py --shared ../shared/data --out DIR
"""
import argparse
import json
import pathlib

import laspy
import numpy as np

# (file, height in metres, where its footprint centre stands on the tile, m)
OBJECTS = [
    ("car/turk_big_porsche.ply", 1.5, (10.0, 10.0)),
    ("truck/turk_pickup_big.ply", 2.2, (30.0, 10.0)),
    ("cow/turk_cow.ply", 1.6, (50.0, 10.0)),
    ("person/odedstein_human_man.obj", 1.8, (10.0, 30.0)),
    ("lamp/turk_street_lamp.ply", 3.0, (30.0, 30.0)),
    ("tree/turk_fracttree.ply", 3.0, (50.0, 30.0)),
    ("person/odedstein_human_woman.obj", 1.7, (10.0, 50.0)),
    ("armadillo/odedstein_armadillo.obj", 2.0, (30.0, 50.0)),
    ("motorcycle/turk_big_atc.ply", 1.5, (50.0, 50.0)),
]
ORIGIN = np.array([500_000.0, 5_000_000.0, 0.0])
US_FOOT = 1200.0 / 3937.0
SURFACE_PER_POINT = 0.015  # m^2
WKT_M = (
    'PROJCS["WGS 84 / UTM zone 10N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,'
    '298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",-123],PARAMETER["scale_factor",0.9996],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],'
    'AUTHORITY["EPSG","32610"]]'
)
WKT_FTUS = (
    'PROJCS["WGS 84 / UTM zone 10N (US survey foot)",GEOGCS["WGS 84",DATUM["WGS_1984",'
    'SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-123],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",1640416.66666667],'
    'PARAMETER["false_northing",0],UNIT["US survey foot",0.304800609601219]]'
)


def ground_z(x, y):
    return 100.0 + 0.02 * x + 0.005 * y


def read_mesh(path):
    """Vertices and triangles of an ASCII PLY or an OBJ (the shared shapes used here)."""
    text = path.read_text(errors="replace").splitlines()
    if path.suffix == ".ply":
        n_v = n_f = 0
        for i, line in enumerate(text):
            if line.startswith("element vertex"):
                n_v = int(line.split()[2])
            elif line.startswith("element face"):
                n_f = int(line.split()[2])
            elif line.strip() == "end_header":
                start = i + 1
                break
        v = np.array([[float(t) for t in text[start + i].split()[:3]] for i in range(n_v)])
        faces = [list(map(int, text[start + n_v + i].split()[1:])) for i in range(n_f)]
    else:
        v, faces = [], []
        for line in text:
            t = line.split()
            if not t:
                continue
            if t[0] == "v":
                v.append([float(c) for c in t[1:4]])
            elif t[0] == "f":
                faces.append([int(c.split("/")[0]) - 1 for c in t[1:]])
        v = np.array(v)
    tris = [(f[0], f[i], f[i + 1]) for f in faces for i in range(1, len(f) - 1)]
    return v, np.array(tris)


def sample_object(path, height, at, rng):
    """Surface points of a shape, y-up turned z-up, scaled to `height` and standing at `at`."""
    v, tris = read_mesh(path)
    v = np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)  # y-up -> z-up
    v = v * (height / np.ptp(v[:, 2]))
    a, b, c = v[tris[:, 0]], v[tris[:, 1]], v[tris[:, 2]]
    n = np.cross(b - a, c - a)
    area = np.linalg.norm(n, axis=1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        nz = n[:, 2] / (2 * area)
    # Outward normals are not consistent across these meshes, so the faces an airborne scanner
    # cannot see are dropped by place: flat faces in the object's lowest tenth (soles, underbodies,
    # the tops of feet, hidden from above and beside by the body).
    low = np.minimum(np.minimum(a[:, 2], b[:, 2]), c[:, 2]) < v[:, 2].min() + 0.1 * height
    keep = (area > 0) & ~(low & (np.abs(np.nan_to_num(nz)) > 0.7))
    a, b, c, area = a[keep], b[keep], c[keep], area[keep]
    count = int(area.sum() / SURFACE_PER_POINT)
    pick = rng.choice(len(area), size=count, p=area / area.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    pts = (1 - s)[:, None] * a[pick] + (s * (1 - r2))[:, None] * b[pick] + (s * r2)[:, None] * c[pick]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pts[:, 0] += at[0] - (lo[0] + hi[0]) / 2
    pts[:, 1] += at[1] - (lo[1] + hi[1]) / 2
    pts[:, 2] += ground_z(at[0], at[1]) - lo[2]
    return pts


def write(path, xyz, source, scale, wkt):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([scale, scale, scale])
    header.offsets = np.floor(xyz.min(axis=0))
    header.global_encoding.wkt = True
    header.vlrs.append(laspy.VLR("LASF_Projection", 2112, "OGC WKT", wkt.encode() + b"\0"))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    las.point_source_id = source.astype(np.uint16)
    las.classification = np.ones(len(xyz), np.uint8)
    las.return_number = np.ones(len(xyz), np.uint8)
    las.number_of_returns = np.ones(len(xyz), np.uint8)
    las.gps_time = np.arange(len(xyz)) * 1e-5
    tmp = path.with_name(path.name + ".tmp")
    las.write(tmp)
    tmp.replace(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    shared, out = pathlib.Path(a.shared), pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(21)
    g = np.arange(0, 60, 0.5)
    gx, gy = [m.ravel() + rng.uniform(-0.05, 0.05, m.size) for m in np.meshgrid(g, g)]
    gz = ground_z(gx, gy) + rng.normal(0, 0.02, gx.size)
    parts, source, truth = [np.stack([gx, gy, gz], axis=1)], [np.zeros(gx.size, int)], []
    for k, (file, height, at) in enumerate(OBJECTS, start=1):
        pts = sample_object(shared / "objects" / file, height, at, rng)
        parts.append(pts)
        source.append(np.full(len(pts), k))
        truth.append({"id": k, "file": file, "height": height, "points": len(pts),
                      "centroid": (pts.mean(axis=0) + ORIGIN).tolist()})
    xyz = np.concatenate(parts) + ORIGIN
    source = np.concatenate(source)
    order = rng.permutation(len(xyz))  # objects and ground interleave in the file
    xyz, source = xyz[order], source[order]
    write(out / "aerial_m.las", xyz, source, 0.001, WKT_M)
    write(out / "aerial_ftus.las", xyz / US_FOOT, source, 0.001, WKT_FTUS)
    (out / "aerial_truth.json").write_text(json.dumps({"objects": truth, "points": len(xyz)}, indent=1))
    for t in truth:
        print(t["id"], t["file"], t["points"])


if __name__ == "__main__":
    main()
