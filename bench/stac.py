"""STAC at scale: arco against pystac and stac-validator on N Items (10000).

    .venv/bin/python bench/stac.py [--n 10000] [--reps 1] [--work bench/work/stac]

1. write: arco builds N Items from writer records (footprint reprojected to
   WGS84, Projection v2, bands with statistics, file size and checksum),
   the collection and the root catalog (`crates/catalog/examples/stac_items.rs`,
   the library code behind `arco convert -o DIR`); pystac builds the same
   Items (footprints with pyproj) and writes them with
   `catalog.normalize_and_save(..., SELF_CONTAINED)`.
2. validate: `arco stac validate catalog.json --schemas DIR` against
   `stac-validator validate catalog.json --recursive --schema-map URL FILE...`
   (every schema mapped to the local copy: offline), on the same tree.

Prints the times and the ratios. Needs `cargo build --release` and
`cargo build --release -p arco-catalog --example stac_items` first.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SCHEMAS = os.path.join(ROOT, "..", "shared", "reference", "stac-schemas")


def run(cmd, **kw):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    el = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({out.returncode}): {out.stdout[-1500:]} {out.stderr[-1500:]}")
    return el, out.stdout


def pystac_write(n, out):
    import pystac
    from pyproj import Transformer

    t0 = time.perf_counter()
    tr = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    day0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    exts = [
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/file/v2.1.0/schema.json",
        "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
        "https://stac-extensions.github.io/raster/v2.0.0/schema.json",
        "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    ]
    items = []
    for i in range(n):
        col, row = i % 10, (i // 10) % 50
        x0, y0 = 300000.0 + col * 109800.0, 5000000.0 + row * 109800.0
        x1, y1 = x0 + 109800.0, y0 + 109800.0
        date = day0 + dt.timedelta(days=i // 500)
        name = f"T33_{i % 500:03}_{date:%Y-%m-%d}"
        seg = 16
        ring = []
        for (ax, ay), (bx, by) in zip([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [(x1, y0), (x1, y1), (x0, y1), (x0, y0)]):
            ring += [(ax + (bx - ax) * s / seg, ay + (by - ay) * s / seg) for s in range(seg)]
        xs, ys = tr.transform([p[0] for p in ring], [p[1] for p in ring])
        coords = [[round(x, 7), round(y, 7)] for x, y in zip(xs, ys)]
        coords.append(coords[0])
        bbox = [min(xs), min(ys), max(xs), max(ys)]
        item = pystac.Item(
            id=name,
            geometry={"type": "Polygon", "coordinates": [coords]},
            bbox=bbox,
            datetime=date,
            properties={
                "proj:code": "EPSG:32633",
                "proj:bbox": [x0, y0, x1, y1],
                "proj:shape": [10980, 10980],
                "proj:transform": [10, 0, x0, 0, -10, y1],
                "processing:software": {"pystac": pystac.__version__},
            },
            stac_extensions=exts,
        )
        item.add_asset(
            "data",
            pystac.Asset(
                href=os.path.join(out, "tiles", f"{name}.tif"),
                media_type="image/tiff; application=geotiff; profile=cloud-optimized",
                roles=["data"],
                title=f"{name}.tif (COG)",
                extra_fields={
                    "file:size": 100000000 + i,
                    "file:checksum": f"1220{(i * 0x9E3779B97F4A7C15):064x}",
                    "bands": [
                        {
                            "name": "nir",
                            "eo:common_name": "nir",
                            "data_type": "uint16",
                            "nodata": 0,
                            "raster:scale": 0.0001,
                            "statistics": {"minimum": 1.0, "maximum": 9000.0 + i, "mean": 3000.0 + i / 10, "stddev": 800.0, "valid_percent": 99.5},
                        }
                    ],
                },
            ),
        )
        items.append(item)
    coll = pystac.Collection(
        id="tiles",
        description="pystac benchmark",
        extent=pystac.Extent(
            pystac.SpatialExtent([[min(i.bbox[0] for i in items), min(i.bbox[1] for i in items), max(i.bbox[2] for i in items), max(i.bbox[3] for i in items)]]),
            pystac.TemporalExtent([[items[0].datetime, items[-1].datetime]]),
        ),
        license="other",
    )
    coll.add_items(items)
    cat = pystac.Catalog(id="bench", description="pystac benchmark")
    cat.add_child(coll)
    cat.normalize_and_save(out, catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work", "stac"))
    a = ap.parse_args()
    arco = os.path.join(TARGET, "release", "arco")
    example = os.path.join(TARGET, "release", "examples", "stac_items")
    for p in (arco, example):
        if not os.path.exists(p):
            sys.exit(f"{p} is missing: cargo build --release && cargo build --release -p arco-catalog --example stac_items")
    with open(os.path.join(SCHEMAS, "schema-map.json")) as f:
        smap = {u: os.path.join(SCHEMAS, r) for u, r in json.load(f)["schemas"].items()}
    validator = os.path.join(os.path.dirname(sys.executable), "stac-validator")

    times = {"arco write": [], "pystac write": [], "arco validate": [], "stac-validator": []}
    for rep in range(a.reps):
        ad, pd = os.path.join(a.work, "arco"), os.path.join(a.work, "pystac")
        for d in (ad, pd):
            shutil.rmtree(d, ignore_errors=True)
        el, out = run([example, ad, str(a.n)])
        assert json.loads(out)["items"] == a.n, out
        times["arco write"].append(el)
        times["pystac write"].append(pystac_write(a.n, pd))
        cat = os.path.join(ad, "catalog.json")
        el, out = run([arco, "stac", "validate", cat, "--schemas", SCHEMAS, "--json"])
        r = json.loads(out)
        assert r["valid"] and r["items"] == a.n, r
        times["arco validate"].append(el)
        cmd = [validator, "validate", cat, "--recursive", "--no_output"]
        for u, p in smap.items():
            cmd += ["--schema-map", u, p]
        el, _ = run(cmd)
        times["stac-validator"].append(el)
        n_files = sum(len(fs) for _, _, fs in os.walk(pd))
        assert n_files == a.n + 2, n_files

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{a.n} Items, median of {a.reps} run(s), {os.cpu_count()} cores")
    print(f"{'step':<16} {'seconds':>9}")
    for k, v in med.items():
        print(f"{k:<16} {v:>9.2f}")
    print(f"write:    pystac / arco = {med['pystac write'] / med['arco write']:.1f}x")
    print(f"validate: stac-validator / arco = {med['stac-validator'] / med['arco validate']:.1f}x")
    print(json.dumps({"n": a.n, "median_s": med}))


if __name__ == "__main__":
    main()
