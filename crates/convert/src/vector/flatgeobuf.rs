//! FlatGeobuf writer: features encoded in parallel (one flatbuffer each),
//! laid out in Hilbert order behind a packed Hilbert R-tree (node size 16),
//! with the CRS and every attribute.
//!
//! Type mapping: integers, doubles, booleans, strings and bytes map to
//! their FlatGeobuf column types; dates and datetimes become `DateTime`
//! columns (ISO 8601 text, as GDAL writes them); lists, which FlatGeobuf
//! cannot hold, become `Json` columns holding a JSON array. Mixed geometry
//! layers get the `Unknown` header type with a type per feature. Null and
//! empty geometries are kept as features without geometry; they sit last
//! in the index with an empty box, so no spatial query returns them.

use super::source::{FieldKind, VectorSource};
use super::table::Table;
use super::wkb::{self, Body, Geometry, Kind};
use super::{encode_err, ensure_features, hilbert, null_note, record, survey, Written};
use crate::atomic::Staged;
use crate::error::{ConvertError, Result};
use ::flatgeobuf::packed_r_tree::{NodeItem, PackedRTree};
use ::flatgeobuf::{
    Column, ColumnArgs, ColumnType, Crs, CrsArgs, Feature as FgbFeature, FeatureArgs,
    Geometry as FgbGeometry, GeometryArgs, GeometryType, Header, HeaderArgs,
};
use arco_core::{Format, HashingWriter, Progress, Record};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use flatbuffers::{FlatBufferBuilder, WIPOffset};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// FlatGeobuf magic bytes (version 3).
const MAGIC: [u8; 8] = [b'f', b'g', b'b', 3, b'f', b'g', b'b', 0];
/// Node size of the packed R-tree.
const NODE_SIZE: u16 = 16;

/// Options of [`write_flatgeobuf`].
#[derive(Debug, Clone)]
pub struct FlatGeobufOptions {
    /// Write the packed Hilbert R-tree (features then in Hilbert order).
    pub index: bool,
    /// Replace an existing output.
    pub overwrite: bool,
}

impl Default for FlatGeobufOptions {
    fn default() -> Self {
        Self {
            index: true,
            overwrite: false,
        }
    }
}

fn column_type(kind: FieldKind) -> ColumnType {
    match kind {
        FieldKind::Int32 => ColumnType::Int,
        FieldKind::Int64 => ColumnType::Long,
        FieldKind::Float64 => ColumnType::Double,
        FieldKind::String => ColumnType::String,
        FieldKind::Bool => ColumnType::Bool,
        FieldKind::Date | FieldKind::DateTime => ColumnType::DateTime,
        FieldKind::Int32List
        | FieldKind::Int64List
        | FieldKind::Float64List
        | FieldKind::StringList => ColumnType::Json,
        FieldKind::Binary => ColumnType::Binary,
    }
}

fn fgb_type(kind: Kind) -> GeometryType {
    match kind {
        Kind::Point => GeometryType::Point,
        Kind::LineString => GeometryType::LineString,
        Kind::Polygon => GeometryType::Polygon,
        Kind::MultiPoint => GeometryType::MultiPoint,
        Kind::MultiLineString => GeometryType::MultiLineString,
        Kind::MultiPolygon => GeometryType::MultiPolygon,
        Kind::GeometryCollection => GeometryType::GeometryCollection,
    }
}

/// ISO 8601 text of a UTC millisecond timestamp (milliseconds shown only
/// when there are any), as GDAL writes FlatGeobuf datetimes.
fn iso_datetime(ms: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    let mut s = iso_date_of(t.date_naive());
    let secs = ms.rem_euclid(86_400_000) / 1000;
    let frac = ms.rem_euclid(1000);
    s.push('T');
    push_digits(&mut s, secs / 3600, 2);
    s.push(':');
    push_digits(&mut s, secs / 60 % 60, 2);
    s.push(':');
    push_digits(&mut s, secs % 60, 2);
    if frac != 0 {
        s.push('.');
        push_digits(&mut s, frac, 3);
    }
    s.push('Z');
    s
}

/// ISO 8601 text of a date given as days since 1970-01-01.
fn iso_date(days: i32) -> String {
    chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
        .map_or_else(String::new, iso_date_of)
}

/// `YYYY-MM-DD`, written by hand: chrono's format strings cost more than
/// the rest of a feature's properties.
fn iso_date_of(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    if !(0..=9999).contains(&d.year()) {
        return d.format("%Y-%m-%d").to_string();
    }
    let mut s = String::with_capacity(24);
    push_digits(&mut s, i64::from(d.year()), 4);
    s.push('-');
    push_digits(&mut s, i64::from(d.month()), 2);
    s.push('-');
    push_digits(&mut s, i64::from(d.day()), 2);
    s
}

/// Appends `v` (0 <= v < 10^width) zero-padded to `width` digits.
fn push_digits(s: &mut String, v: i64, width: u32) {
    for k in (0..width).rev() {
        s.push(char::from(b'0' + (v / 10_i64.pow(k) % 10) as u8));
    }
}

/// Item `k` of a list's values as JSON.
fn json_item(items: &dyn Array, k: usize) -> serde_json::Value {
    if items.is_null(k) {
        return serde_json::Value::Null;
    }
    match items.data_type() {
        DataType::Int32 => items.as_primitive::<Int32Type>().value(k).into(),
        DataType::Int64 => items.as_primitive::<Int64Type>().value(k).into(),
        DataType::Float64 => {
            serde_json::Number::from_f64(items.as_primitive::<Float64Type>().value(k))
                .map_or(serde_json::Value::Null, Into::into)
        }
        DataType::Utf8 => items.as_string::<i32>().value(k).into(),
        _ => serde_json::Value::Null,
    }
}

/// The properties buffer of row `row` of `columns` (one array per field,
/// as [`Table`] holds them): (column index, value) pairs, nulls left out.
fn properties(columns: &[ArrayRef], kinds: &[FieldKind], row: usize, out: &mut Vec<u8>) {
    out.clear();
    for (i, (col, k)) in columns.iter().zip(kinds).enumerate() {
        if col.is_null(row) {
            continue;
        }
        let text = |out: &mut Vec<u8>, s: &[u8]| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s);
        };
        out.extend_from_slice(&(i as u16).to_le_bytes());
        match k {
            FieldKind::Int32 => {
                out.extend_from_slice(&col.as_primitive::<Int32Type>().value(row).to_le_bytes());
            }
            FieldKind::Int64 => {
                out.extend_from_slice(&col.as_primitive::<Int64Type>().value(row).to_le_bytes());
            }
            FieldKind::Float64 => {
                out.extend_from_slice(&col.as_primitive::<Float64Type>().value(row).to_le_bytes());
            }
            FieldKind::Bool => out.push(u8::from(col.as_boolean().value(row))),
            FieldKind::String => text(out, col.as_string::<i64>().value(row).as_bytes()),
            FieldKind::Date => {
                let d = col.as_primitive::<Date32Type>().value(row);
                text(out, iso_date(d).as_bytes());
            }
            FieldKind::DateTime => {
                let t = col.as_primitive::<TimestampMillisecondType>().value(row);
                text(out, iso_datetime(t).as_bytes());
            }
            FieldKind::Int32List
            | FieldKind::Int64List
            | FieldKind::Float64List
            | FieldKind::StringList => {
                let items = col.as_list::<i32>().value(row);
                let j = serde_json::Value::Array(
                    (0..items.len()).map(|k| json_item(&items, k)).collect(),
                );
                text(out, j.to_string().as_bytes());
            }
            FieldKind::Binary => text(out, col.as_binary::<i64>().value(row)),
        }
    }
}

/// Flat coordinate arrays of one geometry part.
#[derive(Default)]
struct Coords {
    xy: Vec<f64>,
    z: Vec<f64>,
    m: Vec<f64>,
    ends: Vec<u32>,
}

impl Coords {
    /// Appends vertices of `stride` values, padding Z/M the layer has but
    /// this geometry lacks (Z with 0, M with NaN).
    fn push(&mut self, c: &[f64], g: &Geometry, want_z: bool, want_m: bool) {
        let stride = g.stride();
        for v in c.chunks_exact(stride) {
            self.xy.push(v[0]);
            self.xy.push(v[1]);
            if want_z {
                self.z.push(if g.ty.z { v[2] } else { 0.0 });
            }
            if want_m {
                self.m.push(if g.ty.m { v[stride - 1] } else { f64::NAN });
            }
        }
    }

    fn end(&mut self) {
        self.ends.push((self.xy.len() / 2) as u32);
    }
}

fn build_geometry<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    g: &Geometry,
    want_z: bool,
    want_m: bool,
    typed: bool,
) -> WIPOffset<FgbGeometry<'a>> {
    let type_ = if typed {
        fgb_type(g.ty.kind)
    } else {
        GeometryType::Unknown
    };
    let mut c = Coords::default();
    let mut parts = Vec::new();
    match &g.body {
        Body::Coords(v) => c.push(v, g, want_z, want_m),
        Body::Rings(rings) => {
            for r in rings {
                c.push(r, g, want_z, want_m);
                c.end();
            }
            // A single ring needs no ends.
            if c.ends.len() <= 1 {
                c.ends.clear();
            }
        }
        Body::Parts(members) => match g.ty.kind {
            Kind::MultiPoint => {
                for p in members {
                    if let Body::Coords(v) = &p.body {
                        c.push(v, p, want_z, want_m);
                    }
                }
            }
            Kind::MultiLineString => {
                for p in members {
                    if let Body::Coords(v) = &p.body {
                        c.push(v, p, want_z, want_m);
                        c.end();
                    }
                }
                if c.ends.len() <= 1 {
                    c.ends.clear();
                }
            }
            // MultiPolygon parts are polygons; collection parts carry their type.
            _ => {
                for p in members {
                    parts.push(build_geometry(fbb, p, want_z, want_m, true));
                }
            }
        },
    }
    let vec_or_none =
        |fbb: &mut FlatBufferBuilder<'a>, v: &[f64]| (!v.is_empty()).then(|| fbb.create_vector(v));
    let xy = vec_or_none(fbb, &c.xy);
    let z = vec_or_none(fbb, &c.z);
    let m = vec_or_none(fbb, &c.m);
    let ends = (!c.ends.is_empty()).then(|| fbb.create_vector(&c.ends));
    let parts = (!parts.is_empty()).then(|| fbb.create_vector(&parts));
    FgbGeometry::create(
        fbb,
        &GeometryArgs {
            ends,
            xy,
            z,
            m,
            t: None,
            tm: None,
            type_,
            parts,
        },
    )
}

/// What every feature of one layer is encoded with.
struct Encoder<'a> {
    table: &'a Table,
    kinds: &'a [FieldKind],
    /// The layer has Z, M.
    dims: (bool, bool),
    /// Geometry types are written per feature (mixed layer).
    typed: bool,
}

impl Encoder<'_> {
    /// Appends row `row` to `out` as one size-prefixed feature flatbuffer;
    /// returns its size.
    fn encode(
        &self,
        fbb: &mut FlatBufferBuilder<'_>,
        props: &mut Vec<u8>,
        row: usize,
        out: &mut Vec<u8>,
    ) -> std::result::Result<usize, wkb::WkbError> {
        fbb.reset();
        let geometry = match self.table.wkb(row) {
            Some(w) => {
                let g = wkb::decode(w)?;
                (!g.is_empty())
                    .then(|| build_geometry(fbb, &g, self.dims.0, self.dims.1, self.typed))
            }
            None => None,
        };
        properties(&self.table.columns, self.kinds, row, props);
        let properties = (!props.is_empty()).then(|| fbb.create_vector(props));
        let feat = FgbFeature::create(
            fbb,
            &FeatureArgs {
                geometry,
                properties,
                columns: None,
            },
        );
        fbb.finish_size_prefixed(feat, None);
        out.extend_from_slice(fbb.finished_data());
        Ok(fbb.finished_data().len())
    }
}

/// The size-prefixed header flatbuffer.
fn header(
    src: &VectorSource,
    count: u64,
    geometry_type: GeometryType,
    dims: (bool, bool),
    extent: Option<[f64; 4]>,
    index: bool,
) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let columns: Vec<_> = src
        .fields
        .iter()
        .map(|f| {
            let name = fbb.create_string(&f.name);
            Column::create(
                &mut fbb,
                &ColumnArgs {
                    name: Some(name),
                    type_: column_type(f.kind),
                    nullable: true,
                    ..Default::default()
                },
            )
        })
        .collect();
    let columns = fbb.create_vector(&columns);
    let crs = src.crs.as_ref().map(|c| {
        let (org, code, code_string) = match c.code.as_deref().and_then(|s| s.split_once(':')) {
            Some((org, code)) => match code.parse::<i32>() {
                Ok(n) => (Some(org), n, None),
                Err(_) => (Some(org), 0, Some(code)),
            },
            None => (None, 0, None),
        };
        let args = CrsArgs {
            org: org.map(|o| fbb.create_string(o)),
            code,
            name: None,
            description: None,
            wkt: (!c.wkt2.is_empty()).then(|| fbb.create_string(&c.wkt2)),
            code_string: code_string.map(|s| fbb.create_string(s)),
        };
        Crs::create(&mut fbb, &args)
    });
    let envelope = extent.map(|e| fbb.create_vector(&e));
    let name = fbb.create_string(&src.layer);
    let h = Header::create(
        &mut fbb,
        &HeaderArgs {
            name: Some(name),
            envelope,
            geometry_type,
            has_z: dims.0,
            has_m: dims.1,
            has_t: false,
            has_tm: false,
            columns: Some(columns),
            features_count: count,
            index_node_size: if index { NODE_SIZE } else { 0 },
            crs,
            title: None,
            description: None,
            metadata: None,
        },
    );
    fbb.finish_size_prefixed(h, None);
    fbb.finished_data().to_vec()
}

/// Writes the features of `src` (read with
/// [`VectorSource::read_into`]`::<TableBuilder>`) as FlatGeobuf at
/// `target`.
pub fn write_flatgeobuf(
    src: &VectorSource,
    table: Table,
    target: &Path,
    opts: &FlatGeobufOptions,
    progress: &dyn Progress,
) -> Result<Record> {
    ensure_features(src, table.len())?;
    let staged = Staged::new(target, opts.overwrite)?;
    let s = survey(src, table.len(), |i| table.wkb(i))?;
    let mut notes = Vec::new();
    notes.extend(null_note(&s, Format::Flatgeobuf));
    let kinds: Vec<FieldKind> = src.fields.iter().map(|f| f.kind).collect();
    if let Some(f) = src.fields.iter().find(|f| f.kind.is_list()) {
        notes.push(format!(
            "FlatGeobuf has no list type: list columns (such as '{}') are written as JSON arrays in Json columns",
            f.name
        ));
    }
    let has_z = s.types.iter().any(|t| t.z);
    let has_m = s.types.iter().any(|t| t.m);
    if has_z && s.types.iter().any(|t| !t.z) {
        notes.push("the layer mixes 2D and 3D geometries: 2D ones are written with Z = 0".into());
    }
    if has_m && s.types.iter().any(|t| !t.m) {
        notes.push(
            "the layer mixes geometries with and without M: missing M values are written as NaN"
                .into(),
        );
    }
    let kinds_present: std::collections::BTreeSet<Kind> = s.types.iter().map(|t| t.kind).collect();
    let (geometry_type, typed) = if kinds_present.len() == 1 {
        (fgb_type(*kinds_present.iter().next().unwrap()), false)
    } else {
        (GeometryType::Unknown, true)
    };

    let order: Vec<usize> = if opts.index {
        hilbert::order(&s.boxes)
    } else {
        (0..table.len()).collect()
    };
    // Features are encoded in file order, a run of them per buffer.
    let encoder = Encoder {
        table: &table,
        kinds: &kinds,
        dims: (has_z, has_m),
        typed,
    };
    progress.start("encoding FlatGeobuf", table.len() as u64);
    let runs: Vec<(Vec<u8>, Vec<u32>)> = order
        .par_chunks(4096)
        .map_init(
            || (FlatBufferBuilder::with_capacity(1024), Vec::new()),
            |(fbb, props), run| {
                let mut bytes = Vec::new();
                let mut sizes = Vec::with_capacity(run.len());
                for &i in run {
                    let n = encoder.encode(fbb, props, i, &mut bytes).map_err(|e| {
                        ConvertError::VectorRead {
                            path: src.path.display().to_string(),
                            reason: format!("feature {i}: {e}"),
                        }
                    })?;
                    sizes.push(n as u32);
                }
                progress.advance(run.len() as u64);
                Ok((bytes, sizes))
            },
        )
        .collect::<Result<_>>()?;
    let count = table.len();
    drop(table);

    let file = std::fs::File::create(staged.path()).map_err(|e| ConvertError::output(target, e))?;
    let mut out = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let io = |e: std::io::Error| ConvertError::output(target, e);
    out.write_all(&MAGIC).map_err(io)?;
    out.write_all(&header(
        src,
        count as u64,
        geometry_type,
        (has_z, has_m),
        s.extent,
        opts.index,
    ))
    .map_err(io)?;
    if opts.index {
        let extent = s.extent.unwrap_or([0.0; 4]);
        let mut offset = 0u64;
        let sizes = runs.iter().flat_map(|(_, sizes)| sizes);
        let nodes: Vec<NodeItem> = order
            .iter()
            .zip(sizes)
            .map(|(&i, &size)| {
                let mut n = match s.boxes[i] {
                    Some(b) => NodeItem::bounds(b[0], b[1], b[2], b[3]),
                    None => NodeItem::create(0),
                };
                n.offset = offset;
                offset += u64::from(size);
                n
            })
            .collect();
        let ext = NodeItem::bounds(extent[0], extent[1], extent[2], extent[3]);
        let tree =
            PackedRTree::build(&nodes, &ext, NODE_SIZE).map_err(|e| encode_err(target, e))?;
        tree.stream_write(&mut out).map_err(io)?;
    }
    for (bytes, _) in &runs {
        out.write_all(bytes).map_err(io)?;
    }
    let (buf, size, checksum) = out.finish().map_err(io)?;
    // No fsync (as the COG writer): the rename in commit() is what makes
    // the file visible, and only once it is whole.
    drop(buf.into_inner().map_err(|e| io(e.into_error()))?);
    progress.finish();
    let path = staged.commit()?;
    Ok(record(
        src,
        Written {
            path,
            format: Format::Flatgeobuf,
            size,
            checksum,
            feature_count: count as u64,
            geometry_types: s.types.iter().map(|t| t.label()).collect(),
            extent: s.extent,
            notes,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_iso_utc() {
        assert_eq!(iso_datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_datetime(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(iso_date(19_000), "2022-01-08");
        // Before the epoch, and years chrono's own format writes.
        assert_eq!(iso_datetime(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_datetime(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_date(-719_528), "0000-01-01");
        assert_eq!(iso_date(2_932_897), "+10000-01-01");
        for ms in [
            -86_400_001_i64,
            1,
            59_999,
            1_700_000_000_123,
            253_402_300_799_000,
        ] {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let want = if ms % 1000 == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            };
            assert_eq!(iso_datetime(ms), want, "{ms}");
        }
    }

    #[test]
    fn properties_skip_nulls_and_encode_lists_as_json() {
        use arrow_array::builder::{Int32Builder, ListBuilder};
        use arrow_array::{Int32Array, LargeStringArray};
        use std::sync::Arc;
        let mut list = ListBuilder::new(Int32Builder::new());
        list.values().append_slice(&[1, 2]);
        list.append(true);
        list.append(false);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(LargeStringArray::from(vec![None, Some("x")])),
            Arc::new(Int32Array::from(vec![7, -1])),
            Arc::new(list.finish()),
        ];
        let kinds = [FieldKind::String, FieldKind::Int32, FieldKind::Int32List];
        let mut out = Vec::new();
        properties(&columns, &kinds, 0, &mut out);
        let mut want = vec![1, 0, 7, 0, 0, 0, 2, 0, 5, 0, 0, 0];
        want.extend_from_slice(b"[1,2]");
        assert_eq!(out, want);
        // Row 1: the string, -1, and no list (null).
        properties(&columns, &kinds, 1, &mut out);
        assert_eq!(out, [0, 0, 1, 0, 0, 0, b'x', 1, 0, 0xff, 0xff, 0xff, 0xff]);
    }
}
