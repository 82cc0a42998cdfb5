"""`python -m calip3d.ray` on a local 2-worker Ray cluster gives the rows of `calip3d batch`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import CLASSES, TINY_MODEL, run_cli, write_profile

pq = pytest.importorskip("pyarrow.parquet", reason="pip install 'calip3d[ray]'")
pytest.importorskip("ray", reason="pip install 'calip3d[ray]'")

OBJECTS = [
    "objects/chair/modelnet_chair_0002.off",
    "objects/bed/modelnet40_bed_0001.off",
    "objects/airplane/modelnet40_airplane_0006.off",
    "lidar/pdal/simple.laz",
    "lidar/pdal/autzen_trim.las",
]
BROKEN = ["lidar/pdal/1.2-no-points.las", "lidar/pdal/garbage_nVariableLength.las"]


def ray_cli(*args, cwd):
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "calip3d.ray", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env,
    )


@pytest.fixture()
def folder(shared, tmp_path):
    """A folder of shared files (links), in sub-folders, with broken ones and a non-cloud file."""
    root = tmp_path / "scans"
    for rel in OBJECTS + BROKEN:
        dest = root / rel.replace("/", "_", 1)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(shared / rel)
    (root / "notes.txt").write_text("not a cloud")
    (root / "truncated.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 100\n"
                                         b"property float x\nproperty float y\nproperty float z\nend_header\n\0\0")
    return root


def test_ray_rows_equal_calip3d_batch(cli, folder, tmp_path):
    run_cli(cli, "batch", "scans", "--classes", CLASSES, "--out", "batch.jsonl", "--quiet",
            cwd=tmp_path, check_codes=(2,))
    want = {r["file"]: r for r in map(json.loads, (tmp_path / "batch.jsonl").read_text().splitlines())}

    p = ray_cli("scans", "--classes", CLASSES, "--model", TINY_MODEL, "--device", "cpu",
                "--workers", "2", "--files-per-batch", "3", "--out", "out/results.parquet", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "classified, 3 failed; results in out/results.parquet" in p.stderr
    rows = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert not list((tmp_path / "out").glob("*.partial"))

    files = [r["file"] for r in rows]
    assert files == sorted(want), "one row per file, in input order"
    assert len(files) == len(OBJECTS) + len(BROKEN) + 1
    for row in rows:
        w = want[row["file"]]
        assert row["ok"] == w["ok"], row["file"]
        if not w["ok"]:
            assert row["error"] == w["error"]
            assert row["logits"] is None and row["classes"] is None
            continue
        assert row["error"] is None
        for field in ("classes", "projection", "model"):
            assert row[field] == w[field], field
        np.testing.assert_allclose(row["logits"], w["logits"], atol=1e-4)
        np.testing.assert_allclose(row["probabilities"], w["probabilities"], atol=1e-5)
        assert [t["class"] for t in row["top"]] == [t["class"] for t in w["top"]]
        assert set(row["timings_ms"]) == set(w["timings_ms"])


def test_setup_errors_are_one_line_before_ray_starts(tmp_path, shared):
    obj = shared / OBJECTS[0]
    cases = [
        (["--classes", "chair,,lamp"], "error: --classes:2: empty class name"),
        (["--classes", CLASSES, "--scene", "--min-points", "0"], "--min-points must be at least 1"),
        (["--classes", CLASSES, "--profile", "p.json"], "p.json"),
        (["--classes", CLASSES, "--adapter", "a.safetensors"], "a.safetensors"),
        (["--classes", CLASSES, "--precision", "int4"], "precision: "),
        (["--classes", CLASSES, "--out", "r.csv"], "r.csv: results file must end in .parquet"),
        (["--classes", CLASSES, "--workers", "0"], "--workers must be at least 1"),
    ]
    for extra, message in cases:
        args = [obj, "--model", TINY_MODEL, "--out", "r.parquet", *extra]
        p = ray_cli(*args, cwd=tmp_path)
        assert p.returncode == 1, (extra, p.stderr)
        assert message in p.stderr, (extra, p.stderr)
        assert "Traceback" not in p.stderr
        # Found on the driver: Ray never started.
        assert "Started a local Ray instance" not in p.stderr, (extra, p.stderr)
    # A profile searched on the test split: the CLI's message, unless --search-on-test.
    import calip3d

    model_id = calip3d.Classifier(model=TINY_MODEL, device="cpu").model
    write_profile(tmp_path / "test.json", model_id, search_on_test=True)
    p = ray_cli(obj, "--model", TINY_MODEL, "--out", "r.parquet", "--classes", CLASSES, "--profile", "test.json",
                cwd=tmp_path)
    assert p.returncode == 1 and "test.json: this profile was searched on the test set; pass --search-on-test" \
        in p.stderr, p.stderr
    assert "Started a local Ray instance" not in p.stderr
    p = ray_cli(tmp_path / "nothing_here", "--classes", CLASSES, "--out", "r.parquet", cwd=tmp_path)
    assert p.returncode == 1 and "nothing_here: no such file or folder" in p.stderr, p.stderr
    assert not (tmp_path / "r.parquet").exists()


def test_an_empty_folder_gives_an_empty_results_file(tmp_path):
    (tmp_path / "empty").mkdir()
    p = ray_cli("empty", "--classes", CLASSES, "--out", "r.parquet", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.num_rows == 0
    assert table.schema.names[:3] == ["file", "ok", "error"]


def test_inputs_expand_as_calip3d_batch_expands_them(folder):
    import calip3d

    # (The glob first: the library reports a glob whose files an earlier input already gave as
    # "matches no file".)
    files = calip3d.expand_inputs([str(folder / "*" / "*.off"), str(folder), str(folder / "notes.txt")])
    names = [os.path.relpath(f, folder) for f in files]
    assert names == sorted(names)
    assert "notes.txt" in names  # named explicitly: kept, to fail with a per-file error
    assert len(names) == len(OBJECTS) + len(BROKEN) + 2  # + truncated.ply + notes.txt
    with pytest.raises(calip3d.Calip3dError, match="glob pattern matches no file"):
        calip3d.expand_inputs([str(folder / "*.xyz")])


def test_a_model_that_no_actor_can_load_is_one_error_line(tmp_path, shared):
    p = ray_cli(shared / OBJECTS[0], "--classes", CLASSES, "--model", tmp_path / "nomodel", "--device", "cpu",
                "--workers", "1", "--out", "r.parquet", "--quiet", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert f"\nerror: missing model file {tmp_path / 'nomodel'}" in p.stderr, p.stderr[-2000:]
    assert not (tmp_path / "r.parquet").exists()
