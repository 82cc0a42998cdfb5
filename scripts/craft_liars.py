"""Writes files whose headers lie, made from shared real files by overwriting one field each, for
scripts/measure_rss.sh: a LAZ chunk table of 2^31 chunks, an EVLR of 4 GiB, 2^40-point LAS/LAZ/PLY/OFF
headers, a binary STL of 2^32 - 1 triangles. Usage: craft_liars.py SHARED_DATA OUT_DIR"""
import struct
import sys
from pathlib import Path

shared, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
HUGE = 1 << 40


def patched(src, name, edits, tail=b""):
    b = bytearray((shared / src).read_bytes())
    for at, value in edits(b):
        b[at:at + len(value)] = value
    (out / name).write_bytes(bytes(b) + tail)


def offset(b):
    return struct.unpack_from("<I", b, 96)[0]


def table(b):
    return struct.unpack_from("<q", b, offset(b))[0]


patched("lidar/pdal/simple.laz", "chunks_2e31.laz", lambda b: [(table(b) + 4, struct.pack("<I", 1 << 31))])
patched("lidar/pdal/autzen-bmx-2023.las", "evlr_4gib.las",
        lambda b: [(235, struct.pack("<Q", len(b))), (243, struct.pack("<I", 1))],
        tail=b"\0" * 20 + struct.pack("<Q", 4 << 30) + b"\0" * 32)
patched("lidar/pdal/autzen-bmx-2023.las", "points_2e40.las",
        lambda b: [(107, struct.pack("<I", 0)), (247, struct.pack("<Q", HUGE))])
patched("lidar/las-rs/autzen.copc.laz", "points_2e40.copc.laz",
        lambda b: [(107, struct.pack("<I", 0)), (247, struct.pack("<Q", HUGE))])
(out / "vertices_2e40.ply").write_bytes(
    b"ply\nformat binary_little_endian 1.0\nelement vertex %d\nproperty float x\nproperty float y\n"
    b"property float z\nend_header\n" % HUGE + b"\0" * 12)
(out / "vertices_2e40.off").write_bytes(b"OFF\n%d 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n" % HUGE)
(out / "triangles_2e32.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 2**32 - 1) + b"\0" * 50)
