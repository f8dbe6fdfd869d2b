//! What a raster file says of itself (through GDAL), and a pass over its
//! pixels: missing values inside the valid-data mask, the value range, and
//! for reconstruction quality bands, pixels that could not be filled.

use gdal::raster::GdalDataType;
use gdal::vector::LayerAccess;
use gdal::Dataset;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The header facts STAC repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `[height, width]`, as `proj:shape`.
    pub shape: [usize; 2],
    /// `proj:transform` order: `[a, b, c, d, e, f]` = `[dx, rx, x0, ry, dy, y0]`.
    pub transform: [f64; 6],
    /// `EPSG:n` when GDAL finds an EPSG code.
    pub code: Option<String>,
    /// Band data type in STAC words (`uint16`, `float32`).
    pub data_type: String,
    /// Nodata of band 1.
    pub nodata: Option<f64>,
    /// Band count.
    pub bands: usize,
}

/// STAC's name for a GDAL data type.
pub fn stac_type(t: GdalDataType) -> &'static str {
    match t {
        GdalDataType::UInt8 => "uint8",
        GdalDataType::UInt16 => "uint16",
        GdalDataType::Int16 => "int16",
        GdalDataType::UInt32 => "uint32",
        GdalDataType::Int32 => "int32",
        GdalDataType::UInt64 => "uint64",
        GdalDataType::Int64 => "int64",
        GdalDataType::Float32 => "float32",
        GdalDataType::Float64 => "float64",
        GdalDataType::Unknown => "other",
    }
}

/// The header from the GeoTIFF tags alone (no GDAL, no extra read: the
/// bytes are those the layout check parsed). `None` when the file holds
/// something this reading does not cover (then GDAL reads it).
pub fn header_from_tiff(layout: &crate::cog::TiffLayout) -> Option<Header> {
    let main = layout.ifds.first()?;
    let data_type = match (main.sample_format.max(1), main.bits) {
        (1, 8) => "uint8",
        (1, 16) => "uint16",
        (1, 32) => "uint32",
        (1, 64) => "uint64",
        (2, 16) => "int16",
        (2, 32) => "int32",
        (2, 64) => "int64",
        (3, 32) => "float32",
        (3, 64) => "float64",
        _ => return None,
    };
    // GeoKeyDirectory: a 4-short header, then (key, location, count, value).
    let keys = &main.geokeys;
    let key = |id: u64| -> Option<u64> {
        keys.get(4..)?
            .chunks_exact(4)
            .find(|k| k[0] == id && k[1] == 0)
            .map(|k| k[3])
    };
    let transform = if main.transformation.len() >= 8 {
        let m = &main.transformation;
        [m[0], m[1], m[3], m[4], m[5], m[7]]
    } else if main.pixel_scale.len() >= 2 && main.tiepoint.len() >= 6 {
        let (sx, sy) = (main.pixel_scale[0], main.pixel_scale[1]);
        let t = &main.tiepoint;
        let (mut x0, mut y0) = (t[3] - t[0] * sx, t[4] + t[1] * sy);
        // GTRasterTypeGeoKey = PixelIsPoint: GDAL moves the origin to the
        // corner of the pixel.
        if key(1025) == Some(2) {
            x0 -= sx / 2.0;
            y0 += sy / 2.0;
        }
        [sx, 0.0, x0, 0.0, -sy, y0]
    } else {
        return None;
    };
    let code = match key(1024) {
        Some(1) => key(3072),
        Some(2) => key(2048),
        _ => None,
    }
    .filter(|&c| c != 32767 && c != 0)
    .map(|c| format!("EPSG:{c}"));
    let nodata = match main.nodata.as_deref() {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("nan") => Some(f64::NAN),
        Some(t) => Some(t.parse::<f64>().ok()?),
    };
    Some(Header {
        shape: [main.height as usize, main.width as usize],
        transform,
        code,
        data_type: data_type.to_string(),
        nodata,
        bands: main.samples.max(1) as usize,
    })
}

/// Reads the header of a raster.
pub fn header(path: &Path) -> Result<Header, String> {
    let ds = Dataset::open(path).map_err(|e| e.to_string())?;
    let (w, h) = ds.raster_size();
    let g = ds.geo_transform().map_err(|e| e.to_string())?;
    let code = ds.spatial_ref().ok().and_then(|s| {
        let auth = s.auth_name()?;
        let code = s.auth_code().ok()?;
        Some(format!("{auth}:{code}"))
    });
    let b = ds.rasterband(1).map_err(|e| e.to_string())?;
    Ok(Header {
        shape: [h, w],
        transform: [g[1], g[2], g[0], g[4], g[5], g[3]],
        code,
        data_type: stac_type(b.band_type()).to_string(),
        nodata: b.no_data_value(),
        bands: ds.raster_count(),
    })
}

/// What a pass over the pixels of one band found.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scan {
    /// Pixels inside the mask.
    pub inside: u64,
    /// Of those, missing (nodata or NaN).
    pub missing: u64,
    /// First missing pixel (column, row).
    pub first_missing: Option<(usize, usize)>,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
    /// Pixels equal to `zero_is_bad` (quality band: 0 = not fillable).
    pub bad: u64,
}

/// Reads band `band` of `path` in blocks of rows (every `stride`-th block
/// row when sampling), counting missing values where `mask` (same shape,
/// row-major, true = must be valid) allows.
pub fn scan(
    path: &Path,
    band: usize,
    mask: Option<&[bool]>,
    stride: usize,
    bad_value: Option<f64>,
) -> Result<Scan, String> {
    let ds = Dataset::open(path).map_err(|e| e.to_string())?;
    let (w, h) = ds.raster_size();
    let b = ds.rasterband(band).map_err(|e| e.to_string())?;
    let nodata = b.no_data_value();
    let rows = b.block_size().1.max(1);
    let mut s = Scan {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        ..Scan::default()
    };
    let mut y = 0;
    let mut k = 0usize;
    while y < h {
        let n = rows.min(h - y);
        if k.is_multiple_of(stride.max(1)) {
            let buf = b
                .read_as::<f64>((0, y as isize), (w, n), (w, n), None)
                .map_err(|e| e.to_string())?;
            for (i, &v) in buf.data().iter().enumerate() {
                let (px, py) = (i % w, y + i / w);
                if let Some(m) = mask {
                    if !m[py * w + px] {
                        continue;
                    }
                }
                s.inside += 1;
                if v.is_nan() || Some(v) == nodata {
                    s.missing += 1;
                    s.first_missing.get_or_insert((px, py));
                    continue;
                }
                if Some(v) == bad_value {
                    s.bad += 1;
                }
                s.min = s.min.min(v);
                s.max = s.max.max(v);
            }
        }
        y += n;
        k += 1;
    }
    Ok(s)
}

/// Valid-data masks, made once per grid: the Items of a collection share
/// one grid, so the mask is read (or burnt) once, not once per Item.
#[derive(Debug, Default)]
pub struct MaskCache(Mutex<HashMap<String, SharedMask>>);

/// A mask (true = must be valid), or why it could not be made.
pub type SharedMask = Arc<Result<Vec<bool>, String>>;

impl MaskCache {
    /// The mask for `like`, whose grid is `grid` (shape and transform;
    /// `None` when unknown, then it is not cached).
    pub fn get(
        &self,
        mask: &Path,
        like: &Path,
        grid: Option<String>,
    ) -> Arc<Result<Vec<bool>, String>> {
        let Some(key) = grid else {
            return Arc::new(mask_for(mask, like));
        };
        // Held while the mask is made, so that one thread makes it.
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(key)
            .or_insert_with(|| Arc::new(mask_for(mask, like)))
            .clone()
    }
}

/// A valid-data mask on the grid of `like`: a raster (non-zero = valid) on
/// the same grid, or a vector layer burnt in (inside = valid).
pub fn mask_for(mask: &Path, like: &Path) -> Result<Vec<bool>, String> {
    let target = Dataset::open(like).map_err(|e| e.to_string())?;
    let (w, h) = target.raster_size();
    if let Ok(m) = Dataset::open_ex(
        mask,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER,
            ..Default::default()
        },
    ) {
        if m.raster_size() != (w, h) {
            let (mw, mh) = m.raster_size();
            return Err(format!(
                "the mask {} is {mw}x{mh} but {} is {w}x{h}; give a mask on the product's grid or a vector mask",
                mask.display(),
                like.display()
            ));
        }
        let b = m.rasterband(1).map_err(|e| e.to_string())?;
        let buf = b
            .read_as::<f64>((0, 0), (w, h), (w, h), None)
            .map_err(|e| e.to_string())?;
        return Ok(buf
            .data()
            .iter()
            .map(|&v| v != 0.0 && !v.is_nan())
            .collect());
    }
    let v = Dataset::open(mask).map_err(|e| {
        format!(
            "{}: not a raster or vector GDAL can read ({e})",
            mask.display()
        )
    })?;
    let mut layer = v.layer(0).map_err(|e| e.to_string())?;
    let srs = target.spatial_ref().ok();
    // Burn the polygons in the product's CRS.
    let geoms: Vec<gdal::vector::Geometry> = layer
        .features()
        .filter_map(|f| f.geometry().cloned())
        .map(|g| match &srs {
            Some(s) if g.spatial_ref().is_some() => g.transform_to(s).map_err(|e| e.to_string()),
            _ => Ok(g),
        })
        .collect::<Result<_, _>>()?;
    let mem = gdal::DriverManager::get_driver_by_name("MEM").map_err(|e| e.to_string())?;
    let mut out = mem
        .create_with_band_type::<u8, _>("", w, h, 1)
        .map_err(|e| e.to_string())?;
    out.set_geo_transform(&target.geo_transform().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if let Ok(srs) = target.spatial_ref() {
        out.set_spatial_ref(&srs).map_err(|e| e.to_string())?;
    }
    let burn = vec![1.0; geoms.len()];
    gdal::raster::rasterize(&mut out, &[1], &geoms, &burn, None).map_err(|e| e.to_string())?;
    let buf = out
        .rasterband(1)
        .map_err(|e| e.to_string())?
        .read_as::<u8>((0, 0), (w, h), (w, h), None)
        .map_err(|e| e.to_string())?;
    Ok(buf.data().iter().map(|&v| v != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::Bytes;
    use gdal::spatial_ref::SpatialRef;
    use gdal::DriverManager;

    fn write(path: &Path, srs: &SpatialRef, float: bool, nodata: Option<f64>, options: &[&str]) {
        let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
        let opts: gdal::raster::RasterCreationOptions = options.iter().copied().collect();
        let mut ds = if float {
            drv.create_with_band_type_with_options::<f32, _>(path, 300, 200, 2, &opts)
                .unwrap()
        } else {
            drv.create_with_band_type_with_options::<i16, _>(path, 300, 200, 2, &opts)
                .unwrap()
        };
        ds.set_geo_transform(&[-6_073_798.06, 231.656, 0.0, -1_278_279.78, 0.0, -231.656])
            .unwrap();
        ds.set_spatial_ref(srs).unwrap();
        ds.rasterband(1).unwrap().set_no_data_value(nodata).unwrap();
    }

    fn same(a: &Header, b: &Header) {
        assert_eq!(a.shape, b.shape);
        assert_eq!(a.code, b.code);
        assert_eq!(a.data_type, b.data_type);
        assert_eq!(a.bands, b.bands);
        for (x, y) in a.transform.iter().zip(b.transform) {
            assert!(
                (x - y).abs() < 1e-9 * x.abs().max(1.0),
                "{:?} vs {:?}",
                a.transform,
                b.transform
            );
        }
        match (a.nodata, b.nodata) {
            (Some(x), Some(y)) => assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())),
            (x, y) => assert_eq!(x, y),
        }
    }

    #[test]
    fn geotiff_tags_give_what_gdal_gives() {
        let dir = tempfile::tempdir().unwrap();
        let sinusoidal = SpatialRef::from_proj4(
            "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs",
        )
        .unwrap();
        let cases = [
            (
                "utm.tif",
                SpatialRef::from_epsg(32633).unwrap(),
                false,
                Some(-3000.0),
                vec!["TILED=YES"],
            ),
            (
                "geo.tif",
                SpatialRef::from_epsg(4326).unwrap(),
                true,
                Some(f64::NAN),
                vec![],
            ),
            ("sinu.tif", sinusoidal, true, None, vec!["BIGTIFF=YES"]),
            (
                "point.tif",
                SpatialRef::from_epsg(3857).unwrap(),
                false,
                None,
                vec!["TILED=YES"],
            ),
        ];
        for (name, srs, float, nodata, opts) in cases {
            let p = dir.path().join(name);
            write(&p, &srs, float, nodata, &opts);
            if name == "point.tif" {
                // PixelIsPoint: GDAL shifts the origin by half a pixel.
                let ds = Dataset::open(&p).unwrap();
                drop(ds);
                let mut ds = gdal::Dataset::open_ex(
                    &p,
                    gdal::DatasetOptions {
                        open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE,
                        ..Default::default()
                    },
                )
                .unwrap();
                gdal::Metadata::set_metadata_item(&mut ds, "AREA_OR_POINT", "Point", "").unwrap();
            }
            let layout = crate::cog::read_layout(&Bytes::open(&p).unwrap()).unwrap();
            let mine = header_from_tiff(&layout).unwrap_or_else(|| panic!("{name}: no header"));
            same(&mine, &header(&p).unwrap());
        }
    }
}
