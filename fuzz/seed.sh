#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed files from ../shared/data (git-ignored: the shared files
# are never committed). Small files only: libFuzzer mutates small inputs much faster.
set -euo pipefail
cd "$(dirname "$0")"
shared=../../shared/data
max=70000
seed() { # target, find arguments...
  local target=$1; shift
  mkdir -p corpus/"$target"
  find "$shared" -type f "$@" -size -${max}c -exec cp {} corpus/"$target"/ \;
}
seed las -iname '*.las'
seed laz -iname '*.laz'
seed ply -iname '*.ply'
seed off -iname '*.off'
seed obj -iname '*.obj'
seed stl -iname '*.stl'
mkdir -p corpus/load
cp corpus/las/* corpus/laz/* corpus/ply/* corpus/off/* corpus/load/ 2>/dev/null || true
for t in las laz ply off obj stl load; do echo "$t: $(ls corpus/$t | wc -l) seeds"; done
