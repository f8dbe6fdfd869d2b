"""Reads {"cases": [{"window", "order", "y"}], "gap": [...]} from argv[1] and
writes scipy.signal.savgol_filter(y, window, order, mode="interp") for each
case, and the reference's sg_gapfill(gap, 7, 2) when the reference is there,
to argv[2]."""
import json
import os
import sys

import numpy as np
from scipy.signal import savgol_filter

src = json.load(open(sys.argv[1]))
out = {"smoothed": [savgol_filter(np.array(c["y"]), c["window"], c["order"], mode="interp").tolist()
                    for c in src["cases"]]}
ref = os.environ.get("ARCO_SWAG_REF", "")
if ref and os.path.exists(os.path.join(ref, "swag_ref.py")):
    sys.path.insert(0, ref)
    from swag_ref import sg_gapfill
    g = np.array([np.nan if v is None else v for v in src["gap"]])
    out["sg_gapfill"] = sg_gapfill(g[None], 7, 2)[0].tolist()
json.dump(out, open(sys.argv[2], "w"))
