"""Writes the small vector inputs of tests/vector.rs with GDAL/OGR (Debian's
python3-gdal, GDAL 3.6): every attribute type, nulls, lists, Z/M, null and
empty geometries, a two-layer GeoPackage, CSV (WKT and x/y), Shapefile and
GeoJSONSeq. Deterministic: the same files every run.

Usage: python3 make_vectors.py OUTDIR
"""

import os
import sys

from osgeo import ogr, osr

ogr.UseExceptions()
osr.UseExceptions()


def srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    return s


def add_fields(layer, fields):
    for name, ftype, sub in fields:
        d = ogr.FieldDefn(name, ftype)
        if sub is not None:
            d.SetSubType(sub)
        layer.CreateField(d)


ALL_TYPES = [
    ("i32", ogr.OFTInteger, None),
    ("i64", ogr.OFTInteger64, None),
    ("real", ogr.OFTReal, None),
    ("text", ogr.OFTString, None),
    ("flag", ogr.OFTInteger, ogr.OFSTBoolean),
    ("day", ogr.OFTDate, None),
    ("stamp", ogr.OFTDateTime, None),
]


def all_type_values(i):
    """Values of feature i; every 4th feature has nulls."""
    if i % 4 == 3:
        return {}
    return {
        "i32": -(2**31) + i if i == 0 else i * 1000 - 7,
        "i64": 2**40 + i * 3 if i % 2 else -(2**62) + i,
        "real": i * 0.1 + 1e-9,
        "text": f"élan {i} \u00fc\u00df \U0001F30D" if i % 2 else f"plain {i}",
        "flag": i % 2 == 0,
        "day": (2020 + i % 5, 1 + i % 12, 1 + i % 28),
        "stamp": (2021, 1 + i % 12, 1 + i % 28, i % 24, (i * 7) % 60, (i * 13) % 60 + 0.25),
    }


def set_values(f, vals):
    for k, v in vals.items():
        if k == "day":
            f.SetField(k, v[0], v[1], v[2], 0, 0, 0, 0)
        elif k == "stamp":
            f.SetField(k, v[0], v[1], v[2], v[3], v[4], v[5], 100)  # UTC
        elif k == "flag":
            f.SetField(k, 1 if v else 0)
        else:
            f.SetField(k, v)


def gpkg_two_layers(out):
    path = os.path.join(out, "two_layers.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    pts = ds.CreateLayer("points", srs(32633), ogr.wkbPoint)
    add_fields(pts, ALL_TYPES)
    for i in range(40):
        f = ogr.Feature(pts.GetLayerDefn())
        set_values(f, all_type_values(i))
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({500000 + (i * 7919) % 1000 * 10} {5000000 + (i * 104729) % 1000 * 10})"))
        pts.CreateFeature(f)
    polys = ds.CreateLayer("parcels", srs(32633), ogr.wkbUnknown)
    add_fields(polys, [("name", ogr.OFTString, None), ("area", ogr.OFTReal, None)])
    for i in range(30):
        f = ogr.Feature(polys.GetLayerDefn())
        f.SetField("name", f"p{i}")
        x, y = 500000 + (i % 6) * 1000, 5000000 + (i // 6) * 1000
        if i == 5:
            pass  # null geometry
        elif i == 6:
            f.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON EMPTY"))
        elif i % 3 == 0:
            f.SetGeometry(ogr.CreateGeometryFromWkt(
                f"MULTIPOLYGON ((({x} {y},{x+400} {y},{x+400} {y+400},{x} {y+400},{x} {y})),"
                f"(({x+500} {y+500},{x+900} {y+500},{x+900} {y+900},{x+500} {y+500})))"))
        else:
            f.SetGeometry(ogr.CreateGeometryFromWkt(
                f"POLYGON (({x} {y},{x+800} {y},{x+800} {y+800},{x} {y+800},{x} {y}),"
                f"({x+100} {y+100},{x+200} {y+100},{x+200} {y+200},{x+100} {y+100}))"))
        if i % 5 != 4:
            f.SetField("area", i * 1.5)
        polys.CreateFeature(f)
    ds = None


def zm_layers(out):
    """Z, M and ZM geometries, one layer per dimension (GeoPackage)."""
    path = os.path.join(out, "zm.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    specs = [
        ("pointz", ogr.wkbPoint25D, lambda i: f"POINT Z ({i} {i * 2} {i * 3 + 0.5})"),
        ("linem", ogr.wkbLineStringM, lambda i: f"LINESTRING M ({i} 0 {i}, {i + 1} 1 {i + 10})"),
        ("polyzm", ogr.wkbPolygonZM, lambda i: f"POLYGON ZM (({i} 0 1 2,{i + 1} 0 3 4,{i + 1} 1 5 6,{i} 0 1 2))"),
        ("multilinez", ogr.wkbMultiLineString25D,
         lambda i: f"MULTILINESTRING Z (({i} 0 1,{i} 1 2),({i + 2} 0 3,{i + 2} 5 4))"),
    ]
    for name, gtype, wkt in specs:
        lyr = ds.CreateLayer(name, srs(4326), gtype)
        add_fields(lyr, [("k", ogr.OFTInteger, None)])
        for i in range(12):
            f = ogr.Feature(lyr.GetLayerDefn())
            f.SetField("k", i)
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt(i)))
            lyr.CreateFeature(f)
    ds = None


def csvs(out):
    with open(os.path.join(out, "wkt.csv"), "w") as fh:
        fh.write("WKT,name,count,score\n")
        for i in range(25):
            x, y = -10 + i * 0.75, 40 + (i * 37 % 25) * 0.4
            geom = f"POINT ({x} {y})" if i % 2 else f"LINESTRING ({x} {y},{x + 0.5} {y + 0.25})"
            fh.write(f'"{geom}",site {i},{i * 3},{i / 8}\n')
    with open(os.path.join(out, "xy.csv"), "w") as fh:
        fh.write("id,lon,lat,label\n")
        for i in range(30):
            fh.write(f"{i},{-120 + i * 1.5},{30 + (i * 11 % 30) * 0.5},n{i}\n")
    with open(os.path.join(out, "nogeom.csv"), "w") as fh:
        fh.write("a,b\n1,2\n3,4\n")


def shapefile(out):
    path = os.path.join(out, "lines.shp")
    ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(path)
    lyr = ds.CreateLayer("lines", srs(2154), ogr.wkbLineString)
    add_fields(lyr, [("code", ogr.OFTInteger, None), ("label", ogr.OFTString, None), ("len", ogr.OFTReal, None)])
    for i in range(50):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("code", i)
        f.SetField("label", f"road {i}")
        f.SetField("len", i * 12.5)
        x, y = 600000 + (i * 131 % 50) * 2000, 6500000 + (i * 17 % 50) * 2000
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"LINESTRING ({x} {y},{x + 1500} {y + 700},{x + 2500} {y - 300})"))
        lyr.CreateFeature(f)
    ds = None


def geojson_seq(out):
    path = os.path.join(out, "seq.geojsonl")
    ds = ogr.GetDriverByName("GeoJSONSeq").CreateDataSource(path)
    lyr = ds.CreateLayer("seq", srs(4326), ogr.wkbUnknown)
    add_fields(lyr, [("n", ogr.OFTInteger, None), ("s", ogr.OFTString, None)])
    for i in range(20):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("n", i)
        f.SetField("s", f"item {i}")
        wkt = [f"POINT ({i} {i / 2})", f"LINESTRING ({i} 0,{i} 3)",
               f"POLYGON (({i} 10,{i + 1} 10,{i + 1} 11,{i} 10))",
               f"MULTIPOINT (({i} 20),({i + 0.5} 21))"][i % 4]
        f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        lyr.CreateFeature(f)
    ds = None


def lists_and_nulls(out):
    """GeoJSON with list properties, null geometries and an empty one."""
    path = os.path.join(out, "lists.geojson")
    ds = ogr.GetDriverByName("GeoJSON").CreateDataSource(path)
    lyr = ds.CreateLayer("lists", srs(4326), ogr.wkbPoint)
    add_fields(lyr, [
        ("ints", ogr.OFTIntegerList, None),
        ("bigs", ogr.OFTInteger64List, None),
        ("reals", ogr.OFTRealList, None),
        ("words", ogr.OFTStringList, None),
        ("name", ogr.OFTString, None),
    ])
    for i in range(16):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("name", f"f{i}")
        if i % 5 != 4:
            f.SetFieldIntegerList(0, [i, i + 1, -i])
            f.SetFieldInteger64List(1, [2**40 + i, -(2**41)])
            f.SetFieldDoubleList(2, [i * 0.5, 1e-3])
            f.SetFieldStringList(3, [f"w{i}", "x y", "ü"])
        if i in (3, 9):
            pass  # null geometry
        else:
            f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({i * 2 - 15} {i - 8})"))
        lyr.CreateFeature(f)
    ds = None


def empty_geometry_gpkg(out):
    """Empty and null geometries of several types in one layer (GeoPackage)."""
    path = os.path.join(out, "nullempty.gpkg")
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lyr = ds.CreateLayer("nullempty", srs(3857), ogr.wkbUnknown)
    add_fields(lyr, [("k", ogr.OFTInteger, None)])
    wkts = ["POINT (1 2)", None, "LINESTRING EMPTY", "POLYGON ((0 0,10 0,10 10,0 0))", "POINT EMPTY",
            "MULTIPOLYGON EMPTY", None, "LINESTRING (5 5,20 20)", "GEOMETRYCOLLECTION (POINT (3 3),LINESTRING (0 0,1 1))"]
    for i, w in enumerate(wkts):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("k", i)
        if w is not None:
            f.SetGeometry(ogr.CreateGeometryFromWkt(w))
        lyr.CreateFeature(f)
    ds = None


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    gpkg_two_layers(out)
    zm_layers(out)
    csvs(out)
    shapefile(out)
    geojson_seq(out)
    lists_and_nulls(out)
    empty_geometry_gpkg(out)


if __name__ == "__main__":
    main()
