//! End-to-end tests of the `arco` binary on the real samples in
//! `../shared/data` and on generated rasters: outputs checked by GDAL,
//! GDAL's COG validator, rio-cogeo, xarray + rioxarray; errors checked for
//! exit code 2, one line on stderr, and nothing left behind.

// Exact float comparisons are the point: outputs must be pixel-identical.
#![allow(clippy::float_cmp)]

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{arco, assert_ok, py, shared_data, sorted_files, stderr, venv_python};

/// Checks a GeoZarr store with the readers people use: xarray + rioxarray
/// and zarr-python against the reference rasters, GDAL 3.12 (from the
/// rasterio wheel; unsharded stores only: sharding needs GDAL 3.13), and
/// geozarr-toolkit's convention validator.
fn assert_store_reads(store: &Path, refs: &[&str], sharded: bool) {
    let mut args = vec![store.to_str().unwrap()];
    if !sharded {
        args.push("--require-gdal");
    }
    args.push("--reference");
    args.extend(refs);
    assert_ok(
        &py("check_zarr.py", &args),
        &format!("check_zarr.py on {}", store.display()),
    );
    let toolkit = venv_python().with_file_name("geozarr");
    let o = Command::new(toolkit)
        .arg("validate")
        .arg(store)
        .output()
        .expect("run geozarr validate");
    assert_ok(&o, &format!("geozarr validate {}", store.display()));
}

fn pixels_equal(a: &str, b: &Path) {
    let (da, db) = (Dataset::open(a).unwrap(), Dataset::open(b).unwrap());
    assert_eq!(da.raster_size(), db.raster_size());
    assert_eq!(da.raster_count(), db.raster_count());
    assert_eq!(
        da.geo_transform().unwrap(),
        db.geo_transform().unwrap(),
        "{a}"
    );
    let (sa, sb) = (da.spatial_ref().unwrap(), db.spatial_ref().unwrap());
    // Same CRS in GDAL's sense (OSRIsSame): a WKT1 read from NetCDF and the
    // EPSG definition GeoKeys resolve to are equal though their text differs.
    assert!(sa == sb, "CRS of {a}: {:?} vs {:?}", sa.name(), sb.name());
    for i in 1..=da.raster_count() {
        let va = da.rasterband(i).unwrap().read_band_as::<f64>().unwrap();
        let vb = db.rasterband(i).unwrap().read_band_as::<f64>().unwrap();
        assert!(
            va.data()
                .iter()
                .zip(vb.data())
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan())),
            "pixels of {a} band {i}"
        );
    }
}

#[test]
fn help_lists_verbs_and_teaches_by_example() {
    let o = arco(&["--help"]);
    assert_ok(&o, "arco --help");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("convert") && text.contains("reconstruct") && text.contains("view"),
        "{text}"
    );
    let o = arco(&["convert", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Examples:")
            && text.contains("--time-from")
            && text.contains("GDAL older than 3.13"),
        "{text}"
    );
}

#[test]
fn modis_jp2_series_to_cogs_is_valid_pixel_exact_and_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = sorted_files(&shared_data("modis-ndvi"), ".jp2");
    assert_eq!(inputs.len(), 12);
    let out = dir.path().join("cogs");
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["--to", "cog", "-o", out.to_str().unwrap(), "--json"]);
    let o = arco(&args);
    assert_ok(&o, "convert modis to cog");
    let summary: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("--json prints JSON only");
    let outputs = summary["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 12);
    let mut paths = Vec::new();
    for (input, rec) in inputs.iter().zip(outputs) {
        let path = PathBuf::from(rec["path"].as_str().unwrap());
        assert_eq!(
            rec["media_type"],
            "image/tiff; application=geotiff; profile=cloud-optimized"
        );
        assert_eq!(
            rec["size"].as_u64().unwrap(),
            std::fs::metadata(&path).unwrap().len()
        );
        assert_eq!(rec["checksum"].as_str().unwrap(), sha256_multihash(&path));
        assert_eq!(rec["width"], 255);
        pixels_equal(input, &path);
        paths.push(path.to_string_lossy().into_owned());
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    assert_ok(&py("validate_cog.py", &refs), "validate_cog.py");
    common::assert_matches_schema("convert-summary.schema.json", &o.stdout);
}

/// sha2-256 multihash of a file, computed by the system's sha256sum
/// (independent of arco's own hashing).
fn sha256_multihash(path: &Path) -> String {
    let o = Command::new("sha256sum").arg(path).output().unwrap();
    let hex = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    format!("1220{hex}")
}

#[test]
fn modis_series_to_geozarr_cube_reads_in_xarray() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = sorted_files(&shared_data("modis-ndvi"), ".jp2");
    let store = dir.path().join("ndvi.zarr");
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend([
        "--to",
        "geozarr",
        "-o",
        store.to_str().unwrap(),
        "--time-from",
        r"(\d{4}-\d{2}-\d{2})",
        "--chunks",
        "1,128,128",
        "--json",
    ]);
    let o = arco(&args);
    assert_ok(&o, "convert modis to geozarr");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    common::assert_matches_schema("convert-summary.schema.json", &o.stdout);
    let rec = &summary["outputs"][0];
    assert_eq!(rec["datetimes"].as_array().unwrap().len(), 12);
    assert_eq!(rec["datetimes"][0], "2013-09-14T00:00:00Z");
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    assert_store_reads(&store, &refs, false);
}

#[test]
fn cbers_band_series_and_cloud_mask() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_data("cbers-awfi");
    let b13 = sorted_files(&data, "_B13_");
    assert_eq!(b13.len(), 14);
    let out = dir.path().join("cube");
    let mut args = vec!["convert"];
    args.extend(b13.iter().map(String::as_str));
    args.extend([
        "--to",
        "geozarr",
        "-o",
        out.to_str().unwrap(),
        "--shard",
        "512",
        "--chunks",
        "1,16,16",
        "--quiet",
    ]);
    let o = arco(&args);
    assert_ok(&o, "cbers B13 to a sharded cube");
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "--quiet prints nothing"
    );
    let store = out.join("CBERS-4_AWFI_022024_B13.zarr");
    assert!(
        store.join("zarr.json").exists(),
        "cube named after the common stem"
    );
    let refs: Vec<&str> = b13.iter().map(String::as_str).collect();
    assert_store_reads(&store, &refs, true);

    let mask = sorted_files(&data, "_CMASK_")[0].clone();
    let cog = dir.path().join("cmask.tif");
    let o = arco(&[
        "convert",
        &mask,
        "-o",
        cog.to_str().unwrap(),
        "--categorical",
        "--json",
    ]);
    assert_ok(&o, "cmask to cog");
    pixels_equal(&mask, &cog);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["outputs"][0]["notes"][0]
        .as_str()
        .unwrap()
        .contains("mode"));
    assert_ok(
        &py("validate_cog.py", &[cog.to_str().unwrap()]),
        "validate cmask cog",
    );
}

/// A 3-band float raster with NaN nodata and a 1-pixel one, made with GDAL.
fn generated(dir: &Path) -> (PathBuf, PathBuf) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let (w, h) = (333, 257);
    let multi = dir.join("refl.tif");
    let mut ds = driver
        .create_with_band_type_with_options::<f32, _>(
            &multi,
            w,
            h,
            3,
            &RasterCreationOptions::new(),
        )
        .unwrap();
    ds.set_geo_transform(&[10.0, 0.001, 0.0, 50.0, 0.0, -0.001])
        .unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(4326).unwrap())
        .unwrap();
    for b in 1..=3 {
        let data: Vec<f32> = (0..w * h)
            .map(|i| {
                if i % 17 == 0 {
                    f32::NAN
                } else {
                    (i % 1000) as f32 / 1000.0 * b as f32
                }
            })
            .collect();
        let mut band = ds.rasterband(b).unwrap();
        band.set_no_data_value(Some(f64::NAN)).unwrap();
        band.write((0, 0), (w, h), &mut Buffer::new((w, h), data))
            .unwrap();
    }
    drop(ds);
    let one = dir.join("one.tif");
    let mut ds = driver
        .create_with_band_type_with_options::<u16, _>(&one, 1, 1, 1, &RasterCreationOptions::new())
        .unwrap();
    ds.set_geo_transform(&[0.0, 1.0, 0.0, 1.0, 0.0, -1.0])
        .unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(3857).unwrap())
        .unwrap();
    ds.rasterband(1)
        .unwrap()
        .write((0, 0), (1, 1), &mut Buffer::new((1, 1), vec![7u16]))
        .unwrap();
    drop(ds);
    (multi, one)
}

#[test]
fn generated_multiband_float_and_single_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let (multi, one) = generated(dir.path());
    for input in [&multi, &one] {
        let cog = input.with_extension("cog.tif");
        assert_ok(
            &arco(&[
                "convert",
                input.to_str().unwrap(),
                "-o",
                cog.to_str().unwrap(),
            ]),
            "to cog",
        );
        pixels_equal(input.to_str().unwrap(), &cog);
        assert_ok(
            &py("validate_cog.py", &[cog.to_str().unwrap()]),
            "validate generated cog",
        );
        let store = input.with_extension("zarr");
        assert_ok(
            &arco(&[
                "convert",
                input.to_str().unwrap(),
                "-o",
                store.to_str().unwrap(),
            ]),
            "to geozarr",
        );
        assert_store_reads(&store, &[input.to_str().unwrap()], false);
    }
}

fn assert_clean_error(o: &Output, needle: &str, dir: &Path) {
    assert_eq!(o.status.code(), Some(2), "exit code for: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "stderr should mention {needle}: {err}"
    );
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.contains("out") || n.contains("arco-tmp")),
        "left behind: {left:?}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.tif");
    let o = &out.to_string_lossy();

    assert_clean_error(
        &arco(&["convert", &d.join("nope.tif").to_string_lossy(), "-o", o]),
        "nope.tif",
        d,
    );

    let text = d.join("readme.txt");
    std::fs::write(&text, "hello").unwrap();
    assert_clean_error(
        &arco(&["convert", &text.to_string_lossy(), "-o", o]),
        "not a raster",
        d,
    );

    let (multi, _) = generated(d);
    let bytes = std::fs::read(&multi).unwrap();
    let cut = d.join("cut.tif");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    assert_clean_error(
        &arco(&["convert", &cut.to_string_lossy(), "-o", o]),
        "cut.tif",
        d,
    );

    let m = multi.to_string_lossy();
    assert_clean_error(
        &arco(&["convert", &m, "-o", o, "--compress", "brotli"]),
        "brotli",
        d,
    );
    assert_clean_error(
        &arco(&["convert", &m, "-o", o, "--level", "99"]),
        "--level",
        d,
    );
    assert_clean_error(
        &arco(&["convert", &m, "-o", "/proc/arco-cannot/out.tif"]),
        "/proc/arco-cannot",
        d,
    );
    assert_clean_error(
        &arco(&[
            "convert",
            &m,
            "-o",
            &d.join("out.zarr").to_string_lossy(),
            "--shard",
            "100",
            "--chunks",
            "64",
        ]),
        "--shard",
        d,
    );

    // Inputs on different grids are refused before anything is written.
    let modis = sorted_files(&shared_data("modis-ndvi"), ".jp2");
    assert_clean_error(
        &arco(&[
            "convert",
            &modis[0],
            &m,
            "--to",
            "geozarr",
            "-o",
            &d.join("out.zarr").to_string_lossy(),
            "--dates",
            "2020-01-01,2020-02-01",
        ]),
        "CRS",
        d,
    );

    // An existing output survives a refused run and is replaced with --overwrite.
    std::fs::write(&out, b"precious").unwrap();
    let r = arco(&["convert", &m, "-o", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("--overwrite"));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_ok(&arco(&["convert", &m, "-o", o, "--overwrite"]), "overwrite");
    pixels_equal(&m, &out);
    assert_ok(&py("validate_cog.py", &[o]), "validate the overwritten cog");
}

#[test]
fn netcdf_variables_vrt_and_geopackage_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nc = d.join("vi.nc");
    let gdal_python =
        std::env::var("ARCO_GDAL_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/make_netcdf.py");
    assert_ok(
        &Command::new(gdal_python)
            .arg(script)
            .arg(&nc)
            .output()
            .unwrap(),
        "make_netcdf.py",
    );
    let out = d.join("evi.tif");
    let o = arco(&["convert", nc.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("--variable") && err.contains("ndvi") && err.contains("evi"),
        "{err}"
    );
    assert_ok(
        &arco(&[
            "convert",
            nc.to_str().unwrap(),
            "--variable",
            "evi",
            "-o",
            out.to_str().unwrap(),
        ]),
        "netcdf variable",
    );
    let sub = format!("NETCDF:\"{}\":evi", nc.display());
    pixels_equal(&sub, &out);
    assert_ok(
        &py("validate_cog.py", &[out.to_str().unwrap()]),
        "validate netcdf cog",
    );

    // A VRT over the generated multi-band raster, keeping bands 3 and 1.
    let (multi, _) = generated(d);
    let vrt = d.join("sel.vrt");
    let src = Dataset::open(&multi).unwrap();
    gdal::programs::raster::build_vrt(Some(&vrt), &[src], None).unwrap();
    let out = d.join("from_vrt.tif");
    assert_ok(
        &arco(&[
            "convert",
            vrt.to_str().unwrap(),
            "--bands",
            "3,1",
            "-o",
            out.to_str().unwrap(),
        ]),
        "vrt with --bands",
    );
    assert_ok(
        &py("validate_cog.py", &[out.to_str().unwrap()]),
        "validate vrt cog",
    );
    let got = Dataset::open(&out).unwrap();
    assert_eq!(got.raster_count(), 2);
    let want = Dataset::open(&multi)
        .unwrap()
        .rasterband(3)
        .unwrap()
        .read_band_as::<f32>()
        .unwrap();
    let have = got.rasterband(1).unwrap().read_band_as::<f32>().unwrap();
    assert!(want
        .data()
        .iter()
        .zip(have.data())
        .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
    let want = Dataset::open(&multi)
        .unwrap()
        .rasterband(1)
        .unwrap()
        .read_band_as::<f32>()
        .unwrap();
    let have = got.rasterband(2).unwrap().read_band_as::<f32>().unwrap();
    assert!(
        want.data()
            .iter()
            .zip(have.data())
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
        "band 2 of the output is input band 1"
    );

    // A GeoPackage raster (RGBA byte tiles).
    let gpkg = d.join("tiles.gpkg");
    let gdriver = DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = gdriver
        .create_with_band_type_with_options::<u8, _>(
            &gpkg,
            300,
            200,
            3,
            &RasterCreationOptions::new(),
        )
        .unwrap();
    ds.set_geo_transform(&[0.0, 10.0, 0.0, 2000.0, 0.0, -10.0])
        .unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(3857).unwrap())
        .unwrap();
    for b in 1..=3 {
        let data: Vec<u8> = (0..300 * 200).map(|p| ((p * b) % 251) as u8).collect();
        ds.rasterband(b)
            .unwrap()
            .write((0, 0), (300, 200), &mut Buffer::new((300, 200), data))
            .unwrap();
    }
    drop(ds);
    let out = d.join("from_gpkg.tif");
    assert_ok(
        &arco(&[
            "convert",
            gpkg.to_str().unwrap(),
            "--bands",
            "1,2,3",
            "-o",
            out.to_str().unwrap(),
        ]),
        "gpkg",
    );
    let a = Dataset::open(&gpkg).unwrap();
    let b = Dataset::open(&out).unwrap();
    for i in 1..=3 {
        assert_eq!(
            a.rasterband(i)
                .unwrap()
                .read_band_as::<u8>()
                .unwrap()
                .data(),
            b.rasterband(i)
                .unwrap()
                .read_band_as::<u8>()
                .unwrap()
                .data()
        );
    }
    assert_ok(
        &py("validate_cog.py", &[out.to_str().unwrap()]),
        "validate gpkg cog",
    );
}

#[test]
fn view_reports_layout_of_cogs_and_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (multi, _) = generated(dir.path());
    let cog = dir.path().join("v.tif");
    let store = dir.path().join("v.zarr");
    let m = multi.to_str().unwrap();
    assert_ok(
        &arco(&[
            "convert",
            m,
            "-o",
            cog.to_str().unwrap(),
            "--blocksize",
            "128",
        ]),
        "to cog",
    );
    assert_ok(
        &arco(&[
            "convert",
            m,
            "-o",
            store.to_str().unwrap(),
            "--chunks",
            "64",
        ]),
        "to zarr",
    );

    let o = arco(&["view", cog.to_str().unwrap(), "--json"]);
    assert_ok(&o, "view cog");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layout"], "COG");
    assert_eq!(v["compression"], "ZSTD");
    assert_eq!(v["overviews"], 2); // 333x257 -> 167x129 -> 84x65
    assert_eq!(v["block"], serde_json::json!([128, 128]));
    assert_eq!(v["crs"], "EPSG:4326");
    assert_eq!(v["bands"].as_array().unwrap().len(), 3);

    let o = arco(&["view", store.to_str().unwrap(), "--json"]);
    assert_ok(&o, "view store");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let data = v["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "data")
        .expect("data array listed");
    assert_eq!(data["shape"], serde_json::json!([3, 257, 333]));
    assert_eq!(
        data["dimension_names"],
        serde_json::json!(["band", "y", "x"])
    );

    let o = arco(&["view", dir.path().join("missing.tif").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.tif"));
}
