//! `arco run`: one task of a job. Idempotent: results that exist with
//! matching checksums are kept and the task is skipped; an interrupted
//! attempt leaves only a `.partial` folder, which the next attempt replaces.

use super::{task_index, write_atomic, Job, JobSpec, Layout, Split, Verb};
use crate::commands::reconstruct::{Counts, ReconstructArgs, Setup};
use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_convert::series::{BandStack, Window};
use arco_convert::{DType, RasterSource};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub const EXAMPLES: &str = "\
Examples:
  # Task 3 of a job made by arco plan
  arco run --job jobs/ndvi --task 3

  # Under Slurm (sbatch --array) or a Kubernetes Indexed Job: the index comes
  # from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX
  arco run --job jobs/ndvi

  # Every task on one machine, 8 at a time
  seq 0 15 | xargs -P 8 -I{} arco run --job jobs/ndvi --task {} --threads 1";

/// Arguments of `arco run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Job directory made by arco plan.
    #[arg(long, value_name = "DIR")]
    pub job: PathBuf,

    /// Task index [default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX].
    #[arg(long, value_name = "N")]
    pub task: Option<usize>,
}

/// One file a task produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// Relative to the task folder, or absolute for outputs written in place.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// sha2-256 multihash (hex).
    pub checksum: String,
}

/// `done.json`: what a finished task made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Done {
    /// The task index.
    pub task: usize,
    /// The job it was made under.
    pub job: JobSpec,
    /// Its files.
    pub files: Vec<TaskFile>,
    /// Pixel counts (reconstruct).
    #[serde(default)]
    pub counts: Option<Counts>,
    /// Output records (convert, one per input).
    #[serde(default)]
    pub records: Vec<serde_json::Value>,
    /// Seconds the task took.
    pub elapsed_s: f64,
}

impl TaskFile {
    fn of(path: &Path, shown: PathBuf) -> anyhow::Result<Self> {
        Ok(Self {
            path: shown,
            size: std::fs::metadata(path)
                .with_context(|| format!("{}: cannot read", path.display()))?
                .len(),
            checksum: arco_core::multihash_sha256_file(path)
                .with_context(|| format!("{}: cannot read", path.display()))?,
        })
    }
}

/// The task's result when it is complete: `done.json` made under this job,
/// and every file it lists present with its size and checksum.
pub fn verify(job: &Job, i: usize) -> Option<Done> {
    let dir = job.task_dir(i);
    let done: Done =
        serde_json::from_str(&std::fs::read_to_string(dir.join("done.json")).ok()?).ok()?;
    if done.task != i || done.job != job.manifest.job {
        return None;
    }
    let intact = done.files.iter().all(|f| {
        let p = dir.join(&f.path);
        std::fs::metadata(&p).is_ok_and(|m| m.len() == f.size)
            && arco_core::multihash_sha256_file(&p).is_ok_and(|c| c == f.checksum)
    });
    intact.then_some(done)
}

/// Runs `arco run`.
pub fn run(args: &RunArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let job = Job::open(&args.job)?;
    let i = task_index(args.task)?;
    if i >= job.len() {
        bail!(
            "task {i}: the job has {} tasks (0-{}); check the --array range against {}",
            job.len(),
            job.len().saturating_sub(1),
            job.dir.join("tasks.json").display()
        );
    }
    if job.finalized_file().exists() {
        printer.line(&format!(
            "task {i}: the job is finalized already; nothing to do"
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if verify(&job, i).is_some() {
        printer.line(&format!(
            "task {i}: already done (checksums match), skipped in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
        emit(printer, i, true, started)?;
        return Ok(ExitCode::SUCCESS);
    }
    match attempt(&job, i, printer, started) {
        Ok(done) => {
            let _ = std::fs::remove_file(job.error_file(i));
            printer.line(&format!(
                "task {i}: done, {} file{} in {:.2} s",
                done.files.len(),
                if done.files.len() == 1 { "" } else { "s" },
                done.elapsed_s
            ));
            emit(printer, i, false, started)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // For finalize's list of failed tasks.
            let _ = write_atomic(&job.error_file(i), format!("{e:#}\n").as_bytes());
            Err(e.context(format!("task {i}")))
        }
    }
}

fn emit(printer: &Printer, i: usize, skipped: bool, started: Instant) -> anyhow::Result<()> {
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "run",
            "task": i,
            "skipped": skipped,
            "elapsed_s": started.elapsed().as_secs_f64(),
        }))?;
    }
    Ok(())
}

/// Does the work of task `i` in a private folder and publishes it with one
/// rename.
fn attempt(job: &Job, i: usize, printer: &Printer, started: Instant) -> anyhow::Result<Done> {
    let tasks = job.dir.join("tasks");
    let prefix = format!(".{i:06}.partial-");
    // What an interrupted attempt left (a stale result too) is replaced.
    if let Ok(rd) = std::fs::read_dir(&tasks) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let final_dir = job.task_dir(i);
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .with_context(|| format!("{}: cannot replace a stale result", final_dir.display()))?;
    }
    let partial = tasks.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&partial)
        .with_context(|| format!("{}: cannot write in the job directory", partial.display()))?;
    let spec = job.manifest.tasks[i];
    let mut done = Done {
        task: i,
        job: job.manifest.job.clone(),
        files: Vec::new(),
        counts: None,
        records: Vec::new(),
        elapsed_s: 0.0,
    };
    match (job.manifest.split, job.verb()?) {
        (Split::Tiles, Verb::Reconstruct(args)) => {
            let [x, y, w, h] = spec
                .window
                .context("tasks.json: a tile task without its window; plan the job again")?;
            let tile = Window { x, y, w, h };
            let setup = Setup::new(&args)?;
            done.counts = Some(reconstruct_tile(&setup, args.block, tile, &partial)?);
            if job.manifest.job.layout == Layout::Tiles {
                write_tile_products(&args, &setup, tile, &partial, &mut done)?;
            } else {
                for name in ["data.tif", "quality.tif"] {
                    done.files
                        .push(TaskFile::of(&partial.join(name), name.into())?);
                }
            }
        }
        (Split::Inputs, Verb::Convert(args)) => {
            let input = spec
                .input
                .context("tasks.json: an input task without its input; plan the job again")?;
            let rec = crate::commands::convert::convert_input(&args, input, printer)?;
            let path = std::path::absolute(&rec.path)?;
            done.files.push(TaskFile::of(&path, path.clone())?);
            let mut v = serde_json::to_value(&rec)?;
            v["path"] = serde_json::json!(path);
            done.records.push(v);
        }
        (Split::Whole, Verb::Convert(mut args)) => {
            // The plan refused an existing output: what is there now is an
            // earlier attempt of this task.
            args.overwrite = true;
            // Its own JSON summary would mix with the task's.
            let silent = crate::printer::Printer::new(true, false);
            let inner = if printer.json() { &silent } else { printer };
            let code = crate::commands::convert::run(&args, inner)?;
            if code != ExitCode::SUCCESS {
                bail!("arco convert did not succeed");
            }
            for f in files_under(&std::path::absolute(&args.output)?)? {
                done.files.push(TaskFile::of(&f, f.clone())?);
            }
        }
        (split, _) => {
            bail!("tasks.json: a {split:?} split does not fit the job's verb; plan the job again")
        }
    }
    done.elapsed_s = started.elapsed().as_secs_f64();
    write_atomic(
        &partial.join("done.json"),
        serde_json::to_string_pretty(&done)?.as_bytes(),
    )?;
    if let Err(e) = std::fs::rename(&partial, &final_dir) {
        // Another attempt of the same task finished first: keep its result.
        let _ = std::fs::remove_dir_all(&partial);
        if verify(job, i).is_none() {
            return Err(e).with_context(|| {
                format!("{}: cannot publish the task's result", final_dir.display())
            });
        }
    }
    Ok(done)
}

/// Reconstructs one tile: the windows of the one-machine run that fall in
/// it, into a data stack and a quality stack (a band per date).
fn reconstruct_tile(
    setup: &Setup,
    block: usize,
    tile: Window,
    dir: &Path,
) -> anyhow::Result<Counts> {
    let n = setup.steps();
    let create = |name: &str, dtype, nodata| {
        BandStack::create(&dir.join(name), n, &setup.grid, tile, dtype, nodata, block)
    };
    let mut data = create("data.tif", setup.dtype, setup.out_nodata)?;
    let mut quality = create("quality.tif", DType::U8, None)?;
    setup.size_cache(block);
    let mut counts = Counts::default();
    for local in Window::tiles(tile.w, tile.h, block) {
        let global = Window {
            x: tile.x + local.x,
            y: tile.y + local.y,
            ..local
        };
        let r = setup.compute(global, &mut counts)?;
        data.write(local, &r.data)?;
        quality.write(local, &r.quality)?;
    }
    data.finish()?;
    quality.finish()?;
    Ok(counts)
}

/// A per-tile layout: the tile's own COGs / cubes in the product directory,
/// made from its stacks (a source per band), with their records.
fn write_tile_products(
    args: &ReconstructArgs,
    setup: &Setup,
    tile: Window,
    dir: &Path,
    done: &mut Done,
) -> anyhow::Result<()> {
    let bands = |name: &str| -> anyhow::Result<Vec<RasterSource>> {
        let path = dir.join(name).to_string_lossy().into_owned();
        (1..=setup.steps())
            .map(|b| Ok(RasterSource::inspect(&path, None, Some(&[b]))?))
            .collect()
    };
    std::fs::create_dir_all(&args.output).with_context(|| {
        format!(
            "{}: cannot create the output directory",
            args.output.display()
        )
    })?;
    let suffix = format!("_x{}_y{}", tile.x, tile.y);
    // Overwrite: what is there is an earlier attempt of this task (the plan
    // refused a product directory that held data files).
    let records = setup.write_files(
        args,
        &bands("data.tif")?,
        &bands("quality.tif")?,
        &suffix,
        true,
    )?;
    for (rec, role) in &records {
        let path = std::path::absolute(&rec.path)?;
        for f in files_under(&path)? {
            done.files.push(TaskFile::of(&f, f.clone())?);
        }
        let mut v = serde_json::to_value(rec)?;
        v["path"] = serde_json::json!(path);
        v["role"] = serde_json::json!(role);
        done.records.push(v);
    }
    // The product holds the tile now.
    std::fs::remove_file(dir.join("data.tif"))?;
    std::fs::remove_file(dir.join("quality.tif"))?;
    Ok(())
}

/// Every file under `path` (itself when it is a file), sorted.
pub fn files_under(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("{}: cannot list", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
