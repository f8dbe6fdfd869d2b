//! Scale-out: one `reconstruct` or `convert` call split into idempotent
//! tasks that any indexed scheduler runs (a Slurm job array, a Kubernetes
//! Indexed Job, GNU parallel), then assembled into the product the
//! one-machine run writes.
//!
//! A job directory holds:
//! - `job.toml`: the verb and its arguments (written by `arco plan`, or by
//!   hand), the tile size and the working directory;
//! - `tasks.json`: the manifest `arco plan` derives from it;
//! - `tasks/NNNNNN/`: one finished task (its files and `done.json` with their
//!   checksums); a task in progress lives in `tasks/.NNNNNN.partial-PID/`
//!   and becomes visible by one rename, so nothing half written looks done;
//! - `logs/`, `slurm.sbatch`, `indexed-job.yaml`: ready to submit.

pub mod finalize;
pub mod plan;
pub mod task;

use super::convert::ConvertArgs;
use super::reconstruct::ReconstructArgs;
use anyhow::{bail, Context};
use clap::Parser;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a user writes in `job.toml` (and `arco plan` writes for them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// `reconstruct` or `convert`.
    pub verb: String,
    /// The verb's arguments, exactly as on one machine (globs are expanded
    /// by `arco plan`, relative to `workdir`).
    pub args: Vec<String>,
    /// Edge of a spatial task in pixels (reconstruct; a multiple of --block).
    #[serde(default = "default_tile_size")]
    pub tile_size: usize,
    /// Folder relative paths in `args` are relative to [default: where
    /// `arco plan` runs].
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Publish the finished product here (a directory or s3://BUCKET/PREFIX).
    #[serde(default)]
    pub publish: Option<String>,
    /// With `publish`: update the stac-geoparquet index too.
    #[serde(default)]
    pub stac_index: bool,
    /// How a tiled job's product is laid out.
    #[serde(default)]
    pub layout: Layout,
}

/// How a tiled job's product is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The files the one-machine run writes (finalize assembles the tiles).
    #[default]
    Assembled,
    /// Each task writes its tile's files and Items (`NAME_DATE_xX_yY.tif`);
    /// finalize only writes the collection: for products too large to
    /// assemble on one machine.
    Tiles,
}

fn default_tile_size() -> usize {
    1024
}

/// How the work is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Spatial tiles of the grid, every date of a tile in one task
    /// (reconstruct: each pixel's series is independent of its neighbours').
    Tiles,
    /// One task per input file (convert to one COG per input).
    Inputs,
    /// The whole call in one task (outputs that cannot be cut).
    Whole,
}

/// One task of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Pixel window `[x, y, width, height]` (tiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<[usize; 4]>,
    /// Input index (inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<usize>,
}

/// `tasks.json`: the job as planned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The spec the tasks were derived from, workdir resolved and globs
    /// expanded: a task only trusts results made under the same one.
    pub job: JobSpec,
    /// How the work is split.
    pub split: Split,
    /// The tasks, by index.
    pub tasks: Vec<TaskSpec>,
}

/// The verbs a job can run, parsed from the job's arguments.
#[derive(Debug, Parser)]
#[command(name = "arco", no_binary_name = true)]
pub enum Verb {
    /// `arco reconstruct ARGS...`
    Reconstruct(Box<ReconstructArgs>),
    /// `arco convert ARGS...`
    Convert(Box<ConvertArgs>),
}

impl Verb {
    /// Parses `verb args...` (as in job.toml).
    pub fn parse(spec: &JobSpec) -> anyhow::Result<Self> {
        let args = strip_global(&spec.args);
        let words = std::iter::once(spec.verb.as_str()).chain(args.iter().map(String::as_str));
        Verb::try_parse_from(words).map_err(|e| {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or_default().trim_start_matches("error: ");
            anyhow::anyhow!(
                "the job's arguments for `arco {}` do not parse: {first} (they are those of the verb on one machine; see arco {} --help)",
                spec.verb,
                spec.verb
            )
        })
    }
}

/// The verb's arguments without arco's global flags (`--quiet`, `--json`,
/// `--threads N`): they belong to each command line (`arco run --threads 4`),
/// not to the job.
pub fn strip_global(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quiet" | "-q" | "--json" => {}
            "--threads" => {
                it.next();
            }
            s if s.starts_with("--threads=") => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

/// An opened job directory.
pub struct Job {
    /// The job directory (absolute).
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
}

impl Job {
    /// Opens `dir/tasks.json`, checks it still matches `job.toml`, and moves
    /// into the job's working directory (the verb's relative paths hold there).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("{}: not a usable path", dir.display()))?;
        let path = dir.join("tasks.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: no job here (missing tasks.json); make one with arco plan --job {} reconstruct|convert ARGS...",
                dir.display(),
                dir.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a job manifest written by arco plan",
                path.display()
            )
        })?;
        let spec = read_spec(&dir)?;
        if !spec.same_job(&manifest.job) {
            bail!(
                "{}: job.toml changed since the job was planned; plan it again (arco plan --job {}) or restore it",
                dir.display(),
                dir.display()
            );
        }
        let workdir = manifest.job.workdir.clone().unwrap_or_else(|| dir.clone());
        std::env::set_current_dir(&workdir).with_context(|| {
            format!("{}: the job's working directory is not reachable from this machine; jobs need a shared file system", workdir.display())
        })?;
        Ok(Self { dir, manifest })
    }

    /// The verb and its parsed arguments.
    pub fn verb(&self) -> anyhow::Result<Verb> {
        Verb::parse(&self.manifest.job)
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.manifest.tasks.len()
    }

    /// Where a finished task's files are.
    pub fn task_dir(&self, i: usize) -> PathBuf {
        self.dir.join("tasks").join(format!("{i:06}"))
    }

    /// Where the error of a failed attempt of task `i` is kept.
    pub fn error_file(&self, i: usize) -> PathBuf {
        self.dir.join("tasks").join(format!("{i:06}.error"))
    }

    /// The mark a successful finalize leaves.
    pub fn finalized_file(&self) -> PathBuf {
        self.dir.join("finalized.json")
    }
}

impl JobSpec {
    /// Whether `planned` (workdir resolved, globs expanded) came from this spec.
    fn same_job(&self, planned: &JobSpec) -> bool {
        self.verb == planned.verb
            && self.tile_size == planned.tile_size
            && self.publish == planned.publish
            && self.stac_index == planned.stac_index
            && self.layout == planned.layout
            && self
                .workdir
                .as_ref()
                .is_none_or(|w| Some(w) == planned.workdir.as_ref())
            && (self.args == planned.args
                || expand_globs(&self.args, planned.workdir.as_deref())
                    .is_ok_and(|a| a == planned.args))
    }
}

/// Reads `dir/job.toml`.
pub fn read_spec(dir: &Path) -> anyhow::Result<JobSpec> {
    let path = dir.join("job.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read the job spec", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}; it takes verb = \"reconstruct\"|\"convert\", args = [...], and optionally tile_size, workdir, publish, stac_index",
            path.display(),
            e.message()
        )
    })
}

/// Expands arguments holding `*`, `?` or `[` in their file name against the
/// files there (sorted), so a hand-written job.toml can say `data/*.tif`.
/// Arguments that match nothing stay as they are (an option value such as
/// `--mask values:1,2` is not a path).
pub fn expand_globs(args: &[String], workdir: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let name = Path::new(a)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(['*', '?', '[']) || a.starts_with('-') {
            out.push(a.clone());
            continue;
        }
        let parent = Path::new(a).parent().unwrap_or(Path::new(""));
        let dir = match workdir {
            Some(w) if parent.is_relative() => w.join(parent),
            _ => parent.to_path_buf(),
        };
        let re = glob_regex(&name)?;
        let mut hits: Vec<String> = match std::fs::read_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        }) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| re.is_match(n))
                .map(|n| parent.join(n).to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        if hits.is_empty() {
            out.push(a.clone());
        } else {
            hits.sort();
            out.extend(hits);
        }
    }
    Ok(out)
}

/// A shell file-name pattern as an anchored regex.
fn glob_regex(pattern: &str) -> anyhow::Result<regex::Regex> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if d == '\\' || d == '^' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                re.push(']');
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).with_context(|| format!("'{pattern}' is not a file-name pattern"))
}

/// The task index: `--task`, else the scheduler's variable.
pub fn task_index(given: Option<usize>) -> anyhow::Result<usize> {
    if let Some(i) = given {
        return Ok(i);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .with_context(|| format!("{var}={v}: not a task index"));
        }
    }
    bail!("which task? pass --task N, or run under a scheduler that sets SLURM_ARRAY_TASK_ID (Slurm job arrays) or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs)")
}

/// Writes `bytes` to `path` through a temporary name in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_sorted_and_leave_other_words() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b_2.tif", "a_1.tif", "a_1.txt"] {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let args: Vec<String> = [
            "x/*.tif",
            "--mask",
            "values:1,2",
            "-o",
            "out",
            "x/[ab]_?.txt",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        // Relative to a workdir holding x/.
        let root = tempfile::tempdir().unwrap();
        std::fs::rename(dir.path(), root.path().join("x")).unwrap();
        let got = expand_globs(&args, Some(root.path())).unwrap();
        assert_eq!(
            got,
            [
                "x/a_1.tif",
                "x/b_2.tif",
                "--mask",
                "values:1,2",
                "-o",
                "out",
                "x/a_1.txt"
            ]
        );
        // A pattern that matches nothing is left for the verb to report.
        let none = expand_globs(&["y/*.tif".to_string()], Some(root.path())).unwrap();
        assert_eq!(none, ["y/*.tif"]);
    }

    #[test]
    fn task_index_prefers_the_flag() {
        assert_eq!(task_index(Some(7)).unwrap(), 7);
    }

    #[test]
    fn job_spec_reads_a_hand_written_toml() {
        let spec: JobSpec = toml::from_str(
            "verb = \"reconstruct\"\nargs = [\"in/*.tif\", \"-o\", \"out\"]\ntile_size = 512\n",
        )
        .unwrap();
        assert_eq!(spec.tile_size, 512);
        assert_eq!(spec.workdir, None);
        assert!(toml::from_str::<JobSpec>("verb = \"x\"\nargs = []\ntiles = 3\n").is_err());
    }

    #[test]
    fn the_example_job_toml_is_a_valid_job() {
        let spec: JobSpec = toml::from_str(include_str!("../../../examples/job.toml")).unwrap();
        assert_eq!(spec.layout, Layout::Tiles);
        assert_eq!(spec.tile_size, 1024);
        let verb = Verb::parse(&spec).unwrap();
        assert!(matches!(verb, Verb::Reconstruct(a) if a.output.ends_with("products/ndvi")));
    }
}
