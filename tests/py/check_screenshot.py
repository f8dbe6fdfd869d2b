"""Asserts that a screenshot of `arco view` shows drawn tiles, not a blank
page: many pixels differ from the map's background colour and the image
has many distinct colours. Reads the PNG with GDAL (rasterio's wheel).

Usage: check_screenshot.py SHOT.png [--min-fraction 0.05]
Prints a JSON summary; exits 1 when the map looks blank.
"""

import argparse
import json
import sys
import warnings

import numpy as np
import rasterio

BACKGROUND = np.array([0xF2, 0xEF, 0xE9])  # the page's background-color


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shot")
    ap.add_argument("--min-fraction", type=float, default=0.05)
    args = ap.parse_args()
    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
    with rasterio.open(args.shot) as ds:
        img = ds.read()[:3].transpose(1, 2, 0).astype(int)
    h, w, _ = img.shape
    off_bg = np.abs(img - BACKGROUND).sum(axis=2) > 12
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    report = {
        "size": [w, h],
        "fraction_not_background": float(off_bg.mean()),
        "distinct_colours": colours,
        "stddev": float(img.std()),
    }
    print(json.dumps(report))
    if report["fraction_not_background"] < args.min_fraction or colours < 8:
        print(f"FAIL: the map looks blank: {report}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
