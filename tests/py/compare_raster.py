#!/usr/bin/env python3
"""Assert that two rasters hold the same data and georeferencing.

Usage: .venv/bin/python tests/py/compare_raster.py A B [--bands-b 1,2,3] [--ignore-nodata]

Compares (full resolution only): band count, size, dtype per band, CRS,
affine transform (exact), nodata per band (NaN == NaN) and every pixel of
every band (NaN == NaN), reading in row windows so large files are fine.
--bands-b picks which bands of B correspond to A's bands (1-based), for
checking a band subset; --ignore-nodata skips the nodata comparison.
Prints a JSON summary; exit 0 when identical, 1 on any difference, 2 when a
file cannot be opened.
"""

import argparse
import json
import sys

import numpy as np
import rasterio
from rasterio.windows import Window


def same_nodata(a, b):
    if a is None or b is None:
        return a is None and b is None
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    return float(a) == float(b)


def same_crs(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == b or a.to_wkt() == b.to_wkt()


def jsonable(v):
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return "nan"
    return v


def compare(path_a, path_b, bands_b=None, ignore_nodata=False, rows=1024):
    diffs = []
    summary = {"a": path_a, "b": path_b}
    with rasterio.open(path_a) as A, rasterio.open(path_b) as B:
        bb = bands_b or list(range(1, B.count + 1))
        summary.update(count=A.count, width=A.width, height=A.height, dtypes=list(A.dtypes),
                       crs=A.crs.to_string() if A.crs else None, transform=list(A.transform)[:6],
                       nodata=[jsonable(v) for v in A.nodatavals])
        if bands_b and max(bb) > B.count:
            diffs.append(f"--bands-b {bb} but B has {B.count} bands")
            bb = [b for b in bb if b <= B.count]
        if A.count != len(bb):
            diffs.append(f"band count: A has {A.count}, B has {len(bb)}")
        if (A.width, A.height) != (B.width, B.height):
            diffs.append(f"size: A is {A.width}x{A.height}, B is {B.width}x{B.height}")
        if not same_crs(A.crs, B.crs):
            diffs.append(f"CRS differs: A={A.crs.to_string() if A.crs else None} "
                         f"B={B.crs.to_string() if B.crs else None}")
        if A.transform != B.transform:
            diffs.append(f"transform differs: A={tuple(A.transform)[:6]} B={tuple(B.transform)[:6]}")

        pairs = list(zip(range(1, A.count + 1), bb))
        for ia, ib in pairs:
            da, db = A.dtypes[ia - 1], B.dtypes[ib - 1]
            if da != db:
                diffs.append(f"band {ia}: dtype A={da} B={db}")
            na, nb = A.nodatavals[ia - 1], B.nodatavals[ib - 1]
            if not ignore_nodata and not same_nodata(na, nb):
                diffs.append(f"band {ia}: nodata A={na} B={nb}")

        band_stats = []
        if (A.width, A.height) == (B.width, B.height):
            for ia, ib in pairs:
                n_diff, max_abs, first = 0, 0.0, None
                for r0 in range(0, A.height, rows):
                    h = min(rows, A.height - r0)
                    w = Window(0, r0, A.width, h)
                    xa, xb = A.read(ia, window=w), B.read(ib, window=w)
                    if xa.dtype.kind == "f" or xb.dtype.kind == "f":
                        fa, fb = xa.astype(np.float64), xb.astype(np.float64)
                        neq = ~((fa == fb) | (np.isnan(fa) & np.isnan(fb)))
                    else:
                        neq = xa != xb
                    k = int(neq.sum())
                    if k:
                        n_diff += k
                        d = np.abs(xa[neq].astype(np.float64) - xb[neq].astype(np.float64))
                        d = d[~np.isnan(d)]
                        if d.size:
                            max_abs = max(max_abs, float(d.max()))
                        if first is None:
                            r, c = np.argwhere(neq)[0]
                            first = {"row": int(r0 + r), "col": int(c),
                                     "a": jsonable(xa[r, c].item()), "b": jsonable(xb[r, c].item())}
                band_stats.append({"band": ia, "band_b": ib, "pixels_differing": n_diff,
                                   "max_abs_diff": max_abs, "first_difference": first})
                if n_diff:
                    diffs.append(f"band {ia}: {n_diff} of {A.width * A.height} pixels differ "
                                 f"(max |diff| {max_abs}; first at {first})")
        summary["bands"] = band_stats
    summary["identical"] = not diffs
    summary["differences"] = diffs
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--bands-b", help="1-based bands of B matching A's bands, e.g. 3,1")
    ap.add_argument("--ignore-nodata", action="store_true")
    args = ap.parse_args()
    bands_b = [int(x) for x in args.bands_b.split(",")] if args.bands_b else None
    try:
        s = compare(args.a, args.b, bands_b, args.ignore_nodata)
    except rasterio.errors.RasterioIOError as e:
        print(json.dumps({"a": args.a, "b": args.b, "identical": False, "differences": [str(e)]}))
        print(f"cannot open: {e}", file=sys.stderr)
        return 2
    print(json.dumps(s))
    if not s["identical"]:
        print(f"RASTERS DIFFER: {args.a} vs {args.b}", file=sys.stderr)
        for d in s["differences"]:
            print(f"  - {d}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
