#!/usr/bin/env bash
# End to end: `arco reconstruct` reading a GeoZarr cube (230 x 512 x 512
# float32, 40 % gaps) and writing a GeoZarr cube, against the numpy
# reference's computation alone on the same shape, same run, with 1 and 2
# threads. arco runs for each codec of the cubes (CODECS, default "zstd lz4
# cog": the default and the fastest), and for the default output, one COG per
# date (`cog`: written straight from the filled strips; `cog-frames`: the
# same COGs through temporary per-date frames, the path wide grids take).
#
#   bash bench/reconstruct_e2e.sh REFERENCE_DIR   # the folder holding bench.py
#   REPS=5 CODECS="zstd lz4 none" bash bench/reconstruct_e2e.sh REFERENCE_DIR
#   CODECS="cog cog-frames" bash bench/reconstruct_e2e.sh REFERENCE_DIR
#
# With zstd among the codecs it also prints the time zstd alone takes for
# the same chunks (decode the input, encode both outputs; the example
# `zstd_floor` of arco-convert): the floor under any tool that reads and
# writes these cubes with zstd on this machine, as a ratio to the reference.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF="${1:?usage: bash bench/reconstruct_e2e.sh REFERENCE_DIR (the folder holding bench.py)}"
PY="${ARCO_PYTHON:-$ROOT/.venv/bin/python}"
ARCO="${ARCO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/arco}"
FLOOR="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/zstd_floor"
(cd "$ROOT" && cargo build --release -q -p arco-convert --example zstd_floor)
WORK="$ROOT/bench/work/swag_e2e"
mkdir -p "$WORK"
cd "$WORK"
if [[ ! -d cube.zarr ]]; then
  rm -f s_*.tif
  /usr/bin/python3 "$ROOT/bench/py/make_swag_series.py"
  "$ARCO" convert s_*.tif -o cube.zarr --overviews none --quiet
  rm -f s_*.tif
fi
# Outputs of an earlier, interrupted run go first (then a pause, see below).
if compgen -G 'out.*' >/dev/null; then
  rm -rf out out.*
  sleep 60
fi
trap 'rm -rf "$WORK"/out.*' EXIT
# 1 and 2 threads, arco and the reference each, in the same run. The runs
# are interleaved (reference, then arco with each codec, REPS times,
# default 3) and each figure is the best of its REPS: the machine's speed
# drifts, and the best run is the one least disturbed.
REPS="${REPS:-3}"
CODECS="${CODECS:-zstd lz4 cog}"
best() { tr ' ' '\n' | awk 'NF && (n++ == 0 || $1 < m) { m = $1 } END { print m }'; }
for threads in 1 2; do
  ref_all="" ; declare -A all=() rss=()
  for rep in $(seq "$REPS"); do
    ref_all+=" $(cd "$REF" && OMP_NUM_THREADS=$threads "$PY" bench.py --nx 512 --only toeplitz |
      grep -F 'causal 45/46 toeplitz-GEMM f32' |
      awk '{ for (i = 1; i < NF; i++) if ($(i+1) == "s") { print $i; exit } }')"
    for codec in $CODECS; do
      # A new output directory each time, all removed at the end: removing
      # the last run's output is not part of the work measured, and on
      # ext4 files deleted in the last minute slow down every file created
      # after them (the inode allocator skips their inodes one by one).
      out="out.$threads.$codec.$rep"
      case "$codec" in
        cog | cog-frames) what=(--to cog) ;;
        *) what=(--to geozarr --compress "$codec") ;;
      esac
      frames=0
      [[ "$codec" == cog-frames ]] && frames=1
      ARCO_RECONSTRUCT_FRAMES=$frames /usr/bin/time -f '%e %M' -o time.txt "$ARCO" reconstruct cube.zarr -o "$out" "${what[@]}" --preset ard2 --season 23 --quiet --json --threads "$threads" >"$out.json"
      read -r secs kib <time.txt
      echo "$secs" >"$out.wall"
      all[$codec]+=" $secs"
      rss[$codec]="$(( kib > ${rss[$codec]:-0} ? kib : ${rss[$codec]:-0} ))"
    done
  done
  ref_s="$(best <<<"$ref_all")"
  echo "threads $threads: reference SWAG causal 45/46, computation alone (f32): best ${ref_s} s (runs:${ref_all})"
  for codec in $CODECS; do
    secs="$(best <<<"${all[$codec]}")"
    size="$(du -sm "out.$threads.$codec.1" | cut -f1)"
    case "$codec" in
      cog) label="cube in, a COG per date out (from the strips)" ;;
      cog-frames) label="cube in, a COG per date out (through frames)" ;;
      *) label="cube in and out, --compress $codec" ;;
    esac
    echo "threads $threads: arco reconstruct, $label: best ${secs} s (runs:${all[$codec]}; peak RSS $((rss[$codec] / 1024)) MiB, output ${size} MB)"
    awk -v a="$secs" -v r="$ref_s" -v t="$threads" -v c="$codec" 'BEGIN { printf "threads %s: arco (%s) / reference: %.2fx (below 1: arco faster; the goal is 0.33x)\n", t, c, a / r }'
    # Where the wall time of that best run went: the phases arco timed
    # (its --json summary), and the process's start-up and exit around them.
    for rep in $(seq "$REPS"); do
      [[ "$(cat "out.$threads.$codec.$rep.wall")" == "$secs" ]] || continue
      /usr/bin/python3 - "out.$threads.$codec.$rep.json" "$secs" "$threads" "$codec" <<'PY'
import json, sys
summary, wall = json.load(open(sys.argv[1])), float(sys.argv[2])
p = summary["phases_s"]
startup = wall - summary["elapsed_s"]
print(f"threads {sys.argv[3]}: arco ({sys.argv[4]}) phases of that run: read {p['read']:.2f} s, fill {p['fill']:.2f} s, "
      f"write {p['write']:.2f} s, layout and metadata {p['other']:.2f} s, process start-up and exit {startup:.2f} s")
PY
      break
    done
  done
  if [[ " $CODECS " == *" zstd "* ]]; then
    zstd_all=""
    for rep in $(seq "$REPS"); do
      zstd_all+=" $("$FLOOR" "$threads" 1 cube.zarr/data "out.$threads.zstd.1/cube.zarr/data" "out.$threads.zstd.1/cube_quality.zarr/quality" |
        awk '/^zstd alone:/ { print $3 }')"
    done
    zstd_s="$(best <<<"$zstd_all")"
    awk -v z="$zstd_s" -v r="$ref_s" -v t="$threads" -v runs="$zstd_all" 'BEGIN { printf "threads %s: zstd alone on the same chunks (decode the input, encode both outputs at level 1): best %s s (runs:%s) = %.2fx of the reference\n", t, z, runs, z / r }'
  fi
  unset all rss
done
