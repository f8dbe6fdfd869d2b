//! PMTiles for arco: a vector tiler (Mapbox Vector Tiles) and raster tiles
//! (PNG or WebP), both in clustered PMTiles v3 archives in web mercator.
//!
//! The vector tiler takes features as `geo_types` geometries in lon/lat
//! (or EPSG:3857 metres) with typed attributes, and does the whole job
//! itself: projection, per-zoom simplification, clipping with a buffer,
//! quantisation to extent 4096, winding and degenerate-part repair, a tile
//! size and feature cap with a stated fallback, MVT encoding and gzip. The
//! raster path warps with GDAL to the native-resolution zoom and averages
//! down.

mod archive;
mod clip;
mod geom;
mod mercator;
pub mod mvt;
pub mod raster;
mod simplify;
pub mod source;
pub mod vector;

pub use archive::{record, web_mercator_crs, write_archive, ArchiveSpec};
pub use geom::InputCrs;
pub use mercator::{lonlat_to_world, world_to_lonlat};
pub use mvt::PropValue;
pub use raster::{write_raster_pmtiles, RasterTileOptions, TileFormat};
pub use source::{read_vector, vector_to_pmtiles};
pub use vector::{
    tile_vector, Feature, FieldDef, FieldType, VectorInput, VectorOptions, VectorTiles,
};

use arco_core::{Progress, Record};
use pmtiles::{Compression, TileType};
use std::path::Path;

/// Everything that can go wrong while making tiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TilesError {
    /// An option is out of range.
    #[error("{0}")]
    Option(String),
    /// Nothing to tile.
    #[error("nothing to tile: {0}")]
    Empty(String),
    /// Writing the archive failed.
    #[error("{path}: cannot write the archive ({reason}); check the path and free space")]
    Write {
        /// The output.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A raster problem (reading, warping, encoding).
    #[error("{path}: {reason}")]
    Raster {
        /// The input or output.
        path: String,
        /// What failed and what to do.
        reason: String,
    },
    /// From the conversion library (inputs, atomic outputs).
    #[error(transparent)]
    Convert(#[from] arco_convert::ConvertError),
}

/// Tiles a vector layer into a PMTiles archive at `target`. The record's
/// `vector` part is left for the caller, who knows the input's schema.
pub fn write_vector_pmtiles(
    input: VectorInput,
    target: &Path,
    overwrite: bool,
    opts: &VectorOptions,
    progress: &dyn Progress,
) -> Result<(Record, VectorTiles), TilesError> {
    if target.exists() && !overwrite {
        return Err(arco_convert::ConvertError::OutputExists {
            path: target.to_path_buf(),
        }
        .into());
    }
    let layer = input.layer.clone();
    let fields = input.fields.clone();
    let mut tiles = tile_vector(input, opts, progress)?;
    let field_map: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|f| (f.name.clone(), serde_json::Value::from(f.kind.name())))
        .collect();
    let mut spec = ArchiveSpec {
        tile_type: TileType::Mvt,
        tile_compression: Compression::Gzip,
        minzoom: tiles.minzoom,
        maxzoom: tiles.maxzoom,
        bounds: tiles.bounds,
        metadata: serde_json::Value::Null,
    };
    let [w, s, e, n] = spec.bounds_lonlat();
    let (clon, clat, cz) = spec.center();
    spec.metadata = serde_json::json!({
        "name": layer,
        "description": format!("{layer}: {} features, tiled by arco", tiles.features),
        "type": "overlay",
        "format": "pbf",
        "version": "2",
        "generator": concat!("arco ", env!("CARGO_PKG_VERSION")),
        // Strings, as MBTiles metadata has them (tippecanoe-decode warns otherwise).
        "minzoom": tiles.minzoom.to_string(),
        "maxzoom": tiles.maxzoom.to_string(),
        "bounds": format!("{w:.6},{s:.6},{e:.6},{n:.6}"),
        "center": format!("{clon:.6},{clat:.6},{cz}"),
        "vector_layers": [{
            "id": layer,
            "description": "",
            "minzoom": tiles.minzoom,
            "maxzoom": tiles.maxzoom,
            "fields": field_map,
        }],
    });
    let (size, checksum) = write_archive(target, overwrite, &spec, &tiles.zooms)?;
    tiles.zooms.clear();
    let rec = record(target, size, checksum, &spec, tiles.notes.clone());
    Ok((rec, tiles))
}
