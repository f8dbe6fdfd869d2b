//! End-to-end tests of STAC: product directories written by `arco convert`
//! and `arco reconstruct`, `arco stac catalog` (self-contained and
//! published), `arco stac validate` (offline, official schemas; the
//! official examples; broken Items), pystac `validate_all` and
//! stac-validator on the same tree, the stac-geoparquet index and
//! `arco search`, and `arco stac register`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{arco, assert_ok, py, shared_data, sorted_files, stderr};

fn reference(sub: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference")
        .join(sub);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

fn schemas() -> String {
    reference("stac-schemas").to_string_lossy().into_owned()
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Converts the MODIS series to dated COGs and the CBERS B13 series to a
/// GeoZarr cube, each into a product directory under `root`.
fn convert_products(root: &Path) -> (PathBuf, PathBuf) {
    let modis = root.join("modis");
    let mut args = vec!["convert"];
    let inputs = sorted_files(&shared_data("modis-ndvi"), ".jp2");
    args.extend(inputs.iter().map(String::as_str));
    args.extend([
        "--to",
        "cog",
        "-o",
        s(&modis),
        "--time-from",
        r"(\d{4}-\d{2}-\d{2})",
    ]);
    args.extend(["--collection", "modis-ndvi", "--license", "CC0-1.0"]);
    assert_ok(&arco(&args), "convert modis to a product directory");
    let cbers = root.join("cbers");
    let inputs = sorted_files(&shared_data("cbers-awfi"), "_B13_");
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["--to", "geozarr", "-o", s(&cbers), "--json"]);
    let o = arco(&args);
    assert_ok(&o, "convert cbers to a GeoZarr product directory");
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["stac"]["collection_id"], "cbers");
    assert_eq!(summary["stac"]["items"].as_array().unwrap().len(), 1);
    (modis, cbers)
}

fn validate(path: &Path) -> Output {
    arco(&[
        "stac",
        "validate",
        s(path),
        "--schemas",
        &schemas(),
        "--json",
    ])
}

#[test]
fn product_directories_catalog_and_index_pass_arco_pystac_and_stac_validator() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stac");
    let (modis, cbers) = convert_products(&root);

    // A reconstructed product: data and quality COGs per date, and cubes.
    let filled = root.join("filled");
    let data = shared_data("cbers-awfi");
    let mut args = vec!["reconstruct"];
    let b13 = sorted_files(&data, "_B13_");
    let qa = sorted_files(&data, "_CMASK_");
    args.extend(b13.iter().map(String::as_str));
    args.push("--qa");
    args.extend(qa.iter().map(String::as_str));
    args.extend([
        "--mask",
        "cmask",
        "--sg",
        "5,2",
        "--to",
        "cog,geozarr",
        "-o",
        s(&filled),
    ]);
    assert_ok(&arco(&args), "reconstruct into a product directory");

    // Items of the COG product: one per date, footprint in WGS84 around
    // the MODIS tile in Mato Grosso, sinusoidal CRS as WKT2 (no EPSG code).
    let item = read(&modis.join("TERRA_MODIS_012010_NDVI_2013-09-14.json"));
    assert_eq!(item["collection"], "modis-ndvi");
    assert_eq!(item["properties"]["datetime"], "2013-09-14T00:00:00Z");
    let bbox: Vec<f64> = item["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        bbox[0] > -56.0 && bbox[2] < -55.0 && bbox[1] > -12.0 && bbox[3] < -11.0,
        "{bbox:?}"
    );
    assert!(item["properties"]["proj:code"].is_null());
    assert!(item["properties"]["proj:wkt2"]
        .as_str()
        .unwrap()
        .contains("Sinusoidal"));
    assert_eq!(
        item["properties"]["proj:shape"],
        serde_json::json!([147, 255])
    );
    let asset = &item["assets"]["data"];
    let tif = modis.join("TERRA_MODIS_012010_NDVI_2013-09-14.tif");
    assert_eq!(asset["href"], "./TERRA_MODIS_012010_NDVI_2013-09-14.tif");
    assert_eq!(
        asset["file:size"].as_u64().unwrap(),
        std::fs::metadata(&tif).unwrap().len()
    );
    assert_eq!(asset["bands"][0]["data_type"], "int16");
    let stats = &asset["bands"][0]["statistics"];
    assert!(stats["minimum"].as_f64().unwrap() <= stats["mean"].as_f64().unwrap());
    assert!(stats["valid_percent"].as_f64().unwrap() > 0.0);
    let coll = read(&modis.join("collection.json"));
    assert_eq!(coll["license"], "CC0-1.0");
    assert_eq!(
        coll["extent"]["temporal"]["interval"][0],
        serde_json::json!(["2013-09-14T00:00:00Z", "2014-08-29T00:00:00Z"])
    );
    assert_eq!(
        coll["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == "item")
            .count(),
        12
    );

    // The cube: a time range and the datacube extension.
    let cube = read(&cbers.join("CBERS-4_AWFI_022024_B13.json"));
    assert!(cube["properties"]["datetime"].is_null());
    assert_eq!(cube["properties"]["start_datetime"], "2018-02-02T00:00:00Z");
    assert_eq!(cube["properties"]["end_datetime"], "2018-08-29T00:00:00Z");
    assert_eq!(
        cube["properties"]["cube:dimensions"]["time"]["values"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    assert_eq!(
        cube["properties"]["cube:variables"]["data"]["dimensions"],
        serde_json::json!(["time", "y", "x"])
    );
    assert_eq!(cube["assets"]["data"]["type"], "application/vnd+zarr");

    // The reconstructed product: quality as a second asset, the method.
    let rec = read(&filled.join("CBERS-4_AWFI_022024_B13_2018-02-18.json"));
    assert_eq!(
        rec["assets"]["quality"]["roles"],
        serde_json::json!(["quality"])
    );
    assert_eq!(
        rec["assets"]["quality"]["href"],
        "./CBERS-4_AWFI_022024_B13_quality_2018-02-18.tif"
    );
    let method = &rec["properties"]["processing:expression"]["expression"];
    assert_eq!(method["method"], "swag");
    assert_eq!(
        method["savitzky_golay"],
        serde_json::json!({"window": 5, "order": 2})
    );
    assert_eq!(method["swag"]["season"], 23);
    assert!(rec["properties"]["processing:lineage"]
        .as_str()
        .unwrap()
        .contains("Savitzky-Golay"));
    assert!(rec["properties"]["processing:software"]["arco"].is_string());
    let rcube = read(&filled.join("CBERS-4_AWFI_022024_B13.json"));
    assert_eq!(
        rcube["assets"]["quality_geozarr"]["cube:variables"]["quality"]["dimensions"],
        serde_json::json!(["time", "y", "x"])
    );

    // Root catalog with the index.
    let o = arco(&[
        "stac",
        "catalog",
        s(&modis),
        s(&cbers),
        s(&filled),
        "--title",
        "arco test",
        "--index",
        "--json",
    ]);
    assert_ok(&o, "stac catalog");
    let sum: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["collections"], 3);
    assert_eq!(sum["index"]["items"], 12 + 1 + 15);
    let cat = read(&root.join("catalog.json"));
    assert_eq!(cat["title"], "arco test");
    assert_eq!(
        cat["links"][0],
        serde_json::json!({"rel": "root", "href": "./catalog.json", "type": "application/json"})
    );
    let item = read(&modis.join("TERRA_MODIS_012010_NDVI_2013-09-14.json"));
    let root_link = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "root")
        .unwrap();
    assert_eq!(root_link["href"], "../catalog.json");

    // arco validates the whole tree from its root.
    let o = validate(&root.join("catalog.json"));
    assert_ok(&o, "arco stac validate");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["valid"], true);
    assert_eq!(r["files"], 1 + 3 + 28);
    assert_eq!(r["items"], 28);
    assert_eq!(r["warnings"], 0, "{r}");

    // pystac validate_all (offline, local schemas), assets checked against
    // the files, stac-validator recursively, and the index read by pyarrow.
    let o = py(
        "check_stac.py",
        &[
            s(&root.join("catalog.json")),
            "--schemas",
            &schemas(),
            "--expect-items",
            "28",
            "--index",
            s(&root.join("items.parquet")),
        ],
    );
    assert_ok(&o, "check_stac.py");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["index_rows"], 28);
    assert_eq!(r["stac_validator_objects"], 32);

    // Search the index.
    let search = |extra: &[&str]| -> Vec<String> {
        let mut a = vec!["search", s(&root)];
        a.extend(extra);
        let o = arco(&a);
        assert_ok(&o, "arco search");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        search(&["--bbox", "-56,-12,-55,-11"]).len(),
        12,
        "MODIS only"
    );
    assert_eq!(
        search(&["--bbox", "-47,-14,-46,-13"]).len(),
        16,
        "CBERS only"
    );
    assert_eq!(
        search(&["--datetime", "2014-01-01/2014-02-28"]),
        vec![
            "TERRA_MODIS_012010_NDVI_2014-01-17",
            "TERRA_MODIS_012010_NDVI_2014-02-18"
        ]
    );
    let cubes = search(&["--collection", "cbers"]);
    assert_eq!(cubes, vec!["CBERS-4_AWFI_022024_B13"]);
    // The cube spans its dates: a date inside finds it.
    assert!(
        search(&["--collection", "cbers", "--datetime", "2018-05-01"])
            .contains(&"CBERS-4_AWFI_022024_B13".to_string())
    );
    assert!(search(&["--bbox", "0,0,1,1"]).is_empty());
    let o = arco(&[
        "search",
        s(&root.join("items.parquet")),
        "--collection",
        "filled",
        "--limit",
        "2",
        "--json",
    ]);
    assert_ok(&o, "arco search --json");
    let fc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(fc["features"].as_array().unwrap().len(), 2);
    // Index rows hold hrefs relative to the index.
    let first = fc["features"][0]["assets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let href = first["href"].as_str().unwrap();
    assert!(
        href.starts_with("./filled/") && root.join(href).exists(),
        "{href}"
    );
    let o = arco(&[
        "search",
        s(&root),
        "--format",
        "table",
        "--collection",
        "modis-ndvi",
        "--limit",
        "1",
    ]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.starts_with("collection") && table.contains("TERRA_MODIS_012010_NDVI_2013-09-14"),
        "{table}"
    );
    let o = arco(&["search", s(&root), "--bbox", "1,2,3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--bbox takes four numbers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_index_is_updated_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stac");
    let (modis, cbers) = convert_products(&root);
    let o = arco(&[
        "stac",
        "catalog",
        s(&modis),
        "-o",
        s(&root),
        "--index",
        "--id",
        "mine",
        "--title",
        "Mine",
    ]);
    assert_ok(&o, "first catalog");
    let mut cat = read(&root.join("catalog.json"));
    // Something the user added by hand survives the update.
    cat["links"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"rel": "license", "href": "https://example.org/l"}));
    std::fs::write(root.join("catalog.json"), serde_json::to_vec(&cat).unwrap()).unwrap();
    let o = arco(&[
        "stac",
        "catalog",
        s(&cbers),
        "-o",
        s(&root),
        "--index",
        "--json",
    ]);
    assert_ok(&o, "second catalog");
    let sum: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["index"]["items"], 13);
    assert_eq!(sum["index"]["added"], 1);
    let cat = read(&root.join("catalog.json"));
    assert_eq!(cat["id"], "mine");
    assert_eq!(cat["title"], "Mine");
    let rels: Vec<&str> = cat["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels.iter().filter(|r| **r == "child").count(), 2);
    assert!(rels.contains(&"license"));
    // Adding the same product again replaces its rows.
    let o = arco(&[
        "stac",
        "catalog",
        s(&cbers),
        "-o",
        s(&root),
        "--index",
        "--json",
    ]);
    let sum: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["index"]["items"], 13);
    assert_eq!(sum["collections"], 2);
    assert_ok(
        &validate(&root.join("catalog.json")),
        "validate after updates",
    );
    // A product directory outside the catalog directory is refused.
    let elsewhere = dir.path().join("elsewhere");
    let o = arco(&["stac", "catalog", s(&modis), "-o", s(&elsewhere)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not inside the catalog directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn published_layout_has_absolute_hrefs_and_self_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stac");
    let (modis, _) = convert_products(&root);
    let o = arco(&[
        "stac",
        "catalog",
        s(&modis),
        "-o",
        s(&root),
        "--base-url",
        "https://data.example.org/eo/",
    ]);
    assert_ok(&o, "published layout");
    let cat = read(&root.join("catalog.json"));
    assert_eq!(
        cat["links"][0],
        serde_json::json!({"rel": "self", "href": "https://data.example.org/eo/catalog.json", "type": "application/json"})
    );
    let item = read(&modis.join("TERRA_MODIS_012010_NDVI_2013-09-14.json"));
    for l in item["links"].as_array().unwrap() {
        assert!(
            l["href"]
                .as_str()
                .unwrap()
                .starts_with("https://data.example.org/eo/"),
            "{l}"
        );
    }
    assert_eq!(
        item["assets"]["data"]["href"],
        "https://data.example.org/eo/modis/TERRA_MODIS_012010_NDVI_2013-09-14.tif"
    );
    let self_link = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap();
    assert_eq!(
        self_link["href"],
        "https://data.example.org/eo/modis/TERRA_MODIS_012010_NDVI_2013-09-14.json"
    );
    // Every file still validates (self hrefs are absolute IRIs now).
    let o = validate(&root);
    assert_ok(&o, "validate the published tree");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    // 1 catalog, 2 collections, 13 items (the cbers product is not in the
    // catalog but lies under the directory).
    assert_eq!(r["files"], 16);
}

#[test]
fn official_examples_validate_offline() {
    let o = validate(&reference("stac-examples"));
    assert_ok(&o, "validate the official examples");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["files"], 6);
    assert_eq!(r["errors"], 0, "{r}");
    // The examples' catalog links children that were not copied: warnings,
    // which --strict turns into a failure.
    assert!(r["warnings"].as_u64().unwrap() > 0);
    let o = arco(&[
        "stac",
        "validate",
        s(&reference("stac-examples")),
        "--schemas",
        &schemas(),
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn broken_items_are_reported_with_file_path_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    let (modis, _) = convert_products(&root);
    let good = read(&modis.join("TERRA_MODIS_012010_NDVI_2013-09-14.json"));
    // Beside the collection, so that their links resolve.
    let write = |name: &str, v: &Value| -> PathBuf {
        let p = modis.join(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    };
    let mut no_code = good.clone();
    let props = no_code["properties"].as_object_mut().unwrap();
    props.remove("proj:code");
    props.remove("proj:wkt2");
    props.remove("proj:projjson");
    let mut rel_self = good.clone();
    rel_self["links"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"rel": "self", "href": "./item.json"}));
    let mut checksum = good.clone();
    checksum["assets"]["data"]["file:checksum"] = serde_json::json!("sha256:8f99");
    let mut short = good.clone();
    let c = short["assets"]["data"]["file:checksum"]
        .as_str()
        .unwrap()
        .to_string();
    short["assets"]["data"]["file:checksum"] = serde_json::json!(&c[..c.len() - 2]);
    let cases = [
        (
            write("no_code.json", &no_code),
            "/properties",
            "arco:projection-crs",
            "proj:code",
        ),
        (
            write("rel_self.json", &rel_self),
            "/links/3/href",
            "item v1.1.0",
            "iri",
        ),
        (
            write("checksum.json", &checksum),
            "/assets/data/file:checksum",
            "file/v2.1.0",
            "^[a-f0-9]+$",
        ),
        (
            write("short.json", &short),
            "/assets/data/file:checksum",
            "arco:multihash",
            "32 digest bytes but 31",
        ),
    ];
    for (path, ptr, rule, words) in &cases {
        let o = validate(path);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stdout)
        );
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        let issues = r["issues"].as_array().unwrap();
        assert_eq!(issues.len(), 1, "{}: {issues:#?}", path.display());
        let i = &issues[0];
        assert_eq!(i["file"], s(path));
        assert_eq!(i["path"], *ptr);
        assert!(i["rule"].as_str().unwrap().starts_with(rule), "{i}");
        assert!(i["message"].as_str().unwrap().contains(words), "{i}");
    }
    // The human form: one line per problem naming file, path and rule.
    let o = arco(&["stac", "validate", s(&cases[0].0), "--schemas", &schemas()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("no_code.json: /properties:") && out.contains("[arco:projection-crs]"),
        "{out}"
    );
    // Not JSON at all, and a schema directory without its map.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ nope").unwrap();
    let o = validate(&bad);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not valid JSON"));
    let o = arco(&["stac", "validate", s(&bad), "--schemas", s(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no schema-map.json"), "{}", stderr(&o));
}

#[test]
#[allow(clippy::print_stderr)] // says why it skipped
fn without_schemas_or_network_validation_says_what_to_pass() {
    // `unshare -n` gives the command a network namespace with no network.
    if !Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: unshare -n is not permitted here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("unshare")
        .args(["-n", env!("CARGO_BIN_EXE_arco"), "stac", "validate"])
        .arg(reference("stac-examples").join("simple-item.json"))
        .env_remove("ARCO_STAC_SCHEMAS")
        .env("XDG_CACHE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--schemas DIR") && e.contains("ARCO_STAC_SCHEMAS") && e.contains("no network"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // With the variable set, it validates.
    let o = Command::new(env!("CARGO_BIN_EXE_arco"))
        .args(["stac", "validate"])
        .arg(reference("stac-examples").join("simple-item.json"))
        .env("ARCO_STAC_SCHEMAS", schemas())
        .output()
        .unwrap();
    assert_ok(&o, "validate with ARCO_STAC_SCHEMAS");
}

#[test]
fn register_prints_a_checked_payload() {
    let summary = "Gap-filled MODIS NDVI 16-day composites over Mato Grosso, as COGs.";
    let o = arco(&[
        "stac",
        "register",
        "https://data.example.org/eo/catalog.json",
        "--offline",
        "--title",
        "MODIS NDVI gap-filled",
        "--summary",
        summary,
    ]);
    assert_ok(&o, "register");
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["slug"], "modis-ndvi-gap-filled");
    assert_eq!(p["type"], "Catalog");
    assert_eq!(p["access"], "public");
    assert_eq!(p["url"], "https://data.example.org/eo/catalog.json");
    let o = arco(&[
        "stac",
        "register",
        "http://localhost:8000/catalog.json",
        "--offline",
        "--slug",
        "Bad_Slug",
        "--title",
        "ab",
        "--summary",
        "short",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    for words in [
        "slug 'Bad_Slug' may only hold a-z, 0-9 and '-'",
        "title has 2 characters",
        "summary has 5 characters",
        "not publicly reachable",
    ] {
        assert!(e.contains(words), "{words}: {e}");
    }
    // Without --offline the URL is fetched: an unreachable one is refused.
    let o = arco(&[
        "stac",
        "register",
        "https://catalog.invalid/catalog.json",
        "--title",
        "abc",
        "--summary",
        summary,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot fetch it"), "{}", stderr(&o));
}

#[test]
fn single_file_outputs_and_no_stac_write_no_stac() {
    let dir = tempfile::tempdir().unwrap();
    let input = sorted_files(&shared_data("modis-ndvi"), ".jp2").remove(0);
    let one = dir.path().join("one.tif");
    assert_ok(
        &arco(&["convert", &input, "-o", s(&one)]),
        "convert to a file",
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let out = dir.path().join("dir");
    assert_ok(
        &arco(&["convert", &input, "--to", "cog", "-o", s(&out), "--no-stac"]),
        "--no-stac",
    );
    assert!(!out.join("collection.json").exists());
    let o = arco(&[
        "convert",
        &input,
        "--to",
        "cog",
        "-o",
        s(&dir.path().join("d2")),
        "--license",
        "not a licence!",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--license"), "{}", stderr(&o));
}

#[test]
fn vector_products_get_items_with_the_table_extension() {
    let root = tempfile::tempdir().unwrap();
    let input = shared_data("vector").join("countries.fgb");
    for (to, ext, media) in [
        ("geoparquet", "parquet", "application/vnd.apache.parquet"),
        ("flatgeobuf", "fgb", "application/vnd.flatgeobuf"),
        ("pmtiles", "pmtiles", "application/vnd.pmtiles"),
    ] {
        let dir = root.path().join(to);
        let mut args = vec!["convert", s(&input), "--to", to, "-o", s(&dir), "--json"];
        if to == "pmtiles" {
            args.extend(["--maxzoom", "4"]);
        }
        let o = arco(&args);
        assert_ok(
            &o,
            &format!("convert countries to a {to} product directory"),
        );
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            summary["stac"]["items"].as_array().unwrap().len(),
            1,
            "{to}"
        );
        let item = read(&dir.join("countries.json"));
        let asset = &item["assets"]["data"];
        assert_eq!(asset["type"], media);
        assert_eq!(asset["href"], format!("./countries.{ext}"));
        let bytes = std::fs::read(dir.join(format!("countries.{ext}"))).unwrap();
        assert_eq!(asset["file:size"], bytes.len());
        assert_eq!(
            asset["file:checksum"],
            arco_core::multihash_sha256_file(&dir.join(format!("countries.{ext}"))).unwrap()
        );
        let p = &item["properties"];
        assert_eq!(p["table:row_count"], 179, "{to}: {p:#}");
        let cols: Vec<&str> = p["table:columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(cols.contains(&"name"), "{to}: {cols:?}");
        let code = p["proj:code"].as_str().or(asset["proj:code"].as_str());
        let want = if to == "pmtiles" {
            "EPSG:3857"
        } else {
            "EPSG:4326"
        };
        assert_eq!(code, Some(want), "{to}");
        // The footprint is the countries' extent in WGS84.
        let bbox: Vec<f64> = item["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            bbox[0] < -170.0 && bbox[2] > 170.0 && bbox[1] < -50.0 && bbox[3] > 80.0,
            "{bbox:?}"
        );
        let v = validate(&dir.join("collection.json"));
        assert_ok(&v, &format!("arco stac validate {to}"));
    }
}
