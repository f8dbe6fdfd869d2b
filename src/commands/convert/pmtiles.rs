//! `arco convert --to pmtiles`: vector layers to Mapbox Vector Tiles and
//! rasters to PNG or WebP tiles, each in one PMTiles v3 archive.

use super::{has_ext, ConvertArgs};
use crate::printer::Printer;
use anyhow::bail;
use arco_convert::vector::VectorSource;
use arco_convert::RasterSource;
use arco_core::Record;
use arco_tiles::{RasterTileOptions, TileFormat, VectorOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Extensions that name one PMTiles archive.
pub const PMTILES_EXTS: &[&str] = &["pmtiles"];

/// Extensions of vector files, to report a broken one as a vector error.
const VECTOR_EXTS: &[&str] = &[
    "fgb", "geojson", "json", "geojsonl", "geojsons", "shp", "gpkg", "csv", "gml", "kml", "parquet",
];

/// Refuses an -o whose extension names another format.
pub fn validate_output_kind(output: &Path) -> anyhow::Result<()> {
    if has_ext(
        output,
        &["tif", "tiff", "zarr", "parquet", "geoparquet", "fgb"],
    ) {
        bail!(
            "-o {}: that extension does not fit --to pmtiles; name a .pmtiles file (or a directory)",
            output.display()
        );
    }
    Ok(())
}

enum Input {
    Vector(Box<VectorSource>),
    Raster(Box<RasterSource>),
}

/// Opens an input as a vector layer or a raster, whichever it holds.
fn open_input(input: &str, args: &ConvertArgs) -> anyhow::Result<Input> {
    let path = Path::new(input);
    if args.variable.is_none() {
        let vector = match gdal::Dataset::open(path) {
            Ok(ds) if ds.layer_count() > 0 => ds.raster_count() == 0 || args.layer.is_some(),
            Ok(ds) if ds.raster_count() > 0 => false,
            // Neither (or unreadable): the extension decides which reader
            // explains what is wrong with it.
            _ => path.exists() && has_ext(path, VECTOR_EXTS),
        };
        if vector {
            return Ok(Input::Vector(Box::new(VectorSource::open(
                path,
                args.layer.as_deref(),
            )?)));
        }
    }
    Ok(Input::Raster(Box::new(RasterSource::inspect(
        input,
        args.variable.as_deref(),
        args.bands.as_deref(),
    )?)))
}

fn stem_of(input: &str) -> String {
    Path::new(input)
        .file_stem()
        .map_or_else(|| "tiles".into(), |s| s.to_string_lossy().into_owned())
}

/// Converts each input to one archive.
pub fn run(args: &ConvertArgs, printer: &Printer, started: Instant) -> anyhow::Result<ExitCode> {
    let single = has_ext(&args.output, PMTILES_EXTS);
    if single && args.inputs.len() > 1 {
        bail!(
            "-o {} names one archive but {} inputs were given; pass a directory as -o to get one .pmtiles per input",
            args.output.display(),
            args.inputs.len()
        );
    }
    let format: TileFormat = args
        .tile_format
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--tile-format: {e}"))?;
    if let Some(q) = args.quality {
        if !(1..=100).contains(&q) {
            bail!("--quality {q}: choose 1-100 (WebP), or leave it out for lossless tiles");
        }
    }
    // Open (and so check) every input before writing anything.
    let inputs = args
        .inputs
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let input = open_input(i, args)?;
            // Only the first keeps its vector dataset open: many inputs
            // must not hold as many open files.
            if let (Input::Vector(src), true) = (&input, k > 0) {
                src.release();
            }
            Ok(input)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let targets: Vec<PathBuf> = if single {
        vec![args.output.clone()]
    } else {
        super::directory_targets(
            &args.output,
            args.inputs.iter().map(|i| stem_of(i)),
            "pmtiles",
        )?
    };
    super::refuse_existing(&targets, args.overwrite)?;
    let mut records: Vec<Record> = Vec::with_capacity(inputs.len());
    for (i, (input, target)) in inputs.iter().zip(&targets).enumerate() {
        let label = format!(
            "[{}/{}] {}",
            i + 1,
            inputs.len(),
            Path::new(&args.inputs[i]).file_name().map_or_else(
                || args.inputs[i].clone(),
                |f| f.to_string_lossy().into_owned()
            )
        );
        let bar = printer.progress(&label);
        let rec = match input {
            Input::Vector(src) => {
                let opts = VectorOptions {
                    minzoom: args.minzoom.unwrap_or(0),
                    maxzoom: args.maxzoom,
                    ..VectorOptions::default()
                };
                arco_tiles::vector_to_pmtiles(src, target, args.overwrite, &opts, &bar)?
            }
            Input::Raster(src) => {
                let opts = RasterTileOptions {
                    format,
                    minzoom: args.minzoom.unwrap_or(0),
                    maxzoom: args.maxzoom,
                    quality: args.quality,
                    overwrite: args.overwrite,
                };
                arco_tiles::write_raster_pmtiles(src, target, &opts, &bar)?
            }
        };
        records.push(rec);
    }
    // A directory as -o is a product directory: an Item per output and a
    // collection.json beside the data.
    let stac = if single {
        None
    } else {
        super::product_stac(args, &records, None)?
    };
    super::report("pmtiles", &records, stac.as_ref(), started, printer, |r| {
        let what = match &r.vector {
            Some(v) => format!(
                "vector tiles, layer {}, {} feature{}",
                v.layer,
                v.feature_count,
                if v.feature_count == 1 { "" } else { "s" }
            ),
            None => format!(
                "{} tiles of {}x{} px at max zoom",
                args.tile_format, r.width, r.height
            ),
        };
        format!(
            "PMTiles, {what}, {} zoom level{}",
            r.overviews + 1,
            if r.overviews == 0 { "" } else { "s" }
        )
    })
}
