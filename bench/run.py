#!/usr/bin/env python3
"""arco benchmark: COG vs gdal_translate, GeoZarr vs xarray. See bench/README.md.

Usage: .venv/bin/python bench/run.py [--quick] [--reps N] [--arco PATH] [--gdal-only]
           [--only cog|zarr] [--work DIR] [--no-compare] [--arco-extra "ARGS"]
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable  # the venv python (rasterio, rio-cogeo, xarray)
GDAL_PY = os.environ.get("ARCO_GDAL_PYTHON", "/usr/bin/python3")
TIME_RE = r"(\d{4}-\d{2}-\d{2})"

FULL = {"field": (10000, 10000, 1), "stack": (8000, 8000, 6), "series": (12, 2048, 2048)}
QUICK = {"field": (2000, 2000, 1), "stack": (1600, 1600, 6), "series": (12, 512, 512)}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def log(msg):
    print(msg, file=sys.stderr, flush=True)


def default_arco():
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "arco"


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def measure(cmd, logfile):
    """Run cmd; return (exit code, wall s, CPU s (user+sys), peak RSS MiB of the command).

    The child is reaped with os.wait4. Its ru_maxrss is not used for memory:
    Linux carries the forking parent's (this Python process's) high-water RSS
    over exec into the child's counter, so it reads at least our own RSS. The
    command is therefore started under GNU time (a small process that forks
    it afresh) and time's %M is the peak; without /usr/bin/time the inflated
    ru_maxrss is reported instead.
    """
    rss_file = Path(str(logfile) + ".rss")
    full = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if GNU_TIME else list(cmd)
    with open(logfile, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    p.returncode = rc  # already reaped by wait4
    cpu = ru.ru_utime + ru.ru_stime  # includes the reaped grandchild
    rss = ru.ru_maxrss / 1024.0  # KiB on Linux
    if GNU_TIME:
        try:
            rss = int(rss_file.read_text().split()[-1]) / 1024.0
        except (OSError, ValueError, IndexError):
            pass
    return rc, wall, cpu, rss


def tail(path, n=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def remove(path):
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()
    aux = Path(str(p) + ".aux.xml")
    if aux.exists():
        aux.unlink()


def size_bytes(path):
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def warm(paths):
    """Read inputs once so every timed run starts with them in the page cache."""
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def make_inputs(work, sizes):
    """Generate (or reuse) the deterministic inputs with scripts/make_samples.py."""
    script = ROOT / "scripts" / "make_samples.py"
    ms = [GDAL_PY, str(script)]
    d = work / "in"
    # Inputs are cached by file name; a changed generator invalidates them all.
    stamp, digest = d / ".generator.sha256", hashlib.sha256(script.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        stamp.write_text(digest + "\n")
    w, h, _ = sizes["field"]
    field = d / f"field_{w}x{h}_u16.tif"
    subprocess.run(ms + ["raster", str(field), "--width", str(w), "--height", str(h),
                         "--dtype", "uint16", "--tiled", "--blocksize", "512", "--seed", "100"],
                   check=True, stdout=subprocess.DEVNULL)
    w, h, b = sizes["stack"]
    stack = d / f"stack{b}_{w}x{h}_u16.tif"
    subprocess.run(ms + ["raster", str(stack), "--width", str(w), "--height", str(h),
                         "--bands", str(b), "--dtype", "uint16", "--tiled", "--blocksize", "512",
                         "--seed", "200"], check=True, stdout=subprocess.DEVNULL)
    t, h, w = sizes["series"]
    sdir = d / f"series_{t}x{h}x{w}_u16"
    subprocess.run(ms + ["series", str(sdir), "--steps", str(t), "--width", str(w),
                         "--height", str(h), "--dtype", "uint16", "--crs", "EPSG:32633",
                         "--prefix", "ndvi", "--tiled", "--blocksize", "512", "--seed", "300"],
                   check=True, stdout=subprocess.DEVNULL)
    series = sorted(sdir.glob("ndvi_*.tif"))
    return {"field": field, "stack": stack, "series": series}


def run_reps(tools, reps, logdir):
    """tools: {name: (cmd, out_path)}. Alternates tool order each repetition."""
    res = {name: {"times": [], "cpu": [], "rss": [], "rc": 0, "log": None} for name in tools}
    names = list(tools)
    for rep in range(reps):
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            cmd, out = tools[name]
            remove(out)
            logfile = logdir / f"{Path(out).name}.{name}.{rep}.log"
            rc, wall, cpu, rss = measure(cmd, logfile)
            r = res[name]
            r["log"] = str(logfile)
            if rc == 0 and not Path(out).exists():
                rc = -1
                log(f"  {name}: exited 0 but wrote no {out}")
            if rc != 0:
                r["rc"] = rc
                shown = " ".join(map(shlex.quote, cmd))
                shown = shown if len(shown) < 400 else shown[:200] + " ... " + shown[-150:]
                log(f"  {name}: FAILED (exit {rc}): {shown}\n{tail(logfile)}")
                continue
            r["times"].append(wall)
            r["cpu"].append(cpu)
            r["rss"].append(rss)
            log(f"  rep {rep + 1}/{reps} {name:15s} {wall:8.2f} s  cpu {cpu:8.2f} s  {rss:8.0f} MiB")
    return res


def validate_cogs(paths):
    """{path: (valid, problems)} from tests/py/validate_cog.py."""
    out = {}
    paths = [p for p in paths if Path(p).exists()]
    if not paths:
        return out
    p = subprocess.run([PY, str(ROOT / "tests/py/validate_cog.py"), *map(str, paths)],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        out[d["path"]] = (d["valid"], d["gdal_errors"] + d["rio_errors"])
    return out


def overview_count(path):
    try:
        import rasterio
        with rasterio.open(path) as src:
            return len(src.overviews(1))
    except Exception:  # noqa: BLE001
        return None


def same_pixels(a, b):
    p = subprocess.run([PY, str(ROOT / "tests/py/compare_raster.py"), str(a), str(b)],
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        return None, p.stderr.strip()
    return p.returncode == 0, p.stderr.strip()


def check_zarr(store, refs):
    p = subprocess.run([PY, str(ROOT / "tests/py/check_zarr.py"), str(store), "--reference",
                        *map(str, refs), "--time-from", TIME_RE], capture_output=True, text=True)
    try:
        d = json.loads(p.stdout)
        return d["ok"], d.get("failures", [])
    except ValueError:
        return False, [p.stderr.strip()[-500:]]


def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def summarise(name, r, out, valid, extra=None):
    ok = r["rc"] == 0 and r["times"]
    row = {
        "tool": name,
        "median_s": statistics.median(r["times"]) if ok else None,
        "min_s": min(r["times"]) if ok else None,
        "cpu_s": statistics.median(r["cpu"]) if ok else None,
        "peak_mib": max(r["rss"]) if ok else None,
        "size_mb": size_bytes(out) / 1e6 if ok else None,
        "valid": valid if ok else False,
        "failed": not ok,
        "times": r["times"],
    }
    row.update(extra or {})
    return row


def table(case, rows, baseline):
    lines = [f"### {case}", "",
             "| tool | median s | min s | CPU s | peak MiB | size MB | valid | notes |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        notes = row.get("notes", "")
        if row["failed"]:
            notes = "FAILED; " + notes
        notes = "; ".join(x.strip() for x in notes.split(";") if x.strip())
        lines.append(f"| {row['tool']} | {fmt(row['median_s'])} | {fmt(row['min_s'])} | {fmt(row['cpu_s'])} | "
                     f"{fmt(row['peak_mib'], '.0f')} | {fmt(row['size_mb'], '.1f')} | "
                     f"{'yes' if row['valid'] else 'NO'} | {notes} |")
    a = next((r for r in rows if r["tool"] == "arco"), None)
    b = next((r for r in rows if r["tool"] == baseline), None)
    ratios = {}
    if a and b and not a["failed"] and not b["failed"]:
        ratios = {"time": a["median_s"] / b["median_s"], "size": a["size_mb"] / b["size_mb"],
                  "rss": a["peak_mib"] / b["peak_mib"]}
        lines += ["", f"arco/{baseline}: time **{ratios['time']:.2f}x**, size **{ratios['size']:.3f}x**, "
                      f"peak memory {ratios['rss']:.2f}x"]
    return "\n".join(lines) + "\n", ratios


# --------------------------------------------------------------------------
# benchmark parts
# --------------------------------------------------------------------------
def bench_cog(arco, inputs, work, reps, compare, arco_extra):
    out_dir, log_dir = work / "out", work / "logs"
    md, results = [], []
    for key in ("field", "stack"):
        src = inputs[key]
        stem = src.stem
        tools = {}
        if arco:
            a_out = out_dir / f"{stem}.arco.tif"
            tools["arco"] = ([str(arco), "convert", str(src), "--to", "cog", "-o", str(a_out),
                              "--compress", "zstd", "--level", "1", "--predictor", "horizontal",
                              "--blocksize", "512", "--overview-resampling", "average",
                              "--overwrite", "--quiet", *arco_extra], a_out)
        g_out = out_dir / f"{stem}.gdal.tif"
        tools["gdal_translate"] = (["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=ZSTD",
                                    "-co", "LEVEL=1", "-co", "PREDICTOR=YES", "-co", "BLOCKSIZE=512",
                                    "-co", "OVERVIEW_RESAMPLING=AVERAGE", "-co", "NUM_THREADS=ALL_CPUS",
                                    str(src), str(g_out)], g_out)
        log(f"COG: {src.name} ({size_bytes(src) / 2**20:.0f} MiB), {reps} reps")
        warm([src])
        res = run_reps(tools, reps, log_dir)
        valid = validate_cogs([out for _, out in tools.values()])
        rows = []
        for name, (_, out) in tools.items():
            v, problems = valid.get(str(out), (False, ["missing output"]))
            notes = f"{overview_count(out)} overviews" if Path(out).exists() else ""
            if not v and problems:
                notes += f"; {problems[0][:80]}"
            rows.append(summarise(name, res[name], out, v, {"notes": notes, "output": str(out)}))
        if compare and "arco" in tools and all(Path(o).exists() for _, o in tools.values()):
            same, msg = same_pixels(tools["gdal_translate"][1], tools["arco"][1])
            rows[0]["notes"] += f"; full-res pixels {'identical to' if same else 'DIFFER from'} gdal"
            rows[0]["identical_to_gdal"] = same
            if same is False:
                log(f"  pixel comparison: {msg[-400:]}")
        text, ratios = table(f"COG: `{src.name}`", rows, "gdal_translate")
        md.append(text)
        results.append({"case": f"cog:{src.name}", "rows": rows, "ratios": ratios})
    return md, results


def bench_zarr(arco, series, work, reps, arco_extra):
    out_dir, log_dir = work / "out", work / "logs"
    tools = {}
    if arco:
        a_out = out_dir / "series.arco.zarr"
        tools["arco"] = ([str(arco), "convert", *map(str, series), "--to", "geozarr", "-o", str(a_out),
                          "--time-from", TIME_RE, "--chunks", "1,512,512", "--compress", "zstd",
                          "--level", "3", "--overviews", "none", "--overwrite", "--quiet",
                          *arco_extra], a_out)
    x_out = out_dir / "series.xarray.zarr"
    tools["xarray"] = ([PY, str(ROOT / "bench/xarray_geozarr.py"), str(x_out), *map(str, series),
                        "--time-from", TIME_RE, "--chunks", "1,512,512", "--level", "3",
                        "--var", "ndvi"], x_out)
    total = sum(size_bytes(s) for s in series)
    log(f"GeoZarr: {len(series)} x {series[0].name}... ({total / 2**20:.0f} MiB), {reps} reps")
    warm(series)
    res = run_reps(tools, reps, log_dir)
    rows = []
    for name, (_, out) in tools.items():
        ok, failures = check_zarr(out, series) if Path(out).exists() else (False, ["missing output"])
        notes = "" if ok else (failures[0][:100] if failures else "")
        rows.append(summarise(name, res[name], out, ok, {"notes": notes, "output": str(out)}))
    text, ratios = table(f"GeoZarr: {len(series)} x `{series[0].name}`", rows, "xarray")
    return [text], [{"case": "geozarr:series", "rows": rows, "ratios": ratios}]


def environment(arco):
    env = {"python": platform.python_version(), "cpus": os.cpu_count(),
           "machine": platform.machine(), "kernel": platform.release()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                env["cpu"] = line.split(":", 1)[1].strip()
                break
        env["mem_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        pass
    env["gdal_translate"] = subprocess.run(["gdal_translate", "--version"], capture_output=True,
                                           text=True).stdout.strip()
    if arco:
        p = subprocess.run([str(arco), "--version"], capture_output=True, text=True)
        env["arco"] = p.stdout.strip() or "(no --version)"
    import rasterio
    import xarray
    import zarr
    env.update(rasterio=rasterio.__version__, xarray=xarray.__version__, zarr=zarr.__version__)
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small inputs for a fast smoke run")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per tool (default 3)")
    ap.add_argument("--arco", type=Path, help="arco binary (default ${CARGO_TARGET_DIR:-target}/release/arco)")
    ap.add_argument("--gdal-only", action="store_true",
                    help="run only the baselines (gdal_translate, xarray); arco is skipped")
    ap.add_argument("--only", choices=["cog", "zarr"], help="run one part only")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    ap.add_argument("--no-compare", action="store_true", help="skip the arco-vs-gdal pixel comparison")
    ap.add_argument("--arco-extra", default="", help="extra arguments for every arco run, e.g. '--threads 2'")
    a = ap.parse_args()
    if a.reps < 1:
        ap.error("--reps must be >= 1")

    arco = (a.arco or default_arco()).resolve()
    if a.gdal_only:
        log(f"arco: skipped (--gdal-only){'' if arco.exists() else f'; no binary at {arco}'}")
        arco = None
    elif not (arco.is_file() and os.access(arco, os.X_OK)):
        log(f"error: arco binary not found at {arco}\n"
            "  build it with `cargo build --release`, pass --arco PATH, or use --gdal-only")
        return 2
    else:
        log(f"arco binary: {arco}")
    if shutil.which("gdal_translate") is None:
        log("error: gdal_translate not on PATH (apt-get install gdal-bin)")
        return 2

    sizes = QUICK if a.quick else FULL
    work = a.work.resolve()
    for sub in ("in", "out", "logs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    log(f"work dir: {work} ({'quick' if a.quick else 'full'} sizes)")
    log("generating inputs (cached between runs) ...")
    inputs = make_inputs(work, sizes)

    env = environment(arco)
    md = ["# arco benchmark", "",
          f"- arco: `{arco or 'skipped'}` {env.get('arco', '')}",
          f"- {env['gdal_translate']}; rasterio {env['rasterio']}, xarray {env['xarray']}, zarr {env['zarr']}",
          f"- {env.get('cpu', env['machine'])}, {env['cpus']} CPUs, {env.get('mem_gib', '?')} GiB RAM",
          f"- {a.reps} repetitions per tool, alternating order; median and min wall time, median CPU "
          f"time (user+sys); peak RSS of the command ({'GNU time %M' if GNU_TIME else 'wait4 ru_maxrss, inflated'}); "
          "inputs in page cache", ""]
    results = []
    extra = shlex.split(a.arco_extra)
    if a.only in (None, "cog"):
        m, r = bench_cog(arco, inputs, work, a.reps, not a.no_compare, extra)
        md += m
        results += r
    if a.only in (None, "zarr"):
        m, r = bench_zarr(arco, inputs["series"], work, a.reps, extra)
        md += m
        results += r

    # Overall ratios
    rows = [r for r in results if r["ratios"]]
    if rows:
        md += ["### Summary (arco / baseline)", "", "| case | time | size | peak memory |",
               "|---|---:|---:|---:|"]
        md += [f"| {r['case']} | {r['ratios']['time']:.2f}x | {r['ratios']['size']:.3f}x | "
               f"{r['ratios']['rss']:.2f}x |" for r in rows]
        md.append("")
    text = "\n".join(md)
    print(text)
    (work / "results.md").write_text(text + "\n")
    (work / "results.json").write_text(json.dumps({"env": env, "quick": a.quick, "reps": a.reps,
                                                   "results": results}, indent=1, default=str))
    log(f"results: {work / 'results.md'}, {work / 'results.json'}")
    bad = [row for r in results for row in r["rows"] if row["failed"] or not row["valid"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
