//! `arco check` on a good product made by arco itself, then on copies of it
//! with one deliberate fault each: exactly the right C must flag each fault,
//! and the good product must pass with exit code 0.

mod common;

use common::{arco, assert_ok, py, shared_data, stderr};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const TIME: &str = common::DATE_IN_NAME;
/// Day after the last MODIS date: the good product is current then.
const AS_OF: &str = "2014-09-15";
/// A nodata value the MODIS samples never hold (their own fill value,
/// -3000, marks real gaps: see `real_gaps_of_modis_are_found`).
const NODATA: &str = "-32768";

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/stac-schemas")
}

fn gdal_python() -> String {
    std::env::var("ARCO_GDAL_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

/// Runs `tests/py/edit_raster.py` (Debian's GDAL python).
fn edit_raster(src: &Path, dst: &Path, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/edit_raster.py");
    let o = Command::new(gdal_python())
        .arg(script)
        .arg(src)
        .arg(dst)
        .args(args)
        .output()
        .unwrap();
    assert_ok(&o, "edit_raster.py");
}

/// The good product: the 12 MODIS NDVI dates as COGs with Items and a
/// collection, nodata declared.
fn good_product(root: &Path) -> PathBuf {
    product(root, NODATA)
}

fn product(root: &Path, nodata: &str) -> PathBuf {
    common::modis_product(&root.join("ndvi"), None, &["--nodata", nodata])
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Runs `arco check --format json` and returns (exit code, report).
fn check(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let s = schemas();
    let mut args = vec![
        "check",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--schemas",
        s.to_str().unwrap(),
    ];
    if !extra.contains(&"--as-of") {
        args.extend(["--as-of", AS_OF]);
    }
    args.extend(extra);
    let o = arco(&args);
    let code = o.status.code().unwrap();
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {code}, stderr: {}", stderr(&o)));
    // Every report follows the published schema.
    common::assert_matches_schema("check-report.schema.json", &o.stdout);
    (code, report)
}

/// The Cs with at least one error, and the rules that fired.
fn failing(report: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cs = BTreeSet::new();
    let mut rules = BTreeSet::new();
    for f in report["findings"].as_array().unwrap() {
        if f["severity"] == "error" {
            cs.insert(f["c"].as_str().unwrap().to_string());
            rules.insert(f["rule"].as_str().unwrap().to_string());
        }
    }
    (cs, rules)
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// The Item file and data file of one date.
fn date_files(dir: &Path, date: &str) -> (PathBuf, PathBuf) {
    let stem = format!("TERRA_MODIS_012010_NDVI_{date}");
    (
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.tif")),
    )
}

/// Writes `raster` into the product through arco (so its Item and checksum
/// are right), replacing the date's data file and Item.
fn reconvert(dir: &Path, raster: &Path, extra: &[&str]) {
    let mut args = vec![
        "convert",
        raster.to_str().unwrap(),
        "--to",
        "cog",
        "-o",
        dir.to_str().unwrap(),
        "--time-from",
        TIME,
        "--overwrite",
        "--quiet",
    ];
    args.extend(extra);
    let o = arco(&args);
    assert_ok(&o, "arco convert into the existing product");
}

fn modis_input(date: &str) -> PathBuf {
    shared_data("modis-ndvi").join(format!("TERRA_MODIS_012010_NDVI_{date}.jp2"))
}

/// The MODIS input of `date` edited by `edit_raster.py`, under its own
/// name in `root/sub/` (so that arco writes it over that date's Item).
fn edited_input(root: &Path, sub: &str, date: &str, edit: &[&str]) -> PathBuf {
    let dir = root.join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("TERRA_MODIS_012010_NDVI_{date}.tif"));
    edit_raster(&modis_input(date), &out, edit);
    out
}

/// One fault: its name, the damaged copy, extra options, the Cs that must
/// flag it, and one rule that must fire.
type Case<'a> = (&'a str, PathBuf, Vec<&'a str>, BTreeSet<String>, &'a str);

#[test]
fn the_good_product_passes_and_each_fault_is_flagged_by_exactly_its_c() {
    let root = tempfile::tempdir().unwrap();
    let good = good_product(root.path());
    let (code, r) = check(&good, &[]);
    assert_eq!(code, 0, "good product: {r:#}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["coverage"]["items"], 12);
    assert_eq!(r["coverage"]["assets"], 12);
    assert_eq!(r["coverage"]["pixel_reads"], 12);
    let hashed: u64 = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(r["coverage"]["bytes_hashed"], hashed);
    for c in ["complete", "consistent", "current", "correct"] {
        assert!(
            r["summary"][c]["checks"].as_u64().unwrap() > 0,
            "{c} ran no check"
        );
        assert_eq!(r["summary"][c]["ok"], true);
    }

    let mid = "2014-01-17";
    let fault = |name: &str| -> PathBuf {
        let d = root.path().join(name).join("ndvi");
        copy_dir(&good, &d);
        d
    };
    let mut cases: Vec<Case> = Vec::new();

    // 1. A deleted time step (data, Item and its link all gone).
    let d = fault("deleted_step");
    let (item, tif) = date_files(&d, mid);
    std::fs::remove_file(&item).unwrap();
    std::fs::remove_file(&tif).unwrap();
    let cpath = d.join("collection.json");
    let mut coll: Value = serde_json::from_slice(&std::fs::read(&cpath).unwrap()).unwrap();
    coll["links"]
        .as_array_mut()
        .unwrap()
        .retain(|l| !l["href"].as_str().unwrap_or("").contains(mid));
    std::fs::write(&cpath, serde_json::to_vec_pretty(&coll).unwrap()).unwrap();
    // A hole in the time axis is incomplete and, for the time axis, not current.
    cases.push((
        "deleted time step",
        d,
        vec![],
        set(&["complete", "current"]),
        "no-missing-dates",
    ));

    // 2. A deleted asset.
    let d = fault("deleted_asset");
    std::fs::remove_file(date_files(&d, mid).1).unwrap();
    cases.push((
        "deleted asset",
        d,
        vec![],
        set(&["complete"]),
        "asset-exists",
    ));

    // 3. One flipped byte in a COG's tile data.
    let d = fault("flipped_byte");
    let tif = date_files(&d, mid).1;
    let mut bytes = std::fs::read(&tif).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&tif, bytes).unwrap();
    cases.push(("flipped byte", d, vec![], set(&["correct"]), "checksum"));

    // 4. The COG rewritten as a plain striped GeoTIFF under the same name.
    let d = fault("striped");
    let tif = date_files(&d, mid).1;
    let striped = root.path().join("striped.tif");
    edit_raster(&tif, &striped, &["--striped"]);
    std::fs::rename(&striped, &tif).unwrap();
    cases.push((
        "striped GeoTIFF",
        d,
        vec![],
        set(&["correct"]),
        "cog-layout",
    ));

    // 5. One date on a grid shifted by half a pixel (written by arco, so its
    // Item and checksum agree with the file).
    let d = fault("shifted");
    let shifted = edited_input(root.path(), "shifted", mid, &["--shift-x", "0.5"]);
    reconvert(&d, &shifted, &["--nodata", NODATA]);
    cases.push((
        "half-pixel shift",
        d,
        vec![],
        set(&["consistent"]),
        "same-grid-and-schema",
    ));

    // 6. A different dtype in one Item.
    let d = fault("dtype");
    reconvert(
        &d,
        &modis_input(mid),
        &["--nodata", NODATA, "--dtype", "float32"],
    );
    cases.push((
        "other dtype",
        d,
        vec![],
        set(&["consistent"]),
        "same-grid-and-schema",
    ));

    // 7. A pixel set to nodata inside the mask (the whole grid).
    let d = fault("nodata_pixel");
    let set_pixel = format!("100,50,{NODATA}");
    let holed = edited_input(root.path(), "hole", mid, &["--set", &set_pixel]);
    reconvert(&d, &holed, &["--nodata", NODATA]);
    cases.push((
        "nodata pixel",
        d,
        vec![],
        set(&["complete"]),
        "no-missing-pixels",
    ));

    // 8. A stale dataset: checked a year later.
    let d = fault("stale");
    cases.push((
        "stale",
        d,
        vec!["--as-of", "2015-09-15"],
        set(&["current"]),
        "up-to-date",
    ));

    // 9. A STAC Item with an invalid field.
    let d = fault("bad_item");
    let item = date_files(&d, mid).0;
    let mut v: Value = serde_json::from_slice(&std::fs::read(&item).unwrap()).unwrap();
    let asset = v["assets"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    asset["file:size"] = Value::String("big".into());
    std::fs::write(&item, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    cases.push((
        "invalid Item field",
        d,
        vec![],
        set(&["correct"]),
        "stac-schema",
    ));

    for (name, dir, extra, want, rule) in cases {
        let (code, r) = check(&dir, &extra);
        let (cs, rules) = failing(&r);
        assert_eq!(code, 1, "{name}: exit code; report {r:#}");
        assert_eq!(cs, want, "{name}: Cs flagged; report {r:#}");
        assert!(
            rules.contains(rule),
            "{name}: rule {rule} not among {rules:?}"
        );
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap();
        assert!(!f["fix"].as_str().unwrap().is_empty());
    }
}

#[test]
fn pixel_sampling_and_header_only_modes_say_what_they_read() {
    let root = tempfile::tempdir().unwrap();
    let good = good_product(root.path());
    let (code, r) = check(&good, &["--headers-only"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["coverage"]["pixel_reads"], 0);
    assert!(r["coverage"]["sampling"]
        .as_str()
        .unwrap()
        .contains("not read"));
    let (code, r) = check(&good, &["--sample", "50%"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["coverage"]["pixel_reads"], 12);
    assert!(r["coverage"]["sampling"]
        .as_str()
        .unwrap()
        .contains("1 block row in 2"));
    // A range the NDVI values cannot meet.
    let (code, r) = check(&good, &["--range", "0,10"]);
    assert_eq!(code, 1);
    let (cs, rules) = failing(&r);
    assert_eq!(cs, set(&["correct"]));
    assert!(rules.contains("value-range"));
}

#[test]
fn real_gaps_of_modis_are_found() {
    // MOD13Q1 marks missing pixels with -3000: one pixel in each of four
    // dates of the sample. Declared as nodata, they are incomplete.
    let root = tempfile::tempdir().unwrap();
    let dir = product(root.path(), "-3000");
    let (code, r) = check(&dir, &[]);
    assert_eq!(code, 1, "{r:#}");
    let (cs, rules) = failing(&r);
    assert_eq!(cs, set(&["complete"]));
    assert_eq!(rules, set(&["no-missing-pixels"]));
    let mut dates: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "no-missing-pixels")
        .map(|f| &f["object"].as_str().unwrap()[24..34])
        .collect();
    dates.sort_unstable();
    assert_eq!(
        dates,
        ["2013-10-16", "2014-01-17", "2014-03-22", "2014-07-28"]
    );
    // Each is exactly one pixel: the count is in the message.
    for f in r["findings"].as_array().unwrap() {
        if f["rule"] == "no-missing-pixels" {
            assert!(
                f["message"].as_str().unwrap().contains("1 of 37485 pixels"),
                "{f}"
            );
        }
    }
}

#[test]
fn a_published_s3_store_is_checked_where_it_is() {
    use arco_store::testing::{Seaweed, BUCKET, READ_WRITE};
    let root = tempfile::tempdir().unwrap();
    let good = good_product(root.path());
    let server = Seaweed::start().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("s3://{BUCKET}/published/ndvi");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_arco"))
            .args(args)
            .envs(server.env(READ_WRITE))
            .output()
            .unwrap()
    };
    let o = run(&["publish", good.to_str().unwrap(), "--to", &url, "--quiet"]);
    assert_ok(&o, "arco publish to SeaweedFS");
    let s = schemas();
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = [
            "check",
            &url,
            "--format",
            "json",
            "--as-of",
            AS_OF,
            "--schemas",
            s.to_str().unwrap(),
        ]
        .iter()
        .map(|x| (*x).to_string())
        .collect();
        a.extend(extra.iter().map(|x| (*x).to_string()));
        a
    };
    let a = args(&[]);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{r:#}");
    assert_eq!(r["target"], url.as_str());
    assert_eq!(r["coverage"]["items"], 12);
    // The published Items point at the store (absolute URLs), and the
    // check followed them to the copy.
    assert_eq!(r["coverage"]["assets"], 12);

    // One object replaced behind arco's back: the checksum no longer matches.
    let (_, tif) = date_files(Path::new("published/ndvi"), "2014-01-17");
    let key = tif.to_str().unwrap().to_string();
    let other = date_files(&good, "2014-02-18").1;
    let aws = common::venv_python().with_file_name("aws");
    let o = Command::new(aws)
        .args([
            "s3",
            "cp",
            other.to_str().unwrap(),
            &format!("s3://{BUCKET}/{key}"),
        ])
        .envs(server.env(READ_WRITE))
        .output()
        .unwrap();
    assert_ok(&o, "aws s3 cp over a published object");
    let a = args(&["--headers-only"]);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (cs, rules) = failing(&r);
    assert_eq!(cs, set(&["correct"]), "{r:#}");
    assert!(rules.contains("checksum"));
}

#[test]
fn the_valid_data_mask_decides_which_gaps_count() {
    // The four real one-pixel gaps of the MODIS sample are at (column, row)
    // (35, 40), (54, 107), (189, 77) and (52, 29).
    let root = tempfile::tempdir().unwrap();
    let dir = product(root.path(), "-3000");
    let like = date_files(&dir, "2013-09-14").1;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/make_mask.py");
    let mask = |name: &str, window: &str| -> PathBuf {
        let out = root.path().join(name);
        let o = Command::new(gdal_python())
            .arg(&script)
            .arg(&like)
            .arg(&out)
            .args(["--window", window])
            .output()
            .unwrap();
        assert_ok(&o, "make_mask.py");
        out
    };
    // Raster and vector masks away from every gap: complete.
    for m in [
        mask("away.tif", "100,0,180,60"),
        mask("away.gpkg", "100,0,180,60"),
    ] {
        let (code, r) = check(&dir, &["--mask", m.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {r:#}", m.display());
        assert_eq!(r["summary"]["complete"]["ok"], true);
    }
    // A vector mask over the gap at (189, 77) only: that date alone fails,
    // and the count is of pixels inside the mask (80 x 40).
    let m = mask("one.gpkg", "150,60,230,100");
    let (code, r) = check(&dir, &["--mask", m.to_str().unwrap()]);
    assert_eq!(code, 1, "{r:#}");
    let gaps: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "no-missing-pixels")
        .collect();
    assert_eq!(gaps.len(), 1, "{r:#}");
    assert!(gaps[0]["object"].as_str().unwrap().contains("2014-03-22"));
    assert!(
        gaps[0]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 3200 pixels"),
        "{}",
        gaps[0]["message"]
    );
    // A mask on another grid is refused with what to do.
    let bad = root.path().join("small.tif");
    edit_raster(&like, &bad, &["--striped"]);
    let o = Command::new("gdal_translate")
        .args(["-q", "-outsize", "50%", "50%"])
        .arg(&bad)
        .arg(root.path().join("half.tif"))
        .output()
        .unwrap();
    assert_ok(&o, "gdal_translate -outsize");
    let (code, r) = check(
        &dir,
        &["--mask", root.path().join("half.tif").to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "mask"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("give a mask on the product's grid")));
}

#[test]
fn cog_layout_rules_agree_with_gdals_validator() {
    // Real files made by GDAL and arco, larger than 512 px so that GDAL's
    // validator applies every rule: arco's verdict (errors or none) must be
    // GDAL's, file by file.
    let root = tempfile::tempdir().unwrap();
    let p = |n: &str| root.path().join(n).to_str().unwrap().to_string();
    let src = modis_input("2013-09-14");
    let gdal = |args: &[&str]| {
        let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert_ok(&o, args[0]);
    };
    let big = p("big.tif");
    gdal(&[
        "gdal_translate",
        "-q",
        "-outsize",
        "1100",
        "700",
        src.to_str().unwrap(),
        &big,
    ]);
    // GDAL's COG driver, and arco's writer: valid.
    gdal(&[
        "gdal_translate",
        "-q",
        "-of",
        "COG",
        &big,
        &p("gdal_cog.tif"),
    ]);
    assert_ok(
        &arco(&["convert", &big, "-o", &p("arco_cog.tif"), "--quiet"]),
        "arco convert",
    );
    // Tiled, overviews added afterwards (they land after the data): invalid.
    gdal(&[
        "gdal_translate",
        "-q",
        "-co",
        "TILED=YES",
        &big,
        &p("late_ovr.tif"),
    ]);
    gdal(&["gdaladdo", "-q", &p("late_ovr.tif"), "2", "4"]);
    // Tiled, no overviews, IFD right after the header: valid (a warning).
    gdal(&[
        "gdal_translate",
        "-q",
        "-co",
        "TILED=YES",
        &big,
        &p("tiled.tif"),
    ]);
    // Striped and large: invalid for both.
    gdal(&[
        "gdal_translate",
        "-q",
        "-co",
        "TILED=NO",
        &big,
        &p("striped.tif"),
    ]);
    for name in [
        "gdal_cog.tif",
        "arco_cog.tif",
        "late_ovr.tif",
        "tiled.tif",
        "striped.tif",
    ] {
        let path = root.path().join(name);
        let bytes = arco_check::bytes::Bytes::open(&path).unwrap();
        let arco_errors: Vec<String> = arco_check::cog::check(&bytes, true)
            .unwrap()
            .into_iter()
            .filter(|v| v.error)
            .map(|v| v.message)
            .collect();
        let o = py("validate_cog.py", &[path.to_str().unwrap()]);
        let line: Value =
            serde_json::from_slice(o.stdout.split(|&b| b == b'\n').next().unwrap_or_default())
                .unwrap();
        let gdal_errors = line["gdal_errors"].as_array().unwrap();
        assert_eq!(
            arco_errors.is_empty(),
            gdal_errors.is_empty(),
            "{name}: arco {arco_errors:?}, GDAL {gdal_errors:?}"
        );
        let want_valid = matches!(name, "gdal_cog.tif" | "arco_cog.tif" | "tiled.tif");
        assert_eq!(
            arco_errors.is_empty(),
            want_valid,
            "{name}: {arco_errors:?}"
        );
    }
}

#[test]
fn a_check_that_cannot_run_exits_2_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    let o = arco(&["check", root.path().join("nothing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("no catalog.json or collection.json"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let o = arco(&["check", root.path().to_str().unwrap(), "--sample", "0%"]);
    assert_eq!(o.status.code(), Some(2));
    let o = arco(&[
        "check",
        root.path().to_str().unwrap(),
        "--as-of",
        "yesterday",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("YYYY-MM-DD"));
}

#[test]
fn the_example_ci_workflow_command_runs_as_written() {
    let root = tempfile::tempdir().unwrap();
    let good = good_product(root.path());
    let yml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-actions-check.yml"),
    )
    .unwrap();
    let line = yml
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("arco check"))
        .expect("the workflow runs arco check");
    let bin = Path::new(env!("CARGO_BIN_EXE_arco"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    // The workflow's line as written, with its environment.
    let run_line = |as_of: &str| {
        Command::new("bash")
            .arg("-c")
            .arg(line)
            .current_dir(root.path())
            .env("PATH", &path)
            .env("COLLECTION", good.join("collection.json"))
            .env("STAC_SCHEMAS", schemas())
            .env("AS_OF", as_of)
            .output()
            .unwrap()
    };
    let o = run_line(AS_OF);
    assert_ok(&o, "the workflow's arco check line");
    let r: Value =
        serde_json::from_slice(&std::fs::read(root.path().join("arco-check.json")).unwrap())
            .unwrap();
    assert_eq!(r["ok"], true);
    assert_eq!(r["as_of"], AS_OF);
    // And on the day it is run, the 2014 product is stale: exit 1.
    let o = run_line("");
    assert_eq!(o.status.code(), Some(1));
}
