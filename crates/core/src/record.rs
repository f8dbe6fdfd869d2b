//! The record of one written output.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Output formats arco writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Cloud-Optimized GeoTIFF.
    Cog,
    /// GeoZarr (Zarr v3 store).
    Geozarr,
    /// GeoParquet 1.1.
    Geoparquet,
    /// FlatGeobuf.
    Flatgeobuf,
    /// PMTiles v3 archive.
    Pmtiles,
}

impl Format {
    /// The name people use for the format.
    pub fn label(self) -> &'static str {
        match self {
            Format::Cog => "COG",
            Format::Geozarr => "GeoZarr",
            Format::Geoparquet => "GeoParquet",
            Format::Flatgeobuf => "FlatGeobuf",
            Format::Pmtiles => "PMTiles",
        }
    }

    /// The media type STAC uses for assets of this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Cog => "image/tiff; application=geotiff; profile=cloud-optimized",
            Format::Geozarr => "application/vnd+zarr",
            Format::Geoparquet => "application/vnd.apache.parquet",
            Format::Flatgeobuf => "application/vnd.flatgeobuf",
            Format::Pmtiles => "application/vnd.pmtiles",
        }
    }
}

/// Coordinate reference system of an output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrsRecord {
    /// `AUTHORITY:CODE` when the CRS has one (for example `EPSG:32633`).
    pub code: Option<String>,
    /// WKT2 (2019) text.
    pub wkt2: String,
    /// PROJJSON text.
    pub projjson: Option<String>,
}

/// One band of a raster output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BandRecord {
    /// Band name (description) when the input had one.
    pub name: Option<String>,
    /// Nodata value.
    pub nodata: Option<f64>,
    /// Scale applied to stored values.
    pub scale: Option<f64>,
    /// Offset applied to stored values.
    pub offset: Option<f64>,
    /// Unit of the values.
    pub unit: Option<String>,
    /// True when the band holds classes (colour table or declared categorical).
    pub categorical: bool,
    /// Statistics of the valid (non-nodata) values, computed while writing.
    pub statistics: Option<BandStatistics>,
}

/// Statistics of one band, as STAC's `bands[].statistics` wants them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BandStatistics {
    /// Smallest valid value.
    pub minimum: f64,
    /// Largest valid value.
    pub maximum: f64,
    /// Mean of the valid values.
    pub mean: f64,
    /// Population standard deviation of the valid values.
    pub stddev: f64,
    /// Percentage (0-100) of pixels that are valid.
    pub valid_percent: f64,
}

/// One attribute column of a vector output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnRecord {
    /// Column name.
    pub name: String,
    /// Type in the words of STAC's table extension (`int64`, `double`,
    /// `string`, `boolean`, `date`, `datetime`, `list<string>`...).
    pub type_name: String,
}

/// What a vector writer produced, beside the common fields of [`Record`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    /// Layer name.
    pub layer: String,
    /// Features written.
    pub feature_count: u64,
    /// Geometry types present (`Point`, `MultiPolygon`, `LineString Z`...).
    pub geometry_types: Vec<String>,
    /// Name of the geometry column.
    pub geometry_column: String,
    /// Attribute columns in order.
    pub columns: Vec<ColumnRecord>,
}

/// What a writer produced: enough for the catalog and the checks to work
/// without re-reading the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Path of the file or store written.
    pub path: PathBuf,
    /// Output format.
    pub format: Format,
    /// Media type for STAC assets (the format's; restored from `format`
    /// when a record is read back).
    #[serde(skip_deserializing, default)]
    pub media_type: &'static str,
    /// Size in bytes (for a store: the sum of its files).
    pub size: u64,
    /// sha2-256 multihash (hex) of the file; `None` for a multi-file store.
    pub checksum: Option<String>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Data type name (`uint16`, `float32`, ...).
    pub dtype: String,
    /// Bands in order.
    pub bands: Vec<BandRecord>,
    /// CRS.
    pub crs: CrsRecord,
    /// GDAL geotransform `[x0, dx, rx, y0, ry, dy]`.
    pub geotransform: [f64; 6],
    /// Bounding box in the CRS: `[xmin, ymin, xmax, ymax]`.
    pub bbox: [f64; 4],
    /// Dates of the time steps (ISO 8601), empty when the output has no time.
    pub datetimes: Vec<String>,
    /// Number of overview levels.
    pub overviews: usize,
    /// Things the user should know (an automatic choice, a fallback).
    pub notes: Vec<String>,
    /// Vector outputs only: layer, feature count and columns. Raster fields
    /// (`width`, `height`, `dtype`, `bands`, `geotransform`) are zero or empty then.
    pub vector: Option<VectorRecord>,
}

impl Record {
    /// Reads a record saved as JSON (by a scale-out task), restoring the
    /// media type from the format.
    pub fn from_json(v: serde_json::Value) -> serde_json::Result<Self> {
        let mut r: Record = serde_json::from_value(v)?;
        r.media_type = r.format.media_type();
        Ok(r)
    }
}
