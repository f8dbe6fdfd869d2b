//! The index of everything published: the root Catalog (updated, never
//! rewritten from scratch) and `items.parquet` beside it, a stac-geoparquet
//! file with one row per Item, so DuckDB, rustac or geopandas can search
//! without crawling JSON. [`search`] answers bbox / datetime / collection
//! queries from it.

use crate::catalog::{build_catalog, join_url, to_published, CatalogOptions};
use crate::json::{absolute, is_url, relative_href, resolve_local, write_atomic};
use crate::product::{collection_file, linked_items};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The index file's name beside `catalog.json`.
pub const INDEX_FILE: &str = "items.parquet";

/// What [`update_index`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexReport {
    /// The root catalog.
    pub catalog: PathBuf,
    /// The stac-geoparquet file.
    pub index: PathBuf,
    /// Rows in the index now.
    pub items: usize,
    /// Rows added or replaced by this call.
    pub added: usize,
    /// Collections linked from the catalog.
    pub collections: usize,
}

/// Options of the index.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// The root catalog's id, title, description (when it is created).
    pub catalog: CatalogOptions,
    /// Base URL of the published tree: when set, hrefs in the index rows
    /// are absolute under it; otherwise relative to the index file.
    pub base_url: Option<String>,
}

/// Encodes Items as stac-geoparquet bytes.
pub fn encode(items: &[Value]) -> Result<Vec<u8>> {
    let typed: Vec<stac::Item> = items
        .iter()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| {
                Error::Invalid(format!(
                    "item {}: cannot be written to stac-geoparquet ({e})",
                    v["id"]
                ))
            })
        })
        .collect::<Result<_>>()?;
    let mut buf = Vec::new();
    stac::geoparquet::into_writer(&mut buf, typed).map_err(|e| Error::Index {
        path: PathBuf::from(INDEX_FILE),
        msg: format!("stac-geoparquet encoding failed: {e}"),
    })?;
    Ok(buf)
}

/// Reads the Items of a stac-geoparquet file.
pub fn read_index(path: &Path) -> Result<Vec<Value>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let ic = stac::geoparquet::from_reader(file).map_err(|e| Error::Index {
        path: path.to_path_buf(),
        msg: format!("not a stac-geoparquet file ({e})"),
    })?;
    ic.items
        .into_iter()
        .map(|i| {
            serde_json::to_value(i).map_err(|e| Error::Index {
                path: path.to_path_buf(),
                msg: e.to_string(),
            })
        })
        .collect()
}

/// Merges Items into existing rows: a row with the same collection and id
/// is replaced, others are kept; sorted by collection, datetime, id.
pub fn merge(existing: Vec<Value>, new: Vec<Value>) -> (Vec<Value>, usize) {
    let key = |v: &Value| {
        (
            v["collection"].as_str().unwrap_or("").to_string(),
            v["id"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut rows: BTreeMap<(String, String), Value> =
        existing.into_iter().map(|v| (key(&v), v)).collect();
    let added = new.len();
    for v in new {
        rows.insert(key(&v), v);
    }
    let mut out: Vec<Value> = rows.into_values().collect();
    out.sort_by(|a, b| {
        let t = |v: &Value| {
            v["properties"]["datetime"]
                .as_str()
                .or(v["properties"]["start_datetime"].as_str())
                .unwrap_or("")
                .to_string()
        };
        (a["collection"].as_str(), t(a), a["id"].as_str()).cmp(&(
            b["collection"].as_str(),
            t(b),
            b["id"].as_str(),
        ))
    });
    (out, added)
}

/// Rewrites an Item's relative hrefs so they hold from `index_dir`
/// instead of the Item file's directory.
fn rebase(item: &mut Value, item_path: &Path, index_dir: &Path) {
    let fix = |h: &str| -> Option<String> {
        if is_url(h) {
            return None;
        }
        resolve_local(item_path, h).map(|p| relative_href(index_dir, &p))
    };
    if let Some(links) = item.get_mut("links").and_then(Value::as_array_mut) {
        for l in links {
            if let Some(n) = l["href"].as_str().and_then(fix) {
                l["href"] = json!(n);
            }
        }
    }
    if let Some(assets) = item.get_mut("assets").and_then(Value::as_object_mut) {
        for a in assets.values_mut() {
            if let Some(n) = a["href"].as_str().and_then(fix) {
                a["href"] = json!(n);
            }
        }
    }
}

/// Adds product directories to the index at `root`: the root
/// `catalog.json` gains child links (it is created when absent), and
/// `items.parquet` gains (or replaces) one row per Item of each product.
/// Rows of products added before are kept.
pub fn update_index(
    root: &Path,
    product_dirs: &[PathBuf],
    opts: &IndexOptions,
) -> Result<IndexReport> {
    let cat = build_catalog(root, product_dirs, &opts.catalog)?;
    let root_abs = absolute(root);
    let index_path = root_abs.join(INDEX_FILE);
    let mut new = Vec::new();
    for dir in product_dirs {
        let cpath = absolute(&collection_file(dir)?);
        let collection = crate::json::read_json(&cpath)?;
        for (ipath, mut item) in linked_items(&cpath, &collection) {
            match &opts.base_url {
                Some(base) => {
                    let rel = ipath.strip_prefix(&root_abs).map_or_else(
                        |_| ipath.display().to_string(),
                        |r| r.to_string_lossy().replace('\\', "/"),
                    );
                    to_published(
                        &mut item,
                        &join_url(&format!("{}/", base.trim_end_matches('/')), &rel),
                    );
                }
                None => rebase(&mut item, &ipath, &root_abs),
            }
            new.push(item);
        }
    }
    let existing = if index_path.exists() {
        read_index(&index_path)?
    } else {
        Vec::new()
    };
    let (rows, added) = merge(existing, new);
    let bytes = encode(&rows)?;
    write_atomic(&index_path, &bytes)?;
    Ok(IndexReport {
        catalog: cat.catalog,
        index: index_path,
        items: rows.len(),
        added,
        collections: cat.collections,
    })
}

/// A time interval; `None` ends are open.
pub type Interval = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A search of the index.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `[west, south, east, north]` in WGS84; west > east crosses the antimeridian.
    pub bbox: Option<[f64; 4]>,
    /// Start and end (inclusive); `None` is open.
    pub datetime: Option<Interval>,
    /// Collection ids (any of).
    pub collections: Vec<String>,
    /// At most this many Items.
    pub limit: Option<usize>,
}

/// Parses a STAC datetime query: `A`, `A/B`, `../B`, `A/..`, with dates
/// (`2020-01-01`) or RFC 3339 times.
pub fn parse_datetime(s: &str) -> std::result::Result<Interval, String> {
    let one = |p: &str, end: bool| -> std::result::Result<Option<DateTime<Utc>>, String> {
        let p = p.trim();
        if p.is_empty() || p == ".." {
            return Ok(None);
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(p) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(p, "%Y-%m-%d") {
            let t = if end {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            };
            return Ok(t.map(|t| t.and_utc()));
        }
        Err(format!(
            "'{p}' is not a date (2020-01-31) or an RFC 3339 time (2020-01-31T00:00:00Z)"
        ))
    };
    if let Some((a, b)) = s.split_once('/') {
        let (a, b) = (one(a, false)?, one(b, true)?);
        if let (Some(x), Some(y)) = (a, b) {
            if x > y {
                return Err(format!("'{s}': the start is after the end"));
            }
        }
        return Ok((a, b));
    }
    let (a, b) = (one(s, false)?, one(s, true)?);
    if a.is_none() {
        return Err("give a date, or a range A/B (.. for open)".into());
    }
    Ok((a, b))
}

fn lon_ranges(w: f64, e: f64) -> Vec<(f64, f64)> {
    if w > e {
        vec![(w, 180.0), (-180.0, e)]
    } else {
        vec![(w, e)]
    }
}

fn bbox_hits(item: &Value, q: &[f64; 4]) -> bool {
    let Some(b) = item["bbox"].as_array() else {
        return false;
    };
    let v: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
    let (w, s, e, n) = match v.len() {
        4 => (v[0], v[1], v[2], v[3]),
        6 => (v[0], v[1], v[3], v[4]),
        _ => return false,
    };
    if s > q[3] || n < q[1] {
        return false;
    }
    lon_ranges(w, e).iter().any(|&(a, b)| {
        lon_ranges(q[0], q[2])
            .iter()
            .any(|&(c, d)| a <= d && c <= b)
    })
}

fn time_hits(item: &Value, (a, b): Interval) -> bool {
    let p = &item["properties"];
    let parse = |k: &str| {
        p[k].as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (s, e) = match (parse("start_datetime"), parse("end_datetime")) {
        (Some(s), Some(e)) => (s, e),
        _ => match parse("datetime") {
            Some(t) => (t, t),
            None => return false,
        },
    };
    a.is_none_or(|a| e >= a) && b.is_none_or(|b| s <= b)
}

/// The Items of the index at `path` (a stac-geoparquet file, or a
/// directory holding `items.parquet`) that match the query.
pub fn search(path: &Path, q: &Query) -> Result<Vec<Value>> {
    let file = if path.is_dir() {
        path.join(INDEX_FILE)
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Err(Error::Index {
            path: file,
            msg: "no index here; write one with arco publish --stac-index (or arco stac catalog --index)".into(),
        });
    }
    let items = read_index(&file)?;
    let mut out: Vec<Value> = items
        .into_iter()
        .filter(|i| q.bbox.as_ref().is_none_or(|b| bbox_hits(i, b)))
        .filter(|i| q.datetime.is_none_or(|d| time_hits(i, d)))
        .filter(|i| {
            q.collections.is_empty()
                || i["collection"]
                    .as_str()
                    .is_some_and(|c| q.collections.iter().any(|x| x == c))
        })
        .collect();
    if let Some(n) = q.limit {
        out.truncate(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, coll: &str, bbox: [f64; 4], dt: &str) -> Value {
        json!({
            "type": "Feature", "stac_version": "1.1.0", "id": id, "collection": coll,
            "geometry": {"type": "Polygon", "coordinates": [[[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]], [bbox[0], bbox[1]]]]},
            "bbox": bbox,
            "properties": {"datetime": dt, "proj:code": "EPSG:4326"},
            "links": [{"rel": "collection", "href": "./collection.json"}],
            "assets": {"data": {"href": "./a.tif", "type": "image/tiff", "roles": ["data"], "file:size": 10}},
        })
    }

    #[test]
    fn index_round_trips_and_searches() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(INDEX_FILE);
        let items = vec![
            item("a", "c1", [0.0, 0.0, 1.0, 1.0], "2020-01-01T00:00:00Z"),
            item("b", "c1", [10.0, 10.0, 11.0, 11.0], "2020-02-01T00:00:00Z"),
            item("c", "c2", [179.0, -1.0, 180.0, 1.0], "2021-01-01T00:00:00Z"),
        ];
        std::fs::write(&p, encode(&items).unwrap()).unwrap();
        let back = read_index(&p).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0]["properties"]["proj:code"], "EPSG:4326");
        let ids = |q: Query| -> Vec<String> {
            search(&p, &q)
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(Query {
                bbox: Some([-1.0, -1.0, 2.0, 2.0]),
                ..Default::default()
            }),
            vec!["a"]
        );
        assert_eq!(
            ids(Query {
                datetime: Some(parse_datetime("2020-01-15/..").unwrap()),
                ..Default::default()
            }),
            vec!["b", "c"]
        );
        assert_eq!(
            ids(Query {
                collections: vec!["c2".into()],
                ..Default::default()
            }),
            vec!["c"]
        );
        // A query across the antimeridian.
        assert_eq!(
            ids(Query {
                bbox: Some([178.0, -5.0, -178.0, 5.0]),
                ..Default::default()
            }),
            vec!["c"]
        );
        assert_eq!(
            ids(Query {
                datetime: Some(parse_datetime("2020-02-01").unwrap()),
                ..Default::default()
            }),
            vec!["b"]
        );
    }

    #[test]
    fn merge_replaces_same_ids() {
        let old = vec![item("a", "c1", [0.0; 4], "2020-01-01T00:00:00Z")];
        let new = vec![
            item("a", "c1", [1.0, 1.0, 2.0, 2.0], "2020-01-01T00:00:00Z"),
            item("a", "c2", [0.0; 4], "2020-01-01T00:00:00Z"),
        ];
        let (rows, added) = merge(old, new);
        assert_eq!(rows.len(), 2);
        assert_eq!(added, 2);
        assert_eq!(rows[0]["bbox"][0], 1.0);
    }

    #[test]
    fn datetime_queries() {
        assert!(parse_datetime("2020-13-01").is_err());
        assert!(parse_datetime("2021-01-01/2020-01-01").is_err());
        let (a, b) = parse_datetime("../2020-01-01T00:00:00Z").unwrap();
        assert!(a.is_none() && b.is_some());
    }
}
