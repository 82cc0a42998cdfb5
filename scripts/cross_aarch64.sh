#!/usr/bin/env bash
# Cross-builds calip3d for aarch64-unknown-linux-gnu and runs the precision and CLIP parity tests
# under qemu-user (issue 23). Not in CI: a cold cross build of every dependency takes tens of
# minutes on a small machine. Needs (Debian/Ubuntu):
#   rustup target add aarch64-unknown-linux-gnu
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
# Usage: scripts/cross_aarch64.sh [extra test filters…]  (default filters: precision clip_parity;
# the library's kernel unit tests run too). Prints the time each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
for tool in aarch64-linux-gnu-gcc qemu-aarch64-static; do
    command -v "$tool" >/dev/null || { echo "cross_aarch64: $tool is missing (see the header of $0)" >&2; exit 2; }
done
rustup target list --installed | grep -qx "$target" || {
    echo "cross_aarch64: the $target standard library is missing: rustup target add $target" >&2
    exit 2
}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
filters=("${@:-precision clip_parity}")
start=$(date +%s)
cargo test --target "$target" --no-run --lib --test it
built=$(date +%s)
echo "cross_aarch64: build took $((built - start)) s"
cargo test --target "$target" --lib -- kernels precision
for f in ${filters[@]}; do
    cargo test --target "$target" --test it -- "$f"
done
echo "cross_aarch64: tests under qemu took $(($(date +%s) - built)) s"
