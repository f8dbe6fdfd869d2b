//! `arco reconstruct`: quality masking, SWAG gap filling and optional
//! Savitzky-Golay smoothing of a dated raster series, written as one COG per
//! date and/or one GeoZarr cube, each with a quality series beside it.
//!
//! The grid is processed window by window (all dates of one window at a
//! time): read every date of the window, mask, fill, smooth, and write the
//! window into temporary per-date frames; the frames then go through the
//! same COG and GeoZarr writers as `arco convert`.

// Hot loops inline into their AVX2 entry (`arco_core::simd::wide`).
#![allow(clippy::inline_always)]

use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_convert::grid::{ensure_same_grid, ensure_same_pixels};
use arco_convert::series::{self, FrameWriter, Grid, SeriesReader, Window};
use arco_convert::zarr::{
    write_geozarr, CubeSample, CubeWindow, CubeWriter, ZarrCodec, ZarrCube, ZarrOptions,
};
use arco_convert::{cog, CogOptions, Compression, DType, RasterSource};
use arco_core::{bigbuf, Record};
use arco_reconstruct::aggregate::{aggregate, assign};
use arco_reconstruct::layout::pixel_to_time_major;
use arco_reconstruct::{
    Cadence, Mask, QaRule, SavGol, Statistic, SwagKernel, SwagParams, ValueTest,
};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod strips;

pub const EXAMPLES: &str = "\
Examples:
  # CBERS 16-day composites with their cloud masks (0 = clear): one COG per date
  arco reconstruct CBERS_B13_*.tif --qa CBERS_CMASK_*.tif --mask cmask -o filled/

  # A GeoZarr cube too, with the causal parameters of the Landsat ARD2 production
  arco reconstruct ndvi_*.tif -o out/ --to cog,geozarr --preset ard2

  # SWAG then Savitzky-Golay smoothing (window 5, order 2)
  arco reconstruct ndvi_*.tif -o out/ --sg 5,2

  # Every band of 4-band rasters, each on its own (outputs named _b1 .. _b4)
  arco reconstruct awfi_*.tif --band 1,2,3,4 -o filled/

  # A cube in, cubes out, a year of 16-day dates per chunk (for time series reads)
  arco reconstruct ndvi.zarr -o out/ --to geozarr --chunks 23,512,512

Quality outputs (uint8, one per date): 100 = observed, 1-99 = filled, with
the share (percent) of the best possible kernel weight behind the value,
0 = could not be filled (no valid sample within reach).";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Out {
    /// One COG per date.
    Cog,
    /// One GeoZarr cube.
    Geozarr,
}

/// Aggregation statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stat {
    /// Mean of the clear samples.
    Mean,
    /// Median of the clear samples.
    Median,
    /// Mean weighted by each image's clear fraction.
    Weighted,
}

/// SWAG parameter presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Two-sided 60/20 dB (the method's library default).
    Symmetric,
    /// Causal 45/46 dB (Landsat ARD2 bimonthly production).
    Ard2,
    /// 40/20 dB with future weight 0.1 (the authors' later runs).
    Tsirf2024,
}

/// Arguments of `arco reconstruct`.
#[derive(Debug, Clone, Args)]
pub struct ReconstructArgs {
    /// Dated rasters on one grid (dates from the file names, or --dates).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output directory.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,

    /// Output formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cog")]
    pub to: Vec<Out>,

    /// Replace outputs that already exist.
    #[arg(long)]
    pub overwrite: bool,

    /// Bands of the inputs to reconstruct (1-based), comma-separated. With
    /// more than one, each band is filled on its own and its outputs are
    /// named with `_b<N>` (`ndvi_b2_2021-01-01.tif`, `ndvi_b2.zarr`).
    #[arg(long, default_value = "1", value_delimiter = ',', value_name = "N,...")]
    pub band: Vec<usize>,

    /// Added to the output names (`_b<N>` when several bands are filled).
    #[arg(skip)]
    pub suffix: String,

    /// Quality rasters, one per input date (paired by the date in their names).
    #[arg(long, num_args = 1.., value_name = "QA", help_heading = "Masking")]
    pub qa: Vec<String>,

    /// Which quality values are clear: a preset (glad_ard: 1,2,5,6,11-17;
    /// cmask: 0; modis_reliability: 0-1), values:1,2,5-6, not:255, or bits:MASK=VALUE.
    #[arg(long, value_name = "RULE", help_heading = "Masking")]
    pub mask: Option<QaRule>,

    /// Data value that means no data [default: the inputs' nodata].
    #[arg(
        long,
        value_name = "V",
        allow_hyphen_values = true,
        help_heading = "Masking"
    )]
    pub nodata: Option<f64>,

    /// Valid data range LO,HI; values outside are masked.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LO,HI",
        allow_hyphen_values = true,
        help_heading = "Masking"
    )]
    pub valid_range: Option<Vec<f64>>,

    /// Regroup to a regular cadence before filling: 16D, 1M, 2M (bimonthly), 1Y...
    /// Frames start on the calendar (1 January, month starts).
    #[arg(long, value_name = "CADENCE", help_heading = "Aggregation")]
    pub aggregate: Option<Cadence>,

    /// Statistic of the clear samples of each frame: mean, median, or
    /// weighted (mean weighted by each image's clear fraction within the
    /// processing window, as the Landsat ARD2 production did per scene).
    #[arg(long, value_enum, default_value = "mean", help_heading = "Aggregation")]
    pub stat: Stat,

    /// SWAG parameter preset.
    #[arg(
        long,
        value_enum,
        default_value = "symmetric",
        help_heading = "Gap filling (SWAG)"
    )]
    pub preset: Preset,

    /// Samples per year [default: from the median spacing of the dates].
    #[arg(long, value_name = "P", help_heading = "Gap filling (SWAG)")]
    pub season: Option<usize>,

    /// Seasonal attenuation in dB [default: from --preset].
    #[arg(long, value_name = "DB", help_heading = "Gap filling (SWAG)")]
    pub att_seas: Option<f64>,

    /// Envelope attenuation in dB over the series [default: from --preset].
    #[arg(long, value_name = "DB", help_heading = "Gap filling (SWAG)")]
    pub att_env: Option<f64>,

    /// Weight of the future: 0 causal .. 1 symmetric [default: from --preset].
    #[arg(long, value_name = "F", help_heading = "Gap filling (SWAG)")]
    pub future: Option<f64>,

    /// Savitzky-Golay smoothing after SWAG: WINDOW,ORDER (odd window).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "W,O",
        help_heading = "Smoothing"
    )]
    pub sg: Option<Vec<usize>>,

    #[command(flatten)]
    pub time: super::time::TimeArgs,

    #[command(flatten)]
    pub stac: super::stac::StacArgs,

    /// Window edge in pixels processed at once, a multiple of 16
    /// (memory: about edge^2 x dates x 40 bytes), when the outputs go
    /// through per-date frames: `--to cog,geozarr`, and grids too large for
    /// strips. Not used with `--to geozarr` alone (the unit is a chunk of
    /// the cubes, 512 px; with a cube input, whole chunks of both), nor with
    /// `--to cog` alone when the COGs are written straight from strips of
    /// one tile row (a strip of at most 1 Mpx, and at most 2 GiB of
    /// uncompressed outputs).
    #[arg(long, default_value_t = 256, value_name = "PX")]
    pub block: usize,

    /// Compression of the outputs: zstd, deflate, lzw or none for COGs;
    /// zstd, lz4 (blosc with LZ4: the fastest, larger chunks), blosc or none
    /// for the GeoZarr cubes. The quality outputs use the same codec at its
    /// default level (zstd: 1).
    #[arg(
        long,
        default_value = "zstd",
        value_name = "CODEC",
        help_heading = "Encoding"
    )]
    pub compress: String,

    /// Chunk shape of the GeoZarr cubes: EDGE (EDGE x EDGE pixels, one date
    /// per chunk: quick to read one date's map) or DATES,Y,X. Chunks that
    /// span dates (for example 23,256,256) suit reading pixel time series
    /// and write fewer files [default: 1,512,512].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "EDGE|T,Y,X",
        help_heading = "Encoding"
    )]
    pub chunks: Option<Vec<usize>>,

    /// Compression level of the data outputs [default: zstd 1 for the cubes
    /// (as small as level 3 on filled series, and faster) and 3 for COGs,
    /// deflate 6, blosc and lz4 5].
    #[arg(long, value_name = "N", help_heading = "Encoding")]
    pub level: Option<i32>,
}

impl ReconstructArgs {
    /// The band of a one-band run.
    fn one_band(&self) -> anyhow::Result<usize> {
        match self.band[..] {
            [b] => Ok(b),
            _ => bail!(
                "this step fills one band at a time; give one --band (or run `arco reconstruct`, which fills several in turn)"
            ),
        }
    }

    /// The bands asked for, checked: at least one, none twice.
    fn bands(&self) -> anyhow::Result<Vec<usize>> {
        let mut seen = std::collections::BTreeSet::new();
        for &b in &self.band {
            if b == 0 || !seen.insert(b) {
                bail!(
                    "--band {b}: bands are 1-based and each is given once (for example --band 1,2)"
                );
            }
        }
        Ok(self.band.clone())
    }

    /// This run for `band` alone, its outputs named with `_b<band>` when
    /// `named`.
    fn for_band(&self, band: usize, named: bool) -> Self {
        let mut one = self.clone();
        one.band = vec![band];
        if named {
            one.suffix = format!("_b{band}");
        }
        one
    }

    /// COG options of the data or quality rasters.
    fn cog_options(&self, role: &str, overwrite: bool) -> anyhow::Result<CogOptions> {
        let compression: Compression = self.compress.parse().map_err(|e: String| {
            anyhow::anyhow!("--compress: {e} (COG takes zstd, deflate, lzw or none)")
        })?;
        if matches!(compression, Compression::Webp | Compression::Jpeg) {
            anyhow::bail!(
                "--compress {}: lossy codecs would change the reconstructed values; use zstd, deflate, lzw or none",
                self.compress
            );
        }
        let quality = role == "quality";
        Ok(CogOptions {
            compression,
            level: if quality { None } else { self.level },
            overwrite,
            resampling: quality.then_some(arco_convert::Resampling::Mode),
            ..CogOptions::default()
        })
    }

    /// GeoZarr options of the `data` or `quality` cube. Both cubes are
    /// compressed at zstd level 1 by default: the low bits of filled values
    /// do not compress, and level 3 came out within 0.1 % of level 1's size
    /// on the CBERS, MODIS and benchmark cubes while taking about 15 % more
    /// time; on the quality codes level 1 is about twice as fast as level 3
    /// and smaller too (2.3x against 2.1x on the benchmark's cube).
    fn zarr_options(&self, role: &str, overwrite: bool) -> anyhow::Result<ZarrOptions> {
        let codec: ZarrCodec = self.compress.parse().map_err(|e: String| {
            anyhow::anyhow!("--compress: {e} (the GeoZarr cubes take zstd, lz4, blosc or none)")
        })?;
        let quality = role == "quality";
        let level = match (quality, codec) {
            (true, ZarrCodec::Zstd) => Some(1),
            (true, _) => None,
            (false, ZarrCodec::Zstd) => self.level.or(Some(1)),
            (false, _) => self.level,
        };
        Ok(ZarrOptions {
            overwrite,
            name: quality.then(|| "quality".to_string()),
            resampling: quality.then_some(arco_convert::Resampling::Mode),
            compression: codec,
            level,
            chunks: self.chunks.clone(),
            ..ZarrOptions::default()
        })
    }

    /// Checks `--compress` and `--level` against every output format asked
    /// for, before any work.
    fn check_encoding(&self) -> anyhow::Result<()> {
        if self.to.contains(&Out::Cog) {
            let opts = self.cog_options("data", false)?;
            match (self.level, opts.compression.level_range()) {
                (Some(l), Some((lo, hi))) if !(lo..=hi).contains(&l) => {
                    anyhow::bail!("--level {l}: {} takes {lo}..={hi} for COGs", self.compress)
                }
                (Some(_), None) => {
                    anyhow::bail!("--level: {} has no levels; drop --level", self.compress)
                }
                _ => {}
            }
        }
        if self.to.contains(&Out::Geozarr) {
            let opts = self.zarr_options("data", false)?;
            if let (Some(l), Some((lo, hi))) = (self.level, opts.compression.level_range()) {
                if !(lo..=hi).contains(&l) {
                    anyhow::bail!(
                        "--level {l}: {} takes {lo}..={hi} for the GeoZarr cubes",
                        opts.compression
                    );
                }
            }
            if self.level.is_some() && opts.compression.level_range().is_none() {
                anyhow::bail!("--level: {} has no levels; drop --level", opts.compression);
            }
        }
        if let Some(c) = &self.chunks {
            if !self.to.contains(&Out::Geozarr) {
                anyhow::bail!(
                    "--chunks applies to the GeoZarr cubes: add --to geozarr, or drop --chunks"
                );
            }
            if !matches!(c.len(), 1 | 3) || c.contains(&0) {
                anyhow::bail!(
                    "--chunks takes EDGE or DATES,Y,X, all above 0 (for example --chunks 512 or --chunks 23,256,256)"
                );
            }
        }
        Ok(())
    }
}

/// Per-band pixel counts over all dates.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Counts {
    pub observed: u64,
    pub filled: u64,
    pub unfillable: u64,
    pub masked: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.observed += o.observed;
        self.filled += o.filled;
        self.unfillable += o.unfillable;
        self.masked += o.masked;
    }
}

/// Wall-clock time a run spent in each of its phases (summed over bands
/// and regions), for the summary: where the time of a run goes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Phases {
    /// Reading and decoding the inputs.
    pub read: Duration,
    /// Masking, aggregating, filling and smoothing.
    pub fill: Duration,
    /// Encoding and writing the outputs (frames, COGs, cube chunks).
    pub write: Duration,
}

impl Phases {
    /// Runs `f`, adding its wall-clock time to `phase`.
    fn time<R>(phase: &mut Duration, f: impl FnOnce() -> R) -> R {
        let t0 = Instant::now();
        let r = f();
        *phase += t0.elapsed();
        r
    }

    /// The JSON form, with the rest of `elapsed` (start-up, output layout,
    /// metadata, STAC) as `other`.
    fn json(&self, elapsed: f64) -> serde_json::Value {
        let (r, f, w) = (
            self.read.as_secs_f64(),
            self.fill.as_secs_f64(),
            self.write.as_secs_f64(),
        );
        serde_json::json!({"read": r, "fill": f, "write": w, "other": (elapsed - r - f - w).max(0.0)})
    }
}

impl std::ops::AddAssign for Phases {
    fn add_assign(&mut self, o: Self) {
        self.read += o.read;
        self.fill += o.fill;
        self.write += o.write;
    }
}

/// Removes the frame directory however the command ends.
pub(crate) struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Samples per year from the median spacing of the dates.
fn infer_season(dates: &[NaiveDate]) -> anyhow::Result<usize> {
    let mut gaps: Vec<i64> = dates.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2].max(1) as f64;
    let p = (365.25 / median).round() as usize;
    if p < 1 || gaps[0] as f64 * 2.0 < median || gaps[gaps.len() - 1] as f64 > median * 2.0 {
        bail!("the dates are not evenly spaced (gaps from {} to {} days); pass --season (samples per year)", gaps[0], gaps[gaps.len() - 1]);
    }
    Ok(p)
}

fn swag_params(args: &ReconstructArgs, season: usize) -> SwagParams {
    let mut p = match args.preset {
        Preset::Symmetric => SwagParams::symmetric(season),
        Preset::Ard2 => SwagParams::ard2(season),
        Preset::Tsirf2024 => SwagParams::tsirf2024(season),
    };
    if let Some(v) = args.att_seas {
        p.att_seas = v;
    }
    if let Some(v) = args.att_env {
        p.att_env = v;
    }
    if let Some(v) = args.future {
        p.future = v;
    }
    p
}

/// The method and parameters recorded in the STAC Items (`processing:`).
fn processing_of(
    args: &ReconstructArgs,
    params: &SwagParams,
    stat: Statistic,
    n: usize,
) -> arco_catalog::Processing {
    let sg = args
        .sg
        .as_ref()
        .map(|v| serde_json::json!({"window": v[0], "order": v[1]}));
    let mut lineage = format!(
        "arco reconstruct: SWAG gap filling (season {}, seasonal attenuation {} dB, envelope attenuation {} dB, future weight {}) over {n} dates",
        params.season, params.att_seas, params.att_env, params.future
    );
    if let Some(c) = args.aggregate {
        lineage = format!("{lineage}, after aggregation to {c} ({stat:?})");
    }
    if let Some(v) = &args.sg {
        lineage = format!(
            "{lineage}, then Savitzky-Golay smoothing (window {}, order {})",
            v[0], v[1]
        );
    }
    if args.mask.is_some() {
        lineage.push_str("; quality masking with --qa rasters");
    }
    arco_catalog::Processing {
        lineage: Some(lineage),
        method: Some(serde_json::json!({
            "method": "swag",
            "preset": format!("{:?}", args.preset).to_ascii_lowercase(),
            "swag": {"season": params.season, "att_seas": params.att_seas, "att_env": params.att_env, "future": params.future},
            "savitzky_golay": sg,
            "qa_rule": args.mask.as_ref().map(|m| format!("{m:?}")),
            "valid_range": args.valid_range,
            "nodata": args.nodata,
            "aggregate": args.aggregate.map(|c| serde_json::json!({"cadence": c.to_string(), "statistic": format!("{stat:?}").to_ascii_lowercase()})),
            "band": args.band,
            "dates": n,
        })),
        level: None,
    }
}

/// Sorted inputs with their dates and QA rasters.
struct Series {
    sources: Vec<RasterSource>,
    qa: Vec<RasterSource>,
    dates: Vec<NaiveDate>,
}

/// What is reconstructed: dated rasters (with optional QA rasters), or a
/// `(time, y, x)` GeoZarr cube written by arco.
#[allow(clippy::large_enum_variant)] // one value per run
enum Input {
    Rasters {
        series: Series,
        reader: SeriesReader,
        qa: Option<SeriesReader>,
    },
    Cube(ZarrCube),
}

impl Input {
    fn open(args: &ReconstructArgs) -> anyhow::Result<Self> {
        let one = Path::new(&args.inputs[0]);
        if args.inputs.len() == 1 && one.join("zarr.json").is_file() {
            if !args.qa.is_empty() || args.mask.is_some() {
                bail!("--qa and --mask apply to raster series; in a cube, gaps are its fill value (or use --valid-range)");
            }
            if args.band != [1] {
                bail!(
                    "a cube holds one band: drop --band (or reconstruct the rasters it came from)"
                );
            }
            return Ok(Input::Cube(ZarrCube::open(one, None)?));
        }
        let series = load_series(args)?;
        let reader = SeriesReader::open(&series.sources, args.one_band()?)?;
        let qa = if series.qa.is_empty() {
            None
        } else {
            Some(SeriesReader::open(&series.qa, 1)?)
        };
        Ok(Input::Rasters { series, reader, qa })
    }

    fn dates(&self) -> &[NaiveDate] {
        match self {
            Input::Rasters { series, .. } => &series.dates,
            Input::Cube(c) => &c.dates,
        }
    }

    fn grid(&self) -> Grid {
        match self {
            Input::Rasters { series, .. } => Grid::of(&series.sources[0]),
            Input::Cube(c) => Grid {
                width: c.width,
                height: c.height,
                geotransform: Some(c.geotransform),
                wkt: c.crs.as_ref().map(|x| x.wkt2.clone()),
            },
        }
    }

    fn dtype(&self) -> DType {
        match self {
            Input::Rasters { series, .. } => series.sources[0].dtype(),
            Input::Cube(c) => c.dtype,
        }
    }

    fn nodata(&self) -> Option<f64> {
        match self {
            Input::Rasters { series, .. } => series.sources[0].bands[0].nodata,
            Input::Cube(c) => c.nodata.filter(|v| !v.is_nan()),
        }
    }

    /// Reads a region once, for [`Region::pixels`].
    fn read_region(&self, win: Window) -> anyhow::Result<Region> {
        if let Input::Cube(c) = self {
            return Ok(Region::Cube(c.read_window(win)?));
        }
        let (mut raw, mut qa) = (Vec::new(), Vec::new());
        let has_qa = self.read(win, &mut raw, &mut qa)?;
        Ok(Region::Pixels {
            raw,
            qa: has_qa.then_some(qa),
        })
    }

    /// Reads a window (pixel-major); returns the QA values when there are some.
    fn read(&self, win: Window, data: &mut Vec<f64>, qa: &mut Vec<f64>) -> anyhow::Result<bool> {
        match self {
            Input::Rasters { reader, qa: q, .. } => {
                reader.read(win, data)?;
                if let Some(q) = q {
                    q.read(win, qa)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Input::Cube(c) => {
                c.read(win, data)?;
                Ok(false)
            }
        }
    }
}

/// A region read once: pixel-major values (and QA) from rasters, or a
/// cube's window as stored.
enum Region {
    Pixels { raw: Vec<f64>, qa: Option<Vec<f64>> },
    Cube(CubeWindow),
}

impl Region {
    /// Pixels `ps` pixel-major into `raw` (and `qa`); true when there is QA.
    fn pixels(&self, ps: Range<usize>, raw: &mut Vec<f64>, qa: &mut Vec<f64>, n: usize) -> bool {
        match self {
            Region::Pixels { raw: r, qa: q } => {
                raw.clear();
                raw.extend_from_slice(&r[ps.start * n..ps.end * n]);
                if let Some(q) = q {
                    qa.clear();
                    qa.extend_from_slice(&q[ps.start * n..ps.end * n]);
                }
                q.is_some()
            }
            Region::Cube(c) => {
                c.pixels(ps, raw);
                false
            }
        }
    }
}

fn load_series(args: &ReconstructArgs) -> anyhow::Result<Series> {
    if args.inputs.len() < 2 {
        bail!("reconstruct needs a series: give at least two dated inputs");
    }
    let bands = [args.one_band()?];
    let sources = args
        .inputs
        .iter()
        .map(|i| RasterSource::inspect(i, None, Some(&bands)))
        .collect::<Result<Vec<_>, _>>()?;
    ensure_same_grid(&sources)?;
    let dates = args.time.dates_of(&args.inputs)?;
    let mut order: Vec<usize> = (0..dates.len()).collect();
    order.sort_by_key(|&i| dates[i]);
    for w in order.windows(2) {
        if dates[w[0]] == dates[w[1]] {
            bail!(
                "{} and {} have the same date {}; give one input per date",
                args.inputs[w[0]],
                args.inputs[w[1]],
                dates[w[0]]
            );
        }
    }
    let mut qa = Vec::new();
    if !args.qa.is_empty() {
        if args.mask.is_none() {
            bail!("--qa needs --mask to say which quality values are clear (for example --mask cmask)");
        }
        let qa_dates = args.time.dates_from_names(&args.qa)?;
        let qa_sources = args
            .qa
            .iter()
            .map(|q| RasterSource::inspect(q, None, Some(&[1])))
            .collect::<Result<Vec<_>, _>>()?;
        for &i in &order {
            let Some(j) = qa_dates.iter().position(|d| *d == dates[i]) else {
                bail!(
                    "{}: no quality raster for its date {} among --qa; give one per input date",
                    args.inputs[i],
                    dates[i]
                );
            };
            // QA shares the pixels, usually not the data type.
            ensure_same_pixels(&[sources[i].clone(), qa_sources[j].clone()])?;
            qa.push(qa_sources[j].clone());
        }
    } else if args.mask.is_some() {
        bail!("--mask applies to quality rasters: pass them with --qa");
    }
    let sorted_dates: Vec<NaiveDate> = order.iter().map(|&i| dates[i]).collect();
    let sources = order.into_iter().map(|i| sources[i].clone()).collect();
    Ok(Series {
        sources,
        qa,
        dates: sorted_dates,
    })
}

/// Everything a reconstruction needs, checked once: the one-machine run,
/// every scale-out task and the job's finalize build the same one from the
/// same arguments, so they compute the same values.
pub(crate) struct Setup {
    input: Input,
    filler: Filler,
    out_dates: Vec<NaiveDate>,
    season: usize,
    params: SwagParams,
    date_names: Vec<String>,
    cog_targets: Vec<(PathBuf, PathBuf)>,
    zarr_targets: (PathBuf, PathBuf),
    /// The input grid (every output is on it).
    pub grid: Grid,
    /// The data type of the data outputs.
    pub dtype: DType,
    /// The nodata of the data outputs (unfillable pixels).
    pub out_nodata: Option<f64>,
}

/// The per-pixel work, apart from the reading (GDAL handles stay on one
/// thread): masking, aggregation, filling and smoothing.
struct Filler {
    n_dates: usize,
    /// Output time steps.
    n: usize,
    frame_of: Option<Vec<Option<usize>>>,
    stat: Statistic,
    kernel: SwagKernel,
    sg: Option<SavGol>,
    mask: Mask,
}

impl Filler {
    /// Masks, aggregates, fills and smooths `px` pixels read pixel-major
    /// (`raw[p * dates + t]`, QA alike); adds them to `counts` and hands
    /// each output sample to `emit(p, t, value, quality code)` (NaN when
    /// unfillable), pixel by pixel.
    fn fill_pixels(
        &self,
        raw: &[f64],
        qraw: Option<&[f64]>,
        px: usize,
        counts: &mut Counts,
        mut emit: impl FnMut(usize, usize, f64, u8),
    ) -> anyhow::Result<()> {
        let n = self.n;
        let mut data: Vec<f32> = raw.iter().map(|&v| v as f32).collect();
        let masked = if let Some(qraw) = qraw {
            // Missing QA counts as not clear.
            let qv: Vec<i64> = qraw
                .iter()
                .map(|&v| if v.is_nan() { i64::MIN } else { v as i64 })
                .collect();
            self.mask.apply(&mut data, Some(&qv))?
        } else {
            self.mask.apply::<i64>(&mut data, None)?
        };
        counts.masked += masked as u64;
        if let Some(frame_of) = &self.frame_of {
            let tm = pixel_to_time_major(&data, self.n_dates, px);
            let images: Vec<&[f32]> = tm.chunks_exact(px).collect();
            data = aggregate(&images, frame_of, n, self.stat, None)?;
        }
        // Observed samples are written as read (exact for every input type,
        // though the filling runs in f32), or as their frame's statistic.
        let aggregated: Vec<f64>;
        let exact: &[f64] = if self.frame_of.is_some() {
            aggregated = data.iter().map(|&v| f64::from(v)).collect();
            &aggregated
        } else {
            raw
        };
        let observed: Vec<bool> = data.iter().map(|v| !v.is_nan()).collect();
        let mut qa = vec![0f32; data.len()];
        self.kernel.fill_block_f32(&mut data, &mut qa, px)?;
        let smoothed = match &self.sg {
            Some(sg) => {
                let mut out: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
                for series in out.chunks_exact_mut(n) {
                    if series.iter().all(|v| !v.is_nan()) {
                        sg.smooth(series)?;
                    }
                }
                Some(out)
            }
            None => None,
        };
        let (mut observed_n, mut filled_n) = (0u64, 0u64);
        let mut i = 0;
        for p in 0..px {
            for t in 0..n {
                // Smoothing fills, it does not edit.
                let (v, code) = if observed[i] {
                    observed_n += 1;
                    (exact[i], OBSERVED)
                } else {
                    let v = smoothed.as_ref().map_or(f64::from(data[i]), |o| o[i]);
                    if v.is_nan() {
                        (v, 0)
                    } else {
                        filled_n += 1;
                        (v, filled_code(qa[i]))
                    }
                };
                emit(p, t, v, code);
                i += 1;
            }
        }
        counts.observed += observed_n;
        counts.filled += filled_n;
        counts.unfillable += (px * n) as u64 - observed_n - filled_n;
        Ok(())
    }
}

impl Filler {
    /// True when [`Self::fill_time_major`] gives what [`Self::fill_pixels`]
    /// does: no aggregation and no smoothing (both work on whole series).
    fn time_major_ok(&self) -> bool {
        self.frame_of.is_none() && self.sg.is_none()
    }

    /// [`Self::fill_pixels`] for `m` pixels read time-major as f32 (exact
    /// for the stored type, no QA), writing the outputs in `T` and their
    /// quality codes into one row of `m` per time step (`data[t][p]`,
    /// unfillable samples as `nodata`), with no transposes.
    #[inline(always)]
    fn fill_time_major<T: arco_convert::Sample>(
        &self,
        scratch: &mut GroupScratch,
        m: usize,
        nodata: T,
        counts: &mut Counts,
        data: &mut [&mut [T]],
        quality: &mut [&mut [u8]],
    ) -> anyhow::Result<()> {
        let GroupScratch { x, qa } = scratch;
        // The quality rows first mark the observed samples: the filling
        // keeps them bit for bit, so no copy of the samples is needed to
        // tell them apart afterwards.
        counts.masked += mark_observed(self.mask.value_test()?, x, quality, m);
        // Every weight is written by the filling.
        qa.resize(x.len(), 0.0);
        self.kernel.fill_time_major_f32(x, qa, m)?;
        // Selects, not branches: gaps fall at random, and a mispredicted
        // branch per sample costs more than the arithmetic.
        let (mut observed_n, mut filled_n) = (0u64, 0u64);
        let rows = x.chunks_exact(m).zip(qa.chunks_exact(m));
        for ((d_row, q_row), (f_row, w_row)) in data.iter_mut().zip(quality.iter_mut()).zip(rows) {
            for (((d, q), &f), &w) in d_row.iter_mut().zip(q_row.iter_mut()).zip(f_row).zip(w_row) {
                let (obs, fill) = (*q == OBSERVED, !f.is_nan());
                observed_n += u64::from(obs);
                filled_n += u64::from(!obs & fill);
                let code = if fill { filled_code(w) } else { 0 };
                *q = if obs { OBSERVED } else { code };
                let v = T::from_f64(f64::from(f));
                *d = if fill { v } else { nodata };
            }
        }
        counts.observed += observed_n;
        counts.filled += filled_n;
        counts.unfillable += x.len() as u64 - observed_n - filled_n;
        Ok(())
    }
}

/// The quality code of an observed sample.
const OBSERVED: u8 = 100;

/// Masks the time-major samples `x` (`m` per step) by value, and sets each
/// sample's quality code (one row of `m` per step) to [`OBSERVED`] where it
/// is left valid, 0 elsewhere. Returns how many samples the mask rejected.
#[inline(always)]
fn mark_observed(test: ValueTest, x: &mut [f32], quality: &mut [&mut [u8]], m: usize) -> u64 {
    let mut masked = 0u64;
    for (row, q_row) in x.chunks_exact_mut(m).zip(quality.iter_mut()) {
        for (v, q) in row.iter_mut().zip(q_row.iter_mut()) {
            let bad = test.rejects(*v);
            masked += u64::from(bad);
            *v = if bad { f32::NAN } else { *v };
            *q = if v.is_nan() { 0 } else { OBSERVED };
        }
    }
    masked
}

/// The quality code of a filled sample: the weight fraction in percent,
/// rounded half up (it is never negative), kept within 1..=99.
#[inline]
fn filled_code(weight: f32) -> u8 {
    // Clamped before the cast, NaN to 1 as well (`clamp` would keep NaN):
    // the cast then needs no saturation, and the lanes stay in vector
    // registers.
    #[allow(clippy::manual_clamp)]
    let code = (f64::from(weight) * 100.0 + 0.5).max(1.0).min(99.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 1..=99
    {
        code as u8
    }
}

/// One thread's buffers for the groups it fills, reused from group to group
/// (fresh ones would each cost page faults).
#[derive(Default)]
struct GroupScratch {
    /// The group's samples, time-major, then their filled values.
    x: Vec<f32>,
    /// The weight fraction of each filled sample.
    qa: Vec<f32>,
}

/// Pixels per group of a region: a group's buffers stay in the caches.
const REGION_GROUP: usize = 256;

/// Time-major results of a region: the data in the output type and the
/// quality codes (both `[t * pixels + p]`).
pub(crate) struct RegionResult<T> {
    pub data: Vec<T>,
    pub quality: Vec<u8>,
    pixels: usize,
}

impl<T> RegionResult<T> {
    /// The data, one plane of the region per time step.
    fn data_planes(&self) -> Vec<&[T]> {
        self.data.chunks_exact(self.pixels).collect()
    }

    /// The quality codes, one plane of the region per time step.
    fn quality_planes(&self) -> Vec<&[u8]> {
        self.quality.chunks_exact(self.pixels).collect()
    }
}

/// Splits `planes` (one per time step, `px` samples each) into the columns
/// of each group of [`REGION_GROUP`] pixels: one row of the group per time
/// step. Groups own disjoint parts, so they are filled in parallel in place.
fn group_columns<'a, T: 'a>(
    planes: impl Iterator<Item = &'a mut [T]>,
    px: usize,
) -> Vec<Vec<&'a mut [T]>> {
    let mut groups: Vec<Vec<&mut [T]>> =
        (0..px.div_ceil(REGION_GROUP)).map(|_| Vec::new()).collect();
    for plane in planes {
        for (g, row) in groups.iter_mut().zip(plane.chunks_mut(REGION_GROUP)) {
            g.push(row);
        }
    }
    groups
}

/// The samples of `rows` (one per time step) as f32, time-major, the
/// stored fill value (and NaN) as NaN. Exact for the types that
/// [`exact_in_f32`] accepts.
fn gather_f32<T: arco_convert::Sample>(rows: &[&mut [T]], fill: Option<T>, x: &mut Vec<f32>) {
    x.clear();
    for row in rows {
        #[allow(clippy::cast_possible_truncation)] // exact: see exact_in_f32
        x.extend(row.iter().map(|&v| {
            if v.is_nan() || Some(v) == fill {
                f32::NAN
            } else {
                v.to_f64() as f32
            }
        }));
    }
}

/// Types whose every value f32 holds exactly.
fn exact_in_f32(dtype: DType) -> bool {
    matches!(dtype, DType::U8 | DType::U16 | DType::I16 | DType::F32)
}

/// Pixel-major results of one window: values and quality codes.
pub(crate) struct WindowResult {
    pub data: Vec<f64>,
    pub quality: Vec<f64>,
}

impl Setup {
    /// Opens the inputs and checks every option; writes nothing.
    pub fn new(args: &ReconstructArgs) -> anyhow::Result<Self> {
        args.stac.config()?;
        let input = Input::open(args)?;
        let in_dates = input.dates().to_vec();
        let n_dates = in_dates.len();
        // With --aggregate, the series to fill is the frames of the cadence.
        let (out_dates, frame_of) = match args.aggregate {
            Some(c) => {
                let frames = c.frames(in_dates[0], in_dates[n_dates - 1])?;
                let frame_of = assign(&frames, &in_dates);
                (
                    frames.iter().map(|f| f.start).collect::<Vec<_>>(),
                    Some(frame_of),
                )
            }
            None => (in_dates.clone(), None),
        };
        let n = out_dates.len();
        let season = match (args.season, args.aggregate) {
            (Some(p), _) => p,
            (None, Some(c)) => c.season()?,
            (None, None) => infer_season(&in_dates)?,
        };
        let stat = match args.stat {
            Stat::Mean => Statistic::Mean,
            Stat::Median => Statistic::Median,
            Stat::Weighted => Statistic::ClearWeightedMean,
        };
        let params = swag_params(args, season);
        let kernel = SwagKernel::new(n, &params)?;
        if args.sg.as_ref().is_some_and(|v| v.len() != 2) {
            bail!("--sg takes WINDOW,ORDER (for example --sg 5,2)");
        }
        if args
            .valid_range
            .as_ref()
            .is_some_and(|v| v.len() != 2 || v[0] > v[1])
        {
            bail!("--valid-range takes LO,HI with LO <= HI (for example --valid-range 0,10000)");
        }
        let sg = args
            .sg
            .as_ref()
            .map(|v| SavGol::new(v[0], v[1]))
            .transpose()?;
        if let Some(sg) = &sg {
            if sg.window() > n {
                bail!(
                    "--sg window {} is longer than the series ({n} dates); use a shorter window",
                    sg.window()
                );
            }
        }
        if args.block < 16 || !args.block.is_multiple_of(16) {
            bail!(
                "--block {} must be a multiple of 16 (256 is the usual choice)",
                args.block
            );
        }
        let grid = input.grid();
        let dtype = input.dtype();
        let nodata = args.nodata.or(input.nodata());
        let mask = Mask {
            rule: args.mask.clone(),
            nodata,
            valid_range: args.valid_range.as_ref().map(|v| (v[0], v[1])),
        };
        let name = format!("{}{}", super::common_stem(&args.inputs), args.suffix);
        let date_names: Vec<String> = out_dates
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        let cog_targets: Vec<(PathBuf, PathBuf)> = date_names
            .iter()
            .map(|d| {
                (
                    args.output.join(format!("{name}_{d}.tif")),
                    args.output.join(format!("{name}_quality_{d}.tif")),
                )
            })
            .collect();
        let zarr_targets = (
            args.output.join(format!("{name}.zarr")),
            args.output.join(format!("{name}_quality.zarr")),
        );
        // Unfillable pixels need a nodata: the input's, else NaN for floats,
        // else the type's maximum for integers.
        let out_nodata = nodata.or(Some(if dtype.is_float() {
            f64::NAN
        } else {
            dtype.range().1
        }));
        Ok(Self {
            input,
            filler: Filler {
                n_dates,
                n,
                frame_of,
                stat,
                kernel,
                sg,
                mask,
            },
            out_dates,
            season,
            params,
            date_names,
            cog_targets,
            zarr_targets,
            grid,
            dtype,
            out_nodata,
        })
    }

    /// True when the input is a cube with nothing stored in `region`.
    fn input_is_empty(&self, region: Window) -> bool {
        matches!(&self.input, Input::Cube(c) if c.window_is_empty(region))
    }

    /// Rows and columns of the input's chunks, when it is a cube.
    fn input_chunks(&self) -> Option<(usize, usize)> {
        match &self.input {
            Input::Cube(c) => {
                let [_, y, x] = c.chunk_shape();
                Some((y, x))
            }
            Input::Rasters { .. } => None,
        }
    }

    /// Dates of the outputs.
    pub fn steps(&self) -> usize {
        self.out_dates.len()
    }

    /// The files and stores the outputs will be.
    pub fn targets(&self, args: &ReconstructArgs) -> Vec<PathBuf> {
        let mut all = Vec::new();
        if args.to.contains(&Out::Cog) {
            for (a, b) in &self.cog_targets {
                all.extend([a.clone(), b.clone()]);
            }
        }
        if args.to.contains(&Out::Geozarr) {
            all.extend([self.zarr_targets.0.clone(), self.zarr_targets.1.clone()]);
        }
        all
    }

    /// Refuses outputs that exist already, unless --overwrite.
    pub fn refuse_existing(&self, args: &ReconstructArgs) -> anyhow::Result<()> {
        if !args.overwrite {
            if let Some(p) = self.targets(args).iter().find(|p| p.exists()) {
                bail!(
                    "{}: already exists (pass --overwrite to replace it)",
                    p.display()
                );
            }
        }
        Ok(())
    }

    /// Sizes GDAL's block cache for windows of `block` pixels: a window fills
    /// one block of every frame (data and quality), and no frame block
    /// should be compressed twice.
    pub fn size_cache(&self, block: usize) {
        let per_window = block * block * self.steps() * (self.dtype.size() + 1);
        arco_convert::source::cap_block_cache(per_window * 3 / 2 + (64 << 20));
    }

    /// Masks, aggregates, fills and smooths one window; adds its pixels to
    /// `counts`.
    pub fn compute(&self, win: Window, counts: &mut Counts) -> anyhow::Result<WindowResult> {
        self.compute_timed(win, counts, &mut Phases::default())
    }

    /// [`Self::compute`], adding the time it reads and fills to `phases`.
    fn compute_timed(
        &self,
        win: Window,
        counts: &mut Counts,
        phases: &mut Phases,
    ) -> anyhow::Result<WindowResult> {
        let (mut raw, mut qraw) = (Vec::new(), Vec::new());
        let has_qa = Phases::time(&mut phases.read, || {
            self.input.read(win, &mut raw, &mut qraw)
        })?;
        let t0 = Instant::now();
        let len = win.len() * self.steps();
        let mut out = WindowResult {
            data: bigbuf::zeroed(len),
            quality: bigbuf::zeroed(len),
        };
        let n = self.steps();
        let q = has_qa.then_some(&qraw[..]);
        self.filler
            .fill_pixels(&raw, q, win.len(), counts, |p, t, v, code| {
                out.data[p * n + t] = v;
                out.quality[p * n + t] = f64::from(code);
            })?;
        phases.fill += t0.elapsed();
        Ok(out)
    }

    /// Like [`Self::compute`] for a whole `region` (read once), in parallel
    /// over groups of pixels. Returns the region's time-major outputs: the
    /// data in `T`, rounded and clamped, unfillable samples as the output
    /// nodata, and the quality codes.
    pub fn compute_region<T: arco_convert::Sample>(
        &self,
        region: Window,
        counts: &mut Counts,
        phases: &mut Phases,
    ) -> anyhow::Result<RegionResult<T>> {
        let filler = &self.filler;
        let (n_in, n, px) = (filler.n_dates, filler.n, region.len());
        let mut read = Phases::time(&mut phases.read, || self.input.read_region(region))?;
        let t0 = Instant::now();
        let nodata = T::from_f64(self.out_nodata.unwrap_or(f64::NAN));
        // A cube of a type f32 holds exactly, filled time-major: each group
        // writes its results over the samples it read (no second buffer of
        // the region's size to fault in).
        let in_place = match &mut read {
            Region::Cube(cube) if filler.time_major_ok() && exact_in_f32(T::DTYPE) => {
                cube.take_planes::<T>()
            }
            _ => None,
        };
        let fill = self
            .input
            .nodata()
            .map(T::from_f64)
            .filter(|v| Some(v.to_f64()) == self.input.nodata());
        let done_in_place = in_place.is_some();
        let mut out = RegionResult {
            // Fresh buffers are zeroed lazily, by the kernel, as their groups
            // write them in parallel.
            data: in_place.unwrap_or_else(|| bigbuf::zeroed(n * px)),
            quality: bigbuf::zeroed(n * px),
            pixels: px,
        };
        let columns = group_columns(out.data.chunks_exact_mut(px), px)
            .into_iter()
            .zip(group_columns(out.quality.chunks_exact_mut(px), px))
            .enumerate()
            .collect::<Vec<_>>();
        let parts = columns
            .into_par_iter()
            .map_init(
                GroupScratch::default,
                |scratch, (g, (mut data, mut quality))| -> anyhow::Result<Counts> {
                    let ps = g * REGION_GROUP..((g + 1) * REGION_GROUP).min(px);
                    let m = ps.len();
                    let mut c = Counts::default();
                    let time_major = if done_in_place {
                        gather_f32(&data, fill, &mut scratch.x);
                        true
                    } else if let Region::Cube(cube) = &read {
                        filler.time_major_ok() && cube.time_major_f32(ps.clone(), &mut scratch.x)
                    } else {
                        false
                    };
                    if time_major {
                        arco_core::simd::wide(
                            #[inline(always)]
                            || {
                                filler.fill_time_major(
                                    scratch,
                                    m,
                                    nodata,
                                    &mut c,
                                    &mut data,
                                    &mut quality,
                                )
                            },
                        )?;
                    } else {
                        let (mut raw, mut qa) = (Vec::new(), Vec::new());
                        let has_qa = read.pixels(ps, &mut raw, &mut qa, n_in);
                        let q = has_qa.then_some(&qa[..]);
                        filler.fill_pixels(&raw, q, m, &mut c, |p, t, v, code| {
                            data[t][p] = if v.is_nan() { nodata } else { T::from_f64(v) };
                            quality[t][p] = code;
                        })?;
                    }
                    Ok(c)
                },
            )
            .collect::<anyhow::Result<Vec<_>>>()?;
        for c in parts {
            *counts += c;
        }
        phases.fill += t0.elapsed();
        Ok(out)
    }

    /// Temporary per-date frames (data, quality) on the whole grid in `dir`.
    pub fn frames(&self, dir: &Path, block: usize) -> anyhow::Result<(FrameWriter, FrameWriter)> {
        let data_names: Vec<String> = self
            .date_names
            .iter()
            .map(|d| format!("data_{d}.tif"))
            .collect();
        let qa_names: Vec<String> = self
            .date_names
            .iter()
            .map(|d| format!("quality_{d}.tif"))
            .collect();
        Ok((
            FrameWriter::create(
                dir,
                &data_names,
                &self.grid,
                self.dtype,
                self.out_nodata,
                block,
            )?,
            FrameWriter::create(dir, &qa_names, &self.grid, DType::U8, None, block)?,
        ))
    }

    /// Writes the COGs and/or GeoZarr cubes from finished frames, then the
    /// STAC, and prints the summary.
    pub fn write_outputs(
        &self,
        args: &ReconstructArgs,
        data_paths: &[PathBuf],
        qa_paths: &[PathBuf],
        counts: Counts,
        started: Instant,
        printer: &Printer,
    ) -> anyhow::Result<ExitCode> {
        let records = self.write_from_frames(args, data_paths, qa_paths)?;
        self.finish(args, &records, counts, started, printer)
    }

    /// Writes the COGs and/or GeoZarr cubes from finished frames.
    fn write_from_frames(
        &self,
        args: &ReconstructArgs,
        data_paths: &[PathBuf],
        qa_paths: &[PathBuf],
    ) -> anyhow::Result<Vec<(Record, &'static str)>> {
        let open = |paths: &[PathBuf]| -> anyhow::Result<Vec<RasterSource>> {
            Ok(paths
                .iter()
                .map(|p| RasterSource::inspect(&p.to_string_lossy(), None, None))
                .collect::<Result<_, _>>()?)
        };
        self.write_files(
            args,
            &open(data_paths)?,
            &open(qa_paths)?,
            "",
            args.overwrite,
        )
    }

    /// Writes the COGs and/or GeoZarr cubes of one date series per role
    /// (`data`, `quality`: a source per date), their names ending in `suffix`
    /// (a tile's `_x0_y0` in a per-tile layout).
    pub fn write_files(
        &self,
        args: &ReconstructArgs,
        data: &[RasterSource],
        quality: &[RasterSource],
        suffix: &str,
        overwrite: bool,
    ) -> anyhow::Result<Vec<(Record, &'static str)>> {
        let named = |p: &Path| -> PathBuf {
            if suffix.is_empty() {
                return p.to_path_buf();
            }
            let stem = p.file_stem().unwrap_or_default().to_string_lossy();
            let ext = p.extension().unwrap_or_default().to_string_lossy();
            p.with_file_name(format!("{stem}{suffix}.{ext}"))
        };
        let mut records: Vec<(Record, &'static str)> = Vec::new();
        if args.to.contains(&Out::Cog) {
            let opts = args.cog_options("data", overwrite)?;
            let qa_opts = args.cog_options("quality", overwrite)?;
            // Dates in parallel: one date's COG is too small to keep every
            // thread busy (a 512 x 512 frame is a handful of tiles).
            // (Not `self`: it holds the input's GDAL handles.)
            let dates = &self.date_names;
            let pairs = self
                .cog_targets
                .par_iter()
                .enumerate()
                .map(|(i, (dt, qt))| -> anyhow::Result<_> {
                    let none = &arco_core::NoProgress;
                    let rd = cog::write_cog(&data[i], &named(dt), &opts, none)?;
                    let rq = cog::write_cog(&quality[i], &named(qt), &qa_opts, none)?;
                    Ok(dated_pair(rd, rq, &dates[i]))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            records.extend(pairs.into_iter().flatten());
        }
        if args.to.contains(&Out::Geozarr) {
            let cubes = [
                (data, &self.zarr_targets.0, "data"),
                (quality, &self.zarr_targets.1, "quality"),
            ];
            for (sources, target, role) in cubes {
                let rec = write_geozarr(
                    sources,
                    Some(&self.out_dates),
                    &named(target),
                    &args.zarr_options(role, overwrite)?,
                    &arco_core::NoProgress,
                )?;
                records.push((rec, role));
            }
        }
        Ok(records)
    }

    /// Writes the product's STAC for `records` and prints the summary of
    /// this one-band run.
    pub fn finish(
        &self,
        args: &ReconstructArgs,
        records: &[(Record, &'static str)],
        counts: Counts,
        started: Instant,
        printer: &Printer,
    ) -> anyhow::Result<ExitCode> {
        let band = args.one_band()?;
        self.finish_bands(args, records, &[(band, counts)], None, started, printer)
    }

    /// Writes the product's STAC for `records` (of every band) and prints
    /// the summary, with the pixel counts of each band and, when measured,
    /// the time of each phase.
    fn finish_bands(
        &self,
        args: &ReconstructArgs,
        records: &[(Record, &'static str)],
        bands: &[(usize, Counts)],
        phases: Option<Phases>,
        started: Instant,
        printer: &Printer,
    ) -> anyhow::Result<ExitCode> {
        let n = self.steps();
        let params = &self.params;
        let stac = {
            let outs: Vec<_> = records
                .iter()
                .map(|(r, role)| (r, *role, Some(*role)))
                .collect();
            let processing = processing_of(args, params, self.filler.stat, n);
            super::stac::write_product_stac(&args.output, &outs, &args.stac, Some(processing))?
        };

        let elapsed = started.elapsed().as_secs_f64();
        for (band, counts) in bands {
            let which = if bands.len() > 1 {
                format!("band {band}: ")
            } else {
                String::new()
            };
            printer.line(&format!(
                "{which}{n} dates, season {}: {} observed, {} filled, {} not fillable ({} masked by the rules)",
                self.season, counts.observed, counts.filled, counts.unfillable, counts.masked
            ));
        }
        let split = phases.map_or(String::new(), |p| {
            format!(
                " (read {:.2} s, fill {:.2} s, write {:.2} s)",
                p.read.as_secs_f64(),
                p.fill.as_secs_f64(),
                p.write.as_secs_f64()
            )
        });
        printer.line(&format!(
            "{} outputs in {} in {elapsed:.2} s{split}",
            records.len(),
            args.output.display()
        ));
        if let Some(st) = &stac {
            printer.line(&format!(
                "STAC: {} items and {}",
                st.items.len(),
                st.collection.display()
            ));
        }
        if printer.json() {
            let outputs: Vec<serde_json::Value> = records
                .iter()
                .map(|(r, role)| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["role"] = serde_json::json!(role);
                    v["datetime"] = serde_json::json!(r.datetimes.first());
                    v
                })
                .collect();
            printer.emit_json(&serde_json::json!({
                "command": "reconstruct",
                "outputs": outputs,
                "bands": bands.iter().map(|(band, c)| serde_json::json!({"band": band, "observed": c.observed, "filled": c.filled, "unfillable": c.unfillable, "masked": c.masked})).collect::<Vec<_>>(),
                "swag": {"season": params.season, "att_seas": params.att_seas, "att_env": params.att_env, "future": params.future},
                "sg": args.sg,
                "stac": stac.as_ref().map(super::stac::summary),
                "elapsed_s": elapsed,
                "phases_s": phases.map(|p| p.json(elapsed)),
            }))?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Computes every region and writes it into both cubes.
fn fill_cubes<T: CubeSample>(
    setup: &Setup,
    regions: &[Window],
    (data_cube, qa_cube): (&mut CubeWriter, &mut CubeWriter),
    (counts, phases): (&mut Counts, &mut Phases),
    bar: &dyn arco_core::Progress,
) -> anyhow::Result<()> {
    for region in regions {
        // No input stored there: every output sample is unfillable, which is
        // the cubes' fill value, so nothing is read or written.
        if setup.input_is_empty(*region) {
            counts.unfillable += (region.len() * setup.steps()) as u64;
            data_cube.skip_region(*region);
            qa_cube.skip_region(*region);
            bar.advance(1);
            continue;
        }
        let r = setup.compute_region::<T>(*region, counts, phases)?;
        let (d, q) = Phases::time(&mut phases.write, || {
            rayon::join(
                || data_cube.write_region(*region, &r.data_planes()),
                || qa_cube.write_region(*region, &r.quality_planes()),
            )
        });
        d?;
        q?;
        bar.advance(1);
    }
    Ok(())
}

/// The records of one date's data and quality COGs, stamped with the date
/// named `name` (`YYYY-MM-DD`) and their roles.
fn dated_pair(mut data: Record, mut quality: Record, name: &str) -> [(Record, &'static str); 2] {
    let stamp = format!("{name}T00:00:00Z");
    data.datetimes = vec![stamp.clone()];
    quality.datetimes = vec![stamp];
    [(data, "data"), (quality, "quality")]
}

/// Header-only GeoTIFFs in `tmp` describing the data and quality outputs on
/// the grid (their CRS, type and nodata), for the writers to copy.
fn output_templates(setup: &Setup, tmp: &TempDir) -> anyhow::Result<(RasterSource, RasterSource)> {
    let template = |name: &str, dtype, nodata| {
        series::grid_template(&tmp.0.join(name), &setup.grid, dtype, nodata)
    };
    Ok((
        template("data.tif", setup.dtype, setup.out_nodata)?,
        template("quality.tif", DType::U8, None)?,
    ))
}

/// Least common multiple.
fn lcm(a: usize, b: usize) -> usize {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

/// Rows and columns of the regions filled at once: whole chunks of the
/// output cubes (`out`) that are also whole chunks of an input cube (`input`),
/// so that no input chunk is decoded twice; the output chunk alone when that
/// region would be more than 4 times the larger chunk.
fn region_edges(out: (usize, usize), input: Option<(usize, usize)>) -> (usize, usize) {
    let Some(input) = input else {
        return out;
    };
    let both = (lcm(out.0, input.0), lcm(out.1, input.1));
    let largest = (out.0 * out.1).max(input.0 * input.1);
    if both.0 * both.1 <= 4 * largest {
        both
    } else {
        out
    }
}

/// What one band's run wrote, its pixel counts and the time of its phases.
type BandOutputs = (Vec<(Record, &'static str)>, Counts, Phases);

/// Cubes only: each region (a chunk of the cubes in space) is read once,
/// filled, and its chunks written straight into both cubes, with no
/// temporary frames.
fn fill_into_cubes(
    args: &ReconstructArgs,
    setup: &Setup,
    printer: &Printer,
) -> anyhow::Result<BandOutputs> {
    let tmp = scratch_dir(args, "reconstruct")?;
    let (mut data_cube, mut qa_cube) = create_cubes(args, setup, &tmp)?;
    let (rows, cols) = region_edges(data_cube.region_shape(), setup.input_chunks());
    let regions = Window::tiles_of(setup.grid.width, setup.grid.height, cols, rows);
    let bar = printer.progress("reconstruct");
    arco_core::Progress::start(&bar, "regions", regions.len() as u64);
    let (mut counts, mut phases) = (Counts::default(), Phases::default());
    let cubes = (&mut data_cube, &mut qa_cube);
    let tally = (&mut counts, &mut phases);
    arco_convert::dispatch_dtype!(
        setup.dtype,
        fill_cubes::<T>(setup, &regions, cubes, tally, &bar)
    )?;
    arco_core::Progress::finish(&bar);
    let overviews = printer.progress("overviews");
    // Overviews, when the cubes have any, are written here.
    let (data_rec, qa_rec) = Phases::time(&mut phases.write, || -> anyhow::Result<_> {
        Ok((data_cube.finish(&overviews)?, qa_cube.finish(&overviews)?))
    })?;
    drop(tmp);
    Ok((
        vec![(data_rec, "data"), (qa_rec, "quality")],
        counts,
        phases,
    ))
}

/// Starts the data and quality cubes, whose chunks are written region by
/// region (the grid templates go in `tmp`).
fn create_cubes(
    args: &ReconstructArgs,
    setup: &Setup,
    tmp: &TempDir,
) -> anyhow::Result<(CubeWriter, CubeWriter)> {
    let (data_like, qa_like) = output_templates(setup, tmp)?;
    let create = |like, target, role| -> anyhow::Result<CubeWriter> {
        Ok(CubeWriter::create(
            like,
            &setup.out_dates,
            target,
            &args.zarr_options(role, args.overwrite)?,
        )?)
    };
    let (data_target, qa_target) = &setup.zarr_targets;
    let data_cube = create(&data_like, data_target, "data")?;
    let qa_cube = create(&qa_like, qa_target, "quality")?;
    if qa_cube.region_shape() != data_cube.region_shape() {
        bail!("the data and quality cubes have different chunks; pass --to cog,geozarr");
    }
    Ok((data_cube, qa_cube))
}

/// Creates the output directory and a temporary folder inside it for frames,
/// removed however the command ends.
pub(crate) fn scratch_dir(args: &ReconstructArgs, tag: &str) -> anyhow::Result<TempDir> {
    std::fs::create_dir_all(&args.output).with_context(|| {
        format!(
            "{}: cannot create the output directory",
            args.output.display()
        )
    })?;
    let tmp = TempDir(
        args.output
            .join(format!(".arco-{tag}-{}", std::process::id())),
    );
    std::fs::create_dir_all(&tmp.0).with_context(|| {
        format!(
            "{}: cannot write in the output directory",
            args.output.display()
        )
    })?;
    Ok(tmp)
}

/// Per-date frames, then the COGs and/or cubes from them.
fn fill_into_frames(
    args: &ReconstructArgs,
    setup: &Setup,
    printer: &Printer,
) -> anyhow::Result<BandOutputs> {
    let tmp = scratch_dir(args, "reconstruct")?;
    let (mut data_frames, mut qa_frames) = setup.frames(&tmp.0, args.block)?;
    setup.size_cache(args.block);
    let windows = Window::tiles(setup.grid.width, setup.grid.height, args.block);
    let bar = printer.progress("reconstruct");
    arco_core::Progress::start(&bar, "windows", windows.len() as u64);
    let (mut counts, mut phases) = (Counts::default(), Phases::default());
    for win in &windows {
        let r = setup.compute_timed(*win, &mut counts, &mut phases)?;
        Phases::time(&mut phases.write, || -> anyhow::Result<()> {
            data_frames.write(*win, &r.data)?;
            qa_frames.write(*win, &r.quality)?;
            Ok(())
        })?;
        arco_core::Progress::advance(&bar, 1);
    }
    arco_core::Progress::finish(&bar);
    let records = Phases::time(&mut phases.write, || -> anyhow::Result<_> {
        let data_paths = data_frames.finish()?;
        let qa_paths = qa_frames.finish()?;
        setup.write_from_frames(args, &data_paths, &qa_paths)
    })?;
    drop(tmp);
    Ok((records, counts, phases))
}

/// Runs `arco reconstruct`: each band in turn (every band's inputs and
/// options are checked before any work), then one STAC for all.
pub fn run(args: &ReconstructArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    args.check_encoding()?;
    let bands = args.bands()?;
    let named = bands.len() > 1;
    for &b in &bands[1..] {
        let one = args.for_band(b, named);
        Setup::new(&one)?.refuse_existing(&one)?;
    }
    let mut records = Vec::new();
    let mut counts = Vec::new();
    let mut phases = Phases::default();
    let mut first = None;
    for &b in &bands {
        let one = args.for_band(b, named);
        let setup = Setup::new(&one)?;
        setup.refuse_existing(&one)?;
        let (r, c, p) = if one.to == [Out::Geozarr] {
            fill_into_cubes(&one, &setup, printer)?
        } else if let Some(done) = strips::fill_into_strips(&one, &setup, printer)? {
            done
        } else {
            fill_into_frames(&one, &setup, printer)?
        };
        records.extend(r);
        counts.push((b, c));
        phases += p;
        first.get_or_insert(setup);
    }
    let setup = first.context("no band to reconstruct")?;
    setup.finish_bands(args, &records, &counts, Some(phases), started, printer)
}

#[cfg(test)]
mod tests {
    use super::{filled_code, region_edges};

    #[test]
    fn quality_codes_round_the_weight_percent_half_up_within_1_to_99() {
        // The plain formula: percent rounded half up, cast with
        // saturation, then clamped.
        let plain = |w: f32| ((f64::from(w) * 100.0 + 0.5) as u8).clamp(1, 99);
        let mut weights = vec![f32::NAN, -1.0, 0.0, 0.004, 0.005, 0.995, 0.999, 1.0, 3.0];
        weights.extend((0..=100_000).map(|i| i as f32 / 100_000.0));
        // Every float32 around each rounding edge.
        for k in 0..=100 {
            let edge = (k as f32 + 0.5) / 100.0;
            let mut w = edge;
            for _ in 0..4 {
                w = f32::from_bits(w.to_bits() - 1);
            }
            for _ in 0..8 {
                weights.push(w);
                w = f32::from_bits(w.to_bits() + 1);
            }
        }
        for w in weights {
            assert_eq!(filled_code(w), plain(w), "weight {w}");
        }
        assert_eq!(filled_code(0.5), 50);
        assert_eq!(filled_code(0.0), 1);
        assert_eq!(filled_code(1.0), 99);
    }

    #[test]
    fn regions_hold_whole_chunks_of_the_input_and_output_cubes() {
        assert_eq!(region_edges((512, 512), None), (512, 512));
        assert_eq!(region_edges((256, 256), Some((512, 512))), (512, 512));
        assert_eq!(region_edges((512, 512), Some((256, 256))), (512, 512));
        assert_eq!(region_edges((512, 256), Some((256, 512))), (512, 512));
        assert_eq!(region_edges((384, 384), Some((512, 512))), (384, 384));
        assert_eq!(region_edges((300, 300), Some((512, 512))), (300, 300));
    }
}
