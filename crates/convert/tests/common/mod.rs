//! Fixtures shared by the integration tests: small rasters made with GDAL,
//! and the real validators (GDAL's COG validator, rio-cogeo) run on outputs.

#![allow(dead_code)]

use gdal::raster::{Buffer, GdalType, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A deterministic pseudo-random sequence (xorshift), so fixtures need no crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes a GeoTIFF with `bands` bands of `data` (band-sequential) in `epsg`.
pub fn write_tif<T: GdalType + Copy>(
    path: &Path,
    w: usize,
    h: usize,
    bands: usize,
    data: &[T],
    epsg: u32,
    nodata: Option<f64>,
) -> Dataset {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let opts = RasterCreationOptions::from_iter(["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"]);
    let mut ds = driver
        .create_with_band_type_with_options::<T, _>(path, w, h, bands, &opts)
        .unwrap();
    ds.set_geo_transform(&[500_000.0, 30.0, 0.0, 5_000_000.0, 0.0, -30.0])
        .unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(epsg).unwrap())
        .unwrap();
    for b in 0..bands {
        let mut band = ds.rasterband(b + 1).unwrap();
        band.set_no_data_value(nodata).unwrap();
        let mut buf = Buffer::new((w, h), data[b * w * h..(b + 1) * w * h].to_vec());
        band.write((0, 0), (w, h), &mut buf).unwrap();
    }
    ds.flush_cache().unwrap();
    ds
}

/// Reads all of band `b` (1-based).
pub fn read_band<T: GdalType + Copy>(path: &Path, b: usize) -> Vec<T> {
    let ds = Dataset::open(path).unwrap();
    let band = ds.rasterband(b).unwrap();
    band.read_band_as::<T>().unwrap().data().to_vec()
}

/// The venv python with rio-cogeo, xarray, rioxarray (ARCO_PYTHON, or the repo's .venv).
pub fn venv_python() -> PathBuf {
    if let Ok(p) = std::env::var("ARCO_PYTHON") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join(".venv/bin/python");
    assert!(
        p.exists(),
        "no validator venv at {}: run scripts/setup.sh (or set ARCO_PYTHON)",
        p.display()
    );
    p
}

/// Path of a script in tests/py.
pub fn py_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/py")
        .join(name)
}

/// Runs GDAL's validator and `rio cogeo validate --strict` on `path`; panics
/// with both reports when either rejects it.
pub fn assert_valid_cog(path: &Path) {
    let out = Command::new(venv_python())
        .arg(py_script("validate_cog.py"))
        .arg(path)
        .output()
        .expect("run tests/py/validate_cog.py");
    assert!(
        out.status.success(),
        "{} is not a valid COG:\n{}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("\"gdal_valid\": true") && report.contains("\"rio_valid\": true"),
        "{report}"
    );
}
