#!/usr/bin/env bash
# CI for the Python package (python/): builds the extension, installs it into a virtualenv with its
# test dependencies, and runs pytest. Called by .ci/run after `cargo test`.
#
# Cheap on purpose: the extension is built in the dev profile (dependencies optimised, as the root
# crate's test profile) into the root's target dir, so every dependency `cargo test` compiled is
# reused; users' `pip install ./python` is a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${CALIP3D_PY_VENV:-$CARGO_TARGET_DIR/py-venv}"

# A fresh Debian has python3 but maybe not its venv module.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "maturin>=1.5,<2" "pytest>=7" "numpy>=1.21" "pyarrow>=14" "ray[data]>=2.40" "laspy>=2.4"

# The CLI the tests compare against (already built by `cargo test`; a no-op then).
cargo build --bin calip3d
# The extension, as a wheel, installed like a user's.
rm -rf "$CARGO_TARGET_DIR/py-wheels"
"$VENV/bin/maturin" build --profile dev --manifest-path python/Cargo.toml \
  --interpreter "$PY" --out "$CARGO_TARGET_DIR/py-wheels"
"$PY" -m pip install -q --force-reinstall --no-deps "$CARGO_TARGET_DIR"/py-wheels/calip3d-*.whl

# Ray on a CI box: no usage stats, and no dashboard.
export RAY_USAGE_STATS_ENABLED=0
export CALIP3D_BIN="$CARGO_TARGET_DIR/debug/calip3d"
cd python/tests
"$PY" -m pytest -q -p no:cacheprovider "$@"
