//! The attributes that make a Zarr store geospatial for each kind of reader:
//! the Zarr conventions (`spatial:`, `proj:`, `multiscales`), CF (grid
//! mapping, coordinate variables, `_FillValue`, time units) and GDAL's `_CRS`.

use super::{LevelPlan, ZarrPlan};
use crate::dtype::DType;
use arco_core::CrsRecord;
use serde_json::{json, Map, Value};

/// UUID of the `spatial:` convention.
pub const SPATIAL_UUID: &str = "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4";
/// UUID of the `proj:` convention.
pub const PROJ_UUID: &str = "f17cb550-5864-4468-aeb7-f3180cfb622f";
/// UUID of the `multiscales` convention.
pub const MULTISCALES_UUID: &str = "d35379db-88df-4056-af3a-620245f8e347";

type Attrs = Map<String, Value>;

/// One entry of `zarr_conventions`: identified by its UUID, with its name
/// and where its schema and specification live.
fn convention(uuid: &str, name: &str, repo: &str, description: &str) -> Value {
    json!({
        "uuid": uuid,
        "name": name,
        "schema_url": format!("https://raw.githubusercontent.com/zarr-conventions/{repo}/refs/tags/v0.1/schema.json"),
        "spec_url": format!("https://github.com/zarr-conventions/{repo}/blob/v0.1/README.md"),
        "description": description,
    })
}

/// `zarr_conventions` listing the conventions a node uses.
fn conventions(proj: bool, multiscales: bool) -> Value {
    let mut list = vec![convention(
        SPATIAL_UUID,
        "spatial",
        "spatial",
        "Spatial coordinate information",
    )];
    if proj {
        list.push(convention(
            PROJ_UUID,
            "proj",
            "proj",
            "Coordinate reference system information for geospatial data",
        ));
    }
    if multiscales {
        list.push(convention(
            MULTISCALES_UUID,
            "multiscales",
            "multiscales",
            "Multiscale layout of zarr datasets",
        ));
    }
    Value::Array(list)
}

/// Affine coefficients `[a, b, c, d, e, f]` of a GDAL geotransform.
pub fn affine(gt: &[f64; 6]) -> [f64; 6] {
    [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]
}

/// GDAL's `GeoTransform` text: `x0 dx rx y0 ry dy`, full precision.
pub fn gdal_geotransform(gt: &[f64; 6]) -> String {
    gt.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `code` looks like `AUTHORITY:NUMBER`, which the `proj:` convention
/// expects of `proj:code`.
fn is_authority_code(code: &str) -> bool {
    code.split_once(':').is_some_and(|(auth, num)| {
        auth.starts_with(|c: char| c.is_ascii_uppercase())
            && auth
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit())
    })
}

/// `spatial:` attributes of one level.
fn spatial(attrs: &mut Attrs, lvl: &LevelPlan) {
    let bbox = crate::source::bbox_of(&lvl.gt, lvl.width, lvl.height);
    attrs.insert("spatial:dimensions".into(), json!(["y", "x"]));
    attrs.insert("spatial:transform_type".into(), json!("affine"));
    attrs.insert("spatial:transform".into(), json!(affine(&lvl.gt)));
    attrs.insert("spatial:shape".into(), json!([lvl.height, lvl.width]));
    attrs.insert("spatial:bbox".into(), json!(bbox));
    attrs.insert("spatial:registration".into(), json!("pixel"));
}

/// `proj:` attributes.
fn proj(attrs: &mut Attrs, crs: &CrsRecord) {
    if let Some(code) = crs.code.as_deref().filter(|c| is_authority_code(c)) {
        attrs.insert("proj:code".into(), json!(code));
    }
    attrs.insert("proj:wkt2".into(), json!(crs.wkt2));
}

/// Attributes of a group holding one level (the root holds level 0 and
/// also gets `multiscales`).
pub fn group(plan: &ZarrPlan, k: usize, crs: Option<&CrsRecord>) -> Attrs {
    let root_with_overviews = k == 0 && plan.levels.len() > 1;
    let mut a = Attrs::new();
    a.insert(
        "zarr_conventions".into(),
        conventions(crs.is_some(), root_with_overviews),
    );
    spatial(&mut a, &plan.levels[k]);
    if let Some(crs) = crs {
        proj(&mut a, crs);
    }
    if root_with_overviews {
        a.insert("multiscales".into(), multiscales(plan));
    }
    a.insert("Conventions".into(), json!("CF-1.8"));
    a
}

/// The `multiscales` object: level 0 is the data array at the root, level
/// `k` the one in child group `k`, each derived from the level above.
fn multiscales(plan: &ZarrPlan) -> Value {
    let asset = |k: usize| {
        if k == 0 {
            plan.name.clone()
        } else {
            format!("{k}/{}", plan.name)
        }
    };
    let resampling = plan.resampling.name();
    let layout: Vec<Value> = plan
        .levels
        .iter()
        .enumerate()
        .map(|(k, lvl)| {
            let mut o = Attrs::new();
            o.insert("asset".into(), json!(asset(k)));
            if k == 0 {
                o.insert(
                    "transform".into(),
                    json!({"scale": [1.0, 1.0], "translation": [0.0, 0.0]}),
                );
            } else {
                o.insert("derived_from".into(), json!(asset(k - 1)));
                o.insert(
                    "transform".into(),
                    json!({"scale": [2.0, 2.0], "translation": [0.0, 0.0]}),
                );
                o.insert("resampling_method".into(), json!(resampling));
            }
            o.insert("spatial:shape".into(), json!([lvl.height, lvl.width]));
            o.insert("spatial:transform".into(), json!(affine(&lvl.gt)));
            Value::Object(o)
        })
        .collect();
    json!({ "layout": layout, "resampling_method": resampling })
}

/// Base64 (standard alphabet, padded) of `bytes`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `_FillValue` attribute as xarray reads it from Zarr v3: base64 of the
/// little-endian float64 for floats, a plain number for integers.
pub fn fill_value_attr(dtype: DType, nodata: f64) -> Value {
    if dtype.is_float() {
        json!(base64(&nodata.to_le_bytes()))
    } else {
        json!(nodata as i64)
    }
}

/// Attributes of the data array of level `k`.
pub fn data_array(plan: &ZarrPlan, k: usize, src: &crate::source::RasterSource) -> Attrs {
    let mut a = Attrs::new();
    let crs = src.crs.as_ref();
    a.insert("zarr_conventions".into(), conventions(crs.is_some(), false));
    spatial(&mut a, &plan.levels[k]);
    if let Some(crs) = crs {
        proj(&mut a, crs);
        let mut gdal_crs = Attrs::new();
        gdal_crs.insert("wkt".into(), json!(crs.wkt2));
        if let Some(epsg) = crs.code.as_deref().and_then(|c| c.strip_prefix("EPSG:")) {
            gdal_crs.insert(
                "url".into(),
                json!(format!("http://www.opengis.net/def/crs/EPSG/0/{epsg}")),
            );
        }
        a.insert("_CRS".into(), Value::Object(gdal_crs));
    }
    a.insert("grid_mapping".into(), json!("spatial_ref"));
    a.insert("coordinates".into(), json!("spatial_ref"));
    if let Some(nd) = plan.nodata {
        a.insert("_FillValue".into(), fill_value_attr(plan.dtype, nd));
    }
    let bands = &src.bands;
    if bands.len() == 1 {
        if let Some(d) = &bands[0].description {
            a.insert("long_name".into(), json!(d));
        }
    } else if bands.iter().any(|b| b.description.is_some()) {
        a.insert(
            "band_descriptions".into(),
            json!(bands
                .iter()
                .map(|b| b.description.clone())
                .collect::<Vec<_>>()),
        );
    }
    // CF packing and units hold for the whole array: only when all bands agree.
    let (scale, offset, unit) = (bands[0].scale, bands[0].offset, &bands[0].unit);
    if scale.is_some() && bands.iter().all(|b| b.scale == scale) {
        a.insert("scale_factor".into(), json!(scale));
    }
    if offset.is_some() && bands.iter().all(|b| b.offset == offset) {
        a.insert("add_offset".into(), json!(offset));
    }
    if unit.is_some() && bands.iter().all(|b| &b.unit == unit) {
        a.insert("units".into(), json!(unit));
    }
    if bands.iter().any(|b| b.categorical) {
        a.insert("categorical".into(), json!(true));
    }
    a
}

/// Attributes of the scalar `spatial_ref` (CF grid mapping) of a level.
pub fn spatial_ref(lvl: &LevelPlan, crs: Option<&CrsRecord>) -> Attrs {
    let mut a = Attrs::new();
    if let Some(crs) = crs {
        a.insert("crs_wkt".into(), json!(crs.wkt2));
        a.insert("spatial_ref".into(), json!(crs.wkt2));
    }
    a.insert("GeoTransform".into(), json!(gdal_geotransform(&lvl.gt)));
    a
}

/// Whether the CRS is geographic (longitude/latitude), from its WKT2.
fn is_geographic(crs: Option<&CrsRecord>) -> bool {
    crs.is_some_and(|c| {
        let w = c.wkt2.trim_start();
        w.starts_with("GEOGCRS") || w.starts_with("GEOGRAPHICCRS") || w.starts_with("GEOGCS")
    })
}

/// Attributes of the `x` or `y` coordinate variable.
pub fn coordinate(axis: char, crs: Option<&CrsRecord>) -> Attrs {
    let mut a = Attrs::new();
    let geographic = is_geographic(crs);
    let (standard_name, long_name, units) = match (axis, geographic) {
        ('x', true) => ("longitude", "longitude", Some("degrees_east")),
        (_, true) => ("latitude", "latitude", Some("degrees_north")),
        ('x', false) => (
            "projection_x_coordinate",
            "x coordinate of projection",
            None,
        ),
        (_, false) => (
            "projection_y_coordinate",
            "y coordinate of projection",
            None,
        ),
    };
    a.insert("standard_name".into(), json!(standard_name));
    a.insert("long_name".into(), json!(long_name));
    a.insert("axis".into(), json!(axis.to_ascii_uppercase().to_string()));
    let metres = crs.is_some_and(|c| c.wkt2.contains("LENGTHUNIT[\"metre\""));
    if let Some(u) = units {
        a.insert("units".into(), json!(u));
    } else if metres {
        a.insert("units".into(), json!("m"));
    }
    a
}

/// Attributes of the `time` coordinate (CF).
pub fn time() -> Attrs {
    let mut a = Attrs::new();
    a.insert("standard_name".into(), json!("time"));
    a.insert("long_name".into(), json!("time"));
    a.insert("axis".into(), json!("T"));
    a.insert("units".into(), json!("days since 1970-01-01"));
    a.insert("calendar".into(), json!("proleptic_gregorian"));
    a
}

/// Attributes of the `band` coordinate.
pub fn band(src: &crate::source::RasterSource) -> Attrs {
    let mut a = Attrs::new();
    a.insert(
        "long_name".into(),
        json!("band number (1-based, in input order)"),
    );
    a.insert(
        "source_bands".into(),
        json!(src.bands.iter().map(|b| b.index).collect::<Vec<_>>()),
    );
    if src.bands.iter().any(|b| b.description.is_some()) {
        a.insert(
            "descriptions".into(),
            json!(src
                .bands
                .iter()
                .map(|b| b.description.clone())
                .collect::<Vec<_>>()),
        );
    }
    a
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point
mod tests {
    use super::*;

    #[test]
    fn base64_matches_python() {
        // struct.pack("<d", nan) and ("<d", -9999.0) through base64.standard_b64encode
        assert_eq!(base64(&f64::NAN.to_le_bytes()), "AAAAAAAA+H8=");
        assert_eq!(base64(&(-9999.0f64).to_le_bytes()), "AAAAAICHw8A=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn affine_and_gdal_orders() {
        let gt = [500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0];
        assert_eq!(affine(&gt), [30.0, 0.0, 500_000.0, 0.0, -30.0, 5_000_000.0]);
        assert_eq!(gdal_geotransform(&gt), "500000 30 0 5000000 0 -30");
    }

    #[test]
    fn authority_codes() {
        assert!(is_authority_code("EPSG:32633"));
        assert!(is_authority_code("IAU_2015:30100"));
        assert!(!is_authority_code("OGC:CRS84"));
        assert!(!is_authority_code("epsg:4326"));
    }
}
