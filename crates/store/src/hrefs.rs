//! Rewrites the hrefs of a STAC document for its published place: every
//! relative href (and every local path inside the product directory)
//! becomes the absolute URL of the published object, `self` links point at
//! the published document. Assets' `file:checksum` / `file:size` are
//! compared with the bytes about to be published, never overwritten: a file
//! that changed after its Item was written must not be published as valid.
//!
//! This works on `serde_json::Value` so that any STAC version or extension
//! passes through untouched apart from hrefs and `file:` fields.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// What a rewrite needs to know.
pub(crate) struct Rewrite<'a> {
    /// The product directory (absolute), for hrefs written as local paths.
    pub product_dir: &'a Path,
    /// Published URL of a key.
    pub url_of: &'a dyn Fn(&str) -> String,
    /// Size and checksum of the data files, by key.
    pub files: &'a HashMap<String, (u64, String)>,
}

/// The key an href names, relative to the JSON document at `doc_key`;
/// `None` for URLs elsewhere and paths outside the product directory.
pub(crate) fn key_of_href(href: &str, doc_key: &str, product_dir: &Path) -> Option<String> {
    let path_part = href.split(['?', '#']).next().unwrap_or(href);
    if let Some(local) = path_part.strip_prefix("file://") {
        return key_of_local_path(Path::new(&percent_decode(local)), product_dir);
    }
    if path_part.contains("://") || path_part.is_empty() {
        return None;
    }
    if path_part.starts_with('/') {
        return key_of_local_path(Path::new(path_part), product_dir);
    }
    let base = doc_key.rsplit_once('/').map_or("", |(d, _)| d);
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in path_part.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn key_of_local_path(path: &Path, product_dir: &Path) -> Option<String> {
    let rel = path.strip_prefix(product_dir).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty() && parts.iter().all(|p| p != ".." && p != ".")).then(|| parts.join("/"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Rewrite<'_> {
    fn href(&self, href: &str, doc_key: &str) -> Option<(String, String)> {
        let key = key_of_href(href, doc_key, self.product_dir)?;
        Some(((self.url_of)(&key), key))
    }

    /// Rewrites `doc` (published as `doc_key`) in place; returns the assets
    /// whose declared `file:size` or `file:checksum` differ from their file.
    pub(crate) fn apply(&self, doc: &mut Value, doc_key: &str) -> Vec<String> {
        let mut mismatches = Vec::new();
        let self_url = (self.url_of)(doc_key);
        if let Some(links) = doc.get_mut("links").and_then(Value::as_array_mut) {
            let mut has_self = false;
            for link in links.iter_mut() {
                if link.get("rel").and_then(Value::as_str) == Some("self") {
                    link["href"] = Value::String(self_url.clone());
                    has_self = true;
                } else if let Some(href) = link.get("href").and_then(Value::as_str) {
                    if let Some((url, _)) = self.href(href, doc_key) {
                        link["href"] = Value::String(url);
                    }
                }
            }
            if !has_self {
                let media = if doc.get("type").and_then(Value::as_str) == Some("Feature") {
                    "application/geo+json"
                } else {
                    "application/json"
                };
                if let Some(links) = doc.get_mut("links").and_then(Value::as_array_mut) {
                    links.push(serde_json::json!({
                        "rel": "self", "href": self_url, "type": media
                    }));
                }
            }
        }
        if let Some(assets) = doc.get_mut("assets").and_then(Value::as_object_mut) {
            for asset in assets.values_mut() {
                let Some(href) = asset.get("href").and_then(Value::as_str) else {
                    continue;
                };
                let Some((url, key)) = self.href(href, doc_key) else {
                    continue;
                };
                asset["href"] = Value::String(url);
                if let Some((size, checksum)) = self.files.get(&key) {
                    if let Some(declared) = asset.get("file:checksum").and_then(Value::as_str) {
                        if !declared.eq_ignore_ascii_case(checksum) {
                            mismatches.push(format!(
                                "{key}: {doc_key} says file:checksum {declared}, the file's is {checksum}"
                            ));
                        }
                    }
                    if let Some(declared) = asset.get("file:size").and_then(Value::as_u64) {
                        if declared != *size {
                            mismatches.push(format!(
                                "{key}: {doc_key} says file:size {declared}, the file has {size} bytes"
                            ));
                        }
                    }
                }
            }
        }
        mismatches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_relative_absolute_and_foreign_hrefs() {
        let dir = Path::new("/data/product");
        assert_eq!(
            key_of_href("./a.tif", "items/x.json", dir).unwrap(),
            "items/a.tif"
        );
        assert_eq!(
            key_of_href("../collection.json", "items/x.json", dir).unwrap(),
            "collection.json"
        );
        assert_eq!(key_of_href("a.zarr/", "x.json", dir).unwrap(), "a.zarr");
        assert_eq!(
            key_of_href("/data/product/sub/b.tif", "x.json", dir).unwrap(),
            "sub/b.tif"
        );
        assert_eq!(
            key_of_href("file:///data/product/c%20d.tif", "x.json", dir).unwrap(),
            "c d.tif"
        );
        assert!(key_of_href("https://example.com/a.tif", "x.json", dir).is_none());
        assert!(key_of_href("/elsewhere/a.tif", "x.json", dir).is_none());
        assert!(key_of_href("../../up.tif", "items/x.json", dir).is_none());
    }

    #[test]
    fn rewrites_links_and_assets_and_reports_file_fields_that_disagree() {
        let mut files = HashMap::new();
        files.insert("a.tif".to_string(), (42u64, "1220ab".to_string()));
        let url_of = |k: &str| format!("http://host/bucket/p/{k}");
        let rw = Rewrite {
            product_dir: Path::new("/data/product"),
            url_of: &url_of,
            files: &files,
        };
        let mut item = json!({
            "type": "Feature",
            "links": [
                {"rel": "collection", "href": "./collection.json"},
                {"rel": "license", "href": "https://example.com/lic"}
            ],
            "assets": {
                "data": {"href": "./a.tif", "file:checksum": "1220ab", "file:size": 42},
                "thumb": {"href": "https://example.com/t.png"}
            }
        });
        let before = item.clone();
        assert_eq!(rw.apply(&mut item, "a.json"), Vec::<String>::new());
        assert_eq!(
            item["links"][0]["href"],
            "http://host/bucket/p/collection.json"
        );
        assert_eq!(item["links"][1]["href"], "https://example.com/lic");
        assert_eq!(item["links"][2]["rel"], "self");
        assert_eq!(item["links"][2]["href"], "http://host/bucket/p/a.json");
        assert_eq!(item["assets"]["data"]["href"], "http://host/bucket/p/a.tif");
        assert_eq!(item["assets"]["data"]["file:checksum"], "1220ab");
        assert_eq!(item["assets"]["data"]["file:size"], 42);
        assert_eq!(item["assets"]["thumb"]["href"], "https://example.com/t.png");

        // A file that changed after its Item was written is reported, and
        // the Item keeps what it said.
        let mut stale = before;
        stale["assets"]["data"]["file:checksum"] = json!("1220old");
        stale["assets"]["data"]["file:size"] = json!(1);
        let found = rw.apply(&mut stale, "a.json");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("file:checksum 1220old") && found[0].contains("1220ab"));
        assert!(found[1].contains("file:size 1") && found[1].contains("42 bytes"));
        assert_eq!(stale["assets"]["data"]["file:checksum"], "1220old");
    }
}
