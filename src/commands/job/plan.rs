//! `arco plan`: split a `reconstruct` or `convert` call into tasks and write
//! the job directory, with what to submit.

use super::{expand_globs, read_spec, write_atomic, JobSpec, Manifest, Split, TaskSpec, Verb};
use crate::commands::reconstruct::Setup;
use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_convert::series::Window;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub const EXAMPLES: &str = "\
Examples:
  # Reconstruct a series in tiles of 1024 px, one Slurm array task per tile
  arco plan --job jobs/ndvi --tile-size 1024 \\
      reconstruct ndvi/*.tif --qa qa/*.tif --mask glad_ard -o products/ndvi --to cog
  sbatch jobs/ndvi/slurm.sbatch                # or: kubectl apply -f jobs/ndvi/indexed-job.yaml
  arco finalize --job jobs/ndvi                # assemble, catalog, check

  # One task per input: a folder of scenes to COGs
  arco plan --job jobs/cogs convert scenes/*.tif --to cog -o products/scenes

  # A job written by hand: jobs/x/job.toml holds
  #   verb = \"reconstruct\"
  #   args = [\"in/*.tif\", \"-o\", \"out\", \"--to\", \"cog,geozarr\"]
  #   tile_size = 512
  arco plan --job jobs/x

Any scheduler that hands out an index runs the tasks: arco run --job DIR --task N,
or N from SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX. A task whose results exist
with matching checksums is skipped, so resubmitting a whole array is safe.";

/// Arguments of `arco plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Job directory (made when missing; it may already hold a job.toml).
    #[arg(long, value_name = "DIR")]
    pub job: PathBuf,

    /// Edge of a spatial task in pixels, a multiple of reconstruct's --block
    /// [default: 1024, or job.toml's tile_size].
    #[arg(long, value_name = "PX")]
    pub tile_size: Option<usize>,

    /// Array tasks the scheduler runs at once (the %K of sbatch --array)
    /// [default: all tasks, at most 64].
    #[arg(long, value_name = "K")]
    pub max_running: Option<usize>,

    /// Publish the product when finalized: a directory or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub publish: Option<String>,

    /// With --publish: update the stac-geoparquet index too.
    #[arg(long, requires = "publish")]
    pub stac_index: bool,

    /// Product layout of a tiled job: the one-machine files (assembled by
    /// finalize), or each tile's own files and Items, for products too large
    /// to assemble on one machine [default: assembled, or job.toml's].
    #[arg(long, value_enum)]
    pub layout: Option<super::Layout>,

    /// The verb and its arguments, exactly as on one machine:
    /// reconstruct ARGS... or convert ARGS... [default: the job's job.toml].
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "VERB ARGS"
    )]
    pub work: Vec<String>,
}

/// What `plan` found: the spec as written, and the split.
struct Planned {
    manifest: Manifest,
    outputs: String,
}

/// Runs `arco plan`.
pub fn run(args: &PlanArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // `--quiet` after the verb was meant for the whole command line.
    let printer = &printer.with_flags_in(&args.work);
    let dir = std::path::absolute(&args.job)
        .with_context(|| format!("{}: not a usable path", args.job.display()))?;
    let hand_written = args.work.is_empty();
    let mut spec = if hand_written {
        if !dir.join("job.toml").is_file() {
            bail!(
                "give the work to split (arco plan --job {} reconstruct|convert ARGS...), or write {}/job.toml",
                args.job.display(),
                args.job.display()
            );
        }
        read_spec(&dir)?
    } else {
        JobSpec {
            verb: args.work[0].clone(),
            args: super::strip_global(&args.work[1..]),
            tile_size: 1024,
            workdir: None,
            publish: None,
            stac_index: false,
            layout: super::Layout::Assembled,
        }
    };
    if let Some(l) = args.layout {
        spec.layout = l;
    }
    if let Some(t) = args.tile_size {
        spec.tile_size = t;
    }
    if args.publish.is_some() {
        spec.publish.clone_from(&args.publish);
        spec.stac_index = args.stac_index;
    }
    if !matches!(spec.verb.as_str(), "reconstruct" | "convert") {
        bail!(
            "arco plan splits reconstruct or convert, not '{}' (arco plan --job DIR reconstruct ARGS...)",
            spec.verb
        );
    }
    if spec.tile_size == 0 {
        bail!("--tile-size must be at least 16 pixels (1024 is the usual choice)");
    }
    let workdir = match &spec.workdir {
        Some(w) => std::path::absolute(w)?,
        None => std::env::current_dir().context("the current directory is not readable")?,
    };
    let mut resolved = spec.clone();
    resolved.args = expand_globs(&spec.args, Some(&workdir))?;
    resolved.workdir = Some(workdir.clone());
    std::env::set_current_dir(&workdir)
        .with_context(|| format!("{}: cannot enter the job's workdir", workdir.display()))?;
    refuse_other_job(&dir, &resolved)?;

    let planned = split(&resolved)?;
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("{}: cannot create the job directory", dir.display()))?;
    std::fs::create_dir_all(dir.join("tasks"))?;
    if !hand_written {
        // Written resolved, so the job runs the same from any folder.
        write_atomic(
            &dir.join("job.toml"),
            toml::to_string(&resolved)?.as_bytes(),
        )?;
    }
    let n = planned.manifest.tasks.len();
    write_atomic(
        &dir.join("tasks.json"),
        serde_json::to_string_pretty(&planned.manifest)?.as_bytes(),
    )?;
    let k = args.max_running.unwrap_or(64).clamp(1, n.max(1));
    let arco = std::env::current_exe().context("cannot find the arco executable")?;
    write_atomic(
        &dir.join("slurm.sbatch"),
        sbatch_script(&arco, &dir, n, k).as_bytes(),
    )?;
    write_atomic(
        &dir.join("indexed-job.yaml"),
        indexed_job(&dir, &workdir, n, k).as_bytes(),
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    let how = match planned.manifest.split {
        Split::Tiles if spec.layout == super::Layout::Tiles => format!(
            "tiles of {} px, every date in each; a product per tile",
            spec.tile_size
        ),
        Split::Tiles => format!("tiles of {} px, every date in each", spec.tile_size),
        Split::Inputs => "one per input".to_string(),
        Split::Whole => "the outputs cannot be cut: one task".to_string(),
    };
    printer.line(&format!(
        "{n} task{} ({how}) for {} in {elapsed:.2} s",
        if n == 1 { "" } else { "s" },
        planned.outputs
    ));
    printer.line(&format!("job: {}", dir.display()));
    printer.line("submit to Slurm (one array task per task, resubmitting is safe):");
    printer.line(&format!("  sbatch {}", dir.join("slurm.sbatch").display()));
    printer.line(&format!(
        "  (or by hand: sbatch --array=0-{}%{k} --wrap '{} run --job {}')",
        n.saturating_sub(1),
        arco.display(),
        dir.display()
    ));
    printer.line(&format!(
        "on Kubernetes: kubectl apply -f {} (set the image and volume first)",
        dir.join("indexed-job.yaml").display()
    ));
    printer.line(&format!(
        "anywhere: arco run --job {} --task N   for N in 0..{}",
        dir.display(),
        n.saturating_sub(1)
    ));
    printer.line(&format!("then: arco finalize --job {}", dir.display()));
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "plan",
            "job": dir,
            "tasks": n,
            "split": planned.manifest.split,
            "max_running": k,
            "sbatch": dir.join("slurm.sbatch"),
            "indexed_job": dir.join("indexed-job.yaml"),
            "elapsed_s": elapsed,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A job directory with finished tasks of another job is not reused: its
/// results would be mixed with this job's.
fn refuse_other_job(dir: &Path, spec: &JobSpec) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join("tasks.json")) else {
        return Ok(());
    };
    let old: Option<Manifest> = serde_json::from_str(&text).ok();
    if old.is_some_and(|m| &m.job == spec) {
        return Ok(());
    }
    let has_results = std::fs::read_dir(dir.join("tasks")).is_ok_and(|mut rd| rd.next().is_some());
    if has_results {
        bail!(
            "{}: holds the results of another job; use a new --job directory (or delete this one)",
            dir.display()
        );
    }
    Ok(())
}

/// Splits the verb's work into tasks, checking its arguments and inputs as
/// the verb would, and refusing outputs that exist (unless --overwrite).
fn split(spec: &JobSpec) -> anyhow::Result<Planned> {
    let (split, tasks, outputs) = match Verb::parse(spec)? {
        Verb::Reconstruct(args) => {
            if args.band.len() > 1 {
                bail!(
                    "a job fills one band: plan one job per band (--band N), each with its own -o"
                );
            }
            let setup = Setup::new(&args)?;
            setup.refuse_existing(&args)?;
            if !spec.tile_size.is_multiple_of(args.block) {
                bail!(
                    "--tile-size {} must be a multiple of reconstruct's --block {} (tasks then cut the grid along the windows the one-machine run uses, so the results do not depend on the split)",
                    spec.tile_size,
                    args.block
                );
            }
            if spec.layout == super::Layout::Tiles && !args.overwrite {
                // Any file of the product's name would be mixed with the tiles.
                if let Some(p) = tile_products_present(&args.output) {
                    bail!(
                        "{}: already exists (pass --overwrite to replace it)",
                        p.display()
                    );
                }
            }
            let tasks = Window::tiles(setup.grid.width, setup.grid.height, spec.tile_size)
                .into_iter()
                .map(|w| TaskSpec {
                    window: Some([w.x, w.y, w.w, w.h]),
                    input: None,
                })
                .collect();
            let what = format!(
                "a {}x{} grid of {} dates",
                setup.grid.width,
                setup.grid.height,
                setup.steps()
            );
            (Split::Tiles, tasks, what)
        }
        Verb::Convert(args) => {
            if spec.layout == super::Layout::Tiles {
                bail!("--layout tiles applies to reconstruct jobs; a convert job writes one file per input already");
            }
            let per_input = crate::commands::convert::per_input_targets(&args)?;
            // Outputs that exist are refused, as the verb would.
            let existing = match &per_input {
                Some(targets) => targets.iter().find(|t| t.exists()).cloned(),
                None => args.output.exists().then(|| args.output.clone()),
            };
            if let (false, Some(t)) = (args.overwrite, existing) {
                bail!(
                    "{}: already exists (pass --overwrite to replace it)",
                    t.display()
                );
            }
            if let Some(targets) = per_input {
                let tasks = (0..targets.len())
                    .map(|i| TaskSpec {
                        window: None,
                        input: Some(i),
                    })
                    .collect();
                (Split::Inputs, tasks, format!("{} inputs", targets.len()))
            } else {
                let tasks = vec![TaskSpec {
                    window: None,
                    input: None,
                }];
                (Split::Whole, tasks, format!("{} inputs", args.inputs.len()))
            }
        }
    };
    Ok(Planned {
        manifest: Manifest {
            job: spec.clone(),
            split,
            tasks,
        },
        outputs,
    })
}

/// A data file already in a product directory (a per-tile job writes many
/// names, so any `.tif` or `.zarr` there would mix with them).
fn tile_products_present(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tif" || x == "zarr"))
}

/// A Slurm batch script for the whole array.
fn sbatch_script(arco: &Path, dir: &Path, n: usize, k: usize) -> String {
    let name = dir
        .file_name()
        .map_or_else(|| "job".into(), |f| f.to_string_lossy().into_owned());
    format!(
        "#!/bin/bash
# Written by arco plan. Submit with: sbatch {script}
# One array task per arco task; a task whose results already exist with
# matching checksums is skipped, so resubmitting the whole array is safe.
# To rerun only some tasks: sbatch --array=3,7 {script}
#SBATCH --job-name=arco-{name}
#SBATCH --array=0-{last}%{k}
#SBATCH --output={logs}/task-%a.log
#SBATCH --cpus-per-task=1
exec {arco} run --job {dir} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"
",
        script = dir.join("slurm.sbatch").display(),
        last = n.saturating_sub(1),
        logs = dir.join("logs").display(),
        arco = arco.display(),
        dir = dir.display(),
    )
}

/// A Kubernetes Indexed Job for the same tasks (the image and the shared
/// volume are the user's to fill in).
fn indexed_job(dir: &Path, workdir: &Path, n: usize, k: usize) -> String {
    let name = dir
        .file_name()
        .map_or_else(
            || "job".into(),
            |f| f.to_string_lossy().to_ascii_lowercase(),
        )
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    format!(
        "# Written by arco plan. Fill in the image and the volume that holds
# {workdir} and {dir} at the same paths, then: kubectl apply -f THIS_FILE
apiVersion: batch/v1
kind: Job
metadata:
  name: arco-{name}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {k}
  backoffLimitPerIndex: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: arco
          image: REPLACE-WITH-YOUR-ARCO-IMAGE
          # JOB_COMPLETION_INDEX picks the task
          command: [\"arco\", \"run\", \"--job\", \"{dir}\"]
          resources:
            requests: {{cpu: \"1\", memory: 4Gi}}
          volumeMounts:
            - {{name: work, mountPath: \"{workdir}\"}}
      volumes:
        - name: work
          persistentVolumeClaim: {{claimName: REPLACE-WITH-YOUR-CLAIM}}
",
        workdir = workdir.display(),
        dir = dir.display(),
    )
}
