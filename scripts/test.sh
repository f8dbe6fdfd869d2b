#!/usr/bin/env bash
# The test command: set-up, then format check, clippy, release build and the
# whole workspace's tests (which call the Python validators of tests/py).
# Extra arguments are passed to `cargo test` (e.g. a test-name filter).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

export ARCO_PYTHON="${ARCO_VENV:-$ROOT/.venv}/bin/python"
export ARCO_GDAL_PYTHON="${ARCO_GDAL_PYTHON:-/usr/bin/python3}"

step() {
  local name="$1"; shift
  local t0=$SECONDS
  printf '\n==> %s\n' "$name"
  if ! "$@"; then
    printf '\nFAILED: %s (%ss)\n' "$name" $((SECONDS - t0)) >&2
    exit 1
  fi
  printf '<== %s ok (%ss)\n' "$name" $((SECONDS - t0))
}

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy"      cargo clippy --workspace --all-targets --release -- -D warnings
step "cargo build"       cargo build --release
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
step "cargo test"        bash -c 'set -o pipefail; cargo test --release --workspace "$@" 2>&1 | tee "$0"' "$log" "$@"

printf '\nall checks passed\n'
# The closing line: the whole suite, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i; if ($(i+1) ~ /^ignored;?$/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
