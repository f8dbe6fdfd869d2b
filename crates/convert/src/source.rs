//! Opening inputs with GDAL and reading pixel windows from them.
//!
//! A `Dataset` is `Send` but not `Sync`, so every thread that reads opens its
//! own: [`RasterSource`] holds the connection string and the metadata, and
//! [`RasterSource::open`] gives a fresh handle.

use crate::dtype::{DType, Sample};
use crate::error::{ConvertError, Result};
use arco_core::{BandRecord, CrsRecord};
use gdal::{Dataset, Metadata};
use std::path::Path;

/// One band of an input, as arco needs it.
#[derive(Debug, Clone)]
pub struct BandMeta {
    /// 1-based index in the input.
    pub index: usize,
    /// GDAL data type of the band.
    pub dtype: DType,
    /// Band description.
    pub description: Option<String>,
    /// Nodata value.
    pub nodata: Option<f64>,
    /// Scale.
    pub scale: Option<f64>,
    /// Offset.
    pub offset: Option<f64>,
    /// Unit.
    pub unit: Option<String>,
    /// Whether the band has a colour table.
    pub has_color_table: bool,
    /// Whether the band holds classes (colour table, or declared thematic).
    pub categorical: bool,
}

impl BandMeta {
    /// The record form, for outputs.
    pub fn record(&self) -> BandRecord {
        BandRecord {
            name: self.description.clone(),
            nodata: self.nodata,
            scale: self.scale,
            offset: self.offset,
            unit: self.unit.clone(),
            categorical: self.categorical,
            statistics: None,
        }
    }
}

/// An input raster: where it is and what it holds.
#[derive(Debug, Clone)]
pub struct RasterSource {
    /// The input as the user gave it (for messages).
    pub name: String,
    /// What GDAL opens (a path or a subdataset connection string).
    pub gdal_path: String,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Geotransform; identity when the input has none.
    pub geotransform: [f64; 6],
    /// Whether the input had a geotransform.
    pub georeferenced: bool,
    /// CRS, when the input has one.
    pub crs: Option<CrsRecord>,
    /// The bands, in the order they will be written.
    pub bands: Vec<BandMeta>,
    /// The input's own block size (width, height) of its first band.
    pub block: (usize, usize),
}

fn looks_like_gdal_connection(s: &str) -> bool {
    s.starts_with("/vsi") || s.contains(":\"") || s.contains("://") || {
        // `DRIVER:rest`, e.g. HDF4_EOS:EOS_GRID:"f.hdf":grid:field
        let head = s.split(':').next().unwrap_or("");
        s.contains(':')
            && head.len() > 1
            && head
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }
}

fn gdal_reason(err: &gdal::errors::GdalError) -> String {
    let s = err.to_string();
    s.trim().trim_end_matches('.').to_string()
}

/// Lists `(connection string, short name)` of a dataset's subdatasets.
fn subdatasets(ds: &Dataset) -> Vec<(String, String)> {
    let Some(items) = ds.metadata_domain("SUBDATASETS") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let (key, value) = item.split_once('=')?;
            if !key.ends_with("_NAME") {
                return None;
            }
            let short = value
                .rsplit(':')
                .next()
                .unwrap_or(value)
                .trim_matches('"')
                .to_string();
            Some((value.to_string(), short))
        })
        .collect()
}

fn crs_of(ds: &Dataset) -> Option<CrsRecord> {
    let srs = ds.spatial_ref().ok()?;
    let wkt2 = srs.to_wkt().ok()?;
    if wkt2.is_empty() {
        return None;
    }
    let code = match (srs.auth_name(), srs.auth_code()) {
        (Some(name), Ok(code)) => Some(format!("{name}:{code}")),
        _ => None,
    };
    Some(CrsRecord {
        code,
        wkt2: wkt2_of(&srs).unwrap_or(wkt2),
        projjson: srs.to_projjson().ok(),
    })
}

/// WKT2 (2019) text of a spatial reference. The crate's `to_wkt` gives
/// WKT1, which loses datum ensembles and axis order details.
#[allow(unsafe_code)]
pub fn wkt2_of(srs: &gdal::spatial_ref::SpatialRef) -> Option<String> {
    use std::ffi::{CStr, CString};
    let opt = CString::new("FORMAT=WKT2_2019").ok()?;
    let opts = [opt.as_ptr(), std::ptr::null()];
    let mut out: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: the handle is live for the borrow of `srs`; GDAL allocates
    // `out`, which we copy and free with the matching VSIFree.
    unsafe {
        let rc = gdal_sys::OSRExportToWktEx(srs.to_c_hsrs(), &raw mut out, opts.as_ptr());
        if out.is_null() {
            return None;
        }
        let text = CStr::from_ptr(out).to_string_lossy().into_owned();
        gdal_sys::VSIFree(out.cast());
        (rc == 0 && !text.is_empty()).then_some(text)
    }
}

impl RasterSource {
    /// Opens `input`, choosing `variable` among subdatasets when given, and
    /// keeping `bands` (1-based) when given.
    pub fn inspect(input: &str, variable: Option<&str>, bands: Option<&[usize]>) -> Result<Self> {
        if !looks_like_gdal_connection(input) && !Path::new(input).exists() {
            return Err(ConvertError::InputNotFound {
                path: input.to_string(),
            });
        }
        let ds = Dataset::open(input).map_err(|e| ConvertError::NotRaster {
            path: input.to_string(),
            reason: gdal_reason(&e),
        })?;
        let subs = subdatasets(&ds);
        let short_names = || {
            subs.iter()
                .map(|s| s.1.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (ds, gdal_path) = if let Some(var) = variable {
            let Some((conn, _)) = subs
                .iter()
                .find(|(conn, short)| short == var || conn == var)
            else {
                let names = short_names();
                return Err(ConvertError::NoSuchVariable {
                    path: input.to_string(),
                    variable: var.to_string(),
                    names: if names.is_empty() {
                        "none: it has no subdatasets".into()
                    } else {
                        names
                    },
                });
            };
            let sub = Dataset::open(conn).map_err(|e| ConvertError::NotRaster {
                path: conn.clone(),
                reason: gdal_reason(&e),
            })?;
            (sub, conn.clone())
        } else {
            if ds.raster_count() == 0 && !subs.is_empty() {
                return Err(ConvertError::ChooseVariable {
                    path: input.to_string(),
                    count: subs.len(),
                    names: short_names(),
                });
            }
            (ds, input.to_string())
        };
        if ds.raster_count() == 0 {
            return Err(ConvertError::NotRaster {
                path: input.to_string(),
                reason: "it holds no raster bands (is it a vector file?)".into(),
            });
        }
        let (width, height) = ds.raster_size();
        let block = ds.rasterband(1)?.block_size();
        let (geotransform, georeferenced) = match ds.geo_transform() {
            Ok(gt) => (gt, true),
            Err(_) => ([0.0, 1.0, 0.0, 0.0, 0.0, 1.0], false),
        };
        let count = ds.raster_count();
        let wanted: Vec<usize> = match bands {
            Some(b) => {
                if let Some(bad) = b.iter().find(|&&i| i == 0 || i > count) {
                    return Err(ConvertError::InvalidOption {
                        option: "--bands",
                        reason: format!(
                            "band {bad} does not exist in {input} (it has bands 1..={count})"
                        ),
                    });
                }
                b.to_vec()
            }
            None => (1..=count).collect(),
        };
        let mut metas = Vec::with_capacity(wanted.len());
        for i in wanted {
            let band = ds.rasterband(i)?;
            let gdal_type = band.band_type();
            let dtype =
                DType::from_gdal(gdal_type).ok_or_else(|| ConvertError::UnsupportedType {
                    path: input.to_string(),
                    band: i,
                    gdal_type: format!("{gdal_type:?}"),
                })?;
            let has_color_table = band.color_table().is_some();
            let thematic = band
                .metadata_item("LAYER_TYPE", "")
                .is_some_and(|v| v.eq_ignore_ascii_case("thematic"));
            let description = band.description().ok().filter(|d| !d.is_empty());
            let unit = Some(band.unit()).filter(|u| !u.is_empty());
            metas.push(BandMeta {
                index: i,
                dtype,
                description,
                nodata: band.no_data_value(),
                // GDAL reports 1 and 0 when a band has no scale or offset.
                scale: band.scale().filter(|s| (s - 1.0).abs() > f64::EPSILON),
                offset: band.offset().filter(|o| o.abs() > f64::EPSILON),
                unit,
                has_color_table,
                categorical: has_color_table || thematic,
            });
        }
        Ok(RasterSource {
            name: input.to_string(),
            gdal_path,
            width,
            height,
            geotransform,
            georeferenced,
            crs: crs_of(&ds),
            bands: metas,
            block,
        })
    }

    /// A fresh GDAL handle on the input (one per thread).
    pub fn open(&self) -> Result<Dataset> {
        Dataset::open(&self.gdal_path).map_err(|e| ConvertError::NotRaster {
            path: self.name.clone(),
            reason: gdal_reason(&e),
        })
    }

    /// The data type of the input: that of its first band.
    pub fn dtype(&self) -> DType {
        self.bands[0].dtype
    }

    /// Bounding box `[xmin, ymin, xmax, ymax]` in the input's CRS.
    pub fn bbox(&self) -> [f64; 4] {
        bbox_of(&self.geotransform, self.width, self.height)
    }
}

/// Sizes GDAL's block cache for reading `sources` in strips of `strip_rows`
/// rows: enough for one row of the input's own blocks (an input tiled or
/// stripped taller than the strip is then decoded once, not once per
/// strip), and no more, since arco reads every block only once. The user's
/// `GDAL_CACHEMAX` wins when set.
pub fn size_block_cache(sources: &[RasterSource], strip_rows: usize) {
    if std::env::var_os("GDAL_CACHEMAX").is_some() {
        return;
    }
    let need = sources
        .iter()
        .map(|s| {
            let rows = s.block.1.max(strip_rows).min(s.height) * 2;
            s.width * rows * s.bands.len() * s.dtype().size()
        })
        .max()
        .unwrap_or(0);
    crate::gdal_ext::set_cache_max(need.clamp(32 << 20, 4 << 30));
}

/// Caps GDAL's block cache at `bytes` unless the user set `GDAL_CACHEMAX`:
/// for work that touches each block once, a large cache only costs memory.
pub fn cap_block_cache(bytes: usize) {
    if std::env::var_os("GDAL_CACHEMAX").is_none() {
        crate::gdal_ext::set_cache_max(bytes);
    }
}

/// Bounding box of a grid from its geotransform.
pub fn bbox_of(gt: &[f64; 6], width: usize, height: usize) -> [f64; 4] {
    let corners = [
        (0.0, 0.0),
        (width as f64, 0.0),
        (0.0, height as f64),
        (width as f64, height as f64),
    ];
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (px, py) in corners {
        let x = gt[0] + px * gt[1] + py * gt[2];
        let y = gt[3] + px * gt[4] + py * gt[5];
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b
}

/// Reads a window of the given bands, pixel-interleaved (band varies
/// fastest), converting to `T` through GDAL.
pub fn read_window<T: Sample>(
    ds: &Dataset,
    source: &RasterSource,
    (x, y): (usize, usize),
    (w, h): (usize, usize),
    out: &mut Vec<T>,
) -> Result<()> {
    let nb = source.bands.len();
    out.clear();
    out.resize(w * h * nb, T::default());
    let indices: Vec<usize> = source.bands.iter().map(|b| b.index).collect();
    crate::gdal_ext::read_interleaved(ds, &indices, (x, y), (w, h), out).map_err(|e| {
        ConvertError::Read {
            path: source.name.clone(),
            row: y,
            reason: gdal_reason(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_are_recognised() {
        assert!(looks_like_gdal_connection("NETCDF:\"a.nc\":ndvi"));
        assert!(looks_like_gdal_connection(
            "HDF4_EOS:EOS_GRID:\"f.hdf\":g:f"
        ));
        assert!(looks_like_gdal_connection("/vsizip/a.zip/b.tif"));
        assert!(!looks_like_gdal_connection("data/a.tif"));
        assert!(!looks_like_gdal_connection("C:/data/a.tif"));
    }

    #[test]
    fn bbox_of_north_up_grid() {
        let gt = [100.0, 10.0, 0.0, 500.0, 0.0, -10.0];
        let b = bbox_of(&gt, 3, 2);
        assert!(
            b.iter()
                .zip([100.0, 480.0, 130.0, 500.0])
                .all(|(a, e)| (a - e).abs() < 1e-9),
            "{b:?}"
        );
    }
}
