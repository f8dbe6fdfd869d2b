#!/usr/bin/python3
"""Deterministic synthetic GeoTIFFs for the demo, the tests and the benchmark.

Run with Debian's python (GDAL bindings + numpy): /usr/bin/python3.

  make_samples.py OUTDIR                 the demo set (same as `demo OUTDIR`)
  make_samples.py demo OUTDIR            uint16.tif, float32_3band.tif, categorical.tif,
                                         series/ndvi_2024-01-01.tif .. ndvi_2024-06-01.tif,
                                         fields.gpkg (2000 parcels, EPSG:4326)
  make_samples.py raster OUT.tif --width W --height H [--bands N] [--dtype uint16] ...
  make_samples.py series OUTDIR --steps N --width W --height H [--dtype int16] ...

Same arguments and seed give byte-identical files. `raster` and `series` skip
files that already exist (use --force to rewrite); `demo` always rewrites.
Large rasters are written strip by strip, so memory stays small.
"""

import argparse
import datetime as dt
import os
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

GDAL_TYPES = {
    "uint8": gdal.GDT_Byte,
    "byte": gdal.GDT_Byte,
    "int16": gdal.GDT_Int16,
    "uint16": gdal.GDT_UInt16,
    "int32": gdal.GDT_Int32,
    "uint32": gdal.GDT_UInt32,
    "float32": gdal.GDT_Float32,
    "float64": gdal.GDT_Float64,
}

# Default grid per CRS: (origin x, origin y, pixel size).
GRIDS = {
    "EPSG:32633": (399960.0, 5800020.0, 10.0),
    "EPSG:32632": (600000.0, 5300000.0, 20.0),
    "EPSG:4326": (10.0, 50.0, 0.0005),
    "EPSG:3035": (4300000.0, 2900000.0, 20.0),
    "EPSG:3857": (1113194.9, 6446275.8, 30.0),
}

STRIP_ROWS = 512


# --------------------------------------------------------------------------
# Synthetic fields
# --------------------------------------------------------------------------
class Field:
    """A smooth 2-D field in about [0, 1] with parcel-like edges, evaluated by rows.

    f(y, x) = 0.45 * (g(x) + h(y)) / 2 + 0.35 * p(x) q(y) + 0.2 * parcels(y, x)
    where g, h, p, q are sums of random sinusoids (separable, so cheap to
    evaluate for any row range) and `parcels` quantises another separable sum.
    """

    def __init__(self, width, height, seed):
        rng = np.random.default_rng([seed, 7919])
        self.width, self.height = width, height
        self.gx = self._wave(rng, width)
        self.hy = self._wave(rng, height)
        self.px = self._wave(rng, width)
        self.qy = self._wave(rng, height)
        self.ux = self._wave(rng, width, waves=5, base=6.0)
        self.vy = self._wave(rng, height, waves=5, base=6.0)

    @staticmethod
    def _wave(rng, n, waves=4, base=1.5):
        t = np.arange(n, dtype=np.float64) / max(n, 1)
        out = np.zeros(n)
        for k in range(waves):
            freq = base * (k + 1) * rng.uniform(0.6, 1.4)
            amp = 1.0 / (k + 1)
            out += amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
        out -= out.min()
        return out / max(out.max(), 1e-12)  # [0, 1]

    def rows(self, r0, r1):
        h = self.hy[r0:r1, None]
        smooth = 0.5 * (self.gx[None, :] + h)
        product = self.px[None, :] * self.qy[r0:r1, None]
        parcels = np.floor(5.0 * 0.5 * (self.ux[None, :] + self.vy[r0:r1, None])) / 5.0
        return 0.45 * smooth + 0.35 * product + 0.2 * parcels


def noise(seed, band, r0, r1, width, sigma):
    """Gaussian noise for rows [r0, r1); seeded per strip so strips are independent."""
    rng = np.random.default_rng([seed, band, r0, r1])
    return rng.standard_normal((r1 - r0, width), dtype=np.float32) * np.float32(sigma)


def to_dtype(values, dtype, nodata=None):
    """Round/clip float values into dtype's range (keeping clear of nodata)."""
    np_type = np.dtype(dtype)
    if np_type.kind == "f":
        return values.astype(np_type)
    info = np.iinfo(np_type)
    lo, hi = info.min, info.max
    if nodata is not None and not np.isnan(nodata):
        if nodata == lo:
            lo += 1
        elif nodata == hi:
            hi -= 1
    return np.clip(np.rint(values), lo, hi).astype(np_type)


def value_model(dtype):
    """(offset, scale, noise sigma) mapping a [0, 1] field to realistic values."""
    return {
        "uint8": (10.0, 230.0, 3.0),
        "byte": (10.0, 230.0, 3.0),
        "int16": (-2000.0, 10000.0, 60.0),
        "uint16": (300.0, 4000.0, 10.0),
        "int32": (-50000.0, 200000.0, 500.0),
        "uint32": (1000.0, 200000.0, 500.0),
        "float32": (0.02, 0.5, 0.004),
        "float64": (0.02, 0.5, 0.004),
    }[dtype]


def blobs(seed, width, height, count, r0, r1, radius_frac=0.08):
    """Boolean mask of `count` seeded discs ("clouds") for rows [r0, r1)."""
    rng = np.random.default_rng([seed, 4242])
    mask = np.zeros((r1 - r0, width), dtype=bool)
    yy = np.arange(r0, r1)[:, None]
    xx = np.arange(width)[None, :]
    for _ in range(count):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.5, 1.0) * radius_frac * min(width, height)
        mask |= (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    return mask


def edge_mask(width, height, r0, r1, frac=0.15):
    """Boolean mask of a diagonal no-data wedge in the top-left corner (a scene edge)."""
    yy = np.arange(r0, r1)[:, None] / height
    xx = np.arange(width)[None, :] / width
    return xx + yy < frac * 2


# --------------------------------------------------------------------------
# GeoTIFF writing
# --------------------------------------------------------------------------
def srs_wkt(crs):
    srs = osr.SpatialReference()
    srs.SetFromUserInput(crs)
    return srs.ExportToWkt()


def geotransform(crs, origin, res):
    if origin is None or res is None:
        ox, oy, r = GRIDS.get(crs, (0.0, 0.0, 1.0))
        origin = origin or (ox, oy)
        res = res or r
    return (origin[0], res, 0.0, origin[1], 0.0, -res)


def create(path, width, height, bands, dtype, crs, gt, tiled, blocksize, compress,
           interleave="pixel"):
    opts = ["BIGTIFF=IF_SAFER"]
    if tiled:
        opts += ["TILED=YES", f"BLOCKXSIZE={blocksize}", f"BLOCKYSIZE={blocksize}"]
    if compress and compress.upper() != "NONE":
        opts.append(f"COMPRESS={compress.upper()}")
    if bands > 1:
        opts.append(f"INTERLEAVE={interleave.upper()}")
    ds = gdal.GetDriverByName("GTiff").Create(path, width, height, bands, GDAL_TYPES[dtype], opts)
    ds.SetGeoTransform(gt)
    ds.SetProjection(srs_wkt(crs))
    return ds


def write_atomic(path, build):
    """Create the file as path.partial.tif via build(tmp_path), then rename."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial.tif"
    if os.path.exists(tmp):
        os.remove(tmp)
    build(tmp)
    os.replace(tmp, path)


def write_raster(path, width, height, bands=1, dtype="uint16", crs="EPSG:32633", origin=None,
                 res=None, nodata=None, seed=0, tiled=False, blocksize=512, compress="NONE",
                 nodata_edge=False, clouds=0, band_names=None, extra=None, interleave="pixel"):
    """Write a multi-band synthetic raster strip by strip."""
    gt = geotransform(crs, origin, res)
    offset, scale, sigma = value_model(dtype)
    shared = Field(width, height, seed)
    own = [Field(width, height, seed * 1000 + b + 1) for b in range(bands)]
    gains = [1.0 + 0.25 * b for b in range(bands)]

    def build(tmp):
        ds = create(tmp, width, height, bands, dtype, crs, gt, tiled, blocksize, compress,
                    interleave)
        if extra:
            ds.SetMetadata(extra)
        out = [ds.GetRasterBand(b + 1) for b in range(bands)]
        for b, band in enumerate(out):
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if band_names:
                band.SetDescription(band_names[b])
        # Strips outside, bands inside: one strip of every band is written
        # before the next, which suits pixel-interleaved files.
        for r0 in range(0, height, STRIP_ROWS):
            r1 = min(height, r0 + STRIP_ROWS)
            common = shared.rows(r0, r1)
            m = None
            if nodata is not None and (nodata_edge or clouds):
                m = np.zeros((r1 - r0, width), dtype=bool)
                if nodata_edge:
                    m |= edge_mask(width, height, r0, r1)
                if clouds:
                    m |= blobs(seed, width, height, clouds, r0, r1)
            for b, band in enumerate(out):
                f = 0.6 * common + 0.4 * own[b].rows(r0, r1)
                v = offset + scale * gains[b] * f + noise(seed, b, r0, r1, width, sigma)
                v = to_dtype(v, dtype, nodata)
                if m is not None:
                    v[m] = nodata
                band.WriteArray(v, 0, r0)
        ds.FlushCache()
        ds = None

    write_atomic(path, build)


def write_categorical(path, width, height, crs="EPSG:32632", seed=3, classes=8):
    """Byte land-cover-like classes 1..classes, nodata 0, with a colour table."""
    gt = geotransform(crs, None, None)
    field = Field(width, height, seed)
    palette = [(0, 0, 0, 0), (0, 100, 0, 255), (255, 187, 34, 255), (255, 255, 76, 255),
               (240, 150, 255, 255), (250, 0, 0, 255), (180, 180, 180, 255),
               (0, 100, 200, 255), (0, 150, 160, 255), (250, 230, 160, 255)]

    def build(tmp):
        ds = create(tmp, width, height, 1, "uint8", crs, gt, False, 512, "NONE")
        band = ds.GetRasterBand(1)
        band.SetNoDataValue(0)
        band.SetDescription("land_cover")
        ct = gdal.ColorTable()
        for i in range(256):
            ct.SetColorEntry(i, palette[i] if i < len(palette) else (0, 0, 0, 0))
        band.SetRasterColorTable(ct)
        band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
        f = field.rows(0, height) + noise(seed, 0, 0, height, width, 0.008)
        edges = np.quantile(f, np.linspace(0, 1, classes + 1)[1:-1])
        v = (np.digitize(f, edges) + 1).astype(np.uint8)
        v[edge_mask(width, height, 0, height, frac=0.06)] = 0
        band.WriteArray(v)
        ds.FlushCache()
        ds = None

    write_atomic(path, build)


def month_starts(start, n):
    d = dt.date.fromisoformat(start)
    out = []
    for _ in range(n):
        out.append(d)
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def write_series(outdir, steps, width, height, dtype="int16", crs="EPSG:3035", origin=None,
                 res=None, nodata=None, seed=11, start="2024-01-01", prefix="ndvi", tiled=False,
                 blocksize=512, compress="NONE", clouds=0, force=True):
    """Monthly rasters PREFIX_YYYY-MM-DD.tif on one grid with a seasonal NDVI-like signal."""
    gt = geotransform(crs, origin, res)
    base = Field(width, height, seed)
    phase = Field(width, height, seed + 1)
    kind = np.dtype(dtype).kind
    if kind == "f":
        scale, offset, sigma = 1.0, 0.0, 0.01
    elif dtype in ("uint8", "byte"):
        scale, offset, sigma = 200.0, 20.0, 2.0
    elif kind == "u":
        scale, offset, sigma = 8000.0, 1000.0, 40.0  # offset-encoded NDVI
    else:
        scale, offset, sigma = 10000.0, 0.0, 80.0  # NDVI * 10000
    paths = []
    for t, day in enumerate(month_starts(start, steps)):
        path = os.path.join(outdir, f"{prefix}_{day.isoformat()}.tif")
        paths.append(path)
        if os.path.exists(path) and not force:
            print(f"exists  {path}")
            continue
        doy = day.timetuple().tm_yday

        def build(tmp, t=t, doy=doy, day=day):
            ds = create(tmp, width, height, 1, dtype, crs, gt, tiled, blocksize, compress)
            ds.SetMetadata({"ACQUISITION_DATE": day.isoformat()})
            band = ds.GetRasterBand(1)
            band.SetDescription(prefix)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            for r0 in range(0, height, STRIP_ROWS):
                r1 = min(height, r0 + STRIP_ROWS)
                vigour = 0.15 + 0.7 * base.rows(r0, r1)  # 0.15 .. 0.85
                shift = 40.0 * (phase.rows(r0, r1) - 0.5)  # days
                season = 0.5 + 0.5 * np.sin(2 * np.pi * (doy - 105.0 + shift) / 365.0)
                ndvi = 0.05 + vigour * (0.25 + 0.75 * season)
                v = offset + scale * ndvi + noise(seed, t, r0, r1, width, sigma)
                v = to_dtype(v, dtype, nodata)
                if nodata is not None and clouds:
                    v[blobs(seed * 100 + t, width, height, clouds, r0, r1)] = nodata
                band.WriteArray(v, 0, r0)
            ds.FlushCache()
            ds = None

        write_atomic(path, build)
        print(f"wrote   {path}")
    return paths


def write_fields(path, n=2000, seed=5):
    """n field parcels (seeded irregular quadrilaterals over central Europe,
    EPSG:4326) with integer, real, string, boolean and date attributes."""
    from osgeo import ogr
    ogr.UseExceptions()
    if os.path.exists(path):
        os.remove(path)
    rng = np.random.default_rng(seed)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer("fields", srs, ogr.wkbPolygon)
    for name, t in [("parcel_id", ogr.OFTInteger64), ("crop", ogr.OFTString),
                    ("area_ha", ogr.OFTReal), ("irrigated", ogr.OFTInteger),
                    ("sown", ogr.OFTDate)]:
        d = ogr.FieldDefn(name, t)
        if name == "irrigated":
            d.SetSubType(ogr.OFSTBoolean)
        lyr.CreateField(d)
    crops = ["wheat", "maize", "barley", "rapeseed", "sunflower", "grass"]
    side = int(np.ceil(np.sqrt(n)))
    lyr.StartTransaction()
    for k in range(n):
        x0 = 10.0 + (k % side) * 0.01
        y0 = 48.0 + (k // side) * 0.01
        j = rng.uniform(0.0005, 0.0025, 8)
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for dx, dy in [(j[0], j[1]), (0.01 - j[2], j[3]), (0.01 - j[4], 0.01 - j[5]), (j[6], 0.01 - j[7]), (j[0], j[1])]:
            ring.AddPoint_2D(x0 + dx, y0 + dy)
        poly = ogr.Geometry(ogr.wkbPolygon)
        poly.AddGeometry(ring)
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetGeometry(poly)
        f.SetField("parcel_id", 1_000_000 + k)
        f.SetField("crop", crops[int(rng.integers(len(crops)))])
        f.SetField("area_ha", round(float(rng.uniform(2, 80)), 2))
        f.SetField("irrigated", int(rng.integers(2)))
        f.SetField("sown", 2024, int(rng.integers(3, 6)), int(rng.integers(1, 29)), 0, 0, 0, 0)
        lyr.CreateFeature(f)
    lyr.CommitTransaction()
    ds = None


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def demo(outdir):
    os.makedirs(outdir, exist_ok=True)
    p = os.path.join(outdir, "uint16.tif")
    write_raster(p, 1200, 900, 1, "uint16", "EPSG:32633", nodata=0, seed=1, nodata_edge=True,
                 band_names=["reflectance"], extra={"ARCO_SAMPLE": "uint16"})
    print(f"wrote   {p}")
    p = os.path.join(outdir, "float32_3band.tif")
    write_raster(p, 700, 500, 3, "float32", "EPSG:4326", nodata=float("nan"), seed=2, clouds=3,
                 band_names=["red", "green", "blue"], extra={"ARCO_SAMPLE": "float32_3band"})
    print(f"wrote   {p}")
    p = os.path.join(outdir, "categorical.tif")
    write_categorical(p, 640, 480)
    print(f"wrote   {p}")
    write_series(os.path.join(outdir, "series"), 6, 400, 300, "int16", "EPSG:3035",
                 nodata=-32768, clouds=2, force=True)
    p = os.path.join(outdir, "fields.gpkg")
    write_fields(p)
    print(f"wrote   {p}")


def parse_pair(s):
    a, b = s.split(",")
    return float(a), float(b)


def nodata_arg(s):
    return float("nan") if s.lower() == "nan" else float(s)


def add_common(p, dtype, crs):
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--dtype", default=dtype, choices=sorted(GDAL_TYPES))
    p.add_argument("--crs", default=crs, help=f"default {crs}")
    p.add_argument("--origin", type=parse_pair, help="X,Y of the top-left corner")
    p.add_argument("--res", type=float, help="pixel size in CRS units")
    p.add_argument("--nodata", type=nodata_arg, help="no-data value (number or nan)")
    p.add_argument("--clouds", type=int, default=0, help="number of no-data discs (needs --nodata)")
    p.add_argument("--seed", type=int)
    p.add_argument("--tiled", action="store_true", help="tiled GeoTIFF (default: striped)")
    p.add_argument("--blocksize", type=int, default=512)
    p.add_argument("--compress", default="NONE", help="GTiff COMPRESS (default NONE)")
    p.add_argument("--force", action="store_true", help="rewrite existing files")


def main(argv):
    if argv and argv[0] not in ("demo", "raster", "series", "-h", "--help"):
        argv = ["demo"] + argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="the demo sample set")
    d.add_argument("outdir")

    r = sub.add_parser("raster", help="one synthetic raster")
    r.add_argument("out")
    r.add_argument("--bands", type=int, default=1)
    r.add_argument("--interleave", choices=["pixel", "band"], default="pixel")
    add_common(r, "uint16", "EPSG:32633")

    s = sub.add_parser("series", help="monthly time series PREFIX_YYYY-MM-DD.tif")
    s.add_argument("outdir")
    s.add_argument("--steps", type=int, default=6)
    s.add_argument("--start", default="2024-01-01", help="first date (monthly steps)")
    s.add_argument("--prefix", default="ndvi")
    add_common(s, "int16", "EPSG:3035")

    a = ap.parse_args(argv)
    if a.cmd == "demo":
        demo(a.outdir)
    elif a.cmd == "raster":
        if os.path.exists(a.out) and not a.force:
            print(f"exists  {a.out}")
            return 0
        write_raster(a.out, a.width, a.height, a.bands, a.dtype, a.crs, a.origin, a.res, a.nodata,
                     seed=0 if a.seed is None else a.seed, tiled=a.tiled, blocksize=a.blocksize,
                     compress=a.compress, clouds=a.clouds if a.nodata is not None else 0,
                     interleave=a.interleave)
        print(f"wrote   {a.out}")
    else:
        write_series(a.outdir, a.steps, a.width, a.height, a.dtype, a.crs, a.origin, a.res,
                     a.nodata, seed=11 if a.seed is None else a.seed, start=a.start,
                     prefix=a.prefix, tiled=a.tiled, blocksize=a.blocksize, compress=a.compress,
                     clouds=a.clouds if a.nodata is not None else 0, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
