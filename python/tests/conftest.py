"""Shared fixtures: the repository, the calip3d CLI built by cargo, the tiny test model, the shared data."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = ROOT / "tests" / "data" / "clip" / "tiny"
SHARED = (ROOT / ".." / "shared" / "data").resolve()
CLASSES = "chair,table,lamp,airplane,bed"


def cli_path() -> Path:
    """The `calip3d` binary: $CALIP3D_BIN, else target/debug/calip3d (or under $CARGO_TARGET_DIR)."""
    if os.environ.get("CALIP3D_BIN"):
        return Path(os.environ["CALIP3D_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "calip3d"


@pytest.fixture(scope="session")
def cli() -> Path:
    path = cli_path()
    if not path.is_file():
        pytest.fail(f"{path}: the calip3d binary is missing; run `cargo build` first (or set CALIP3D_BIN)")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared/data, or a loud failure (CALIP3D_SKIP_SHARED=1 skips knowingly)."""
    if not SHARED.is_dir():
        if os.environ.get("CALIP3D_SKIP_SHARED") == "1":
            pytest.skip(f"{SHARED} absent (CALIP3D_SKIP_SHARED=1)")
        pytest.fail(f"{SHARED}: the shared data folder is missing (set CALIP3D_SKIP_SHARED=1 to skip)")
    return SHARED


@pytest.fixture(scope="session")
def classifier():
    import calip3d

    return calip3d.Classifier(model=str(TINY_MODEL), device="cpu")


def run_cli(cli: Path, *args, cwd=None, check_codes=(0,)) -> subprocess.CompletedProcess:
    """Runs the calip3d CLI on the tiny model on the CPU."""
    p = subprocess.run(
        [str(cli), *map(str, args), "--model", str(TINY_MODEL), "--device", "cpu"],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    assert p.returncode in check_codes, f"exit {p.returncode}: {p.stderr}"
    return p


def cli_classify_json(cli: Path, *files, classes=CLASSES, extra=()) -> list:
    """`calip3d classify FILE... --json` as parsed objects, one per file."""
    p = run_cli(cli, "classify", *files, "--classes", classes, "--json", "--quiet", *extra, check_codes=(0, 2))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def write_profile(path: Path, model_id: str, *, search_on_test: bool, alpha=0.5, beta2=1.12, beta3=0.02,
                  view_weights=None, templates=None, projection="realistic", views=10) -> Path:
    """A calip3d tuning profile as `calip3d tune` writes it, with the given settings."""
    profile = {
        "format": "calip3d-profile/1",
        "search_on_test": search_on_test,
        "settings": {
            "alpha": alpha, "beta2": beta2, "beta3": beta3,
            "view_weights": view_weights or [1.0] * views,
            "templates": templates or ["a depth map of a {}."],
        },
        "made_for": {"model": model_id, "projection": projection, "views": views},
        "searched_on": {
            "dataset": "data", "split": "test" if search_on_test else "train", "val_fraction": 0.2, "seed": 1,
            "split_size": 10, "validation_size": 2, "classes": CLASSES.split(","),
        },
        "validation": {"before": {"top1": 0.5, "mean_class": 0.5}, "after": {"top1": 0.5, "mean_class": 0.5}},
    }
    path.write_text(json.dumps(profile))
    return path
