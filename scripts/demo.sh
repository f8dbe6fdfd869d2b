#!/usr/bin/env bash
# The main job, end to end: set up, build arco, make sample rasters, convert
# them to a COG, a GeoZarr time-series cube and per-date COGs, and validate
# the results with GDAL, rio-cogeo and xarray/rioxarray.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

echo "demo: cargo build --release"
cargo build --release --quiet
TARGET="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET" = /* ]] || TARGET="$ROOT/$TARGET"
ARCO="$TARGET/release/arco"
[[ -x "$ARCO" ]] || { echo "demo: error: no binary at $ARCO" >&2; exit 2; }

GDAL_PY="${ARCO_GDAL_PYTHON:-/usr/bin/python3}"
VPY="${ARCO_VENV:-$ROOT/.venv}/bin/python"
SAMPLES=out/samples
DEMO=out/demo

echo "demo: sample rasters -> $SAMPLES"
"$GDAL_PY" scripts/make_samples.py "$SAMPLES" >/dev/null
mkdir -p "$DEMO"
series=("$SAMPLES"/series/ndvi_*.tif)

run() { printf '+ arco %s\n' "$*"; "$ARCO" "$@"; }

run convert "$SAMPLES/uint16.tif" --to cog -o "$DEMO/uint16.tif" --overwrite --quiet
run convert "${series[@]}" --to geozarr -o "$DEMO/ndvi.zarr" \
  --time-from '(\d{4}-\d{2}-\d{2})' --overwrite --quiet
run convert "${series[@]}" --to cog -o "$DEMO/series" --overwrite --quiet

# Run a validator quietly; show its whole report when it fails.
check() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "demo: FAILED: $*" >&2
    exit 1
  fi
}
echo "demo: validating"
check "$VPY" tests/py/validate_cog.py "$DEMO/uint16.tif" "$DEMO"/series/*.tif
check "$VPY" tests/py/compare_raster.py "$SAMPLES/uint16.tif" "$DEMO/uint16.tif"
check "$VPY" tests/py/check_zarr.py "$DEMO/ndvi.zarr" --reference "${series[@]}" \
  --time-from '(\d{4}-\d{2}-\d{2})'
echo "demo: COGs valid (GDAL + rio-cogeo), pixels identical, GeoZarr cube matches its inputs"

cat <<EOF

Outputs:
  $ROOT/$DEMO/uint16.tif      COG of $SAMPLES/uint16.tif
  $ROOT/$DEMO/ndvi.zarr       GeoZarr cube (time, y, x) of $SAMPLES/series/*.tif
  $ROOT/$DEMO/series/         one COG per date
Try:
  gdalinfo $DEMO/uint16.tif
  $VPY -c "import xarray as xr; print(xr.open_zarr('$DEMO/ndvi.zarr', decode_coords='all'))"
EOF
