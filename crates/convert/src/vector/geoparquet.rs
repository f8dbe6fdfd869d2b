//! GeoParquet 1.1 writer: WKB or native GeoArrow geometry, a `bbox`
//! covering column, zstd, rows in Hilbert order, row groups sized for
//! spatial queries, and the `geo` metadata written here (PROJJSON CRS,
//! geometry types, extent, covering).
//!
//! GeoParquet has no M dimension: M values are dropped (X, Y and Z kept)
//! with a note. Columns map to Parquet/Arrow types one to one (lists
//! included); datetimes are UTC milliseconds.

use super::source::{FieldKind, VectorSource};
use super::table::Table;
use super::wkb::{self, GeomType, Kind};
use super::{encode_err, ensure_features, hilbert, null_note, record, survey, Written};
use crate::atomic::Staged;
use crate::error::{ConvertError, Result};
use arco_core::{Format, HashingWriter, Progress, Record};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StructArray, UInt64Array};
use arrow_buffer::NullBuffer;
use arrow_cast::cast;
use arrow_schema::{DataType, Field as ArrowField, Fields, Schema, TimeUnit};
use arrow_select::take::take;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// How the geometry column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeometryEncoding {
    /// ISO WKB in a binary column (any geometry mix).
    #[default]
    Wkb,
    /// Native GeoArrow (separated coordinates): one geometry type per
    /// column; a layer mixing X and MultiX is stored as MultiX, any other
    /// mix falls back to WKB with a note.
    GeoArrow,
}

/// Options of [`write_geoparquet`].
#[derive(Debug, Clone)]
pub struct GeoParquetOptions {
    /// Rows in Hilbert order (false: input order).
    pub sort: bool,
    /// Rows per row group.
    pub row_group_size: usize,
    /// Geometry encoding.
    pub encoding: GeometryEncoding,
    /// zstd level.
    pub zstd_level: i32,
    /// Replace an existing output.
    pub overwrite: bool,
}

impl Default for GeoParquetOptions {
    fn default() -> Self {
        Self {
            sort: true,
            row_group_size: 100_000,
            encoding: GeometryEncoding::Wkb,
            zstd_level: 3,
            overwrite: false,
        }
    }
}

fn arrow_type(kind: FieldKind) -> DataType {
    let list = |t: DataType| DataType::List(Arc::new(ArrowField::new("item", t, true)));
    match kind {
        FieldKind::Int32 => DataType::Int32,
        FieldKind::Int64 => DataType::Int64,
        FieldKind::Float64 => DataType::Float64,
        FieldKind::String => DataType::Utf8,
        FieldKind::Bool => DataType::Boolean,
        FieldKind::Date => DataType::Date32,
        FieldKind::DateTime => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        FieldKind::Int32List => list(DataType::Int32),
        FieldKind::Int64List => list(DataType::Int64),
        FieldKind::Float64List => list(DataType::Float64),
        FieldKind::StringList => list(DataType::Utf8),
        FieldKind::Binary => DataType::Binary,
    }
}

/// The `bbox` covering column of a row group: null for a null geometry;
/// for an empty one the inverted box (+inf, +inf, -inf, -inf), present
/// with its geometry as the covering rules want, yet outside any query box
/// (NaN would pass filters written as `not (xmin > qxmax ...)`).
fn bbox_array(boxes: &[Option<[f64; 4]>], valid: Vec<bool>) -> ArrayRef {
    let mut cols: [Vec<f64>; 4] = Default::default();
    for b in boxes {
        for (k, c) in cols.iter_mut().enumerate() {
            let inverted = if k < 2 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            c.push(b.map_or(inverted, |b| b[k]));
        }
    }
    let [xmin, ymin, xmax, ymax] = cols;
    let children: Vec<ArrayRef> = vec![
        Arc::new(arrow_array::Float64Array::from(xmin)),
        Arc::new(arrow_array::Float64Array::from(ymin)),
        Arc::new(arrow_array::Float64Array::from(xmax)),
        Arc::new(arrow_array::Float64Array::from(ymax)),
    ];
    Arc::new(StructArray::new(
        bbox_fields(),
        children,
        Some(NullBuffer::from(valid)),
    ))
}

fn bbox_fields() -> Fields {
    Fields::from(
        ["xmin", "ymin", "xmax", "ymax"]
            .iter()
            .map(|n| ArrowField::new(*n, DataType::Float64, false))
            .collect::<Vec<_>>(),
    )
}

/// GeoParquet geometry type names (no M), in type order, without repeats.
fn labels_without_m(types: &BTreeSet<GeomType>) -> Vec<String> {
    let mut v: Vec<String> = types
        .iter()
        .map(|t| GeomType { m: false, ..*t }.label())
        .collect();
    v.dedup();
    v
}

/// Native GeoArrow type for a set of geometry types, when one exists.
fn native_kind(types: &BTreeSet<GeomType>) -> Option<(Kind, bool)> {
    let kinds: BTreeSet<Kind> = types.iter().map(|t| t.kind).collect();
    let zs: BTreeSet<bool> = types.iter().map(|t| t.z).collect();
    if zs.len() > 1 || kinds.contains(&Kind::GeometryCollection) {
        return None;
    }
    let z = zs.into_iter().next().unwrap_or(false);
    let multis: BTreeSet<Kind> = kinds.iter().map(|k| k.multi()).collect();
    match (kinds.len(), multis.len()) {
        (1, _) => Some((*kinds.iter().next().unwrap(), z)),
        (_, 1) => Some((*multis.iter().next().unwrap(), z)),
        _ => None,
    }
}

fn native_type(kind: Kind, z: bool) -> geoarrow_schema::GeoArrowType {
    use geoarrow_schema::{
        CoordType, Dimension, GeoArrowType as G, LineStringType, Metadata, MultiLineStringType,
        MultiPointType, MultiPolygonType, PointType, PolygonType,
    };
    let dim = if z { Dimension::XYZ } else { Dimension::XY };
    let md = Arc::new(Metadata::default());
    let ct = CoordType::Separated;
    match kind {
        Kind::Point => G::Point(PointType::new(dim, md).with_coord_type(ct)),
        Kind::LineString => G::LineString(LineStringType::new(dim, md).with_coord_type(ct)),
        Kind::Polygon => G::Polygon(PolygonType::new(dim, md).with_coord_type(ct)),
        Kind::MultiPoint => G::MultiPoint(MultiPointType::new(dim, md).with_coord_type(ct)),
        Kind::MultiLineString => {
            G::MultiLineString(MultiLineStringType::new(dim, md).with_coord_type(ct))
        }
        Kind::MultiPolygon | Kind::GeometryCollection => {
            G::MultiPolygon(MultiPolygonType::new(dim, md).with_coord_type(ct))
        }
    }
}

fn native_encoding_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Point => "point",
        Kind::LineString => "linestring",
        Kind::Polygon => "polygon",
        Kind::MultiPoint => "multipoint",
        Kind::MultiLineString => "multilinestring",
        Kind::MultiPolygon | Kind::GeometryCollection => "multipolygon",
    }
}

/// The geometry column of a row group from its WKB (64-bit offsets).
fn geometry_array(
    wkb: &ArrayRef,
    native: Option<&geoarrow_schema::GeoArrowType>,
    path: &Path,
) -> Result<ArrayRef> {
    let wkb = cast(wkb, &DataType::Binary).map_err(|e| encode_err(path, e))?;
    let Some(to) = native else {
        return Ok(wkb);
    };
    use geoarrow_array::GeoArrowArray;
    let arr = geoarrow_array::array::WkbArray::new(
        wkb.as_binary::<i32>().clone(),
        Arc::new(geoarrow_schema::Metadata::default()),
    );
    let native =
        geoarrow_array::cast::from_wkb(&arr, to.clone()).map_err(|e| encode_err(path, e))?;
    Ok(native.to_array_ref())
}

/// Drops the M values of every geometry that has them (GeoParquet has no
/// M); returns how many geometries changed.
fn drop_m(table: &mut Table) -> usize {
    let has_m = |g: &[u8]| wkb::geom_type(g).is_ok_and(|t| t.m);
    let changed = (0..table.len())
        .into_par_iter()
        .filter(|&i| table.wkb(i).is_some_and(has_m))
        .count();
    if changed == 0 {
        return 0;
    }
    let geoms: Vec<Option<Vec<u8>>> = (0..table.len())
        .into_par_iter()
        .map(|i| {
            let g = table.wkb(i)?;
            if !has_m(g) {
                return Some(g.to_vec());
            }
            let mut out = Vec::with_capacity(g.len());
            match wkb::decode(g) {
                Ok(dec) => wkb::encode(&dec, true, false, &mut out),
                Err(_) => out.extend_from_slice(g),
            }
            Some(out)
        })
        .collect();
    table.geometry = geoms.into_iter().collect();
    changed
}

/// Writes the features of `src` (read with
/// [`VectorSource::read_into`]`::<TableBuilder>`) as GeoParquet 1.1 at
/// `target`.
pub fn write_geoparquet(
    src: &VectorSource,
    mut table: Table,
    target: &Path,
    opts: &GeoParquetOptions,
    progress: &dyn Progress,
) -> Result<Record> {
    ensure_features(src, table.len())?;
    if opts.row_group_size == 0 {
        return Err(ConvertError::InvalidOption {
            option: "--row-group-size",
            reason: "must be at least 1 (50000-150000 rows suit spatial queries)".into(),
        });
    }
    let staged = Staged::new(target, opts.overwrite)?;
    let mut notes = Vec::new();

    // GeoParquet has no M: drop it, keeping X, Y and Z.
    let dropped_m = drop_m(&mut table);
    if dropped_m > 0 {
        notes.push(format!(
            "GeoParquet has no M dimension: M values of {dropped_m} geometries dropped (X, Y, Z kept); use --to flatgeobuf to keep them"
        ));
    }
    let s = survey(src, table.len(), |i| table.wkb(i))?;
    notes.extend(null_note(&s, Format::Geoparquet));

    let native = if opts.encoding == GeometryEncoding::GeoArrow {
        if let Some((kind, z)) = native_kind(&s.types) {
            let singles: BTreeSet<Kind> = s.types.iter().map(|t| t.kind).collect();
            if singles.len() > 1 {
                notes.push(format!(
                    "geoarrow: {} stored as {} (one native type per column)",
                    singles
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    kind.name()
                ));
            }
            Some((kind, z, native_type(kind, z)))
        } else {
            notes.push(format!(
                "geoarrow: the layer mixes {}, which no single native type holds; geometry written as WKB",
                s.types.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")
            ));
            None
        }
    } else {
        None
    };

    // Column names: attributes, then geometry, then the covering bbox.
    let geom_name = src.geometry_column.clone();
    let mut bbox_name = "bbox".to_string();
    while src.fields.iter().any(|f| f.name == bbox_name) || bbox_name == geom_name {
        bbox_name = format!("{bbox_name}_");
    }
    // Row groups in Hilbert order are gathered column by column; without
    // sorting they are slices of the table.
    let order: Option<Vec<usize>> = opts.sort.then(|| hilbert::order(&s.boxes));
    let rows_of = |start: usize, len: usize| -> Vec<u64> {
        match &order {
            Some(o) => o[start..start + len].iter().map(|&i| i as u64).collect(),
            None => (start as u64..(start + len) as u64).collect(),
        }
    };
    let pick = |a: &ArrayRef, rows: &[u64]| -> Result<ArrayRef> {
        if order.is_none() {
            return Ok(a.slice(rows[0] as usize, rows.len()));
        }
        take(a.as_ref(), &UInt64Array::from(rows.to_vec()), None).map_err(|e| encode_err(target, e))
    };

    let geometry_types: Vec<String> = match &native {
        Some((kind, z, _)) => vec![GeomType {
            kind: *kind,
            z: *z,
            m: false,
        }
        .label()],
        None => labels_without_m(&s.types),
    };
    let crs = match &src.crs {
        None => serde_json::Value::Null,
        Some(c) => {
            let pj = c
                .projjson
                .as_deref()
                .ok_or_else(|| ConvertError::UnsupportedCrs {
                    path: src.path.display().to_string(),
                    reason: "no PROJJSON form, which GeoParquet requires".into(),
                })?;
            serde_json::from_str(pj).map_err(|e| ConvertError::UnsupportedCrs {
                path: src.path.display().to_string(),
                reason: format!("PROJJSON does not parse ({e})"),
            })?
        }
    };
    let mut column = json!({
        "encoding": native.as_ref().map_or("WKB", |(k, _, _)| native_encoding_name(*k)),
        "geometry_types": geometry_types,
        "crs": crs,
        "covering": {"bbox": {
            "xmin": [bbox_name, "xmin"], "ymin": [bbox_name, "ymin"],
            "xmax": [bbox_name, "xmax"], "ymax": [bbox_name, "ymax"],
        }},
    });
    if let Some(e) = s.extent {
        column["bbox"] = json!(e);
    }
    let geo = json!({
        "version": "1.1.0",
        "primary_column": geom_name,
        "columns": { geom_name.clone(): column },
    });

    let native_type = native.as_ref().map(|(_, _, t)| t);
    let mut fields: Vec<ArrowField> = src
        .fields
        .iter()
        .map(|f| ArrowField::new(&f.name, arrow_type(f.kind), true))
        .collect();
    // The geometry type is taken from a first (tiny) array, so it matches
    // exactly what geoarrow builds.
    let first: ArrayRef = Arc::new(table.geometry.slice(0, 1));
    let geom_type = geometry_array(&first, native_type, target)?
        .data_type()
        .clone();
    fields.push(ArrowField::new(&geom_name, geom_type, true));
    fields.push(ArrowField::new(
        &bbox_name,
        DataType::Struct(bbox_fields()),
        true,
    ));
    let schema = Arc::new(Schema::new(fields));

    let level = ZstdLevel::try_new(opts.zstd_level).map_err(|e| ConvertError::InvalidOption {
        option: "--level",
        reason: e.to_string(),
    })?;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_size))
        .set_created_by(format!("arco {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "geo".to_string(),
            geo.to_string(),
        )]));
    if native.is_none() {
        // Min/max of WKB bytes mean nothing and dictionaries of unique shapes waste time.
        props = props
            .set_column_statistics_enabled(
                ColumnPath::from(vec![geom_name.clone()]),
                EnabledStatistics::None,
            )
            .set_column_dictionary_enabled(ColumnPath::from(vec![geom_name.clone()]), false);
    }
    for c in ["xmin", "ymin", "xmax", "ymax"] {
        props = props.set_column_dictionary_enabled(
            ColumnPath::from(vec![bbox_name.clone(), c.to_string()]),
            false,
        );
    }
    let mut props = props.build();
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)
        .map_err(|e| encode_err(target, e))?;
    let file = std::fs::File::create(staged.path()).map_err(|e| ConvertError::output(target, e))?;
    let sink = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut writer =
        SerializedFileWriter::new(sink, parquet_schema.root_schema_ptr(), Arc::new(props))
            .map_err(|e| encode_err(target, e))?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());

    progress.start("writing GeoParquet", table.len() as u64);
    let kinds: Vec<FieldKind> = src.fields.iter().map(|f| f.kind).collect();
    let n_attr = kinds.len();
    let geometry: ArrayRef = Arc::new(table.geometry.clone());
    // One row group: its columns gathered, then encoded, in parallel.
    let encode_group = |rg: usize, start: usize| -> Result<(usize, Vec<ArrowColumnChunk>)> {
        let rows = rows_of(start, opts.row_group_size.min(table.len() - start));
        let columns: Vec<ArrayRef> = (0..n_attr + 2)
            .into_par_iter()
            .map(|c| match c.cmp(&n_attr) {
                std::cmp::Ordering::Less => {
                    let a = pick(&table.columns[c], &rows)?;
                    cast(&a, &arrow_type(kinds[c])).map_err(|e| encode_err(target, e))
                }
                std::cmp::Ordering::Equal => {
                    geometry_array(&pick(&geometry, &rows)?, native_type, target)
                }
                std::cmp::Ordering::Greater => {
                    let boxes: Vec<_> = rows.iter().map(|&i| s.boxes[i as usize]).collect();
                    let valid: Vec<bool> = rows
                        .iter()
                        .map(|&i| table.geometry.is_valid(i as usize))
                        .collect();
                    Ok(bbox_array(&boxes, valid))
                }
            })
            .collect::<Result<_>>()?;
        let mut leaves = Vec::new();
        for (field, array) in schema.fields().iter().zip(&columns) {
            leaves.extend(compute_leaves(field, array).map_err(|e| encode_err(target, e))?);
        }
        let writers = factory
            .create_column_writers(rg)
            .map_err(|e| encode_err(target, e))?;
        let chunks = writers
            .into_par_iter()
            .zip(leaves.into_par_iter())
            .map(|(mut w, leaf)| {
                w.write(&leaf)?;
                w.close()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| encode_err(target, e))?;
        Ok((rows.len(), chunks))
    };
    // Row groups are encoded a batch at a time (one per thread, so no
    // thread waits on the widest column), and each batch is written to the
    // file while the next is encoded.
    let append = |writer: &mut SerializedFileWriter<_>,
                  groups: Vec<(usize, Vec<ArrowColumnChunk>)>|
     -> Result<()> {
        for (rows, chunks) in groups {
            let mut group = writer.next_row_group().map_err(|e| encode_err(target, e))?;
            for chunk in chunks {
                chunk
                    .append_to_row_group(&mut group)
                    .map_err(|e| encode_err(target, e))?;
            }
            group.close().map_err(|e| encode_err(target, e))?;
            progress.advance(rows as u64);
        }
        Ok(())
    };
    let starts: Vec<usize> = (0..table.len()).step_by(opts.row_group_size).collect();
    let batch = rayon::current_num_threads().max(1);
    let mut pending = Vec::new();
    for (b, group_starts) in starts.chunks(batch).enumerate() {
        let done = std::mem::take(&mut pending);
        let (encoded, written) = rayon::join(
            || {
                group_starts
                    .par_iter()
                    .enumerate()
                    .map(|(k, &start)| encode_group(b * batch + k, start))
                    .collect::<Result<Vec<_>>>()
            },
            || append(&mut writer, done),
        );
        written?;
        pending = encoded?;
    }
    append(&mut writer, pending)?;
    let count = table.len() as u64;
    drop(table);
    let sink = writer.into_inner().map_err(|e| encode_err(target, e))?;
    let (buf, size, checksum) = sink.finish().map_err(|e| ConvertError::output(target, e))?;
    // No fsync (as the COG writer): the rename in commit() is what makes
    // the file visible, and only once it is whole.
    drop(
        buf.into_inner()
            .map_err(|e| ConvertError::output(target, e.error()))?,
    );
    progress.finish();
    let path = staged.commit()?;
    Ok(record(
        src,
        Written {
            path,
            format: Format::Geoparquet,
            size,
            checksum,
            feature_count: count,
            geometry_types: labels_without_m(&s.types),
            extent: s.extent,
            notes,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_kind_promotes_singles_and_refuses_real_mixes() {
        let t = |kind, z| GeomType { kind, z, m: false };
        let set = |v: Vec<GeomType>| v.into_iter().collect::<BTreeSet<_>>();
        assert_eq!(
            native_kind(&set(vec![
                t(Kind::Polygon, false),
                t(Kind::MultiPolygon, false)
            ])),
            Some((Kind::MultiPolygon, false))
        );
        assert_eq!(
            native_kind(&set(vec![t(Kind::Point, true)])),
            Some((Kind::Point, true))
        );
        assert_eq!(
            native_kind(&set(vec![
                t(Kind::Point, false),
                t(Kind::LineString, false)
            ])),
            None
        );
        assert_eq!(
            native_kind(&set(vec![t(Kind::Point, false), t(Kind::Point, true)])),
            None
        );
    }
}
