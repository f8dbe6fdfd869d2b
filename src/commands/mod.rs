//! One module per verb.

pub mod convert;
pub mod reconstruct;
pub mod time;
pub mod view;

use crate::cli::Command;
use crate::printer::Printer;
use std::process::ExitCode;

/// Runs a verb; errors become exit code 2 in `main`.
pub fn run(command: Command, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Convert(args) => convert::run(&args, printer),
        Command::Reconstruct(args) => reconstruct::run(&args, printer),
        Command::View(args) => view::run(&args, printer),
    }
}
