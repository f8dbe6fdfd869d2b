"""Checks a GeoParquet file written by arco with the tools people use:

  1. `gpio check spec` and `gpio check all` (geoparquet-io, DuckDB based):
     no failed check;
  2. `geoparquet-validator check`: exit 0, no FAIL line;
  3. the `geo` metadata: version 1.1.0, primary column, encoding, geometry
     types, PROJJSON CRS (or null when the input has none), bbox, covering;
  4. geopandas.read_parquet against the input read by pyogrio: same rows,
     attribute values and geometries (M is not compared: GeoParquet has none);
  5. geopandas.read_parquet(..., bbox=...) returns exactly the rows whose
     bbox intersects the query box (brute force over the input).

Usage: check_geoparquet.py FILE --reference INPUT [--layer L]
       [--encoding WKB|point|...] [--crs EPSG:N|none]
Exit 0 when every check passes; prints the first failure otherwise.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import geopandas as gpd
import pyarrow.parquet as pq

from vector_common import bbox_expected, compare_rows, fail, query_boxes, read_reference

BIN = os.path.dirname(sys.executable)


def ensure_spatial_extension():
    """gpio needs DuckDB's spatial extension; install it from the wheel
    (duckdb-extension-spatial) so nothing is downloaded."""
    from duckdb_extensions import import_extension

    import_extension("spatial")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check_tools(path):
    ensure_spatial_extension()
    for sub in ("spec", "all"):
        r = run([os.path.join(BIN, "gpio"), "check", sub, path])
        text = r.stdout + r.stderr
        # Exit 2 means warnings only (an unknown CRS is one); failures are
        # counted in the summary and marked with a cross.
        failed = re.search(r"(\d+) failed", text)
        if r.returncode not in (0, 2) or "✗" in text or (failed and failed.group(1) != "0"):
            fail(f"gpio check {sub} {path} (exit {r.returncode}):\n{text}")
        if sub == "spec" and not re.search(r"Summary: \d+ passed", text):
            fail(f"gpio check spec printed no summary:\n{text}")
        if "Extension" in text and "not found" in text:
            fail(f"gpio check {sub}: DuckDB spatial extension missing:\n{text}")
    r = run([os.path.join(BIN, "geoparquet-validator"), "check", path])
    if r.returncode != 0 or "FAIL" in r.stdout:
        fail(f"geoparquet-validator check {path} (exit {r.returncode}):\n{r.stdout}{r.stderr}")


def check_metadata(path, args):
    md = pq.read_metadata(path).metadata
    geo = json.loads(md[b"geo"])
    if geo.get("version") != "1.1.0":
        fail(f"geo version {geo.get('version')}")
    prim = geo["primary_column"]
    col = geo["columns"][prim]
    if args.encoding and col["encoding"] != args.encoding:
        fail(f"encoding {col['encoding']}, expected {args.encoding}")
    if not col.get("geometry_types"):
        fail("geometry_types is empty")
    if "crs" not in col:
        fail("crs missing (would mean OGC:CRS84)")
    crs = col["crs"]
    if args.crs == "none":
        if crs is not None:
            fail(f"crs should be null (unknown), got {crs}")
    elif args.crs:
        auth, code = args.crs.split(":")
        ident = crs.get("id", {})
        if ident.get("authority") != auth or str(ident.get("code")) != code:
            fail(f"crs id {ident}, expected {args.crs}")
        if "type" not in crs:
            fail("crs is not PROJJSON")
    cov = col.get("covering", {}).get("bbox")
    if not cov or cov["xmin"][1] != "xmin":
        fail(f"covering {col.get('covering')}")
    if len(col.get("bbox", [])) != 4:
        fail(f"bbox {col.get('bbox')}")
    schema = pq.read_schema(path)
    if cov["xmin"][0] not in schema.names:
        fail(f"covering column {cov['xmin'][0]} missing")
    meta = pq.ParquetFile(path).metadata
    for rg in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            if meta.row_group(rg).column(c).compression != "ZSTD":
                fail(f"column {c} of row group {rg} is not zstd")
    return prim, col


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--reference", required=True)
    ap.add_argument("--layer")
    ap.add_argument("--encoding")
    ap.add_argument("--crs")
    ap.add_argument("--max-row-group", type=int)
    args = ap.parse_args()

    check_tools(args.file)
    prim, col = check_metadata(args.file, args)
    if args.max_row_group:
        meta = pq.ParquetFile(args.file).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        if max(sizes) > args.max_row_group or len(sizes) < 2:
            fail(f"row groups {sizes}, expected several of at most {args.max_row_group}")

    ref = read_reference(args.reference, args.layer)
    out = gpd.read_parquet(args.file)
    columns = [c for c in ref.columns if c != "geometry"]
    missing = [c for c in columns if c not in out.columns]
    if missing:
        fail(f"columns missing from the output: {missing}")
    multi = col["encoding"].startswith("multi")
    compare_rows(ref, out, columns, label="round trip", multi=multi)

    for box in query_boxes(ref):
        got = gpd.read_parquet(args.file, bbox=box)
        want = ref.iloc[bbox_expected(ref, box, exact=False)]
        compare_rows(want, got, columns, label=f"bbox {box}", multi=multi)
    print(f"ok: {args.file} ({len(out)} rows, {col['encoding']}, {col['geometry_types']})")


if __name__ == "__main__":
    main()
