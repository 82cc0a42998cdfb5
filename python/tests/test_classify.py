"""The Python Classifier gives the CLI's numbers: from numpy points, from files, in batches."""

import threading
import time

import numpy as np
import pytest

import calip3d
from conftest import CLASSES, TINY_MODEL, cli_classify_json, run_cli, write_profile

# Fields of `classify --json` that must be identical between the binding and the CLI (timings differ).
SAME_FIELDS = ("classes", "logits", "probabilities", "top", "projection", "model")


def write_ply(path, points: np.ndarray) -> None:
    """A binary little-endian PLY of points, float or double as the array's dtype."""
    kind = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}[points.dtype]
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(points)}\n"
        f"property {kind} x\nproperty {kind} y\nproperty {kind} z\nend_header\n"
    )
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(np.ascontiguousarray(points, dtype=points.dtype.newbyteorder("<")).tobytes())


def cloud(n: int, seed: int) -> np.ndarray:
    """A table-like cloud: a noisy top and four legs."""
    rng = np.random.default_rng(seed)
    top = np.c_[rng.uniform(-1, 1, n // 2), rng.normal(0.8, 0.01, n // 2), rng.uniform(-0.5, 0.5, n // 2)]
    legs = []
    for x, z in [(-0.9, -0.4), (0.9, -0.4), (-0.9, 0.4), (0.9, 0.4)]:
        m = (n - n // 2) // 4
        legs.append(np.c_[rng.normal(x, 0.02, m), rng.uniform(0, 0.8, m), rng.normal(z, 0.02, m)])
    return np.concatenate([top, *legs])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [700, 3000])  # under and over max_points (1024): the subsample too
def test_numpy_points_give_the_cli_logits(cli, classifier, tmp_path, dtype, n):
    points = cloud(n, seed=n).astype(dtype)
    if dtype == np.float64:
        # UTM-sized coordinates: precision survives only through the f64 re-centring.
        points += np.array([512_345.0, 5_403_210.0, 120.0])
    path = tmp_path / "cloud.ply"
    write_ply(path, points)
    [want] = cli_classify_json(cli, path)
    got = classifier.classify(points, CLASSES)
    assert got["file"] is None
    for field in SAME_FIELDS:
        assert got[field] == want[field], field
    assert set(got["timings_ms"]) == {"load", "project", "encode", "attend"}


def test_arrays_are_read_in_any_layout(classifier):
    points = cloud(900, seed=1).astype(np.float32)
    want = classifier.classify(points, CLASSES)["logits"]
    fortran = np.asfortranarray(points)
    strided = np.c_[points, np.zeros(len(points), np.float32)][:, :3]
    assert not strided.flags.c_contiguous and not fortran.flags.c_contiguous
    assert classifier.classify(fortran, CLASSES)["logits"] == want
    assert classifier.classify(strided, CLASSES)["logits"] == want


def test_files_give_the_cli_result(cli, classifier, shared):
    files = [
        shared / "objects" / "chair" / "modelnet_chair_0002.off",
        shared / "lidar" / "pdal" / "simple.laz",
    ]
    want = cli_classify_json(cli, *files)
    for path, w in zip(files, want):
        got = classifier.classify_file(path, CLASSES)
        assert got["file"] == w["file"] == str(path)
        for field in SAME_FIELDS:
            assert got[field] == w[field], (path, field)


def test_classify_many_batches_what_classify_does_one_by_one(classifier):
    clouds = [cloud(800, seed=s).astype(np.float32) for s in (3, 4, 5)]
    many = classifier.classify_many(clouds, CLASSES)
    assert len(many) == 3
    for c, m in zip(clouds, many):
        one = classifier.classify(c, CLASSES)
        np.testing.assert_allclose(m["logits"], one["logits"], atol=1e-4)
        assert m["classes"] == one["classes"]
    assert classifier.classify_many([], CLASSES) == []


def test_classify_files_gives_the_batch_records_in_order(cli, classifier, shared, tmp_path):
    files = [
        str(shared / "objects" / "chair" / "modelnet_chair_0002.off"),
        str(shared / "lidar" / "pdal" / "1.2-no-points.las"),
        str(tmp_path / "missing.ply"),
    ]
    got = classifier.classify_files(files, CLASSES)
    assert [r["file"] for r in got] == files
    assert [r["ok"] for r in got] == [True, False, False]
    one = classifier.classify_file(files[0], CLASSES)
    np.testing.assert_allclose(got[0]["logits"], one["logits"], atol=1e-4)
    # The error rows carry the CLI's messages.
    for record in got[1:]:
        p = run_cli(cli, "classify", record["file"], "--classes", CLASSES, "--quiet", check_codes=(2,))
        assert p.stderr.strip().splitlines()[-1] == f"error: {record['error']}"
        assert set(record) == {"file", "ok", "error"}


def test_classes_values_and_their_cache(classifier, tmp_path):
    names = ["chair", "night_stand", "lamp: a {} glowing | a desk lamp"]
    assert classifier.class_names(names) == ["chair", "night_stand", "lamp"]
    assert classifier.class_names("chair, table") == ["chair", "table"]
    assert len(classifier.class_names("modelnet40")) == 40
    f = tmp_path / "classes.txt"
    f.write_text("# mine\ncup\nbowl\n")
    assert classifier.class_names(f) == ["cup", "bowl"]
    assert classifier.class_names(str(f)) == ["cup", "bowl"]
    before = classifier._cached_class_lists
    classifier.classify(cloud(300, 1).astype(np.float32), names)
    classifier.classify(cloud(300, 2).astype(np.float32), list(names))
    assert classifier._cached_class_lists == before  # encoded once, above
    classifier.classify(cloud(300, 2).astype(np.float32), ["cup", "plate"])
    assert classifier._cached_class_lists == before + 1
    assert calip3d.resolve_classes(["chair"], "pointclip") == [("chair", ["point cloud depth map of a chair."])]


def test_errors_are_exceptions_with_calip3ds_messages(classifier, shared, tmp_path):
    with pytest.raises(calip3d.LoadError, match=r"missing\.ply"):
        classifier.classify_file(tmp_path / "missing.ply", CLASSES)
    broken = shared / "lidar" / "pdal" / "1.2-no-points.las"
    with pytest.raises(calip3d.LoadError, match="1.2-no-points.las"):
        classifier.classify_file(broken, CLASSES)
    with pytest.raises(calip3d.ClassesError, match=r"^--classes:2: empty class name$"):
        classifier.classify(cloud(100, 1), "chair,,lamp")
    with pytest.raises(calip3d.ClassesError, match="duplicate class `Chair`"):
        classifier.classify(cloud(100, 1), ["chair", "Chair"])
    with pytest.raises(calip3d.ClassesError, match=r"classes\[1\]"):
        classifier.classify(cloud(100, 1), ["chair", " "])
    with pytest.raises(calip3d.ClassesError, match="classes file not found"):
        classifier.classify(cloud(100, 1), "no/such/classes.txt")
    with pytest.raises(ValueError, match=r"shape \(N, 3\), not \(10, 4\)"):
        classifier.classify(np.zeros((10, 4), np.float32), CLASSES)
    with pytest.raises(TypeError, match="int64"):
        classifier.classify(np.zeros((10, 3), np.int64), CLASSES)
    with pytest.raises(TypeError, match="float32 or float64"):
        classifier.classify([[0.0, 0.0, 0.0]], CLASSES)
    with pytest.raises(calip3d.LoadError, match="no points to classify"):
        classifier.classify(np.zeros((0, 3)), CLASSES)
    with pytest.raises(calip3d.LoadError, match="no points to classify"):
        classifier.classify(np.full((5, 3), np.nan), CLASSES)
    with pytest.raises(ValueError, match=r"points\[1\]: points must have shape"):
        classifier.classify_many([cloud(100, 1), np.zeros((3, 2))], CLASSES)
    with pytest.raises(ValueError, match="up_axis"):
        classifier.classify(cloud(100, 1), CLASSES, up_axis="x")
    with pytest.raises(ValueError, match="up_axis"):
        classifier.scene(cloud(100, 1), CLASSES, up_axis="x")
    with pytest.raises(calip3d.LoadError, match="no/such/tile.laz"):
        classifier.scene("no/such/tile.laz", CLASSES)
    assert issubclass(calip3d.LoadError, calip3d.Calip3dError)
    assert issubclass(calip3d.Calip3dError, RuntimeError)


def test_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown device `tpu`"):
        calip3d.Classifier(model=TINY_MODEL, device="tpu")
    with pytest.raises(ValueError, match="projection"):
        calip3d.Classifier(model=TINY_MODEL, projection="fisheye")
    with pytest.raises(calip3d.Calip3dError, match=str(tmp_path / "nomodel")):
        calip3d.Classifier(model=tmp_path / "nomodel", device="cpu")
    with pytest.raises(calip3d.Calip3dError, match="view weights"):
        calip3d.Classifier(model=TINY_MODEL, device="cpu", view_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="precision"):
        calip3d.Classifier(model=TINY_MODEL, device="cpu", precision="int4")
    for kwargs in ({"profile": tmp_path / "p.json"}, {"adapter": tmp_path / "a.safetensors"}):
        with pytest.raises(calip3d.Calip3dError, match=str(next(iter(kwargs.values())))):
            calip3d.Classifier(model=TINY_MODEL, device="cpu", **kwargs)
    c = calip3d.Classifier(model=TINY_MODEL, device="cpu", projection="pointclip", max_points=0, precision="f32", top_k=2)
    assert (c.projection, c.device, c.max_points, c.views) == ("pointclip", "cpu", 0, 6)
    assert len(c.classify(cloud(100, 1), CLASSES)["top"]) == 2
    assert len(c.classify(cloud(100, 1), CLASSES, top_k=4)["top"]) == 4


def test_settings_reach_the_library(cli, tmp_path):
    points = cloud(600, seed=9).astype(np.float32)
    path = tmp_path / "cloud.ply"
    write_ply(path, points)
    flags = ["--projection", "pointclip", "--alpha", "0.7", "--beta2", "0.5", "--beta3", "0.05",
             "--view-weights", "1,0.5,1,0.5,1,0.5", "--normalize", "--template", "a {} shape"]
    [want] = cli_classify_json(cli, path, extra=flags)
    c = calip3d.Classifier(model=TINY_MODEL, device="cpu", projection="pointclip", alpha=0.7, beta2=0.5,
                           beta3=0.05, view_weights=[1, 0.5, 1, 0.5, 1, 0.5], normalize=True,
                           templates=["a {} shape"])
    assert c.classify(points, CLASSES)["logits"] == want["logits"]
    [base] = cli_classify_json(cli, path, extra=["--baseline"])
    b = calip3d.Classifier(model=TINY_MODEL, device="cpu", baseline=True)
    assert b.classify(points, CLASSES)["logits"] == base["logits"]


def test_settings_as_flags_profile_and_keywords_give_identical_logits(cli, classifier, tmp_path):
    points = cloud(600, seed=4).astype(np.float32)
    path = tmp_path / "cloud.ply"
    write_ply(path, points)
    weights = [1, 0.5, 1, 0.25, 1, 0.5, 1, 0.75, 1, 0.5]
    profile = write_profile(tmp_path / "p.json", classifier.model, search_on_test=False, alpha=0.3, beta2=0.6,
                            beta3=0.1, view_weights=weights, templates=["a {} shape"])
    flags = ["--alpha", "0.3", "--beta2", "0.6", "--beta3", "0.1", "--view-weights", ",".join(map(str, weights)),
             "--template", "a {} shape"]
    [by_flags] = cli_classify_json(cli, path, extra=flags)
    [by_cli_profile] = cli_classify_json(cli, path, extra=["--profile", profile])
    by_keywords = calip3d.Classifier(model=TINY_MODEL, device="cpu", alpha=0.3, beta2=0.6, beta3=0.1,
                                     view_weights=weights, templates=["a {} shape"]).classify(points, CLASSES)
    by_profile = calip3d.Classifier(model=TINY_MODEL, device="cpu", profile=profile).classify(points, CLASSES)
    assert by_flags["logits"] == by_cli_profile["logits"] == by_keywords["logits"] == by_profile["logits"]
    assert by_flags["logits"] != classifier.classify(points, CLASSES)["logits"], "not the defaults"
    # An explicit keyword overrides the profile, as a flag does.
    [b2_flag] = cli_classify_json(cli, path, extra=["--profile", profile, "--beta2", "0"])
    b2 = calip3d.Classifier(model=TINY_MODEL, device="cpu", profile=profile, beta2=0.0).classify(points, CLASSES)
    assert b2["logits"] == b2_flag["logits"] != by_profile["logits"]


def test_a_test_searched_profile_is_refused_with_the_cli_message(cli, classifier, tmp_path):
    profile = write_profile(tmp_path / "test.json", classifier.model, search_on_test=True)
    points = cloud(300, seed=2).astype(np.float32)
    path = tmp_path / "cloud.ply"
    write_ply(path, points)
    p = run_cli(cli, "classify", path, "--classes", CLASSES, "--profile", profile, "--quiet", check_codes=(1,))
    cli_message = p.stderr.strip().splitlines()[-1]
    assert "searched on the test set" in cli_message
    with pytest.raises(calip3d.Calip3dError) as e:
        calip3d.Classifier(model=TINY_MODEL, device="cpu", profile=profile)
    assert f"error: {e.value}" == cli_message
    with pytest.raises(calip3d.Calip3dError) as e:
        calip3d.check_settings(profile=profile)
    assert f"error: {e.value}" == cli_message
    # Told otherwise, it is used, and its predictions are stamped as the CLI's are.
    calip3d.check_settings(profile=profile, allow_test_search=True)
    c = calip3d.Classifier(model=TINY_MODEL, device="cpu", profile=profile, allow_test_search=True)
    [want] = cli_classify_json(cli, path, extra=["--profile", profile, "--search-on-test"])
    got = c.classify(points, CLASSES)
    assert got["logits"] == want["logits"] and got["stamp"] == want["stamp"]


def test_the_gil_is_released_while_computing(classifier, shared):
    files = [str(p) for p in sorted((shared / "objects" / "chair").iterdir())][:6]
    clouds = [cloud(1024, seed=s).astype(np.float32) for s in range(8)]
    classifier.class_names(CLASSES)  # encode the prompts first
    done = threading.Event()
    spans = {}

    def work():
        t = time.perf_counter()
        classifier.classify_many(clouds, CLASSES)
        classifier.classify_files(files, CLASSES)
        spans["work"] = time.perf_counter() - t
        done.set()

    thread = threading.Thread(target=work)
    last = time.perf_counter()
    longest = 0.0
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    thread.join()
    # Holding the GIL would freeze this loop for the whole computation.
    assert spans["work"] > 0.2, spans
    assert longest < spans["work"] / 4, (longest, spans)
