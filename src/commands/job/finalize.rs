//! `arco finalize`: verify (or wait for) every task, assemble the tasks'
//! results into the product the one-machine run writes, write its STAC,
//! check it, and publish it when the job says so.

use super::task::{verify, Done};
use super::{write_atomic, Job, Layout, Split, Verb};
use crate::commands::reconstruct::{scratch_dir, Counts, ReconstructArgs, Setup};
use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_convert::series::{BandStack, Window};
use clap::{Args, Parser};
use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub const EXAMPLES: &str = "\
Examples:
  # After the array finished: assemble, write the STAC, run arco check
  arco finalize --job jobs/ndvi

  # Submitted right after the array, waiting up to 2 hours for it
  arco finalize --job jobs/ndvi --wait 7200

  # Arguments after -- go to the closing arco check (a historical series)
  arco finalize --job jobs/cbers -- --as-of 2019-01-01

Unfinished or failed tasks are listed with the command that reruns them.
Exit codes: 0 done and checked, 1 the closing check found problems, 2 the job
cannot be finalized (tasks missing, bad job).";

/// Arguments of `arco finalize`.
#[derive(Debug, Args)]
pub struct FinalizeArgs {
    /// Job directory made by arco plan.
    #[arg(long, value_name = "DIR")]
    pub job: PathBuf,

    /// Wait up to SECONDS for unfinished tasks (checking every 5 s).
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,

    /// Keep the tasks' intermediate files after success.
    #[arg(long)]
    pub keep_tasks: bool,

    /// Skip the closing arco check.
    #[arg(long)]
    pub no_check: bool,

    /// Arguments for the closing arco check (after --).
    #[arg(last = true, value_name = "CHECK ARGS")]
    pub check: Vec<String>,
}

/// `arco check` arguments alone.
#[derive(Debug, Parser)]
#[command(name = "arco check", no_binary_name = true)]
struct CheckCmd {
    #[command(flatten)]
    args: crate::commands::check::CheckArgs,
}

/// `arco publish` arguments alone.
#[derive(Debug, Parser)]
#[command(name = "arco publish", no_binary_name = true)]
struct PublishCmd {
    #[command(flatten)]
    args: crate::commands::publish::PublishArgs,
}

/// Runs `arco finalize`.
pub fn run(args: &FinalizeArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let json_printer = printer.json().then_some(printer);
    let job = Job::open(&args.job)?;
    if let Ok(text) = std::fs::read_to_string(job.finalized_file()) {
        printer.line(&format!(
            "{}: finalized already ({}); plan a new job to make it again",
            job.dir.display(),
            text.trim()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let verb = job.verb()?;
    let output = match &verb {
        Verb::Reconstruct(a) => a.output.clone(),
        Verb::Convert(a) => a.output.clone(),
    };
    // Bad check arguments fail before any work.
    let check = if args.no_check {
        None
    } else {
        let words = std::iter::once(output.to_string_lossy().into_owned())
            .chain(args.check.iter().cloned());
        Some(CheckCmd::try_parse_from(words).map_err(|e| {
            anyhow::anyhow!(
                "the arguments after -- are not arco check's: {}",
                e.to_string().lines().next().unwrap_or_default()
            )
        })?)
    };
    let dones = wait_for_tasks(&job, args.wait, printer)?;
    // With --json, the steps stay silent and one summary closes the run.
    let silent;
    let printer = if printer.json() {
        silent = Printer::new(true, false);
        &silent
    } else {
        printer
    };
    match (job.manifest.split, verb) {
        (Split::Tiles, Verb::Reconstruct(a)) if job.manifest.job.layout == Layout::Tiles => {
            tile_catalog(&a, &dones, printer, started)?;
        }
        (Split::Tiles, Verb::Reconstruct(mut a)) => {
            assemble(&job, &mut a, &dones, printer, started)?;
        }
        (Split::Inputs, Verb::Convert(a)) => {
            let records = dones
                .iter()
                .flat_map(|d| d.records.iter().cloned())
                .map(arco_core::Record::from_json)
                .collect::<Result<Vec<_>, _>>()
                .context(
                    "a task's done.json holds a record this arco cannot read; rerun the tasks",
                )?;
            let stac = crate::commands::convert::cog_product_stac(&a, &records)?;
            printer.line(&format!(
                "{} COGs in {}{}",
                records.len(),
                a.output.display(),
                stac.map_or_else(String::new, |s| format!(
                    ", STAC: {} items and {}",
                    s.items.len(),
                    s.collection.display()
                ))
            ));
        }
        (Split::Whole, _) => printer.line(&format!(
            "{}: written by the job's one task",
            output.display()
        )),
        (split, _) => {
            bail!("tasks.json: a {split:?} split does not fit the job's verb; plan the job again")
        }
    }

    let mut code = ExitCode::SUCCESS;
    if let Some(check) = check.filter(|_| output.is_dir()) {
        code = crate::commands::check::run(&check.args, printer)?;
    }
    if let Some(dest) = &job.manifest.job.publish {
        if code != ExitCode::SUCCESS {
            bail!(
                "{}: not published to {dest}: the check found problems (see above); fix them and run arco publish {} --to {dest}",
                output.display(),
                output.display()
            );
        }
        let mut words = vec![
            output.to_string_lossy().into_owned(),
            "--to".into(),
            dest.clone(),
        ];
        if job.manifest.job.stac_index {
            words.push("--stac-index".into());
        }
        let publish = PublishCmd::try_parse_from(words)?;
        crate::commands::publish::run(&publish.args, printer)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(json) = json_printer {
        json.emit_json(&serde_json::json!({
            "command": "finalize",
            "job": job.dir,
            "tasks": job.len(),
            "output": std::path::absolute(&output)?,
            "check": if args.no_check { None } else { Some(code == ExitCode::SUCCESS) },
            "published": job.manifest.job.publish,
            "elapsed_s": elapsed,
        }))?;
    }
    write_atomic(
        &job.finalized_file(),
        serde_json::to_string(&serde_json::json!({
            "output": std::path::absolute(&output)?,
            "tasks": job.len(),
            "finalized": arco_catalog::json::now_rfc3339(),
        }))?
        .as_bytes(),
    )?;
    if !args.keep_tasks && job.manifest.split == Split::Tiles {
        // The product holds it all now; the stacks would double the space.
        for i in 0..job.len() {
            for name in ["data.tif", "quality.tif"] {
                let _ = std::fs::remove_file(job.task_dir(i).join(name));
            }
        }
    }
    printer.line(&format!(
        "finalized {} tasks into {} in {elapsed:.2} s",
        job.len(),
        output.display()
    ));
    Ok(code)
}

/// Every task's result, verified; waits up to `wait` seconds for missing
/// ones, then lists them with the commands that rerun them.
fn wait_for_tasks(job: &Job, wait: Option<u64>, printer: &Printer) -> anyhow::Result<Vec<Done>> {
    let deadline = Instant::now() + Duration::from_secs(wait.unwrap_or(0));
    loop {
        let found: Vec<Option<Done>> = (0..job.len())
            .into_par_iter()
            .map(|i| verify(job, i))
            .collect();
        let missing: Vec<usize> = found
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_none())
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        if Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(5));
            continue;
        }
        for &i in missing.iter().take(20) {
            let why = std::fs::read_to_string(job.error_file(i)).map_or_else(
                |_| "not done".into(),
                |e| format!("failed: {}", e.lines().next().unwrap_or_default()),
            );
            printer.note(&format!(
                "task {i} {why}; rerun it with: arco run --job {} --task {i}",
                job.dir.display()
            ));
        }
        if missing.len() > 20 {
            printer.note(&format!("... and {} more", missing.len() - 20));
        }
        bail!(
            "{} of {} tasks are not done; resubmit them (sbatch --array={} {}) and finalize again",
            missing.len(),
            job.len(),
            ranges(&missing),
            job.dir.join("slurm.sbatch").display()
        );
    }
}

/// `0-3,7,9-10` for Slurm's --array.
fn ranges(v: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Copies every tile's stacks into whole-grid frames and writes the outputs
/// from them exactly as `arco reconstruct` does.
fn assemble(
    job: &Job,
    args: &mut ReconstructArgs,
    dones: &[Done],
    printer: &Printer,
    started: Instant,
) -> anyhow::Result<()> {
    let setup = Setup::new(args)?;
    // The plan refused existing outputs; after an interrupted finalize, what
    // exists is its own work.
    let marker = job.dir.join("finalize.started");
    if marker.exists() {
        args.overwrite = true;
    } else {
        setup.refuse_existing(args)?;
        write_atomic(&marker, b"")?;
    }
    let tmp = scratch_dir(args, "finalize")?;
    let (mut data_frames, mut qa_frames) = setup.frames(&tmp.0, args.block)?;
    setup.size_cache(args.block);
    let bar = printer.progress("assemble");
    arco_core::Progress::start(&bar, "tasks", job.len() as u64);
    let mut counts = Counts::default();
    let mut buf = Vec::new();
    for (i, done) in dones.iter().enumerate() {
        let [x, y, w, h] = job.manifest.tasks[i]
            .window
            .context("tasks.json: a tile task without its window; plan the job again")?;
        let dir = job.task_dir(i);
        for local in Window::tiles(w, h, args.block) {
            let global = Window {
                x: x + local.x,
                y: y + local.y,
                ..local
            };
            BandStack::read(&dir.join("data.tif"), local, &mut buf)?;
            data_frames.write(global, &buf)?;
            BandStack::read(&dir.join("quality.tif"), local, &mut buf)?;
            qa_frames.write(global, &buf)?;
        }
        counts += done.counts.unwrap_or_default();
        arco_core::Progress::advance(&bar, 1);
    }
    arco_core::Progress::finish(&bar);
    let data_paths = data_frames.finish()?;
    let qa_paths = qa_frames.finish()?;
    setup.write_outputs(args, &data_paths, &qa_paths, counts, started, printer)?;
    drop(tmp);
    let _ = std::fs::remove_file(marker);
    Ok(())
}

/// A per-tile product: the tiles' files are in place; its STAC is written
/// from their records (an Item per date and tile).
fn tile_catalog(
    args: &ReconstructArgs,
    dones: &[Done],
    printer: &Printer,
    started: Instant,
) -> anyhow::Result<()> {
    let setup = Setup::new(args)?;
    let mut records = Vec::new();
    let mut counts = Counts::default();
    for d in dones {
        counts += d.counts.unwrap_or_default();
        for v in &d.records {
            let role = if v["role"] == "quality" {
                "quality"
            } else {
                "data"
            };
            let rec = arco_core::Record::from_json(v.clone()).context(
                "a task's done.json holds a record this arco cannot read; rerun the tasks",
            )?;
            records.push((rec, role));
        }
    }
    setup.finish(args, &records, counts, started, printer)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn array_ranges_are_compact() {
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(ranges(&[5]), "5");
    }
}
