//! Raster conversion for arco: any raster GDAL reads to Cloud-Optimized
//! GeoTIFF and GeoZarr.
//!
//! The COG writer lays out the file itself (overviews computed once while
//! reading, tiles compressed in parallel, IFDs up front) and keeps GDAL for
//! reading and for the georeferencing tags. JPEG and WebP tiles go through
//! GDAL's own COG driver.

// Tiles and chunks are encoded from the in-memory bytes of samples, which
// are the little-endian bytes TIFF and Zarr want only on little-endian hosts.
#[cfg(target_endian = "big")]
compile_error!(
    "arco writes sample bytes as they are in memory and supports little-endian targets only"
);

pub mod atomic;
pub mod cog;
pub mod dates;
pub mod dtype;
pub mod error;
mod gdal_ext;
pub mod grid;
pub mod options;
pub mod pyramid;
pub mod series;
pub mod source;
pub mod stats;
pub mod vector;
pub mod zarr;

pub use dtype::{DType, Sample};
pub use error::{ConvertError, Result};
pub use options::{CogOptions, Compression, Predictor, Resampling};
pub use source::RasterSource;
pub use zarr::{write_geozarr, ZarrCodec, ZarrOptions};
