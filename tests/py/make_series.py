"""A seeded dated series for the scale-out tests: NX x NX float32 GeoTIFFs,
one every 16 days (23 a year), a seasonal sinusoid per pixel with a share of
gaps (NaN), written as s_YYYY-MM-DD.tif into OUTDIR.

    python3 make_series.py OUTDIR NX DATES [GAP_SHARE]

Run with Debian's python (GDAL bindings): /usr/bin/python3.
"""
import datetime
import os
import sys

import numpy as np
from osgeo import gdal, osr

out, nx, dates = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gaps = float(sys.argv[4]) if len(sys.argv) > 4 else 0.4
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
phase = rng.uniform(0, 2 * np.pi, (nx, nx))
amp = rng.uniform(0.1, 0.3, (nx, nx))
mean = rng.uniform(0.2, 0.5, (nx, nx))
srs = osr.SpatialReference()
srs.ImportFromEPSG(32633)
for i in range(dates):
    year, k = divmod(i, 23)
    d = datetime.date(2010 + year, 1, 1) + datetime.timedelta(days=16 * k)
    y = (mean + amp * np.sin(2 * np.pi * i / 23 + phase)).astype(np.float32)
    y[rng.random((nx, nx)) < gaps] = np.nan
    ds = gdal.GetDriverByName("GTiff").Create(
        os.path.join(out, f"s_{d.isoformat()}.tif"), nx, nx, 1, gdal.GDT_Float32,
        ["TILED=YES", "COMPRESS=ZSTD"],
    )
    ds.SetGeoTransform([500000, 30, 0, 5000000, 0, -30])
    ds.SetProjection(srs.ExportToWkt())
    b = ds.GetRasterBand(1)
    b.SetNoDataValue(float("nan"))
    b.WriteArray(y)
    ds = None
