//! A product directory: the data files, one Item JSON per product beside
//! them, and a `collection.json`. Written by `arco convert` and
//! `arco reconstruct` when `-o` is a directory; a second run into the same
//! directory adds its Items to the collection rather than replacing it.

use crate::collection::{build_collection, CollectionConfig};
use crate::item::{build_item, AssetSpec, ItemSpec, Processing};
use crate::json::{read_json, relative_href, resolve_local, write_json_atomic};
use crate::{Error, Result};
use arco_core::{Format, Record};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One output of a run, with its role in the product.
#[derive(Debug, Clone, Copy)]
pub struct ProductOutput<'a> {
    /// What the writer returned.
    pub record: &'a Record,
    /// `data`, `quality`...: outputs of one date (or one cube) become the
    /// assets of one Item, keyed by role.
    pub role: &'a str,
    /// GeoZarr variable name.
    pub variable: Option<&'a str>,
}

/// Options of a product directory's STAC.
#[derive(Debug, Clone, Default)]
pub struct ProductOptions {
    /// Collection settings; `id` defaults to the directory's name.
    pub config: CollectionConfig,
    /// Method and parameters of a reconstruction.
    pub processing: Option<Processing>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ProductStac {
    /// The collection file.
    pub collection: PathBuf,
    /// The collection id.
    pub collection_id: String,
    /// The Item files written by this call.
    pub items: Vec<PathBuf>,
}

/// The name of `path` without its extension (`a/ndvi.zarr` -> `ndvi`).
fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "item".into(), |s| s.to_string_lossy().into_owned())
}

/// Reads the Items a collection links to (skipping missing files).
pub(crate) fn linked_items(collection_path: &Path, collection: &Value) -> Vec<(PathBuf, Value)> {
    collection["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "item")
        .filter_map(|l| resolve_local(collection_path, l["href"].as_str()?))
        .filter_map(|p| read_json(&p).ok().map(|v| (p, v)))
        .collect()
}

/// The href of the link with `rel` in a STAC object.
pub(crate) fn link_href<'a>(v: &'a Value, rel: &str) -> Option<&'a str> {
    v["links"].as_array()?.iter().find(|l| l["rel"] == rel)?["href"].as_str()
}

/// Writes (or adds to) the STAC of a product directory.
pub fn write_product_dir(
    dir: &Path,
    outputs: &[ProductOutput],
    opts: &ProductOptions,
) -> Result<ProductStac> {
    let collection_path = dir.join("collection.json");
    let existing = if collection_path.exists() {
        Some(read_json(&collection_path)?)
    } else {
        None
    };
    let existing_id = existing
        .as_ref()
        .and_then(|c| c["id"].as_str().map(str::to_string));
    let dir_name = crate::json::absolute(dir)
        .file_name()
        .map_or_else(|| "collection".into(), |n| n.to_string_lossy().into_owned());
    let id = opts.config.id.clone().or(existing_id).unwrap_or(dir_name);
    // Existing fields stay unless the options override them.
    let base = existing
        .as_ref()
        .map(config_of)
        .unwrap_or_default()
        .merged(&opts.config);
    // Where the root is: a catalog that adopted this collection, or itself.
    let root_href = existing
        .as_ref()
        .and_then(|c| link_href(c, "root"))
        .unwrap_or("./collection.json")
        .to_string();
    let parent_href = existing
        .as_ref()
        .and_then(|c| link_href(c, "parent"))
        .map(str::to_string);

    // Group the outputs into Items: one per date (or per file when undated)
    // and format; the data output is the primary asset.
    let formats: std::collections::BTreeSet<&str> =
        outputs.iter().map(|o| o.record.format.label()).collect();
    let mixed = formats.len() > 1;
    let mut groups: Vec<Vec<ProductOutput>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for o in outputs {
        // One Item per date and grid (tiles of one date are separate
        // Items); an undated output is its own Item.
        let base_key = if o.record.datetimes.is_empty() {
            format!("{}|{}", o.record.format.label(), stem(&o.record.path))
        } else {
            format!(
                "{}|{}|{:?}",
                o.record.format.label(),
                o.record.datetimes.join(","),
                o.record.bbox
            )
        };
        // A second output of the same role is another product.
        let mut key = base_key.clone();
        let mut k = 1;
        while let Some(&i) = index.get(&key) {
            if groups[i].iter().all(|x| x.role != o.role) {
                break;
            }
            k += 1;
            key = format!("{base_key}#{k}");
        }
        if let Some(&i) = index.get(&key) {
            groups[i].push(*o);
        } else {
            index.insert(key, groups.len());
            groups.push(vec![*o]);
        }
    }
    // Item ids: the primary file's stem, made unique.
    let mut ids: Vec<String> = Vec::with_capacity(groups.len());
    let mut taken = std::collections::HashSet::new();
    for g in &mut groups {
        g.sort_by_key(|o| o.role != "data");
        let primary = g[0].record;
        let mut item_id = stem(&primary.path);
        if !taken.insert(item_id.clone()) {
            item_id = format!("{item_id}_{}", primary.format.label().to_ascii_lowercase());
            taken.insert(item_id.clone());
        }
        ids.push(item_id);
    }
    // Items are independent: built and written in parallel.
    let built: Vec<(String, PathBuf, Value)> = groups
        .par_iter()
        .zip(ids.par_iter())
        .map(|(g, item_id)| {
            let assets: Vec<AssetSpec> = g.iter().map(|o| asset_spec(dir, o, mixed)).collect();
            let mut item = build_item(&ItemSpec {
                id: item_id.clone(),
                collection: Some(id.clone()),
                assets,
                processing: opts.processing.as_ref(),
                datetime: None,
            })?;
            item["links"] = json!([
                {"rel": "root", "href": root_href, "type": "application/json"},
                {"rel": "parent", "href": "./collection.json", "type": "application/json"},
                {"rel": "collection", "href": "./collection.json", "type": "application/json"},
            ]);
            let path = dir.join(format!("{item_id}.json"));
            write_json_atomic(&path, &item)?;
            Ok((item_id.clone(), path, item))
        })
        .collect::<Result<_>>()?;
    let new_ids: std::collections::HashSet<&str> = built.iter().map(|b| b.0.as_str()).collect();

    // Items already in the collection and not replaced by this run.
    let mut all: Vec<(PathBuf, Value)> = Vec::new();
    if let Some(c) = &existing {
        for (p, v) in linked_items(&collection_path, c) {
            let same = v["id"].as_str().is_some_and(|i| new_ids.contains(i));
            if !same {
                all.push((p, v));
            }
        }
    }
    let mut written = Vec::with_capacity(built.len());
    for (_, path, item) in built {
        written.push(path.clone());
        all.push((path, item));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let values: Vec<Value> = all.iter().map(|(_, v)| v.clone()).collect();
    let mut collection = build_collection(&id, &base, &values)?;
    let mut links = vec![json!({"rel": "root", "href": root_href, "type": "application/json"})];
    if let Some(p) = parent_href {
        links.push(json!({"rel": "parent", "href": p, "type": "application/json"}));
    }
    for (p, v) in &all {
        links.push(json!({
            "rel": "item",
            "href": relative_href(dir, p),
            "type": "application/geo+json",
            "title": v["id"],
        }));
    }
    if let Some(Value::Array(extra)) = collection.get("links") {
        links.extend(extra.iter().cloned());
    }
    collection["links"] = Value::Array(links);
    write_json_atomic(&collection_path, &collection)?;
    Ok(ProductStac {
        collection: collection_path,
        collection_id: id,
        items: written,
    })
}

fn asset_spec<'a>(dir: &Path, o: &ProductOutput<'a>, mixed: bool) -> AssetSpec<'a> {
    let key = if mixed && o.record.format != Format::Cog {
        format!(
            "{}_{}",
            o.role,
            o.record.format.label().to_ascii_lowercase()
        )
    } else {
        o.role.to_string()
    };
    AssetSpec {
        key,
        record: o.record,
        href: relative_href(dir, &o.record.path),
        roles: vec![o.role.to_string()],
        title: Some(format!(
            "{} ({})",
            o.record
                .path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            o.record.format.label()
        )),
        variable: o.variable.map(str::to_string),
    }
}

/// The user-given fields of an existing collection, to keep them when
/// Items are added.
fn config_of(c: &Value) -> CollectionConfig {
    let s = |k: &str| c[k].as_str().map(str::to_string);
    let generated = c["description"]
        .as_str()
        .is_some_and(|d| d.contains("written by arco"));
    CollectionConfig {
        id: s("id"),
        title: s("title"),
        description: if generated { None } else { s("description") },
        license: s("license"),
        license_url: link_href(c, "license").map(str::to_string),
        providers: c["providers"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|v| serde_json::from_value(v.clone()).ok())
                    .collect()
            })
            .unwrap_or_default(),
        keywords: c["keywords"]
            .as_array()
            .map(|k| {
                k.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Checks that `dir` holds a product's collection.
pub(crate) fn collection_file(dir: &Path) -> Result<PathBuf> {
    let p = if dir.is_file() {
        dir.to_path_buf()
    } else {
        dir.join("collection.json")
    };
    if !p.is_file() {
        return Err(Error::Invalid(format!(
            "{}: no collection.json; write a product directory with arco convert or arco reconstruct and -o DIR",
            dir.display()
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::footprint::tests::record;

    #[test]
    fn dated_outputs_become_items_with_their_quality_and_a_collection() {
        let dir = tempfile::tempdir().unwrap();
        let mut recs = Vec::new();
        for d in ["2020-01-01", "2020-01-17"] {
            for role in ["data", "quality"] {
                let mut r = record(
                    "EPSG:32633",
                    [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
                );
                r.path = dir.path().join(if role == "data" {
                    format!("ndvi_{d}.tif")
                } else {
                    format!("ndvi_quality_{d}.tif")
                });
                r.datetimes = vec![format!("{d}T00:00:00Z")];
                recs.push((r, role));
            }
        }
        let outs: Vec<ProductOutput> = recs
            .iter()
            .map(|(r, role)| ProductOutput {
                record: r,
                role,
                variable: None,
            })
            .collect();
        let s = write_product_dir(dir.path(), &outs, &ProductOptions::default()).unwrap();
        assert_eq!(s.items.len(), 2);
        let item = read_json(&dir.path().join("ndvi_2020-01-17.json")).unwrap();
        assert_eq!(item["assets"]["data"]["href"], "./ndvi_2020-01-17.tif");
        assert_eq!(
            item["assets"]["quality"]["href"],
            "./ndvi_quality_2020-01-17.tif"
        );
        assert_eq!(item["assets"]["quality"]["roles"], json!(["quality"]));
        let c = read_json(&s.collection).unwrap();
        let dir_name = dir.path().file_name().unwrap().to_string_lossy();
        assert_eq!(c["id"], dir_name.as_ref());
        assert_eq!(item["collection"], c["id"]);
        assert_eq!(
            c["extent"]["temporal"]["interval"][0],
            json!(["2020-01-01T00:00:00Z", "2020-01-17T00:00:00Z"])
        );
        assert_eq!(c["license"], "other");
        let items = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == "item")
            .count();
        assert_eq!(items, 2);

        // A second run adds to the collection and keeps its settings.
        let mut r = record(
            "EPSG:32633",
            [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
        );
        r.path = dir.path().join("ndvi_2020-02-02.tif");
        r.datetimes = vec!["2020-02-02T00:00:00Z".into()];
        let opts = ProductOptions {
            config: CollectionConfig {
                license: Some("CC-BY-4.0".into()),
                ..Default::default()
            },
            processing: None,
        };
        write_product_dir(
            dir.path(),
            &[ProductOutput {
                record: &r,
                role: "data",
                variable: None,
            }],
            &opts,
        )
        .unwrap();
        let c = read_json(&s.collection).unwrap();
        assert_eq!(c["license"], "CC-BY-4.0");
        assert_eq!(
            c["links"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["rel"] == "item")
                .count(),
            3
        );
        assert_eq!(
            c["extent"]["temporal"]["interval"][0][1],
            "2020-02-02T00:00:00Z"
        );
    }

    #[test]
    fn tiles_of_one_date_are_separate_items() {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Record> = [0.0, 100_000.0]
            .iter()
            .enumerate()
            .map(|(i, dx)| {
                let mut r = record(
                    "EPSG:32633",
                    [400_000.0 + dx, 4_900_000.0, 500_000.0 + dx, 5_000_000.0],
                );
                r.path = dir.path().join(format!("tile{i}_2020-01-01.tif"));
                r
            })
            .collect();
        let outs: Vec<ProductOutput> = recs
            .iter()
            .map(|r| ProductOutput {
                record: r,
                role: "data",
                variable: None,
            })
            .collect();
        let s = write_product_dir(dir.path(), &outs, &ProductOptions::default()).unwrap();
        assert_eq!(s.items.len(), 2);
    }
}
