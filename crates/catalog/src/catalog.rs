//! The root Catalog over product directories, in two layouts:
//!
//! - self-contained: every href relative, no `self` links, so any copy of
//!   the tree works (what `arco stac catalog` writes);
//! - published: every href absolute under the store's base URL, with a
//!   `self` link on every object ([`publish_layout`] for a tree on disk,
//!   [`to_published`] for one document in memory).
//!
//! Adding collections updates an existing `catalog.json` (its id, title,
//! other links are kept); it is never rewritten from scratch.

use crate::json::{absolute, read_json, relative_href, resolve_local, write_json_atomic};
use crate::product::collection_file;
use crate::{Error, Result, STAC_VERSION};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The two layouts of a catalog tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// All hrefs relative; works from any copy.
    SelfContained,
    /// All hrefs absolute under this base URL.
    Published(String),
}

/// Options of the root catalog.
#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    /// Catalog id [default: the directory's name].
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description [default: a generated one].
    pub description: Option<String>,
}

/// What [`build_catalog`] did.
#[derive(Debug, Clone, Default)]
pub struct CatalogReport {
    /// The root catalog file.
    pub catalog: PathBuf,
    /// Collections linked from it (all of them, old and new).
    pub collections: usize,
    /// Collections added by this call.
    pub added: usize,
    /// Items under the collections touched by this call.
    pub items: usize,
    /// Whether the catalog existed before.
    pub updated: bool,
}

fn set_link(v: &mut Value, rel: &str, href: &str, ty: &str) {
    let link = json!({"rel": rel, "href": href, "type": ty});
    let links = v["links"].as_array_mut();
    match links {
        Some(links) => {
            if let Some(l) = links.iter_mut().find(|l| l["rel"] == rel) {
                l["href"] = json!(href);
            } else {
                // root first, then parent, as readers expect.
                let at = if rel == "root" { 0 } else { links.len().min(1) };
                links.insert(at, link);
            }
        }
        None => v["links"] = json!([link]),
    }
}

/// Creates or updates `out_dir/catalog.json` with a child link to each
/// product directory's collection, and points the collections' and
/// Items' `root`/`parent` links at it (all relative). Every product
/// directory must be inside `out_dir`, so the tree is self-contained.
pub fn build_catalog(
    out_dir: &Path,
    product_dirs: &[PathBuf],
    opts: &CatalogOptions,
) -> Result<CatalogReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let root_dir = absolute(out_dir);
    let catalog_path = root_dir.join("catalog.json");
    let updated = catalog_path.exists();
    let mut catalog = if updated {
        let c = read_json(&catalog_path)?;
        if c["type"] != "Catalog" {
            return Err(Error::Invalid(format!(
                "{}: exists and is not a STAC Catalog; choose another -o",
                catalog_path.display()
            )));
        }
        c
    } else {
        let id = opts.id.clone().unwrap_or_else(|| {
            root_dir
                .file_name()
                .map_or_else(|| "catalog".into(), |n| n.to_string_lossy().into_owned())
        });
        json!({
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": id,
            "description": opts.description.clone().unwrap_or_else(|| format!("{id}: STAC catalog written by arco {}.", crate::ARCO_VERSION)),
            "links": [{"rel": "root", "href": "./catalog.json", "type": "application/json"}],
        })
    };
    if let Some(t) = &opts.title {
        catalog["title"] = json!(t);
    }
    if updated {
        if let Some(d) = &opts.description {
            catalog["description"] = json!(d);
        }
    }
    let mut report = CatalogReport {
        catalog: catalog_path.clone(),
        updated,
        ..Default::default()
    };
    for dir in product_dirs {
        let cpath = absolute(&collection_file(dir)?);
        if !cpath.starts_with(&root_dir) {
            return Err(Error::Invalid(format!(
                "{}: not inside the catalog directory {}; pass -o with a directory that holds every product directory, so that the catalog is self-contained",
                dir.display(),
                root_dir.display()
            )));
        }
        let cdir = cpath.parent().unwrap_or(&root_dir).to_path_buf();
        let mut collection = read_json(&cpath)?;
        if collection["type"] != "Collection" {
            return Err(Error::Invalid(format!(
                "{}: not a STAC Collection",
                cpath.display()
            )));
        }
        let href = relative_href(&root_dir, &cpath);
        let links = catalog["links"].as_array_mut().expect("catalog links");
        let known = links.iter().any(|l| {
            l["rel"] == "child"
                && l["href"]
                    .as_str()
                    .and_then(|h| resolve_local(&catalog_path, h))
                    .is_some_and(|p| p == cpath)
        });
        if !known {
            let mut link = json!({"rel": "child", "href": href, "type": "application/json"});
            if let Some(t) = collection["title"].as_str().or(collection["id"].as_str()) {
                link["title"] = json!(t);
            }
            links.push(link);
            report.added += 1;
        }
        let to_root = relative_href(&cdir, &catalog_path);
        set_link(&mut collection, "root", &to_root, "application/json");
        set_link(&mut collection, "parent", &to_root, "application/json");
        // Items are rewritten only when their root link changes.
        let hrefs: Vec<PathBuf> = collection["links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["rel"] == "item")
            .filter_map(|l| resolve_local(&cpath, l["href"].as_str()?))
            .collect();
        report.items += hrefs
            .par_iter()
            .map(|ipath| -> Result<usize> {
                let Ok(mut item) = read_json(ipath) else {
                    return Ok(0);
                };
                let idir = ipath.parent().unwrap_or(&cdir).to_path_buf();
                let href = relative_href(&idir, &catalog_path);
                if crate::product::link_href(&item, "root") != Some(href.as_str()) {
                    set_link(&mut item, "root", &href, "application/json");
                    write_json_atomic(ipath, &item)?;
                }
                Ok(1)
            })
            .collect::<Result<Vec<usize>>>()?
            .into_iter()
            .sum::<usize>();
        write_json_atomic(&cpath, &collection)?;
    }
    report.collections = catalog["links"]
        .as_array()
        .map_or(0, |l| l.iter().filter(|l| l["rel"] == "child").count());
    write_json_atomic(&catalog_path, &catalog)?;
    Ok(report)
}

/// Joins an href onto the URL of the document it appears in
/// (`https://h/a/b/item.json` + `../c.json` -> `https://h/a/c.json`).
pub fn join_url(doc_url: &str, href: &str) -> String {
    if crate::json::is_url(href) {
        return href.to_string();
    }
    let (origin, path) = match doc_url.find("://") {
        Some(i) => {
            let rest = &doc_url[i + 3..];
            let slash = rest.find('/').map_or(doc_url.len(), |j| i + 3 + j);
            (&doc_url[..slash], &doc_url[slash..])
        }
        None => ("", doc_url),
    };
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop(); // the document's own name
    if href.starts_with('/') {
        segs.clear();
    }
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if segs.len() > 1 {
                    segs.pop();
                }
            }
            p => segs.push(p),
        }
    }
    let joined = segs.join("/");
    if joined.starts_with('/') {
        format!("{origin}{joined}")
    } else {
        format!("{origin}/{joined}")
    }
}

/// Rewrites one STAC document for the published layout: every relative
/// link and asset href becomes absolute against `doc_url` (the URL the
/// document will have), and a `self` link with `doc_url` is set.
pub fn to_published(doc: &mut Value, doc_url: &str) {
    let self_type = if doc["type"] == "Feature" {
        "application/geo+json"
    } else {
        "application/json"
    };
    // `get_mut`, not indexing: indexing a missing key would insert null.
    if let Some(links) = doc.get_mut("links").and_then(Value::as_array_mut) {
        links.retain(|l| l["rel"] != "self");
        for l in links.iter_mut() {
            if let Some(h) = l["href"].as_str() {
                l["href"] = json!(join_url(doc_url, h));
            }
        }
        links.insert(
            0,
            json!({"rel": "self", "href": doc_url, "type": self_type}),
        );
    }
    if let Some(assets) = doc.get_mut("assets").and_then(Value::as_object_mut) {
        for a in assets.values_mut() {
            if let Some(h) = a.get("href").and_then(Value::as_str) {
                a["href"] = json!(join_url(doc_url, h));
            }
        }
    }
}

/// The STAC files of a tree, from its root (`catalog.json`, else
/// `collection.json`) along child and item links; each with its path
/// relative to `tree_root` (with `/`).
pub fn tree_files(tree_root: &Path) -> Result<Vec<(PathBuf, String)>> {
    let root = absolute(tree_root);
    let start = ["catalog.json", "collection.json"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no catalog.json or collection.json at the top; build one with arco stac catalog",
                root.display()
            ))
        })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(p) = stack.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let v = read_json(&p)?;
        let rel = p
            .strip_prefix(&root)
            .map_err(|_| {
                Error::Invalid(format!(
                    "{}: linked from the tree but outside {}; keep the tree self-contained",
                    p.display(),
                    root.display()
                ))
            })?
            .to_string_lossy()
            .replace('\\', "/");
        for l in v["links"].as_array().into_iter().flatten() {
            if l["rel"] == "child" || l["rel"] == "item" {
                if let Some(t) = l["href"].as_str().and_then(|h| resolve_local(&p, h)) {
                    stack.push(t);
                }
            }
        }
        out.push((p, rel));
    }
    out.sort();
    Ok(out)
}

/// Rewrites a self-contained tree on disk, in place, to the published
/// layout under `base_url` (for example `https://data.example.org/ndvi`):
/// the file at `tree_root/a/b.json` gets `self` = `base_url/a/b.json`, and
/// every relative href becomes absolute. Returns the files rewritten.
pub fn publish_layout(tree_root: &Path, base_url: &str) -> Result<Vec<PathBuf>> {
    if !crate::json::is_url(base_url) {
        return Err(Error::Invalid(format!(
            "base URL '{base_url}' is not absolute (for example https://data.example.org/stac)"
        )));
    }
    let base = base_url.trim_end_matches('/');
    let files = tree_files(tree_root)?;
    let mut out = Vec::with_capacity(files.len());
    for (path, rel) in files {
        let mut v = read_json(&path)?;
        to_published(&mut v, &format!("{base}/{rel}"));
        write_json_atomic(&path, &v)?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_like_a_browser() {
        assert_eq!(
            join_url("https://h.org/a/b/item.json", "../collection.json"),
            "https://h.org/a/collection.json"
        );
        assert_eq!(
            join_url("https://h.org/a/catalog.json", "./p/collection.json"),
            "https://h.org/a/p/collection.json"
        );
        assert_eq!(
            join_url("https://h.org/cat.json", "https://x.org/y"),
            "https://x.org/y"
        );
        assert_eq!(
            join_url("s3://bucket/a/b.json", "c.tif"),
            "s3://bucket/a/c.tif"
        );
    }

    #[test]
    fn published_documents_have_absolute_hrefs_and_self() {
        let mut item = json!({
            "type": "Feature",
            "links": [{"rel": "root", "href": "../catalog.json"}, {"rel": "self", "href": "x"}],
            "assets": {"data": {"href": "./a.tif"}},
        });
        to_published(&mut item, "https://h.org/stac/p/a.json");
        assert_eq!(item["links"][0]["rel"], "self");
        assert_eq!(item["links"][0]["href"], "https://h.org/stac/p/a.json");
        assert_eq!(item["links"][1]["href"], "https://h.org/stac/catalog.json");
        assert_eq!(item["links"].as_array().unwrap().len(), 2);
        assert_eq!(item["assets"]["data"]["href"], "https://h.org/stac/p/a.tif");
        // A collection without assets does not gain an "assets": null.
        let mut c = json!({"type": "Collection", "links": []});
        to_published(&mut c, "https://h.org/stac/p/collection.json");
        assert!(c.get("assets").is_none());
    }
}
