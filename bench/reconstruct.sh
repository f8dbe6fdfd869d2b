#!/usr/bin/env bash
# SWAG gap filling, computation alone: arco-reconstruct against the numpy
# reference (direct float32 summation) and against the usual way without
# SWAG (numpy linear interpolation, then scipy's savgol_filter), same input
# shape (512 x 512 px x 230 steps, 40 % gaps, seeded), same run, ratios
# printed (best of REPS rounds).
#
#   bash bench/reconstruct.sh REFERENCE_DIR     # the folder with swag_ref.py and bench.py
#   REPS=5 bash bench/reconstruct.sh REFERENCE_DIR
#
# The reference is not part of arco: point this at a copy of it (for example
# ../shared/reference/swag). Needs numpy and scipy in .venv (tests/requirements.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF="${1:?usage: bash bench/reconstruct.sh REFERENCE_DIR (the folder holding bench.py and swag_ref.py)}"
PY="${ARCO_PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
# REPS rounds (default 3), arco then the reference in each; every figure is
# the best of its rounds for both sides alike (the machine's speed drifts,
# and the best round is the least disturbed one).
REPS="${REPS:-3}"
cargo build --release -q -p arco-reconstruct --example swag_throughput
arco_out="" ; ref_out=""
for rep in $(seq "$REPS"); do
  echo "== round $rep: arco-reconstruct (Rust), 1 and 2 threads"
  out="$(cargo run --release -q -p arco-reconstruct --example swag_throughput)"
  printf '%s\n' "$out"
  arco_out+="$out"$'\n'
  echo "== round $rep: numpy reference, OMP_NUM_THREADS=2"
  out="$(cd "$REF" && OMP_NUM_THREADS=2 "$PY" bench.py --nx 512 --only toeplitz)"
  printf '%s\n' "$out" | grep -E 'px-steps/s'
  ref_out+="$out"$'\n'
  # The other peer: linear interpolation then scipy's savgol_filter, the
  # usual way to complete a series without SWAG.
  echo "== round $rep: numpy linear interpolation + scipy savgol_filter, OMP_NUM_THREADS=2"
  out="$(cd "$REF" && OMP_NUM_THREADS=2 "$PY" bench.py --nx 512 --only 'linear interp + savgol')"
  printf '%s\n' "$out" | grep -F 'linear interp + savgol'
  ref_out+="$out"$'\n'
done
# The best M px-steps/s over the lines containing every given fixed string.
rate() {
  local text="$1"; shift
  for f in "$@"; do text="$(printf '%s\n' "$text" | grep -F -- "$f" || true)"; done
  printf '%s\n' "$text" | grep -oE '[0-9.]+ M px-steps/s' | awk 'NF && $1 > m { m = $1 } END { if (m) print m }'
}
row() {
  awk -v n="$1" -v a1="$2" -v a="$3" -v r="$4" 'BEGIN { if (a == "" || r == "") { printf "| %s | ? | ? | ? | ? |\n", n } else { printf "| %s | %.1f M/s | %.1f M/s | %.1f M/s | %.1fx |\n", n, a1, a, r, a / r } }'
}
echo
echo "| parameter set (best of $REPS rounds) | arco, 1 thread | arco, 2 threads | reference f32, 2 threads | ratio (2 threads) |"
echo "|---|---:|---:|---:|---:|"
row "causal 45/46 (ARD2)" "$(rate "$arco_out" "causal 45/46" "threads=1")" "$(rate "$arco_out" "causal 45/46" "threads=2")" "$(rate "$ref_out" "causal 45/46 toeplitz-GEMM f32")"
row "40/20, future 0.1" "$(rate "$arco_out" "40/20 future 0.1" "threads=1")" "$(rate "$arco_out" "40/20 future 0.1" "threads=2")" "$(rate "$ref_out" "40/20 future*0.1 toeplitz f32")"
lin="$(rate "$ref_out" "linear interp + savgol(7,2,interp)")"
echo
echo "| against linear interpolation + savgol_filter(7,2,interp) (best of $REPS rounds) | peer, 2 threads | arco, 2 threads | ratio |"
echo "|---|---:|---:|---:|"
for set in "causal 45/46" "40/20 future 0.1"; do
  a="$(rate "$arco_out" "$set" "threads=2")"
  awk -v n="$set" -v a="$a" -v r="$lin" 'BEGIN { if (a == "" || r == "") { printf "| arco SWAG %s | ? | ? | ? |\n", n } else { printf "| arco SWAG %s | %.1f M/s | %.1f M/s | %.1fx |\n", n, r, a, a / r } }'
done
