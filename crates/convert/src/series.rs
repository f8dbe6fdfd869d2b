//! Time series on one grid, window by window: reading every date of a
//! spatial window into one pixel-major buffer (each pixel's samples
//! contiguous, the layout gap fillers want), and writing such buffers back
//! as one raster per date.
//!
//! Memory is one window times the number of dates, whatever the raster size.

use crate::dtype::DType;
use crate::error::{ConvertError, Result};
use crate::source::RasterSource;
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};

/// A pixel window: column, row, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First column.
    pub x: usize,
    /// First row.
    pub y: usize,
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
}

impl Window {
    /// Pixels in the window.
    pub fn len(&self) -> usize {
        self.w * self.h
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Square windows of `edge` pixels covering a `width` x `height` grid,
    /// row by row (the last ones clipped).
    pub fn tiles(width: usize, height: usize, edge: usize) -> Vec<Window> {
        Self::tiles_of(width, height, edge, edge)
    }

    /// Tiles of `cols` x `rows` pixels covering a grid, row by row; the last
    /// ones clipped.
    pub fn tiles_of(width: usize, height: usize, cols: usize, rows: usize) -> Vec<Window> {
        let mut v = Vec::new();
        for y in (0..height).step_by(rows.max(1)) {
            for x in (0..width).step_by(cols.max(1)) {
                v.push(Window {
                    x,
                    y,
                    w: cols.min(width - x),
                    h: rows.min(height - y),
                });
            }
        }
        v
    }
}

/// Reads `win` of `band` into `frame` (its length is the window's).
fn read_window(
    band: &gdal::raster::RasterBand,
    win: Window,
    frame: &mut [f64],
    name: &str,
) -> Result<()> {
    band.read_into_slice(
        (win.x as isize, win.y as isize),
        (win.w, win.h),
        (win.w, win.h),
        frame,
        None,
    )
    .map_err(|e| ConvertError::Read {
        path: name.to_string(),
        row: win.y,
        reason: e.to_string(),
    })
}

/// Reads one band of every date of a series.
pub struct SeriesReader {
    names: Vec<String>,
    handles: Vec<Dataset>,
    band: usize,
    nodata: Vec<Option<f64>>,
}

impl SeriesReader {
    /// Opens every source; `band` is the 1-based band index in the inputs.
    pub fn open(sources: &[RasterSource], band: usize) -> Result<Self> {
        let mut handles = Vec::with_capacity(sources.len());
        let mut nodata = Vec::with_capacity(sources.len());
        for s in sources {
            let ds = s.open()?;
            nodata.push(ds.rasterband(band)?.no_data_value());
            handles.push(ds);
        }
        Ok(Self {
            names: sources.iter().map(|s| s.name.clone()).collect(),
            handles,
            band,
            nodata,
        })
    }

    /// Reads `win` of every date as f64, pixel-major (`out[p * n + t]`),
    /// with each input's nodata (and NaN) as NaN.
    pub fn read(&self, win: Window, out: &mut Vec<f64>) -> Result<()> {
        let n = self.handles.len();
        out.clear();
        out.resize(win.len() * n, f64::NAN);
        let mut frame = vec![0f64; win.len()];
        for (t, ds) in self.handles.iter().enumerate() {
            read_window(&ds.rasterband(self.band)?, win, &mut frame, &self.names[t])?;
            let nd = self.nodata[t];
            for (p, v) in frame.iter().enumerate() {
                out[p * n + t] = if Some(*v) == nd { f64::NAN } else { *v };
            }
        }
        Ok(())
    }
}

/// A raster of `bands` bands of `T`: the typed create call behind `dispatch_dtype!`.
fn create_frame<T: crate::dtype::Sample>(
    driver: &gdal::Driver,
    path: &Path,
    (width, height, bands): (usize, usize, usize),
    opts: &RasterCreationOptions,
) -> gdal::errors::Result<Dataset> {
    driver.create_with_band_type_with_options::<T, _>(path, width, height, bands, opts)
}

/// Creation options of temporary frames: tiled like the windows that fill
/// them (each tile written once, whole), fast zstd.
fn frame_options(block: usize, bands: usize) -> RasterCreationOptions {
    let bx = format!("BLOCKXSIZE={block}");
    let by = format!("BLOCKYSIZE={block}");
    let mut v = vec![
        "TILED=YES",
        bx.as_str(),
        by.as_str(),
        "COMPRESS=ZSTD",
        "ZSTD_LEVEL=1",
        "BIGTIFF=IF_SAFER",
    ];
    if bands > 1 {
        v.push("INTERLEAVE=BAND");
    }
    RasterCreationOptions::from_iter(v)
}

/// Date `t` of a pixel-major window buffer of `n` dates, NaN as `fill`.
fn frame_of(data: &[f64], n: usize, t: usize, fill: f64) -> Vec<f64> {
    data.iter()
        .skip(t)
        .step_by(n)
        .map(|&v| if v.is_nan() { fill } else { v })
        .collect()
}

/// Every date of one window of the grid in a single GeoTIFF (band t = date
/// t): what a scale-out task hands to the job's finalize. It goes through
/// the same GDAL conversions as the frames, so copying it into the frames
/// is exact.
pub struct BandStack {
    path: PathBuf,
    ds: Dataset,
    bands: usize,
    nodata: Option<f64>,
}

impl BandStack {
    /// Creates `path` with `bands` bands covering `win` of `grid`
    /// (georeferenced as that window).
    pub fn create(
        path: &Path,
        bands: usize,
        grid: &Grid,
        win: Window,
        dtype: DType,
        nodata: Option<f64>,
        block: usize,
    ) -> Result<Self> {
        let driver = DriverManager::get_driver_by_name("GTiff")?;
        let opts = frame_options(block, bands);
        let mut ds = crate::dispatch_dtype!(
            dtype,
            create_frame::<T>(&driver, path, (win.w, win.h, bands), &opts)
        )
        .map_err(|e| ConvertError::output(path, e))?;
        if let Some(gt) = &grid.geotransform {
            let x0 = gt[0] + win.x as f64 * gt[1] + win.y as f64 * gt[2];
            let y0 = gt[3] + win.x as f64 * gt[4] + win.y as f64 * gt[5];
            ds.set_geo_transform(&[x0, gt[1], gt[2], y0, gt[4], gt[5]])?;
        }
        if let Some(srs) = grid
            .wkt
            .as_deref()
            .and_then(|w| gdal::spatial_ref::SpatialRef::from_wkt(w).ok())
        {
            ds.set_spatial_ref(&srs)?;
        }
        for b in 1..=bands {
            ds.rasterband(b)?.set_no_data_value(nodata)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            ds,
            bands,
            nodata,
        })
    }

    /// Writes `win` (in the stack's own pixels) from a pixel-major buffer.
    pub fn write(&mut self, win: Window, data: &[f64]) -> Result<()> {
        let fill = self.nodata.unwrap_or(f64::NAN);
        for t in 0..self.bands {
            let mut buf = Buffer::new((win.w, win.h), frame_of(data, self.bands, t, fill));
            self.ds
                .rasterband(t + 1)?
                .write((win.x as isize, win.y as isize), (win.w, win.h), &mut buf)
                .map_err(|e| ConvertError::output(&self.path, e))?;
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        self.ds
            .close()
            .map_err(|e| ConvertError::output(&self.path, e))
    }

    /// Reads `win` (in the stack's pixels) of every band into a pixel-major
    /// buffer, nodata kept as its value (written back, it stays nodata).
    pub fn read(path: &Path, win: Window, out: &mut Vec<f64>) -> Result<()> {
        let ds = Dataset::open(path).map_err(|e| ConvertError::Read {
            path: path.display().to_string(),
            row: win.y,
            reason: e.to_string(),
        })?;
        let n = ds.raster_count();
        out.clear();
        out.resize(win.len() * n, f64::NAN);
        let mut frame = vec![0f64; win.len()];
        for t in 0..n {
            read_window(
                &ds.rasterband(t + 1)?,
                win,
                &mut frame,
                &path.display().to_string(),
            )?;
            for (p, v) in frame.iter().enumerate() {
                out[p * n + t] = *v;
            }
        }
        Ok(())
    }
}

/// The grid frames are written on.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Geotransform, when georeferenced.
    pub geotransform: Option<[f64; 6]>,
    /// CRS as WKT, when known.
    pub wkt: Option<String>,
}

impl Grid {
    /// The grid of a raster.
    pub fn of(src: &RasterSource) -> Self {
        Self {
            width: src.width,
            height: src.height,
            geotransform: src.georeferenced.then_some(src.geotransform),
            wkt: src.crs.as_ref().map(|c| c.wkt2.clone()),
        }
    }
}

/// Creates a one-band GeoTIFF of `dtype` on `grid` at `path`.
fn create_on_grid(
    path: &Path,
    grid: &Grid,
    dtype: DType,
    nodata: Option<f64>,
    opts: &RasterCreationOptions,
) -> Result<Dataset> {
    let driver = DriverManager::get_driver_by_name("GTiff")?;
    let mut ds = crate::dispatch_dtype!(
        dtype,
        create_frame::<T>(&driver, path, (grid.width, grid.height, 1), opts)
    )
    .map_err(|e| ConvertError::output(path, e))?;
    if let Some(gt) = &grid.geotransform {
        ds.set_geo_transform(gt)?;
    }
    if let Some(srs) = grid
        .wkt
        .as_deref()
        .and_then(|w| gdal::spatial_ref::SpatialRef::from_wkt(w).ok())
    {
        ds.set_spatial_ref(&srs)?;
    }
    ds.rasterband(1)?.set_no_data_value(nodata)?;
    Ok(ds)
}

/// Describes outputs on `grid` without writing their pixels: a header-only
/// (sparse) GeoTIFF at `path`, read back, gives the CRS, nodata and data type
/// exactly as a frame written there would.
pub fn grid_template(
    path: &Path,
    grid: &Grid,
    dtype: DType,
    nodata: Option<f64>,
) -> Result<RasterSource> {
    let opts = RasterCreationOptions::from_iter(["TILED=YES", "SPARSE_OK=TRUE"]);
    let ds = create_on_grid(path, grid, dtype, nodata, &opts)?;
    ds.close().map_err(|e| ConvertError::output(path, e))?;
    RasterSource::inspect(&path.to_string_lossy(), None, None)
}

/// One raster per date, written window by window from pixel-major buffers.
pub struct FrameWriter {
    paths: Vec<PathBuf>,
    datasets: Vec<Dataset>,
    nodata: Option<f64>,
}

impl FrameWriter {
    /// Creates `names` (file names) in `dir` as GeoTIFFs of `dtype` on
    /// `grid`, tiled by `block` (a multiple of 16), zstd level 1: temporary
    /// frames, read again by the COG and GeoZarr writers.
    pub fn create(
        dir: &Path,
        names: &[String],
        grid: &Grid,
        dtype: DType,
        nodata: Option<f64>,
        block: usize,
    ) -> Result<Self> {
        let opts = frame_options(block, 1);
        let mut paths = Vec::with_capacity(names.len());
        let mut datasets = Vec::with_capacity(names.len());
        for name in names {
            let path = dir.join(name);
            datasets.push(create_on_grid(&path, grid, dtype, nodata, &opts)?);
            paths.push(path);
        }
        Ok(Self {
            paths,
            datasets,
            nodata,
        })
    }

    /// The frame files, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Writes `win` of every frame from a pixel-major buffer (`data[p * n + t]`);
    /// NaN becomes the frame's nodata. GDAL rounds and clamps to the type.
    pub fn write(&mut self, win: Window, data: &[f64]) -> Result<()> {
        let n = self.datasets.len();
        let fill = self.nodata.unwrap_or(f64::NAN);
        for (t, ds) in self.datasets.iter_mut().enumerate() {
            let mut buf = Buffer::new((win.w, win.h), frame_of(data, n, t, fill));
            ds.rasterband(1)?
                .write((win.x as isize, win.y as isize), (win.w, win.h), &mut buf)
                .map_err(|e| ConvertError::output(&self.paths[t], e))?;
        }
        Ok(())
    }

    /// Flushes and closes every frame.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        for (ds, path) in self.datasets.into_iter().zip(&self.paths) {
            ds.close().map_err(|e| ConvertError::output(path, e))?;
        }
        Ok(self.paths)
    }
}

#[cfg(test)]
mod tests {
    // Values written and read back must be exactly equal.
    #![allow(clippy::float_cmp)]
    use super::*;

    #[test]
    fn tiles_cover_the_grid_once() {
        let t = Window::tiles(1000, 700, 512);
        assert_eq!(t.len(), 4);
        assert_eq!(
            t[3],
            Window {
                x: 512,
                y: 512,
                w: 488,
                h: 188
            }
        );
        assert_eq!(t.iter().map(Window::len).sum::<usize>(), 1000 * 700);
    }

    #[test]
    fn frames_round_trip_pixel_major_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("a.tif");
        {
            let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
            let mut ds = driver
                .create_with_band_type::<u16, _>(&src_path, 5, 4, 1)
                .unwrap();
            ds.set_geo_transform(&[0.0, 10.0, 0.0, 40.0, 0.0, -10.0])
                .unwrap();
            ds.rasterband(1)
                .unwrap()
                .set_no_data_value(Some(0.0))
                .unwrap();
        }
        let like = RasterSource::inspect(src_path.to_str().unwrap(), None, None).unwrap();
        let names = vec!["t0.tif".to_string(), "t1.tif".to_string()];
        let mut w = FrameWriter::create(
            dir.path(),
            &names,
            &Grid::of(&like),
            DType::U16,
            Some(0.0),
            16,
        )
        .unwrap();
        let win = Window {
            x: 1,
            y: 1,
            w: 2,
            h: 2,
        };
        // Pixel-major, two dates: (p0: 10, 11), (p1: NaN, 21), ...
        let data = vec![10.0, 11.0, f64::NAN, 21.4, 30.0, 31.0, 40.0, 41.6];
        w.write(win, &data).unwrap();
        let paths = w.finish().unwrap();
        let sources: Vec<RasterSource> = paths
            .iter()
            .map(|p| RasterSource::inspect(p.to_str().unwrap(), None, None).unwrap())
            .collect();
        let r = SeriesReader::open(&sources, 1).unwrap();
        let mut back = Vec::new();
        r.read(win, &mut back).unwrap();
        assert_eq!(back[0], 10.0);
        assert!(back[2].is_nan(), "NaN written as nodata reads back as NaN");
        assert_eq!(back[3], 21.0);
        assert_eq!(back[7], 42.0);
    }
}
