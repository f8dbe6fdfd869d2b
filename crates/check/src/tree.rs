//! Loading what to check: a root catalog, a collection or a product
//! directory, with the Items they link to.
//!
//! Hrefs may be relative (the self-contained layout) or absolute URLs (the
//! published layout): an absolute URL under the base URL of the root's own
//! `self` link maps back to the local copy, so a published tree can be
//! checked where it was written.

use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One STAC object and where it was read from.
#[derive(Debug, Clone)]
pub struct Node {
    /// File it was read from.
    pub path: PathBuf,
    /// Its JSON.
    pub json: Value,
}

impl Node {
    /// The object's `id` (or its file name).
    pub fn id(&self) -> String {
        self.json["id"]
            .as_str()
            .map_or_else(|| self.path.display().to_string(), str::to_string)
    }
}

/// A collection and its Items.
#[derive(Debug, Clone)]
pub struct CollectionNode {
    /// The collection itself.
    pub node: Node,
    /// Items it links to (those that could be read).
    pub items: Vec<Node>,
    /// `item` links whose file is missing or unreadable: (href, why).
    pub broken_items: Vec<(String, String)>,
}

/// Everything to check.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// The file the tree was opened from.
    pub root: PathBuf,
    /// Catalogs (the root and any nested ones).
    pub catalogs: Vec<Node>,
    /// Collections with their Items.
    pub collections: Vec<CollectionNode>,
    /// `child` links whose file is missing or unreadable: (href, why).
    pub broken_children: Vec<(String, String)>,
    /// Base URL of the published layout (from the root's `self` link).
    pub base_url: Option<String>,
}

/// Why the tree could not be opened at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// Nothing to check at the path.
    #[error("{0}: no catalog.json or collection.json there; pass a product directory, a catalog or a collection")]
    NothingThere(PathBuf),
    /// The root file is not JSON.
    #[error("{0}: cannot read it as STAC JSON ({1}); check the path")]
    Unreadable(PathBuf, String),
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&text).map_err(|e| format!("invalid JSON: {e}"))
}

/// Resolves `href` (relative to the file `from`, or an absolute URL under
/// `base`) to a local path.
pub fn resolve(from: &Path, href: &str, root_dir: &Path, base: Option<&str>) -> Option<PathBuf> {
    if let Some(rest) = href.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if href.contains("://") {
        let base = base?;
        let rest = href.strip_prefix(base)?.trim_start_matches('/');
        return Some(root_dir.join(rest));
    }
    if Path::new(href).is_absolute() {
        return Some(PathBuf::from(href));
    }
    Some(from.parent().unwrap_or(Path::new(".")).join(href))
}

fn links<'a>(v: &'a Value, rel: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    v["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |l| l["rel"] == rel)
        .filter_map(|l| l["href"].as_str())
}

/// The directory URL of a `self` href (`https://x/a/catalog.json` -> `https://x/a/`).
fn base_of(self_href: &str) -> Option<String> {
    self_href
        .contains("://")
        .then(|| self_href.rsplit_once('/').map(|(d, _)| format!("{d}/")))
        .flatten()
}

/// Opens a directory (its `catalog.json`, else its `collection.json`) or a
/// catalog or collection file, and everything it links to.
pub fn open(target: &Path) -> Result<Tree, TreeError> {
    let root = if target.is_dir() {
        ["catalog.json", "collection.json"]
            .iter()
            .map(|n| target.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| TreeError::NothingThere(target.to_path_buf()))?
    } else if target.is_file() {
        target.to_path_buf()
    } else {
        return Err(TreeError::NothingThere(target.to_path_buf()));
    };
    let json = read(&root).map_err(|e| TreeError::Unreadable(root.clone(), e))?;
    let root_dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    let base_url = links(&json, "self").next().and_then(base_of);
    let mut tree = Tree {
        root: root.clone(),
        base_url,
        ..Tree::default()
    };
    let mut queue = vec![Node { path: root, json }];
    let mut seen = std::collections::HashSet::new();
    while let Some(node) = queue.pop() {
        let canon = node.path.canonicalize().unwrap_or(node.path.clone());
        if !seen.insert(canon) {
            continue;
        }
        for href in links(&node.json, "child") {
            match resolve(&node.path, href, &root_dir, tree.base_url.as_deref()) {
                Some(p) => match read(&p) {
                    Ok(json) => queue.push(Node { path: p, json }),
                    Err(e) => tree.broken_children.push((href.to_string(), e)),
                },
                None => tree.broken_children.push((
                    href.to_string(),
                    "an absolute URL outside the catalog's base URL".into(),
                )),
            }
        }
        if node.json["type"] == "Collection" {
            let mut c = CollectionNode {
                node: node.clone(),
                items: Vec::new(),
                broken_items: Vec::new(),
            };
            // Items are read and parsed in parallel: for a large collection
            // this is most of the metadata work.
            let hrefs: Vec<&str> = links(&node.json, "item").collect();
            let read_items: Vec<Result<Node, (String, String)>> = hrefs
                .par_iter()
                .map(
                    |href| match resolve(&node.path, href, &root_dir, tree.base_url.as_deref()) {
                        Some(p) => match read(&p) {
                            Ok(mut json) => {
                                // The footprint is most of an Item's bytes and
                                // no rule here needs it (the schema check
                                // reads the file again): keep memory small.
                                if let Some(o) = json.as_object_mut() {
                                    o.remove("geometry");
                                }
                                Ok(Node { path: p, json })
                            }
                            Err(e) => Err(((*href).to_string(), e)),
                        },
                        None => Err((
                            (*href).to_string(),
                            "an absolute URL outside the catalog's base URL".into(),
                        )),
                    },
                )
                .collect();
            for r in read_items {
                match r {
                    Ok(n) => c.items.push(n),
                    Err(e) => c.broken_items.push(e),
                }
            }
            tree.collections.push(c);
        } else {
            tree.catalogs.push(node);
        }
    }
    tree.collections
        .sort_by(|a, b| a.node.path.cmp(&b.node.path));
    Ok(tree)
}

impl Tree {
    /// Local path of an asset or link `href` found in `node`.
    pub fn resolve(&self, node: &Node, href: &str) -> Option<PathBuf> {
        let root_dir = self.root.parent().unwrap_or(Path::new("."));
        resolve(&node.path, href, root_dir, self.base_url.as_deref())
    }

    /// Every Item of every collection.
    pub fn items(&self) -> impl Iterator<Item = (&CollectionNode, &Node)> {
        self.collections
            .iter()
            .flat_map(|c| c.items.iter().map(move |i| (c, i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_published_hrefs_resolve_to_the_local_copy() {
        let from = Path::new("/data/pub/ndvi/collection.json");
        let root = Path::new("/data/pub");
        assert_eq!(
            resolve(from, "./a/item.json", root, None).unwrap(),
            Path::new("/data/pub/ndvi/./a/item.json")
        );
        assert_eq!(
            resolve(
                from,
                "https://s3.example/b/p/ndvi/x.tif",
                root,
                Some("https://s3.example/b/p/")
            )
            .unwrap(),
            Path::new("/data/pub/ndvi/x.tif")
        );
        assert_eq!(
            resolve(
                from,
                "https://elsewhere/x.tif",
                root,
                Some("https://s3.example/b/p/")
            ),
            None
        );
        assert_eq!(
            base_of("https://s3.example/b/p/catalog.json").as_deref(),
            Some("https://s3.example/b/p/")
        );
        assert_eq!(base_of("./catalog.json"), None);
    }
}
