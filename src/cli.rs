//! Command-line definition (clap derive). Each verb's help ends with
//! examples, because that is what people read first.

use clap::{Args, Parser, Subcommand};

/// Turn raw Earth-observation rasters into analysis-ready, cloud-optimized data.
///
/// Exit codes: 0 success, 2 error (bad input, bad option, unwritable output).
#[derive(Debug, Parser)]
#[command(name = "arco", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every verb takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print a machine-readable JSON summary of what was written on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert rasters to Cloud-Optimized GeoTIFF, GeoZarr or PMTiles; vector layers to GeoParquet, FlatGeobuf or PMTiles.
    #[command(after_help = crate::commands::convert::EXAMPLES)]
    Convert(Box<crate::commands::convert::ConvertArgs>),
    /// Fill the gaps of a dated raster series (quality masking, SWAG, Savitzky-Golay).
    #[command(after_help = crate::commands::reconstruct::EXAMPLES)]
    Reconstruct(Box<crate::commands::reconstruct::ReconstructArgs>),
    /// Show what a raster or GeoZarr store holds; show a PMTiles archive on a map in the browser.
    #[command(after_help = crate::commands::view::EXAMPLES)]
    View(crate::commands::view::ViewArgs),
    /// The 4C checks (Complete, Consistent, Current, Correct) with a report and CI exit codes.
    #[command(after_help = crate::commands::check::EXAMPLES)]
    Check(Box<crate::commands::check::CheckArgs>),
    /// STAC: build the root catalog, validate offline, prepare a STAC Index registration.
    Stac(crate::commands::stac::StacCmd),
    /// Search the stac-geoparquet index by bbox, datetime and collection.
    #[command(after_help = crate::commands::search::EXAMPLES)]
    Search(crate::commands::search::SearchArgs),
    /// Publish a product directory to a local directory or S3 (data first, STAC last; idempotent, resumable).
    #[command(after_help = crate::commands::publish::EXAMPLES)]
    Publish(Box<crate::commands::publish::PublishArgs>),
    /// Split a reconstruct or convert call into tasks for Slurm, Kubernetes or any indexed scheduler.
    #[command(after_help = crate::commands::job::plan::EXAMPLES)]
    Plan(crate::commands::job::plan::PlanArgs),
    /// Run one task of a planned job (idempotent: finished tasks are skipped).
    #[command(after_help = crate::commands::job::task::EXAMPLES)]
    Run(crate::commands::job::task::RunArgs),
    /// Assemble a job's tasks into the product, write its STAC, check and publish it.
    #[command(after_help = crate::commands::job::finalize::EXAMPLES)]
    Finalize(crate::commands::job::finalize::FinalizeArgs),
}
