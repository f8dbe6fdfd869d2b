//! STAC for arco outputs: Items built from the records the writers return,
//! Collections, a root Catalog in two layouts (self-contained and
//! published), offline validation against the official JSON Schemas, the
//! stac-geoparquet index with search, and the STAC Index registration
//! payload.
//!
//! STAC objects are plain `serde_json::Value`s here: they are written as
//! JSON and validated as JSON, and the few fields arco reads back are read
//! by name. The `stac` crate is used where it pays: stac-geoparquet.

pub mod catalog;
pub mod collection;
pub mod footprint;
pub mod index;
pub mod item;
pub mod json;
pub mod product;
pub mod register;
pub mod schemas;
pub mod validate;

use std::path::PathBuf;

pub use catalog::{
    build_catalog, publish_layout, to_published, CatalogOptions, CatalogReport, Layout,
};
pub use collection::{build_collection, CollectionConfig, Provider};
pub use footprint::{footprint, Footprint};
pub use index::{search, update_index, IndexOptions, IndexReport, Query};
pub use item::{build_item, AssetSpec, ItemSpec, Processing};
pub use product::{write_product_dir, ProductOptions, ProductOutput, ProductStac};
pub use register::{register_payload, slugify, RegisterPayload};
pub use schemas::{SchemaSource, SchemaStore};
pub use validate::{validate_paths, Issue, Report, Validator};

/// The STAC version arco writes.
pub const STAC_VERSION: &str = "1.1.0";

/// arco's version, for `processing:software`.
pub const ARCO_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Schema URLs of the extensions arco writes.
pub mod ext {
    /// Projection v2.
    pub const PROJECTION: &str = "https://stac-extensions.github.io/projection/v2.0.0/schema.json";
    /// Raster v2 (`raster:scale`, `raster:offset` in bands).
    pub const RASTER: &str = "https://stac-extensions.github.io/raster/v2.0.0/schema.json";
    /// EO v2 (`eo:common_name` in bands).
    pub const EO: &str = "https://stac-extensions.github.io/eo/v2.0.0/schema.json";
    /// File info v2.1 (`file:size`, `file:checksum`).
    pub const FILE: &str = "https://stac-extensions.github.io/file/v2.1.0/schema.json";
    /// Datacube v2.3 (Zarr cubes).
    pub const DATACUBE: &str = "https://stac-extensions.github.io/datacube/v2.3.0/schema.json";
    /// Processing v1.2 (`processing:software`, lineage, method).
    pub const PROCESSING: &str = "https://stac-extensions.github.io/processing/v1.2.0/schema.json";
    /// Table v1.2 (vector columns, row count).
    pub const TABLE: &str = "https://stac-extensions.github.io/table/v1.2.0/schema.json";
}

/// Errors of the catalog crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not the JSON it should be.
    #[error("{}: {msg}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A record or option cannot be described in STAC.
    #[error("{0}")]
    Invalid(String),
    /// The CRS could not be read or reprojected.
    #[error("{what}: {msg}")]
    Crs {
        /// The output whose CRS failed.
        what: String,
        /// What went wrong.
        msg: String,
    },
    /// No schemas to validate with.
    #[error("{0}")]
    Schemas(String),
    /// The stac-geoparquet index could not be read or written.
    #[error("{}: {msg}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result of the catalog crate.
pub type Result<T> = std::result::Result<T, Error>;
