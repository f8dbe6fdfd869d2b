#!/usr/bin/env bash
# Bounded memory, shown: converts a raster larger than this machine's RAM
# (a sparse 120000 x 120000 UInt16 GeoTIFF, 28.8 GB of pixels, all nodata)
# and prints arco's peak RSS next to the raster's size. The input costs no
# disk (sparse); the output is a few MB. Takes about half a minute on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCO="${ARCO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/arco}"
SIZE="${SIZE:-120000}"
WORK="$ROOT/bench/work/large"
mkdir -p "$WORK"
gdal_create -q -of GTiff -outsize "$SIZE" "$SIZE" -bands 1 -ot UInt16 -a_nodata 0 \
  -co TILED=YES -co SPARSE_OK=TRUE -co BIGTIFF=YES \
  -a_srs EPSG:3857 -a_ullr 0 "$SIZE" "$SIZE" 0 "$WORK/in.tif"
pixels_gb=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s * s * 2 / 1e9 }')
ram_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
/usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$ARCO" convert "$WORK/in.tif" -o "$WORK/out.tif" --overwrite --quiet
read -r secs rss_kb <"$WORK/time.txt"
echo "raster: ${SIZE} x ${SIZE} UInt16 = ${pixels_gb} GB of pixels; RAM: ${ram_gib} GiB"
echo "arco convert --to cog: ${secs} s, peak RSS $(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1024 }') MiB, output $(stat -c %s "$WORK/out.tif") bytes"
rm -f "$WORK/in.tif"
