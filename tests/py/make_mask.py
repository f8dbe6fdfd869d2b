#!/usr/bin/python3
"""Valid-data masks on the grid of a raster, for the --mask tests of
`arco check`. Run with Debian's python (GDAL bindings).

  make_mask.py LIKE.tif OUT.tif  --window X0,Y0,X1,Y1   raster: 1 inside the pixel window, 0 elsewhere
  make_mask.py LIKE.tif OUT.gpkg --window X0,Y0,X1,Y1   vector: that window as a polygon in LIKE's CRS
"""

import argparse

from osgeo import gdal, ogr

gdal.UseExceptions()
ogr.UseExceptions()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("like")
    ap.add_argument("out")
    ap.add_argument("--window", required=True)
    a = ap.parse_args()
    x0, y0, x1, y1 = (int(v) for v in a.window.split(","))
    src = gdal.Open(a.like)
    gt = src.GetGeoTransform()
    if a.out.endswith(".tif"):
        import numpy as np
        ds = gdal.GetDriverByName("GTiff").Create(a.out, src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte)
        ds.SetGeoTransform(gt)
        ds.SetProjection(src.GetProjection())
        m = np.zeros((src.RasterYSize, src.RasterXSize), dtype=np.uint8)
        m[y0:y1, x0:x1] = 1
        ds.GetRasterBand(1).WriteArray(m)
        ds = None
        return
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(a.out)
    lyr = ds.CreateLayer("mask", src.GetSpatialRef(), ogr.wkbPolygon)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for px, py in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]:
        ring.AddPoint_2D(gt[0] + px * gt[1], gt[3] + py * gt[5])
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetGeometry(poly)
    lyr.CreateFeature(f)
    ds = None


if __name__ == "__main__":
    main()
