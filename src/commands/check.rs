//! `arco check`: the 4C checks with a human summary or a JSON report, and
//! exit codes for CI (0 all hold, 1 a finding of severity error, 2 the
//! check could not run).

mod remote;

use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_check::cadence::Cadence;
use arco_check::{CheckOptions, Sampling};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  # A product directory written by arco convert / arco reconstruct
  arco check out/ndvi

  # A whole published tree, as CI runs it (exit 1 when a check fails)
  arco check published/catalog.json --format json > report.json

  # Is the monthly series current on 1 March? Land pixels must all be filled.
  arco check out/ndvi --as-of 2026-03-01 --cadence 1M --mask land.gpkg

  # A huge collection: headers, metadata and checksums, pixels of 1 % of rows
  arco check published/ --sample 1%

  # A published S3 store (credentials from the AWS_* variables or AWS_PROFILE)
  arco check s3://eo-data/ndvi/v1 --endpoint http://127.0.0.1:8333

What is checked:
  Complete    every Item and asset the collection implies exists (no missing
              dates at the cadence, no missing tiles), no nodata pixel inside
              the valid-data mask (--mask, else the whole grid), quality
              bands say every pixel was observed or filled
  Consistent  one CRS, resolution, pixel lattice, dtype, nodata, band set or
              table schema across Items; STAC equals what the files say
  Current     the latest date is within one cadence of --as-of (default
              today); the time axis has no holes
  Correct     file:checksum and file:size match the bytes; COG layout (GDAL's
              validator rules); GeoParquet 1.1 metadata; PMTiles header and
              directory; STAC against the official schemas; values within
              the Items' statistics or --range

Exit codes: 0 all hold, 1 a finding of severity error, 2 the check could not run.";

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One line per C, then the findings, worst first.
    Text,
    /// The report as JSON (schemas/check-report.schema.json).
    Json,
}

/// Arguments of `arco check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A product directory, a catalog.json or a collection.json (a published
    /// local tree works too: absolute hrefs under the root's base URL map
    /// back to the local copy), or a published store s3://BUCKET/PREFIX
    /// (copied to a temporary directory, then checked).
    pub path: PathBuf,

    /// S3 endpoint URL for s3:// targets (default: AWS_ENDPOINT_URL_S3,
    /// AWS_ENDPOINT_URL, the profile's, or AWS itself).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Report format (--json is the same as --format json).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Reference date for Current (YYYY-MM-DD) [default: today].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Cadence when the collection declares none: 1M, 16D, 1Y, P1M...
    /// [default: inferred from the dates, and said so in the report].
    #[arg(long, value_name = "STEP")]
    pub cadence: Option<String>,

    /// Valid-data mask: a raster on the product's grid (non-zero = must be
    /// valid) or a vector layer (inside = must be valid) [default: the whole grid].
    #[arg(long, value_name = "FILE")]
    pub mask: Option<PathBuf>,

    /// Valid value range of data bands, MIN,MAX [default: each band's
    /// statistics in its Item].
    #[arg(long, value_name = "MIN,MAX", allow_hyphen_values = true)]
    pub range: Option<String>,

    /// Read pixels of this share of block rows (e.g. 1%, 0.5%). Without it
    /// every pixel is read while the rasters total under 4 GiB, and only
    /// headers, metadata and checksums beyond that (the report says which).
    #[arg(long, value_name = "PERCENT", conflicts_with = "headers_only")]
    pub sample: Option<String>,

    /// Read no pixels: headers, metadata and checksums only.
    #[arg(long)]
    pub headers_only: bool,

    /// Do not verify checksums (only sizes).
    #[arg(long)]
    pub no_checksums: bool,

    /// STAC schema directory (layout of stac-schemas with schema-map.json)
    /// [default: $ARCO_STAC_SCHEMAS, else the user cache].
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,

    /// Skip STAC schema validation.
    #[arg(long, conflicts_with = "schemas")]
    pub no_schemas: bool,
}

fn parse_percent(s: &str) -> anyhow::Result<f64> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n, true),
        None => (t, false),
    };
    let v: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("--sample {s}: give a percentage such as 1% or 0.5%"))?;
    let frac = if pct || v > 1.0 { v / 100.0 } else { v };
    if !(frac > 0.0 && frac <= 1.0) {
        bail!("--sample {s}: give a share between 0 and 100 % (e.g. 1%)");
    }
    Ok(frac)
}

fn options(args: &CheckArgs) -> anyhow::Result<CheckOptions> {
    let mut o = CheckOptions::default();
    if let Some(d) = &args.as_of {
        o.as_of = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--as-of {d}: give a date as YYYY-MM-DD"))?;
    }
    if let Some(c) = &args.cadence {
        o.cadence =
            Some(Cadence::parse(c).with_context(|| {
                format!("--cadence {c}: give a step such as 1M, 16D, 1Y or P1M")
            })?);
    }
    o.mask.clone_from(&args.mask);
    if let Some(r) = &args.range {
        let parts: Vec<f64> = r
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--range {r}: give MIN,MAX (e.g. --range -1,1)"))?;
        match parts[..] {
            [lo, hi] if lo <= hi => o.range = Some((lo, hi)),
            _ => bail!("--range {r}: give MIN,MAX with MIN <= MAX (e.g. --range -1,1)"),
        }
    }
    if args.headers_only {
        o.sampling = Sampling::HeadersOnly;
    } else if let Some(s) = &args.sample {
        o.sampling = Sampling::Fraction(parse_percent(s)?);
    }
    o.checksums = !args.no_checksums;
    o.schemas.clone_from(&args.schemas);
    o.no_schemas = args.no_schemas;
    Ok(o)
}

/// Runs `arco check`.
pub fn run(args: &CheckArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let opts = options(args)?;
    let target = args.path.to_string_lossy().into_owned();
    let copy;
    let local = if target.starts_with("s3://") {
        copy = tempfile::Builder::new()
            .prefix("arco-check-")
            .tempdir()
            .context("cannot create a temporary directory for the store's copy")?;
        let (n, bytes) = remote::mirror(&target, args.endpoint.as_deref(), copy.path())?;
        printer.note(&format!(
            "copied {n} objects ({}) from {target}",
            arco_check::report::human_bytes(bytes)
        ));
        copy.path().to_path_buf()
    } else {
        args.path.clone()
    };
    let bar = printer.progress("check");
    let mut report = arco_check::run(&local, &opts, &bar)?;
    if local != args.path {
        // Name objects as they are in the store, not in the temporary copy.
        let base = format!("{}/", local.display());
        let store = format!("{}/", target.trim_end_matches('/'));
        report.target.clone_from(&target);
        for f in &mut report.findings {
            f.object = f.object.replace(&base, &store);
            f.message = f.message.replace(&base, &store);
        }
    }
    if printer.json() || args.format == ReportFormat::Json {
        printer.emit_json(&report.to_json())?;
    } else {
        for line in report.to_string().lines() {
            printer.line(line);
        }
        let n = report.errors().count();
        printer.line(&if report.ok {
            "arco check: all four Cs hold".to_string()
        } else {
            format!(
                "arco check: {n} error{} (exit 1)",
                if n == 1 { "" } else { "s" }
            )
        });
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_percent;

    #[test]
    fn sample_shares() {
        assert!((parse_percent("1%").unwrap() - 0.01).abs() < 1e-12);
        assert!((parse_percent("0.5%").unwrap() - 0.005).abs() < 1e-12);
        assert!((parse_percent("0.25").unwrap() - 0.25).abs() < 1e-12);
        assert!((parse_percent("50").unwrap() - 0.5).abs() < 1e-12);
        assert!(parse_percent("0%").is_err());
        assert!(parse_percent("abc").is_err());
    }
}
