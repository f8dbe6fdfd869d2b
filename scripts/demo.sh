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
# Vectors: GeoParquet, FlatGeobuf, PMTiles.
run convert "$SAMPLES/fields.gpkg" -o "$DEMO/fields.parquet" --overwrite --quiet
run convert "$SAMPLES/fields.gpkg" -o "$DEMO/fields.fgb" --overwrite --quiet
run convert "$SAMPLES/fields.gpkg" -o "$DEMO/fields.pmtiles" --maxzoom 12 --overwrite --quiet
# Gap filling: a complete series with a quality band, as a product directory.
rm -rf "$DEMO/ndvi_filled"
run reconstruct "${series[@]}" -o "$DEMO/ndvi_filled" --time-from '(\d{4}-\d{2}-\d{2})' --quiet
# Cube in, cube out: the GeoZarr cube of the same series, filled chunk by
# chunk with no temporary frames, equals the rasters filled into a cube.
rm -rf "$DEMO/ndvi_filled_cube" "$DEMO/ndvi_filled_zarr"
run reconstruct "$DEMO/ndvi.zarr" -o "$DEMO/ndvi_filled_cube" --to geozarr --quiet
run reconstruct "${series[@]}" -o "$DEMO/ndvi_filled_zarr" --to geozarr \
  --time-from '(\d{4}-\d{2}-\d{2})' --quiet
for cube in ndvi.zarr ndvi_quality.zarr; do
  diff -rq -x zarr.json "$DEMO/ndvi_filled_zarr/$cube" "$DEMO/ndvi_filled_cube/$cube" >/dev/null \
    || { echo "demo: FAILED: $cube differs between raster and cube input" >&2; exit 1; }
done
echo "demo: the cube-in run's chunks are byte-identical to the raster run's"
# Scale-out: the same reconstruction as a job of 4 tile tasks, run here 2 at a
# time (on a cluster: sbatch $DEMO/job/slurm.sbatch), then assembled and checked.
rm -rf "$DEMO/job" "$DEMO/ndvi_filled_job"
run plan --job "$DEMO/job" --tile-size 256 reconstruct "${series[@]}" -o "$DEMO/ndvi_filled_job" \
  --time-from '(\d{4}-\d{2}-\d{2})' --quiet
seq 0 3 | xargs -P 2 -I{} "$ARCO" run --job "$DEMO/job" --task {} --threads 1 --quiet
run finalize --job "$DEMO/job" --quiet -- --as-of 2024-06-15 --no-schemas
for f in "$DEMO"/ndvi_filled/*.tif; do
  cmp -s "$f" "$DEMO/ndvi_filled_job/$(basename "$f")" \
    || { echo "demo: FAILED: $f differs between the one-machine run and the job" >&2; exit 1; }
done
echo "demo: the job's 12 COGs are byte-identical to the one-machine run's"
# STAC: a root catalog over the products, then publish (local store) with the index.
run stac catalog "$DEMO/series" "$DEMO/ndvi_filled" -o "$DEMO" --title "arco demo" --quiet
rm -rf "$DEMO/published"
run publish "$DEMO/ndvi_filled" --to "$DEMO/published/ndvi_filled" --stac-index --quiet
# The 4C checks on the published product (its last date is June 2024).
run check "$DEMO/published/ndvi_filled" --as-of 2024-06-15 --no-schemas

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
check "$VPY" tests/py/check_geoparquet.py "$DEMO/fields.parquet" --reference "$SAMPLES/fields.gpkg"
check "$VPY" tests/py/check_fgb.py "$DEMO/fields.fgb" --reference "$SAMPLES/fields.gpkg"
check "$VPY" tests/py/check_pmtiles.py "$DEMO/fields.pmtiles" --input "$SAMPLES/fields.gpkg" --maxzoom 12
echo "demo: COGs valid (GDAL + rio-cogeo), pixels identical, GeoZarr cube matches its inputs"
echo "demo: GeoParquet (gpio, geoparquet-validator, geopandas), FlatGeobuf (ogrinfo, pyogrio), PMTiles (tippecanoe-decode, pmtiles) valid"

cat <<EOF

Outputs:
  $ROOT/$DEMO/uint16.tif      COG of $SAMPLES/uint16.tif
  $ROOT/$DEMO/ndvi.zarr       GeoZarr cube (time, y, x) of $SAMPLES/series/*.tif
  $ROOT/$DEMO/series/         one COG per date, a STAC Item beside each, collection.json
  $ROOT/$DEMO/fields.*        GeoParquet, FlatGeobuf and PMTiles of $SAMPLES/fields.gpkg
  $ROOT/$DEMO/ndvi_filled/    the series gap-filled (SWAG) with quality COGs and STAC
  $ROOT/$DEMO/job/            the same as a scale-out job (tasks.json, slurm.sbatch, indexed-job.yaml)
  $ROOT/$DEMO/ndvi_filled_job/ ... assembled by arco finalize: the same files
  $ROOT/$DEMO/catalog.json    a root catalog over series/ and ndvi_filled/
  $ROOT/$DEMO/published/      ndvi_filled published to a local store, with items.parquet
Try:
  gdalinfo $DEMO/uint16.tif
  $ARCO view $DEMO/fields.pmtiles
  $ARCO search $DEMO/published/items.parquet --bbox -180,-90,180,90
  $VPY -c "import xarray as xr; print(xr.open_zarr('$DEMO/ndvi.zarr', decode_coords='all'))"
EOF
