"""Vector benchmark: arco against the usual tools, same input, same run.

  GeoParquet: `arco convert IN -o OUT.parquet` vs `gpio convert geoparquet IN
  OUT` (geoparquet-io, DuckDB) vs geopandas (`read_file(engine=pyogrio,
  use_arrow=True)` + `to_parquet`), each timed as one process, wall clock.
  FlatGeobuf: `arco convert IN -o OUT.fgb` vs `ogr2ogr -f FlatGeobuf` (GDAL 3.6,
  spatial index on, as arco).

Inputs: a generated layer of N polygons (default 1 000 000) with 10
attributes, seeded, in a GeoPackage under bench/work/ (made once), and
../shared/data/vector/tiger_roads.geojson.

Usage: .venv/bin/python bench/vector.py [--n 1000000] [--reps 1] [--arco PATH]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)


def generate(path, n):
    """n small polygons (4-7 vertices) over Europe with 10 attributes, seed 42."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(42)
    cx = rng.uniform(-10, 30, n)
    cy = rng.uniform(35, 60, n)
    k = rng.integers(4, 8, n)
    r = rng.uniform(0.001, 0.02, n)
    # Vertices of all rings at once: polygon i has k[i] vertices plus the closing one.
    idx = np.repeat(np.arange(n), k + 1)
    start = np.concatenate([[0], np.cumsum(k + 1)[:-1]])
    j = np.arange(idx.size) - np.repeat(start, k + 1)
    a = 2 * np.pi * (j % np.repeat(k, k + 1)) / np.repeat(k, k + 1)
    xs = np.repeat(cx, k + 1) + np.repeat(r, k + 1) * np.cos(a)
    ys = np.repeat(cy, k + 1) + np.repeat(r, k + 1) * np.sin(a)
    geoms = shapely.polygons(shapely.linearrings(np.column_stack([xs, ys]), indices=idx))
    cats = np.array(["forest", "water", "urban", "crop", "grass", "bare"])
    df = gpd.GeoDataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "code": rng.integers(0, 1000, n).astype(np.int32),
            "area": rng.uniform(0, 1e6, n),
            "perimeter": rng.uniform(0, 1e4, n),
            "class": cats[rng.integers(0, len(cats), n)],
            "label": [f"parcel {i:07d}" for i in range(n)],
            "valid": rng.integers(0, 2, n).astype(bool),
            "surveyed": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "owner_count": rng.integers(1, 9, n).astype(np.int32),
            "score": rng.normal(0.5, 0.2, n),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    tmp = path + ".tmp.gpkg"
    df.to_file(tmp, layer="parcels", driver="GPKG", engine="pyogrio", use_arrow=True)
    os.replace(tmp, path)


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return dt


def best(cmd, reps, cleanup):
    times = []
    for _ in range(reps):
        cleanup()
        times.append(timed(cmd))
    return min(times), statistics.median(times)


GEOPANDAS = """
import sys, geopandas as gpd
df = gpd.read_file(sys.argv[1], engine="pyogrio", use_arrow=True)
df.to_parquet(sys.argv[2], compression="zstd", write_covering_bbox=True, schema_version="1.1.0")
"""


def rm(*paths):
    def f():
        for p in paths:
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)

    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--arco", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "arco"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "vector"))
    args = ap.parse_args()

    from duckdb_extensions import import_extension

    import_extension("spatial")  # gpio's DuckDB spatial extension, offline
    os.makedirs(args.work, exist_ok=True)
    poly = os.path.join(args.work, f"polygons_{args.n}.gpkg")
    if not os.path.exists(poly):
        t = time.perf_counter()
        generate(poly, args.n)
        print(f"generated {poly} in {time.perf_counter() - t:.1f} s")
    roads = os.path.join(ROOT, "..", "shared", "data", "vector", "tiger_roads.geojson")
    w = args.work
    gpio = os.path.join(VENV_BIN, "gpio")
    rows = []
    for name, src in [(f"{args.n} polygons, 10 attributes (GPKG)", poly), ("tiger_roads.geojson (8333 lines)", roads)]:
        a_out, g_out, p_out = (os.path.join(w, f"{x}.parquet") for x in ("arco", "gpio", "gpd"))
        a, _ = best([args.arco, "convert", src, "-o", a_out, "--overwrite", "-q"], args.reps, rm(a_out))
        g, _ = best([gpio, "convert", "geoparquet", src, g_out], args.reps, rm(g_out))
        p, _ = best([sys.executable, "-c", GEOPANDAS, src, p_out], args.reps, rm(p_out))
        rows.append(("GeoParquet", name, "gpio convert", a, g))
        rows.append(("GeoParquet", name, "geopandas read_file+to_parquet", a, p))
        a_fgb, o_fgb = os.path.join(w, "arco.fgb"), os.path.join(w, "ogr.fgb")
        af, _ = best([args.arco, "convert", src, "-o", a_fgb, "--overwrite", "-q"], args.reps, rm(a_fgb))
        of, _ = best(["ogr2ogr", "-f", "FlatGeobuf", o_fgb, src], args.reps, rm(o_fgb))
        rows.append(("FlatGeobuf", name, "ogr2ogr (GDAL 3.6)", af, of))
        sizes = {k: os.path.getsize(v) for k, v in [("arco.parquet", a_out), ("gpio.parquet", g_out), ("gpd.parquet", p_out), ("arco.fgb", a_fgb), ("ogr.fgb", o_fgb)]}
        print(f"sizes for {name}: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    print(f"\n{'format':<11} {'input':<40} {'peer':<32} {'arco s':>8} {'peer s':>8} {'ratio':>6}")
    for fmt, name, peer, a, b in rows:
        print(f"{fmt:<11} {name:<40} {peer:<32} {a:8.2f} {b:8.2f} {a / b:6.2f}")
    print(f"(ratio = arco time / peer time, best of {args.reps}; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
