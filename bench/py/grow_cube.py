"""Grows a (time, y, x) GeoZarr cube written by arco into a larger-than-RAM
one on the same time axis: the grid becomes EDGE x EDGE pixels (a multiple
of the source's chunk edge), the source's chunks are hard-linked at STORED
chunk positions along the diagonal, and every other chunk is left out (the
fill value: an ocean tile of a land product). The metadata (data array,
x/y coordinates, spatial: attributes) says the new shape, so any Zarr
reader opens it. Costs no disk beyond the metadata and the x/y arrays.

    python grow_cube.py SOURCE.zarr TARGET.zarr EDGE STORED
"""
import json
import os
import shutil
import sys

import numpy as np
import zarr

src, dst, edge, stored = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
meta = json.load(open(os.path.join(src, "data", "zarr.json")))
nt, ny, nx = meta["shape"]
ct, cy, cx = meta["chunk_grid"]["configuration"]["chunk_shape"]
if (ct, cy, cx) != (1, ny, nx) or edge % nx:
    sys.exit("the source must be one chunk in space per date, and EDGE a multiple of it")
shutil.rmtree(dst, ignore_errors=True)
root = json.load(open(os.path.join(src, "zarr.json")))
attrs = root["attributes"]
a, _, x0, _, e, y0 = attrs["spatial:transform"]
attrs["spatial:shape"] = [edge, edge]
attrs["spatial:bbox"] = [x0, y0 + e * edge, x0 + a * edge, y0]
group = zarr.open_group(dst, mode="w", zarr_format=3)
group.attrs.update(attrs)
# The time coordinate and the CRS variable as they are.
for name in ("time", "spatial_ref"):
    shutil.copytree(os.path.join(src, name), os.path.join(dst, name))
# Pixel-centre coordinates of the larger grid.
xs = x0 + a * (np.arange(edge) + 0.5)
ys = y0 + e * (np.arange(edge) + 0.5)
for name, values in (("x", xs), ("y", ys)):
    old = json.load(open(os.path.join(src, name, "zarr.json")))
    arr = group.create_array(name, shape=(edge,), chunks=(edge,), dtype="float64",
                             dimension_names=[name], attributes=old.get("attributes", {}))
    arr[:] = values
# The data array: the source's metadata with the new shape.
os.makedirs(os.path.join(dst, "data"))
meta["shape"] = [nt, edge, edge]
meta["attributes"]["spatial:shape"] = [edge, edge]
meta["attributes"]["spatial:bbox"] = attrs["spatial:bbox"]
json.dump(meta, open(os.path.join(dst, "data", "zarr.json"), "w"))
per_side = edge // nx
for k in range(stored):
    cyi, cxi = divmod(k * (per_side + 1) % (per_side * per_side), per_side)
    for t in range(nt):
        here = os.path.join(src, "data", "c", str(t), "0", "0")
        if not os.path.exists(here):
            continue
        there = os.path.join(dst, "data", "c", str(t), str(cyi), str(cxi))
        os.makedirs(os.path.dirname(there), exist_ok=True)
        os.link(here, there)
logical = nt * edge * edge * 4 / 1e9
print(f"{dst}: {nt} x {edge} x {edge} float32, {logical:.1f} GB of samples, "
      f"{stored} of {per_side * per_side} regions stored")
