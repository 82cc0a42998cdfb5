"""Classifier.scene() and `python -m calip3d.ray --scene` give what `calip3d scene` and
`calip3d batch --scene` give."""

import json

import numpy as np
import pytest

import calip3d
from conftest import TINY_MODEL, run_cli

SCENE_CLASSES = "car,tree,building,person"
TILE = "lidar/pdal/4_6_crop.las"  # classified ground (class 2)


def cli_scene(cli, path, tmp_path, *extra):
    objects = tmp_path / "objects.jsonl"
    run_cli(cli, "scene", path, "--classes", SCENE_CLASSES, "--objects", objects, "--quiet", *extra)
    return [json.loads(line) for line in objects.read_text().splitlines()]


def test_scene_of_a_file_gives_the_cli_objects(cli, classifier, shared, tmp_path):
    tile = shared / TILE
    want = cli_scene(cli, tile, tmp_path)
    got = classifier.scene(tile, SCENE_CLASSES)
    assert got["file"] == str(tile)
    assert got["ground"] == "classified"
    assert len(want) > 3, "the tile has objects"
    assert got["objects"] == want, "every field, logits included, as the CLI's objects file"

    n = got["points"]
    for name, dtype in [("roles", np.uint8), ("cluster_ids", np.uint32), ("labels", np.uint16),
                        ("source_index", np.uint64)]:
        assert got[name].dtype == dtype and got[name].shape == (n,), name
    # Per-point arrays agree with the object records.
    ids, counts = np.unique(got["cluster_ids"][got["cluster_ids"] > 0], return_counts=True)
    assert ids.tolist() == [o["cluster_id"] for o in got["objects"]]
    assert counts.tolist() == [o["points"] for o in got["objects"]]
    assert int((got["roles"] == 1).sum()) == got["ground_points"]
    assert not np.any(got["cluster_ids"][got["roles"] == 1]), "ground points are in no object"
    classes = SCENE_CLASSES.split(",")
    for o in got["objects"]:
        labels = got["labels"][got["cluster_ids"] == o["cluster_id"]]
        assert set(labels.tolist()) == {classes.index(o["class"]) + 1}


def test_scene_of_points_and_its_options(classifier):
    rng = np.random.default_rng(0)
    # Two boxes of points 5 m apart on no ground: two objects.
    a = rng.uniform([0, 0, 0], [1, 1, 1], (600, 3))
    b = rng.uniform([5, 0, 0], [6, 1, 1], (600, 3))
    points = np.concatenate([a, b]).astype(np.float32)
    got = classifier.scene(points, SCENE_CLASSES, ground="none", radius=0.5, min_points=50)
    assert got["file"] is None and "source_index" not in got
    assert [o["points"] for o in got["objects"]] == [600, 600]
    assert got["cluster"]["method"] == "euclidean" and got["cluster"]["radius"] == 0.5
    # A larger link radius joins them.
    joined = classifier.scene(points, SCENE_CLASSES, ground="none", radius=10.0, min_points=50)
    assert len(joined["objects"]) == 1
    # Nothing over min_points: an empty object list, not an error.
    none = classifier.scene(points, SCENE_CLASSES, ground="none", radius=0.5, min_points=10_000)
    assert none["objects"] == [] and not none["cluster_ids"].any()
    with pytest.raises(ValueError, match="unknown ground method"):
        classifier.scene(points, SCENE_CLASSES, ground="grass")
    with pytest.raises(ValueError, match="unknown cluster method"):
        classifier.scene(points, SCENE_CLASSES, cluster="kmeans")


def test_scene_of_a_utm_array_reports_the_arrays_own_coordinates(cli, classifier, tmp_path):
    """Centroids and boxes of a float64 array with UTM-sized coordinates are in the array's frame,
    equal (within 1 mm) to `calip3d scene` on the same points written as LAS."""
    import laspy

    rng = np.random.default_rng(7)
    origin = np.array([512_345.678, 4_101_234.567, 213.4])
    a = rng.uniform([0, 0, 0], [1.5, 1.0, 2.0], (700, 3))
    b = rng.uniform([6, 3, 0], [7, 4.5, 1.2], (500, 3))
    header = laspy.LasHeader(point_format=0, version="1.2")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.floor(origin)
    las = laspy.LasData(header)
    local = np.concatenate([a, b]) + origin
    las.x, las.y, las.z = local[:, 0], local[:, 1], local[:, 2]
    path = tmp_path / "utm.las"
    las.write(path)
    # The very f64 values the LAS holds, as calip3d reads them.
    back = laspy.read(path)
    points = np.column_stack([back.x, back.y, back.z]).astype(np.float64)

    opts = ["--ground", "none", "--tolerance", "0.5", "--min-points", "50"]
    want = cli_scene(cli, path, tmp_path, *opts)
    got = classifier.scene(points, SCENE_CLASSES, up_axis="z", ground="none", radius=0.5, min_points=50)
    assert len(want) == 2 and len(got["objects"]) == 2
    for w, g in zip(want, got["objects"]):
        assert g["points"] == w["points"]
        assert np.allclose(g["centroid"], w["centroid"], rtol=0, atol=1e-3), (g["centroid"], w["centroid"])
        for corner in ("min", "max"):
            assert np.allclose(g["bbox"][corner], w["bbox"][corner], rtol=0, atol=1e-3)
    # In the array's frame: the first box's centroid is near the origin we put it at.
    assert np.allclose(got["objects"][0]["centroid"], origin + [0.75, 0.5, 1.0], atol=0.1)


def test_scene_of_a_broken_file_raises_with_its_name(classifier, shared):
    path = shared / "lidar/pdal/1.2-no-points.las"
    with pytest.raises(calip3d.LoadError, match="1.2-no-points.las"):
        classifier.scene(path, SCENE_CLASSES)


def test_ray_scene_rows_equal_calip3d_batch_scene(cli, shared, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("ray")
    from test_ray import ray_cli

    scans = tmp_path / "tiles"
    scans.mkdir()
    (scans / "a_tile.las").symlink_to(shared / TILE)
    (scans / "b_broken.las").symlink_to(shared / "lidar/pdal/1.2-no-points.las")
    run_cli(cli, "batch", "tiles", "--scene", "--classes", SCENE_CLASSES, "--out", "scenes.jsonl",
            "--quiet", cwd=tmp_path, check_codes=(2,))
    want = [json.loads(line) for line in (tmp_path / "scenes.jsonl").read_text().splitlines()]

    p = ray_cli("tiles", "--scene", "--classes", SCENE_CLASSES, "--model", TINY_MODEL,
                "--device", "cpu", "--workers", "2", "--files-per-batch", "1",
                "--out", "scenes.parquet", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "2 files: 1 classified, 1 failed" in p.stderr, p.stderr
    rows = pq.read_table(tmp_path / "scenes.parquet").to_pylist()
    assert [(r["record"], r["file"]) for r in rows] == [(w["record"], w["file"]) for w in want]
    for row, w in zip(rows, want):
        assert row["ok"] == w.get("ok", True)
        if w["record"] == "object":
            for field in ("cluster_id", "points", "centroid", "class", "classes"):
                assert row[field] == w[field], field
            assert row["bbox_min"] == w["bbox"]["min"] and row["bbox_max"] == w["bbox"]["max"]
            np.testing.assert_allclose(row["logits"], w["logits"], atol=1e-4)
        elif w["ok"]:
            for field in ("points", "ground_points", "noise_points", "objects", "ground"):
                assert row[field] == w[field], field
        else:
            assert row["error"] == w["error"]
