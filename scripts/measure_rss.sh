#!/usr/bin/env bash
# Peak RSS of `calip3d info` over the shared real files and over crafted files whose headers lie
# (made here from shared files by scripts/craft_liars.py). Prints a TSV: file, bytes, max-points,
# exit code, peak RSS (KiB), RSS / file size, wall seconds. FUZZING.md records a run.
#   scripts/measure_rss.sh [calip3d binary, default target/release/calip3d]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/calip3d}
shared=../shared/data
crafted=$(mktemp -d)
python3 scripts/craft_liars.py "$shared" "$crafted"
printf 'file\tbytes\tmax_points\texit\tpeak_rss_kib\trss_per_file_byte\twall_s\n'
measure() { # file, max-points
  local f=$1 n=$2 out rc rss wall size
  size=$(stat -c %s "$f")
  /usr/bin/time -v -o "$crafted/.time" "$bin" info --max-points "$n" "$f" >/dev/null 2>&1 || true
  out=$(cat "$crafted/.time")
  rss=$(grep 'Maximum resident set size' <<<"$out" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall clock)' <<<"$out" | awk '{print $NF}')
  rc=$(grep 'Exit status' <<<"$out" | awk '{print $NF}')
  printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n' "${f#"$shared"/}" "$size" "$n" "$rc" "$rss" \
    "$(echo "$rss * 1024 / $size" | bc -l)" "$wall"
}
while IFS= read -r f; do
  measure "$f" 0
  measure "$f" 1024
done < <(find "$shared/lidar" "$shared/ply" "$shared/objects" -type f \
  \( -iname '*.las' -o -iname '*.laz' -o -iname '*.ply' -o -iname '*.off' -o -iname '*.obj' -o -iname '*.stl' \) | sort)
for f in "$crafted"/*; do measure "$f" 0; done
rm -rf "$crafted"
