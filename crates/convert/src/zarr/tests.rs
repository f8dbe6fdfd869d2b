//! Tests of the GeoZarr writer: stores are read back with zarrs and their
//! `zarr.json` documents inspected.

#![allow(clippy::float_cmp)] // written values must come back exactly

use super::*;
use crate::options::Resampling;
use crate::series::Window;
use arco_core::NoProgress;
use gdal::raster::{Buffer, GdalType};
use gdal::spatial_ref::SpatialRef;
use gdal::DriverManager;
use serde_json::json;
use std::path::PathBuf;
use zarrs::array::ElementOwned;
use zarrs::filesystem::FilesystemStore;

const GT: [f64; 6] = [500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0];

/// Writes a GeoTIFF in EPSG:32633 with `bands` bands of `data` (band-sequential).
fn write_tif<T: GdalType + Copy>(
    path: &Path,
    w: usize,
    h: usize,
    bands: usize,
    data: &[T],
    nodata: Option<f64>,
) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver
        .create_with_band_type::<T, _>(path, w, h, bands)
        .unwrap();
    ds.set_geo_transform(&GT).unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(32633).unwrap())
        .unwrap();
    for b in 0..bands {
        let mut band = ds.rasterband(b + 1).unwrap();
        band.set_no_data_value(nodata).unwrap();
        let mut buf = Buffer::new((w, h), data[b * w * h..(b + 1) * w * h].to_vec());
        band.write((0, 0), (w, h), &mut buf).unwrap();
    }
    ds.flush_cache().unwrap();
}

/// Deterministic test pixels (xorshift), `n` of them below `modulo`.
fn pixels(seed: u64, n: usize, modulo: u64) -> Vec<u64> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % modulo
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn read_all<T: ElementOwned>(store: &Path, path: &str) -> (Vec<u64>, Vec<T>) {
    let store = Arc::new(FilesystemStore::new(store).unwrap());
    let array = Array::open(store, path).unwrap();
    let data: Vec<T> = array.retrieve_array_subset(&array.subset_all()).unwrap();
    (array.shape().to_vec(), data)
}

/// 2x2 mean of the valid pixels of a `w` x `h` single-band image, rounded;
/// `nodata` where none is valid (ceil sizes, as GDAL).
fn average_2x2(src: &[u16], w: usize, h: usize, nodata: u16) -> Vec<u16> {
    let (w2, h2) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Vec::with_capacity(w2 * h2);
    for y in 0..h2 {
        for x in 0..w2 {
            let mut vals = Vec::new();
            for yy in 2 * y..(2 * y + 2).min(h) {
                for xx in 2 * x..(2 * x + 2).min(w) {
                    let v = src[yy * w + xx];
                    if v != nodata {
                        vals.push(f64::from(v));
                    }
                }
            }
            out.push(if vals.is_empty() {
                nodata
            } else {
                (vals.iter().sum::<f64>() / vals.len() as f64).round() as u16
            });
        }
    }
    out
}

struct Cube {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    data: Vec<Vec<u16>>,
    dates: Vec<NaiveDate>,
    out: PathBuf,
}

/// Three single-band uint16 dates (nodata 0) of 37 x 23 pixels, given out
/// of date order, in a new temporary directory.
fn cube() -> Cube {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    cube_in(dir, &root)
}

/// The same inputs written in `root` (`dir` is only kept alive).
fn cube_in(dir: tempfile::TempDir, root: &Path) -> Cube {
    let (w, h) = (37, 23);
    let dates = vec![
        NaiveDate::from_ymd_opt(2021, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2021, 2, 1).unwrap(),
    ];
    let mut paths = Vec::new();
    let mut data = Vec::new();
    for (i, d) in dates.iter().enumerate() {
        let p = root.join(format!("ndvi_{d}.tif"));
        let v: Vec<u16> = pixels(i as u64 + 7, w * h, 40)
            .into_iter()
            .map(|v| v as u16)
            .collect();
        write_tif(&p, w, h, 1, &v, Some(0.0));
        paths.push(p);
        data.push(v);
    }
    let out = root.join("cube.zarr");
    Cube {
        _dir: dir,
        paths,
        data,
        dates,
        out,
    }
}

fn inspect(paths: &[PathBuf]) -> Vec<RasterSource> {
    paths
        .iter()
        .map(|p| RasterSource::inspect(p.to_str().unwrap(), None, None).unwrap())
        .collect()
}

#[test]
fn time_cube_round_trips_with_overviews_and_attributes() {
    let c = cube();
    let sources = inspect(&c.paths);
    let opts = ZarrOptions {
        chunks: Some(vec![8]),
        ..ZarrOptions::default()
    };
    let rec = write_geozarr(&sources, Some(&c.dates), &c.out, &opts, &NoProgress).unwrap();
    // 37x23 with 8-pixel chunks: 19x12, 10x6, 5x3 -> three overview levels.
    assert_eq!(rec.overviews, 3);
    assert_eq!(
        rec.datetimes,
        [
            "2021-01-01T00:00:00Z",
            "2021-02-01T00:00:00Z",
            "2021-03-01T00:00:00Z"
        ]
    );
    assert_eq!(rec.bands[0].nodata, Some(0.0));
    assert!(rec.size > 0 && rec.checksum.is_none());
    // Statistics over all dates, nodata (0) left out.
    let valid: Vec<f64> = c
        .data
        .concat()
        .into_iter()
        .filter(|&v| v != 0)
        .map(f64::from)
        .collect();
    let n = valid.len() as f64;
    let mean = valid.iter().sum::<f64>() / n;
    let sd = (valid.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    let st = rec.bands[0].statistics.unwrap();
    assert_eq!(
        st.minimum,
        valid.iter().copied().fold(f64::INFINITY, f64::min)
    );
    assert_eq!(st.maximum, valid.iter().copied().fold(0.0, f64::max));
    assert!((st.mean - mean).abs() < 1e-9 && (st.stddev - sd).abs() < 1e-9);
    assert!((st.valid_percent - 100.0 * n / (3.0 * 37.0 * 23.0)).abs() < 1e-9);
    assert!(st.valid_percent < 100.0, "the inputs hold some nodata");

    // Values, in date order (inputs were given March, January, February).
    let (shape, got) = read_all::<u16>(&c.out, "/data");
    assert_eq!(shape, [3, 23, 37]);
    let order = [1, 2, 0];
    for (t, &i) in order.iter().enumerate() {
        assert_eq!(
            &got[t * 37 * 23..(t + 1) * 37 * 23],
            c.data[i].as_slice(),
            "time step {t}"
        );
    }
    // Level 1 is the 2x2 average (nodata-aware) of each date.
    let (shape1, got1) = read_all::<u16>(&c.out, "/1/data");
    assert_eq!(shape1, [3, 12, 19]);
    for (t, &i) in order.iter().enumerate() {
        assert_eq!(
            &got1[t * 19 * 12..(t + 1) * 19 * 12],
            average_2x2(&c.data[i], 37, 23, 0).as_slice()
        );
    }
    let (_, time) = read_all::<i64>(&c.out, "/time");
    assert_eq!(time, [18628, 18659, 18687]);
    let (_, x) = read_all::<f64>(&c.out, "/x");
    assert_eq!((x[0], x[36]), (500_015.0, 500_000.0 + 36.5 * 30.0));
    let (_, y) = read_all::<f64>(&c.out, "/y");
    assert_eq!((y[0], y[1]), (4_999_985.0, 4_999_955.0));
    let (_, y1) = read_all::<f64>(&c.out, "/1/y");
    assert_eq!(y1[0], 4_999_970.0);

    // Metadata.
    let data = read_json(&c.out.join("data/zarr.json"));
    assert_eq!(data["dimension_names"], json!(["time", "y", "x"]));
    assert_eq!(data["fill_value"], json!(0));
    let a = &data["attributes"];
    assert_eq!(a["grid_mapping"], "spatial_ref");
    assert_eq!(a["_FillValue"], json!(0));
    assert_eq!(
        a["spatial:transform"],
        json!([30.0, 0.0, 500_000.0, 0.0, -30.0, 5_000_000.0])
    );
    assert_eq!(a["proj:code"], "EPSG:32633");
    let root = read_json(&c.out.join("zarr.json"));
    let ra = &root["attributes"];
    let uuids: Vec<&str> = ra["zarr_conventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uuids,
        [
            attrs::SPATIAL_UUID,
            attrs::PROJ_UUID,
            attrs::MULTISCALES_UUID
        ]
    );
    assert_eq!(ra["spatial:shape"], json!([23, 37]));
    assert_eq!(ra["spatial:dimensions"], json!(["y", "x"]));
    assert!(ra["proj:wkt2"].as_str().unwrap().contains("UTM zone 33N"));
    let layout = ra["multiscales"]["layout"].as_array().unwrap();
    assert_eq!(layout.len(), 4);
    assert_eq!(layout[2]["asset"], "2/data");
    assert_eq!(layout[2]["derived_from"], "1/data");
    assert_eq!(layout[2]["transform"]["scale"], json!([2.0, 2.0]));
    assert_eq!(
        layout[2]["spatial:transform"],
        json!([120.0, 0.0, 500_000.0, 0.0, -120.0, 5_000_000.0])
    );
    assert!(root["consolidated_metadata"]["metadata"]["1/data"].is_object());
    let time = read_json(&c.out.join("time/zarr.json"));
    assert_eq!(time["attributes"]["units"], "days since 1970-01-01");
    assert_eq!(time["attributes"]["calendar"], "proleptic_gregorian");
    let sref = read_json(&c.out.join("1/spatial_ref/zarr.json"));
    assert_eq!(sref["shape"], json!([]));
    assert_eq!(
        sref["attributes"]["GeoTransform"],
        "500000 60 0 5000000 0 -60"
    );
    let lvl1 = read_json(&c.out.join("1/zarr.json"));
    assert_eq!(lvl1["attributes"]["spatial:shape"], json!([12, 19]));
    for arr in ["x", "y", "time", "1/x", "3/data"] {
        assert!(
            read_json(&c.out.join(arr).join("zarr.json"))["dimension_names"].is_array(),
            "{arr}"
        );
    }
}

#[test]
fn multi_band_raster_gets_a_band_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h, nb) = (20, 10, 3);
    let data: Vec<f32> = pixels(3, w * h * nb, 1000)
        .into_iter()
        .map(|v| v as f32 / 10.0)
        .collect();
    let p = dir.path().join("ms.tif");
    write_tif(&p, w, h, nb, &data, None);
    let out = dir.path().join("ms.zarr");
    let opts = ZarrOptions {
        compression: ZarrCodec::Blosc,
        name: Some("reflectance".into()),
        ..ZarrOptions::default()
    };
    let rec = write_geozarr(&inspect(&[p]), None, &out, &opts, &NoProgress).unwrap();
    assert_eq!(rec.overviews, 0);
    assert!(rec.datetimes.is_empty());
    // One statistics entry per band, from that band's values only.
    for (b, band) in rec.bands.iter().enumerate() {
        let v: Vec<f64> = data[b * w * h..(b + 1) * w * h]
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        let st = band.statistics.unwrap();
        assert_eq!(st.minimum, v.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(
            st.maximum,
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
        assert!((st.mean - v.iter().sum::<f64>() / v.len() as f64).abs() < 1e-9);
        assert!((st.valid_percent - 100.0).abs() < 1e-12);
    }
    let (shape, got) = read_all::<f32>(&out, "/reflectance");
    assert_eq!(shape, [3, 10, 20]);
    assert_eq!(got, data);
    let (_, band) = read_all::<i32>(&out, "/band");
    assert_eq!(band, [1, 2, 3]);
    let meta = read_json(&out.join("reflectance/zarr.json"));
    assert_eq!(meta["dimension_names"], json!(["band", "y", "x"]));
    assert_eq!(meta["fill_value"], "NaN");
    assert!(meta["attributes"].get("_FillValue").is_none());
    assert!(meta.to_string().contains("\"blosc\""));
    let root = read_json(&out.join("zarr.json"));
    assert!(root["attributes"].get("multiscales").is_none());
    assert!(!out.join("1").exists());
}

#[test]
fn sharded_store_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (70, 45);
    let data: Vec<i16> = pixels(11, w * h, 2000)
        .into_iter()
        .map(|v| v as i16 - 1000)
        .collect();
    let p = dir.path().join("dem.tif");
    write_tif(&p, w, h, 1, &data, Some(-9999.0));
    let out = dir.path().join("dem.zarr");
    let opts = ZarrOptions {
        chunks: Some(vec![8, 8]),
        shard: Some(32),
        ..ZarrOptions::default()
    };
    let rec = write_geozarr(&inspect(&[p]), None, &out, &opts, &NoProgress).unwrap();
    assert_eq!(rec.overviews, 4);
    let (shape, got) = read_all::<i16>(&out, "/data");
    assert_eq!(shape, [45, 70]);
    assert_eq!(got, data);
    let meta = read_json(&out.join("data/zarr.json"));
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        json!([32, 32])
    );
    assert_eq!(meta["codecs"][0]["name"], "sharding_indexed");
    assert_eq!(
        meta["codecs"][0]["configuration"]["chunk_shape"],
        json!([8, 8])
    );
    assert_eq!(meta["attributes"]["_FillValue"], json!(-9999));
    // Two shard rows (of three shards each), one file per shard.
    assert_eq!(std::fs::read_dir(out.join("data/c")).unwrap().count(), 2);
    let (shape1, _) = read_all::<i16>(&out, "/1/data");
    assert_eq!(shape1, [23, 35]);
    // The last level (5x3) is one shard of one clamped chunk.
    let m4 = read_json(&out.join("4/data/zarr.json"));
    assert_eq!(
        m4["codecs"][0]["configuration"]["chunk_shape"],
        json!([3, 5])
    );
}

#[test]
fn failed_write_leaves_nothing_behind() {
    let c = cube();
    let sources = inspect(&c.paths);
    // Invalid options are refused before anything is created.
    let bad = ZarrOptions {
        chunks: Some(vec![1, 0, 8]),
        ..ZarrOptions::default()
    };
    let err = write_geozarr(&sources, Some(&c.dates), &c.out, &bad, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("--chunks"), "{err}");
    // An input that disappears after inspection fails mid-write.
    std::fs::remove_file(&c.paths[1]).unwrap();
    let err = write_geozarr(
        &sources,
        Some(&c.dates),
        &c.out,
        &ZarrOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, ConvertError::NotRaster { .. }), "{err}");
    let left: Vec<_> = std::fs::read_dir(c.out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("zarr"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn options_are_checked_with_clear_messages() {
    let c = cube();
    let src = &inspect(&c.paths[..1])[0];
    let err = |o: ZarrOptions, nt: Option<usize>| plan(src, nt, &o).unwrap_err().to_string();
    let e = err(
        ZarrOptions {
            chunks: Some(vec![256]),
            shard: Some(1000),
            ..ZarrOptions::default()
        },
        None,
    );
    assert!(e.starts_with("--shard: 1000 is not a multiple of the spatial chunk edge 256; use a multiple such as 1024"), "{e}");
    let e = err(
        ZarrOptions {
            chunks: Some(vec![1, 2, 3, 4]),
            ..ZarrOptions::default()
        },
        Some(3),
    );
    assert!(e.contains("(time, y, x), e.g. 1,512,512"), "{e}");
    let e = err(
        ZarrOptions {
            chunks: Some(vec![5]),
            ..ZarrOptions::default()
        },
        None,
    );
    assert!(e.contains("even"), "{e}");
    let e = err(
        ZarrOptions {
            name: Some("x".into()),
            ..ZarrOptions::default()
        },
        None,
    );
    assert!(e.starts_with("--name: 'x' is taken"), "{e}");
    let e = err(
        ZarrOptions {
            compression: ZarrCodec::None,
            level: Some(3),
            ..ZarrOptions::default()
        },
        None,
    );
    assert!(e.contains("drop --level"), "{e}");
    let e = err(
        ZarrOptions {
            nodata: Some(-1.0),
            ..ZarrOptions::default()
        },
        None,
    );
    assert!(e.contains("does not fit uint16"), "{e}");
    // Per-dimension chunks and clamping to the array.
    let p = plan(
        src,
        Some(3),
        &ZarrOptions {
            chunks: Some(vec![5, 16, 32]),
            overviews: Some(0),
            ..ZarrOptions::default()
        },
    )
    .unwrap();
    assert_eq!((p.tc, p.levels[0].outer), (3, (16, 32)));
    assert_eq!(p.chunk_shape(0), [3, 16, 32]);
    let p = plan(
        src,
        None,
        &ZarrOptions {
            overviews: Some(40),
            ..ZarrOptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.levels.len(), 7);
    assert!(p.notes[0].contains("40 asked, 6 made"), "{:?}", p.notes);
    let p = plan(
        src,
        None,
        &ZarrOptions {
            categorical: true,
            chunks: Some(vec![8]),
            ..ZarrOptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.resampling, Resampling::Mode);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("mode (--categorical was given)")),
        "{:?}",
        p.notes
    );
    assert_eq!("blosc".parse::<ZarrCodec>().unwrap(), ZarrCodec::Blosc);
    assert_eq!(
        "lzw".parse::<ZarrCodec>().unwrap_err(),
        "unknown Zarr compression 'lzw' (use zstd, blosc, lz4 or none)"
    );
}

#[test]
fn inputs_need_dates_and_one_per_date() {
    let c = cube();
    let sources = inspect(&c.paths);
    let e =
        write_geozarr(&sources, None, &c.out, &ZarrOptions::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("--dates"), "{e}");
    let same = [c.dates[0]; 3];
    let e = write_geozarr(
        &sources,
        Some(&same),
        &c.out,
        &ZarrOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("same date"), "{e}");
    assert!(!c.out.exists());
}

/// The repo's validator venv (ARCO_PYTHON, or .venv at the workspace root).
fn venv_python() -> PathBuf {
    if let Ok(p) = std::env::var("ARCO_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        p.exists(),
        "no validator venv at {}: run scripts/setup.sh (or set ARCO_PYTHON)",
        p.display()
    );
    p
}

/// Runs tests/py/check_zarr.py (xarray + rioxarray, zarr-python, GDAL) on a
/// store; returns its JSON summary, panicking with its report on failure.
fn check_with_python(store: &Path, refs: &[&Path], extra: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/py/check_zarr.py");
    let mut cmd = std::process::Command::new(venv_python());
    cmd.arg(script)
        .arg(store)
        .arg("--reference")
        .args(refs)
        .args(extra);
    let out = cmd.output().expect("run tests/py/check_zarr.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} fails the reader checks:\n{stdout}\n{}",
        store.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap()
}

/// Where stores for the Python checks go: ARCO_KEEP_ZARR (kept for a look)
/// or a temporary directory.
fn keep_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    if let Ok(d) = std::env::var("ARCO_KEEP_ZARR") {
        std::fs::create_dir_all(&d).unwrap();
        (None, PathBuf::from(d))
    } else {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().to_path_buf();
        (Some(t), p)
    }
}

#[test]
fn xarray_rioxarray_and_gdal_read_the_stores() {
    let (_guard, dir) = keep_dir();
    // Time cube of three dates, with overviews.
    let c = cube_in(tempfile::tempdir().unwrap(), &dir);
    let sources = inspect(&c.paths);
    let cube_out = dir.join("cube.zarr");
    let opts = ZarrOptions {
        chunks: Some(vec![16]),
        overwrite: true,
        ..ZarrOptions::default()
    };
    write_geozarr(&sources, Some(&c.dates), &cube_out, &opts, &NoProgress).unwrap();
    let refs = [
        c.paths[1].as_path(),
        c.paths[2].as_path(),
        c.paths[0].as_path(),
    ];
    let s = check_with_python(
        &cube_out,
        &refs,
        &[
            "--dates",
            "2021-01-01,2021-02-01,2021-03-01",
            "--require-gdal",
        ],
    );
    assert_eq!(s["crs"], "EPSG:32633", "{s}");

    // Multi-band float raster without nodata.
    let (w, h, nb) = (20, 10, 3);
    let data: Vec<f32> = pixels(3, w * h * nb, 1000)
        .into_iter()
        .map(|v| v as f32 / 10.0)
        .collect();
    let ms = dir.join("ms.tif");
    write_tif(&ms, w, h, nb, &data, None);
    let ms_out = dir.join("ms.zarr");
    let opts = ZarrOptions {
        overwrite: true,
        ..ZarrOptions::default()
    };
    write_geozarr(
        &inspect(std::slice::from_ref(&ms)),
        None,
        &ms_out,
        &opts,
        &NoProgress,
    )
    .unwrap();
    let s = check_with_python(&ms_out, &[&ms], &["--require-gdal"]);
    assert_eq!(s["dims"], json!(["band", "y", "x"]), "{s}");

    // Float with a nodata value, sharded.
    let fl = dir.join("fl.tif");
    let mut fdata: Vec<f64> = pixels(5, 64 * 40, 500)
        .into_iter()
        .map(|v| v as f64 * 0.25)
        .collect();
    fdata[3] = -9999.0;
    write_tif(&fl, 64, 40, 1, &fdata, Some(-9999.0));
    let fl_out = dir.join("fl.zarr");
    let opts = ZarrOptions {
        chunks: Some(vec![8]),
        shard: Some(16),
        overwrite: true,
        ..ZarrOptions::default()
    };
    write_geozarr(
        &inspect(std::slice::from_ref(&fl)),
        None,
        &fl_out,
        &opts,
        &NoProgress,
    )
    .unwrap();
    let s = check_with_python(&fl_out, &[&fl], &[]);
    assert_eq!(s["nodata"], json!(-9999.0), "{s}");
}

#[test]
fn multi_band_series_with_time_and_band_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h, nb) = (19, 13, 3);
    let mut paths = Vec::new();
    let mut data = Vec::new();
    let dates: Vec<NaiveDate> = (1..=3)
        .map(|m| NaiveDate::from_ymd_opt(2022, m, 15).unwrap())
        .collect();
    for (i, d) in dates.iter().enumerate() {
        let p = dir.path().join(format!("ms_{d}.tif"));
        let v: Vec<u16> = pixels(i as u64 + 40, w * h * nb, 5000)
            .into_iter()
            .map(|v| v as u16 + 1)
            .collect();
        write_tif(&p, w, h, nb, &v, Some(0.0));
        paths.push(p);
        data.push(v);
    }
    let out = dir.path().join("ms.zarr");
    // Two time steps and two bands per chunk: the last time and band chunks are partial.
    let opts = ZarrOptions {
        chunks: Some(vec![2, 2, 8, 8]),
        ..ZarrOptions::default()
    };
    let rec = write_geozarr(&inspect(&paths), Some(&dates), &out, &opts, &NoProgress).unwrap();
    assert_eq!(rec.overviews, 2);
    let (shape, got) = read_all::<u16>(&out, "/data");
    assert_eq!(shape, [3, 3, 13, 19]);
    for t in 0..3 {
        let n = w * h * nb;
        assert_eq!(
            &got[t * n..(t + 1) * n],
            data[t].as_slice(),
            "time step {t}"
        );
    }
    // Overview level 1 of each band of each date.
    let (shape1, got1) = read_all::<u16>(&out, "/1/data");
    assert_eq!(shape1, [3, 3, 7, 10]);
    for (t, step) in data.iter().enumerate() {
        for b in 0..nb {
            let band = &step[b * w * h..(b + 1) * w * h];
            let off = (t * nb + b) * 70;
            assert_eq!(
                &got1[off..off + 70],
                average_2x2(band, w, h, 0).as_slice(),
                "t {t} b {b}"
            );
        }
    }
    let meta = read_json(&out.join("data/zarr.json"));
    assert_eq!(meta["dimension_names"], json!(["time", "band", "y", "x"]));
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        json!([2, 2, 8, 8])
    );
}

#[test]
fn all_nodata_chunks_are_left_out_and_read_back_as_fill() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (32, 16);
    // Left 16x16 chunk all nodata, right chunk data.
    let data: Vec<f32> = (0..w * h)
        .map(|i| if i % w < 16 { -9999.0 } else { i as f32 })
        .collect();
    let p = dir.path().join("half.tif");
    write_tif(&p, w, h, 1, &data, Some(-9999.0));
    let out = dir.path().join("half.zarr");
    let opts = ZarrOptions {
        chunks: Some(vec![16]),
        overviews: Some(0),
        ..ZarrOptions::default()
    };
    write_geozarr(
        &inspect(std::slice::from_ref(&p)),
        None,
        &out,
        &opts,
        &NoProgress,
    )
    .unwrap();
    assert!(!out.join("data/c/0/0").exists(), "all-nodata chunk written");
    assert!(out.join("data/c/0/1").exists());
    let (_, got) = read_all::<f32>(&out, "/data");
    assert_eq!(got, data);
    let s = check_with_python(&out, &[&p], &["--require-gdal"]);
    assert_eq!(s["values_differing"], json!(0), "{s}");
}

/// Windows of a cube read back equal the inputs, whichever codec (zstd and
/// none are decoded by arco itself, blosc/lz4 by zarrs) and whether the
/// window is a whole chunk, an edge chunk, a partial time chunk or none of
/// these.
#[test]
fn cube_windows_read_back_the_inputs_for_every_codec_and_chunking() {
    let c = cube();
    let sources = inspect(&c.paths);
    let order = [1, 2, 0]; // date order of the inputs
    let (w, h) = (37, 23);
    for codec in [ZarrCodec::Zstd, ZarrCodec::None, ZarrCodec::Lz4] {
        for chunks in [vec![1, 16, 16], vec![2, 8, 8]] {
            let out = c
                .out
                .with_file_name(format!("{codec:?}_{}.zarr", chunks[0]));
            let opts = ZarrOptions {
                chunks: Some(chunks.clone()),
                compression: codec,
                overviews: Some(0),
                ..ZarrOptions::default()
            };
            write_geozarr(&sources, Some(&c.dates), &out, &opts, &NoProgress).unwrap();
            let cube = ZarrCube::open(&out, None).unwrap();
            assert_eq!(cube.raw.is_some(), codec != ZarrCodec::Lz4, "{codec:?}");
            let e = chunks[1];
            let windows = [
                Window {
                    x: 0,
                    y: 0,
                    w: e,
                    h: e,
                }, // a whole chunk
                Window {
                    x: 2 * e,
                    y: e,
                    w: w - 2 * e,
                    h: h - e,
                }, // an edge chunk
                Window {
                    x: 3,
                    y: 5,
                    w: 20,
                    h: 11,
                }, // across chunks
            ];
            for win in windows {
                let mut got = Vec::new();
                cube.read(win, &mut got).unwrap();
                for (p, series) in got.chunks_exact(3).enumerate() {
                    let (x, y) = (win.x + p % win.w, win.y + p / win.w);
                    for (t, &v) in series.iter().enumerate() {
                        let want = c.data[order[t]][y * w + x];
                        let want = if want == 0 { f64::NAN } else { f64::from(want) };
                        assert!(
                            v == want || (v.is_nan() && want.is_nan()),
                            "{codec:?} {chunks:?} {win:?}: ({x}, {y}) at {t}: {v} != {want}"
                        );
                    }
                }
            }
        }
    }
}

/// The region writer stores planes handed over whole (no copy) and planes
/// of edge regions (padded), and both read back as written.
#[test]
fn regions_written_from_planes_read_back() {
    let c = cube();
    let sources = inspect(&c.paths[..1]);
    let (w, h) = (37, 23);
    let mut dates = c.dates.clone();
    dates.sort();
    // Regions of one chunk, and of 2 x 2 chunks (clipped at the edges).
    for (codec, edge) in [
        (ZarrCodec::Zstd, 16),
        (ZarrCodec::None, 16),
        (ZarrCodec::Zstd, 32),
    ] {
        let out = c
            .out
            .with_file_name(format!("regions_{codec:?}_{edge}.zarr"));
        let opts = ZarrOptions {
            chunks: Some(vec![1, 16, 16]),
            compression: codec,
            overviews: Some(0),
            ..ZarrOptions::default()
        };
        let mut writer = CubeWriter::create(&sources[0], &dates, &out, &opts).unwrap();
        assert_eq!(writer.region_shape(), (16, 16));
        let value = |t: usize, x: usize, y: usize| (1 + t * 1000 + y * w + x) as u16;
        for region in Window::tiles_of(w, h, edge, edge) {
            let planes: Vec<u16> = (0..3)
                .flat_map(|t| {
                    (0..region.len())
                        .map(move |p| value(t, region.x + p % region.w, region.y + p / region.w))
                })
                .collect();
            let planes: Vec<&[u16]> = planes.chunks_exact(region.len()).collect();
            writer.write_region(region, &planes).unwrap();
        }
        let bad = writer.write_region(
            Window {
                x: 0,
                y: 0,
                w: 16,
                h: 16,
            },
            &[&[1u16; 5][..]; 3],
        );
        assert!(bad.is_err(), "planes of the wrong length are refused");
        let short = writer.write_region(
            Window {
                x: 0,
                y: 0,
                w: 16,
                h: 16,
            },
            &[&[1u16; 256][..]; 2],
        );
        assert!(short.is_err(), "fewer planes than time steps are refused");
        let off = Window {
            x: 8,
            y: 0,
            w: 16,
            h: 16,
        };
        let bad = writer.write_region(off, &[&[1u16; 256][..]; 3]);
        assert!(bad.is_err(), "a region off the chunk corners is refused");
        let part = Window {
            x: 0,
            y: 0,
            w: 24,
            h: 16,
        };
        let bad = writer.write_region(part, &[&[1u16; 384][..]; 3]);
        assert!(bad.is_err(), "a region holding part of a chunk is refused");
        writer.finish(&NoProgress).unwrap();
        let (shape, got) = read_all::<u16>(&out, "/data");
        assert_eq!(shape, [3, 23, 37]);
        for (i, &v) in got.iter().enumerate() {
            let (t, y, x) = (i / (w * h), (i / w) % h, i % w);
            assert_eq!(v, value(t, x, y), "{codec:?} {edge} ({x}, {y}) at {t}");
        }
    }
}
