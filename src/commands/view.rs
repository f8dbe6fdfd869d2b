//! `arco view`: what a raster or a GeoZarr store holds; for a PMTiles
//! archive, a local web page that shows it on a map.

mod serve;

use crate::printer::Printer;
use anyhow::Context;
use arco_convert::RasterSource;
use clap::Args;
use gdal::Metadata;
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXAMPLES: &str = "\
Examples:
  arco view scene_cog.tif
  arco view ndvi.zarr --json

  # A map of the tiles in your browser (served on 127.0.0.1 until Ctrl-C)
  arco view roads.pmtiles
  arco view ndvi.pmtiles --port 9000 --no-browser

Any other output can be looked at the same way once tiled:
  arco convert scene_cog.tif -o scene.pmtiles && arco view scene.pmtiles";

/// Arguments of `arco view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// A raster GDAL reads, a GeoZarr store (directory ending in .zarr), or
    /// a PMTiles archive (.pmtiles: served as a map on 127.0.0.1).
    pub file: PathBuf,

    /// Port of the map server for .pmtiles (a free one when it is taken).
    #[arg(long, default_value_t = 8765, value_name = "N")]
    pub port: u16,

    /// Print the map's URL without opening a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// Runs `arco view`.
pub fn run(args: &ViewArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let path = args.file.to_string_lossy().into_owned();
    if args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pmtiles"))
    {
        return serve::run(&args.file, args.port, !args.no_browser, printer);
    }
    if args.file.is_dir() {
        let meta = args.file.join("zarr.json");
        let text = std::fs::read_to_string(&meta).with_context(|| {
            format!(
                "{}: not a Zarr v3 store (no zarr.json)",
                args.file.display()
            )
        })?;
        let root: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON", meta.display()))?;
        let mut arrays = Vec::new();
        for entry in std::fs::read_dir(&args.file)? {
            let entry = entry?;
            let zj = entry.path().join("zarr.json");
            if let Ok(t) = std::fs::read_to_string(&zj) {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                if v["node_type"] == "array" {
                    arrays.push(serde_json::json!({
                        "name": entry.file_name().to_string_lossy(),
                        "shape": v["shape"],
                        "dimension_names": v["dimension_names"],
                        "data_type": v["data_type"],
                        "chunks": v["chunk_grid"]["configuration"]["chunk_shape"],
                    }));
                }
            }
        }
        arrays.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let summary = serde_json::json!({"path": path, "format": "geozarr", "attributes": root["attributes"], "arrays": arrays});
        if printer.json() {
            printer.emit_json(&summary)?;
        } else {
            printer.line(&format!("{path}: Zarr v3 store"));
            for a in &arrays {
                printer.line(&format!(
                    "  {} {} {} dims {} chunks {}",
                    a["name"].as_str().unwrap_or(""),
                    a["data_type"],
                    a["shape"],
                    a["dimension_names"],
                    a["chunks"]
                ));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let src = RasterSource::inspect(&path, None, None)?;
    let ds = src.open()?;
    let band = ds.rasterband(1)?;
    let overviews = band.overview_count()?;
    let layout = ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE");
    let compression = ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE");
    let summary = serde_json::json!({
        "path": path,
        "driver": ds.driver().short_name(),
        "width": src.width,
        "height": src.height,
        "dtype": src.dtype().name(),
        "crs": src.crs.as_ref().map(|c| c.code.clone().unwrap_or_else(|| "custom (WKT)".into())),
        "geotransform": src.geotransform,
        "bbox": src.bbox(),
        "block": band.block_size(),
        "overviews": overviews,
        "layout": layout,
        "compression": compression,
        "bands": src.bands.iter().map(arco_convert::source::BandMeta::record).collect::<Vec<_>>(),
    });
    if printer.json() {
        printer.emit_json(&summary)?;
    } else {
        printer.line(&format!(
            "{path}: {} {}x{} {} x{} bands, CRS {}, block {:?}, {} overviews{}{}",
            ds.driver().short_name(),
            src.width,
            src.height,
            src.dtype(),
            src.bands.len(),
            summary["crs"].as_str().unwrap_or("none"),
            band.block_size(),
            overviews,
            layout.map(|l| format!(", layout {l}")).unwrap_or_default(),
            compression.map(|c| format!(", {c}")).unwrap_or_default(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
