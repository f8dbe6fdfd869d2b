#!/usr/bin/env python3
"""Validate Cloud Optimized GeoTIFFs with two independent validators.

Usage: .venv/bin/python tests/py/validate_cog.py [--warnings-fail] FILE...

For every FILE runs
  1. GDAL's validator:  $ARCO_GDAL_PYTHON -m osgeo_utils.samples.validate_cloud_optimized_geotiff
                        --full-check=yes FILE   (ARCO_GDAL_PYTHON defaults to /usr/bin/python3)
  2. rio-cogeo:         rio_cogeo.cogeo.cog_validate(FILE, strict=True)
and prints one JSON object per line:
  {"path", "valid", "gdal_valid", "gdal_output", "gdal_errors", "gdal_warnings",
   "rio_valid", "rio_errors", "rio_warnings"}
Exit status: 0 when every file passes both, 1 when any fails, 2 on usage errors.
--warnings-fail also fails a file on GDAL warnings (rio-cogeo's strict mode
already counts its warnings as errors).
"""

import argparse
import json
import os
import subprocess
import sys

GDAL_PYTHON = os.environ.get("ARCO_GDAL_PYTHON", "/usr/bin/python3")
GDAL_VALIDATOR = "osgeo_utils.samples.validate_cloud_optimized_geotiff"


def parse_gdal_output(text):
    """Split the GDAL validator's report into (errors, warnings)."""
    errors, warnings, section = [], [], None
    for line in text.splitlines():
        if line.startswith("The following warnings were found"):
            section = warnings
        elif line.startswith("The following errors were found"):
            section = errors
        elif line.startswith(" - ") and section is not None:
            section.append(line[3:].strip())
        elif "is NOT a valid cloud optimized GeoTIFF" in line:
            if " : " in line:  # fatal form: "X is NOT a valid ... : reason"
                errors.append(line.split(" : ", 1)[1].strip())
            section = None
        elif not line.strip():
            section = None
    return errors, warnings


def gdal_check(path):
    cmd = [GDAL_PYTHON, "-m", GDAL_VALIDATOR, "--full-check=yes", path]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"could not run {cmd}: {e}", [str(e)], []
    out = (p.stdout + p.stderr).strip()
    errors, warnings = parse_gdal_output(out)
    if p.returncode != 0 and not errors:
        errors = [out or f"validator exited with {p.returncode}"]
    return p.returncode == 0, out, errors, warnings


def rio_check(path):
    try:
        from rio_cogeo.cogeo import cog_validate
    except ImportError as e:  # wrong interpreter
        return False, [f"rio_cogeo not importable: {e}"], []
    try:
        valid, errors, warnings = cog_validate(path, strict=True, quiet=True)
    except Exception as e:  # noqa: BLE001 - report any failure as invalid
        return False, [f"{type(e).__name__}: {e}"], []
    return bool(valid), list(errors), list(warnings)


def validate(path, warnings_fail=False):
    rec = {"path": path}
    if not os.path.isfile(path):
        rec.update(valid=False, gdal_valid=False, gdal_output="no such file",
                   gdal_errors=["no such file"], gdal_warnings=[],
                   rio_valid=False, rio_errors=["no such file"], rio_warnings=[])
        return rec
    g_ok, g_out, g_err, g_warn = gdal_check(path)
    if warnings_fail and g_warn:
        g_ok = False
    r_ok, r_err, r_warn = rio_check(path)
    rec.update(valid=g_ok and r_ok, gdal_valid=g_ok, gdal_output=g_out, gdal_errors=g_err,
               gdal_warnings=g_warn, rio_valid=r_ok, rio_errors=r_err, rio_warnings=r_warn)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--warnings-fail", action="store_true", help="fail on GDAL validator warnings too")
    a = ap.parse_args()
    failed = []
    for path in a.files:
        rec = validate(path, a.warnings_fail)
        print(json.dumps(rec), flush=True)
        if not rec["valid"]:
            failed.append(path)
    if failed:
        print(f"INVALID COG ({len(failed)}/{len(a.files)}): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
