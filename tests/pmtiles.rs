//! End-to-end tests of `arco convert --to pmtiles` and `arco view`: vector
//! archives checked by tippecanoe-decode, PyPI pmtiles and
//! mapbox-vector-tile against the input (tests/py/check_pmtiles.py), raster
//! archives against GDAL's own warp of the source, the viewer drawn by
//! headless Chromium, and the errors (exit 2, one line, nothing written).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{arco, assert_ok, py, shared_data, stderr};

fn vector(name: &str) -> String {
    shared_data("vector")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs check_pmtiles.py and returns its JSON report.
fn check(archive: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![archive.to_str().unwrap()];
    args.extend(extra);
    let o = py("check_pmtiles.py", &args);
    assert_ok(&o, &format!("check_pmtiles.py {args:?}"));
    serde_json::from_slice(&o.stdout).expect("checker prints JSON")
}

fn only_file(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn countries_fgb_to_vector_tiles_every_feature_at_max_zoom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("countries.pmtiles");
    let input = vector("countries.fgb");
    let o = arco(&[
        "convert",
        &input,
        "-o",
        out.to_str().unwrap(),
        "--maxzoom",
        "4",
        "--json",
    ]);
    assert_ok(&o, "arco convert countries.fgb --to pmtiles");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["format"], "pmtiles");
    let rec = &summary["outputs"][0];
    assert_eq!(rec["format"], "pmtiles");
    assert_eq!(rec["media_type"], "application/vnd.pmtiles");
    assert_eq!(rec["size"], std::fs::metadata(&out).unwrap().len());
    assert!(rec["checksum"].as_str().unwrap().starts_with("1220"));
    assert_eq!(rec["crs"]["code"], "EPSG:3857");
    assert_eq!(rec["vector"]["layer"], "countries");
    assert_eq!(rec["vector"]["feature_count"], 179);
    // Web mercator metres: the world's countries span most of it.
    let bbox: Vec<f64> = serde_json::from_value(rec["bbox"].clone()).unwrap();
    assert!(bbox[0] < -1.9e7 && bbox[2] > 1.9e7, "{bbox:?}");
    common::assert_matches_schema("convert-summary.schema.json", &o.stdout);
    let report = check(
        &out,
        &["--input", &input, "--minzoom", "0", "--maxzoom", "4"],
    );
    assert_eq!(report["features_checked_at_max_zoom"], 179, "{report}");
    assert_eq!(report["gdal_ids_at_max_zoom"], 179, "{report}");
    assert_eq!(report["extents"], serde_json::json!([4096]));
    assert!(report["tippecanoe_decode_features"].as_u64().unwrap() >= 179);
    // Nothing but the archive in the output directory.
    assert_eq!(only_file(dir.path()), vec!["countries.pmtiles".to_string()]);
}

#[test]
fn states_geojson_with_a_guessed_max_zoom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("states.pmtiles");
    let input = vector("states.geojson");
    let o = arco(&["convert", &input, "-o", out.to_str().unwrap()]);
    assert_ok(&o, "arco convert states.geojson");
    let err = stderr(&o);
    assert!(err.contains("guessed from the data"), "{err}");
    let report = check(&out, &["--input", &input]);
    let maxz = report["max_zoom"].as_u64().unwrap();
    assert!((3..=14).contains(&maxz), "guessed max zoom {maxz}");
    assert_eq!(report["features_checked_at_max_zoom"], 49, "{report}");
    // Field types from the input (strings and numbers).
    assert_eq!(report["fields"]["STATE_NAME"], "String");
    assert_eq!(report["fields"]["PERSONS"], "Number");
}

#[test]
fn tiger_roads_lines_to_zoom_13() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("roads.pmtiles");
    let input = vector("tiger_roads.geojson");
    let o = arco(&[
        "convert",
        &input,
        "--to",
        "pmtiles",
        "-o",
        out.to_str().unwrap(),
        "--minzoom",
        "2",
        "--maxzoom",
        "13",
    ]);
    assert_ok(&o, "arco convert tiger_roads.geojson");
    let report = check(
        &out,
        &["--input", &input, "--minzoom", "2", "--maxzoom", "13"],
    );
    assert_eq!(report["features_checked_at_max_zoom"], 8333, "{report}");
}

/// 120 000 points with a unique text each in a small area: the low zoom
/// tiles would be megabytes, so the fallback must bring them under 500 KB,
/// while every point stays at max zoom.
#[test]
fn dense_points_are_capped_at_low_zooms_and_complete_at_max_zoom() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dense.geojson");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    write!(f, "{{\"type\":\"FeatureCollection\",\"features\":[").unwrap();
    let mut state: u64 = 42;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..120_000 {
        let (x, y) = (10.0 + next() * 2.0, 45.0 + next() * 1.5);
        if i > 0 {
            write!(f, ",").unwrap();
        }
        write!(
            f,
            "{{\"type\":\"Feature\",\"properties\":{{\"label\":\"point number {i:06} of the dense test\",\"n\":{i}}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.7},{y:.7}]}}}}"
        )
        .unwrap();
    }
    write!(f, "]}}").unwrap();
    drop(f);
    let out = dir.path().join("dense.pmtiles");
    let o = arco(&[
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--maxzoom",
        "10",
    ]);
    assert_ok(&o, "arco convert dense.geojson");
    let err = stderr(&o);
    assert!(
        err.contains("dropped"),
        "the fallback should be noted: {err}"
    );
    let report = check(
        &out,
        &[
            "--input",
            input.to_str().unwrap(),
            "--maxzoom",
            "10",
            "--max-tile-bytes",
            "500000",
        ],
    );
    assert_eq!(report["features_checked_at_max_zoom"], 120_000);
    assert!(report["largest_low_zoom_tile"].as_u64().unwrap() <= 500_000);
}

fn modis_cog(dir: &Path) -> PathBuf {
    let jp2 = common::sorted_files(&shared_data("modis-ndvi"), "NDVI")
        .into_iter()
        .next()
        .unwrap();
    let cog = dir.join("ndvi.tif");
    assert_ok(
        &arco(&["convert", &jp2, "-o", cog.to_str().unwrap()]),
        "arco convert jp2 to COG",
    );
    cog
}

#[test]
fn raster_cog_to_png_and_webp_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let cog = modis_cog(dir.path());
    let png = dir.path().join("ndvi.pmtiles");
    let o = arco(&[
        "convert",
        cog.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert_ok(&o, "arco convert COG to PNG tiles");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // MODIS 231 m: zoom 10 (153 m) is the first zoom at least as fine.
    assert_eq!(summary["outputs"][0]["overviews"], 10);
    let report = check(
        &png,
        &[
            "--raster",
            "--input",
            cog.to_str().unwrap(),
            "--maxzoom",
            "10",
        ],
    );
    assert_eq!(report["per_zoom"]["0"], 1, "{report}");
    let webp = dir.path().join("ndvi_webp.pmtiles");
    let o = arco(&[
        "convert",
        cog.to_str().unwrap(),
        "-o",
        webp.to_str().unwrap(),
        "--tile-format",
        "webp",
        "--minzoom",
        "5",
    ]);
    assert_ok(&o, "arco convert COG to WebP tiles");
    check(
        &webp,
        &[
            "--raster",
            "--format",
            "webp",
            "--input",
            cog.to_str().unwrap(),
            "--minzoom",
            "5",
        ],
    );
}

/// Serves an archive with `arco view`, screenshots it with headless
/// Chromium (Debian's `chromium`) and checks that tiles were drawn.
fn screenshot_of(archive: &Path, shot: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arco"))
        .args([
            "view",
            archive.to_str().unwrap(),
            "--no-browser",
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start arco view");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=800,600", "--virtual-time-budget=30000"])
        .arg(format!("{url}?bare"))
        .output();
    let _ = child.kill();
    let _ = child.wait();
    let o = o.expect("run chromium (install Debian's chromium: scripts/setup.sh)");
    assert!(shot.exists(), "no screenshot: {}", stderr(&o));
    assert_ok(
        &py("check_screenshot.py", &[shot.to_str().unwrap()]),
        &format!("check_screenshot.py on the view of {}", archive.display()),
    );
}

#[test]
fn viewer_draws_vector_and_raster_tiles_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let states = dir.path().join("states.pmtiles");
    assert_ok(
        &arco(&[
            "convert",
            &vector("states.geojson"),
            "-o",
            states.to_str().unwrap(),
        ]),
        "convert states",
    );
    screenshot_of(&states, &dir.path().join("states.png"));
    let cog = modis_cog(dir.path());
    let ndvi = dir.path().join("ndvi.pmtiles");
    assert_ok(
        &arco(&[
            "convert",
            cog.to_str().unwrap(),
            "-o",
            ndvi.to_str().unwrap(),
        ]),
        "convert ndvi",
    );
    screenshot_of(&ndvi, &dir.path().join("ndvi.png"));
}

#[test]
fn viewer_refuses_what_is_not_a_pmtiles_archive() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.pmtiles");
    std::fs::write(&fake, b"not an archive at all").unwrap();
    let o = arco(&["view", fake.to_str().unwrap(), "--no-browser"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("fake.pmtiles") && err.contains("not a PMTiles archive"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// One error line naming the file, exit code 2, and an empty output dir.
fn assert_clean_failure(args: &[&str], dir: &Path, names: &str, says: &str) {
    let o = arco(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(names) && err.contains(says), "{err}");
    assert!(
        only_file(dir).is_empty(),
        "left behind: {:?}",
        only_file(dir)
    );
}

#[test]
fn broken_empty_and_crs_less_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("x.pmtiles");
    let out_s = out.to_str().unwrap();

    // A broken FlatGeobuf.
    let broken = dir.path().join("broken.fgb");
    std::fs::write(&broken, b"fgb\x03fgb\x00 truncated garbage").unwrap();
    assert_clean_failure(
        &["convert", broken.to_str().unwrap(), "-o", out_s],
        &out_dir,
        "broken.fgb",
        "",
    );

    // An empty layer.
    assert_clean_failure(
        &["convert", &vector("empty.fgb"), "-o", out_s],
        &out_dir,
        "empty.fgb",
        "no features",
    );

    // A vector layer without a CRS whose coordinates are not lon/lat.
    let csv = dir.path().join("utm.csv");
    std::fs::write(&csv, "id,WKT\n1,\"POINT (500000 4649776)\"\n").unwrap();
    assert_clean_failure(
        &["convert", csv.to_str().unwrap(), "-o", out_s],
        &out_dir,
        "utm.csv",
        "declares no CRS",
    );

    // A raster without a CRS.
    let tif = dir.path().join("nocrs.tif");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = drv.create_with_band_type::<u8, _>(&tif, 16, 16, 1).unwrap();
        ds.set_geo_transform(&[500_000.0, 10.0, 0.0, 4_650_000.0, 0.0, -10.0])
            .unwrap();
    }
    assert_clean_failure(
        &["convert", tif.to_str().unwrap(), "-o", out_s],
        &out_dir,
        "nocrs.tif",
        "CRS",
    );

    // An existing output is kept without --overwrite.
    std::fs::write(&out, b"keep me").unwrap();
    let o = arco(&["convert", &vector("countries.fgb"), "-o", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--overwrite"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}
