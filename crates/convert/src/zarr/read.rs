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
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{Array, ArraySubset, ElementOwned};
use zarrs::filesystem::FilesystemStore;

thread_local! {
    /// One zstd context per thread, reused across chunks.
    static UNZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

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
    /// Chunk shape `(time, y, x)`.
    chunk: [usize; 3],
    /// How chunks are encoded when arco decodes them itself.
    pub(super) raw: Option<RawCodec>,
}

/// Codec chains simple enough to decode straight into the caller's buffer,
/// with no intermediate copies: `bytes` (little-endian), optionally then
/// `zstd` (what arco writes by default).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum RawCodec {
    Plain,
    Zstd,
}

impl RawCodec {
    fn of(codecs: &Value) -> Option<Self> {
        let names: Vec<&str> = codecs
            .as_array()?
            .iter()
            .map(|c| c["name"].as_str().unwrap_or(""))
            .collect();
        let little = codecs[0]["configuration"]["endian"]
            .as_str()
            .is_none_or(|e| e == "little");
        if !little || cfg!(target_endian = "big") {
            return None;
        }
        match names[..] {
            ["bytes"] => Some(Self::Plain),
            ["bytes", "zstd"] => Some(Self::Zstd),
            _ => None,
        }
    }
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
        let chunk = array
            .chunk_grid()
            .chunk_shape(&[0, 0, 0])
            .ok()
            .flatten()
            .map_or([1, shape[1], shape[2]], |s| {
                [s[0].get(), s[1].get(), s[2].get()].map(|v| v as usize)
            });
        let raw = RawCodec::of(&meta["codecs"]);
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
            chunk,
            raw,
        })
    }

    /// Chunk shape `(time, y, x)`: windows of whole chunks read fastest.
    pub fn chunk_shape(&self) -> [usize; 3] {
        self.chunk
    }

    /// True when no chunk (or shard) of `win` is stored, at any time step:
    /// the window holds only the fill value (an ocean tile of a land
    /// product), so it need not be read.
    pub fn window_is_empty(&self, win: Window) -> bool {
        let [tc, cy, cx] = self.chunk.map(|c| c.max(1));
        let (ys, xs) = (
            win.y / cy..(win.y + win.h).div_ceil(cy),
            win.x / cx..(win.x + win.w).div_ceil(cx),
        );
        (0..self.dates.len().div_ceil(tc)).all(|tb| {
            ys.clone().all(|y| {
                xs.clone().all(|x| {
                    let key = self.array.chunk_key(&[tb as u64, y as u64, x as u64]);
                    !self.path.join(key.as_str()).exists()
                })
            })
        })
    }

    /// Reads `win` of every time step as f64, pixel-major (`out[p * n + t]`),
    /// the fill value (and NaN) as NaN.
    pub fn read(&self, win: Window, out: &mut Vec<f64>) -> Result<()> {
        self.read_window(win)?.pixels(0..win.len(), out);
        Ok(())
    }

    /// Reads `win` of every time step as stored (time-major, each chunk
    /// decoded once, time chunks in parallel), for [`CubeWindow::pixels`]
    /// to hand out pixel-major.
    pub fn read_window(&self, win: Window) -> Result<CubeWindow> {
        let n = self.dates.len();
        // Time steps per read: the time chunk (one file or shard at a time).
        let step = self.chunk[0].max(1);
        let px = win.len();
        // One buffer for the whole window (few page faults, see
        // `arco_core::bigbuf`), each block of steps decoded into its part.
        macro_rules! get {
            ($v:ident) => {{
                let mut all = arco_core::bigbuf::zeroed(n * px);
                all.par_chunks_mut((step * px).max(1))
                    .enumerate()
                    .try_for_each(|(b, dst)| {
                        let t0 = b * step;
                        self.read_block(win, t0..(t0 + step).min(n), dst)
                    })?;
                Planes::$v(all)
            }};
        }
        let planes = match self.dtype {
            DType::U8 => get!(U8),
            DType::U16 => get!(U16),
            DType::I16 => get!(I16),
            DType::U32 => get!(U32),
            DType::I32 => get!(I32),
            DType::F32 => get!(F32),
            DType::F64 => get!(F64),
        };
        Ok(CubeWindow {
            planes,
            px,
            n,
            nodata: self.nodata,
        })
    }

    /// Time steps `times` of `win`, time-major, into `out` (as long as
    /// they are). A window that is one whole chunk of a simple codec chain
    /// is decoded straight into `out`; anything else goes through zarrs.
    fn read_block<T: crate::dtype::Sample + ElementOwned>(
        &self,
        win: Window,
        times: std::ops::Range<usize>,
        out: &mut [T],
    ) -> Result<()> {
        let [tc, cy, cx] = self.chunk;
        let err = |e: &dyn std::fmt::Display| {
            zarr_err(
                &self.path,
                &format!("reading rows {}..{}", win.y, win.y + win.h),
                e,
            )
        };
        let whole = times.len() == tc
            && times.start.is_multiple_of(tc)
            && (win.w, win.h) == (cx, cy)
            && win.x.is_multiple_of(cx)
            && win.y.is_multiple_of(cy);
        if let (Some(raw), true) = (self.raw, whole) {
            let idx = [
                (times.start / tc) as u64,
                (win.y / cy) as u64,
                (win.x / cx) as u64,
            ];
            // A chunk not stored holds the fill value: zarrs knows it.
            if let Some(bytes) = self
                .array
                .retrieve_encoded_chunk(&idx)
                .map_err(|e| err(&e))?
            {
                let dst: &mut [u8] = bytemuck::cast_slice_mut(out);
                let got = match raw {
                    RawCodec::Plain => {
                        let n = bytes.len().min(dst.len());
                        dst[..n].copy_from_slice(&bytes[..n]);
                        bytes.len()
                    }
                    RawCodec::Zstd => UNZSTD
                        .with(|cell| -> std::io::Result<usize> {
                            let mut slot = cell.borrow_mut();
                            if slot.is_none() {
                                *slot = Some(zstd::bulk::Decompressor::new()?);
                            }
                            let d = slot.as_mut().expect("set above");
                            d.decompress_to_buffer(&bytes[..], dst)
                        })
                        .map_err(|e| err(&e))?,
                };
                if got != dst.len() {
                    return Err(err(&format!(
                        "chunk {idx:?} decodes to {got} bytes, not {}",
                        dst.len()
                    )));
                }
                return Ok(());
            }
        }
        let subset = ArraySubset::new_with_ranges(&[
            times.start as u64..times.end as u64,
            win.y as u64..(win.y + win.h) as u64,
            win.x as u64..(win.x + win.w) as u64,
        ]);
        let got: Vec<T> = self
            .array
            .retrieve_array_subset(&subset)
            .map_err(|e| err(&e))?;
        if got.len() != out.len() {
            return Err(err(&format!(
                "{} samples read, {} expected",
                got.len(),
                out.len()
            )));
        }
        out.copy_from_slice(&got);
        Ok(())
    }
}

/// Time-major samples of one type: every step's plane of the window, one
/// after the other (`[t * px + p]`).
enum Planes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A window of every time step, as stored (time-major).
pub struct CubeWindow {
    planes: Planes,
    px: usize,
    n: usize,
    nodata: Option<f64>,
}

impl CubeWindow {
    /// The stored data type.
    fn dtype(&self) -> DType {
        match &self.planes {
            Planes::U8(_) => DType::U8,
            Planes::U16(_) => DType::U16,
            Planes::I16(_) => DType::I16,
            Planes::U32(_) => DType::U32,
            Planes::I32(_) => DType::I32,
            Planes::F32(_) => DType::F32,
            Planes::F64(_) => DType::F64,
        }
    }

    /// Takes the samples out as stored when they are `T`: every step's
    /// plane of the window, one after the other. The window is empty after;
    /// `None` (and the window untouched) for another type.
    pub fn take_planes<T: crate::dtype::Sample>(&mut self) -> Option<Vec<T>> {
        if T::DTYPE != self.dtype() {
            return None;
        }
        let planes = std::mem::replace(&mut self.planes, Planes::U8(Vec::new()));
        let any: Box<dyn std::any::Any> = match planes {
            Planes::U8(v) => Box::new(v),
            Planes::U16(v) => Box::new(v),
            Planes::I16(v) => Box::new(v),
            Planes::U32(v) => Box::new(v),
            Planes::I32(v) => Box::new(v),
            Planes::F32(v) => Box::new(v),
            Planes::F64(v) => Box::new(v),
        };
        any.downcast::<Vec<T>>().ok().map(|v| *v)
    }

    /// Pixels `ps` of the window as f32, time-major (`out[t * m + i]` for
    /// pixel `ps.start + i`, `m` pixels), the fill value (and NaN) as NaN.
    /// Returns `false`, writing nothing, when the stored type does not
    /// convert to f32 exactly (32-bit integers, f64).
    pub fn time_major_f32(&self, ps: std::ops::Range<usize>, out: &mut Vec<f32>) -> bool {
        fn copy<T: Copy + Into<f32> + PartialEq>(
            v: &[T],
            (px, n): (usize, usize),
            ps: std::ops::Range<usize>,
            nodata: Option<T>,
            out: &mut [f32],
        ) {
            let m = ps.len();
            for (t, o) in out.chunks_exact_mut(m).enumerate().take(n) {
                let plane = &v[t * px + ps.start..t * px + ps.end];
                for (o, &x) in o.iter_mut().zip(plane) {
                    *o = if Some(x) == nodata {
                        f32::NAN
                    } else {
                        x.into()
                    };
                }
            }
        }
        // The nodata as a stored value, when it is one.
        fn stored<T: TryFrom<i64>>(nodata: Option<f64>) -> Option<T> {
            nodata
                .filter(|v| v.fract() == 0.0)
                .and_then(|v| T::try_from(v as i64).ok())
        }
        let dims = (self.px, self.n);
        out.clear();
        out.resize(ps.len() * self.n, f32::NAN);
        match &self.planes {
            Planes::U8(v) => copy(v, dims, ps, stored(self.nodata), out),
            Planes::U16(v) => copy(v, dims, ps, stored(self.nodata), out),
            Planes::I16(v) => copy(v, dims, ps, stored(self.nodata), out),
            Planes::F32(v) => {
                // Only a nodata that f32 holds exactly can match a sample.
                #[allow(clippy::cast_possible_truncation)]
                let nd = self
                    .nodata
                    .map(|x| x as f32)
                    .filter(|&x| self.nodata == Some(f64::from(x)));
                copy(v, dims, ps, nd, out);
            }
            Planes::U32(_) | Planes::I32(_) | Planes::F64(_) => return false,
        }
        true
    }

    /// Pixels `ps` of the window as f64, pixel-major (`out[(p - ps.start) * n
    /// + t]`), the fill value (and NaN) as NaN.
    pub fn pixels(&self, ps: std::ops::Range<usize>, out: &mut Vec<f64>) {
        fn gather<T: Copy + Into<f64>>(
            v: &[T],
            (px, n): (usize, usize),
            ps: std::ops::Range<usize>,
            nodata: Option<f64>,
            out: &mut [f64],
        ) {
            for t in 0..n {
                let plane = &v[t * px + ps.start..t * px + ps.end];
                for (p, &x) in plane.iter().enumerate() {
                    let x: f64 = x.into();
                    out[p * n + t] = if Some(x) == nodata { f64::NAN } else { x };
                }
            }
        }
        let dims = (self.px, self.n);
        out.clear();
        out.resize(ps.len() * self.n, f64::NAN);
        match &self.planes {
            Planes::U8(v) => gather(v, dims, ps, self.nodata, out),
            Planes::U16(v) => gather(v, dims, ps, self.nodata, out),
            Planes::I16(v) => gather(v, dims, ps, self.nodata, out),
            Planes::U32(v) => gather(v, dims, ps, self.nodata, out),
            Planes::I32(v) => gather(v, dims, ps, self.nodata, out),
            Planes::F32(v) => gather(v, dims, ps, self.nodata, out),
            Planes::F64(v) => gather(v, dims, ps, self.nodata, out),
        }
    }
}
