//! Conversion options shared by the writers, with their defaults.

use crate::dtype::DType;
use std::fmt;
use std::str::FromStr;

/// Tile compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard (default): fast and compact.
    Zstd,
    /// Deflate (zlib): read by every TIFF reader.
    Deflate,
    /// LZW: for old readers.
    Lzw,
    /// WebP (lossy by default, 8-bit only); written through GDAL's COG driver.
    Webp,
    /// JPEG (lossy, 8-bit only); written through GDAL's COG driver.
    Jpeg,
    /// No compression.
    None,
}

impl Compression {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Deflate => "deflate",
            Compression::Lzw => "lzw",
            Compression::Webp => "webp",
            Compression::Jpeg => "jpeg",
            Compression::None => "none",
        }
    }

    /// Default level, where the codec has levels.
    pub fn default_level(self) -> Option<i32> {
        match self {
            // zstd's own default: most of level 9's ratio at a third of its time.
            Compression::Zstd => Some(3),
            Compression::Deflate => Some(6),
            Compression::Webp | Compression::Jpeg => Some(75),
            Compression::Lzw | Compression::None => None,
        }
    }

    /// Accepted level range.
    pub fn level_range(self) -> Option<(i32, i32)> {
        match self {
            Compression::Zstd => Some((1, 22)),
            Compression::Deflate => Some((1, 9)),
            Compression::Webp | Compression::Jpeg => Some((1, 100)),
            Compression::Lzw | Compression::None => None,
        }
    }

    /// Whether arco writes this codec itself (the rest goes through GDAL).
    pub fn is_native(self) -> bool {
        !matches!(self, Compression::Webp | Compression::Jpeg)
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "zstd" => Compression::Zstd,
            "deflate" | "zlib" => Compression::Deflate,
            "lzw" => Compression::Lzw,
            "webp" => Compression::Webp,
            "jpeg" | "jpg" => Compression::Jpeg,
            "none" => Compression::None,
            _ => {
                return Err(format!(
                    "unknown compression '{s}' (use zstd, deflate, lzw, webp, jpeg or none)"
                ))
            }
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// TIFF predictor applied before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predictor {
    /// Horizontal differencing for integers, floating-point predictor for floats.
    Auto,
    /// No predictor.
    None,
    /// Horizontal differencing (TIFF predictor 2).
    Horizontal,
    /// Floating-point predictor (TIFF predictor 3); floats only.
    Float,
}

impl FromStr for Predictor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" | "yes" => Predictor::Auto,
            "none" | "no" | "1" => Predictor::None,
            "horizontal" | "2" => Predictor::Horizontal,
            "float" | "floating-point" | "3" => Predictor::Float,
            _ => {
                return Err(format!(
                    "unknown predictor '{s}' (use auto, none, horizontal or float)"
                ))
            }
        })
    }
}

/// How overview pixels are computed from the level above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// Mean of the valid pixels (continuous values).
    Average,
    /// Top-left pixel of each 2x2 block.
    Nearest,
    /// Most frequent valid value (classes, masks, QA bands).
    Mode,
    /// Smallest valid value.
    Min,
    /// Largest valid value.
    Max,
}

impl Resampling {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Resampling::Average => "average",
            Resampling::Nearest => "nearest",
            Resampling::Mode => "mode",
            Resampling::Min => "min",
            Resampling::Max => "max",
        }
    }
}

impl FromStr for Resampling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "average" | "mean" => Resampling::Average,
            "nearest" | "near" => Resampling::Nearest,
            "mode" => Resampling::Mode,
            "min" => Resampling::Min,
            "max" => Resampling::Max,
            _ => {
                return Err(format!(
                    "unknown overview resampling '{s}' (use average, nearest, mode, min or max)"
                ))
            }
        })
    }
}

impl fmt::Display for Resampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of `--to cog`.
#[derive(Debug, Clone)]
pub struct CogOptions {
    /// Tile compression.
    pub compression: Compression,
    /// Compression level; `None` takes the codec's default.
    pub level: Option<i32>,
    /// Predictor.
    pub predictor: Predictor,
    /// Tile size in pixels (a multiple of 16).
    pub blocksize: usize,
    /// Overview resampling; `None` picks average, or mode for categorical bands.
    pub resampling: Option<Resampling>,
    /// Nodata to declare (and to treat as missing in overviews).
    pub nodata: Option<f64>,
    /// Output data type; `None` keeps the input's.
    pub dtype: Option<DType>,
    /// Whether to replace an existing output.
    pub overwrite: bool,
    /// Treat bands as categorical even without a colour table.
    pub categorical: bool,
    /// BigTIFF: `None` when needed (offsets past 4 GiB), or forced on/off.
    pub bigtiff: Option<bool>,
}

impl Default for CogOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Zstd,
            level: None,
            predictor: Predictor::Auto,
            blocksize: 512,
            resampling: None,
            nodata: None,
            dtype: None,
            overwrite: false,
            categorical: false,
            bigtiff: None,
        }
    }
}
