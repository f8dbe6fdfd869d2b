//! End-to-end tests of `arco reconstruct` on the real CBERS and MODIS series
//! in `../shared/data`: gaps hidden on purpose are filled better than by
//! linear interpolation, observed values are kept, the quality series says
//! what happened, outputs pass the validators, and bad input fails cleanly.

// Exact float comparisons are the point: observed values must be kept as
// they are. The RMSE figures are printed for the record (cargo test -- --nocapture).
#![allow(clippy::float_cmp, clippy::print_stdout)]

use gdal::raster::Buffer;
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};

mod common;
use common::{
    arco, assert_ok, file_tree as tree, py, shared_data as shared, sorted_paths as files,
};

fn read(path: &Path) -> Vec<f64> {
    let ds = Dataset::open(path).unwrap();
    ds.rasterband(1)
        .unwrap()
        .read_band_as::<f64>()
        .unwrap()
        .data()
        .to_vec()
}

/// Copies a series into `dir`, hiding a seeded 10 % of the valid samples
/// (set to nodata). Returns the copies, the truth per date and the hidden mask.
/// The data COGs a `--json` summary lists, in date order.
fn data_cogs(summary: &serde_json::Value) -> Vec<&str> {
    summary["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["role"] == "data"
                && Path::new(r["path"].as_str().unwrap())
                    .extension()
                    .is_some_and(|e| e == "tif")
        })
        .map(|r| r["path"].as_str().unwrap())
        .collect()
}

fn hide_ten_percent(
    series: &[PathBuf],
    dir: &Path,
    nodata: f64,
    seed: u64,
) -> (Vec<PathBuf>, Vec<Vec<f64>>, Vec<Vec<bool>>) {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let gtiff = DriverManager::get_driver_by_name("GTiff").unwrap();
    let (mut copies, mut truth, mut hidden) = (Vec::new(), Vec::new(), Vec::new());
    for src in series {
        let ds = Dataset::open(src).unwrap();
        let (w, h) = ds.raster_size();
        let values = read(src);
        let mut hide = vec![false; values.len()];
        let mut out = values.clone();
        for (i, v) in values.iter().enumerate() {
            if *v != nodata && next() % 10 == 0 {
                hide[i] = true;
                out[i] = nodata;
            }
        }
        let name = src
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".jp2", ".tif");
        let path = dir.join(name);
        let mut copy = gtiff
            .create_with_band_type::<f64, _>(&path, w, h, 1)
            .unwrap();
        copy.set_geo_transform(&ds.geo_transform().unwrap())
            .unwrap();
        copy.set_spatial_ref(&ds.spatial_ref().unwrap()).unwrap();
        let mut band = copy.rasterband(1).unwrap();
        band.set_no_data_value(Some(nodata)).unwrap();
        band.write((0, 0), (w, h), &mut Buffer::new((w, h), out))
            .unwrap();
        copies.push(path);
        truth.push(values);
        hidden.push(hide);
    }
    (copies, truth, hidden)
}

/// RMSE on the hidden samples of outputs `out` (one per date).
fn rmse(out: &[Vec<f64>], truth: &[Vec<f64>], hidden: &[Vec<bool>]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for ((o, t), h) in out.iter().zip(truth).zip(hidden) {
        for i in 0..o.len() {
            if h[i] {
                sum += (o[i] - t[i]).powi(2);
                n += 1;
            }
        }
    }
    (sum / n as f64).sqrt()
}

/// Linear interpolation over time of the same gappy series, as the baseline.
fn linear_baseline(copies: &[PathBuf], nodata: f64) -> Vec<Vec<f64>> {
    let frames: Vec<Vec<f64>> = copies.iter().map(|p| read(p)).collect();
    let (n, px) = (frames.len(), frames[0].len());
    let mut out = vec![vec![0.0; px]; n];
    let mut s = vec![0.0; n];
    for p in 0..px {
        for t in 0..n {
            s[t] = if frames[t][p] == nodata {
                f64::NAN
            } else {
                frames[t][p]
            };
        }
        arco_reconstruct::linear_interp_fill(&mut s);
        for t in 0..n {
            out[t][p] = s[t];
        }
    }
    out
}

/// The summary's phases: reading, filling and writing each took time, and
/// with the rest (`other`) they add up to the run's elapsed time.
fn assert_phases(summary: &serde_json::Value) {
    let p = &summary["phases_s"];
    let secs = |k: &str| {
        p[k].as_f64()
            .unwrap_or_else(|| panic!("phases_s.{k} in {summary}"))
    };
    let (r, f, w, o) = (secs("read"), secs("fill"), secs("write"), secs("other"));
    let elapsed = summary["elapsed_s"].as_f64().unwrap();
    assert!(r > 0.0 && f > 0.0 && w > 0.0 && o >= 0.0, "{p}");
    assert!(r + f + w <= elapsed, "phases {p} within {elapsed} s");
    assert!(
        (r + f + w + o - elapsed).abs() < 1e-9,
        "{p} adds up to {elapsed} s"
    );
}

fn run_and_read(
    copies: &[PathBuf],
    out: &Path,
    extra: &[&str],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>, serde_json::Value) {
    let mut args = vec!["reconstruct"];
    let c: Vec<String> = copies
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(c.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap(), "--json", "--overwrite"]);
    args.extend(extra);
    let o = arco(&args);
    assert_ok(&o, "arco reconstruct");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut data = Vec::new();
    let mut quality = Vec::new();
    for rec in summary["outputs"].as_array().unwrap() {
        let path = PathBuf::from(rec["path"].as_str().unwrap());
        if path.extension().is_some_and(|e| e == "tif") {
            match rec["role"].as_str().unwrap() {
                "data" => data.push(read(&path)),
                _ => quality.push(read(&path)),
            }
        }
    }
    (data, quality, summary)
}

#[test]
fn cbers_hidden_gaps_swag_beats_linear_and_keeps_observations() {
    let dir = tempfile::tempdir().unwrap();
    let b13 = files(&shared("cbers-awfi"), "_B13_");
    let (copies, truth, hidden) = hide_ten_percent(&b13, dir.path(), -9999.0, 7);
    let out = dir.path().join("out");
    let (swag, quality, summary) = run_and_read(&copies, &out, &["--to", "cog,geozarr"]);
    let (swag_sg, _, _) = run_and_read(&copies, &dir.path().join("out_sg"), &["--sg", "5,2"]);
    let linear = linear_baseline(&copies, -9999.0);
    let (e_swag, e_sg, e_lin) = (
        rmse(&swag, &truth, &hidden),
        rmse(&swag_sg, &truth, &hidden),
        rmse(&linear, &truth, &hidden),
    );
    println!("CBERS B13, 10 % hidden: RMSE SWAG {e_swag:.2}, SWAG+SG {e_sg:.2}, linear {e_lin:.2}");
    assert!(
        e_swag < e_lin,
        "SWAG {e_swag} should beat linear interpolation {e_lin}"
    );

    let n_hidden: usize = hidden
        .iter()
        .map(|h| h.iter().filter(|x| **x).count())
        .sum();
    let band = &summary["bands"][0];
    assert_eq!(
        band["filled"].as_u64().unwrap() + band["unfillable"].as_u64().unwrap(),
        n_hidden as u64
    );
    for t in 0..swag.len() {
        for i in 0..swag[t].len() {
            if hidden[t][i] {
                assert!(
                    (1.0..=99.0).contains(&quality[t][i]),
                    "filled sample quality {}",
                    quality[t][i]
                );
            } else {
                assert_eq!(
                    swag[t][i], truth[t][i],
                    "observed value changed at date {t} pixel {i}"
                );
                assert_eq!(quality[t][i], 100.0);
            }
        }
    }
    // Every output is valid for the real readers.
    let cogs: Vec<String> = summary["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .filter(|p| Path::new(p).extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(cogs.len(), 2 * b13.len());
    let refs: Vec<&str> = cogs.iter().map(String::as_str).collect();
    assert_ok(&py("validate_cog.py", &refs), "validate reconstructed COGs");
    let data_cogs = data_cogs(&summary);
    let store = out.join("CBERS-4_AWFI_022024_B13.zarr");
    let mut check = vec![store.to_str().unwrap(), "--require-gdal", "--reference"];
    check.extend(data_cogs);
    assert_ok(&py("check_zarr.py", &check), "check the reconstructed cube");
    assert!(
        !std::fs::read_dir(&out).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".arco")),
        "temporary frames left behind"
    );
}

#[test]
fn modis_hidden_gaps_are_all_filled_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let series = files(&shared("modis-ndvi"), ".jp2");
    let (copies, truth, hidden) = hide_ten_percent(&series, dir.path(), -3000.0, 11);
    // Twelve roughly monthly dates: one sample per month, season 12.
    let (swag, _, summary) = run_and_read(&copies, &dir.path().join("o"), &["--season", "12"]);
    let linear = linear_baseline(&copies, -3000.0);
    let (e_swag, e_lin) = (rmse(&swag, &truth, &hidden), rmse(&linear, &truth, &hidden));
    println!("MODIS NDVI, 10 % hidden: RMSE SWAG {e_swag:.1}, linear {e_lin:.1}");
    // Every missing sample (hidden, or -3000 fill already in the product) is
    // filled: the symmetric kernel always reaches observed dates of the
    // same pixel. Observed samples are untouched.
    let missing = |t: usize, i: usize| hidden[t][i] || truth[t][i] == -3000.0;
    let n_missing = (0..truth.len())
        .flat_map(|t| (0..truth[t].len()).map(move |i| (t, i)))
        .filter(|&(t, i)| missing(t, i))
        .count();
    assert_eq!(summary["bands"][0]["filled"], n_missing as u64);
    assert_eq!(summary["bands"][0]["unfillable"], 0);
    for t in 0..swag.len() {
        for i in 0..swag[t].len() {
            if !missing(t, i) {
                assert_eq!(swag[t][i], truth[t][i], "observed MODIS value changed");
            }
        }
    }
    assert!(e_swag.is_finite() && e_lin.is_finite());
}

#[test]
fn bad_series_exit_2_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("cbers-awfi");
    let b13: Vec<String> = files(&data, "_B13_")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let masks: Vec<String> = files(&data, "_CMASK_")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let out = dir.path().join("out");
    let o_str = out.to_string_lossy().into_owned();
    let check = |args: Vec<&str>, needle: &str| {
        let o = arco(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
        let left = std::fs::read_dir(&out).map_or(0, Iterator::count);
        assert_eq!(left, 0, "outputs left behind");
    };
    // The same date twice.
    let mut args = vec![
        "reconstruct",
        &b13[0],
        &b13[1],
        "-o",
        &o_str,
        "--dates",
        "2018-02-02,2018-02-02",
    ];
    check(args.clone(), "same date");
    // A quality raster missing for one date.
    args = vec![
        "reconstruct",
        &b13[0],
        &b13[1],
        &b13[2],
        "--qa",
        &masks[0],
        &masks[1],
        "--mask",
        "cmask",
        "-o",
        &o_str,
    ];
    check(args, "no quality raster");
    // Grids that differ.
    let modis = files(&shared("modis-ndvi"), ".jp2")[0]
        .to_string_lossy()
        .into_owned();
    args = vec![
        "reconstruct",
        &b13[0],
        &modis,
        "-o",
        &o_str,
        "--dates",
        "2018-02-02,2018-03-02",
    ];
    check(args, "not on the grid");
    // A Savitzky-Golay window longer than the series.
    args = vec![
        "reconstruct",
        &b13[0],
        &b13[1],
        &b13[2],
        "-o",
        &o_str,
        "--sg",
        "7,2",
        "--season",
        "23",
    ];
    check(args, "--sg window");
    // Codecs that do not fit the outputs asked for.
    let three = [&b13[0], &b13[1], &b13[2]].map(String::as_str);
    let with = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["reconstruct".into()];
        v.extend(three.iter().map(ToString::to_string));
        v.extend(["-o".into(), o_str.clone(), "--season".into(), "3".into()]);
        v.extend(extra.iter().map(ToString::to_string));
        v
    };
    for (extra, needle) in [
        (&["--compress", "lz4"][..], "COG takes zstd"),
        (&["--compress", "webp"][..], "lossy"),
        (
            &["--compress", "deflate", "--to", "geozarr"][..],
            "cubes take zstd",
        ),
        (
            &["--compress", "lz4", "--to", "geozarr", "--level", "12"][..],
            "0..=9",
        ),
        (
            &["--compress", "none", "--to", "geozarr", "--level", "1"][..],
            "no levels",
        ),
    ] {
        let v = with(extra);
        check(v.iter().map(String::as_str).collect(), needle);
    }
}

#[test]
fn cbers_monthly_aggregation_means_the_dates_of_each_month() {
    let dir = tempfile::tempdir().unwrap();
    let b13 = files(&shared("cbers-awfi"), "_B13_");
    let out = dir.path().join("monthly");
    let mut args = vec!["reconstruct".to_string()];
    args.extend(b13.iter().map(|p| p.to_string_lossy().into_owned()));
    args.extend(["-o", out.to_str().unwrap(), "--aggregate", "1M", "--json"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = arco(&refs);
    assert_ok(&o, "reconstruct --aggregate 1M");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["swag"]["season"], 12, "season from the cadence");
    let data: Vec<&serde_json::Value> = summary["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "data")
        .collect();
    // 2018-02-02 .. 2018-08-29: February to August.
    let dates: Vec<&str> = data
        .iter()
        .map(|r| r["datetime"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2018-02-01T00:00:00Z",
            "2018-03-01T00:00:00Z",
            "2018-04-01T00:00:00Z",
            "2018-05-01T00:00:00Z",
            "2018-06-01T00:00:00Z",
            "2018-07-01T00:00:00Z",
            "2018-08-01T00:00:00Z"
        ]
    );
    // February holds 2018-02-02 and 2018-02-18: its value is their mean
    // wherever both are valid (rounded to the integer type).
    let (a, b) = (read(&b13[0]), read(&b13[1]));
    let feb = read(Path::new(data[0]["path"].as_str().unwrap()));
    let mut checked = 0;
    for i in 0..feb.len() {
        if a[i] != -9999.0 && b[i] != -9999.0 {
            assert!(
                (feb[i] - f64::midpoint(a[i], b[i])).abs() <= 0.5,
                "pixel {i}: {} vs mean of {} and {}",
                feb[i],
                a[i],
                b[i]
            );
            checked += 1;
        }
    }
    assert!(checked > 2000, "{checked} pixels checked");
}

#[test]
fn a_geozarr_cube_input_gives_the_same_result_as_its_rasters() {
    let dir = tempfile::tempdir().unwrap();
    let b13 = files(&shared("cbers-awfi"), "_B13_");
    let (copies, _, _) = hide_ten_percent(&b13, dir.path(), -9999.0, 3);
    let cube = dir.path().join("b13.zarr");
    let mut args = vec!["convert".to_string()];
    args.extend(copies.iter().map(|p| p.to_string_lossy().into_owned()));
    args.extend(["-o", cube.to_str().unwrap(), "--quiet"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_ok(&arco(&refs), "rasters to a cube");
    let (from_rasters, q1, _) = run_and_read(&copies, &dir.path().join("a"), &[]);
    let (from_cube, q2, summary) = run_and_read(&[cube], &dir.path().join("b"), &[]);
    assert_eq!(from_cube.len(), 14);
    assert_eq!(from_cube, from_rasters);
    assert_eq!(q1, q2);
    assert!(summary["bands"][0]["filled"].as_u64().unwrap() > 3000);
}

#[test]
fn float64_observations_are_kept_exactly() {
    // Regression: observed values went through f32 with the filling and
    // came out rounded for float64 inputs.
    let dir = tempfile::tempdir().unwrap();
    let gtiff = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut inputs = Vec::new();
    let mut truth = Vec::new();
    for t in 0..6 {
        let path = dir.path().join(format!("x_2020-{:02}-01.tif", t + 1));
        let mut ds = gtiff
            .create_with_band_type::<f64, _>(&path, 4, 3, 1)
            .unwrap();
        ds.set_geo_transform(&[0.0, 1.0, 0.0, 3.0, 0.0, -1.0])
            .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        band.set_no_data_value(Some(-1.0)).unwrap();
        let v: Vec<f64> = (0..12)
            .map(|p| {
                if t == 2 && p == 5 {
                    -1.0
                } else {
                    0.1 + f64::from(p * 7 + t) * 1e-9
                }
            })
            .collect();
        band.write((0, 0), (4, 3), &mut Buffer::new((4, 3), v.clone()))
            .unwrap();
        inputs.push(path);
        truth.push(v);
    }
    let (out, _, summary) = run_and_read(&inputs, &dir.path().join("o"), &["--season", "12"]);
    assert_eq!(summary["bands"][0]["filled"], 1);
    for t in 0..6 {
        for p in 0..12 {
            if !(t == 2 && p == 5) {
                assert_eq!(out[t][p], truth[t][p], "date {t} pixel {p}");
            }
        }
    }
}

#[test]
fn cubes_written_region_by_region_equal_the_cubes_written_from_frames() {
    // `--to geozarr` alone writes each chunk straight from the filled
    // region; with COGs too the cubes come from the per-date frames. On a
    // grid of 2 x 2 chunks with clipped edges and one overview level, with
    // integer rounding, nodata and unfillable pixels, both give the same
    // store, chunk for chunk, and the same statistics. `--to cog` alone
    // fills the grid in strips of whole rows that go straight into the
    // COGs: the same COGs, byte for byte, as through the frames.
    let dir = tempfile::tempdir().unwrap();
    let gtiff = DriverManager::get_driver_by_name("GTiff").unwrap();
    let (w, h) = (700usize, 600usize);
    let mut inputs = Vec::new();
    let mut state = 11u64;
    for t in 0..12 {
        let path = dir.path().join(format!("b_2021-{:02}-01.tif", t + 1));
        let mut ds = gtiff
            .create_with_band_type::<u16, _>(&path, w, h, 1)
            .unwrap();
        ds.set_geo_transform(&[500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0])
            .unwrap();
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32633).unwrap())
            .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        band.set_no_data_value(Some(0.0)).unwrap();
        let v: Vec<u16> = (0..w * h)
            .map(|p| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // 35 % gaps; the first 40 columns are never observed.
                if p % w < 40 || state % 100 < 35 {
                    0
                } else {
                    (1000 + (p % 977) * 3 + t * 50) as u16
                }
            })
            .collect();
        band.write((0, 0), (w, h), &mut Buffer::new((w, h), v))
            .unwrap();
        inputs.push(path.to_string_lossy().into_owned());
    }
    let run = |out: &Path, to: &str, frames: bool| -> serde_json::Value {
        let mut args: Vec<&str> = vec!["reconstruct"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend([
            "-o",
            out.to_str().unwrap(),
            "--to",
            to,
            "--season",
            "12",
            "--json",
        ]);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_arco"));
        cmd.args(&args);
        if frames {
            cmd.env("ARCO_RECONSTRUCT_FRAMES", "1");
        }
        let o = cmd.output().unwrap();
        assert_ok(&o, &format!("reconstruct --to {to} (frames: {frames})"));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (a, b) = (dir.path().join("regions"), dir.path().join("frames"));
    let sa = run(&a, "geozarr", false);
    let sb = run(&b, "cog,geozarr", true);
    let s = dir.path().join("strips");
    let ss = run(&s, "cog", false);
    assert_eq!(sa["bands"], sb["bands"], "the same counts");
    assert_eq!(ss["bands"], sb["bands"], "the same counts in strips");
    // Every path times its phases within the run.
    assert_phases(&sa);
    assert_phases(&sb);
    assert_phases(&ss);
    // Strips and frames: the same COGs, byte for byte, and the same
    // records.
    let (ts, tf) = (tree(&s), tree(&b));
    let has_ext = |k: &str, e: &str| Path::new(k).extension().is_some_and(|x| x == e);
    let compared = |t: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<String> {
        t.keys().filter(|k| has_ext(k, "tif")).cloned().collect()
    };
    assert_eq!(
        compared(&ts),
        compared(&tf),
        "the same files in strips and frames"
    );
    assert_eq!(compared(&ts).len(), 24, "12 data and 12 quality COGs");
    for k in compared(&ts) {
        assert!(ts[&k] == tf[&k], "{k} differs between strips and frames");
    }
    // The COGs' records but their paths.
    let records = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["format"] == "cog")
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("path");
                r
            })
            .collect()
    };
    let (rs, rf) = (records(&ss), records(&sb));
    assert_eq!((rs.len(), rf.len()), (24, 24));
    for (x, y) in rs.iter().zip(&rf) {
        assert!(
            x == y,
            "records differ: {} vs {}",
            x["datetime"],
            y["datetime"]
        );
    }
    // A cube of the same inputs read back takes the time-major path (no
    // transposes): its chunks equal the frames path's too.
    let cube = dir.path().join("cube").join("b.zarr");
    std::fs::create_dir(dir.path().join("cube")).unwrap();
    let mut conv: Vec<&str> = vec!["convert"];
    conv.extend(inputs.iter().map(String::as_str));
    conv.extend(["-o", cube.to_str().unwrap(), "--quiet"]);
    assert_ok(&arco(&conv), "rasters to a cube");
    // The cube `input` reconstructed into `out` with `extra` options: the
    // summary.
    let reconstruct_cube = |input: &Path, out: &Path, extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "reconstruct",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(["--to", "geozarr", "--season", "12", "--json"]);
        args.extend(extra);
        let o = arco(&args);
        assert_ok(
            &o,
            &format!("reconstruct from {} {extra:?}", input.display()),
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let from_cube = |out: &Path, extra: &[&str]| reconstruct_cube(&cube, out, extra);
    let c = dir.path().join("from_cube");
    let sc = from_cube(&c, &[]);
    assert_eq!(sc["bands"], sb["bands"], "the same counts from the cube");
    // `--to cog` from the cube: its strips are filled time-major, in place,
    // and give the same COGs as the rasters through frames.
    let cc = dir.path().join("cogs_from_cube");
    let o = arco(&[
        "reconstruct",
        cube.to_str().unwrap(),
        "-o",
        cc.to_str().unwrap(),
        "--to",
        "cog",
        "--season",
        "12",
        "--json",
    ]);
    assert_ok(&o, "reconstruct the cube --to cog");
    let scc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        scc["bands"], sb["bands"],
        "the same counts, COGs from the cube"
    );
    let tcc = tree(&cc);
    assert_eq!(compared(&tcc), compared(&tf), "the same COGs from the cube");
    for k in compared(&tcc) {
        assert!(
            tcc[&k] == tf[&k],
            "{k} differs between the cube's strips and frames"
        );
    }
    for cube in ["b.zarr", "b_quality.zarr"] {
        let (tc, tb) = (tree(&c.join(cube)), tree(&b.join(cube)));
        let chunks = |t: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<String> {
            t.keys().filter(|k| k.contains("/c/")).cloned().collect()
        };
        assert_eq!(chunks(&tc), chunks(&tb), "{cube}: the same chunks");
        assert!(chunks(&tc).len() > 40, "{cube}");
        for k in chunks(&tc) {
            assert!(
                tc[&k] == tb[&k],
                "{cube}/{k} differs between cube and rasters"
            );
        }
    }
    // The fastest codec: the same values as the frames path's COGs, read
    // through xarray (blosc with LZ4 is numcodecs' own).
    let l = dir.path().join("lz4");
    let sl = from_cube(&l, &["--compress", "lz4"]);
    assert_eq!(sl["bands"], sb["bands"], "the same counts with lz4");
    let lz4_arrays = tree(&l.join("b.zarr"))
        .iter()
        .filter(|(k, v)| k.ends_with("zarr.json") && String::from_utf8_lossy(v).contains("\"lz4\""))
        .count();
    assert!(lz4_arrays >= 2, "data arrays of both levels say blosc/lz4");
    let cogs = data_cogs(&sb);
    assert_eq!(cogs.len(), 12);
    let store = l.join("b.zarr");
    let mut check = vec![store.to_str().unwrap(), "--reference"];
    check.extend(cogs);
    assert_ok(&py("check_zarr.py", &check), "xarray reads the lz4 cube");
    // Chunks over 5 dates (the last block short) and 256 pixels, from a
    // cube of 512-pixel chunks: regions hold whole chunks of both, and
    // xarray reads the same values.
    let k = dir.path().join("chunked");
    let sk = from_cube(&k, &["--chunks", "5,256,256"]);
    assert_eq!(sk["bands"], sb["bands"], "the same counts with --chunks");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(k.join("b.zarr/data/zarr.json")).unwrap()).unwrap();
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([5, 256, 256])
    );
    let store = k.join("b.zarr");
    let mut check = vec![store.to_str().unwrap(), "--reference"];
    check.extend(data_cogs(&sb));
    assert_ok(
        &py("check_zarr.py", &check),
        "xarray reads the chunked cube",
    );
    // The filled cubes as inputs in turn. The plain one's whole 512-px
    // chunks are decoded straight into the region (its clipped edge chunks
    // go through zarrs); the two others go through zarrs throughout (blocks
    // of 5 dates, the last one short; blosc/lz4). They hold the same
    // values, so filling them again gives the same chunks.
    let refill = |name: &str, input: &Path| {
        let out = dir.path().join(name);
        let summary = reconstruct_cube(&input.join("b.zarr"), &out, &[]);
        let chunks: Vec<_> = ["b.zarr", "b_quality.zarr"]
            .iter()
            .flat_map(|cube| {
                tree(&out.join(cube))
                    .into_iter()
                    .filter(|(k, _)| k.contains("/c/"))
                    .map(move |(k, v)| (format!("{cube}/{k}"), v))
            })
            .collect();
        (summary["bands"].clone(), chunks)
    };
    let plain = refill("re_plain", &c);
    assert!(plain.1.len() > 40);
    let count = |v: &serde_json::Value, k: &str| v[0][k].as_u64().unwrap();
    assert_eq!(
        count(&plain.0, "observed"),
        count(&sc["bands"], "observed") + count(&sc["bands"], "filled"),
        "what the first run filled is observed in the second"
    );
    for (name, input) in [("re_chunked", &k), ("re_lz4", &l)] {
        let again = refill(name, input);
        assert_eq!(again.0, plain.0, "{name}: the same counts");
        assert!(again.1 == plain.1, "{name}: the same chunks");
    }
    for bad in [
        &["--chunks", "0,256,256"][..],
        &["--chunks", "5,256"],
        &["--chunks", "256", "--to", "cog"],
    ] {
        let mut args = vec!["reconstruct", cube.to_str().unwrap(), "-o"];
        let bad_out = dir.path().join("bad_chunks");
        let bad_out = bad_out.to_str().unwrap();
        args.push(bad_out);
        args.extend(bad);
        let o = arco(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", common::stderr(&o));
        assert!(common::stderr(&o).contains("--chunks"), "{bad:?}");
        assert!(!dir.path().join("bad_chunks").exists(), "{bad:?}");
    }
    assert!(sa["bands"][0]["unfillable"].as_u64().unwrap() >= 40 * 600 * 12);
    assert!(sa["bands"][0]["filled"].as_u64().unwrap() > 1_000_000);
    for cube in ["b.zarr", "b_quality.zarr"] {
        let (ta, tb) = (tree(&a.join(cube)), tree(&b.join(cube)));
        assert!(
            ta.keys().any(|k| k.starts_with("1/")),
            "{cube}: an overview level"
        );
        assert!(ta.len() > 40, "{cube}: {} files", ta.len());
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
        for (k, v) in &ta {
            assert!(v == &tb[k], "{cube}/{k} differs between the two writers");
        }
    }
    let outputs = |s: &serde_json::Value| -> Vec<serde_json::Value> {
        s["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                Path::new(r["path"].as_str().unwrap())
                    .extension()
                    .is_some_and(|e| e == "zarr")
            })
            .cloned()
            .collect()
    };
    let (oa, ob) = (outputs(&sa), outputs(&sb));
    assert_eq!(oa.len(), 2);
    for (ra, rb) in oa.iter().zip(&ob) {
        let (x, y) = (&ra["bands"][0]["statistics"], &rb["bands"][0]["statistics"]);
        for key in ["minimum", "maximum", "mean", "stddev", "valid_percent"] {
            let (u, v) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!(
                (u - v).abs() <= 1e-9 * v.abs().max(1.0),
                "{key}: {u} vs {v}"
            );
        }
    }
}

#[test]
fn several_bands_fill_each_band_as_its_own_run_would() {
    // Two-band rasters (CBERS B13 and B16 with gaps hidden) with --band
    // 1,2: each band's outputs, named _b1 and _b2, equal a one-band run on
    // that band's rasters, and the summary counts each band apart.
    let dir = tempfile::tempdir().unwrap();
    let cbers = shared("cbers-awfi");
    let (d13, d16) = (dir.path().join("b13"), dir.path().join("b16"));
    std::fs::create_dir_all(&d13).unwrap();
    std::fs::create_dir_all(&d16).unwrap();
    let (b13, _, _) = hide_ten_percent(&files(&cbers, "_B13_"), &d13, -9999.0, 5);
    let (b16, _, _) = hide_ten_percent(&files(&cbers, "_B16_"), &d16, -9999.0, 6);
    let gtiff = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut stacks = Vec::new();
    for (a, b) in b13.iter().zip(&b16) {
        let src = Dataset::open(a).unwrap();
        let (w, h) = src.raster_size();
        let date = &a.file_stem().unwrap().to_string_lossy()[24..];
        let path = dir.path().join(format!("awfi_{date}.tif"));
        let mut ds = gtiff
            .create_with_band_type::<f64, _>(&path, w, h, 2)
            .unwrap();
        ds.set_geo_transform(&src.geo_transform().unwrap()).unwrap();
        ds.set_spatial_ref(&src.spatial_ref().unwrap()).unwrap();
        for (i, one) in [a, b].into_iter().enumerate() {
            let mut band = ds.rasterband(i + 1).unwrap();
            band.set_no_data_value(Some(-9999.0)).unwrap();
            band.write((0, 0), (w, h), &mut Buffer::new((w, h), read(one)))
                .unwrap();
        }
        stacks.push(path);
    }
    let out = dir.path().join("both");
    let (both, both_q, summary) =
        run_and_read(&stacks, &out, &["--band", "1,2", "--to", "cog,geozarr"]);
    let (one13, q13, s13) = run_and_read(&b13, &dir.path().join("one13"), &[]);
    let (one16, q16, s16) = run_and_read(&b16, &dir.path().join("one16"), &[]);
    assert_eq!(one13.len(), 14);
    assert_eq!(both.len(), 28, "a data COG per band and date");
    assert_eq!(both[..14], one13[..]);
    assert_eq!(both[14..], one16[..]);
    assert_eq!(both_q[..14], q13[..]);
    assert_eq!(both_q[14..], q16[..]);
    assert_ne!(one13, one16);
    let bands = summary["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 2);
    for (b, (entry, single)) in bands.iter().zip([&s13, &s16]).enumerate() {
        assert_eq!(entry["band"], b + 1);
        for k in ["observed", "filled", "unfillable", "masked"] {
            assert_eq!(entry[k], single["bands"][0][k], "band {} {k}", b + 1);
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "awfi_b1_2018-02-02.tif",
        "awfi_b2_quality_2018-02-02.tif",
        "awfi_b1.zarr",
        "awfi_b2_quality.zarr",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // One Item per band and date for the COGs, and per band for the cubes.
    let items = names.iter().filter(|n| {
        Path::new(n).extension().is_some_and(|e| e == "json") && *n != "collection.json"
    });
    assert_eq!(items.count(), 2 * 14 + 2, "{names:?}");
    // A band the rasters do not have stops the run before anything is written.
    let o = arco(&[
        "reconstruct",
        stacks[0].to_str().unwrap(),
        stacks[1].to_str().unwrap(),
        "--band",
        "1,3",
        "-o",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(!dir
        .path()
        .join("bad")
        .join("awfi_b1_2018-02-02.tif")
        .exists());
}

#[test]
fn empty_regions_of_a_cube_input_are_skipped_with_the_same_result() {
    // A series whose right half is nodata at every date: its cube stores no
    // chunk there. Reconstructing the cube skips those regions (nothing read
    // or written) and gives the same chunks, counts and statistics as the
    // frames path from the rasters, which computes every pixel.
    let dir = tempfile::tempdir().unwrap();
    let gtiff = DriverManager::get_driver_by_name("GTiff").unwrap();
    let (w, h) = (48usize, 20usize);
    let mut inputs = Vec::new();
    for t in 0..8 {
        let path = dir.path().join(format!("e_2021-{:02}-01.tif", t + 1));
        let mut ds = gtiff
            .create_with_band_type::<u16, _>(&path, w, h, 1)
            .unwrap();
        ds.set_geo_transform(&[500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0])
            .unwrap();
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32633).unwrap())
            .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        band.set_no_data_value(Some(0.0)).unwrap();
        let v: Vec<u16> = (0..w * h)
            .map(|p| {
                let (x, y) = (p % w, p / w);
                if x >= 32 || (x + y + t) % 3 == 0 {
                    0
                } else {
                    (100 + x * 7 + y * 3 + t * 11) as u16
                }
            })
            .collect();
        band.write((0, 0), (w, h), &mut Buffer::new((w, h), v))
            .unwrap();
        inputs.push(path.to_string_lossy().into_owned());
    }
    let cube = dir.path().join("cube").join("e.zarr");
    std::fs::create_dir(dir.path().join("cube")).unwrap();
    let mut conv: Vec<&str> = vec!["convert"];
    conv.extend(inputs.iter().map(String::as_str));
    conv.extend([
        "-o",
        cube.to_str().unwrap(),
        "--chunks",
        "1,16,16",
        "--quiet",
    ]);
    assert_ok(&arco(&conv), "rasters to a cube of 16 px chunks");
    assert!(
        !cube.join("data/c/0/0/2").exists(),
        "the empty third column of chunks is not stored"
    );
    let run = |inputs: &[&str], out: &Path, to: &str| -> serde_json::Value {
        let mut args: Vec<&str> = vec!["reconstruct"];
        args.extend(inputs);
        args.extend([
            "-o",
            out.to_str().unwrap(),
            "--to",
            to,
            "--season",
            "12",
            "--chunks",
            "1,16,16",
            "--json",
        ]);
        let o = arco(&args);
        assert_ok(&o, &format!("reconstruct --to {to}"));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (a, b) = (dir.path().join("from_cube"), dir.path().join("frames"));
    let sa = run(&[cube.to_str().unwrap()], &a, "geozarr");
    let rasters: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let sb = run(&rasters, &b, "cog,geozarr");
    assert_eq!(sa["bands"], sb["bands"], "the same counts");
    assert!(sa["bands"][0]["unfillable"].as_u64().unwrap() >= (16 * 20 * 8) as u64);
    for name in ["e.zarr", "e_quality.zarr"] {
        let (ta, tb) = (tree(&a.join(name)), tree(&b.join(name)));
        let chunks = |t: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<String> {
            t.keys()
                .filter(|k| k.starts_with("data/c/") || k.starts_with("quality/c/"))
                .cloned()
                .collect()
        };
        assert_eq!(chunks(&ta), chunks(&tb), "{name}: the same chunks");
        assert!(!chunks(&ta).is_empty());
        for k in chunks(&ta) {
            assert!(ta[&k] == tb[&k], "{name}/{k} differs");
        }
    }
    let stats = |s: &serde_json::Value, i: usize| s["outputs"][i]["bands"][0]["statistics"].clone();
    let zarr_at = |s: &serde_json::Value, name: &str| {
        s["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .position(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    for name in ["e.zarr", "e_quality.zarr"] {
        let (x, y) = (
            stats(&sa, zarr_at(&sa, name)),
            stats(&sb, zarr_at(&sb, name)),
        );
        for key in ["minimum", "maximum", "mean", "stddev", "valid_percent"] {
            let (u, v) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!(
                (u - v).abs() <= 1e-9 * v.abs().max(1.0),
                "{name} {key}: {u} vs {v}"
            );
        }
    }
}
