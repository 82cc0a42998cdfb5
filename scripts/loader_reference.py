#!/usr/bin/env python3
"""Point counts and bounds of the shared LAS/LAZ and PLY files computed with laspy (+lazrs) and
plyfile, independently of calip3d, for tests/it/real_data.rs.

    python3 scripts/loader_reference.py > tests/data/loader_reference.json

Each file is read in a child process with a time limit: some deliberately broken files make
laspy spin or lazrs panic; those are recorded as "reference reader failed".
"""
import json
import multiprocessing as mp
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def las_numbers(path, q):
    import laspy
    import numpy as np
    las = laspy.read(path)
    xyz = np.stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)], axis=1)
    finite = xyz[np.isfinite(xyz).all(axis=1)]
    q.put({"header_points": int(las.header.point_count), "read": int(len(xyz)),
           "version": f"{las.header.version.major}.{las.header.version.minor}",
           "point_format": int(las.header.point_format.id),
           "min": finite.min(axis=0).tolist() if len(finite) else None,
           "max": finite.max(axis=0).tolist() if len(finite) else None})


def ply_numbers(path, q):
    import numpy as np
    from plyfile import PlyData
    ply = PlyData.read(path)
    names = [e.name for e in ply.elements]
    element = "vertex" if "vertex" in names else "point"
    v = ply[element]
    xyz = np.stack([np.asarray(v[k], dtype=np.float64) for k in "xyz"], axis=1)
    q.put({"header_points": int(v.count), "read": int(len(xyz)),
           "min": xyz.min(axis=0).tolist(), "max": xyz.max(axis=0).tolist()})


def run(fn, path):
    q = mp.Queue()
    p = mp.Process(target=fn, args=(str(path), q))
    p.start()
    p.join(20)
    if p.is_alive():
        p.kill()
        return {"reference_failed": "timed out"}
    if q.empty():
        return {"reference_failed": f"exit code {p.exitcode}"}
    return q.get()


if __name__ == "__main__":
    out = {}
    for f in sorted((SHARED / "lidar").rglob("*.la[sz]")):
        out[str(f.relative_to(SHARED))] = run(las_numbers, f)
    for f in sorted((SHARED / "ply").rglob("*.ply")):
        try:
            out[str(f.relative_to(SHARED))] = run(ply_numbers, f)
        except Exception as e:  # noqa: BLE001
            out[str(f.relative_to(SHARED))] = {"reference_failed": str(e)}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
