"""Shared helpers of check_geoparquet.py and check_fgb.py: reading the
reference layer through pyogrio (GDAL 3.12 of its wheel), turning rows into
comparable keys, and the brute-force bbox expectation."""

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pyogrio
import shapely


def fail(msg):
    raise SystemExit(f"FAIL: {msg}")


# The open options arco uses for CSV (geometry from WKT or x/y columns).
CSV_OPTIONS = {
    "GEOM_POSSIBLE_NAMES": "wkt,WKT,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES": "x,X,lon,Lon,LON,longitude,Longitude,lng,easting",
    "Y_POSSIBLE_NAMES": "y,Y,lat,Lat,LAT,latitude,Latitude,northing",
    "Z_POSSIBLE_NAMES": "z,Z,elevation,height",
    "KEEP_GEOM_COLUMNS": "NO",
    "AUTODETECT_TYPE": "YES",
}


def read_reference(path, layer=None):
    kw = {"layer": layer} if layer else {}
    if path.lower().endswith(".csv"):
        kw.update(CSV_OPTIONS)
    return pyogrio.read_dataframe(path, **kw)


def norm_value(v, as_json_list=False):
    """A value in a form equal across readers: ints, floats, text, UTC ISO
    timestamps to the millisecond (dates as midnight), lists as tuples."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if as_json_list and isinstance(v, str):
        v = json.loads(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(norm_value(x) for x in v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, (pd.Timestamp, dt.datetime, np.datetime64)):
        t = pd.Timestamp(v)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    if isinstance(v, dt.date):
        return v.isoformat() + "T00:00:00.000Z"
    return str(v)


def geom_key(g, empty_as_null=False, multi=False):
    """Type and exact coordinates (x, y and z when present). With multi, a
    single type counts as its multi form (GeoArrow stores X and MultiX
    layers as MultiX)."""
    if g is None:
        return ("null",)
    if g.is_empty:
        return ("null",) if empty_as_null else ("empty", g.geom_type)
    coords = shapely.get_coordinates(g, include_z=shapely.has_z(g))
    kind = g.geom_type
    if multi and kind in ("Point", "LineString", "Polygon"):
        kind = "Multi" + kind
    return (kind, tuple(map(tuple, coords.tolist())))


def row_keys(df, columns, list_columns=(), empty_as_null=False, multi=False):
    geoms = df.geometry.values
    out = []
    for i in range(len(df)):
        vals = tuple(norm_value(df[c].iloc[i], c in list_columns) for c in columns)
        out.append((geom_key(geoms[i], empty_as_null, multi), vals))
    return out


def compare_rows(ref, out, columns, list_columns=(), empty_as_null=False, label="", multi=False):
    if len(ref) != len(out):
        fail(f"{label}: {len(out)} rows, the input has {len(ref)}")
    a = sorted(row_keys(ref, columns, empty_as_null=empty_as_null, multi=multi), key=repr)
    b = sorted(row_keys(out, columns, list_columns, multi=multi), key=repr)
    for x, y in zip(a, b):
        if x != y:
            fail(f"{label}: row differs:\n  input:  {str(x)[:300]}\n  output: {str(y)[:300]}")


def query_boxes(ref):
    """Deterministic query boxes over the layer: the four quadrants, a
    central box, and one outside the data."""
    valid = ref.geometry[~(ref.geometry.isna() | ref.geometry.is_empty)]
    xmin, ymin, xmax, ymax = valid.total_bounds
    w, h = xmax - xmin, ymax - ymin
    cx, cy = xmin + w / 2, ymin + h / 2
    return [
        (xmin, ymin, cx, cy),
        (cx, ymin, xmax, cy),
        (xmin, cy, cx, ymax),
        (cx, cy, xmax, ymax),
        (xmin + w * 0.4, ymin + h * 0.4, xmin + w * 0.6, ymin + h * 0.6),
        (xmax + w + 1, ymax + h + 1, xmax + 2 * w + 2, ymax + 2 * h + 2),
    ]


def bbox_expected(ref, box, exact):
    """Row indices of `ref` whose bbox (or, with exact, geometry)
    intersects `box`."""
    x0, y0, x1, y1 = box
    keep = []
    rect = shapely.box(*box)
    for i, g in enumerate(ref.geometry.values):
        if g is None or g.is_empty:
            continue
        if exact:
            if g.intersects(rect):
                keep.append(i)
        else:
            gx0, gy0, gx1, gy1 = g.bounds
            if gx0 <= x1 and gx1 >= x0 and gy0 <= y1 and gy1 >= y0:
                keep.append(i)
    return keep
