//! `arco convert --to geoparquet|flatgeobuf`: vector layers through OGR.

use super::{has_ext, ConvertArgs, To};
use crate::printer::Printer;
use anyhow::bail;
use arco_convert::vector::{
    write_flatgeobuf, write_geoparquet, FlatGeobufOptions, GeoParquetOptions, GeometryEncoding,
    TableBuilder, VectorSource,
};
use arco_core::{Progress, Record};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Extensions that name one GeoParquet file.
pub const PARQUET_EXTS: &[&str] = &["parquet", "geoparquet"];
/// Extensions that name one FlatGeobuf file.
pub const FGB_EXTS: &[&str] = &["fgb"];

/// Refuses an -o whose extension names another format.
pub fn validate_output_kind(to: To, output: &Path) -> anyhow::Result<()> {
    let (own, other, other_to) = match to {
        To::Geoparquet => (PARQUET_EXTS, FGB_EXTS, "flatgeobuf"),
        _ => (FGB_EXTS, PARQUET_EXTS, "geoparquet"),
    };
    if has_ext(output, other) || has_ext(output, &["tif", "tiff", "zarr"]) {
        bail!(
            "-o {}: that extension does not fit --to {}; name a .{} file (or use --to {other_to} for .{})",
            output.display(),
            if to == To::Geoparquet { "geoparquet" } else { "flatgeobuf" },
            own[0],
            other[0]
        );
    }
    Ok(())
}

/// Converts each input layer; one output per input.
pub fn run(
    args: &ConvertArgs,
    to: To,
    printer: &Printer,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let ext = if to == To::Geoparquet {
        "parquet"
    } else {
        "fgb"
    };
    let own = if to == To::Geoparquet {
        PARQUET_EXTS
    } else {
        FGB_EXTS
    };
    let single = has_ext(&args.output, own);
    if single && args.inputs.len() > 1 {
        bail!(
            "-o {} names one file but {} inputs were given; pass a directory as -o to get one .{ext} per input",
            args.output.display(),
            args.inputs.len()
        );
    }
    // Open (and so check) every input before writing anything.
    let sources = args
        .inputs
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let src = VectorSource::open(Path::new(i), args.layer.as_deref())?;
            // Only the first keeps its dataset open for reading: hundreds of
            // inputs must not hold hundreds of open files.
            if k > 0 {
                src.release();
            }
            Ok(src)
        })
        .collect::<Result<Vec<_>, arco_convert::ConvertError>>()?;
    let targets: Vec<PathBuf> = if single {
        vec![args.output.clone()]
    } else {
        let stems = sources.iter().map(|s| {
            let stem = s
                .path
                .file_stem()
                .map_or_else(|| "out".into(), |x| x.to_string_lossy().into_owned());
            match &args.layer {
                Some(l) if *l != stem => format!("{stem}_{l}"),
                _ => stem,
            }
        });
        super::directory_targets(&args.output, stems, ext)?
    };
    super::refuse_existing(&targets, args.overwrite)?;
    let encoding = match args.encoding.as_str() {
        "geoarrow" => GeometryEncoding::GeoArrow,
        _ => GeometryEncoding::Wkb,
    };
    if args.row_group_size == 0 {
        bail!("--row-group-size: must be at least 1 (50000-150000 rows suit spatial queries)");
    }
    let mut records: Vec<Record> = Vec::with_capacity(sources.len());
    for (i, (src, target)) in sources.iter().zip(&targets).enumerate() {
        let label = format!(
            "[{}/{}] {}",
            i + 1,
            sources.len(),
            src.path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
        );
        let bar = printer.progress(&label);
        let table = src.read_into::<TableBuilder>(None, &bar)?;
        let rec = if to == To::Geoparquet {
            let opts = GeoParquetOptions {
                sort: !args.no_sort,
                row_group_size: args.row_group_size,
                encoding,
                zstd_level: args.level.unwrap_or(3),
                overwrite: args.overwrite,
            };
            write_geoparquet(src, table, target, &opts, &bar)?
        } else {
            let opts = FlatGeobufOptions {
                index: !args.no_index,
                overwrite: args.overwrite,
            };
            write_flatgeobuf(src, table, target, &opts, &bar)?
        };
        bar.finish();
        records.push(rec);
    }
    // A directory as -o is a product directory: an Item per output and a
    // collection.json beside the data.
    let stac = if single {
        None
    } else {
        super::product_stac(args, &records, None)?
    };
    let format = if to == To::Geoparquet {
        "geoparquet"
    } else {
        "flatgeobuf"
    };
    super::report(format, &records, stac.as_ref(), started, printer, |r| {
        let Some(v) = r.vector.as_ref() else {
            return r.format.label().to_string();
        };
        format!(
            "{}, layer {}, {} feature{}, {}, {} column{}, {}",
            r.format.label(),
            v.layer,
            v.feature_count,
            if v.feature_count == 1 { "" } else { "s" },
            if v.geometry_types.is_empty() {
                "no geometry".to_string()
            } else {
                v.geometry_types.join("/")
            },
            v.columns.len(),
            if v.columns.len() == 1 { "" } else { "s" },
            r.crs.code.as_deref().unwrap_or("no CRS"),
        )
    })
}
