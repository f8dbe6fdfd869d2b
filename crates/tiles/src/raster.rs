//! Raster tiles: the input is warped once by GDAL to EPSG:3857 on the tile
//! grid of its native-resolution zoom (nodata and the area outside the
//! input become NaN), the lower zooms are 2x2 averages of valid values
//! (first valid value for classes), and every tile that holds data is
//! rendered to RGBA (nodata transparent) and encoded as PNG or WebP in
//! parallel. Empty tiles are skipped.

use crate::archive::{record, write_archive, ArchiveSpec};
use crate::mercator::{lonlat_to_world, HALF_WORLD_M};
use crate::vector::ZoomTiles;
use crate::TilesError;
use arco_convert::RasterSource;
use arco_core::{BandRecord, Progress, Record};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::Dataset;
use pmtiles::{Compression, TileCoord, TileId, TileType};
use rayon::prelude::*;
use std::ffi::{CStr, CString};
use std::path::Path;

const TILE: usize = 256;
/// The most values (pixels x bands) the native-zoom mosaic may hold.
const MAX_MOSAIC_VALUES: usize = 600_000_000;

/// Image format of raster tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// PNG (lossless; grey, grey+alpha, RGB or RGBA as the tile needs).
    Png,
    /// WebP (through GDAL; lossless unless a quality is given).
    Webp,
}

impl std::str::FromStr for TileFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(TileFormat::Png),
            "webp" => Ok(TileFormat::Webp),
            _ => Err(format!("'{s}' is not a tile format (png or webp)")),
        }
    }
}

/// How to tile a raster.
#[derive(Debug, Clone)]
pub struct RasterTileOptions {
    /// Image format.
    pub format: TileFormat,
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom; the native resolution's zoom when `None`.
    pub maxzoom: Option<u8>,
    /// WebP quality 1-100 (lossy); lossless when `None`.
    pub quality: Option<u8>,
    /// Replace an existing output.
    pub overwrite: bool,
}

impl Default for RasterTileOptions {
    fn default() -> Self {
        Self {
            format: TileFormat::Png,
            minzoom: 0,
            maxzoom: None,
            quality: None,
            overwrite: false,
        }
    }
}

fn raster_err(path: &str, reason: impl Into<String>) -> TilesError {
    TilesError::Raster {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn cpl_msg() -> String {
    #[allow(unsafe_code)]
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local string.
    unsafe { CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) }
        .to_string_lossy()
        .into_owned()
}

/// Bounds of the input in world units, and the size of one of its pixels
/// (world units) at its centre.
fn footprint(src: &RasterSource, ds: &Dataset) -> Result<([f64; 4], f64), TilesError> {
    let name = &src.name;
    if !src.georeferenced {
        return Err(raster_err(
            name,
            "has no georeferencing; tiles need one (assign it with gdal_translate -a_ullr / -a_srs)",
        ));
    }
    let mut srs = ds.spatial_ref().map_err(|_| {
        raster_err(
            name,
            "declares no CRS; tiles need one (assign it with gdal_translate -a_srs EPSG:XXXX)",
        )
    })?;
    let mut wgs = SpatialRef::from_epsg(4326).map_err(|e| raster_err(name, e.to_string()))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    wgs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let ct = CoordTransform::new(&srs, &wgs).map_err(|e| {
        raster_err(
            name,
            format!("its CRS cannot be transformed to longitude/latitude ({e}); reproject it first (gdalwarp -t_srs EPSG:4326)"),
        )
    })?;
    let b = src.bbox();
    let ll = ct.transform_bounds(&b, 21).map_err(|e| {
        raster_err(
            name,
            format!("its extent cannot be transformed to longitude/latitude ({e}); reproject it first (gdalwarp -t_srs EPSG:4326)"),
        )
    })?;
    let [x0, y1] = lonlat_to_world(ll[0], ll[1]);
    let [x1, y0] = lonlat_to_world(ll[2], ll[3]);
    let world = [x0, y0, x1, y1];
    if !(world.iter().all(|v| v.is_finite()) && x1 > x0 && y1 > y0) {
        return Err(raster_err(
            name,
            "its extent is empty in web mercator (outside +-85 degrees latitude?)",
        ));
    }
    // One pixel at the centre, in world units.
    let gt = src.geotransform;
    let (cx, cy) = (src.width as f64 / 2.0, src.height as f64 / 2.0);
    let at = |px: f64, py: f64| {
        (
            gt[0] + px * gt[1] + py * gt[2],
            gt[3] + px * gt[4] + py * gt[5],
        )
    };
    let pts = [at(cx, cy), at(cx + 1.0, cy), at(cx, cy + 1.0)];
    let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    ct.transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| raster_err(name, format!("cannot transform its centre pixel ({e})")))?;
    let w: Vec<[f64; 2]> = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| lonlat_to_world(*x, *y))
        .collect();
    let d = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let res = (d(w[0], w[1]) * d(w[0], w[2])).sqrt();
    if !(res.is_finite() && res > 0.0) {
        return Err(raster_err(
            name,
            "its pixel size cannot be measured in web mercator",
        ));
    }
    Ok((world, res))
}

/// The zoom whose 256-pixel tiles are at least as fine as `res` world units.
pub fn native_zoom(res: f64) -> u8 {
    // A 5 % margin keeps a 0.3 m pixel from asking for zoom 20 instead of 19.
    let z = (1.0 / (TILE as f64 * res)).log2() - 0.07;
    z.ceil().clamp(0.0, f64::from(crate::vector::MAX_ZOOM)) as u8
}

/// Warps the input to EPSG:3857 on the given window (metres) and size,
/// float32 with NaN for nodata.
#[allow(unsafe_code)]
fn warp(
    src: &RasterSource,
    ds: &Dataset,
    te: [f64; 4],
    size: (usize, usize),
    categorical: bool,
) -> Result<Dataset, TilesError> {
    let args: Vec<String> = vec![
        "-of".into(),
        "MEM".into(),
        "-t_srs".into(),
        "EPSG:3857".into(),
        "-te".into(),
        format!("{:.9}", te[0]),
        format!("{:.9}", te[1]),
        format!("{:.9}", te[2]),
        format!("{:.9}", te[3]),
        "-ts".into(),
        size.0.to_string(),
        size.1.to_string(),
        "-r".into(),
        if categorical { "near" } else { "bilinear" }.into(),
        "-ot".into(),
        "Float32".into(),
        "-dstnodata".into(),
        "nan".into(),
        "-wo".into(),
        "NUM_THREADS=ALL_CPUS".into(),
    ];
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).expect("no NUL in warp options"))
        .collect();
    let mut ptrs: Vec<*mut std::ffi::c_char> = cargs
        .iter()
        .map(|c| c.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();
    let empty = CString::default();
    // SAFETY: `ptrs` is a NULL-terminated array of NUL-terminated strings
    // that outlive the calls; the options are freed once; the source handle
    // is live for the borrow of `ds`; GDALWarp returns a new dataset handle
    // (or NULL) that the returned `Dataset` owns.
    unsafe {
        let opts = gdal_sys::GDALWarpAppOptionsNew(ptrs.as_mut_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(raster_err(
                &src.name,
                format!("bad warp options ({})", cpl_msg()),
            ));
        }
        let mut handles = [ds.c_dataset()];
        let mut usage = 0;
        let out = gdal_sys::GDALWarp(
            empty.as_ptr(),
            std::ptr::null_mut(),
            1,
            handles.as_mut_ptr(),
            opts,
            &raw mut usage,
        );
        gdal_sys::GDALWarpAppOptionsFree(opts);
        if out.is_null() {
            return Err(raster_err(
                &src.name,
                format!("cannot warp it to web mercator ({})", cpl_msg()),
            ));
        }
        Ok(Dataset::from_c_dataset(out))
    }
}

/// One zoom level of the pyramid: bands of NaN-for-nodata values over a
/// whole number of tiles starting at tile `(tx0, ty0)`.
struct Level {
    z: u8,
    tx0: u32,
    ty0: u32,
    ntx: usize,
    nty: usize,
    bands: Vec<Vec<f32>>,
}

impl Level {
    fn width(&self) -> usize {
        self.ntx * TILE
    }

    /// The next zoom down: 2x2 means of valid values (or the first valid
    /// value for classes).
    fn down(&self, categorical: bool) -> Level {
        let (tx0, ty0) = (self.tx0 / 2, self.ty0 / 2);
        let ntx = ((self.tx0 as usize + self.ntx - 1) / 2) - tx0 as usize + 1;
        let nty = ((self.ty0 as usize + self.nty - 1) / 2) - ty0 as usize + 1;
        let (w, h) = (ntx * TILE, nty * TILE);
        // Pixel (i, j) here covers pixels (2i - ox, 2j - oy) .. +1 above.
        let ox = (self.tx0 as usize % 2) * TILE;
        let oy = (self.ty0 as usize % 2) * TILE;
        let (sw, sh) = (self.width(), self.nty * TILE);
        let bands = self
            .bands
            .par_iter()
            .map(|src| {
                let mut out = vec![f32::NAN; w * h];
                out.par_chunks_mut(w).enumerate().for_each(|(j, row)| {
                    for (i, v) in row.iter_mut().enumerate() {
                        let (mut sum, mut n, mut first) = (0.0f64, 0u32, f32::NAN);
                        for dy in 0..2 {
                            let sy = (2 * j + dy).wrapping_sub(oy);
                            if sy >= sh {
                                continue;
                            }
                            for dx in 0..2 {
                                let sx = (2 * i + dx).wrapping_sub(ox);
                                if sx >= sw {
                                    continue;
                                }
                                let x = src[sy * sw + sx];
                                if !x.is_nan() {
                                    if n == 0 {
                                        first = x;
                                    }
                                    sum += f64::from(x);
                                    n += 1;
                                }
                            }
                        }
                        if n > 0 {
                            *v = if categorical {
                                first
                            } else {
                                (sum / f64::from(n)) as f32
                            };
                        }
                    }
                });
                out
            })
            .collect();
        Level {
            z: self.z - 1,
            tx0,
            ty0,
            ntx,
            nty,
            bands,
        }
    }
}

/// How values become colours.
enum Style {
    /// A colour table (class value -> RGBA).
    Palette(Vec<[u8; 4]>),
    /// Band 1 stretched to grey between two values.
    Grey(f32, f32),
    /// Bands 1-3 as red, green, blue, each stretched.
    Rgb([(f32, f32); 3]),
}

fn stretch(v: f32, (lo, hi): (f32, f32)) -> u8 {
    if hi > lo {
        (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
    } else {
        128
    }
}

/// The 2nd and 98th percentiles of the valid values (from a sample), the
/// usual display stretch; exact 0-255 for 8-bit data.
fn percentiles(values: &[f32], byte: bool) -> (f32, f32) {
    if byte {
        return (0.0, 255.0);
    }
    let step = (values.len() / 1_000_000).max(1);
    let mut s: Vec<f32> = values
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    if s.is_empty() {
        return (0.0, 1.0);
    }
    s.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    (at(0.02), at(0.98))
}

fn render(level: &Level, tx: usize, ty: usize, style: &Style) -> Option<Vec<[u8; 4]>> {
    let w = level.width();
    let mut px = vec![[0u8; 4]; TILE * TILE];
    let mut any = false;
    for y in 0..TILE {
        let row = (ty * TILE + y) * w + tx * TILE;
        for x in 0..TILE {
            let i = row + x;
            let v0 = level.bands[0][i];
            let out = &mut px[y * TILE + x];
            match style {
                Style::Palette(p) => {
                    if v0.is_nan() || v0 < 0.0 || (v0 as usize) >= p.len() {
                        continue;
                    }
                    *out = p[v0 as usize];
                }
                Style::Grey(lo, hi) => {
                    if v0.is_nan() {
                        continue;
                    }
                    let g = stretch(v0, (*lo, *hi));
                    *out = [g, g, g, 255];
                }
                Style::Rgb(s) => {
                    let (v1, v2) = (level.bands[1][i], level.bands[2][i]);
                    if v0.is_nan() || v1.is_nan() || v2.is_nan() {
                        continue;
                    }
                    *out = [stretch(v0, s[0]), stretch(v1, s[1]), stretch(v2, s[2]), 255];
                }
            }
            any |= out[3] > 0;
        }
    }
    any.then_some(px)
}

fn encode_png(px: &[[u8; 4]]) -> Result<Vec<u8>, String> {
    let grey = px.iter().all(|p| p[0] == p[1] && p[1] == p[2]);
    let opaque = px.iter().all(|p| p[3] == 255);
    let (color, data): (png::ColorType, Vec<u8>) = match (grey, opaque) {
        (true, true) => (png::ColorType::Grayscale, px.iter().map(|p| p[0]).collect()),
        (true, false) => (
            png::ColorType::GrayscaleAlpha,
            px.iter().flat_map(|p| [p[0], p[3]]).collect(),
        ),
        (false, true) => (
            png::ColorType::Rgb,
            px.iter().flat_map(|p| [p[0], p[1], p[2]]).collect(),
        ),
        (false, false) => (png::ColorType::Rgba, px.iter().flatten().copied().collect()),
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, TILE as u32, TILE as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&data).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn encode_webp(px: &[[u8; 4]], quality: Option<u8>, name: &str) -> Result<Vec<u8>, String> {
    use gdal::raster::{Buffer, RasterCreationOptions};
    let mem = gdal::DriverManager::get_driver_by_name("MEM").map_err(|e| e.to_string())?;
    let webp = gdal::DriverManager::get_driver_by_name("WEBP")
        .map_err(|_| "this GDAL has no WEBP driver; use --tile-format png".to_string())?;
    let ds = mem
        .create_with_band_type::<u8, _>("", TILE, TILE, 4)
        .map_err(|e| e.to_string())?;
    for b in 0..4 {
        let mut buf = Buffer::new((TILE, TILE), px.iter().map(|p| p[b]).collect());
        ds.rasterband(b + 1)
            .and_then(|mut band| band.write((0, 0), (TILE, TILE), &mut buf))
            .map_err(|e| e.to_string())?;
    }
    let opts = match quality {
        Some(q) => RasterCreationOptions::from_iter([format!("QUALITY={q}")]),
        None => RasterCreationOptions::from_iter(["LOSSLESS=YES".to_string()]),
    };
    let path = format!("/vsimem/arco-{}-{name}.webp", std::process::id());
    let out = ds
        .create_copy(&webp, &path, &opts)
        .map_err(|e| e.to_string())?;
    drop(out);
    let bytes = gdal::vsi::get_vsi_mem_file_bytes_owned(&path).map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn style_of(src: &RasterSource, ds: &Dataset, level: &Level) -> Style {
    let byte = src.dtype() == arco_convert::DType::U8;
    if src.bands[0].has_color_table {
        if let Ok(band) = ds.rasterband(src.bands[0].index) {
            if let Some(ct) = band.color_table() {
                let nodata = src.bands[0].nodata;
                let p = (0..ct.entry_count())
                    .map(|i| {
                        let e = ct.entry_as_rgb(i).unwrap_or(gdal::raster::RgbaEntry {
                            r: 0,
                            g: 0,
                            b: 0,
                            a: 0,
                        });
                        let c = |v: i16| v.clamp(0, 255) as u8;
                        let a = if nodata == Some(i as f64) { 0 } else { c(e.a) };
                        [c(e.r), c(e.g), c(e.b), a]
                    })
                    .collect();
                return Style::Palette(p);
            }
        }
    }
    if level.bands.len() >= 3 {
        Style::Rgb([
            percentiles(&level.bands[0], byte),
            percentiles(&level.bands[1], byte),
            percentiles(&level.bands[2], byte),
        ])
    } else {
        let (lo, hi) = percentiles(&level.bands[0], byte);
        Style::Grey(lo, hi)
    }
}

/// Tiles a raster into a PMTiles archive of PNG or WebP tiles.
pub fn write_raster_pmtiles(
    src: &RasterSource,
    target: &Path,
    opts: &RasterTileOptions,
    progress: &dyn Progress,
) -> Result<Record, TilesError> {
    if target.exists() && !opts.overwrite {
        return Err(arco_convert::ConvertError::OutputExists {
            path: target.to_path_buf(),
        }
        .into());
    }
    let ds = src.open()?;
    let (world, res) = footprint(src, &ds)?;
    let native = native_zoom(res);
    let maxzoom = opts.maxzoom.unwrap_or(native);
    if maxzoom > crate::vector::MAX_ZOOM || opts.minzoom > maxzoom {
        return Err(TilesError::Option(format!(
            "zooms {}..{maxzoom} are not a range within 0..{}; check --minzoom/--maxzoom",
            opts.minzoom,
            crate::vector::MAX_ZOOM
        )));
    }
    let n = f64::from(1u32 << maxzoom);
    let last = n - 1.0;
    let t = |v: f64| (v * n).floor().clamp(0.0, last) as u32;
    // A hair inside the far edges so a bound on a tile edge adds no tile.
    let (tx0, ty0) = (t(world[0]), t(world[1]));
    let (tx1, ty1) = (t(world[2] - 1e-12), t(world[3] - 1e-12));
    let (ntx, nty) = ((tx1 - tx0 + 1) as usize, (ty1 - ty0 + 1) as usize);
    let (w, h) = (ntx * TILE, nty * TILE);
    if w * h * src.bands.len() > MAX_MOSAIC_VALUES {
        return Err(TilesError::Option(format!(
            "{}: zoom {maxzoom} needs a {w} x {h} mosaic, more than arco holds in memory; pass a lower --maxzoom",
            src.name
        )));
    }
    let tile_m = 2.0 * HALF_WORLD_M / n;
    let te = [
        -HALF_WORLD_M + f64::from(tx0) * tile_m,
        HALF_WORLD_M - f64::from(ty1 + 1) * tile_m,
        -HALF_WORLD_M + f64::from(tx1 + 1) * tile_m,
        HALF_WORLD_M - f64::from(ty0) * tile_m,
    ];
    let categorical = src.bands.iter().any(|b| b.categorical);
    let zooms_n = u64::from(maxzoom - opts.minzoom) + 2;
    progress.start("tiling", zooms_n);
    let warped = warp(src, &ds, te, (w, h), categorical)?;
    progress.advance(1);
    // GDAL 3.6's warp has no -b: every band is warped and the chosen kept.
    let mut bands = Vec::with_capacity(src.bands.len());
    for i in src.bands.iter().map(|b| b.index) {
        let buf = warped
            .rasterband(i)
            .and_then(|b| b.read_as::<f32>((0, 0), (w, h), (w, h), None))
            .map_err(|e| raster_err(&src.name, format!("cannot read the warped pixels ({e})")))?;
        bands.push(buf.into_shape_and_vec().1);
    }
    drop(warped);
    let mut level = Level {
        z: maxzoom,
        tx0,
        ty0,
        ntx,
        nty,
        bands,
    };
    let style = style_of(src, &ds, &level);
    let mut zooms: Vec<ZoomTiles> = Vec::new();
    loop {
        let coords: Vec<(usize, usize)> = (0..level.nty)
            .flat_map(|y| (0..level.ntx).map(move |x| (x, y)))
            .collect();
        let lv = &level;
        let mut tiles: Vec<(u64, Vec<u8>)> = coords
            .par_iter()
            .filter_map(|&(x, y)| {
                let px = render(lv, x, y, &style)?;
                let (gx, gy) = (lv.tx0 + x as u32, lv.ty0 + y as u32);
                let id = TileId::from(TileCoord::new(lv.z, gx, gy).ok()?).value();
                let data = match opts.format {
                    TileFormat::Png => encode_png(&px),
                    TileFormat::Webp => {
                        encode_webp(&px, opts.quality, &format!("{}-{gx}-{gy}", lv.z))
                    }
                };
                Some(data.map(|d| (id, d)))
            })
            .collect::<Result<_, String>>()
            .map_err(|e| {
                raster_err(
                    &target.display().to_string(),
                    format!("cannot encode a tile ({e})"),
                )
            })?;
        tiles.sort_unstable_by_key(|t| t.0);
        zooms.push(tiles);
        progress.advance(1);
        if level.z == opts.minzoom {
            break;
        }
        level = level.down(categorical);
    }
    progress.finish();
    zooms.reverse();
    let tile_count: usize = zooms.iter().map(Vec::len).sum();
    let (tile_type, format_name) = match opts.format {
        TileFormat::Png => (TileType::Png, "png"),
        TileFormat::Webp => (TileType::Webp, "webp"),
    };
    let mut spec = ArchiveSpec {
        tile_type,
        tile_compression: Compression::None,
        minzoom: opts.minzoom,
        maxzoom,
        bounds: world,
        metadata: serde_json::Value::Null,
    };
    let [bw, bs, be, bn] = spec.bounds_lonlat();
    let (clon, clat, cz) = spec.center();
    let stem = target
        .file_stem()
        .map_or_else(|| "tiles".into(), |s| s.to_string_lossy().into_owned());
    spec.metadata = serde_json::json!({
        "name": stem,
        "description": format!("{}: raster tiles by arco", src.name),
        "type": "overlay",
        "format": format_name,
        "generator": concat!("arco ", env!("CARGO_PKG_VERSION")),
        "minzoom": opts.minzoom.to_string(),
        "maxzoom": maxzoom.to_string(),
        "bounds": format!("{bw:.6},{bs:.6},{be:.6},{bn:.6}"),
        "center": format!("{clon:.6},{clat:.6},{cz}"),
        "tileSize": TILE.to_string(),
    });
    let (size, checksum) = write_archive(target, opts.overwrite, &spec, &zooms)?;
    let mut notes = Vec::new();
    if opts.maxzoom.is_none() {
        notes.push(format!(
            "max zoom {maxzoom} from the input's resolution (pass --maxzoom to choose)"
        ));
    }
    if tile_count == 0 {
        notes.push("every tile was empty (all nodata): the archive holds no tiles".into());
    }
    let mut rec = record(target, size, checksum, &spec, notes);
    rec.width = w;
    rec.height = h;
    rec.dtype = "uint8".into();
    rec.geotransform = [
        te[0],
        tile_m / TILE as f64,
        0.0,
        te[3],
        0.0,
        -tile_m / TILE as f64,
    ];
    rec.bands = ["red", "green", "blue", "alpha"]
        .iter()
        .map(|n| BandRecord {
            name: Some((*n).into()),
            ..BandRecord::default()
        })
        .collect();
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_zoom_of_common_resolutions() {
        // 10 m at the equator: zoom 14 is 9.55 m.
        let world = 2.0 * HALF_WORLD_M;
        assert_eq!(native_zoom(10.0 / world), 14);
        // 231 m (MODIS): zoom 10 is 153 m, zoom 9 is 306 m.
        assert_eq!(native_zoom(231.0 / world), 10);
        assert_eq!(native_zoom(1.0), 0);
    }

    #[test]
    fn averaging_down_ignores_nodata_and_keeps_alignment() {
        // One tile at zoom 1, x = 1 (odd): its parent is tile 0 at zoom 0,
        // and it fills the right half of it.
        let mut v = vec![f32::NAN; TILE * TILE];
        v[0] = 2.0;
        v[1] = 4.0;
        let l = Level {
            z: 1,
            tx0: 1,
            ty0: 0,
            ntx: 1,
            nty: 1,
            bands: vec![v],
        };
        let d = l.down(false);
        assert_eq!((d.z, d.tx0, d.ntx), (0, 0, 1));
        // Pixel (128, 0) of the parent covers pixels (0..2, 0..2) of the child.
        assert!((d.bands[0][128] - 3.0).abs() < 1e-6);
        assert!(d.bands[0][0].is_nan());
        assert!(d.bands[0][129].is_nan());
    }

    #[test]
    fn png_picks_the_smallest_colour_type() {
        let grey = vec![[7u8, 7, 7, 255]; TILE * TILE];
        let a = encode_png(&grey).unwrap();
        let mut rgba = grey.clone();
        rgba[0] = [1, 2, 3, 0];
        let b = encode_png(&rgba).unwrap();
        assert_eq!(&a[1..4], b"PNG");
        // IHDR colour type byte: 0 grey, 6 RGBA.
        assert_eq!(a[25], 0);
        assert_eq!(b[25], 6);
    }
}
