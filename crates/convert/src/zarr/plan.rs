//! Options of the GeoZarr writer and their resolution against the input:
//! defaults, checks, and the geometry of every level.

use crate::dtype::DType;
use crate::error::{ConvertError, Result};
use crate::options::Resampling;
use crate::pyramid::{half, levels_to_fit};
use crate::source::RasterSource;
use std::fmt;
use std::str::FromStr;

/// Compression of Zarr chunks (`--compress` for `--to geozarr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZarrCodec {
    /// Zstandard (default).
    Zstd,
    /// Blosc (zstd inside, byte shuffle; bit shuffle for 8-bit data).
    Blosc,
    /// Blosc with LZ4 inside (same shuffles): the fastest to write and
    /// read, for larger chunks.
    Lz4,
    /// No compression.
    None,
}

impl ZarrCodec {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ZarrCodec::Zstd => "zstd",
            ZarrCodec::Blosc => "blosc",
            ZarrCodec::Lz4 => "lz4",
            ZarrCodec::None => "none",
        }
    }

    /// Default level, where the codec has levels.
    pub fn default_level(self) -> Option<i32> {
        match self {
            ZarrCodec::Zstd => Some(3),
            ZarrCodec::Blosc | ZarrCodec::Lz4 => Some(5),
            ZarrCodec::None => None,
        }
    }

    /// Accepted level range.
    pub fn level_range(self) -> Option<(i32, i32)> {
        match self {
            ZarrCodec::Zstd => Some((1, 22)),
            ZarrCodec::Blosc | ZarrCodec::Lz4 => Some((0, 9)),
            ZarrCodec::None => None,
        }
    }
}

impl FromStr for ZarrCodec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "zstd" => ZarrCodec::Zstd,
            "blosc" => ZarrCodec::Blosc,
            "lz4" => ZarrCodec::Lz4,
            "none" => ZarrCodec::None,
            _ => {
                return Err(format!(
                    "unknown Zarr compression '{s}' (use zstd, blosc, lz4 or none)"
                ))
            }
        })
    }
}

impl fmt::Display for ZarrCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of `--to geozarr`.
#[derive(Debug, Clone)]
pub struct ZarrOptions {
    /// Chunk shape: one value is the spatial edge (y and x); otherwise one
    /// value per dimension, in order (`time, band, y, x` without the absent
    /// ones). Default: 512 pixels, 1 time step, 1 band.
    pub chunks: Option<Vec<usize>>,
    /// Chunk compression.
    pub compression: ZarrCodec,
    /// Compression level; `None` takes the codec's default.
    pub level: Option<i32>,
    /// Shard edge in pixels (a multiple of the spatial chunk edges): each
    /// shard file holds its chunks as inner chunks (`sharding_indexed`).
    pub shard: Option<usize>,
    /// Overview levels: `None` until a level fits one chunk, `Some(0)` none.
    pub overviews: Option<usize>,
    /// Overview resampling; `None` picks average, or mode for categorical bands.
    pub resampling: Option<Resampling>,
    /// Nodata to declare (the Zarr fill value, and missing in overviews).
    pub nodata: Option<f64>,
    /// Output data type; `None` keeps the input's.
    pub dtype: Option<DType>,
    /// Whether to replace an existing output.
    pub overwrite: bool,
    /// Name of the data variable; `None` is `data`.
    pub name: Option<String>,
    /// Treat bands as categorical even without a colour table.
    pub categorical: bool,
}

impl Default for ZarrOptions {
    fn default() -> Self {
        Self {
            chunks: None,
            compression: ZarrCodec::Zstd,
            level: None,
            shard: None,
            overviews: None,
            resampling: None,
            nodata: None,
            dtype: None,
            overwrite: false,
            name: None,
            categorical: false,
        }
    }
}

/// One resolution level of the store.
#[derive(Debug, Clone)]
pub(super) struct LevelPlan {
    pub(super) width: usize,
    pub(super) height: usize,
    /// Geotransform of the level.
    pub(super) gt: [f64; 6],
    /// Spatial chunk of the chunk grid, `(rows, cols)`: the shard when sharding.
    pub(super) outer: (usize, usize),
    /// Inner chunk `(rows, cols)` when sharding.
    pub(super) inner: Option<(usize, usize)>,
    /// Group holding the level: `""` (root) or `"/k"`.
    pub(super) group: String,
}

/// Resolved settings of one GeoZarr write.
#[derive(Debug, Clone)]
pub(super) struct ZarrPlan {
    pub(super) dtype: DType,
    pub(super) codec: ZarrCodec,
    pub(super) level: i32,
    pub(super) resampling: Resampling,
    /// Declared nodata (`_FillValue`).
    pub(super) nodata: Option<f64>,
    /// Zarr fill value: nodata, else NaN for floats and 0 for integers.
    pub(super) fill: f64,
    pub(super) name: String,
    /// Number of time steps, when the array has a time dimension.
    pub(super) nt: Option<usize>,
    pub(super) nb: usize,
    pub(super) band_dim: bool,
    /// Chunk edge along time (1 without time) and band (1 without band).
    pub(super) tc: usize,
    pub(super) bc: usize,
    pub(super) levels: Vec<LevelPlan>,
    pub(super) notes: Vec<String>,
}

impl ZarrPlan {
    pub(super) fn dims(&self) -> Vec<&'static str> {
        let mut d = Vec::with_capacity(4);
        if self.nt.is_some() {
            d.push("time");
        }
        if self.band_dim {
            d.push("band");
        }
        d.extend(["y", "x"]);
        d
    }

    /// Leading (time, band) sizes and chunk edges, as present.
    fn lead(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::with_capacity(2);
        if let Some(nt) = self.nt {
            v.push((nt, self.tc));
        }
        if self.band_dim {
            v.push((self.nb, self.bc));
        }
        v
    }

    pub(super) fn shape(&self, k: usize) -> Vec<u64> {
        let l = &self.levels[k];
        self.lead()
            .iter()
            .map(|&(n, _)| n as u64)
            .chain([l.height as u64, l.width as u64])
            .collect()
    }

    pub(super) fn chunk_shape(&self, k: usize) -> Vec<u64> {
        let (r, c) = self.levels[k].outer;
        self.lead()
            .iter()
            .map(|&(_, ch)| ch as u64)
            .chain([r as u64, c as u64])
            .collect()
    }

    pub(super) fn subchunk_shape(&self, k: usize) -> Option<Vec<u64>> {
        let (r, c) = self.levels[k].inner?;
        Some(
            self.lead()
                .iter()
                .map(|&(_, ch)| ch as u64)
                .chain([r as u64, c as u64])
                .collect(),
        )
    }
}

pub(super) fn invalid(option: &'static str, reason: String) -> ConvertError {
    ConvertError::InvalidOption { option, reason }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Checks the variable name against Zarr's node names and the names the
/// store itself uses.
fn check_name(name: &str) -> Result<()> {
    const RESERVED: [&str; 5] = ["x", "y", "time", "band", "spatial_ref"];
    let bad = if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.starts_with("__")
    {
        Some(
            "is not a valid Zarr node name (no '/', not empty, not starting with '__')".to_string(),
        )
    } else if RESERVED.contains(&name) {
        Some(format!(
            "is taken by a coordinate of the store ({})",
            RESERVED.join(", ")
        ))
    } else if name.chars().all(|c| c.is_ascii_digit()) {
        Some("is all digits, which names overview groups".to_string())
    } else {
        None
    };
    match bad {
        Some(why) => Err(invalid(
            "--name",
            format!("'{name}' {why}; use a name such as 'data' or 'ndvi'"),
        )),
        None => Ok(()),
    }
}

/// Checks options against the input and fills in defaults. `nt` is the
/// number of time steps when the output has a time dimension.
pub(super) fn plan(src: &RasterSource, nt: Option<usize>, opts: &ZarrOptions) -> Result<ZarrPlan> {
    let dtype = opts.dtype.unwrap_or(src.dtype());
    let mut notes = Vec::new();
    let nb = src.bands.len();
    let band_dim = nb > 1;
    let name = opts.name.clone().unwrap_or_else(|| "data".to_string());
    check_name(&name)?;

    let level = match (opts.level, opts.compression.level_range()) {
        (Some(l), Some((lo, hi))) if !(lo..=hi).contains(&l) => {
            return Err(invalid(
                "--level",
                format!(
                    "{l} is out of range for {} (use {lo}..={hi})",
                    opts.compression
                ),
            ))
        }
        (Some(_), None) => {
            return Err(invalid(
                "--level",
                format!("{} has no levels; drop --level", opts.compression),
            ))
        }
        (Some(l), Some(_)) => l,
        (None, _) => opts.compression.default_level().unwrap_or(0),
    };

    // Chunk shape, in the order of the dimensions.
    let mut dims: Vec<&str> = Vec::new();
    if nt.is_some() {
        dims.push("time");
    }
    if band_dim {
        dims.push("band");
    }
    dims.extend(["y", "x"]);
    let (mut tc, mut bc, cy, cx) = match opts.chunks.as_deref() {
        None => (1, 1, 512, 512),
        Some(&[c]) => (1, 1, c, c),
        Some(v) if v.len() == dims.len() => {
            let mut it = v.iter().copied();
            let tc = if nt.is_some() { it.next().unwrap_or(1) } else { 1 };
            let bc = if band_dim { it.next().unwrap_or(1) } else { 1 };
            (tc, bc, it.next().unwrap_or(512), it.next().unwrap_or(512))
        }
        Some(v) => {
            return Err(invalid(
                "--chunks",
                format!(
                    "{} values given; give one spatial edge (e.g. 512) or one value per dimension ({}), e.g. {}",
                    v.len(),
                    dims.join(", "),
                    dims.iter().map(|d| if matches!(*d, "y" | "x") { "512" } else { "1" }).collect::<Vec<_>>().join(",")
                ),
            ))
        }
    };
    if [tc, bc, cy, cx].contains(&0) {
        return Err(invalid("--chunks", "chunk sizes must be at least 1".into()));
    }
    tc = tc.min(nt.unwrap_or(1));
    bc = bc.min(nb);

    let max_levels = levels_to_fit(src.width, src.height, 1);
    let auto = levels_to_fit(src.width, 1, cx).max(levels_to_fit(1, src.height, cy));
    let n_ovr = match opts.overviews {
        None => auto,
        Some(n) if n > max_levels => {
            notes.push(format!(
                "overviews: {n} asked, {max_levels} made (level {max_levels} is already 1x1 pixel)"
            ));
            max_levels
        }
        Some(n) => n,
    };
    if n_ovr > 0 && (cy % 2 == 1 || cx % 2 == 1) {
        return Err(invalid(
            "--chunks",
            format!("spatial chunk edges must be even when writing overviews ({cy}x{cx} given); use e.g. 256 or 512, or --overviews 0"),
        ));
    }
    if let Some(s) = opts.shard {
        if s == 0 || s % cy != 0 || s % cx != 0 {
            let l = cy / gcd(cy, cx) * cx;
            let fix = s.div_ceil(l).max(2) * l;
            return Err(invalid(
                "--shard",
                format!("{s} is not a multiple of the spatial chunk edge{} {cy}{}; use a multiple such as {fix}", if cy == cx { "" } else { "s" }, if cy == cx { String::new() } else { format!(" and {cx}") }),
            ));
        }
    }

    let (resampling, note) =
        crate::pyramid::choose_resampling(opts.resampling, opts.categorical, &src.bands);
    if n_ovr > 0 {
        notes.extend(note);
    }

    // One fill value per Zarr array: the override, else band 1's nodata.
    let nodata = opts.nodata.or(src.bands[0].nodata);
    if let Some(v) = nodata {
        if !dtype.holds(v) {
            return Err(invalid(
                "--nodata",
                format!(
                    "nodata {v} does not fit {dtype}; pass --nodata with a value {dtype} can hold"
                ),
            ));
        }
    }
    if opts.nodata.is_none() {
        let first = src.bands[0].nodata;
        let same = |a: Option<f64>| a.map(f64::to_bits) == first.map(f64::to_bits);
        if let Some(b) = src.bands.iter().find(|b| !same(b.nodata)) {
            notes.push(format!(
                "bands have different nodata values (band 1: {first:?}, band {}: {:?}); the store declares band 1's for all (pass --nodata to choose)",
                b.index, b.nodata
            ));
        }
    }
    let fill = nodata.unwrap_or(if dtype.is_float() { f64::NAN } else { 0.0 });
    let gt = src.geotransform;
    if gt[2] != 0.0 || gt[4] != 0.0 {
        notes.push("the grid is rotated: x/y coordinates hold only the axis-aligned part; use the GeoTransform / spatial:transform attributes".into());
    }

    let mut levels = Vec::with_capacity(n_ovr + 1);
    let (mut w, mut h) = (src.width, src.height);
    for k in 0..=n_ovr {
        let f = f64::from(1u32 << k.min(31));
        let (cyk, cxk) = (cy.min(h), cx.min(w));
        let (outer, inner) = match opts.shard {
            Some(s) => (
                (
                    s.min(h.next_multiple_of(cyk)),
                    s.min(w.next_multiple_of(cxk)),
                ),
                Some((cyk, cxk)),
            ),
            None => ((cyk, cxk), None),
        };
        levels.push(LevelPlan {
            width: w,
            height: h,
            gt: [gt[0], gt[1] * f, gt[2] * f, gt[3], gt[4] * f, gt[5] * f],
            outer,
            inner,
            group: if k == 0 {
                String::new()
            } else {
                format!("/{k}")
            },
        });
        w = half(w);
        h = half(h);
    }
    Ok(ZarrPlan {
        dtype,
        codec: opts.compression,
        level,
        resampling,
        nodata,
        fill,
        name,
        nt,
        nb,
        band_dim,
        tc,
        bc,
        levels,
        notes,
    })
}
