//! Scale-out: `arco plan` / `arco run` / `arco finalize` write the same
//! product as one machine, whatever the split; interrupted tasks are redone
//! and finished ones skipped; a real Slurm (slurm-wlm + munge, in a private
//! network namespace) runs the array.

mod common;

use common::{assert_ok, shared_data, sorted_files, stderr};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn arco_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_arco"));
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run arco")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn schemas() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/stac-schemas")
        .to_string_lossy()
        .into_owned()
}

/// The CBERS B13 series with its cloud masks, plus a valid range that hides
/// 16 % of the samples, so there is real filling to do.
fn cbers_reconstruct_args() -> Vec<String> {
    let data = shared_data("cbers-awfi");
    let mut v = sorted_files(&data, "_B13_");
    v.push("--qa".into());
    v.extend(sorted_files(&data, "_CMASK_"));
    for a in [
        "--mask",
        "cmask",
        "--valid-range",
        "0,560",
        "-o",
        "product",
        "--to",
        "cog,geozarr",
        "--block",
        "16",
    ] {
        v.push(a.into());
    }
    v
}

/// Every file of a product: bytes for data, JSON without the write times
/// for STAC documents.
fn product_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = common::file_tree(dir);
    for (rel, bytes) in &mut out {
        if has_ext(rel, "json") && !rel.ends_with("zarr.json") {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            strip_times(&mut v);
            *bytes = serde_json::to_vec(&v).unwrap();
        }
    }
    out
}

fn has_ext(name: &str, ext: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == ext)
}

fn strip_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("created");
            m.remove("updated");
            m.values_mut().for_each(strip_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

fn assert_same_product(one: &Path, other: &Path, what: &str) {
    assert_same_files(one, other, 28, what);
}

/// Same file names, the same bytes (STAC without write times), `tifs` COGs.
fn assert_same_files(one: &Path, other: &Path, tifs: usize, what: &str) {
    let a = product_files(one);
    let b = product_files(other);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: the same files as one machine"
    );
    let n = a.keys().filter(|k| has_ext(k, "tif")).count();
    assert_eq!(n, tifs, "{what}: data and quality COGs");
    for (k, v) in &a {
        assert!(v == &b[k], "{what}: {k} differs from the one-machine run");
    }
}

/// The one-machine run in `root/one`; returns its product and filled count.
fn one_machine(root: &Path, args: &[String]) -> (PathBuf, u64) {
    let dir = root.join("one");
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = vec!["reconstruct"];
    a.extend(args.iter().map(String::as_str));
    a.push("--json");
    let o = arco_in(&dir, &a, &[]);
    assert_ok(&o, "one-machine reconstruct");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let filled = v["bands"][0]["filled"].as_u64().unwrap();
    (dir.join("product"), filled)
}

fn plan(dir: &Path, tile: usize, args: &[String]) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let tile = tile.to_string();
    let mut a = vec!["plan", "--job", "job", "--tile-size", &tile, "reconstruct"];
    a.extend(args.iter().map(String::as_str));
    let o = arco_in(dir, &a, &[]);
    assert_ok(&o, "arco plan");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("job/tasks.json")).unwrap()).unwrap();
    m["tasks"].as_array().unwrap().len()
}

fn finalize(dir: &Path, as_of: &str) -> Output {
    let s = schemas();
    arco_in(
        dir,
        &[
            "finalize",
            "--job",
            "job",
            "--",
            "--as-of",
            as_of,
            "--schemas",
            &s,
        ],
        &[],
    )
}

#[test]
fn the_product_does_not_depend_on_the_split() {
    let tmp = tempfile::tempdir().unwrap();
    let args = cbers_reconstruct_args();
    let (one, filled) = one_machine(tmp.path(), &args);
    assert!(
        filled > 4000,
        "the valid range leaves gaps to fill: {filled}"
    );

    // The whole job as one task, its index from Slurm's variable.
    let whole = tmp.path().join("whole");
    assert_eq!(plan(&whole, 64, &args), 1);
    let o = arco_in(
        &whole,
        &["run", "--job", "job"],
        &[("SLURM_ARRAY_TASK_ID", "0")],
    );
    assert_ok(&o, "the one task");
    let o = finalize(&whole, "2018-09-10");
    assert_ok(&o, "finalize of one task");
    assert_same_product(&one, &whole.join("product"), "one task");

    // 16 tasks, 8 processes at a time, indices from Kubernetes' variable.
    let eight = tmp.path().join("eight");
    assert_eq!(plan(&eight, 16, &args), 16);
    for batch in [0..8, 8..16] {
        let children: Vec<_> = batch
            .map(|i| {
                Command::new(env!("CARGO_BIN_EXE_arco"))
                    .current_dir(&eight)
                    .args(["run", "--job", "job", "--threads", "1"])
                    .env("JOB_COMPLETION_INDEX", i.to_string())
                    .output()
            })
            .collect();
        for c in children {
            assert_ok(&c.unwrap(), "a task");
        }
    }
    let o = finalize(&eight, "2018-09-10");
    assert_ok(&o, "finalize of 16 tasks");
    assert!(stdout(&o).contains("ok   Complete"), "{}", stdout(&o));
    assert_same_product(&one, &eight.join("product"), "16 tasks");

    // Finalized: the stacks are gone, tasks and finalize have nothing to do.
    assert!(eight.join("job/finalized.json").is_file());
    assert!(!eight.join("job/tasks/000003/data.tif").exists());
    let o = arco_in(&eight, &["run", "--job", "job", "--task", "3"], &[]);
    assert_ok(&o, "a task of a finalized job");
    assert!(stdout(&o).contains("finalized already"), "{}", stdout(&o));
}

#[test]
fn a_per_tile_layout_holds_the_one_machine_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let args = cbers_reconstruct_args();
    let (one, _) = one_machine(tmp.path(), &args);
    let dir = tmp.path().join("tiles");
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = vec![
        "plan",
        "--job",
        "job",
        "--tile-size",
        "32",
        "--layout",
        "tiles",
        "reconstruct",
    ];
    a.extend(args.iter().map(String::as_str));
    assert_ok(&arco_in(&dir, &a, &[]), "plan a per-tile job");
    for i in 0..4 {
        let o = arco_in(
            &dir,
            &["run", "--job", "job", "--task", &i.to_string()],
            &[],
        );
        assert_ok(&o, "a task");
    }
    // The tasks wrote the tiles; finalize writes the collection and checks.
    let product = dir.join("product");
    assert!(product
        .join("CBERS-4_AWFI_022024_B13_2018-02-02_x32_y0.tif")
        .is_file());
    assert!(!product.join("collection.json").exists());
    let o = finalize(&dir, "2018-09-10");
    assert_ok(&o, "finalize a per-tile job");
    assert!(stdout(&o).contains("all four Cs hold"), "{}", stdout(&o));
    let o = common::py(
        "compare_tiles.py",
        &[one.to_str().unwrap(), product.to_str().unwrap()],
    );
    assert_ok(&o, "tiles equal the one-machine windows");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tiles"], 4 * 28, "{v}");
    // An Item per date and tile (and per tile cube).
    let c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(product.join("collection.json")).unwrap()).unwrap();
    let items = c["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "item")
        .count();
    assert_eq!(items, 14 * 4 + 4);
}

#[test]
fn interrupted_tasks_are_redone_finished_ones_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let args = cbers_reconstruct_args();
    let (one, _) = one_machine(tmp.path(), &args);
    let dir = tmp.path().join("job-run");
    assert_eq!(plan(&dir, 16, &args), 16);
    for i in (0..16).filter(|&i| i != 5) {
        let o = arco_in(
            &dir,
            &["run", "--job", "job", "--task", &i.to_string()],
            &[],
        );
        assert_ok(&o, "a task");
        assert!(
            stdout(&o).contains(&format!("task {i}: done")),
            "{}",
            stdout(&o)
        );
    }
    // What a kill leaves: task 5 half written, with no done.json ...
    let partial = dir.join("job/tasks/.000005.partial-4242");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("data.tif"), b"II*\0half").unwrap();
    // ... and task 7 damaged after it finished.
    let stack = dir.join("job/tasks/000007/quality.tif");
    let mut bytes = std::fs::read(&stack).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stack, bytes).unwrap();

    let o = finalize(&dir, "2018-09-10");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("task 5 not done; rerun it with: arco run --job"),
        "{err}"
    );
    assert!(err.contains("task 7 not done"), "{err}");
    assert!(err.contains("2 of 16 tasks are not done"), "{err}");
    assert!(err.contains("sbatch --array=5,7 "), "{err}");
    assert!(
        !dir.join("product").exists(),
        "nothing is written before every task is done"
    );

    // A finished task is skipped; the interrupted and damaged ones redone.
    let o = arco_in(&dir, &["run", "--job", "job", "--task", "3"], &[]);
    assert_ok(&o, "rerun of a finished task");
    assert!(stdout(&o).contains("task 3: already done (checksums match), skipped"));
    for i in ["5", "7"] {
        let o = arco_in(&dir, &["run", "--job", "job", "--task", i], &[]);
        assert_ok(&o, "rerun");
        assert!(
            stdout(&o).contains(&format!("task {i}: done")),
            "{}",
            stdout(&o)
        );
    }
    assert!(
        !partial.exists(),
        "the leftovers of the killed attempt are gone"
    );
    let o = finalize(&dir, "2018-09-10");
    assert_ok(&o, "finalize after the reruns");
    assert_same_product(&one, &dir.join("product"), "after reruns");
}

#[test]
fn bad_jobs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let args = cbers_reconstruct_args();
    let dir = tmp.path();
    assert_eq!(plan(dir, 32, &args), 4);
    let o = arco_in(dir, &["run", "--job", "job", "--task", "4"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("task 4: the job has 4 tasks (0-3)"),
        "{}",
        stderr(&o)
    );
    let o = arco_in(dir, &["run", "--job", "job"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SLURM_ARRAY_TASK_ID"), "{}", stderr(&o));
    // Bad arguments for the closing check fail before anything is verified.
    let o = arco_in(
        dir,
        &["finalize", "--job", "job", "--", "--no-such-flag"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not arco check's"), "{}", stderr(&o));
    // A tile size that would cut the one-machine windows.
    let mut a = vec!["plan", "--job", "other", "--tile-size", "24", "reconstruct"];
    a.extend(args.iter().map(String::as_str));
    let o = arco_in(dir, &a, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must be a multiple of reconstruct's --block 16"));
    assert!(!dir.join("other").exists(), "a refused plan writes nothing");
    // The verb's own errors, before any task exists.
    let o = arco_in(
        dir,
        &[
            "plan",
            "--job",
            "bad",
            "reconstruct",
            "nothing_*.tif",
            "-o",
            "x",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("bad").exists());
    // job.toml edited after planning: the tasks refuse to mix results.
    let toml = dir.join("job/job.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("tile_size = 32", "tile_size = 16")).unwrap();
    let o = arco_in(dir, &["run", "--job", "job", "--task", "0"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("job.toml changed since the job was planned"));
}

#[test]
fn a_hand_written_job_toml_with_globs_plans_the_same_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let data = shared_data("cbers-awfi");
    let job = tmp.path().join("job");
    std::fs::create_dir_all(&job).unwrap();
    std::fs::write(
        job.join("job.toml"),
        format!(
            "verb = \"reconstruct\"\nargs = [\"{d}/*_B13_*.tif\", \"--qa\", \"{d}/*_CMASK_*.tif\", \"--mask\", \"cmask\", \"-o\", \"out\", \"--block\", \"16\"]\ntile_size = 32\npublish = \"pub/cbers\"\nstac_index = true\n",
            d = data.display()
        ),
    )
    .unwrap();
    let o = arco_in(tmp.path(), &["plan", "--job", "job", "--json"], &[]);
    assert_ok(&o, "plan from job.toml");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tasks"], 4);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(job.join("tasks.json")).unwrap()).unwrap();
    let planned: Vec<&str> = m["job"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(planned.iter().filter(|a| a.contains("_B13_")).count(), 14);
    assert_eq!(planned.iter().filter(|a| a.contains("_CMASK_")).count(), 14);
    let sbatch = std::fs::read_to_string(job.join("slurm.sbatch")).unwrap();
    assert!(sbatch.contains("#SBATCH --array=0-3%4"), "{sbatch}");
    let k8s = std::fs::read_to_string(job.join("indexed-job.yaml")).unwrap();
    assert!(k8s.contains("completionMode: Indexed") && k8s.contains("completions: 4"));
    for i in 0..4 {
        assert_ok(
            &arco_in(
                tmp.path(),
                &["run", "--job", "job", "--task", &i.to_string()],
                &[],
            ),
            "task",
        );
    }
    let o = finalize(tmp.path(), "2018-09-10");
    assert_ok(&o, "finalize");
    // Checked, then published with the index, as job.toml asks.
    assert!(stdout(&o).contains("all four Cs hold"), "{}", stdout(&o));
    let pubd = tmp.path().join("pub");
    assert!(pubd.join("cbers/collection.json").is_file());
    assert!(pubd.join("catalog.json").is_file());
    let index = pubd.join("items.parquet");
    assert!(index.is_file(), "the stac-geoparquet index");
    let o = common::arco(&["search", index.to_str().unwrap(), "--json"]);
    assert_ok(&o, "search the index");
    let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(hits["numberMatched"], 14, "{hits}");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("out"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "tif"))
            .count(),
        28
    );
}

#[test]
fn convert_jobs_split_by_input_and_match_one_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = sorted_files(&shared_data("modis-ndvi"), "NDVI");
    let mut args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    args.extend([
        "--to",
        "cog",
        "-o",
        "product",
        "--time-from",
        common::DATE_IN_NAME,
    ]);
    let one = tmp.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let mut a = vec!["convert"];
    a.extend(&args);
    assert_ok(&arco_in(&one, &a, &[]), "one-machine convert");
    let job = tmp.path().join("split");
    std::fs::create_dir_all(&job).unwrap();
    let mut a = vec!["plan", "--job", "job", "convert"];
    a.extend(&args);
    let o = arco_in(&job, &a, &[]);
    assert_ok(&o, "plan");
    assert!(
        stdout(&o).contains("12 tasks (one per input)"),
        "{}",
        stdout(&o)
    );
    for i in (0..12).rev() {
        assert_ok(
            &arco_in(
                &job,
                &["run", "--job", "job", "--task", &i.to_string()],
                &[],
            ),
            "task",
        );
    }
    let s = schemas();
    let o = arco_in(
        &job,
        &[
            "finalize",
            "--job",
            "job",
            "--",
            "--as-of",
            "2014-08-01",
            "--schemas",
            &s,
        ],
        &[],
    );
    assert_ok(&o, "finalize");
    let a = product_files(&one.join("product"));
    let b = product_files(&job.join("product"));
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), 25, "12 COGs, 12 Items, the collection");
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs from the one-machine convert");
    }
}

/// Skips nothing: Slurm is part of the test set-up (scripts/setup.sh).
fn require_slurm() {
    for tool in ["/usr/bin/sbatch", "/usr/sbin/slurmctld", "/usr/sbin/munged"] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: install slurm-wlm and munge (bash scripts/setup.sh does)"
        );
    }
}

/// Runs `command` inside a private single-node Slurm.
fn in_slurm(state: &Path, command: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/cluster.sh");
    let mut args = vec![
        "--net".to_string(),
        "--fork".into(),
        "bash".into(),
        script.to_string_lossy().into_owned(),
        state.to_string_lossy().into_owned(),
    ];
    args.extend(command.iter().map(ToString::to_string));
    Command::new("unshare")
        .args(&args)
        .output()
        .expect("unshare")
}

#[test]
fn a_slurm_array_writes_the_one_machine_product() {
    require_slurm();
    let tmp = tempfile::tempdir().unwrap();
    let args = cbers_reconstruct_args();
    let (one, _) = one_machine(tmp.path(), &args);
    let dir = tmp.path().join("slurm");
    assert_eq!(plan(&dir, 16, &args), 16);
    let sbatch = dir.join("job/slurm.sbatch");
    let o = in_slurm(
        &tmp.path().join("cluster"),
        &["sbatch", "--wait", sbatch.to_str().unwrap()],
    );
    assert_ok(&o, "sbatch --wait of the array");
    for i in 0..16 {
        let log = std::fs::read_to_string(dir.join(format!("job/logs/task-{i}.log"))).unwrap();
        assert!(
            log.contains(&format!("task {i}: done")),
            "task {i} log: {log}"
        );
    }
    let o = finalize(&dir, "2018-09-10");
    assert_ok(&o, "finalize after Slurm");
    assert_same_product(&one, &dir.join("product"), "Slurm array");
}

#[test]
fn a_cancelled_slurm_array_completes_on_resubmit() {
    require_slurm();
    let tmp = tempfile::tempdir().unwrap();
    // Tasks long enough (about a second each) to be cancelled half way.
    let series = tmp.path().join("series");
    common::assert_ok(
        &Command::new(std::env::var("ARCO_GDAL_PYTHON").unwrap_or("/usr/bin/python3".into()))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/make_series.py"))
            .args([series.to_str().unwrap(), "512", "230"])
            .output()
            .unwrap(),
        "make_series.py",
    );
    let mut args = sorted_files(&series, "s_");
    args.extend(["-o", "product", "--block", "128"].map(String::from));
    let one = tmp.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let mut a = vec!["reconstruct"];
    a.extend(args.iter().map(String::as_str));
    assert_ok(&arco_in(&one, &a, &[]), "one-machine reconstruct");
    let dir = tmp.path().join("slurm");
    assert_eq!(plan(&dir, 256, &args), 4);
    let job = dir.join("job");
    let left = tmp.path().join("left.txt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/cancel_resubmit.sh");
    let o = in_slurm(
        &tmp.path().join("cluster"),
        &[
            "bash",
            script.to_str().unwrap(),
            job.to_str().unwrap(),
            left.to_str().unwrap(),
        ],
    );
    assert_ok(&o, "cancel and resubmit");
    let left = std::fs::read_to_string(&left).unwrap();
    assert!(
        left.contains("000000"),
        "task 0 finished before the cancel: {left}"
    );
    assert!(
        left.contains(".000001.partial-"),
        "task 1 was cut half way: {left}"
    );
    assert!(!left.contains("000003"), "task 3 never ran: {left}");
    let log0 = std::fs::read_to_string(job.join("logs/resubmit-0.log")).unwrap();
    assert!(
        log0.contains("task 0: already done (checksums match), skipped"),
        "{log0}"
    );
    for i in 1..4 {
        let log = std::fs::read_to_string(job.join(format!("logs/resubmit-{i}.log"))).unwrap();
        assert!(log.contains(&format!("task {i}: done")), "{log}");
    }
    let entries: Vec<String> = std::fs::read_dir(job.join("tasks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !entries.iter().any(|e| e.contains("partial")),
        "{entries:?}"
    );
    let o = finalize(&dir, "2019-12-20");
    assert_ok(&o, "finalize after the resubmit");
    assert_same_files(
        &one.join("product"),
        &dir.join("product"),
        460,
        "after the resubmit",
    );
}
