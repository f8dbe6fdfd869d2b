//! `arco search`: Items of a stac-geoparquet index by bbox, time and
//! collection, as JSON lines, a table, or (with --json) a FeatureCollection.

use crate::printer::Printer;
use anyhow::bail;
use arco_catalog::index::parse_datetime;
use arco_catalog::Query;
use clap::{Args, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  # Items over a box (west,south,east,north in degrees) during 2020, as JSON lines
  arco search stac/items.parquet --bbox -54,-12,-52,-10 --datetime 2020-01-01/2020-12-31

  # One collection, as a table
  arco search stac/ --collection ndvi --format table

  # From a date on, across the antimeridian (west > east)
  arco search stac/ --bbox 170,-20,-170,-10 --datetime 2021-06-01/..

INDEX is the items.parquet written by arco stac catalog --index or
arco publish --stac-index, or the directory that holds it.";

/// Output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// One Item per line (JSON).
    Jsonl,
    /// A table: collection, id, datetime, bbox, first asset.
    Table,
}

/// Arguments of `arco search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The index: items.parquet, or the directory holding it.
    #[arg(value_name = "INDEX")]
    pub index: PathBuf,

    /// West,south,east,north in WGS84 degrees (west > east crosses the antimeridian).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "W,S,E,N",
        allow_hyphen_values = true
    )]
    pub bbox: Option<Vec<f64>>,

    /// A date or time, or a range A/B with .. for an open end (2020-01-01/..).
    #[arg(long, value_name = "A/B")]
    pub datetime: Option<String>,

    /// Collection ids (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub collection: Vec<String>,

    /// At most N Items.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Output form (--json prints a GeoJSON FeatureCollection instead).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Form,
}

fn when(i: &Value) -> String {
    let p = &i["properties"];
    match (p["start_datetime"].as_str(), p["end_datetime"].as_str()) {
        (Some(s), Some(e)) => format!("{s}/{e}"),
        _ => p["datetime"].as_str().unwrap_or("").to_string(),
    }
}

/// Runs `arco search`.
pub fn run(args: &SearchArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let bbox = match &args.bbox {
        None => None,
        Some(b) if b.len() == 4 => {
            if b[1] > b[3] || b.iter().any(|v| !v.is_finite()) {
                bail!("--bbox: south must not be above north (W,S,E,N)");
            }
            Some([b[0], b[1], b[2], b[3]])
        }
        Some(_) => bail!("--bbox takes four numbers W,S,E,N (for example -54,-12,-52,-10)"),
    };
    let datetime = args
        .datetime
        .as_deref()
        .map(parse_datetime)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--datetime: {e}"))?;
    let q = Query {
        bbox,
        datetime,
        collections: args.collection.clone(),
        limit: args.limit,
    };
    let items = arco_catalog::search(&args.index, &q)?;
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "type": "FeatureCollection",
            "features": items,
            "numberMatched": items.len(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        Form::Jsonl => {
            for i in &items {
                printer.line(&serde_json::to_string(i)?);
            }
        }
        Form::Table => {
            let rows: Vec<[String; 5]> = items
                .iter()
                .map(|i| {
                    let bbox = i["bbox"].as_array().map_or_else(String::new, |b| {
                        b.iter()
                            .filter_map(Value::as_f64)
                            .map(|v| format!("{v:.3}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    });
                    let href = i["assets"]
                        .as_object()
                        .and_then(|a| a.values().next())
                        .and_then(|a| a["href"].as_str())
                        .unwrap_or("")
                        .to_string();
                    [
                        i["collection"].as_str().unwrap_or("").to_string(),
                        i["id"].as_str().unwrap_or("").to_string(),
                        when(i),
                        bbox,
                        href,
                    ]
                })
                .collect();
            let head = ["collection", "id", "datetime", "bbox", "asset"];
            let mut w = head.map(str::len);
            for r in &rows {
                for (k, c) in r.iter().enumerate() {
                    w[k] = w[k].max(c.len());
                }
            }
            let fmt = |r: [&str; 5]| {
                r.iter()
                    .enumerate()
                    .map(|(k, c)| format!("{c:<width$}", width = w[k]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            printer.line(&fmt(head));
            for r in &rows {
                printer.line(&fmt([&r[0], &r[1], &r[2], &r[3], &r[4]]));
            }
            printer.note(&format!(
                "{} item{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
