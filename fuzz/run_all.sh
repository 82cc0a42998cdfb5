#!/usr/bin/env bash
# Runs each fuzz target for RUNS executions (default 1,000,000), one target at a time per lane,
# niced, with the limits FUZZING.md describes; logs go to fuzz/logs/<target>.log (git-ignored).
#   [MAX_TIME=seconds per target] fuzz/run_all.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-1000000}; shift || true
targets=${*:-las laz ply off obj stl load}
mkdir -p logs artifacts
# cargo-fuzz needs nightly flags: a nightly toolchain when there is one, else the stable
# toolchain told to accept them (the only toolchain on this project's machines).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
for t in $targets; do
  mkdir -p corpus/"$t" artifacts/"$t"
  nice -n 10 "${fuzz[@]}" run -s none "$t" corpus/"$t" -- \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -runs="$runs" -max_total_time="${MAX_TIME:-0}" -max_len="${MAX_LEN:-4096}" \
    -artifact_prefix=artifacts/"$t"/ -print_final_stats=1 >logs/"$t".log 2>&1 || echo "$t: finding (see logs/$t.log)"
  grep -E '^stat::number_of_executed_units|^Done|^stat::peak_rss_mb' logs/"$t".log | sed "s/^/$t: /"
done
