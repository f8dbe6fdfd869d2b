//! Where the STAC JSON Schemas come from: a directory with a
//! `schema-map.json` (canonical URL -> file), given with `--schemas DIR`
//! or `ARCO_STAC_SCHEMAS`; otherwise a cache under
//! `$XDG_CACHE_HOME/arco/stac-schemas`, filled over the network on first
//! use (the schema, then every schema it `$ref`s).

use crate::json::{read_json, write_atomic};
use crate::{ext, Error, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming a schema directory.
pub const ENV: &str = "ARCO_STAC_SCHEMAS";

/// Where a schema directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSource {
    /// `--schemas DIR`.
    Option,
    /// `ARCO_STAC_SCHEMAS`.
    Env,
    /// The user cache, filled over the network.
    Cache,
}

/// A directory of schemas with its `schema-map.json`.
#[derive(Debug, Clone)]
pub struct SchemaStore {
    dir: PathBuf,
    source: SchemaSource,
    /// Canonical URL (no trailing `#`) -> path relative to `dir`.
    map: BTreeMap<String, String>,
}

/// The core schema URL of a STAC object type and version.
pub fn core_url(kind: &str, version: &str) -> Option<String> {
    let k = match kind {
        "Feature" => "item",
        "Catalog" => "catalog",
        "Collection" => "collection",
        _ => return None,
    };
    Some(format!(
        "https://schemas.stacspec.org/v{version}/{k}-spec/json-schema/{k}.json"
    ))
}

/// A URL without a trailing `#`.
pub fn canonical(url: &str) -> &str {
    url.trim_end_matches('#')
}

impl SchemaStore {
    /// Opens a directory holding `schema-map.json`.
    pub fn open(dir: &Path, source: SchemaSource) -> Result<Self> {
        let map_path = dir.join("schema-map.json");
        if !map_path.is_file() {
            return Err(Error::Schemas(format!(
                "{}: no schema-map.json; point --schemas (or {ENV}) at a directory laid out like stac-schemas/, with schema-map.json mapping each schema URL to a file",
                dir.display()
            )));
        }
        let v = read_json(&map_path)?;
        let map = v["schemas"]
            .as_object()
            .ok_or_else(|| Error::Json {
                path: map_path.clone(),
                msg: "no \"schemas\" object (URL -> relative path)".into(),
            })?
            .iter()
            .filter_map(|(k, v)| Some((canonical(k).to_string(), v.as_str()?.to_string())))
            .collect();
        Ok(Self {
            dir: dir.to_path_buf(),
            source,
            map,
        })
    }

    /// The schema directory: `explicit` (`--schemas`), else
    /// `ARCO_STAC_SCHEMAS`, else the user cache (created and filled over
    /// the network when empty).
    pub fn locate(explicit: Option<&Path>) -> Result<Self> {
        if let Some(d) = explicit {
            return Self::open(d, SchemaSource::Option);
        }
        if let Some(d) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
            return Self::open(Path::new(&d), SchemaSource::Env);
        }
        let dir = cache_dir().ok_or_else(|| {
            Error::Schemas(format!(
                "no STAC schemas: pass --schemas DIR or set {ENV} (no cache directory: neither XDG_CACHE_HOME nor HOME is set)"
            ))
        })?;
        if dir.join("schema-map.json").is_file() {
            return Self::open(&dir, SchemaSource::Cache);
        }
        let mut s = Self {
            dir,
            source: SchemaSource::Cache,
            map: BTreeMap::new(),
        };
        let wanted: Vec<String> = default_urls();
        s.ensure(&wanted)?;
        Ok(s)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where it came from.
    pub fn source(&self) -> SchemaSource {
        self.source
    }

    /// Whether a schema URL is known.
    pub fn has(&self, url: &str) -> bool {
        self.map.contains_key(canonical(url))
    }

    /// Makes sure every URL is available: fetched into the cache when the
    /// store is the cache, otherwise an error naming what is missing.
    pub fn ensure(&mut self, urls: &[String]) -> Result<()> {
        let missing: Vec<&String> = urls.iter().filter(|u| !self.has(u)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        if self.source != SchemaSource::Cache {
            let how = match self.source {
                SchemaSource::Option => "--schemas",
                _ => ENV,
            };
            return Err(Error::Schemas(format!(
                "{}: no schema for {} in schema-map.json; add the schema file and its URL to the map (or drop {how} to fetch schemas over the network)",
                self.dir.display(),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.fetch(&missing.into_iter().cloned().collect::<Vec<_>>())
    }

    /// Fetches schemas and everything they `$ref` into the cache.
    fn fetch(&mut self, urls: &[String]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let mut queue: VecDeque<String> = urls.iter().map(|u| canonical(u).to_string()).collect();
        let mut done: BTreeSet<String> = self.map.keys().cloned().collect();
        while let Some(url) = queue.pop_front() {
            if !done.insert(url.clone()) {
                continue;
            }
            let body = agent
                .get(&url)
                .call()
                .and_then(|mut r| r.body_mut().read_to_string())
                .map_err(|e| {
                    Error::Schemas(format!(
                        "no STAC schemas: pass --schemas DIR (a directory with schema-map.json) or set {ENV}; fetching {url} into {} failed ({e}): no network?",
                        self.dir.display()
                    ))
                })?;
            let doc: Value = serde_json::from_str(&body)
                .map_err(|e| Error::Schemas(format!("{url}: not a JSON schema ({e})")))?;
            let rel = local_name(&url);
            let path = self.dir.join(&rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
            }
            write_atomic(&path, body.as_bytes())?;
            self.map.insert(url.clone(), rel);
            let mut refs = Vec::new();
            collect_refs(&doc, &mut refs);
            if let Some(s) = doc["$schema"].as_str() {
                refs.push(s.to_string());
            }
            for r in refs {
                if let Some(abs) = resolve_ref(&url, &r) {
                    if !done.contains(&abs) {
                        queue.push_back(abs);
                    }
                }
            }
        }
        let map = json!({
            "$comment": "Written by arco: canonical schema URL -> path relative to this directory.",
            "schemas": self.map,
        });
        write_atomic(
            &self.dir.join("schema-map.json"),
            serde_json::to_string_pretty(&map)
                .unwrap_or_default()
                .as_bytes(),
        )
    }

    /// Every schema document, keyed by its canonical URL.
    pub fn documents(&self) -> Result<Vec<(String, Value)>> {
        self.map
            .iter()
            .map(|(url, rel)| {
                let p = self.dir.join(rel);
                read_json(&p).map(|v| (url.clone(), v))
            })
            .collect()
    }
}

/// The schemas arco's own output needs.
pub fn default_urls() -> Vec<String> {
    let mut v: Vec<String> = ["Feature", "Catalog", "Collection"]
        .iter()
        .filter_map(|k| core_url(k, crate::STAC_VERSION))
        .collect();
    v.extend(
        [
            ext::PROJECTION,
            ext::RASTER,
            ext::EO,
            ext::FILE,
            ext::DATACUBE,
            ext::PROCESSING,
            ext::TABLE,
        ]
        .iter()
        .map(|s| (*s).to_string()),
    );
    v
}

/// `$XDG_CACHE_HOME/arco/stac-schemas` or `~/.cache/arco/stac-schemas`.
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("arco").join("stac-schemas"))
}

/// A file name for a URL: host and path, with only safe characters.
fn local_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let mut s: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_./".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    s = s.replace("..", "_");
    if !std::path::Path::new(&s)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        s.push_str(".json");
    }
    s
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The absolute document URL a `$ref` points to (no fragment); `None` for
/// a reference within the same document.
fn resolve_ref(base: &str, r: &str) -> Option<String> {
    let doc = r.split('#').next().unwrap_or("");
    if doc.is_empty() {
        return None;
    }
    if crate::json::is_url(doc) {
        return Some(doc.to_string());
    }
    Some(crate::catalog::join_url(base, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_against_the_schema_url() {
        assert_eq!(
            resolve_ref(
                "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json",
                "common.json"
            )
            .as_deref(),
            Some("https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/common.json")
        );
        assert_eq!(resolve_ref("https://a/b.json", "#/definitions/x"), None);
        assert_eq!(
            resolve_ref(
                "https://a/b.json",
                "https://geojson.org/schema/Feature.json#"
            ),
            Some("https://geojson.org/schema/Feature.json".into())
        );
        assert_eq!(
            local_name("http://json-schema.org/draft-07/schema"),
            "json-schema.org/draft-07/schema.json"
        );
    }

    #[test]
    fn a_directory_without_map_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let e = SchemaStore::open(d.path(), SchemaSource::Option)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("schema-map.json") && e.contains("--schemas"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_extension_names_the_url() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("schema-map.json"), r#"{"schemas": {}}"#).unwrap();
        let mut s = SchemaStore::open(d.path(), SchemaSource::Option).unwrap();
        let e = s
            .ensure(&["https://example.org/ext/v1.0.0/schema.json".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("https://example.org/ext/v1.0.0/schema.json"),
            "{e}"
        );
    }
}
