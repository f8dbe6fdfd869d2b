//! From arco's vector reader (ISO WKB + typed values) to the tiler's input,
//! and the whole vector path: read, tile, write.

use crate::geom::InputCrs;
use crate::mvt::PropValue;
use crate::vector::{Feature, FieldDef, FieldType, VectorInput, VectorOptions};
use crate::TilesError;
use arco_convert::vector::{FieldKind, Value, VectorSource};
use arco_core::{ColumnRecord, Progress, Record, VectorRecord};
use geozero::ToGeo;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

fn field_type(kind: FieldKind) -> Option<FieldType> {
    Some(match kind {
        FieldKind::Int32 | FieldKind::Int64 | FieldKind::Float64 => FieldType::Number,
        FieldKind::Bool => FieldType::Boolean,
        FieldKind::Binary => return None,
        _ => FieldType::String,
    })
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::Null | Value::Binary(_) => serde_json::Value::Null,
        Value::Int(i) => (*i).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::String(s) => s.clone().into(),
        Value::Bool(b) => (*b).into(),
        Value::Date(_) | Value::DateTime(_) => {
            text_of(v).map_or(serde_json::Value::Null, Into::into)
        }
        Value::List(l) => l.iter().map(json_of).collect::<Vec<_>>().into(),
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Date(d) => {
            let (y, m, d) = civil(i64::from(*d));
            Some(format!("{y:04}-{m:02}-{d:02}"))
        }
        Value::DateTime(ms) => {
            let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
            let (y, m, d) = civil(days);
            let (h, mi, s, milli) = (
                rem / 3_600_000,
                rem / 60_000 % 60,
                rem / 1000 % 60,
                rem % 1000,
            );
            Some(if milli == 0 {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            } else {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
            })
        }
        _ => None,
    }
}

/// A value as MVT can hold it: numbers, text and booleans as they are,
/// dates as ISO 8601 text, lists as JSON text; nulls, NaN and bytes are
/// left out (MVT has no null).
pub fn prop_value(v: &Value) -> Option<PropValue> {
    match v {
        Value::Null | Value::Binary(_) => None,
        Value::Int(i) => Some(PropValue::Int(*i)),
        Value::Float(f) if f.is_nan() => None,
        Value::Float(f) => Some(PropValue::Double(*f)),
        Value::String(s) => Some(PropValue::String(s.clone())),
        Value::Bool(b) => Some(PropValue::Bool(*b)),
        Value::Date(_) | Value::DateTime(_) => text_of(v).map(PropValue::String),
        Value::List(_) => Some(PropValue::String(json_of(v).to_string())),
    }
}

fn geometry_name(g: &geo_types::Geometry<f64>) -> &'static str {
    use geo_types::Geometry as G;
    match g {
        G::Point(_) => "Point",
        G::MultiPoint(_) => "MultiPoint",
        G::Line(_) | G::LineString(_) => "LineString",
        G::MultiLineString(_) => "MultiLineString",
        G::Polygon(_) | G::Rect(_) | G::Triangle(_) => "Polygon",
        G::MultiPolygon(_) => "MultiPolygon",
        G::GeometryCollection(_) => "GeometryCollection",
    }
}

/// What reading a layer for tiles found.
pub struct VectorRead {
    /// The tiler's input.
    pub input: VectorInput,
    /// Geometry types present.
    pub geometry_types: Vec<String>,
    /// Notes (no CRS assumed lon/lat, bytes columns left out).
    pub notes: Vec<String>,
    /// Features read (with or without geometry).
    pub feature_count: u64,
}

/// Reads a layer for tiling: reprojected to lon/lat; a layer without a CRS
/// is taken as lon/lat when its coordinates fit, else refused. Feature ids
/// are the features' positions in the input (0-based).
pub fn read_vector(src: &VectorSource, progress: &dyn Progress) -> Result<VectorRead, TilesError> {
    let path = src.path.display().to_string();
    let mut notes = Vec::new();
    let features = if src.crs.is_some() {
        src.read_with_progress(Some(4326), progress)?
    } else {
        src.read_with_progress(None, progress)?
    };
    let keep: Vec<(u32, FieldDef)> = src
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            field_type(f.kind).map(|kind| {
                (
                    i as u32,
                    FieldDef {
                        name: f.name.clone(),
                        kind,
                    },
                )
            })
        })
        .collect();
    let dropped: Vec<&str> = src
        .fields
        .iter()
        .filter(|f| field_type(f.kind).is_none())
        .map(|f| f.name.as_str())
        .collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "binary column(s) {} left out: vector tiles hold no bytes",
            dropped.join(", ")
        ));
    }
    // Position of each kept field among the kept fields.
    let mut slot = vec![u32::MAX; src.fields.len()];
    for (k, (i, _)) in keep.iter().enumerate() {
        slot[*i as usize] = k as u32;
    }
    let feature_count = features.len() as u64;
    type Converted = Result<Option<(Feature, [f64; 4])>, TilesError>;
    let converted: Vec<Converted> = features
        .into_par_iter()
        .enumerate()
        .map(|(i, f)| {
            let Some(wkb) = f.geometry else {
                return Ok(None);
            };
            let Some(bbox) = arco_convert::vector::wkb::bbox(&wkb).ok().flatten() else {
                return Ok(None);
            };
            let geometry = geozero::wkb::Wkb(wkb).to_geo().map_err(|e| TilesError::Option(format!(
                "{path}: feature {i} has a geometry arco cannot read ({e}); repair it (ogr2ogr -makevalid)"
            )))?;
            let properties = f
                .values
                .iter()
                .enumerate()
                .filter(|(k, _)| slot[*k] != u32::MAX)
                .filter_map(|(k, v)| prop_value(v).map(|p| (slot[k], p)))
                .collect();
            Ok(Some((
                Feature {
                    id: i as u64,
                    geometry,
                    properties,
                },
                bbox,
            )))
        })
        .collect();
    let mut out = Vec::with_capacity(converted.len());
    let mut lonlat = true;
    for c in converted {
        if let Some((f, b)) = c? {
            lonlat &= b[0] >= -180.0 && b[2] <= 180.0 && b[1] >= -90.0 && b[3] <= 90.0;
            out.push(f);
        }
    }
    let types: BTreeSet<&'static str> = out.iter().map(|f| geometry_name(&f.geometry)).collect();
    let crs = InputCrs::LonLat;
    if src.crs.is_none() {
        if !lonlat {
            return Err(TilesError::Option(format!(
                "{path}: layer '{}' declares no CRS and its coordinates are not longitude/latitude; assign its CRS first (ogr2ogr -a_srs EPSG:XXXX)",
                src.layer
            )));
        }
        notes.push(format!(
            "{path}: no CRS declared; coordinates taken as longitude/latitude (WGS 84)"
        ));
    }
    Ok(VectorRead {
        input: VectorInput {
            layer: src.layer.clone(),
            crs,
            fields: keep.into_iter().map(|(_, f)| f).collect(),
            features: out,
        },
        geometry_types: types.into_iter().map(String::from).collect(),
        notes,
        feature_count,
    })
}

/// Reads `src`, tiles it and writes the archive; the record carries the
/// vector part (layer, feature count, types, columns).
pub fn vector_to_pmtiles(
    src: &VectorSource,
    target: &Path,
    overwrite: bool,
    opts: &VectorOptions,
    progress: &dyn Progress,
) -> Result<Record, TilesError> {
    if target.exists() && !overwrite {
        return Err(arco_convert::ConvertError::OutputExists {
            path: target.to_path_buf(),
        }
        .into());
    }
    let read = read_vector(src, progress)?;
    let columns: Vec<ColumnRecord> = src
        .fields
        .iter()
        .filter(|f| field_type(f.kind).is_some())
        .map(|f| ColumnRecord {
            name: f.name.clone(),
            type_name: f.kind.table_type().to_string(),
        })
        .collect();
    let (mut rec, tiles) = crate::write_vector_pmtiles(
        read.input, target, overwrite, opts, progress,
    )
    .map_err(|e| match e {
        TilesError::Empty(why) => TilesError::Empty(format!(
            "{}: layer '{}': {why}; choose another layer (--layer) or input",
            src.path.display(),
            src.layer
        )),
        e => e,
    })?;
    let mut notes = read.notes;
    notes.append(&mut rec.notes);
    rec.notes = notes;
    rec.vector = Some(VectorRecord {
        layer: src.layer.clone(),
        feature_count: tiles.features,
        geometry_types: read.geometry_types,
        geometry_column: src.geometry_column.clone(),
        columns,
    });
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_text() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(19_782), (2024, 2, 29));
        assert_eq!(
            prop_value(&Value::DateTime(1_709_210_096_789)),
            Some(PropValue::String("2024-02-29T12:34:56.789Z".into()))
        );
        assert_eq!(
            prop_value(&Value::Date(19_782)),
            Some(PropValue::String("2024-02-29".into()))
        );
    }

    #[test]
    fn lists_become_json_and_nulls_vanish() {
        let l = Value::List(vec![Value::Int(1), Value::String("a".into())]);
        assert_eq!(prop_value(&l), Some(PropValue::String("[1,\"a\"]".into())));
        assert_eq!(prop_value(&Value::Null), None);
        assert_eq!(prop_value(&Value::Float(f64::NAN)), None);
    }
}
