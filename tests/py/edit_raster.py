#!/usr/bin/python3
"""Copy a raster as a GeoTIFF with one deliberate change, for the fault tests
of `arco check`. Run with Debian's python (GDAL bindings).

  edit_raster.py IN OUT --shift-x FRACTION     move the grid by a fraction of a pixel
  edit_raster.py IN OUT --set X,Y,VALUE        set one pixel of band 1
  edit_raster.py IN OUT --nodata V             declare nodata V
  edit_raster.py IN OUT --striped              plain striped GeoTIFF (no tiles, no overviews)
"""

import argparse

from osgeo import gdal

gdal.UseExceptions()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--shift-x", type=float)
    ap.add_argument("--set")
    ap.add_argument("--nodata", type=float)
    ap.add_argument("--striped", action="store_true")
    a = ap.parse_args()
    opts = ["TILED=NO"] if a.striped else []
    ds = gdal.Translate(a.dst, a.src, format="GTiff", creationOptions=opts)
    if a.shift_x is not None:
        gt = list(ds.GetGeoTransform())
        gt[0] += a.shift_x * gt[1]
        ds.SetGeoTransform(gt)
    if a.nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(a.nodata)
    if a.set:
        x, y, v = a.set.split(",")
        band = ds.GetRasterBand(1)
        arr = band.ReadAsArray()
        arr[int(y), int(x)] = float(v)
        band.WriteArray(arr)
    ds.FlushCache()
    ds = None


if __name__ == "__main__":
    main()
