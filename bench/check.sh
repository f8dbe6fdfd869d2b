#!/usr/bin/env bash
# `arco check` on 10,000 Items (headers, metadata and checksums; no pixel
# reads) against `sha256sum` computing the same checksums over the same
# files, same run, ratio printed. Goal: within 1.2x of sha256sum.
#
#   bash bench/check.sh [ITEMS]        (default 10000; SIZE=256 px per side)
#
# The product is made once under bench/work/check/ (kept between runs):
# one COG per Item, each with different bytes, written by arco from a
# generated raster, and Items that arco wrote.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${1:-10000}"
WORK="bench/work/check"
GDAL_PY="${ARCO_GDAL_PYTHON:-/usr/bin/python3}"
cargo build --release -q
ARCO="${CARGO_TARGET_DIR:-target}/release/arco"

SIZE="${SIZE:-256}"
PRODUCT="$WORK/product_${N}_$SIZE"
if [[ ! -f "$PRODUCT/collection.json" ]]; then
  echo "making $N Items under $PRODUCT (once)"
  mkdir -p "$WORK/src_${N}_$SIZE"
  # N dated rasters (SIZE x SIZE uint16 noise, different pixels each), then one
  # arco convert into a product directory: data files, Items, collection.
  "$GDAL_PY" - "$WORK/src_${N}_$SIZE" "$N" "$SIZE" <<'EOF'
import datetime as dt, sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srs = osr.SpatialReference(); srs.ImportFromEPSG(32633)
drv = gdal.GetDriverByName("GTiff")
rng = np.random.default_rng(42)
day0 = dt.date(2000, 1, 1)
for k in range(n):
    p = f"{out}/b_{day0 + dt.timedelta(days=k)}.tif"
    ds = drv.Create(p, size, size, 1, gdal.GDT_UInt16)
    ds.SetGeoTransform([500000, 30, 0, 5000000, 0, -30]); ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(rng.integers(0, 10000, (size, size), dtype=np.uint16))
    ds = None
EOF
  "$ARCO" convert "$WORK/src_${N}_$SIZE"/*.tif --to cog -o "$PRODUCT" --time-from '(\d{4}-\d{2}-\d{2})' --quiet
fi
files=("$PRODUCT"/*.tif)
bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
echo "$N Items, ${#files[@]} COGs, $((bytes / 1024 / 1024)) MiB of data"

# Warm the page cache so both read from memory: the comparison is of the
# work, not of the disk.
cat "${files[@]}" > /dev/null

t() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
# arco check exits 1 (the 2000-era product is not current); time it anyway.
ta=$(t bash -c "'$ARCO' check '$PRODUCT' --headers-only --no-schemas --as-of 2030-01-01 --format json || true")
ts=$(t bash -c "printf '%s\0' \"\$@\" | xargs -0 sha256sum" _ "${files[@]}")
"$ARCO" check "$PRODUCT" --headers-only --no-schemas --format json --as-of 2030-01-01 \
  | "${ARCO_PYTHON:-.venv/bin/python}" -c "import json,sys; r=json.load(sys.stdin); c=r['coverage']; print(f\"arco check read {c['items']} items, {c['assets']} assets, {c['bytes_hashed']} bytes hashed; Correct checks: {r['summary']['correct']['checks']}\")" || true
# With the schemas too, when the shared schema directory is there.
if [[ -d ../shared/reference/stac-schemas ]]; then
  tv=$(t bash -c "'$ARCO' check '$PRODUCT' --headers-only --schemas ../shared/reference/stac-schemas --as-of 2030-01-01 --format json || true")
else
  tv=""
fi
echo
echo "| what | seconds | ratio to sha256sum |"
echo "|---|---:|---:|"
awk -v a="$ta" -v s="$ts" 'BEGIN { printf "| sha256sum over the data files | %.2f | 1.00x |\n| arco check (headers, metadata, checksums) | %.2f | %.2fx |\n", s, a, a / s }'
[[ -n "$tv" ]] && awk -v a="$tv" -v s="$ts" 'BEGIN { printf "| arco check + STAC schema validation | %.2f | %.2fx |\n", a, a / s }'
echo "threads: $(nproc)"
