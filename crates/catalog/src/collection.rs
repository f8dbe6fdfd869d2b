//! A Collection over the Items of one product: spatial and temporal
//! extents, summaries, licence and providers (from options or a small
//! config file), and `item_assets`.

use crate::{ext, Error, Result, STAC_VERSION};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// A provider of the data (STAC `providers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Organisation or person.
    pub name: String,
    /// What they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `licensor`, `producer`, `processor` and/or `host`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Their home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What the user says about a collection (`--stac-config FILE.json|toml`,
/// or the command-line options that override it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionConfig {
    /// Collection id [default: the product directory's name].
    #[serde(default)]
    pub id: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description (Markdown allowed).
    #[serde(default)]
    pub description: Option<String>,
    /// SPDX identifier or expression, or `other` [default: `other`].
    #[serde(default)]
    pub license: Option<String>,
    /// Link to the licence text (recommended with `other`).
    #[serde(default)]
    pub license_url: Option<String>,
    /// Providers.
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
}

impl CollectionConfig {
    /// Reads a config file: JSON (`.json`) or TOML (anything else).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        let c: Self = parsed.map_err(|e| Error::Json {
            path: path.to_path_buf(),
            msg: format!(
                "not a valid STAC config ({e}); keys: id, title, description, license, license_url, providers [{{name, roles, url, description}}], keywords"
            ),
        })?;
        if let Some(l) = &c.license {
            check_license(l).map_err(|m| Error::Json {
                path: path.to_path_buf(),
                msg: m,
            })?;
        }
        Ok(c)
    }

    /// Fields of `over` that are set replace those of `self`.
    #[must_use]
    pub fn merged(mut self, over: &CollectionConfig) -> Self {
        macro_rules! take {
            ($f:ident) => {
                if over.$f.is_some() {
                    self.$f = over.$f.clone();
                }
            };
        }
        take!(id);
        take!(title);
        take!(description);
        take!(license);
        take!(license_url);
        if !over.providers.is_empty() {
            self.providers.clone_from(&over.providers);
        }
        if !over.keywords.is_empty() {
            self.keywords.clone_from(&over.keywords);
        }
        self
    }
}

/// STAC 1.1 licence: an SPDX id or expression, or `other`; no spaces
/// except in expressions, and not the deprecated `proprietary`/`various`.
pub fn check_license(l: &str) -> std::result::Result<(), String> {
    let ok = !l.is_empty()
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.+() :".contains(c))
        && !l.starts_with(' ');
    if !ok {
        return Err(format!(
            "license '{l}' is not an SPDX identifier or expression (for example CC-BY-4.0), nor 'other'"
        ));
    }
    if l == "proprietary" || l == "various" {
        return Err(format!(
            "license '{l}' is deprecated in STAC 1.1: use an SPDX expression, or 'other' with license_url"
        ));
    }
    Ok(())
}

/// Smallest longitude interval covering all `[west, east]` intervals,
/// where west > east crosses the antimeridian. Returns (west, east).
pub(crate) fn lon_union(intervals: &[(f64, f64)]) -> (f64, f64) {
    if intervals.is_empty() {
        return (-180.0, 180.0);
    }
    // Unwrap onto [w, w + width] with width in [0, 360], sort, merge, and
    // take the complement of the largest gap on the circle.
    let mut iv: Vec<(f64, f64)> = intervals
        .iter()
        .map(|&(w, e)| if e < w { (w, e + 360.0) } else { (w, e) })
        .collect();
    if iv.iter().any(|(w, e)| e - w >= 360.0) {
        return (-180.0, 180.0);
    }
    iv.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (w, e) in iv {
        match merged.last_mut() {
            Some(last) if w <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((w, e)),
        }
    }
    // Also merge the last one with the first across the wrap.
    if merged.len() > 1 {
        let first = merged[0];
        let last = merged.last_mut().unwrap();
        if last.1 >= first.0 + 360.0 {
            last.1 = last.1.max(first.1 + 360.0);
            merged.remove(0);
        }
    }
    if merged.len() == 1 {
        let (w, e) = merged[0];
        if e - w >= 360.0 {
            return (-180.0, 180.0);
        }
        return (w, if e > 180.0 { e - 360.0 } else { e });
    }
    // Largest gap between consecutive merged intervals (cyclically).
    let n = merged.len();
    let mut best = (0usize, f64::MIN);
    for i in 0..n {
        let end = merged[i].1;
        let next_start = if i + 1 < n {
            merged[i + 1].0
        } else {
            merged[0].0 + 360.0
        };
        let gap = next_start - end;
        if gap > best.1 {
            best = (i, gap);
        }
    }
    let west = merged[(best.0 + 1) % n].0;
    let east = merged[best.0].1;
    let norm = |x: f64| if x > 180.0 { x - 360.0 } else { x };
    (norm(west), norm(east))
}

fn item_times(item: &Value) -> (Option<String>, Option<String>) {
    let p = &item["properties"];
    let s = p["start_datetime"]
        .as_str()
        .or_else(|| p["datetime"].as_str())
        .map(str::to_string);
    let e = p["end_datetime"]
        .as_str()
        .or_else(|| p["datetime"].as_str())
        .map(str::to_string);
    (s, e)
}

/// Parses RFC 3339 for ordering (strings of different offsets do not sort).
fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

/// Spatial and temporal extent of Items.
pub fn extent(items: &[Value]) -> Value {
    let bboxes: Vec<[f64; 4]> = items
        .iter()
        .filter_map(|i| {
            let b = i["bbox"].as_array()?;
            let v: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
            match v.len() {
                4 => Some([v[0], v[1], v[2], v[3]]),
                6 => Some([v[0], v[1], v[3], v[4]]),
                _ => None,
            }
        })
        .collect();
    let bbox = if bboxes.is_empty() {
        vec![-180.0, -90.0, 180.0, 90.0]
    } else {
        let (w, e) = lon_union(&bboxes.iter().map(|b| (b[0], b[2])).collect::<Vec<_>>());
        let s = bboxes.iter().map(|b| b[1]).fold(90.0, f64::min);
        let n = bboxes.iter().map(|b| b[3]).fold(-90.0, f64::max);
        vec![w, s, e, n]
    };
    let mut start: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
    let mut end: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
    for i in items {
        let (s, e) = item_times(i);
        if let Some(s) = s.and_then(|s| instant(&s).map(|t| (t, s))) {
            if start.as_ref().is_none_or(|b| s.0 < b.0) {
                start = Some(s);
            }
        }
        if let Some(e) = e.and_then(|e| instant(&e).map(|t| (t, e))) {
            if end.as_ref().is_none_or(|b| e.0 > b.0) {
                end = Some(e);
            }
        }
    }
    json!({
        "spatial": {"bbox": [bbox]},
        "temporal": {"interval": [[start.map(|s| s.1), end.map(|e| e.1)]]},
    })
}

/// `item_assets`: each asset key's type, roles, title and band
/// descriptions (without the per-Item statistics).
fn item_assets(items: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for item in items {
        let Some(assets) = item["assets"].as_object() else {
            continue;
        };
        for (k, a) in assets {
            if out.contains_key(k) {
                continue;
            }
            let mut d = Map::new();
            for f in ["type", "roles"] {
                if let Some(v) = a.get(f) {
                    d.insert(f.into(), v.clone());
                }
            }
            // Item titles name one file; the definition names the kind.
            let label = match a.get("type").and_then(Value::as_str) {
                Some(t) if t.contains("geotiff") => " (COG)",
                Some("application/vnd+zarr") => " (GeoZarr)",
                Some("application/vnd.apache.parquet") => " (GeoParquet)",
                Some("application/vnd.flatgeobuf") => " (FlatGeobuf)",
                Some("application/vnd.pmtiles") => " (PMTiles)",
                _ => "",
            };
            d.insert("title".into(), json!(format!("{k}{label}")));
            if let Some(Value::Array(bands)) = a.get("bands") {
                let bands: Vec<Value> = bands
                    .iter()
                    .map(|b| {
                        let mut b = b.clone();
                        if let Some(m) = b.as_object_mut() {
                            m.remove("statistics");
                        }
                        b
                    })
                    .collect();
                d.insert("bands".into(), Value::Array(bands));
            }
            out.insert(k.clone(), Value::Object(d));
        }
    }
    out
}

fn distinct(items: &[Value], field: &str) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for i in items {
        let v = &i["properties"][field];
        if !v.is_null() && seen.insert(v.to_string()) {
            out.push(v.clone());
        }
    }
    out
}

/// Builds a Collection over `items` (no links: the layout decides them).
pub fn build_collection(id: &str, config: &CollectionConfig, items: &[Value]) -> Result<Value> {
    if id.is_empty() {
        return Err(Error::Invalid(
            "a collection needs a non-empty id (pass --collection ID)".into(),
        ));
    }
    let license = config.license.clone().unwrap_or_else(|| "other".into());
    check_license(&license).map_err(Error::Invalid)?;
    let description = config.description.clone().unwrap_or_else(|| {
        format!(
            "{id}: {} item{} written by arco {}.",
            items.len(),
            if items.len() == 1 { "" } else { "s" },
            crate::ARCO_VERSION
        )
    });
    let mut exts: Vec<&str> = Vec::new();
    let mut summaries = Map::new();
    let codes = distinct(items, "proj:code");
    if !codes.is_empty() {
        summaries.insert("proj:code".into(), Value::Array(codes));
        exts.push(ext::PROJECTION);
    }
    let ia = item_assets(items);
    let bands_have = |prefix: &str| {
        ia.values().any(|a| {
            a["bands"].as_array().is_some_and(|bs| {
                bs.iter().any(|b| {
                    b.as_object()
                        .is_some_and(|m| m.keys().any(|k| k.starts_with(prefix)))
                })
            })
        })
    };
    if bands_have("eo:") {
        exts.push(ext::EO);
    }
    if bands_have("raster:") {
        exts.push(ext::RASTER);
    }
    let dtypes: BTreeSet<String> = ia
        .values()
        .filter_map(|a| a["bands"].as_array())
        .flatten()
        .filter_map(|b| b["data_type"].as_str().map(str::to_string))
        .collect();
    if !dtypes.is_empty() {
        summaries.insert("data_type".into(), json!(dtypes));
    }
    let rows: Vec<u64> = items
        .iter()
        .filter_map(|i| i["properties"]["table:row_count"].as_u64())
        .collect();
    if !rows.is_empty() {
        summaries.insert(
            "table:row_count".into(),
            json!({"minimum": rows.iter().min(), "maximum": rows.iter().max()}),
        );
    }
    let mut c = Map::new();
    c.insert("type".into(), json!("Collection"));
    c.insert("stac_version".into(), json!(STAC_VERSION));
    c.insert("stac_extensions".into(), json!(exts));
    c.insert("id".into(), json!(id));
    if let Some(t) = &config.title {
        c.insert("title".into(), json!(t));
    }
    c.insert("description".into(), json!(description));
    if !config.keywords.is_empty() {
        c.insert("keywords".into(), json!(config.keywords));
    }
    c.insert("license".into(), json!(license));
    if !config.providers.is_empty() {
        c.insert("providers".into(), json!(config.providers));
    }
    c.insert("extent".into(), extent(items));
    if !summaries.is_empty() {
        c.insert("summaries".into(), Value::Object(summaries));
    }
    if !ia.is_empty() {
        c.insert("item_assets".into(), Value::Object(ia));
    }
    let mut links = Vec::new();
    if let Some(u) = &config.license_url {
        links.push(json!({"rel": "license", "href": u, "title": "License"}));
    }
    c.insert("links".into(), json!(links));
    Ok(Value::Object(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longitude_union_handles_the_antimeridian() {
        assert_eq!(lon_union(&[(0.0, 10.0), (5.0, 20.0)]), (0.0, 20.0));
        assert_eq!(
            lon_union(&[(170.0, -170.0), (160.0, 175.0)]),
            (160.0, -170.0)
        );
        assert_eq!(
            lon_union(&[(170.0, 179.0), (-179.0, -170.0)]),
            (170.0, -170.0)
        );
        assert_eq!(lon_union(&[(-10.0, 10.0), (100.0, 120.0)]), (-10.0, 120.0));
        assert_eq!(lon_union(&[(-180.0, 180.0)]), (-180.0, 180.0));
    }

    #[test]
    fn extent_of_items() {
        let items = vec![
            json!({"bbox": [0, 0, 1, 1], "properties": {"datetime": "2020-01-01T00:00:00Z"}}),
            json!({"bbox": [2, -1, 3, 0.5], "properties": {"datetime": null,
                   "start_datetime": "2019-06-01T00:00:00Z", "end_datetime": "2020-06-01T00:00:00Z"}}),
        ];
        let e = extent(&items);
        assert_eq!(e["spatial"]["bbox"][0], json!([0.0, -1.0, 3.0, 1.0]));
        assert_eq!(
            e["temporal"]["interval"][0],
            json!(["2019-06-01T00:00:00Z", "2020-06-01T00:00:00Z"])
        );
    }

    #[test]
    fn config_from_toml_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("stac.toml");
        std::fs::write(
            &t,
            "title = \"NDVI\"\nlicense = \"CC-BY-4.0\"\n[[providers]]\nname = \"INPE\"\nroles = [\"producer\"]\n",
        )
        .unwrap();
        let c = CollectionConfig::from_file(&t).unwrap();
        assert_eq!(c.title.as_deref(), Some("NDVI"));
        assert_eq!(c.providers[0].roles, vec!["producer"]);
        let j = dir.path().join("stac.json");
        std::fs::write(&j, r#"{"license": "proprietary"}"#).unwrap();
        let e = CollectionConfig::from_file(&j).unwrap_err().to_string();
        assert!(e.contains("stac.json") && e.contains("deprecated"), "{e}");
        std::fs::write(&j, r#"{"licence": "MIT"}"#).unwrap();
        let e = CollectionConfig::from_file(&j).unwrap_err().to_string();
        assert!(e.contains("licence") && e.contains("keys:"), "{e}");
    }
}
