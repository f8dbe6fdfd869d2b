//! A STAC 1.1 Item from the records the writers returned: footprint,
//! datetimes, Projection v2, bands with statistics, file size and checksum,
//! datacube fields for Zarr cubes, table fields for vector layers, and
//! `processing:` (arco's version, and the method and its parameters when a
//! product was reconstructed).

use crate::{ext, footprint, Error, Result, ARCO_VERSION, STAC_VERSION};
use arco_core::{BandRecord, Format, Record};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One asset of an Item: a file (or store) arco wrote.
#[derive(Debug, Clone)]
pub struct AssetSpec<'a> {
    /// Asset key (`data`, `quality`...).
    pub key: String,
    /// What the writer returned.
    pub record: &'a Record,
    /// The href written in the Item: relative to the Item's file, or a URL.
    pub href: String,
    /// Asset roles (`data`, `quality`...).
    pub roles: Vec<String>,
    /// Asset title.
    pub title: Option<String>,
    /// GeoZarr: the name of the data variable (`data` by default).
    pub variable: Option<String>,
}

/// How a product was made, beyond arco's version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Processing {
    /// Human-readable lineage (`processing:lineage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// The method and its parameters, as JSON (`processing:expression`
    /// with format `arco`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Value>,
    /// Processing level (`processing:level`, for example `L3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// What an Item is made of.
#[derive(Debug, Clone)]
pub struct ItemSpec<'a> {
    /// Item id (unique within its collection).
    pub id: String,
    /// Collection id; the caller adds the matching `collection` link.
    pub collection: Option<String>,
    /// Assets; the first is the primary one: geometry, grid and dates
    /// come from it.
    pub assets: Vec<AssetSpec<'a>>,
    /// Reconstruction method and parameters.
    pub processing: Option<&'a Processing>,
    /// Datetime used when the records carry no date (RFC 3339); the time
    /// of writing when `None`.
    pub datetime: Option<String>,
}

/// The STAC `eo:common_name` of a band name, when it is recognisable.
pub fn common_name(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 20] = [
        "pan",
        "coastal",
        "blue",
        "green",
        "green05",
        "yellow",
        "red",
        "rededge",
        "rededge071",
        "rededge075",
        "rededge078",
        "nir",
        "nir08",
        "nir09",
        "cirrus",
        "swir16",
        "swir22",
        "lwir",
        "lwir11",
        "lwir12",
    ];
    let n: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if let Some(c) = NAMES.iter().find(|c| **c == n) {
        return Some(c);
    }
    Some(match n.as_str() {
        "panchromatic" => "pan",
        "nearinfrared" | "nearir" => "nir",
        "swir1" => "swir16",
        "swir2" => "swir22",
        "thermal" | "tir" => "lwir",
        "aerosol" | "coastalaerosol" => "coastal",
        _ => return None,
    })
}

/// A number as STAC wants `nodata`: `"nan"`, `"inf"`, `"-inf"`, or an
/// integer when the value is whole.
pub fn nodata_value(v: f64) -> Value {
    if v.is_nan() {
        json!("nan")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        number(v)
    }
}

/// Whole values as JSON integers (65535, not 65535.0).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn band_json(b: &BandRecord, dtype: &str, flags: &mut Flags) -> Value {
    let mut m = Map::new();
    if let Some(n) = &b.name {
        m.insert("name".into(), json!(n));
        if let Some(c) = common_name(n) {
            m.insert("eo:common_name".into(), json!(c));
            flags.eo = true;
        }
    }
    if !dtype.is_empty() {
        m.insert("data_type".into(), json!(dtype));
    }
    if let Some(v) = b.nodata {
        m.insert("nodata".into(), nodata_value(v));
    }
    if let Some(u) = b.unit.as_ref().filter(|u| !u.is_empty()) {
        m.insert("unit".into(), json!(u));
    }
    if let Some(s) = b.scale {
        m.insert("raster:scale".into(), json!(s));
        flags.raster = true;
    }
    if let Some(o) = b.offset {
        m.insert("raster:offset".into(), json!(o));
        flags.raster = true;
    }
    if let Some(st) = &b.statistics {
        let mut s = Map::new();
        for (k, v) in [
            ("minimum", st.minimum),
            ("maximum", st.maximum),
            ("mean", st.mean),
            ("stddev", st.stddev),
            ("valid_percent", st.valid_percent),
        ] {
            if v.is_finite() {
                s.insert(k.into(), json!(v));
            }
        }
        if !s.is_empty() {
            m.insert("statistics".into(), Value::Object(s));
        }
    }
    Value::Object(m)
}

/// Which optional extensions an Item ended up using.
#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per extension
struct Flags {
    eo: bool,
    raster: bool,
    datacube: bool,
    table: bool,
}

/// `proj:code` as the datacube's `reference_system` wants it: the EPSG
/// number, else WKT2.
fn reference_system(r: &Record) -> Value {
    if let Some(code) = &r.crs.code {
        if let Some(n) = code
            .strip_prefix("EPSG:")
            .and_then(|n| n.parse::<u64>().ok())
        {
            return json!(n);
        }
    }
    json!(r.crs.wkt2)
}

fn datacube(r: &Record, variable: &str) -> (Value, Value) {
    let mut dims = Map::new();
    let mut order: Vec<&str> = Vec::new();
    if !r.datetimes.is_empty() {
        dims.insert(
            "time".into(),
            json!({
                "type": "temporal",
                "extent": [r.datetimes.first(), r.datetimes.last()],
                "values": r.datetimes,
            }),
        );
        order.push("time");
    }
    if r.bands.len() > 1 {
        let values: Vec<Value> = r
            .bands
            .iter()
            .enumerate()
            .map(|(i, b)| b.name.as_ref().map_or_else(|| json!(i + 1), |n| json!(n)))
            .collect();
        dims.insert("band".into(), json!({"type": "bands", "values": values}));
        order.push("band");
    }
    let gt = r.geotransform;
    dims.insert(
        "y".into(),
        json!({"type": "spatial", "axis": "y", "extent": [r.bbox[1], r.bbox[3]],
               "step": gt[5], "reference_system": reference_system(r)}),
    );
    dims.insert(
        "x".into(),
        json!({"type": "spatial", "axis": "x", "extent": [r.bbox[0], r.bbox[2]],
               "step": gt[1], "reference_system": reference_system(r)}),
    );
    order.extend(["y", "x"]);
    let mut var = Map::new();
    var.insert("dimensions".into(), json!(order));
    var.insert("variable_type".into(), json!("data"));
    if !r.dtype.is_empty() {
        var.insert("data_type".into(), json!(r.dtype));
    }
    if let Some(nd) = r.bands.first().and_then(|b| b.nodata) {
        var.insert("nodata".into(), nodata_value(nd));
    }
    if let Some(u) = r
        .bands
        .first()
        .and_then(|b| b.unit.clone())
        .filter(|u| !u.is_empty())
    {
        var.insert("unit".into(), json!(u));
    }
    let mut vars = Map::new();
    vars.insert(variable.into(), Value::Object(var));
    (Value::Object(dims), Value::Object(vars))
}

fn has_crs(r: &Record) -> bool {
    !r.crs.wkt2.is_empty() || r.crs.code.is_some()
}

/// Projection v2 fields of a record.
fn projection(r: &Record, m: &mut Map<String, Value>) {
    if !has_crs(r) {
        m.insert("proj:code".into(), Value::Null);
        return;
    }
    if let Some(code) = &r.crs.code {
        m.insert("proj:code".into(), json!(code));
    } else {
        m.insert("proj:code".into(), Value::Null);
        m.insert("proj:wkt2".into(), json!(r.crs.wkt2));
        if let Some(pj) = r
            .crs
            .projjson
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        {
            m.insert("proj:projjson".into(), pj);
        }
    }
    m.insert("proj:bbox".into(), json!(r.bbox.map(number)));
    if r.vector.is_none() && r.width > 0 && r.height > 0 {
        let g = r.geotransform;
        m.insert("proj:shape".into(), json!([r.height, r.width]));
        m.insert(
            "proj:transform".into(),
            json!([g[1], g[2], g[0], g[4], g[5], g[3]].map(number)),
        );
    }
}

fn asset_json(a: &AssetSpec, flags: &mut Flags) -> Value {
    let r = a.record;
    let mut m = Map::new();
    m.insert("href".into(), json!(a.href));
    m.insert("type".into(), json!(r.media_type));
    if let Some(t) = &a.title {
        m.insert("title".into(), json!(t));
    }
    m.insert("roles".into(), json!(a.roles));
    m.insert("file:size".into(), json!(r.size));
    if let Some(c) = &r.checksum {
        m.insert("file:checksum".into(), json!(c));
    }
    if r.vector.is_none() && !r.bands.is_empty() {
        let bands: Vec<Value> = r
            .bands
            .iter()
            .map(|b| band_json(b, &r.dtype, flags))
            .collect();
        m.insert("bands".into(), Value::Array(bands));
    }
    if r.format == Format::Geozarr {
        let (dims, vars) = datacube(r, a.variable.as_deref().unwrap_or("data"));
        m.insert("cube:dimensions".into(), dims);
        m.insert("cube:variables".into(), vars);
        flags.datacube = true;
    }
    Value::Object(m)
}

/// Builds an Item (with no links: the layout decides them).
pub fn build_item(spec: &ItemSpec) -> Result<Value> {
    let Some(primary) = spec.assets.first() else {
        return Err(Error::Invalid(format!("item {}: no assets", spec.id)));
    };
    if spec.id.is_empty() {
        return Err(Error::Invalid("an item needs a non-empty id".into()));
    }
    let r = primary.record;
    let mut flags = Flags::default();
    let mut props = Map::new();
    match r.datetimes.len() {
        0 => {
            let dt = spec
                .datetime
                .clone()
                .unwrap_or_else(crate::json::now_rfc3339);
            props.insert("datetime".into(), json!(dt));
        }
        1 => {
            props.insert("datetime".into(), json!(r.datetimes[0]));
        }
        _ => {
            props.insert("datetime".into(), Value::Null);
            props.insert("start_datetime".into(), json!(r.datetimes.first()));
            props.insert("end_datetime".into(), json!(r.datetimes.last()));
        }
    }
    projection(r, &mut props);
    if let Some(v) = &r.vector {
        flags.table = true;
        let cols: Vec<Value> = v
            .columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.type_name}))
            .collect();
        let mut cols = cols;
        if !v.geometry_column.is_empty() {
            cols.insert(
                0,
                json!({"name": v.geometry_column, "type": "geometry",
                       "description": format!("geometry ({})", v.geometry_types.join(", "))}),
            );
            props.insert("table:primary_geometry".into(), json!(v.geometry_column));
        }
        props.insert("table:columns".into(), json!(cols));
        props.insert("table:row_count".into(), json!(v.feature_count));
        if !v.layer.is_empty() {
            props.insert("table:tables".into(), json!([{"name": v.layer}]));
        }
    }
    let mut software = Map::new();
    software.insert("arco".into(), json!(ARCO_VERSION));
    props.insert("processing:software".into(), Value::Object(software));
    if let Some(p) = spec.processing {
        if let Some(l) = &p.lineage {
            props.insert("processing:lineage".into(), json!(l));
        }
        if let Some(m) = &p.method {
            props.insert(
                "processing:expression".into(),
                json!({"format": "arco", "expression": m}),
            );
        }
        if let Some(l) = &p.level {
            props.insert("processing:level".into(), json!(l));
        }
    }
    let mut assets = Map::new();
    for a in &spec.assets {
        if assets.contains_key(&a.key) {
            return Err(Error::Invalid(format!(
                "item {}: two assets named '{}'",
                spec.id, a.key
            )));
        }
        assets.insert(a.key.clone(), asset_json(a, &mut flags));
    }
    // The cube of the primary asset also describes the Item, where most
    // readers look for it.
    if let Some(Value::Object(pa)) = assets.get(&primary.key) {
        for k in ["cube:dimensions", "cube:variables"] {
            if let Some(v) = pa.get(k) {
                props.insert(k.into(), v.clone());
            }
        }
    }
    let mut exts = vec![ext::PROJECTION, ext::FILE, ext::PROCESSING];
    if flags.raster {
        exts.push(ext::RASTER);
    }
    if flags.eo {
        exts.push(ext::EO);
    }
    if flags.datacube {
        exts.push(ext::DATACUBE);
    }
    if flags.table {
        exts.push(ext::TABLE);
    }
    let mut item = Map::new();
    item.insert("type".into(), json!("Feature"));
    item.insert("stac_version".into(), json!(STAC_VERSION));
    item.insert("stac_extensions".into(), json!(exts));
    item.insert("id".into(), json!(spec.id));
    if has_crs(r) {
        let f = footprint(r)?;
        item.insert("geometry".into(), f.geometry);
        item.insert("bbox".into(), json!(f.bbox));
    } else {
        item.insert("geometry".into(), Value::Null);
    }
    item.insert("properties".into(), Value::Object(props));
    item.insert("links".into(), json!([]));
    item.insert("assets".into(), Value::Object(assets));
    if let Some(c) = &spec.collection {
        item.insert("collection".into(), json!(c));
    }
    Ok(Value::Object(item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::footprint::tests::record;
    use arco_core::{BandStatistics, ColumnRecord, VectorRecord};

    fn spec<'a>(recs: &'a [(&'a Record, &'a str)]) -> ItemSpec<'a> {
        ItemSpec {
            id: "scene".into(),
            collection: Some("c".into()),
            assets: recs
                .iter()
                .map(|(r, role)| AssetSpec {
                    key: (*role).to_string(),
                    record: r,
                    href: format!("./{role}.tif"),
                    roles: vec![(*role).to_string()],
                    title: None,
                    variable: None,
                })
                .collect(),
            processing: None,
            datetime: None,
        }
    }

    #[test]
    fn cog_item_has_projection_file_and_band_fields() {
        let mut r = record(
            "EPSG:32633",
            [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
        );
        r.bands[0].statistics = Some(BandStatistics {
            minimum: 1.0,
            maximum: 9.0,
            mean: 5.0,
            stddev: 2.0,
            valid_percent: 97.5,
        });
        r.bands[0].scale = Some(0.0001);
        r.bands[0].unit = Some("1".into());
        let recs = [(&r, "data")];
        let item = build_item(&spec(&recs)).unwrap();
        let p = &item["properties"];
        assert_eq!(p["datetime"], "2020-01-01T00:00:00Z");
        assert_eq!(p["proj:code"], "EPSG:32633");
        assert_eq!(p["proj:shape"], json!([50, 100]));
        assert_eq!(
            p["proj:transform"],
            json!([2000, 0, 400_000, 0, -4000, 5_100_000])
        );
        assert_eq!(
            p["proj:bbox"],
            json!([400_000, 4_900_000, 600_000, 5_100_000])
        );
        assert_eq!(p["processing:software"]["arco"], ARCO_VERSION);
        let a = &item["assets"]["data"];
        assert_eq!(a["type"], Format::Cog.media_type());
        assert_eq!(a["file:size"], 1234);
        assert!(a["file:checksum"].as_str().unwrap().starts_with("1220"));
        let b = &a["bands"][0];
        assert_eq!(b["name"], "red");
        assert_eq!(b["eo:common_name"], "red");
        assert_eq!(b["data_type"], "uint16");
        assert_eq!(b["nodata"], 0);
        assert_eq!(b["raster:scale"], 0.0001);
        assert_eq!(b["statistics"]["valid_percent"], 97.5);
        let exts: Vec<&str> = item["stac_extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for e in [
            ext::PROJECTION,
            ext::FILE,
            ext::PROCESSING,
            ext::RASTER,
            ext::EO,
        ] {
            assert!(exts.contains(&e), "{e}");
        }
        assert!(!exts.contains(&ext::DATACUBE));
        assert_eq!(item["collection"], "c");
    }

    #[test]
    fn zarr_cube_item_has_a_time_range_and_datacube() {
        let mut r = record("EPSG:4326", [0.0, 0.0, 10.0, 5.0]);
        r.format = Format::Geozarr;
        r.media_type = Format::Geozarr.media_type();
        r.checksum = None;
        r.bands[0].nodata = Some(f64::NAN);
        r.datetimes = vec!["2020-01-01T00:00:00Z".into(), "2020-02-01T00:00:00Z".into()];
        let recs = [(&r, "data")];
        let item = build_item(&spec(&recs)).unwrap();
        let p = &item["properties"];
        assert!(p["datetime"].is_null());
        assert_eq!(p["start_datetime"], "2020-01-01T00:00:00Z");
        assert_eq!(p["end_datetime"], "2020-02-01T00:00:00Z");
        assert_eq!(
            p["cube:dimensions"]["time"]["values"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(p["cube:dimensions"]["x"]["reference_system"], 4326);
        assert_eq!(
            p["cube:variables"]["data"]["dimensions"],
            json!(["time", "y", "x"])
        );
        assert_eq!(p["cube:variables"]["data"]["nodata"], "nan");
        assert!(item["assets"]["data"].get("file:checksum").is_none());
    }

    #[test]
    fn crs_without_code_gets_wkt2_and_projjson() {
        let mut r = record(
            "EPSG:32633",
            [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
        );
        r.crs.code = None;
        let recs = [(&r, "data")];
        let item = build_item(&spec(&recs)).unwrap();
        let p = &item["properties"];
        assert!(p["proj:code"].is_null());
        assert!(p["proj:wkt2"].as_str().unwrap().contains("UTM zone 33N"));
        assert!(p["proj:projjson"].is_object());
    }

    #[test]
    fn vector_item_has_table_columns_and_row_count() {
        let mut r = record("EPSG:4326", [-180.0, -90.0, 180.0, 83.6]);
        r.format = Format::Geoparquet;
        r.media_type = Format::Geoparquet.media_type();
        r.width = 0;
        r.height = 0;
        r.bands.clear();
        r.vector = Some(VectorRecord {
            layer: "countries".into(),
            feature_count: 179,
            geometry_types: vec!["MultiPolygon".into()],
            geometry_column: "geometry".into(),
            columns: vec![ColumnRecord {
                name: "name".into(),
                type_name: "string".into(),
            }],
        });
        let recs = [(&r, "data")];
        let item = build_item(&spec(&recs)).unwrap();
        let p = &item["properties"];
        assert_eq!(p["table:row_count"], 179);
        assert_eq!(
            p["table:columns"][1],
            json!({"name": "name", "type": "string"})
        );
        assert_eq!(p["proj:code"], "EPSG:4326");
        assert!(p.get("proj:shape").is_none());
        assert!(item["assets"]["data"].get("bands").is_none());
        assert!(item["stac_extensions"]
            .as_array()
            .unwrap()
            .contains(&json!(ext::TABLE)));
    }

    #[test]
    fn common_names() {
        assert_eq!(common_name("Red"), Some("red"));
        assert_eq!(common_name("NIR"), Some("nir"));
        assert_eq!(common_name("swir1"), Some("swir16"));
        assert_eq!(common_name("B13"), None);
        assert_eq!(common_name("ndvi"), None);
    }
}
