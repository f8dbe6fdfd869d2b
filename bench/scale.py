"""Scale-out on paper: what `arco plan` / `arco run` / `arco finalize` cost,
measured here, and a projection for a global 30 m product beside the
published figure for the same workload.

  1. Planning: `arco plan` of a reconstruct job on the GLAD ARD grid
     (0.00025 deg, 1,440,000 x 560,000 px; the inputs are VRT headers, so no
     pixel is read) in tiles of 1024 px: tasks per second.
  2. Per-task overhead: the 16 tasks of a tiny job (CBERS, 16 px tiles) run
     one after the other (start: a process that opens 28 rasters, fills
     16 x 16 px and writes its stacks), then again (skip: checksums match).
     When a private Slurm can start (root, slurm-wlm, munge), the same 16
     tasks as an `sbatch --wait --array` too.
  3. Throughput: a 512 x 512 px series of 230 16-day dates (10 years, 40 %
     gaps) aggregated to bimonthly and filled with the ARD2 causal
     parameters, the shape of the published workload, as 4 tasks of 256 px
     on one core each, then `arco finalize` (assembly, COGs, STAC, check).
  4. Projection: the published run (Consoli et al. 2024, PeerJ 12:e18585):
     GLAD ARD Landsat 1997-2022, 7 bands, "more than two trillion pixels",
     each a 156-sample bimonthly series, about 28 hours on 1,248 CPUs
     (34,944 CPU-hours). arco's CPU-hours for the same pixel-steps from the
     throughput of step 3, and the ratio.

Usage: /usr/bin/python3 bench/scale.py [--arco PATH]
"""

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work", "scale")
CBERS = os.path.join(ROOT, "..", "shared", "data", "cbers-awfi")

# The published workload.
PUB_PIXELS = 2.0e12  # pixel-bands ("more than two trillion pixels")
PUB_STEPS = 156  # bimonthly samples, 1997-2022
PUB_CPU_HOURS = 28 * 1248


def run(cmd, cwd=None):
    """Runs a command; returns (wall seconds, CPU seconds of children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def global_vrt(path, date):
    """A VRT header of the GLAD ARD grid (no pixel behind it is read)."""
    w, h = 1_440_000, 560_000
    with open(os.path.join(path, f"ard_{date}.vrt"), "w") as f:
        f.write(
            f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}">\n'
            '  <SRS dataAxisToSRSAxisMapping="2,1">EPSG:4326</SRS>\n'
            "  <GeoTransform>-180, 0.00025, 0, 80, 0, -0.00025</GeoTransform>\n"
            '  <VRTRasterBand dataType="UInt16" band="1"><NoDataValue>0</NoDataValue></VRTRasterBand>\n'
            "</VRTDataset>\n"
        )


def planning(arco):
    d = fresh(os.path.join(WORK, "plan"))
    dates = ["2020-01-01", "2020-01-17", "2020-02-02", "2020-02-18"]
    for x in dates:
        global_vrt(d, x)
    inputs = sorted(glob.glob(os.path.join(d, "ard_*.vrt")))
    wall, _ = run(
        [arco, "plan", "--job", "job", "--tile-size", "1024", "--json", "reconstruct", *inputs,
         "-o", "out", "--season", "23", "--block", "256"],
        cwd=d,
    )
    n = len(json.load(open(os.path.join(d, "job", "tasks.json")))["tasks"])
    size = os.path.getsize(os.path.join(d, "job", "tasks.json"))
    print(f"plan: {n:,} tasks (1,440,000 x 560,000 px in 1024 px tiles) in {wall:.2f} s: "
          f"{n / wall:,.0f} tasks/s, tasks.json {size / 2**20:.1f} MiB")
    shutil.rmtree(d)


def overhead(arco):
    d = fresh(os.path.join(WORK, "overhead"))
    b13 = sorted(glob.glob(os.path.join(CBERS, "*_B13_*.tif")))
    qa = sorted(glob.glob(os.path.join(CBERS, "*_CMASK_*.tif")))
    args = [*b13, "--qa", *qa, "--mask", "cmask", "-o", "out", "--block", "16"]
    run([arco, "plan", "--job", "job", "--tile-size", "16", "reconstruct", *args], cwd=d)
    starts, skips = [], []
    for i in range(16):
        starts.append(run([arco, "run", "--job", "job", "--task", str(i), "--threads", "1"], cwd=d)[0])
    for i in range(16):
        skips.append(run([arco, "run", "--job", "job", "--task", str(i), "--threads", "1"], cwd=d)[0])
    mean = lambda v: sum(v) / len(v)
    print(f"per task: start and run a 16 x 16 px x 14-date task {mean(starts) * 1000:.0f} ms "
          f"(max {max(starts) * 1000:.0f}), skip a finished one {mean(skips) * 1000:.0f} ms "
          f"(max {max(skips) * 1000:.0f})")
    slurm = os.path.join(ROOT, "tests", "slurm", "cluster.sh")
    if os.geteuid() == 0 and shutil.which("sbatch") and shutil.which("unshare"):
        d2 = fresh(os.path.join(WORK, "overhead-slurm"))
        run([arco, "plan", "--job", "job", "--tile-size", "16", "reconstruct", *args], cwd=d2)
        script = os.path.join(d2, "job", "slurm.sbatch")
        # The same array twice in one cluster: `true` (the scheduler alone),
        # then arco's tasks.
        timing = (
            "t0=$(date +%s.%N); sbatch --wait --array=0-15 --output=/dev/null --wrap true >/dev/null; "
            "t1=$(date +%s.%N); sbatch --wait {script} >/dev/null; t2=$(date +%s.%N); "
            "echo \"$(echo \"$t1 - $t0\" | bc) $(echo \"$t2 - $t1\" | bc)\" > {out}"
        ).format(script=script, out=os.path.join(d2, "array.txt"))
        run(["unshare", "--net", "--fork", "bash", slurm, os.path.join(d2, "cluster"), "bash", "-c", timing])
        bare, arr = map(float, open(os.path.join(d2, "array.txt")).read().split())
        print(f"Slurm, 16-task arrays on a 2-CPU node (sbatch --wait): `true` {bare:.1f} s, "
              f"arco's tasks {arr:.1f} s: the scheduler's own pace dominates "
              f"({(arr - bare) / 16 * 1000:.0f} ms per task beyond it)")
    shutil.rmtree(d, ignore_errors=True)


def job_cost(arco, d, inputs, layout):
    """Plans and runs the 4-task job with `layout`; CPU-seconds of the tasks
    (one core each) and of finalize, and the product's bytes."""
    job = f"job-{layout}"
    out = f"out-{layout}"
    args = [*inputs, "-o", out, "--aggregate", "2M", "--preset", "ard2", "--block", "256"]
    run([arco, "plan", "--job", job, "--tile-size", "256", "--layout", layout, "reconstruct", *args], cwd=d)
    task_cpu = 0.0
    for i in range(4):
        task_cpu += run([arco, "run", "--job", job, "--task", str(i), "--threads", "1"], cwd=d)[1]
    fin_cpu = run([arco, "finalize", "--job", job, "--no-check"], cwd=d)[1]
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, out, "*.tif")))
    frames = len(glob.glob(os.path.join(d, out, "*_quality_*.tif")))
    return task_cpu, fin_cpu, size, frames


def throughput(arco):
    d = fresh(os.path.join(WORK, "throughput"))
    series = os.path.join(d, "series")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "py", "make_series.py"),
                    series, "512", "230"], check=True)
    inputs = sorted(glob.glob(os.path.join(series, "s_*.tif")))
    a_task, a_fin, _, frames = job_cost(arco, d, inputs, "assembled")
    t_task, t_fin, size, _ = job_cost(arco, d, inputs, "tiles")
    steps = 512 * 512 * frames
    m = lambda cpu: steps / cpu / 1e6
    print(f"throughput: 512 x 512 px, 230 dates -> {frames} bimonthly frames, 4 tasks on one core each")
    print(f"  assembled layout: tasks {a_task:.2f} CPU-s ({m(a_task):.1f} M pixel-steps/CPU-s), "
          f"finalize {a_fin:.2f} CPU-s on one machine ({m(a_fin):.1f} M/CPU-s)")
    print(f"  per-tile layout:  tasks {t_task:.2f} CPU-s ({m(t_task):.1f} M pixel-steps/CPU-s, COGs "
          f"included), finalize {t_fin:.2f} CPU-s (STAC only)")
    shutil.rmtree(d)
    return steps, t_task + t_fin, a_fin, size


def projection(steps, cpu, assembled_fin, out_bytes):
    rate = steps / cpu  # pixel-steps per CPU-second, per-tile layout
    total = PUB_PIXELS * PUB_STEPS
    hours = total / rate / 3600
    tiles = PUB_PIXELS / 7 / 1024**2
    print(f"projection (per-tile layout): {PUB_PIXELS:.0e} pixel-bands x {PUB_STEPS} steps = "
          f"{total:.2e} pixel-steps at {rate / 1e6:.1f} M per CPU-second: {hours:,.0f} CPU-hours "
          f"({hours / 1248:.1f} h on 1,248 CPUs); published: {PUB_CPU_HOURS:,} CPU-hours "
          f"(28 h on 1,248 CPUs)")
    print(f"arco / published: {hours / PUB_CPU_HOURS:.2f}x (below 1: arco needs fewer CPU-hours)")
    print(f"tasks at 1024 px: {tiles:,.0f} per band, {tiles * 7:,.0f} for 7 bands; the assembled "
          f"layout would add {total / (steps / assembled_fin) / 3600:,.0f} CPU-hours of finalize on "
          f"one machine, so a global product takes the per-tile layout")
    print(f"output here {out_bytes / steps:.2f} bytes per pixel-step (float32 data + uint8 quality, "
          f"zstd; random noise compresses badly) -> {out_bytes / steps * total / 1e12:,.0f} TB; "
          f"the published product is 8-bit, about 20 TB per band")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--arco", default=os.path.join(target, "release", "arco"))
    a = ap.parse_args()
    arco = os.path.abspath(a.arco)
    os.makedirs(WORK, exist_ok=True)
    planning(arco)
    overhead(arco)
    steps, cpu, assembled_fin, out_bytes = throughput(arco)
    projection(steps, cpu, assembled_fin, out_bytes)


if __name__ == "__main__":
    main()
