#!/usr/bin/env bash
# Bounded memory for `arco reconstruct`, shown: a (time, y, x) float32 cube
# with more samples than this machine has RAM (230 dates of EDGE x EDGE
# pixels, 34.7 GB at the default 6144) is filled into GeoZarr cubes, and
# arco's peak RSS is printed next to the cube's size. The cube is the
# e2e benchmark's 512 x 512 cube grown (bench/py/grow_cube.py): STORED
# regions hold its chunks (hard links: no disk), the others are left out,
# as the ocean of a land product is. arco fills the stored regions one at a
# time and skips the empty ones.
#
#   bash bench/reconstruct_larger_than_ram.sh      # EDGE=6144 STORED=4
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${ARCO_PYTHON:-$ROOT/.venv/bin/python}"
ARCO="${ARCO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/arco}"
EDGE="${EDGE:-6144}"
STORED="${STORED:-4}"
WORK="$ROOT/bench/work/swag_e2e"
mkdir -p "$WORK"
cd "$WORK"
if [[ ! -d cube.zarr ]]; then
  rm -f s_*.tif
  /usr/bin/python3 "$ROOT/bench/py/make_swag_series.py"
  "$ARCO" convert s_*.tif -o cube.zarr --overviews none --quiet
  rm -f s_*.tif
fi
trap 'rm -rf "$WORK/big.zarr" "$WORK/big_out"' EXIT
"$PY" "$ROOT/bench/py/grow_cube.py" cube.zarr big.zarr "$EDGE" "$STORED"
ram_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
rm -rf big_out
/usr/bin/time -f '%e %M' -o time.txt "$ARCO" reconstruct big.zarr -o big_out --to geozarr --preset ard2 --season 23 --json >summary.json
read -r secs rss_kb <time.txt
echo "RAM: ${ram_gib} GiB"
echo "arco reconstruct --to geozarr: ${secs} s, peak RSS $(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1024 }') MiB, output $(du -sm big_out | cut -f1) MB"
"$PY" - summary.json <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
b = s["bands"][0]
total = b["observed"] + b["filled"] + b["unfillable"]
print(f"samples: {total / 1e9:.2f} G; observed {b['observed']}, filled {b['filled']}, not fillable {b['unfillable']}")
PYEOF
