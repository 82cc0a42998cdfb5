#!/usr/bin/env python3
"""Writes tests/data/formats/: the same 500 points (and one small mesh) in every format calip3d
reads, each written by an independent writer, plus expected.json with what each file holds.

Writers: plyfile (the PLY references), pypcd4 (ascii and binary PCD), this script's own PCL-layout
binary_compressed writer over python-neo-lzf (PCL's layout: the two size words, then the LZF of the
fields stored column by column), numpy (.npy in both byte orders and both orders, KITTI .bin via
tofile, text via savetxt), pye57 (E57, two scans, the second with a translation pose), and OFF text written here from Geomview's OFF specification.

Coordinates are float32 values written to text with 17 significant digits, so every format holds
exactly the same numbers. Run from the repository root (dev-only; the outputs are committed):

    pip install numpy plyfile pypcd4 pye57 python-neo-lzf
    python3 scripts/make_format_fixtures.py
"""

import json
import os
import struct

import lzf
import numpy as np
import plyfile
import pye57
from pypcd4 import Encoding, PointCloud

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "formats")
N = 500


def points():
    """Points on the faces of a box, quantised to 1/256 so PCD's LZF compresses them, off-centre."""
    rng = np.random.default_rng(7)
    p = rng.integers(-256, 384, size=(N, 3)) / 256.0
    size = np.array([1.5, 1.0, 0.75])
    face = np.arange(N) % 3
    p[np.arange(N), face] = np.where(np.arange(N) % 2 == 0, size[face], -size[face])
    return (p + np.array([10.0, -3.0, 2.0])).astype(np.float32)


XYZ = points()
RNG = np.random.default_rng(11)
RGB = RNG.integers(0, 256, size=(N, 3)).astype(np.uint8)
INTENSITY = RNG.integers(0, 4096, size=N).astype(np.float32)
# Normals: unit vectors stored exactly as float32.
NORMALS = RNG.normal(size=(N, 3))
NORMALS = (NORMALS / np.linalg.norm(NORMALS, axis=1, keepdims=True)).astype(np.float32)
REFLECTANCE = (RNG.integers(0, 101, size=N) / 100.0).astype(np.float32)


def path(name):
    return os.path.join(OUT, name)


def write_ply_points(name, xyz):
    v = np.empty(len(xyz), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    v["x"], v["y"], v["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    plyfile.PlyData([plyfile.PlyElement.describe(v, "vertex")]).write(path(name))


def packed_rgb_float(rgb):
    packed = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    return packed.view(np.float32)


def write_pcd_binary_compressed(name, columns, fields, width, height):
    """PCL's binary_compressed: header, u32 compressed size, u32 uncompressed size, then the LZF of
    every field's column (all x, then all y, …), as pcl::PCDWriter::writeBinaryCompressed does."""
    sizes = [c.dtype.itemsize for c in columns]
    types = ["F" if c.dtype.kind == "f" else ("U" if c.dtype.kind == "u" else "I") for c in columns]
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(fields)}\nSIZE {' '.join(map(str, sizes))}\n"
        f"TYPE {' '.join(types)}\nCOUNT {' '.join('1' for _ in fields)}\n"
        f"WIDTH {width}\nHEIGHT {height}\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {width * height}\nDATA binary_compressed\n"
    )
    raw = b"".join(np.ascontiguousarray(c).tobytes() for c in columns)
    packed = lzf.compress(raw, len(raw) * 2)
    with open(path(name), "wb") as f:
        f.write(header.encode())
        f.write(struct.pack("<II", len(packed), len(raw)))
        f.write(packed)
    assert lzf.decompress(packed, len(raw)) == raw


def savetxt(name, table, header=None, delimiter=" ", comments="", first_line=None):
    with open(path(name), "w") as f:
        if first_line is not None:
            f.write(first_line + "\n")
        np.savetxt(
            f,
            table,
            fmt="%.17g",
            delimiter=delimiter,
            header=header or "",
            comments=comments,
        )


def off_mesh():
    """A small closed mesh: an octahedron with one face split into a quad (polygons), off-centre."""
    v = np.array(
        [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], [0.5, 0.5, 0]],
        dtype=np.float64,
    ) * np.array([1.25, 0.75, 0.5]) + np.array([3.0, 1.0, -2.0])
    v = v.astype(np.float32)
    faces = [[0, 6, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [0, 2, 5], [2, 1, 5], [1, 3, 5], [3, 0, 5]]
    return v, faces


def write_off_variants(expected):
    v, faces = off_mesh()
    # The PLY reference mesh (plyfile): float32 vertices, int face lists.
    vert = np.empty(len(v), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    vert["x"], vert["y"], vert["z"] = v[:, 0], v[:, 1], v[:, 2]
    face = np.empty(len(faces), dtype=[("vertex_indices", object)])
    face["vertex_indices"] = [np.array(f, dtype=np.int32) for f in faces]
    face_el = plyfile.PlyElement.describe(
        face, "face", len_types={"vertex_indices": "u1"}, val_types={"vertex_indices": "i4"}
    )
    plyfile.PlyData([plyfile.PlyElement.describe(vert, "vertex"), face_el]).write(
        path("mesh_reference.ply")
    )
    num = lambda x: "%.17g" % x  # noqa: E731
    nv, nf = len(v), len(faces)
    rgb = RNG.integers(0, 256, size=(nv, 4))
    normals = RNG.normal(size=(nv, 3))
    dialects = {}

    def body(vertex_line, face_line=lambda i, f: f"{len(f)} " + " ".join(map(str, f))):
        vs = "\n".join(vertex_line(i, p) for i, p in enumerate(v))
        fs = "\n".join(face_line(i, f) for i, f in enumerate(faces))
        return vs, fs

    xyz = lambda p: " ".join(num(c) for c in p)  # noqa: E731
    vs, fs = body(lambda i, p: xyz(p))
    dialects["plain.off"] = f"OFF\n{nv} {nf} 0\n{vs}\n{fs}\n"
    dialects["modelnet_one_line.off"] = f"OFF{nv} {nf} 0\n{vs}\n{fs}\n"
    dialects["counts_on_keyword_line.off"] = f"OFF {nv} {nf} 0\n{vs}\n{fs}\n"
    dialects["comments_blank_lines.off"] = (
        f"# written from the Geomview OFF spec\n\nOFF # keyword\n\n# counts next\n{nv} {nf} 12\n\n"
        + "\n".join(f"{xyz(p)}  # vertex {i}" for i, p in enumerate(v))
        + "\n\n"
        + fs
        + "\n"
    )
    vs, fs_c = body(
        lambda i, p: f"{xyz(p)} {rgb[i][0]} {rgb[i][1]} {rgb[i][2]} {rgb[i][3]}",
        lambda i, f: f"{len(f)} " + " ".join(map(str, f)) + " 0.25 0.5 0.75 1",
    )
    dialects["coff_vertex_and_face_colours.off"] = f"COFF\n{nv} {nf} 0\n{vs}\n{fs_c}\n"
    vs, _ = body(lambda i, p: f"{xyz(p)} {' '.join(num(c) for c in normals[i])}")
    dialects["noff_normals.off"] = f"NOFF\n{nv} {nf} 0\n{vs}\n{fs}\n"
    vs, _ = body(
        lambda i, p: f"{xyz(p)} {' '.join(num(c) for c in normals[i])} "
        f"{rgb[i][0] / 255:.6f} {rgb[i][1] / 255:.6f} {rgb[i][2] / 255:.6f} 1 0.5 0.25"
    )
    dialects["stcnoff_everything.off"] = f"STCNOFF\n{nv} {nf} 0\n{vs}\n{fs}\n"
    # Homogeneous: every coordinate doubled with w = 2 (exact in binary floating point).
    vs, _ = body(lambda i, p: " ".join(num(2.0 * float(c)) for c in p) + " 2")
    dialects["homogeneous_4off.off"] = f"4OFF\n{nv} {nf} 0\n{vs}\n{fs}\n"
    vs, _ = body(lambda i, p: xyz(p))
    dialects["ndim_noff.off"] = f"nOFF\n3\n{nv} {nf} 0\n{vs}\n{fs}\n"
    # Colour-map indices after the face indices.
    _, fs_i = body(lambda i, p: "", lambda i, f: f"{len(f)} " + " ".join(map(str, f)) + f" {i}")
    dialects["face_colormap_index.off"] = f"OFF\n{nv} {nf} 0\n{xyz_lines(v)}\n{fs_i}\n"
    for name, text in dialects.items():
        with open(path(name), "w") as f:
            f.write(text)
        expected[name] = {"kind": "mesh", "vertices": nv, "faces": nf}


def xyz_lines(v):
    return "\n".join(" ".join("%.17g" % c for c in p) for p in v)


def pcl_reference():
    """Counts and bounds of ../shared/data/pcd (PCL's own test files) as pypcd4 reads them; bunny.pcd's
    VERSION .5 header is refused by pypcd4, so its ascii body is read by numpy after the header."""
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "pcd")
    ref = {}
    for name in sorted(os.listdir(shared)) if os.path.isdir(shared) else []:
        if not name.endswith(".pcd"):
            continue
        full = os.path.join(shared, name)
        try:
            pc = PointCloud.from_path(full)
            xyz = pc.numpy(("x", "y", "z")).astype(np.float64)
            fields = list(pc.fields)
        except Exception:  # noqa: BLE001 - the old-header file, read by hand
            with open(full) as f:
                lines = f.read().splitlines()
            start = next(i for i, l in enumerate(lines) if l.startswith("DATA")) + 1
            xyz = np.loadtxt(lines[start:], dtype=np.float32).astype(np.float64)[:, :3]
            fields = ["x", "y", "z"]
        finite = np.isfinite(xyz).all(axis=1)
        ref[name] = {
            "points": int(len(xyz)),
            "dropped": int((~finite).sum()),
            "min": xyz[finite].min(axis=0).tolist(),
            "max": xyz[finite].max(axis=0).tolist(),
            "fields": fields,
        }
    if ref:
        with open(path("pcl_reference.json"), "w") as f:
            json.dump(ref, f, indent=1, sort_keys=True)
            f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    pcl_reference()
    expected = {}
    point_files = {}

    write_ply_points("reference.ply", XYZ)

    # --- PCD through pypcd4: ascii (x y z intensity), binary (x y z rgb), binary f64 with padding-like extras.
    pc = PointCloud.from_points([XYZ[:, 0], XYZ[:, 1], XYZ[:, 2], INTENSITY], ("x", "y", "z", "intensity"), (np.float32,) * 4)
    pc.save(path("pypcd4_ascii.pcd"), encoding=Encoding.ASCII)
    point_files["pypcd4_ascii.pcd"] = {"attributes": ["intensity"], "intensity_first": [int(i) for i in INTENSITY[:5]]}
    pc = PointCloud.from_points(
        [XYZ[:, 0], XYZ[:, 1], XYZ[:, 2], packed_rgb_float(RGB)], ("x", "y", "z", "rgb"), (np.float32,) * 4
    )
    pc.save(path("pypcd4_binary_rgb.pcd"), encoding=Encoding.BINARY)
    point_files["pypcd4_binary_rgb.pcd"] = {"attributes": ["rgb"], "rgb_first": RGB[:5].tolist()}
    ring = (np.arange(N) % 16).astype(np.uint16)
    flag = (np.arange(N) % 3 - 1).astype(np.int8)
    pc = PointCloud.from_points(
        [flag, XYZ[:, 0].astype(np.float64), ring, XYZ[:, 1].astype(np.float64), XYZ[:, 2].astype(np.float64)],
        ("flag", "x", "ring", "y", "z"),
        (np.int8, np.float64, np.uint16, np.float64, np.float64),
    )
    pc.save(path("pypcd4_binary_f64_mixed.pcd"), encoding=Encoding.BINARY)
    point_files["pypcd4_binary_f64_mixed.pcd"] = {"attributes": []}

    # --- PCL-layout binary_compressed, organised 25 × 24 with 100 NaN points among the 500.
    width, height = 25, 24
    total = width * height
    nan_at = set(range(3, total, 6))
    finite_order = [i for i in range(total) if i not in nan_at]
    assert len(finite_order) == N
    cols = np.full((total, 3), np.nan, dtype=np.float32)
    cols[finite_order] = XYZ
    rgb_full = np.zeros((total, 3), dtype=np.uint8)
    rgb_full[finite_order] = RGB
    write_pcd_binary_compressed(
        "pcl_binary_compressed_organised.pcd",
        [cols[:, 0], cols[:, 1], cols[:, 2], packed_rgb_float(rgb_full)],
        ["x", "y", "z", "rgb"],
        width,
        height,
    )
    point_files["pcl_binary_compressed_organised.pcd"] = {
        "attributes": ["rgb"],
        "rgb_first": RGB[:5].tolist(),
        "dropped": total - N,
        "points_in_file": total,
    }

    # --- numpy
    np.save(path("f32_c.npy"), XYZ)
    np.save(path("f64_big_endian_6_columns.npy"), np.hstack([XYZ, NORMALS]).astype(">f8"))
    np.save(path("f32_fortran.npy"), np.asfortranarray(XYZ))
    np.save(path("f64_big_endian_fortran.npy"), np.asfortranarray(XYZ.astype(">f8")))
    np.save(path("f32_batch_of_one.npy"), XYZ[None, :, :])
    for name in ["f32_c.npy", "f64_big_endian_6_columns.npy", "f32_fortran.npy", "f64_big_endian_fortran.npy", "f32_batch_of_one.npy"]:
        point_files[name] = {"attributes": []}

    # --- KITTI velodyne: float32 x y z reflectance, headerless.
    np.hstack([XYZ, REFLECTANCE[:, None]]).astype("<f4").tofile(path("kitti_000000.bin"))
    point_files["kitti_000000.bin"] = {
        "attributes": ["intensity"],
        "intensity_first": [int(round(float(r) * 65535)) for r in REFLECTANCE[:5]],
        "up_axis": "z",
    }

    # --- text
    x64 = XYZ.astype(np.float64)
    savetxt("plain.xyz", x64)
    point_files["plain.xyz"] = {"attributes": []}
    savetxt("header.csv", np.hstack([x64, INTENSITY[:, None]]), header="X,Y,Z,Intensity", delimiter=",")
    point_files["header.csv"] = {"attributes": ["intensity"], "intensity_first": [int(i) for i in INTENSITY[:5]]}
    # ModelNet's modelnet40_normal_resampled lines: x,y,z,nx,ny,nz without a header.
    savetxt("modelnet_normals.txt", np.hstack([x64, NORMALS.astype(np.float64)]), delimiter=",")
    point_files["modelnet_normals.txt"] = {"attributes": ["normals"]}
    # CloudCompare's `//X Y Z R G B` header, columns reordered: y first.
    savetxt(
        "cloudcompare.txt",
        np.hstack([x64[:, [1]], RGB.astype(np.float64), x64[:, [0, 2]]]),
        header="//Y R G B X Z",
    )
    point_files["cloudcompare.txt"] = {"attributes": ["rgb"], "rgb_first": RGB[:5].tolist()}
    # Leica PTS: the count line, then x y z intensity(-2048..2047) r g b.
    savetxt(
        "leica.pts",
        np.hstack([x64, (INTENSITY[:, None] - 2048), RGB.astype(np.float64)]),
        first_line=str(N),
    )
    point_files["leica.pts"] = {
        "attributes": ["intensity", "rgb"],
        "intensity_first": [int(i) for i in INTENSITY[:5]],
        "rgb_first": RGB[:5].tolist(),
    }
    savetxt("semicolon.csv", x64, delimiter=";", header="x;y;z")
    point_files["semicolon.csv"] = {"attributes": []}

    # --- E57 through pye57: two scans, the second stored relative to a translation pose.
    e57_path = path("two_scans.e57")
    if os.path.exists(e57_path):
        os.remove(e57_path)
    e = pye57.E57(e57_path, mode="w")
    half = N // 2
    t = np.array([8.0, -4.0, 2.0])
    for lo, hi, shift in [(0, half, np.zeros(3)), (half, N, t)]:
        local = x64[lo:hi] - shift
        e.write_scan_raw(
            {
                "cartesianX": local[:, 0],
                "cartesianY": local[:, 1],
                "cartesianZ": local[:, 2],
                "intensity": INTENSITY[lo:hi].astype(np.float64) / 4095.0,
                "colorRed": RGB[lo:hi, 0].astype(np.uint8),
                "colorGreen": RGB[lo:hi, 1].astype(np.uint8),
                "colorBlue": RGB[lo:hi, 2].astype(np.uint8),
            },
            translation=shift,
            rotation=np.array([1.0, 0.0, 0.0, 0.0]),
        )
    e.close()
    point_files["two_scans.e57"] = {"attributes": ["intensity", "rgb"], "rgb_first": RGB[:5].tolist(), "up_axis": "z"}

    for name, info in point_files.items():
        info.setdefault("dropped", 0)
        info.setdefault("points_in_file", N)
        info.setdefault("up_axis", "y")
        info["kind"] = "points"
        expected[name] = info

    write_off_variants(expected)
    with open(path("expected.json"), "w") as f:
        json.dump({"reference": "reference.ply", "mesh_reference": "mesh_reference.ply", "files": expected}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(expected)} files to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
