//! Vector conversion: any layer OGR reads to GeoParquet 1.1 and FlatGeobuf.
//!
//! [`source::VectorSource`] reads features through OGR; the writers sort
//! them in Hilbert order of their bounding boxes, encode in parallel and
//! write atomically, returning the same [`arco_core::Record`] as the raster
//! writers (with its `vector` part filled).
//!
//! Null and empty geometries, one rule for both formats: a null geometry
//! stays null and an empty one stays empty in GeoParquet (null WKB with a
//! null `bbox`; empty WKB with a NaN `bbox`, which no query box matches).
//! FlatGeobuf has no empty geometry: both become features without
//! geometry, listed last in the index with an inverted (empty) box; GDAL
//! and pyogrio read them back as null geometries. Neither ever fails a
//! conversion.

pub mod flatgeobuf;
pub mod geoparquet;
pub mod hilbert;
pub mod source;
pub mod table;
pub mod wkb;

pub use flatgeobuf::{write_flatgeobuf, FlatGeobufOptions};
pub use geoparquet::{write_geoparquet, GeoParquetOptions, GeometryEncoding};
pub use source::{Feature, Field, FieldKind, Rows, Value, VectorSource};
pub use table::{Table, TableBuilder};

use crate::error::{ConvertError, Result};
use arco_core::{ColumnRecord, Format, Record, VectorRecord};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use wkb::GeomType;

/// What the writers learn from one pass over the geometries.
pub(crate) struct Survey {
    /// Bounding box of each feature (`None`: null or empty geometry).
    pub boxes: Vec<Option<[f64; 4]>>,
    /// Geometry types present.
    pub types: BTreeSet<GeomType>,
    /// Extent of all boxes.
    pub extent: Option<[f64; 4]>,
    /// Null geometries.
    pub nulls: usize,
    /// Empty geometries.
    pub empties: usize,
}

/// Boxes and types of the `n` geometries `geometry(i)` (`None` when
/// null), in parallel.
pub(crate) fn survey<'a>(
    src: &VectorSource,
    n: usize,
    geometry: impl Fn(usize) -> Option<&'a [u8]> + Sync,
) -> Result<Survey> {
    let per: Vec<(Option<[f64; 4]>, Option<GeomType>)> = (0..n)
        .into_par_iter()
        .map(|i| match geometry(i) {
            None => Ok((None, None)),
            Some(g) => {
                let bad = |e: wkb::WkbError| ConvertError::VectorRead {
                    path: src.path.display().to_string(),
                    reason: format!("feature {i}: {e}"),
                };
                Ok((
                    wkb::bbox(g).map_err(bad)?,
                    Some(wkb::geom_type(g).map_err(bad)?),
                ))
            }
        })
        .collect::<Result<_>>()?;
    let mut types = BTreeSet::new();
    let (mut nulls, mut empties) = (0, 0);
    let mut boxes = Vec::with_capacity(per.len());
    for (b, t) in per {
        match t {
            None => nulls += 1,
            Some(t) => {
                types.insert(t);
                if b.is_none() {
                    empties += 1;
                }
            }
        }
        boxes.push(b);
    }
    let extent = hilbert::extent(&boxes);
    Ok(Survey {
        boxes,
        types,
        extent,
        nulls,
        empties,
    })
}

/// Refuses an empty layer before anything is written.
pub(crate) fn ensure_features(src: &VectorSource, count: usize) -> Result<()> {
    if count == 0 {
        return Err(ConvertError::EmptyLayer {
            path: src.path.display().to_string(),
            layer: src.layer.clone(),
        });
    }
    Ok(())
}

/// A note on null and empty geometries, when there are any.
pub(crate) fn null_note(s: &Survey, format: Format) -> Option<String> {
    (s.nulls + s.empties > 0).then(|| match format {
        Format::Flatgeobuf => format!(
            "{} null and {} empty geometries written as features without geometry (FlatGeobuf has no empty geometry); spatial queries skip them",
            s.nulls, s.empties
        ),
        _ => format!(
            "{} null and {} empty geometries kept as they are (null stays null, empty stays empty)",
            s.nulls, s.empties
        ),
    })
}

/// The record of a written vector file.
pub(crate) struct Written {
    pub path: PathBuf,
    pub format: Format,
    pub size: u64,
    pub checksum: String,
    pub feature_count: u64,
    pub geometry_types: Vec<String>,
    pub extent: Option<[f64; 4]>,
    pub notes: Vec<String>,
}

pub(crate) fn record(src: &VectorSource, w: Written) -> Record {
    Record {
        path: w.path,
        format: w.format,
        media_type: w.format.media_type(),
        size: w.size,
        checksum: Some(w.checksum),
        width: 0,
        height: 0,
        dtype: String::new(),
        bands: Vec::new(),
        crs: src.crs.clone().unwrap_or_default(),
        geotransform: [0.0; 6],
        bbox: w.extent.unwrap_or([0.0; 4]),
        datetimes: Vec::new(),
        overviews: 0,
        notes: w.notes,
        vector: Some(VectorRecord {
            layer: src.layer.clone(),
            feature_count: w.feature_count,
            geometry_types: w.geometry_types,
            geometry_column: src.geometry_column.clone(),
            columns: src
                .fields
                .iter()
                .map(|f| ColumnRecord {
                    name: f.name.clone(),
                    type_name: f.kind.table_type().to_string(),
                })
                .collect(),
        }),
    }
}

/// Wraps an I/O or encoder error on an output.
pub(crate) fn encode_err(path: &Path, e: impl std::fmt::Display) -> ConvertError {
    ConvertError::Encode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
