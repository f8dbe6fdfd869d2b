#!/usr/bin/env python3
"""Write a small CF NetCDF with two variables (ndvi, evi) on one lat/lon grid,
through GDAL's multidimensional API (GDAL 3.6's raster netCDF driver writes
one variable per file only).

Usage: /usr/bin/python3 tests/py/make_netcdf.py OUT.nc
"""

import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def main(path):
    w, h = 64, 48
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(path)
    root = ds.GetRootGroup()
    dy = root.CreateDimension("lat", None, None, h)
    dx = root.CreateDimension("lon", None, None, w)
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    lat = root.CreateMDArray("lat", [dy], f64)
    lat.Write(45.0 - (np.arange(h) + 0.5) * 0.01)
    lat.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("degrees_north")
    lon = root.CreateMDArray("lon", [dx], f64)
    lon.Write(10.0 + (np.arange(w) + 0.5) * 0.01)
    lon.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("degrees_east")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    for i, name in enumerate(["ndvi", "evi"]):
        arr = root.CreateMDArray(name, [dy, dx], gdal.ExtendedDataType.Create(gdal.GDT_Int16))
        data = (np.arange(w * h, dtype=np.int16).reshape(h, w)) * (i + 1)
        arr.Write(data)
        arr.SetSpatialRef(srs)
    ds = None


if __name__ == "__main__":
    main(sys.argv[1])
