//! Features read column by column: one Arrow array per attribute and one
//! binary array of WKB, filled straight from OGR with no per-feature
//! allocation. The GeoParquet writer takes its row groups from here.
//!
//! Text, bytes and WKB use 64-bit offsets, so a layer of any size fits in
//! one table; row groups are cast back to the 32-bit types on the way out.

use super::source::{
    is_set, read_binary, read_double_list, read_int64_list, read_int_list, read_str,
    read_string_list, read_time, Field, FieldKind, Rows,
};
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
    LargeBinaryBuilder, LargeStringBuilder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{Array, ArrayRef, LargeBinaryArray};
use std::ffi::c_int;
use std::sync::Arc;

/// A layer's features as columns.
pub struct Table {
    /// ISO WKB per feature; null for a null geometry.
    pub geometry: LargeBinaryArray,
    /// One array per field, in field order.
    pub columns: Vec<ArrayRef>,
}

impl Table {
    /// Features held.
    pub fn len(&self) -> usize {
        self.geometry.len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.geometry.is_empty()
    }

    /// The geometry of feature `i` (`None` when null).
    pub fn wkb(&self, i: usize) -> Option<&[u8]> {
        self.geometry.is_valid(i).then(|| self.geometry.value(i))
    }
}

/// A column being filled.
enum Column {
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    String(LargeStringBuilder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    DateTime(TimestampMillisecondBuilder),
    Int32List(ListBuilder<Int32Builder>),
    Int64List(ListBuilder<Int64Builder>),
    Float64List(ListBuilder<Float64Builder>),
    StringList(ListBuilder<StringBuilder>),
    Binary(LargeBinaryBuilder),
}

impl Column {
    fn new(kind: FieldKind) -> Column {
        match kind {
            FieldKind::Int32 => Column::Int32(Int32Builder::new()),
            FieldKind::Int64 => Column::Int64(Int64Builder::new()),
            FieldKind::Float64 => Column::Float64(Float64Builder::new()),
            FieldKind::String => Column::String(LargeStringBuilder::new()),
            FieldKind::Bool => Column::Bool(BooleanBuilder::new()),
            FieldKind::Date => Column::Date(Date32Builder::new()),
            FieldKind::DateTime => {
                Column::DateTime(TimestampMillisecondBuilder::new().with_timezone("UTC"))
            }
            FieldKind::Int32List => Column::Int32List(ListBuilder::new(Int32Builder::new())),
            FieldKind::Int64List => Column::Int64List(ListBuilder::new(Int64Builder::new())),
            FieldKind::Float64List => Column::Float64List(ListBuilder::new(Float64Builder::new())),
            FieldKind::StringList => Column::StringList(ListBuilder::new(StringBuilder::new())),
            FieldKind::Binary => Column::Binary(LargeBinaryBuilder::new()),
        }
    }

    /// Appends field `i` of `f`, null when unset.
    #[allow(unsafe_code)]
    unsafe fn push(&mut self, f: gdal_sys::OGRFeatureH, i: c_int) {
        let set = is_set(f, i);
        match self {
            Column::Int32(b) => {
                b.append_option(set.then(|| gdal_sys::OGR_F_GetFieldAsInteger(f, i)));
            }
            Column::Int64(b) => {
                b.append_option(set.then(|| gdal_sys::OGR_F_GetFieldAsInteger64(f, i)));
            }
            Column::Float64(b) => {
                b.append_option(set.then(|| gdal_sys::OGR_F_GetFieldAsDouble(f, i)));
            }
            Column::Bool(b) => {
                b.append_option(set.then(|| gdal_sys::OGR_F_GetFieldAsInteger(f, i) != 0));
            }
            Column::String(b) if set => b.append_value(read_str(f, i)),
            Column::String(b) => b.append_null(),
            Column::Date(b) => {
                b.append_option(if set { read_time(f, i, true) } else { None }.map(|d| d as i32));
            }
            Column::DateTime(b) => {
                b.append_option(if set { read_time(f, i, false) } else { None });
            }
            Column::Int32List(b) => {
                if set {
                    b.values().append_slice(read_int_list(f, i));
                }
                b.append(set);
            }
            Column::Int64List(b) => {
                if set {
                    b.values().append_slice(read_int64_list(f, i));
                }
                b.append(set);
            }
            Column::Float64List(b) => {
                if set {
                    b.values().append_slice(read_double_list(f, i));
                }
                b.append(set);
            }
            Column::StringList(b) => {
                if set {
                    for s in read_string_list(f, i) {
                        b.values().append_value(s);
                    }
                }
                b.append(set);
            }
            Column::Binary(b) if set => b.append_value(read_binary(f, i)),
            Column::Binary(b) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Int32(mut b) => Arc::new(b.finish()),
            Column::Int64(mut b) => Arc::new(b.finish()),
            Column::Float64(mut b) => Arc::new(b.finish()),
            Column::String(mut b) => Arc::new(b.finish()),
            Column::Bool(mut b) => Arc::new(b.finish()),
            Column::Date(mut b) => Arc::new(b.finish()),
            Column::DateTime(mut b) => Arc::new(b.finish()),
            Column::Int32List(mut b) => Arc::new(b.finish()),
            Column::Int64List(mut b) => Arc::new(b.finish()),
            Column::Float64List(mut b) => Arc::new(b.finish()),
            Column::StringList(mut b) => Arc::new(b.finish()),
            Column::Binary(mut b) => Arc::new(b.finish()),
        }
    }
}

/// A table being filled by one reader.
pub struct TableBuilder {
    geometry: LargeBinaryBuilder,
    columns: Vec<Column>,
}

impl Rows for TableBuilder {
    type Done = Table;

    fn with_fields(fields: &[Field]) -> Self {
        TableBuilder {
            geometry: LargeBinaryBuilder::new(),
            columns: fields.iter().map(|f| Column::new(f.kind)).collect(),
        }
    }

    fn len(&self) -> usize {
        self.geometry.len()
    }

    #[allow(unsafe_code)]
    unsafe fn push(&mut self, f: gdal_sys::OGRFeatureH, _: &[Field], geometry: Option<&[u8]>) {
        self.geometry.append_option(geometry);
        for (i, c) in self.columns.iter_mut().enumerate() {
            c.push(f, i as c_int);
        }
    }

    fn finish(mut self) -> Table {
        Table {
            geometry: self.geometry.finish(),
            columns: self.columns.into_iter().map(Column::finish).collect(),
        }
    }

    fn concat(parts: Vec<Table>) -> Table {
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one part");
        }
        let geometry: Vec<&dyn Array> = parts.iter().map(|p| &p.geometry as &dyn Array).collect();
        let geometry =
            arrow_select::concat::concat(&geometry).expect("parts of one layer have one type");
        let columns = (0..parts.first().map_or(0, |p| p.columns.len()))
            .map(|c| {
                let arrays: Vec<&dyn Array> = parts.iter().map(|p| p.columns[c].as_ref()).collect();
                arrow_select::concat::concat(&arrays).expect("parts of one layer have one type")
            })
            .collect();
        Table {
            geometry: geometry
                .as_any()
                .downcast_ref::<LargeBinaryArray>()
                .expect("concat keeps the type")
                .clone(),
            columns,
        }
    }

    fn count(done: &Table) -> usize {
        done.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{Feature, Value, VectorSource};
    use arco_core::NoProgress;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Float64Type, Int32Type, Int64Type, TimestampMillisecondType,
    };
    use gdal::vector::{FieldDefn, Geometry, LayerAccess, LayerOptions, OGRFieldType};

    /// Row `i` of a table column as the value the feature reader gives.
    fn value_at(col: &ArrayRef, kind: FieldKind, i: usize) -> Value {
        if col.is_null(i) {
            return Value::Null;
        }
        match kind {
            FieldKind::Int32 => Value::Int(i64::from(col.as_primitive::<Int32Type>().value(i))),
            FieldKind::Int64 => Value::Int(col.as_primitive::<Int64Type>().value(i)),
            FieldKind::Float64 => Value::Float(col.as_primitive::<Float64Type>().value(i)),
            FieldKind::String => Value::String(col.as_string::<i64>().value(i).to_string()),
            FieldKind::Date => Value::Date(col.as_primitive::<Date32Type>().value(i)),
            FieldKind::DateTime => {
                Value::DateTime(col.as_primitive::<TimestampMillisecondType>().value(i))
            }
            other => panic!("{other:?} is not in this layer"),
        }
    }

    /// A GeoPackage of `n` points and polygons with nulls in every column.
    fn geopackage(path: &std::path::Path, n: usize) {
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
        let mut ds = drv.create_vector_only(path).unwrap();
        let mut tx = ds.start_transaction().unwrap();
        let lyr = tx
            .create_layer(LayerOptions {
                name: "t",
                ..Default::default()
            })
            .unwrap();
        for (name, ty) in [
            ("i", OGRFieldType::OFTInteger),
            ("l", OGRFieldType::OFTInteger64),
            ("r", OGRFieldType::OFTReal),
            ("s", OGRFieldType::OFTString),
            ("d", OGRFieldType::OFTDate),
            ("t", OGRFieldType::OFTDateTime),
        ] {
            FieldDefn::new(name, ty)
                .unwrap()
                .add_to_layer(&lyr)
                .unwrap();
        }
        let when = chrono::DateTime::parse_from_rfc3339("2021-03-04T05:06:07.250Z").unwrap();
        for k in 0..n {
            let mut f = gdal::vector::Feature::new(lyr.defn()).unwrap();
            let (x, y) = ((k % 360) as f64 - 180.0, (k % 170) as f64 - 85.0);
            let wkt = if k % 3 == 0 {
                format!(
                    "POLYGON (({x} {y}, {} {y}, {x} {}, {x} {y}))",
                    x + 0.5,
                    y + 0.5
                )
            } else {
                format!("POINT ({x} {y})")
            };
            if k % 13 != 0 {
                f.set_geometry(Geometry::from_wkt(&wkt).unwrap()).unwrap();
            }
            if k % 7 != 1 {
                f.set_field_integer(0, k as i32 - 30_000).unwrap();
                f.set_field_integer64(1, (k as i64) << 33).unwrap();
                f.set_field_double(2, k as f64 / 7.0).unwrap();
                f.set_field_string(3, &format!("row {k} ü")).unwrap();
                let t = when + chrono::Duration::seconds(k as i64 * 3_607);
                f.set_field_datetime(4, t).unwrap();
                f.set_field_datetime(5, t).unwrap();
            }
            f.create(&lyr).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn columns_read_in_parallel_equal_features_read_in_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let n = 60_000;
        geopackage(&path, n);
        let src = VectorSource::open(&path, None).unwrap();
        let pool = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        // Four threads: eight id ranges, read side by side and joined.
        let (ranges, table) = pool(4).install(|| {
            let ranges = src.fid_ranges().unwrap().expect("split by id").1.len();
            (
                ranges,
                src.read_into::<TableBuilder>(None, &NoProgress).unwrap(),
            )
        });
        assert_eq!(ranges, 8);
        // One thread: one sequential pass.
        let features: Vec<Feature> = pool(1).install(|| {
            assert!(src.fid_ranges().unwrap().is_none());
            src.read(None).unwrap()
        });
        assert_eq!(features.len(), n);
        assert_eq!(table.len(), n);
        assert_eq!(table.columns.len(), src.fields.len());
        let mut nulls = 0;
        for (i, f) in features.iter().enumerate() {
            assert_eq!(table.wkb(i), f.geometry.as_deref(), "geometry of row {i}");
            for (c, field) in src.fields.iter().enumerate() {
                let v = value_at(&table.columns[c], field.kind, i);
                nulls += usize::from(v == Value::Null);
                assert_eq!(v, f.values[c], "{} of row {i}", field.name);
            }
        }
        // Every seventh row has no values; rows keep input order.
        assert_eq!(nulls, n.div_ceil(7) * src.fields.len());
        assert_eq!(features[2].values[0], Value::Int(2 - 30_000));
        assert_eq!(features[1].values[5], Value::Null, "row 1 has no values");
        // (The gdal crate writes whole seconds: the .250 is not stored.)
        assert_eq!(
            features[2].values[5],
            Value::DateTime(1_614_834_367_000 + 2 * 3_607_000)
        );
    }
}
