#!/usr/bin/env python3
"""Assert that a per-tile product holds the one-machine product's pixels.

Usage: .venv/bin/python tests/py/compare_tiles.py ONE_DIR TILES_DIR

Every TILES_DIR/STEM_xX_yY.tif must equal the window at column X, row Y of
ONE_DIR/STEM.tif: same dtype, nodata, CRS, pixel size, an origin moved by
exactly (X, Y) pixels, and every pixel (NaN == NaN); and the tiles of each
STEM must cover its grid exactly once. Prints a JSON summary; exit 0 when
all hold, 1 otherwise.
"""

import glob
import json
import os
import re
import sys

import numpy as np
import rasterio
from rasterio.windows import Window

one_dir, tiles_dir = sys.argv[1], sys.argv[2]
pattern = re.compile(r"^(?P<stem>.+)_x(?P<x>\d+)_y(?P<y>\d+)\.tif$")
problems, tiles, covered = [], 0, {}
for path in sorted(glob.glob(os.path.join(tiles_dir, "*.tif"))):
    m = pattern.match(os.path.basename(path))
    if not m:
        problems.append(f"{path}: not a tile name")
        continue
    x, y, stem = int(m["x"]), int(m["y"]), m["stem"]
    with rasterio.open(path) as t, rasterio.open(os.path.join(one_dir, stem + ".tif")) as o:
        tiles += 1
        win = Window(x, y, t.width, t.height)
        want = o.read(1, window=win)
        got = t.read(1)
        if t.dtypes != o.dtypes or t.crs != o.crs:
            problems.append(f"{path}: dtype or CRS differs")
        if not (t.nodata == o.nodata or (np.isnan(t.nodata) and np.isnan(o.nodata))):
            problems.append(f"{path}: nodata {t.nodata} != {o.nodata}")
        if t.transform != o.window_transform(win):
            problems.append(f"{path}: transform {t.transform} != {o.window_transform(win)}")
        if not np.array_equal(got, want, equal_nan=np.issubdtype(got.dtype, np.floating)):
            problems.append(f"{path}: pixels differ")
        covered[stem] = covered.get(stem, 0) + t.width * t.height
        full = o.width * o.height
    if covered[stem] > full:
        problems.append(f"{stem}: tiles overlap")
for stem, n in covered.items():
    with rasterio.open(os.path.join(one_dir, stem + ".tif")) as o:
        if n != o.width * o.height:
            problems.append(f"{stem}: tiles cover {n} of {o.width * o.height} pixels")
print(json.dumps({"tiles": tiles, "stems": len(covered), "problems": problems[:20]}))
sys.exit(1 if problems or tiles == 0 else 0)
