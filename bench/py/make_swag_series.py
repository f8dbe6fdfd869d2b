"""Seeded SWAG benchmark series: 230 dates (23 a year, 10 years) of
512 x 512 float32 with a seasonal sinusoid per pixel and 40 % gaps (NaN),
the shape of the reference benchmark, as dated GeoTIFFs in the current
directory. Run with Debian's python (GDAL bindings): /usr/bin/python3.
"""
import numpy as np, datetime
from osgeo import gdal, osr
rng = np.random.default_rng(42)
nx, ipy, years = 512, 23, 10
T = ipy * years
t = np.arange(T)
phase = rng.uniform(0, 2*np.pi, size=(nx, nx, 1)); amp = rng.uniform(0.1, 0.3, size=(nx, nx, 1)); mean = rng.uniform(0.2, 0.5, size=(nx, nx, 1))
srs = osr.SpatialReference(); srs.ImportFromEPSG(32633)
d0 = datetime.date(2010, 1, 1)
for i in range(T):
    y = (mean + amp*np.sin(2*np.pi*i/ipy + phase))[..., 0].astype(np.float32)
    y[rng.random((nx, nx)) < 0.4] = np.nan
    year, k = divmod(i, ipy)
    d = datetime.date(2010 + year, 1, 1) + datetime.timedelta(days=16*k)
    ds = gdal.GetDriverByName("GTiff").Create(f"s_{d.isoformat()}.tif", nx, nx, 1, gdal.GDT_Float32)
    ds.SetGeoTransform([500000, 30, 0, 5000000, 0, -30]); ds.SetProjection(srs.ExportToWkt())
    b = ds.GetRasterBand(1); b.SetNoDataValue(float('nan')); b.WriteArray(y); ds = None
