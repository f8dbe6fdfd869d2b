//! `arco`: turn raw Earth-observation rasters into analysis-ready,
//! cloud-optimized data.

mod cli;
mod commands;
mod printer;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // GDAL prints its own errors to stderr; arco reports them once, in its
    // own words, through the error values instead.
    gdal::config::set_error_handler(|_, _, _| {});

    let printer = printer::Printer::new(cli.global.quiet, cli.global.json);
    if let Some(n) = cli.global.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            printer.error(&format!("--threads {n}: {e}"));
            return ExitCode::from(2);
        }
    }
    match commands::run(cli.command, &printer) {
        Ok(code) => code,
        Err(err) => {
            printer.error(&format!("{err:#}"));
            ExitCode::from(2)
        }
    }
}
