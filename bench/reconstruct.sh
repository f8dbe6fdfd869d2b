#!/usr/bin/env bash
# SWAG gap filling, computation alone: arco-reconstruct against the numpy
# reference (direct float32 summation), same input shape (512 x 512 px x 230
# steps, 40 % gaps, seeded), same run, ratios printed.
#
#   bash bench/reconstruct.sh REFERENCE_DIR     # the folder with swag_ref.py and bench.py
#
# The reference is not part of arco: point this at a copy of it (for example
# ../shared/reference/swag). Needs numpy and scipy in .venv (tests/requirements.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF="${1:?usage: bash bench/reconstruct.sh REFERENCE_DIR (the folder holding bench.py and swag_ref.py)}"
PY="${ARCO_PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
echo "== arco-reconstruct (Rust), 1 and 2 threads"
arco_out="$(cargo run --release -q -p arco-reconstruct --example swag_throughput)"
printf '%s\n' "$arco_out"
echo "== numpy reference, OMP_NUM_THREADS=2"
ref_out="$(cd "$REF" && OMP_NUM_THREADS=2 "$PY" bench.py --nx 512 --only toeplitz)"
printf '%s\n' "$ref_out" | grep -E 'px-steps/s'
# The M px-steps/s of the first line containing every given fixed string.
rate() {
  local text="$1"; shift
  for f in "$@"; do text="$(printf '%s\n' "$text" | grep -F -- "$f" || true)"; done
  printf '%s\n' "$text" | head -1 | grep -oE '[0-9.]+ M px-steps/s' | awk '{print $1}'
}
row() {
  awk -v n="$1" -v a="$2" -v r="$3" 'BEGIN { if (a == "" || r == "") { printf "| %s | ? | ? | ? |\n", n } else { printf "| %s | %.1f M/s | %.1f M/s | %.1fx |\n", n, a, r, a / r } }'
}
echo
echo "| parameter set | arco, 2 threads | reference f32 | ratio |"
echo "|---|---:|---:|---:|"
row "causal 45/46 (ARD2)" "$(rate "$arco_out" "causal 45/46" "threads=2")" "$(rate "$ref_out" "causal 45/46 toeplitz-GEMM f32")"
row "40/20, future 0.1" "$(rate "$arco_out" "40/20 future 0.1" "threads=2")" "$(rate "$ref_out" "40/20 future*0.1 toeplitz f32")"
