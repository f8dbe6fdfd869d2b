//! `arco convert`: rasters to COG or GeoZarr; vector layers to GeoParquet
//! or FlatGeobuf (see `convert/vector.rs`).

mod pmtiles;
mod vector;

use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_convert::grid::ensure_same_grid;
use arco_convert::zarr::{write_geozarr, ZarrCodec, ZarrOptions};
use arco_convert::{cog, CogOptions, Compression, DType, Predictor, RasterSource, Resampling};
use arco_core::Record;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub const EXAMPLES: &str = "\
Examples:
  # One COG, zstd level 9 with predictor, 512 px tiles, average overviews
  arco convert scene.tif --to cog -o scene_cog.tif --level 9

  # A land-cover map with a colour table: overviews use mode automatically
  arco convert landcover.tif -o landcover_cog.tif

  # A NetCDF variable to COG
  arco convert era5.nc --variable t2m -o t2m.tif

  # A dated series to one (time, y, x) GeoZarr cube, dates from file names
  arco convert ndvi_*.tif --to geozarr -o ndvi.zarr --time-from '(\\d{4}-\\d{2}-\\d{2})'

  # The same series to one COG per date in a directory
  arco convert ndvi_*.tif --to cog -o cogs/

  # A vector layer to GeoParquet 1.1 (WKB, bbox covering, Hilbert-ordered rows)
  arco convert roads.gpkg --layer roads -o roads.parquet

  # The same with native GeoArrow geometry, 50k-row groups, input order kept
  arco convert parcels.shp -o parcels.parquet --encoding geoarrow --row-group-size 50000 --no-sort

  # A vector layer to FlatGeobuf with its packed Hilbert R-tree
  arco convert countries.geojson -o countries.fgb

  # Vector tiles (MVT in PMTiles), zooms 0-12; then look at them in a browser
  arco convert roads.fgb -o roads.pmtiles --maxzoom 12
  arco view roads.pmtiles

  # Raster tiles (PNG, nodata transparent) from the native resolution down
  arco convert ndvi_cog.tif -o ndvi.pmtiles

-o names a file when it ends in .tif/.tiff (COG), .zarr (GeoZarr), .parquet
(GeoParquet), .fgb (FlatGeobuf) or .pmtiles (PMTiles); any other path is a
directory that receives one COG, .parquet, .fgb or .pmtiles per input, or one
cube <name>.zarr.

Vector inputs: anything OGR reads (Shapefile, GeoPackage, GeoJSON, GeoJSONSeq,
FlatGeobuf, CSV with a WKT column or x/y, lon/lat columns). Null geometries stay
null and empty ones stay empty (FlatGeobuf: features without geometry, last in
the index). GeoParquet has no M: M values are dropped with a note. FlatGeobuf
has no lists or dates: lists become JSON arrays, dates DateTime columns.
Outputs are written under a temporary name and renamed when complete.";

/// Output formats of `arco convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum To {
    /// Cloud-Optimized GeoTIFF (one per input).
    Cog,
    /// GeoZarr: a Zarr v3 store; several dated inputs become one (time, y, x) cube.
    Geozarr,
    /// GeoParquet 1.1 (vector input).
    Geoparquet,
    /// FlatGeobuf (vector input).
    Flatgeobuf,
    /// PMTiles v3: vector tiles (MVT) from a vector layer, PNG/WebP tiles from a raster.
    Pmtiles,
}

/// Arguments of `arco convert`.
// Command-line flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input rasters: any file GDAL reads (GeoTIFF, NetCDF, HDF4/5, JPEG2000,
    /// GeoPackage, VRT) or a GDAL connection string such as 'NETCDF:"f.nc":var'.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output format [default: from the extension of -o].
    #[arg(long, value_enum)]
    pub to: Option<To>,

    /// Output file (.tif, .zarr) or directory.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,

    /// Replace outputs that already exist.
    #[arg(long)]
    pub overwrite: bool,

    /// Subdataset (NetCDF/HDF variable) to convert.
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub variable: Option<String>,

    /// Bands to keep, 1-based, in output order (e.g. 4,3,2).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "B,..",
        help_heading = "Input"
    )]
    pub bands: Option<Vec<usize>>,

    /// Output data type (uint8, uint16, int16, uint32, int32, float32, float64);
    /// values are converted by GDAL (rounded, clamped).
    #[arg(long, value_name = "TYPE", help_heading = "Input")]
    pub dtype: Option<DType>,

    /// Nodata value to declare; overviews ignore it (e.g. 0, -9999, nan).
    #[arg(
        long,
        value_name = "V",
        allow_hyphen_values = true,
        help_heading = "Input"
    )]
    pub nodata: Option<f64>,

    /// Treat bands as classes (overviews use mode) even without a colour table.
    #[arg(long, help_heading = "Input")]
    pub categorical: bool,

    /// Compression: zstd, deflate, lzw, webp, jpeg or none for COG (webp and
    /// jpeg are lossy and 8-bit, written by GDAL); zstd, blosc, lz4 (blosc with
    /// LZ4: fastest) or none for GeoZarr.
    #[arg(
        long,
        default_value = "zstd",
        value_name = "CODEC",
        help_heading = "Encoding"
    )]
    pub compress: String,

    /// Compression level [default: zstd 3, deflate 6, webp/jpeg quality 75].
    #[arg(long, value_name = "N", help_heading = "Encoding")]
    pub level: Option<i32>,

    /// TIFF predictor: auto (horizontal for integers, float for floats), none,
    /// horizontal or float.
    #[arg(
        long,
        default_value = "auto",
        value_name = "P",
        help_heading = "Encoding"
    )]
    pub predictor: Predictor,

    /// COG tile size in pixels (multiple of 16).
    #[arg(
        long,
        default_value_t = 512,
        value_name = "PX",
        help_heading = "Encoding"
    )]
    pub blocksize: usize,

    /// BigTIFF: auto (when offsets would pass 4 GiB), yes or no.
    #[arg(long, default_value = "auto", value_parser = ["auto", "yes", "no"], help_heading = "Encoding")]
    pub bigtiff: String,

    /// Overview resampling: average, nearest, mode, min or max [default:
    /// average; mode when a band has a colour table or --categorical].
    #[arg(long, value_name = "METHOD", help_heading = "Encoding")]
    pub overview_resampling: Option<Resampling>,

    /// GeoZarr chunk shape: one spatial edge (512) or one value per dimension
    /// (T,Y,X or T,B,Y,X) [default: time 1, band 1, 512 x 512].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "N,..",
        help_heading = "GeoZarr"
    )]
    pub chunks: Option<Vec<usize>>,

    /// GeoZarr shard edge in pixels (a multiple of the chunk edge): many
    /// chunks per file. Note: GDAL older than 3.13 cannot read sharded arrays.
    #[arg(long, value_name = "PX", help_heading = "GeoZarr")]
    pub shard: Option<usize>,

    /// GeoZarr overview levels: a number, or none [default: until one chunk].
    #[arg(long, value_name = "N|none", help_heading = "GeoZarr")]
    pub overviews: Option<String>,

    /// GeoZarr variable name [default: data].
    #[arg(long, value_name = "NAME", help_heading = "GeoZarr")]
    pub name: Option<String>,

    #[command(flatten)]
    pub time: super::time::TimeArgs,

    #[command(flatten)]
    pub stac: super::stac::StacArgs,

    /// Layer to read from a multi-layer vector input (GeoPackage...).
    #[arg(long, value_name = "NAME", help_heading = "Vector")]
    pub layer: Option<String>,

    /// Keep the input order of features instead of sorting them in Hilbert
    /// order (GeoParquet rows; FlatGeobuf sorts whenever it writes an index).
    #[arg(long, help_heading = "Vector")]
    pub no_sort: bool,

    /// GeoParquet rows per row group (50000-150000 suit spatial queries).
    #[arg(
        long,
        default_value_t = 100_000,
        value_name = "N",
        help_heading = "Vector"
    )]
    pub row_group_size: usize,

    /// GeoParquet geometry encoding: wkb, or geoarrow (native; one geometry
    /// type per layer, else WKB with a note).
    #[arg(long, default_value = "wkb", value_parser = ["wkb", "geoarrow"], help_heading = "Vector")]
    pub encoding: String,

    /// FlatGeobuf without the packed Hilbert R-tree (features in input order).
    #[arg(long, help_heading = "Vector")]
    pub no_index: bool,

    /// PMTiles lowest zoom [default: 0].
    #[arg(long, value_name = "Z", help_heading = "PMTiles")]
    pub minzoom: Option<u8>,

    /// PMTiles highest zoom [default: vector: guessed from the detail of the
    /// data, at most 14; raster: the zoom of its native resolution].
    #[arg(long, value_name = "Z", help_heading = "PMTiles")]
    pub maxzoom: Option<u8>,

    /// Raster tile image format: png (lossless, nodata transparent) or webp.
    #[arg(long, default_value = "png", value_parser = ["png", "webp"], value_name = "FMT", help_heading = "PMTiles")]
    pub tile_format: String,

    /// WebP quality 1-100 (lossy) [default: lossless].
    #[arg(long, value_name = "Q", help_heading = "PMTiles")]
    pub quality: Option<u8>,
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn validate_output_kind(to: To, output: &Path) -> anyhow::Result<()> {
    match to {
        To::Cog if has_ext(output, &["zarr"]) => bail!(
            "-o {}: a .zarr path needs --to geozarr (or name a .tif file for --to cog)",
            output.display()
        ),
        To::Geozarr if has_ext(output, &["tif", "tiff"]) => bail!(
            "-o {}: a .tif path needs --to cog (or name a .zarr store for --to geozarr)",
            output.display()
        ),
        To::Geoparquet | To::Flatgeobuf => vector::validate_output_kind(to, output),
        To::Pmtiles => pmtiles::validate_output_kind(output),
        _ => Ok(()),
    }
}

fn format_of(args: &ConvertArgs) -> anyhow::Result<To> {
    let to = match args.to {
        Some(t) => t,
        None if has_ext(&args.output, &["tif", "tiff"]) => To::Cog,
        None if has_ext(&args.output, &["zarr"]) => To::Geozarr,
        None if has_ext(&args.output, vector::PARQUET_EXTS) => To::Geoparquet,
        None if has_ext(&args.output, vector::FGB_EXTS) => To::Flatgeobuf,
        None if has_ext(&args.output, pmtiles::PMTILES_EXTS) => To::Pmtiles,
        None => bail!("--to is required when -o {} has no .tif, .zarr, .parquet, .fgb or .pmtiles extension (use --to cog, geozarr, geoparquet, flatgeobuf or pmtiles)", args.output.display()),
    };
    validate_output_kind(to, &args.output)?;
    Ok(to)
}

fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "{}: cannot create the output directory; check the path and permissions",
            dir.display()
        )
    })
}

fn human_size(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.1} kB", n / 1e3)
    }
}

/// `DIR/STEM.EXT` for each stem, in a directory made when missing; refused
/// when two inputs would write the same file.
fn directory_targets(
    dir: &Path,
    stems: impl IntoIterator<Item = String>,
    ext: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    ensure_dir(dir)?;
    let mut seen = std::collections::HashSet::new();
    stems
        .into_iter()
        .map(|stem| {
            let p = dir.join(format!("{stem}.{ext}"));
            if !seen.insert(p.clone()) {
                bail!(
                    "two inputs would both write {}; convert them in separate calls",
                    p.display()
                );
            }
            Ok(p)
        })
        .collect()
}

/// Refuses existing outputs before any work (unless --overwrite), so a
/// batch never stops half way on this.
fn refuse_existing(targets: &[PathBuf], overwrite: bool) -> anyhow::Result<()> {
    if !overwrite {
        if let Some(t) = targets.iter().find(|t| t.exists()) {
            bail!(
                "{}: already exists (pass --overwrite to replace it)",
                t.display()
            );
        }
    }
    Ok(())
}

/// The STAC of a product directory: an Item per output and the
/// collection; `variable` names raster data in the Items' bands.
fn product_stac(
    args: &ConvertArgs,
    records: &[Record],
    variable: Option<&str>,
) -> anyhow::Result<Option<arco_catalog::ProductStac>> {
    let outs: Vec<_> = records.iter().map(|r| (r, "data", variable)).collect();
    super::stac::write_product_stac(&args.output, &outs, &args.stac, None)
}

/// The end of every conversion: notes, a line per output (`describe` says
/// what it holds), the STAC and the time, or the JSON summary.
fn report(
    format: &str,
    records: &[Record],
    stac: Option<&arco_catalog::ProductStac>,
    started: Instant,
    printer: &Printer,
    describe: impl Fn(&Record) -> String,
) -> anyhow::Result<ExitCode> {
    let elapsed = started.elapsed().as_secs_f64();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    for r in records {
        for n in &r.notes {
            printer.note(n);
        }
        printer.line(&format!(
            "wrote {} ({}, {})",
            r.path.display(),
            describe(r),
            human_size(r.size)
        ));
    }
    if let Some(st) = stac {
        printer.line(&format!(
            "STAC: {} item{} and {}",
            st.items.len(),
            plural(st.items.len()),
            st.collection.display()
        ));
    }
    printer.line(&format!(
        "{} output{} in {elapsed:.2} s",
        records.len(),
        plural(records.len())
    ));
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "convert",
            "format": format,
            "outputs": records,
            "stac": stac.map(super::stac::summary),
            "elapsed_s": elapsed,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `arco convert`.
pub fn run(args: &ConvertArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let to = format_of(args)?;
    // Bad STAC options fail before any work.
    args.stac.config()?;
    if matches!(to, To::Geoparquet | To::Flatgeobuf) {
        return vector::run(args, to, printer, started);
    }
    if to == To::Pmtiles {
        return pmtiles::run(args, printer, started);
    }
    let sources = args
        .inputs
        .iter()
        .map(|i| RasterSource::inspect(i, args.variable.as_deref(), args.bands.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    // Every block is read once: a cache of one input block row is enough.
    arco_convert::source::size_block_cache(
        &sources,
        args.blocksize.max(
            args.chunks
                .as_ref()
                .and_then(|c| c.last().copied())
                .unwrap_or(512),
        ),
    );
    let records = match to {
        To::Cog => convert_cogs(args, &sources, printer)?,
        To::Geozarr => vec![convert_geozarr(args, &sources, printer)?],
        To::Geoparquet | To::Flatgeobuf | To::Pmtiles => {
            unreachable!("vector outputs return above")
        }
    };
    // A directory as -o is a product directory: an Item beside each product
    // and a collection.json.
    let stac = if has_ext(&args.output, &["tif", "tiff", "zarr"]) {
        None
    } else {
        cog_product_stac(args, &records)?
    };
    let format = if to == To::Cog { "cog" } else { "geozarr" };
    report(format, &records, stac.as_ref(), started, printer, |r| {
        format!(
            "{}, {}x{} {}, {} band{}, {} overview{}",
            r.format.label(),
            r.width,
            r.height,
            r.dtype,
            r.bands.len(),
            if r.bands.len() == 1 { "" } else { "s" },
            r.overviews,
            if r.overviews == 1 { "" } else { "s" },
        )
    })
}

fn cog_options(args: &ConvertArgs) -> anyhow::Result<CogOptions> {
    let compression: Compression = args
        .compress
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--compress: {e}"))?;
    Ok(CogOptions {
        compression,
        level: args.level,
        predictor: args.predictor,
        blocksize: args.blocksize,
        resampling: args.overview_resampling,
        nodata: args.nodata,
        dtype: args.dtype,
        overwrite: args.overwrite,
        categorical: args.categorical,
        bigtiff: match args.bigtiff.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    })
}

/// The COG each input becomes: `-o` itself for one input and a `.tif`
/// name, else `DIR/STEM[_VARIABLE].tif`.
fn cog_targets(args: &ConvertArgs) -> anyhow::Result<Vec<PathBuf>> {
    let single = has_ext(&args.output, &["tif", "tiff"]);
    if single && args.inputs.len() > 1 {
        bail!("-o {} names one file but {} inputs were given; pass a directory as -o to get one COG per input", args.output.display(), args.inputs.len());
    }
    if single {
        return Ok(vec![args.output.clone()]);
    }
    let stems = args.inputs.iter().map(|name| {
        let stem = Path::new(name)
            .file_stem()
            .map_or_else(|| "out".into(), |x| x.to_string_lossy().into_owned());
        match &args.variable {
            Some(v) => format!("{stem}_{v}"),
            None => stem,
        }
    });
    directory_targets(&args.output, stems, "tif")
}

/// Converts input `i` to its COG `target`, with its date when asked for.
fn convert_one_cog(
    args: &ConvertArgs,
    opts: &CogOptions,
    src: &RasterSource,
    target: &Path,
    i: usize,
    printer: &Printer,
) -> anyhow::Result<Record> {
    let label = format!(
        "[{}/{}] {}",
        i + 1,
        args.inputs.len(),
        Path::new(&src.name)
            .file_name()
            .map_or_else(|| src.name.clone(), |f| f.to_string_lossy().into_owned())
    );
    let bar = printer.progress(&label);
    let mut rec = cog::write_cog(src, target, opts, &bar)?;
    // Dates are optional for COGs: attached when asked for.
    if args.time.given() {
        let d = args.time.dates_of(std::slice::from_ref(&args.inputs[i]))?[0];
        rec.datetimes = vec![format!("{}T00:00:00Z", d.format("%Y-%m-%d"))];
    }
    Ok(rec)
}

fn convert_cogs(
    args: &ConvertArgs,
    sources: &[RasterSource],
    printer: &Printer,
) -> anyhow::Result<Vec<Record>> {
    let opts = cog_options(args)?;
    let targets = cog_targets(args)?;
    // Bad dates fail before any work.
    if args.time.given() {
        args.time.dates_of(&args.inputs)?;
    }
    refuse_existing(&targets, opts.overwrite)?;
    sources
        .iter()
        .zip(&targets)
        .enumerate()
        .map(|(i, (src, target))| convert_one_cog(args, &opts, src, target, i, printer))
        .collect()
}

/// How a scale-out job splits a `convert` call: one task per input when
/// each input becomes its own COG in a product directory; else one task.
pub(crate) fn per_input_targets(args: &ConvertArgs) -> anyhow::Result<Option<Vec<PathBuf>>> {
    if format_of(args)? != To::Cog || has_ext(&args.output, &["tif", "tiff"]) {
        return Ok(None);
    }
    args.stac.config()?;
    if args.time.given() {
        args.time.dates_of(&args.inputs)?;
    }
    cog_options(args)?;
    Ok(Some(cog_targets(args)?))
}

/// One input of a per-input job: its COG, replacing what an earlier,
/// interrupted attempt of the same task left.
pub(crate) fn convert_input(
    args: &ConvertArgs,
    i: usize,
    printer: &Printer,
) -> anyhow::Result<Record> {
    let src = RasterSource::inspect(
        &args.inputs[i],
        args.variable.as_deref(),
        args.bands.as_deref(),
    )?;
    arco_convert::source::size_block_cache(std::slice::from_ref(&src), args.blocksize);
    let opts = CogOptions {
        overwrite: true,
        ..cog_options(args)?
    };
    let target = &cog_targets(args)?[i];
    convert_one_cog(args, &opts, &src, target, i, printer)
}

/// The product STAC of a per-input job's COGs, as `arco convert` writes it.
pub(crate) fn cog_product_stac(
    args: &ConvertArgs,
    records: &[Record],
) -> anyhow::Result<Option<arco_catalog::ProductStac>> {
    let variable = args.name.clone().unwrap_or_else(|| "data".into());
    product_stac(args, records, Some(&variable))
}

fn convert_geozarr(
    args: &ConvertArgs,
    sources: &[RasterSource],
    printer: &Printer,
) -> anyhow::Result<Record> {
    ensure_same_grid(sources)?;
    let codec: ZarrCodec = args
        .compress
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--compress: {e}"))?;
    let overviews = match args.overviews.as_deref() {
        None => None,
        Some("none") => Some(0),
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow::anyhow!("--overviews: '{n}' is not a number or 'none'"))?,
        ),
    };
    let cube = sources.len() > 1 || args.time.given();
    let dates = if cube {
        Some(args.time.dates_of(&args.inputs)?)
    } else {
        None
    };
    let target = if has_ext(&args.output, &["zarr"]) {
        args.output.clone()
    } else {
        ensure_dir(&args.output)?;
        let stem = args
            .name
            .clone()
            .unwrap_or_else(|| super::common_stem(&args.inputs));
        args.output.join(format!("{stem}.zarr"))
    };
    let opts = ZarrOptions {
        chunks: args.chunks.clone(),
        compression: codec,
        level: args.level,
        shard: args.shard,
        overviews,
        resampling: args.overview_resampling,
        nodata: args.nodata,
        dtype: args.dtype,
        overwrite: args.overwrite,
        name: args.name.clone(),
        categorical: args.categorical,
    };
    let bar = printer.progress(
        &target
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
    );
    Ok(write_geozarr(
        sources,
        dates.as_deref(),
        &target,
        &opts,
        &bar,
    )?)
}
