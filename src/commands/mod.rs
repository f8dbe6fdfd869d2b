//! One module per verb.

pub mod check;
pub mod convert;
pub mod job;
pub mod publish;
pub mod reconstruct;
pub mod search;
pub mod stac;
pub mod time;
pub mod view;

use crate::cli::Command;
use crate::printer::Printer;
use std::path::Path;
use std::process::ExitCode;

/// Runs a verb; errors become exit code 2 in `main`.
pub fn run(command: Command, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Convert(args) => convert::run(&args, printer),
        Command::Reconstruct(args) => reconstruct::run(&args, printer),
        Command::View(args) => view::run(&args, printer),
        Command::Check(args) => check::run(&args, printer),
        Command::Stac(cmd) => stac::run(&cmd, printer),
        Command::Search(args) => search::run(&args, printer),
        Command::Publish(args) => publish::run(&args, printer),
        Command::Plan(args) => job::plan::run(&args, printer),
        Command::Run(args) => job::task::run(&args, printer),
        Command::Finalize(args) => job::finalize::run(&args, printer),
    }
}

/// Longest common prefix of the inputs' file stems, trimmed of separators:
/// `ndvi_2020-01-01.tif`, `ndvi_2020-02-01.tif` -> `ndvi`.
pub fn common_stem(inputs: &[String]) -> String {
    let stems: Vec<String> = inputs
        .iter()
        .map(|i| {
            Path::new(i)
                .file_stem()
                .map_or_else(|| i.clone(), |s| s.to_string_lossy().into_owned())
        })
        .collect();
    let first = stems[0].clone();
    let mut n = first.len();
    for s in &stems[1..] {
        n = n.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let mut prefix = first[..n].to_string();
    if stems.len() > 1 && n < first.len() {
        // The names differ from here on (a date, a tile id): cut back to the
        // last '_' or '.' so "ndvi_2020-0" gives "ndvi" and
        // "S2_B04_2018-02-" gives "S2_B04". Dates use '-', so it is no cut point.
        match prefix.rfind(['_', '.']) {
            Some(i) => prefix.truncate(i),
            None => {
                prefix = prefix
                    .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
                    .to_string();
            }
        }
    }
    let prefix = prefix.trim_end_matches(['_', '-', '.', ' ']).to_string();
    if prefix.is_empty() {
        "data".into()
    } else {
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_stem_of_a_dated_series() {
        let v = vec![
            "a/ndvi_2020-01-01.tif".to_string(),
            "a/ndvi_2020-02-01.tif".to_string(),
        ];
        assert_eq!(common_stem(&v), "ndvi");
        let v = vec![
            "TERRA_MODIS_012010_NDVI_2013-09-14.jp2".to_string(),
            "TERRA_MODIS_012010_NDVI_2014-08-29.jp2".to_string(),
        ];
        assert_eq!(common_stem(&v), "TERRA_MODIS_012010_NDVI");
        assert_eq!(
            common_stem(&["x/2020.tif".to_string(), "x/2021.tif".to_string()]),
            "data"
        );
        let v = vec![
            "CBERS-4_AWFI_022024_B13_2018-02-02.tif".to_string(),
            "CBERS-4_AWFI_022024_B13_2018-02-18.tif".to_string(),
        ];
        assert_eq!(common_stem(&v), "CBERS-4_AWFI_022024_B13");
        assert_eq!(
            common_stem(&[
                "a-2020-01-01.tif".to_string(),
                "a-2020-02-01.tif".to_string()
            ]),
            "a"
        );
        assert_eq!(common_stem(&["scene.tif".to_string()]), "scene");
    }
}
