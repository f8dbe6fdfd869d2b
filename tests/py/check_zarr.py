#!/usr/bin/env python3
"""Check a GeoZarr store against the GeoTIFFs it was made from.

Usage:
  .venv/bin/python tests/py/check_zarr.py STORE --reference A.tif [B.tif ...]
      [--var NAME] [--group PATH] [--time-from REGEX | --dates D1,D2,...]
      [--dtype NAME] [--require-gdal]

Checks (each failure is listed in the JSON summary; exit 1 if any):
  * xr.open_zarr(STORE, decode_coords="all") works and the variable (--var, or
    the only data variable) has a CRS through rioxarray equal to the first
    reference's CRS, and `.rio.transform()` (from the grid mapping's
    GeoTransform when present, and recomputed from the coordinates) equal to
    the reference transform (relative tolerance 1e-9);
  * `x`/`y` coordinates are pixel centres of the reference grid, y descending;
  * values equal the references (opened without masking, so raw values and
    dtype are compared; NaN == NaN): one reference per `time` step in order,
    or a single reference when there is no `time` dimension; a multi-band
    reference maps to a `band` dimension;
  * nodata: the variable's `_FillValue` (as rioxarray reads it) equals the
    reference nodata (NaN == NaN);
  * `time`, when present, decodes to datetime64 (and equals the dates taken
    from the reference file names with --time-from, or --dates);
  * every array in the store (all groups) has dimension names.
Also tries GDAL (the one inside the rasterio wheel) with
rasterio.open('ZARR:"STORE":/VAR') and reports whether it opened and whether
its values match; that part only fails the check with --require-gdal.
Exit status: 0 ok, 1 check failed, 2 usage error.
"""

import argparse
import json
import math
import os
import re
import sys
import warnings

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

ROWS = 2048  # rows per comparison window

FLOAT_FILLVALUE_HINT = (
    "in Zarr v3 xarray reads a float `_FillValue` attribute as base64 of the "
    "little-endian float64 value (NaN -> \"AAAAAAAA+H8=\"); integers are plain JSON numbers"
)


class Report:
    def __init__(self):
        self.failures, self.warnings = [], []

    def check(self, ok, message):
        if not ok:
            self.failures.append(message)
        return bool(ok)

    def warn(self, message):
        self.warnings.append(message)


def jsonable(v):
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def same_nodata(a, b):
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def same_crs(a, b):
    if a is None or b is None:
        return False
    try:
        return a == b or a.to_wkt() == b.to_wkt()
    except Exception:  # noqa: BLE001
        return False


def transform_close(t, ref, rel=1e-9):
    """Compare two affine transforms coefficient-wise (relative tolerance)."""
    scale = max(abs(ref.a), abs(ref.e), abs(ref.b), abs(ref.d))
    for x, y in zip(tuple(t)[:6], tuple(ref)[:6]):
        if not math.isclose(x, y, rel_tol=rel, abs_tol=rel * scale):
            return False
    return True


def equal_values(a, b):
    """Number of differing elements (NaN == NaN)."""
    if a.shape != b.shape:
        return -1
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        fa, fb = a.astype(np.float64), b.astype(np.float64)
        return int((~((fa == fb) | (np.isnan(fa) & np.isnan(fb)))).sum())
    return int((a != b).sum())


def pick_var(ds, name):
    if name:
        if name not in ds.data_vars:
            raise SystemExit(f"--var {name}: not a data variable (have {list(ds.data_vars)})")
        return name
    cands = [v for v in ds.data_vars if ds[v].ndim >= 2]
    if len(cands) != 1:
        raise SystemExit(f"cannot choose the variable among {list(ds.data_vars)}: pass --var")
    return cands[0]


def walk_arrays(store, group):
    """{path: info} for every array under the store's root (all groups)."""
    root = zarr.open_group(store, mode="r")
    out = {}
    for path, node in root.members(max_depth=None):
        if not isinstance(node, zarr.Array):
            continue
        md = node.metadata
        fmt = md.zarr_format
        if fmt == 3:
            names = md.dimension_names
        else:
            names = node.attrs.get("_ARRAY_DIMENSIONS")
        try:
            shards = node.shards
        except Exception:  # noqa: BLE001
            shards = None
        try:
            codecs = [c.to_dict().get("name", type(c).__name__) for c in md.codecs] if fmt == 3 else None
        except Exception:  # noqa: BLE001
            codecs = None
        out[path] = {"shape": list(node.shape), "dtype": str(node.dtype), "chunks": list(node.chunks),
                     "shards": list(shards) if shards else None, "codecs": codecs,
                     "dimension_names": list(names) if names is not None else None,
                     "fill_value": jsonable(node.fill_value)}
    return root.metadata.zarr_format, out


def expected_dates(refs, regex, dates):
    if dates:
        return [np.datetime64(d.strip(), "ns") for d in dates.split(",")]
    if regex:
        out = []
        for r in refs:
            m = re.search(regex, os.path.basename(r)) or re.search(regex, r)
            if not m:
                raise SystemExit(f"--time-from {regex!r} does not match {r}")
            out.append(np.datetime64(m.group(1) if m.groups() else m.group(0), "ns"))
        return out
    return None


def gdal_check(store, group, var, refs, has_time, nbands):
    """Try GDAL (inside rasterio) on the array; values compared slice by slice."""
    prefix = f"/{group.strip('/')}" if group else ""
    name = f'ZARR:"{store}":{prefix}/{var}'
    info = {"name": name, "opened": False, "error": None, "values_match": None, "crs_match": None,
            "transform_match": None}
    slices = [(t, b) for t in range(len(refs) if has_time else 1) for b in range(nbands)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(name) as src:
                info["opened"] = True
                info["count"], info["subdatasets"] = src.count, len(src.subdatasets)
                with rasterio.open(refs[0]) as r0:
                    info["crs_match"] = same_crs(src.crs, r0.crs)
                    info["transform_match"] = transform_close(src.transform, r0.transform)
                readers = []
                if src.count == len(slices):
                    readers = [(lambda i=i: src.read(i + 1)) for i in range(len(slices))]
                elif src.subdatasets and len(src.subdatasets) == len(slices):
                    def sub(i):
                        with rasterio.open(src.subdatasets[i]) as s:
                            return s.read(1)
                    readers = [(lambda i=i: sub(i)) for i in range(len(slices))]
                if not readers:
                    info["error"] = (f"GDAL exposes {src.count} bands / {len(src.subdatasets)} "
                                     f"subdatasets, expected {len(slices)} 2-D slices")
                    return info
                ok = True
                for i, (t, b) in enumerate(slices):
                    with rasterio.open(refs[t]) as r:
                        ok &= equal_values(readers[i](), r.read(b + 1)) == 0
                info["values_match"] = bool(ok)
    except Exception as e:  # noqa: BLE001
        info["error"] = f"{type(e).__name__}: {e}"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--reference", nargs="+", required=True, metavar="TIF")
    ap.add_argument("--var")
    ap.add_argument("--group", help="group inside the store holding the variable")
    ap.add_argument("--time-from", help="regex whose first group is the date in each reference name")
    ap.add_argument("--dates", help="expected time values, comma-separated ISO dates")
    ap.add_argument("--dtype", help="expected dtype in the store (default: the reference dtype); "
                                    "references are cast with numpy before comparing")
    ap.add_argument("--require-gdal", action="store_true", help="fail if GDAL cannot read it identically")
    a = ap.parse_args()

    rep = Report()
    summary = {"store": a.store, "references": a.reference}
    refs = a.reference
    for r in refs:
        if not os.path.exists(r):
            print(f"no such reference: {r}", file=sys.stderr)
            return 2
    if not os.path.isdir(a.store):
        print(json.dumps({**summary, "ok": False, "failures": [f"no such store: {a.store}"]}))
        return 1

    # ---- store structure: dimension names on every array ------------------
    try:
        fmt, arrays = walk_arrays(a.store, a.group)
        summary["zarr_format"] = fmt
        summary["arrays"] = arrays
        for path, info in arrays.items():
            names = info["dimension_names"]
            if len(info["shape"]) == 0:
                continue  # scalars (e.g. spatial_ref) have no dimensions to name
            rep.check(names is not None and len(names) == len(info["shape"]) and all(names),
                      f"array {path}: missing dimension names ({names})")
    except Exception as e:  # noqa: BLE001
        rep.check(False, f"zarr cannot open the store: {type(e).__name__}: {e}")
        fmt, arrays = None, {}

    # ---- xarray / rioxarray view -------------------------------------------
    open_kw = dict(decode_coords="all", group=a.group)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "no consolidated metadata"
        try:
            ds = xr.open_zarr(a.store, **open_kw)
            raw = xr.open_zarr(a.store, mask_and_scale=False, **open_kw)
        except Exception as e:  # noqa: BLE001
            msg = f"xr.open_zarr failed: {type(e).__name__}: {e}"
            if "padding" in str(e) or "fill_value" in str(e).lower():
                msg += f" ({FLOAT_FILLVALUE_HINT})"
            rep.check(False, msg)
            return finish(summary, rep)
    var = pick_var(ds, a.var)
    da, rda = ds[var], raw[var]
    summary.update(var=var, dims=list(da.dims), shape=list(da.shape), dtype=str(rda.dtype),
                   attrs=jsonable(dict(rda.attrs)), consolidated=bool(_has_consolidated(a.store)))
    sharded = any(info.get("shards") for info in arrays.values())
    summary["sharded"] = sharded

    for d in ("y", "x"):
        rep.check(d in da.dims, f"{var}: no '{d}' dimension (dims {da.dims})")
    if rep.failures:
        return finish(summary, rep)
    extra = [d for d in da.dims if d not in ("time", "band", "y", "x")]
    rep.check(not extra, f"{var}: unexpected dimensions {extra}")
    has_time, has_band = "time" in da.dims, "band" in da.dims

    with rasterio.open(refs[0]) as r0:
        ref_crs, ref_tr, ref_count = r0.crs, r0.transform, r0.count
        ref_dtype, ref_nodata = r0.dtypes[0], r0.nodata
        ref_w, ref_h = r0.width, r0.height
    summary["reference_crs"] = ref_crs.to_string() if ref_crs else None
    summary["reference_transform"] = list(ref_tr)[:6]

    # CRS
    try:
        crs = da.rio.crs
    except Exception as e:  # noqa: BLE001
        crs = None
        rep.warn(f"rio.crs raised {e}")
    summary["crs"] = crs.to_string() if crs else None
    summary["grid_mapping"] = da.encoding.get("grid_mapping", da.attrs.get("grid_mapping"))
    rep.check(crs is not None, f"{var}: no CRS via rioxarray (needs attribute grid_mapping -> a "
                               "variable with crs_wkt/spatial_ref attributes)")
    if crs is not None:
        rep.check(same_crs(crs, ref_crs), f"{var}: CRS {crs.to_string()} != reference {ref_crs.to_string()}")

    # Transform (GeoTransform attribute if any, and recomputed from coordinates)
    try:
        tr = da.rio.transform()
        tr_coords = da.rio.transform(recalc=True)
        summary["transform"] = list(tr)[:6]
        summary["transform_from_coords"] = list(tr_coords)[:6]
        rep.check(transform_close(tr, ref_tr), f"{var}: transform {tuple(tr)[:6]} != reference {tuple(ref_tr)[:6]}")
        rep.check(transform_close(tr_coords, ref_tr),
                  f"{var}: transform from x/y coordinates {tuple(tr_coords)[:6]} != reference {tuple(ref_tr)[:6]}")
    except Exception as e:  # noqa: BLE001
        rep.check(False, f"{var}: rio.transform() failed: {type(e).__name__}: {e}")

    # Coordinates: pixel centres, y descending
    rep.check(da.sizes["x"] == ref_w and da.sizes["y"] == ref_h,
              f"{var}: size {da.sizes['x']}x{da.sizes['y']} != reference {ref_w}x{ref_h}")
    if "x" in ds.coords and "y" in ds.coords and da.sizes["x"] == ref_w and da.sizes["y"] == ref_h:
        x, y = ds["x"].values.astype(np.float64), ds["y"].values.astype(np.float64)
        ex = ref_tr.c + (np.arange(ref_w) + 0.5) * ref_tr.a
        ey = ref_tr.f + (np.arange(ref_h) + 0.5) * ref_tr.e
        rep.check(np.allclose(x, ex, rtol=1e-9, atol=1e-9 * abs(ref_tr.a)),
                  f"x coordinates are not pixel centres (x[0]={x[0]}, expected {ex[0]})")
        rep.check(np.allclose(y, ey, rtol=1e-9, atol=1e-9 * abs(ref_tr.e)),
                  f"y coordinates are not pixel centres (y[0]={y[0]}, expected {ey[0]})")
        rep.check(len(y) < 2 or bool(np.all(np.diff(y) < 0)), "y coordinates are not descending")
    else:
        rep.check(False, "x/y coordinate variables missing")

    # Time
    n_steps = da.sizes.get("time", 1)
    if has_time:
        t = ds["time"]
        summary["time"] = [str(v)[:19] for v in t.values]
        rep.check(t.dtype.kind == "M", f"time does not decode to datetime64 (dtype {t.dtype}, attrs {dict(t.attrs)})")
        rep.check(len(refs) == n_steps, f"{n_steps} time steps but {len(refs)} references")
        want = expected_dates(refs, a.time_from, a.dates)
        if want is not None and t.dtype.kind == "M":
            got = t.values.astype("datetime64[ns]")
            rep.check(len(got) == len(want) and all(g == w for g, w in zip(got, want)),
                      f"time values {summary['time']} != expected {[str(w)[:19] for w in want]}")
    else:
        rep.check(len(refs) == 1, f"no time dimension but {len(refs)} references")

    # Band layout
    n_bands = da.sizes.get("band", 1)
    bands_ok = rep.check(n_bands == ref_count, f"{var}: {n_bands} band(s) in store, reference has "
                         f"{ref_count}" + ("" if has_band else " (multi-band references need a 'band' dimension)"))
    layout_ok = (bands_ok and da.sizes["x"] == ref_w and da.sizes["y"] == ref_h
                 and len(refs) == n_steps)

    # Nodata and dtype
    want_dtype = a.dtype or ref_dtype
    rep.check(str(rda.dtype) == want_dtype, f"{var}: dtype {rda.dtype} != expected {want_dtype}")
    try:
        nd = rda.rio.nodata
    except Exception as e:  # noqa: BLE001
        nd = None
        rep.warn(f"rio.nodata raised {e}")
    summary["nodata"], summary["reference_nodata"] = jsonable(nd), jsonable(ref_nodata)
    rep.check(same_nodata(nd, ref_nodata), f"{var}: nodata/_FillValue {nd} != reference nodata {ref_nodata}")

    # Values
    if layout_ok:
        order = [d for d in ("time", "band", "y", "x") if d in rda.dims]
        rda_t = rda.transpose(*order)
        diffs = 0
        for ti in range(min(n_steps, len(refs))):
            with rasterio.open(refs[ti]) as r:
                for r0 in range(0, ref_h, ROWS):
                    r1 = min(ref_h, r0 + ROWS)
                    want = r.read(window=((r0, r1), (0, ref_w)))  # (bands, rows, cols)
                    if a.dtype:
                        want = want.astype(a.dtype)
                    sel = {"y": slice(r0, r1)}
                    if has_time:
                        sel["time"] = ti
                    got = rda_t.isel(sel).values
                    if not has_band:
                        got = got[None, ...]
                    n = equal_values(got, want)
                    if n < 0:
                        rep.check(False, f"step {ti}: shape {got.shape} != reference {want.shape}")
                        break
                    if n:
                        diffs += n
                        rep.check(False, f"step {ti} ({refs[ti]}), rows {r0}-{r1}: {n} values differ")
        summary["values_differing"] = diffs

    # GDAL (informative unless --require-gdal)
    g = gdal_check(a.store, a.group, var, refs, has_time, n_bands)
    g["gdal_version"] = rasterio.__gdal_version__
    summary["gdal"] = g
    gdal_ok = g["opened"] and g["values_match"] is True
    if a.require_gdal:
        rep.check(gdal_ok, f"GDAL {rasterio.__gdal_version__} could not read {g['name']} identically: "
                           f"{g['error'] or 'values differ'}")
    elif not gdal_ok:
        rep.warn(f"GDAL {rasterio.__gdal_version__} (rasterio wheel) did not read the array identically"
                 f"{' (store is sharded)' if sharded else ''}: {g['error'] or 'values differ'}")
    return finish(summary, rep)


def _has_consolidated(store):
    try:
        with open(os.path.join(store, "zarr.json")) as f:
            if json.load(f).get("consolidated_metadata"):
                return True
    except (OSError, ValueError):
        pass
    return os.path.exists(os.path.join(store, ".zmetadata"))


def finish(summary, rep):
    summary["ok"] = not rep.failures
    summary["failures"] = rep.failures
    summary["warnings"] = rep.warnings
    print(json.dumps(jsonable(summary)))
    if rep.failures:
        print(f"ZARR CHECK FAILED: {summary['store']}", file=sys.stderr)
        for f in rep.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
