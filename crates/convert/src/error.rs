//! Errors of the conversion library. Messages are one line, name the file
//! or option involved, and say what to do.

use std::path::PathBuf;

/// Everything that can go wrong while converting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// An input path does not exist.
    #[error("{path}: no such file (check the path, or quote GDAL connection strings such as 'NETCDF:\"f.nc\":var')")]
    InputNotFound {
        /// The input as given.
        path: String,
    },
    /// GDAL cannot open the input as a raster.
    #[error("{path}: not a raster GDAL can read ({reason})")]
    NotRaster {
        /// The input as given.
        path: String,
        /// GDAL's own words.
        reason: String,
    },
    /// The input is a container of subdatasets (NetCDF, HDF) and none was chosen.
    #[error("{path}: holds {count} subdatasets and no bands of its own; choose one with --variable NAME (one of: {names})")]
    ChooseVariable {
        /// The input as given.
        path: String,
        /// How many subdatasets.
        count: usize,
        /// Their short names.
        names: String,
    },
    /// `--variable` names nothing in the input.
    #[error("{path}: no subdataset named '{variable}' (one of: {names})")]
    NoSuchVariable {
        /// The input as given.
        path: String,
        /// The name asked for.
        variable: String,
        /// The names available.
        names: String,
    },
    /// A band's type is one arco does not handle.
    #[error("{path}: band {band} has data type {gdal_type}, which arco does not convert; pass --dtype (for example --dtype float32)")]
    UnsupportedType {
        /// The input.
        path: String,
        /// 1-based band.
        band: usize,
        /// GDAL's name of the type.
        gdal_type: String,
    },
    /// Reading pixels failed: a truncated or corrupt file.
    #[error(
        "{path}: cannot read pixels at row {row} ({reason}); the file is truncated or corrupt"
    )]
    Read {
        /// The input.
        path: String,
        /// First row of the window that failed.
        row: usize,
        /// GDAL's own words.
        reason: String,
    },
    /// Inputs of one call are not on one grid.
    #[error("{other} is not on the grid of {first}: {what} differs ({a} vs {b}); reproject or resample it onto one grid first (gdalwarp)")]
    GridMismatch {
        /// The first input, which sets the grid.
        first: String,
        /// The input that differs.
        other: String,
        /// CRS, resolution, extent, size, band count or dtype.
        what: &'static str,
        /// The first input's value.
        a: String,
        /// The other input's value.
        b: String,
    },
    /// An option value is out of range or does not fit the input.
    #[error("{option}: {reason}")]
    InvalidOption {
        /// The option, as written on the command line.
        option: &'static str,
        /// What is wrong and what would work.
        reason: String,
    },
    /// The output exists and `--overwrite` was not given.
    #[error("{}: already exists (pass --overwrite to replace it)", path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// The output cannot be written there.
    #[error("{}: cannot write output ({reason}); check the directory exists and is writable", path.display())]
    Output {
        /// The path being written.
        path: PathBuf,
        /// The system's words.
        reason: String,
    },
    /// No date could be found for an input of a time series.
    #[error("{path}: {reason}")]
    Time {
        /// The input.
        path: String,
        /// What is wrong and the fix.
        reason: String,
    },
    /// GDAL cannot open the input as a vector layer.
    #[error("{path}: not a vector file GDAL can read ({reason}); check the path and that the file is whole")]
    NotVector {
        /// The input as given.
        path: String,
        /// GDAL's own words.
        reason: String,
    },
    /// The input has several layers and none was chosen.
    #[error("{path}: holds {count} layers; choose one with --layer NAME (one of: {names})")]
    ChooseLayer {
        /// The input.
        path: String,
        /// How many layers.
        count: usize,
        /// Their names.
        names: String,
    },
    /// `--layer` names nothing in the input.
    #[error("{path}: no layer named '{layer}'; pass --layer with one of: {names}")]
    NoSuchLayer {
        /// The input.
        path: String,
        /// The name asked for.
        layer: String,
        /// The names available.
        names: String,
    },
    /// The layer has no geometry column.
    #[error("{path}: layer '{layer}' has no geometry column; give it one (for CSV: a WKT column, or x/y or lon/lat columns)")]
    NoGeometry {
        /// The input.
        path: String,
        /// The layer.
        layer: String,
    },
    /// The layer has no features.
    #[error("{path}: layer '{layer}' has no features; there is nothing to convert (check the layer name or the filter that made the file)")]
    EmptyLayer {
        /// The input.
        path: String,
        /// The layer.
        layer: String,
    },
    /// The layer's CRS cannot be carried into the output.
    #[error("{path}: unsupported CRS: {reason}")]
    UnsupportedCrs {
        /// The input.
        path: String,
        /// What is wrong and the fix.
        reason: String,
    },
    /// Reading features failed: a broken file or a geometry arco cannot use.
    #[error("{path}: {reason}")]
    VectorRead {
        /// The input.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Encoding the output failed.
    #[error("{}: cannot encode output ({reason})", path.display())]
    Encode {
        /// The output.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A GDAL call failed in a way none of the above covers.
    #[error("GDAL: {0}")]
    Gdal(#[from] gdal::errors::GdalError),
    /// A Zarr store operation failed.
    #[error("{}: zarr: {reason}", path.display())]
    Zarr {
        /// The store.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl ConvertError {
    /// Wraps an I/O error on an output path.
    pub fn output(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        ConvertError::Output {
            path: path.into(),
            reason: err.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ConvertError> = std::result::Result<T, E>;
