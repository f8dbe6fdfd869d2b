//! Offline validation of STAC files against the official JSON Schemas:
//! core plus every extension an object declares, each schema compiled
//! once, files validated in parallel. A few rules the schemas cannot
//! express are checked too (named `arco:...`): a declared Projection
//! extension with no CRS field, a `file:checksum` that is not a multihash,
//! links to files that are not there.

use crate::json::{is_url, resolve_local};
use crate::schemas::{canonical, core_url, SchemaStore};
use crate::{Error, Result};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, ValidationError};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The file.
    pub file: String,
    /// JSON pointer into the file (`/assets/data/file:checksum`).
    pub path: String,
    /// The rule broken: schema and keyword location, or `arco:...`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// False for warnings (a link to a file not present).
    pub error: bool,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{}: {path}: {} [{}]", self.file, self.message, self.rule)
    }
}

/// The outcome of validating files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Files validated.
    pub files: usize,
    /// Items, Collections, Catalogs among them.
    pub items: usize,
    /// Collections.
    pub collections: usize,
    /// Catalogs.
    pub catalogs: usize,
    /// Problems, errors and warnings, in file order.
    pub issues: Vec<Issue>,
}

impl Report {
    /// Number of errors (not warnings).
    pub fn errors(&self) -> usize {
        self.issues.iter().filter(|i| i.error).count()
    }
}

/// Compiled schemas for a set of URLs.
pub struct Validator {
    compiled: HashMap<String, (String, jsonschema::Validator)>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("schemas", &self.compiled.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A short name for a schema URL (`file/v2.1.0`, `item v1.1.0`).
fn short_name(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://stac-extensions.github.io/") {
        return rest.trim_end_matches("/schema.json").to_string();
    }
    if let Some(rest) = url.strip_prefix("https://schemas.stacspec.org/") {
        let version = rest.split('/').next().unwrap_or("");
        let file = rest
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".json");
        return format!("{file} {version}");
    }
    url.to_string()
}

/// The schema URLs a STAC object must validate against.
pub fn schema_urls(v: &Value) -> std::result::Result<Vec<String>, String> {
    let kind = v["type"].as_str().unwrap_or("");
    let version = v["stac_version"]
        .as_str()
        .ok_or_else(|| "no stac_version: not a STAC object".to_string())?;
    let core = core_url(kind, version).ok_or_else(|| {
        format!(
            "type is {}: a STAC object is a Feature (Item), Catalog or Collection",
            v["type"]
        )
    })?;
    let mut urls = vec![core];
    if let Some(exts) = v["stac_extensions"].as_array() {
        for e in exts {
            if let Some(s) = e.as_str() {
                urls.push(canonical(s).to_string());
            }
        }
    }
    Ok(urls)
}

impl Validator {
    /// Compiles the schemas at `urls` from `store` (all of its documents
    /// are registered, so `$ref`s resolve offline).
    pub fn new(store: &SchemaStore, urls: &BTreeSet<String>) -> Result<Self> {
        let docs = store.documents()?;
        let registry = Registry::new()
            .draft(Draft::Draft7)
            .extend(docs)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| {
                Error::Schemas(format!(
                    "{}: the schemas do not load together ({e})",
                    store.dir().display()
                ))
            })?;
        let compiled = urls
            .par_iter()
            .map(|url| {
                let v = jsonschema::options()
                    .with_draft(Draft::Draft7)
                    .should_validate_formats(true)
                    .with_registry(&registry)
                    .build(&serde_json::json!({ "$ref": url }))
                    .map_err(|e| {
                        Error::Schemas(format!(
                            "{url}: cannot compile the schema from {} ({e})",
                            store.dir().display()
                        ))
                    })?;
                Ok((url.clone(), (short_name(url), v)))
            })
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(Self { compiled })
    }

    /// Validates one STAC object; `file` names it in the issues.
    pub fn validate_value(&self, file: &str, v: &Value) -> Vec<Issue> {
        let mut out = Vec::new();
        let urls = match schema_urls(v) {
            Ok(u) => u,
            Err(m) => {
                out.push(Issue {
                    file: file.into(),
                    path: String::new(),
                    rule: "stac".into(),
                    message: m,
                    error: true,
                });
                return out;
            }
        };
        for url in &urls {
            let Some((name, schema)) = self.compiled.get(url) else {
                out.push(Issue {
                    file: file.into(),
                    path: "/stac_extensions".into(),
                    rule: "schemas".into(),
                    message: format!("no schema loaded for {url}"),
                    error: true,
                });
                continue;
            };
            if schema.is_valid(v) {
                continue;
            }
            let mut leaves = Vec::new();
            for e in schema.iter_errors(v) {
                flatten(&e, &mut leaves);
            }
            let mut seen = HashSet::new();
            for (path, schema_path, message) in leaves {
                if seen.insert((path.clone(), message.clone())) {
                    out.push(Issue {
                        file: file.into(),
                        path,
                        rule: format!("{name} {schema_path}"),
                        message,
                        error: true,
                    });
                }
            }
        }
        arco_rules(file, v, &mut out);
        out
    }
}

/// The most specific errors under an `anyOf`/`oneOf`: the branch whose
/// errors reach deepest into the instance (the branch meant for this kind
/// of object), recursively.
fn flatten(e: &ValidationError<'_>, out: &mut Vec<(String, String, String)>) {
    let branches = match e.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(ctx) = branches.filter(|c| c.iter().any(|b| !b.is_empty())) {
        let depth = |b: &Vec<ValidationError<'static>>| {
            b.iter()
                .map(|x| x.instance_path().as_str().matches('/').count())
                .max()
                .unwrap_or(0)
        };
        let best = ctx
            .iter()
            .filter(|b| !b.is_empty())
            .max_by(|a, b| depth(a).cmp(&depth(b)).then(b.len().cmp(&a.len())))
            .expect("a non-empty branch");
        for x in best {
            flatten(x, out);
        }
        return;
    }
    out.push((
        e.instance_path().as_str().to_string(),
        e.schema_path().as_str().to_string(),
        e.to_string(),
    ));
}

/// `file:checksum` must be a multihash: varint code, varint length, then
/// exactly that many digest bytes (and the right length for sha2-256 and
/// friends).
pub fn check_multihash(hex_str: &str) -> std::result::Result<(), String> {
    let bytes = hex::decode(hex_str).map_err(|_| "is not hexadecimal".to_string())?;
    let mut i = 0;
    let mut varint = |b: &[u8]| -> Option<u64> {
        let mut v = 0u64;
        for shift in 0..9 {
            let byte = *b.get(i)?;
            i += 1;
            v |= u64::from(byte & 0x7f) << (7 * shift);
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    let code = varint(&bytes).ok_or("is too short for a multihash")?;
    let len = varint(&bytes).ok_or("is too short for a multihash")?;
    let digest = bytes.len() - i;
    if digest as u64 != len {
        return Err(format!(
            "is not a multihash: its header says {len} digest bytes but {digest} follow (sha2-256 is 1220 followed by 64 hex digits)"
        ));
    }
    let expected = match code {
        0x11 => Some((20, "sha1")),
        0x12 => Some((32, "sha2-256")),
        0x13 => Some((64, "sha2-512")),
        0xd5 => Some((16, "md5")),
        0x1e => Some((32, "blake3")),
        _ => None,
    };
    if let Some((n, name)) = expected {
        if len != n {
            return Err(format!(
                "is not a valid {name} multihash: {len} digest bytes, {name} has {n}"
            ));
        }
    }
    Ok(())
}

fn has_crs_field(m: &Value) -> bool {
    ["proj:code", "proj:wkt2", "proj:projjson"]
        .iter()
        .any(|k| m.get(k).is_some())
}

/// Rules the official schemas do not encode.
fn arco_rules(file: &str, v: &Value, out: &mut Vec<Issue>) {
    let declared = |needle: &str| {
        v["stac_extensions"].as_array().is_some_and(|a| {
            a.iter()
                .any(|e| e.as_str().is_some_and(|s| s.contains(needle)))
        })
    };
    if v["type"] == "Feature" && declared("/projection/v2.") {
        let in_assets = v["assets"]
            .as_object()
            .is_some_and(|a| a.values().any(has_crs_field));
        if !has_crs_field(&v["properties"]) && !in_assets {
            out.push(Issue {
                file: file.into(),
                path: "/properties".into(),
                rule: "arco:projection-crs".into(),
                message: "the projection extension is declared but there is no proj:code (nor proj:wkt2 or proj:projjson) in the properties or any asset; add proj:code (null when the CRS has no code, with proj:wkt2)".into(),
                error: true,
            });
        }
    }
    if declared("/file/v2.") {
        let mut check = |path: String, a: &Value| {
            if let Some(c) = a.get("file:checksum").and_then(Value::as_str) {
                let hexish = !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                // The schema's pattern reports the non-hex case already.
                if hexish {
                    if let Err(m) = check_multihash(c) {
                        out.push(Issue {
                            file: file.into(),
                            path: format!("{path}/file:checksum"),
                            rule: "arco:multihash".into(),
                            message: format!("\"{c}\" {m}"),
                            error: true,
                        });
                    }
                }
            }
        };
        if let Some(assets) = v["assets"].as_object() {
            for (k, a) in assets {
                check(format!("/assets/{k}"), a);
            }
        }
    }
}

/// What to validate: the files given, and every JSON file under the
/// directories given.
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files).map_err(|e| Error::io(p, e))?;
            files.sort();
            stack.extend(files.into_iter().rev());
        } else if p.is_file() {
            stack.push(p.clone());
        } else {
            return Err(Error::Invalid(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    stack.reverse();
    while let Some(p) = stack.pop() {
        let p = crate::json::normalize(&p);
        if !seen.insert(p.clone()) {
            continue;
        }
        out.push(p);
    }
    Ok(out)
}

/// `.json` files under a directory, not inside Zarr stores or hidden
/// directories.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_dir() {
            let ext = Path::new(&name)
                .extension()
                .map(std::ffi::OsStr::to_ascii_lowercase);
            if name.starts_with('.') || ext.is_some_and(|e| e == "zarr") {
                continue;
            }
            walk(&p, out)?;
        } else if Path::new(&name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            && !name.starts_with('.')
            && name != "schema-map.json"
        {
            out.push(p);
        }
    }
    Ok(())
}

/// A parsed file, or why it could not be read.
enum Loaded {
    Stac(Value),
    NotStac,
    Broken(Issue),
}

fn load(path: &Path, from_dir: bool) -> Loaded {
    let file = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return Loaded::Broken(Issue {
                file,
                path: String::new(),
                rule: "io".into(),
                message: e.to_string(),
                error: true,
            })
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if from_dir && v.get("stac_version").is_none() => Loaded::NotStac,
        Ok(v) => Loaded::Stac(v),
        Err(e) if from_dir => {
            let _ = e;
            Loaded::NotStac
        }
        Err(e) => Loaded::Broken(Issue {
            file,
            path: String::new(),
            rule: "json".into(),
            message: format!("not valid JSON: {e}"),
            error: true,
        }),
    }
}

/// Link targets of a Catalog or Collection that should be files here.
fn structural_links(path: &Path, v: &Value) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (i, l) in v["links"].as_array().into_iter().flatten().enumerate() {
        let rel = l["rel"].as_str().unwrap_or("");
        if !matches!(rel, "child" | "item" | "parent" | "root" | "collection") {
            continue;
        }
        let Some(h) = l["href"].as_str() else {
            continue;
        };
        if is_url(h) {
            continue;
        }
        if let Some(t) = resolve_local(path, h) {
            out.push((format!("/links/{i}/href"), t));
        }
    }
    out
}

/// Validates files and trees: each path is a STAC file (a Catalog or
/// Collection brings in what it links to, recursively) or a directory
/// (every STAC JSON file under it). Links to files that are not there are
/// warnings.
pub fn validate_paths(paths: &[PathBuf], store: &mut SchemaStore) -> Result<Report> {
    let mut files = collect(paths)?;
    let from_dir: HashSet<PathBuf> = {
        let explicit: HashSet<PathBuf> = paths
            .iter()
            .filter(|p| p.is_file())
            .map(|p| crate::json::normalize(p))
            .collect();
        files
            .iter()
            .filter(|f| !explicit.contains(*f))
            .cloned()
            .collect()
    };
    let mut loaded: BTreeMap<PathBuf, Loaded> = BTreeMap::new();
    let mut known: HashSet<PathBuf> = files.iter().cloned().collect();
    let mut frontier = std::mem::take(&mut files);
    let mut issues = Vec::new();
    // Load in parallel (links checked there too), then follow the child
    // and item links of Catalogs and Collections level by level.
    while !frontier.is_empty() {
        type Loaded3 = (PathBuf, Loaded, Vec<(String, PathBuf, bool)>, bool);
        let batch: Vec<Loaded3> = frontier
            .par_iter()
            .map(|p| {
                let l = load(p, from_dir.contains(p));
                let (links, follow) = match &l {
                    Loaded::Stac(v) => (
                        structural_links(p, v)
                            .into_iter()
                            .map(|(ptr, t)| {
                                let e = t.exists();
                                (ptr, t, e)
                            })
                            .collect(),
                        v["type"] != "Feature",
                    ),
                    _ => (Vec::new(), false),
                };
                (p.clone(), l, links, follow)
            })
            .collect();
        let mut next = Vec::new();
        for (p, l, links, follow) in batch {
            for (ptr, t, exists) in links {
                if !exists {
                    issues.push(Issue {
                        file: p.display().to_string(),
                        path: ptr,
                        rule: "arco:link".into(),
                        message: format!("links to {}, which does not exist", t.display()),
                        error: false,
                    });
                } else if follow && known.insert(t.clone()) {
                    next.push(t);
                }
            }
            loaded.insert(p, l);
        }
        frontier = next;
    }
    // Only child/item targets of catalogs and collections were followed;
    // root/parent links of items point back into what is loaded anyway.
    let mut urls = BTreeSet::new();
    for l in loaded.values() {
        if let Loaded::Stac(v) = l {
            if let Ok(u) = schema_urls(v) {
                urls.extend(u);
            }
        }
    }
    store.ensure(&urls.iter().cloned().collect::<Vec<_>>())?;
    let validator = Validator::new(store, &urls)?;
    let results: Vec<(Vec<Issue>, Option<String>)> = loaded
        .par_iter()
        .map(|(p, l)| match l {
            Loaded::Stac(v) => (
                validator.validate_value(&p.display().to_string(), v),
                v["type"].as_str().map(str::to_string),
            ),
            Loaded::NotStac => (Vec::new(), None),
            Loaded::Broken(i) => (vec![i.clone()], None),
        })
        .collect();
    let mut report = Report::default();
    for (iss, kind) in results {
        match kind.as_deref() {
            Some("Feature") => report.items += 1,
            Some("Collection") => report.collections += 1,
            Some("Catalog") => report.catalogs += 1,
            _ => {}
        }
        if kind.is_some() || !iss.is_empty() {
            report.files += 1;
        }
        report.issues.extend(iss);
    }
    report.issues.extend(issues);
    report
        .issues
        .sort_by(|a, b| a.file.cmp(&b.file).then(a.path.cmp(&b.path)));
    Ok(report)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schemas::SchemaSource;
    use serde_json::json;

    pub(crate) fn reference(sub: &str) -> PathBuf {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference")
            .join(sub);
        assert!(
            p.exists(),
            "{} is missing: the tests read the shared reference",
            p.display()
        );
        p
    }

    pub(crate) fn store() -> SchemaStore {
        SchemaStore::open(&reference("stac-schemas"), SchemaSource::Option).unwrap()
    }

    fn validator_for(v: &Value) -> Validator {
        Validator::new(&store(), &schema_urls(v).unwrap().into_iter().collect()).unwrap()
    }

    #[test]
    fn official_examples_validate() {
        let mut s = store();
        let dir = reference("stac-examples");
        let r = validate_paths(&[dir], &mut s).unwrap();
        assert_eq!(r.files, 6, "{r:?}");
        assert_eq!(r.errors(), 0, "{:#?}", r.issues);
        // The catalog links children that are not copied: warnings only.
        assert!(r.issues.iter().all(|i| i.rule == "arco:link"));
    }

    fn broken_item() -> Value {
        json!({
            "type": "Feature", "stac_version": "1.1.0",
            "stac_extensions": [crate::ext::PROJECTION, crate::ext::FILE],
            "id": "x",
            "geometry": {"type": "Point", "coordinates": [0, 0]}, "bbox": [0, 0, 0, 0],
            "properties": {"datetime": "2020-01-01T00:00:00Z", "proj:shape": [1, 1]},
            "links": [{"rel": "self", "href": "./x.json"}],
            "assets": {"data": {"href": "./x.tif", "file:checksum": "sha256:abc"}},
        })
    }

    #[test]
    fn every_kind_of_item_arco_builds_validates() {
        use crate::footprint::tests::record;
        use crate::item::{build_item, AssetSpec, ItemSpec, Processing};
        use arco_core::{BandStatistics, ColumnRecord, Format, VectorRecord};
        let mut cog = record(
            "EPSG:32633",
            [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
        );
        cog.bands[0].statistics = Some(BandStatistics {
            minimum: 1.0,
            maximum: 2.0,
            mean: 1.5,
            stddev: 0.5,
            valid_percent: 100.0,
        });
        cog.bands[0].scale = Some(0.5);
        let mut nocode = cog.clone();
        nocode.crs.code = None;
        let mut zarr = record(
            "EPSG:3460",
            [1_800_000.0, 3_700_000.0, 2_200_000.0, 4_100_000.0],
        );
        zarr.format = Format::Geozarr;
        zarr.media_type = Format::Geozarr.media_type();
        zarr.checksum = None;
        zarr.bands.push(arco_core::BandRecord {
            name: Some("nir".into()),
            nodata: Some(f64::NAN),
            ..Default::default()
        });
        zarr.datetimes.push("2020-02-01T00:00:00Z".into());
        let mut vector = record("EPSG:4326", [-10.0, -10.0, 10.0, 10.0]);
        vector.format = Format::Flatgeobuf;
        vector.media_type = Format::Flatgeobuf.media_type();
        vector.bands.clear();
        vector.vector = Some(VectorRecord {
            layer: "l".into(),
            feature_count: 3,
            geometry_types: vec!["Point".into()],
            geometry_column: "geom".into(),
            columns: vec![ColumnRecord {
                name: "n".into(),
                type_name: "int64".into(),
            }],
        });
        let processing = Processing {
            lineage: Some("SWAG".into()),
            method: Some(json!({"method": "swag", "season": 23})),
            level: None,
        };
        for r in [&cog, &nocode, &zarr, &vector] {
            let item = build_item(&ItemSpec {
                id: "i".into(),
                collection: None,
                assets: vec![AssetSpec {
                    key: "data".into(),
                    record: r,
                    href: "./a".into(),
                    roles: vec!["data".into()],
                    title: None,
                    variable: None,
                }],
                processing: Some(&processing),
                datetime: None,
            })
            .unwrap();
            let issues = validator_for(&item).validate_value("i.json", &item);
            assert!(issues.is_empty(), "{:?}: {issues:#?}", r.format);
        }
    }

    #[test]
    fn broken_items_get_precise_messages() {
        let v = broken_item();
        let issues = validator_for(&v).validate_value("x.json", &v);
        let find = |p: &str| {
            issues
                .iter()
                .find(|i| i.path == p)
                .unwrap_or_else(|| panic!("no issue at {p}: {issues:#?}"))
        };
        let s = find("/links/0/href");
        assert!(
            s.message.contains("iri") && s.rule.starts_with("item v1.1.0"),
            "{s}"
        );
        let c = find("/assets/data/file:checksum");
        assert!(
            c.message.contains("^[a-f0-9]+$") && c.rule.starts_with("file/v2.1.0"),
            "{c}"
        );
        let p = find("/properties");
        assert_eq!(p.rule, "arco:projection-crs");
        assert!(p.message.contains("proj:code"));
        assert_eq!(issues.len(), 3, "{issues:#?}");
        // A hex checksum that is no multihash.
        let mut v = broken_item();
        v["assets"]["data"]["file:checksum"] = json!("ab".repeat(32));
        v["links"] = json!([]);
        v["properties"]["proj:code"] = json!("EPSG:4326");
        let issues = validator_for(&v).validate_value("x.json", &v);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].rule, "arco:multihash");
    }

    #[test]
    fn multihash_checks() {
        let good = format!("1220{}", "ab".repeat(32));
        assert!(check_multihash(&good).is_ok());
        let short = format!("1220{}", "ab".repeat(31));
        assert!(check_multihash(&short)
            .unwrap_err()
            .contains("32 digest bytes but 31"));
        let bare = "ab".repeat(32);
        assert!(check_multihash(&bare).is_err());
        let wrong_len = format!("1210{}", "ab".repeat(16));
        assert!(check_multihash(&wrong_len)
            .unwrap_err()
            .contains("sha2-256"));
    }
}
