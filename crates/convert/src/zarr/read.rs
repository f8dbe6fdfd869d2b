//! Reading back a GeoZarr cube that arco wrote: its grid, CRS and dates from
//! the metadata, and `(time, y, x)` windows of its data array, so a cube can
//! be the input of later stages (`arco reconstruct`) without GDAL, which
//! reads Zarr v3 only from 3.11 on.

use super::zarr_err;
use crate::dtype::DType;
use crate::error::{ConvertError, Result};
use crate::series::Window;
use arco_core::CrsRecord;
use chrono::NaiveDate;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;

/// A `(time, y, x)` cube opened for reading.
pub struct ZarrCube {
    /// The store.
    pub path: PathBuf,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// GDAL-order geotransform.
    pub geotransform: [f64; 6],
    /// CRS, when the cube declares one.
    pub crs: Option<CrsRecord>,
    /// One date per time step.
    pub dates: Vec<NaiveDate>,
    /// Data type of the data array.
    pub dtype: DType,
    /// Fill value (nodata), as f64; NaN for float cubes without one.
    pub nodata: Option<f64>,
    array: Array<FilesystemStore>,
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| ConvertError::InputNotFound {
        path: format!(
            "{} ({e}; is it a Zarr v3 store written by arco?)",
            path.display()
        ),
    })?;
    serde_json::from_str(&text).map_err(|e| ConvertError::NotRaster {
        path: path.display().to_string(),
        reason: format!("invalid JSON: {e}"),
    })
}

fn not_a_cube(path: &Path, why: &str) -> ConvertError {
    ConvertError::NotRaster {
        path: path.display().to_string(),
        reason: format!("not a (time, y, x) GeoZarr cube: {why}"),
    }
}

impl ZarrCube {
    /// Opens the cube at `path`; `var` names the data array (default `data`).
    pub fn open(path: &Path, var: Option<&str>) -> Result<Self> {
        let var = var.unwrap_or("data");
        let root = read_json(&path.join("zarr.json"))?;
        let meta = read_json(&path.join(var).join("zarr.json"))?;
        let dims: Vec<&str> = meta["dimension_names"]
            .as_array()
            .map(|d| d.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if dims != ["time", "y", "x"] {
            return Err(not_a_cube(
                path,
                &format!("the dimensions of '{var}' are {dims:?}, not [time, y, x]"),
            ));
        }
        let shape: Vec<usize> = meta["shape"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_u64)
                    .map(|v| v as usize)
                    .collect()
            })
            .unwrap_or_default();
        let dtype: DType = meta["data_type"]
            .as_str()
            .unwrap_or("")
            .parse()
            .map_err(|e: String| not_a_cube(path, &e))?;
        let nodata = match &meta["fill_value"] {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s == "NaN" => Some(f64::NAN),
            _ => None,
        };
        let attrs = &root["attributes"];
        let t: Vec<f64> = attrs["spatial:transform"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if t.len() != 6 {
            return Err(not_a_cube(path, "no spatial:transform on the root group"));
        }
        let geotransform = [t[2], t[0], t[1], t[5], t[3], t[4]];
        let crs = attrs["proj:wkt2"].as_str().map(|wkt| CrsRecord {
            code: attrs["proj:code"].as_str().map(String::from),
            wkt2: wkt.to_string(),
            projjson: None,
        });
        let store = Arc::new(
            FilesystemStore::new(path).map_err(|e| zarr_err(path, "opening the store", e))?,
        );
        let time =
            Array::open(store.clone(), "/time").map_err(|e| zarr_err(path, "opening /time", e))?;
        let days: Vec<i64> = time
            .retrieve_array_subset(&time.subset_all())
            .map_err(|e| zarr_err(path, "reading /time", e))?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let dates = days
            .iter()
            .map(|d| epoch + chrono::Duration::days(*d))
            .collect::<Vec<_>>();
        let array = Array::open(store, &format!("/{var}"))
            .map_err(|e| zarr_err(path, &format!("opening /{var}"), e))?;
        if shape.len() != 3 || shape[0] != dates.len() {
            return Err(not_a_cube(
                path,
                "the time coordinate does not match the data array",
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            width: shape[2],
            height: shape[1],
            geotransform,
            crs,
            dates,
            dtype,
            nodata,
            array,
        })
    }

    /// Reads `win` of every time step as f64, pixel-major (`out[p * n + t]`),
    /// the fill value (and NaN) as NaN.
    pub fn read(&self, win: Window, out: &mut Vec<f64>) -> Result<()> {
        let n = self.dates.len();
        let subset = ArraySubset::new_with_ranges(&[
            0..n as u64,
            win.y as u64..(win.y + win.h) as u64,
            win.x as u64..(win.x + win.w) as u64,
        ]);
        let err = |e: zarrs::array::ArrayError| {
            zarr_err(
                &self.path,
                &format!("reading rows {}..{}", win.y, win.y + win.h),
                e,
            )
        };
        macro_rules! get {
            ($t:ty) => {{
                let v: Vec<$t> = self.array.retrieve_array_subset(&subset).map_err(err)?;
                v.into_iter().map(|x| x as f64).collect::<Vec<f64>>()
            }};
        }
        let time_major = match self.dtype {
            DType::U8 => get!(u8),
            DType::U16 => get!(u16),
            DType::I16 => get!(i16),
            DType::U32 => get!(u32),
            DType::I32 => get!(i32),
            DType::F32 => get!(f32),
            DType::F64 => get!(f64),
        };
        let px = win.len();
        out.clear();
        out.resize(px * n, f64::NAN);
        for t in 0..n {
            for p in 0..px {
                let v = time_major[t * px + p];
                out[p * n + t] = if Some(v) == self.nodata { f64::NAN } else { v };
            }
        }
        Ok(())
    }
}
