"""Checks a FlatGeobuf file written by arco with two readers:

  1. `ogrinfo` (Debian gdal-bin, GDAL 3.6): opens it, the feature count,
     and a spatial query through the index (`-spat`) returns the features
     whose geometry intersects the box (brute force over the input);
  2. pyogrio (GDAL 3.12 of its wheel): same rows, attribute values and
     geometries as the input (lists come back as JSON text; empty
     geometries as null, the stated rule), and `bbox=` queries return the
     same features as the brute force.

Usage: check_fgb.py FILE --reference INPUT [--layer L] [--crs EPSG:N|none]
"""

import argparse
import re
import subprocess

import pyogrio

from vector_common import bbox_expected, compare_rows, fail, query_boxes, read_reference


def ogrinfo(*args):
    r = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"ogrinfo {' '.join(args)} (exit {r.returncode}): {r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--reference", required=True)
    ap.add_argument("--layer")
    ap.add_argument("--crs")
    args = ap.parse_args()

    ref = read_reference(args.reference, args.layer)
    columns = [c for c in ref.columns if c != "geometry"]
    list_columns = [c for c in columns if ref[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()]

    summary = ogrinfo("-so", "-al", args.file)
    m = re.search(r"Feature Count: (\d+)", summary)
    if not m or int(m.group(1)) != len(ref):
        fail(f"ogrinfo feature count {m and m.group(1)}, the input has {len(ref)}")
    info = pyogrio.read_info(args.file)
    if args.crs == "none":
        if info["crs"] is not None:
            fail(f"crs {info['crs']}, expected none")
    elif args.crs and info["crs"] != args.crs:
        fail(f"crs {info['crs']}, expected {args.crs}")

    out = pyogrio.read_dataframe(args.file)
    compare_rows(ref, out, columns, list_columns, empty_as_null=True, label="round trip")

    for box in query_boxes(ref):
        want_idx = bbox_expected(ref, box, exact=True)
        got = pyogrio.read_dataframe(args.file, bbox=box)
        # pyogrio (GDAL's rectangle filter) keeps geometries that intersect the box.
        compare_rows(ref.iloc[want_idx], got, columns, list_columns, empty_as_null=True, label=f"pyogrio bbox {box}")
        text = ogrinfo("-q", "-al", "-spat", *(repr(float(v)) for v in box), args.file)
        n = len(re.findall(r"^OGRFeature\(", text, re.M))
        if n != len(want_idx):
            fail(f"ogrinfo -spat {box}: {n} features, expected {len(want_idx)}")
    print(f"ok: {args.file} ({len(out)} features)")


if __name__ == "__main__":
    main()
