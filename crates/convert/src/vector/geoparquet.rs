//! GeoParquet 1.1 writer: WKB or native GeoArrow geometry, a `bbox`
//! covering column, zstd, rows in Hilbert order, row groups sized for
//! spatial queries, and the `geo` metadata written here (PROJJSON CRS,
//! geometry types, extent, covering).
//!
//! GeoParquet has no M dimension: M values are dropped (X, Y and Z kept)
//! with a note. Columns map to Parquet/Arrow types one to one (lists
//! included); datetimes are UTC milliseconds.

use super::source::{Feature, FieldKind, Value, VectorSource};
use super::wkb::{self, GeomType, Kind};
use super::{encode_err, ensure_features, hilbert, null_note, record, survey, Written};
use crate::atomic::Staged;
use crate::error::{ConvertError, Result};
use arco_core::{Format, HashingWriter, Progress, Record};
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field as ArrowField, Fields, Schema, TimeUnit};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
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

/// One attribute column of `rows`.
fn attribute_array(rows: &[Feature], col: usize, kind: FieldKind) -> ArrayRef {
    let vals = rows.iter().map(|f| &f.values[col]);
    let int = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        _ => None,
    };
    match kind {
        FieldKind::Int32 => {
            let mut b = Int32Builder::with_capacity(rows.len());
            vals.for_each(|v| b.append_option(int(v).map(|i| i as i32)));
            Arc::new(b.finish())
        }
        FieldKind::Int64 => {
            let mut b = Int64Builder::with_capacity(rows.len());
            vals.for_each(|v| b.append_option(int(v)));
            Arc::new(b.finish())
        }
        FieldKind::Float64 => {
            let mut b = Float64Builder::with_capacity(rows.len());
            vals.for_each(|v| {
                b.append_option(match v {
                    Value::Float(f) => Some(*f),
                    _ => None,
                });
            });
            Arc::new(b.finish())
        }
        FieldKind::String => {
            let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
            vals.for_each(|v| match v {
                Value::String(s) => b.append_value(s),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        FieldKind::Bool => {
            let mut b = BooleanBuilder::with_capacity(rows.len());
            vals.for_each(|v| {
                b.append_option(match v {
                    Value::Bool(x) => Some(*x),
                    _ => None,
                });
            });
            Arc::new(b.finish())
        }
        FieldKind::Date => {
            let mut b = Date32Builder::with_capacity(rows.len());
            vals.for_each(|v| {
                b.append_option(match v {
                    Value::Date(d) => Some(*d),
                    _ => None,
                });
            });
            Arc::new(b.finish())
        }
        FieldKind::DateTime => {
            let mut b = TimestampMillisecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
            vals.for_each(|v| {
                b.append_option(match v {
                    Value::DateTime(t) => Some(*t),
                    _ => None,
                });
            });
            Arc::new(b.finish())
        }
        FieldKind::Int32List => {
            let mut b = ListBuilder::new(Int32Builder::new());
            for v in vals {
                if let Value::List(items) = v {
                    for it in items {
                        b.values().append_option(int(it).map(|i| i as i32));
                    }
                    b.append(true);
                } else {
                    b.append(false);
                }
            }
            Arc::new(b.finish())
        }
        FieldKind::Int64List => {
            let mut b = ListBuilder::new(Int64Builder::new());
            for v in vals {
                if let Value::List(items) = v {
                    for it in items {
                        b.values().append_option(int(it));
                    }
                    b.append(true);
                } else {
                    b.append(false);
                }
            }
            Arc::new(b.finish())
        }
        FieldKind::Float64List => {
            let mut b = ListBuilder::new(Float64Builder::new());
            for v in vals {
                if let Value::List(items) = v {
                    for it in items {
                        b.values().append_option(match it {
                            Value::Float(f) => Some(*f),
                            _ => None,
                        });
                    }
                    b.append(true);
                } else {
                    b.append(false);
                }
            }
            Arc::new(b.finish())
        }
        FieldKind::StringList => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in vals {
                if let Value::List(items) = v {
                    for it in items {
                        match it {
                            Value::String(s) => b.values().append_value(s),
                            _ => b.values().append_null(),
                        }
                    }
                    b.append(true);
                } else {
                    b.append(false);
                }
            }
            Arc::new(b.finish())
        }
        FieldKind::Binary => {
            let mut b = BinaryBuilder::with_capacity(rows.len(), rows.len() * 16);
            vals.for_each(|v| match v {
                Value::Binary(x) => b.append_value(x),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
    }
}

/// The `bbox` covering column of the rows `rows`: null for a null
/// geometry; for an empty one the inverted box (+inf, +inf, -inf, -inf),
/// present with its geometry as the covering rules want, yet outside any
/// query box (NaN would pass filters written as `not (xmin > qxmax ...)`).
fn bbox_array(rows: &[Feature], boxes: &[Option<[f64; 4]>]) -> ArrayRef {
    let mut cols: [Vec<f64>; 4] = Default::default();
    let mut valid = Vec::with_capacity(rows.len());
    for (f, b) in rows.iter().zip(boxes) {
        let b = *b;
        for (k, c) in cols.iter_mut().enumerate() {
            let inverted = if k < 2 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            c.push(b.map_or(inverted, |b| b[k]));
        }
        valid.push(f.geometry.is_some());
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

/// The geometry column of the rows `rows`.
fn geometry_array(
    rows: &[Feature],
    native: Option<&geoarrow_schema::GeoArrowType>,
    path: &Path,
) -> Result<ArrayRef> {
    let bytes: usize = rows
        .iter()
        .map(|f| f.geometry.as_ref().map_or(0, Vec::len))
        .sum();
    let mut b = BinaryBuilder::with_capacity(rows.len(), bytes);
    for f in rows {
        match &f.geometry {
            Some(g) => b.append_value(g),
            None => b.append_null(),
        }
    }
    let wkb = b.finish();
    let Some(to) = native else {
        return Ok(Arc::new(wkb));
    };
    use geoarrow_array::GeoArrowArray;
    let arr =
        geoarrow_array::array::WkbArray::new(wkb, Arc::new(geoarrow_schema::Metadata::default()));
    let native =
        geoarrow_array::cast::from_wkb(&arr, to.clone()).map_err(|e| encode_err(path, e))?;
    Ok(native.to_array_ref())
}

/// Writes `features` of `src` as GeoParquet 1.1 at `target`.
pub fn write_geoparquet(
    src: &VectorSource,
    mut features: Vec<Feature>,
    target: &Path,
    opts: &GeoParquetOptions,
    progress: &dyn Progress,
) -> Result<Record> {
    ensure_features(src, &features)?;
    if opts.row_group_size == 0 {
        return Err(ConvertError::InvalidOption {
            option: "--row-group-size",
            reason: "must be at least 1 (50000-150000 rows suit spatial queries)".into(),
        });
    }
    let staged = Staged::new(target, opts.overwrite)?;
    let mut notes = Vec::new();

    // GeoParquet has no M: drop it, keeping X, Y and Z.
    let dropped_m: usize = features
        .par_iter_mut()
        .map(|f| {
            let Some(g) = f.geometry.as_mut() else {
                return 0;
            };
            match wkb::geom_type(g) {
                Ok(t) if t.m => {
                    if let Ok(dec) = wkb::decode(g) {
                        let mut out = Vec::with_capacity(g.len());
                        wkb::encode(&dec, true, false, &mut out);
                        *g = out;
                    }
                    1
                }
                _ => 0,
            }
        })
        .sum();
    if dropped_m > 0 {
        notes.push(format!(
            "GeoParquet has no M dimension: M values of {dropped_m} geometries dropped (X, Y, Z kept); use --to flatgeobuf to keep them"
        ));
    }
    let s = survey(src, &features)?;
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
    // Rows in output order once, so each row group reads memory in sequence.
    let (features, boxes) = if opts.sort {
        let order = hilbert::order(&s.boxes);
        let boxes: Vec<_> = order.iter().map(|&i| s.boxes[i]).collect();
        let mut slots: Vec<Option<Feature>> = features.into_iter().map(Some).collect();
        let features: Vec<Feature> = order
            .iter()
            .map(|&i| slots[i].take().expect("order is a permutation"))
            .collect();
        (features, boxes)
    } else {
        (features, s.boxes.clone())
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
    let geom_type = geometry_array(&features[..1], native_type, target)?
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

    progress.start("writing GeoParquet", features.len() as u64);
    let kinds: Vec<FieldKind> = src.fields.iter().map(|f| f.kind).collect();
    let n_attr = kinds.len();
    for (rg, (rows, row_boxes)) in features
        .chunks(opts.row_group_size)
        .zip(boxes.chunks(opts.row_group_size))
        .enumerate()
    {
        // Columns of one row group are built, then encoded, in parallel.
        let columns: Vec<ArrayRef> = (0..n_attr + 2)
            .into_par_iter()
            .map(|c| match c.cmp(&n_attr) {
                std::cmp::Ordering::Less => Ok(attribute_array(rows, c, kinds[c])),
                std::cmp::Ordering::Equal => geometry_array(rows, native_type, target),
                std::cmp::Ordering::Greater => Ok(bbox_array(rows, row_boxes)),
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
        let mut group = writer.next_row_group().map_err(|e| encode_err(target, e))?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut group)
                .map_err(|e| encode_err(target, e))?;
        }
        group.close().map_err(|e| encode_err(target, e))?;
        progress.advance(rows.len() as u64);
    }
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
            feature_count: features.len() as u64,
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
