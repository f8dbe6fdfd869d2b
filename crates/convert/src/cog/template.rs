//! The georeferencing and metadata tags of a COG, written by GDAL.
//!
//! GDAL knows how to encode any CRS as GeoKeys, and band names, scale,
//! offset and units as GDAL_METADATA. Rather than re-implement that, arco
//! has GDAL create an empty sparse GeoTIFF of the same bands and CRS (one
//! block in size) in memory and copies every non-structural tag from it.

use super::tiff::{read_first_ifd, Tag};
use crate::dtype::Sample;
use crate::error::{ConvertError, Result};
use crate::source::RasterSource;
use gdal::raster::RasterCreationOptions;
use gdal::{DriverManager, Metadata};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tags arco writes itself; everything else comes from the template.
const STRUCTURAL: [u16; 16] = [
    254, 256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339,
];

/// Tags the overview IFDs carry too.
pub const OVERVIEW_COPIED: [u16; 4] = [262, 320, 338, 42113];

/// Per-band values the output declares.
pub struct BandOverrides<'a> {
    /// Nodata of every band (already checked against the output type).
    pub nodata: &'a [Option<f64>],
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Builds the template and returns its non-structural tags, sorted.
pub fn template_tags<T: Sample>(
    src: &RasterSource,
    block: usize,
    ov: &BandOverrides<'_>,
) -> Result<Vec<Tag>> {
    let path = format!(
        "/vsimem/arco-template-{}-{}.tif",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let nb = src.bands.len();
    {
        let driver = DriverManager::get_driver_by_name("GTiff")?;
        let mut opts = RasterCreationOptions::new();
        for (k, v) in [
            ("TILED", "YES".to_string()),
            ("BLOCKXSIZE", block.to_string()),
            ("BLOCKYSIZE", block.to_string()),
            ("SPARSE_OK", "TRUE".into()),
            ("COMPRESS", "NONE".into()),
            ("BIGTIFF", "NO".into()),
            ("INTERLEAVE", "PIXEL".into()),
        ] {
            opts.add_name_value(k, &v)?;
        }
        let mut ds = driver
            // One block is enough: no tag copied depends on the size, and a
            // full-size template of a huge image would need BigTIFF.
            .create_with_band_type_with_options::<T, _>(
                &path,
                src.width.min(block),
                src.height.min(block),
                nb,
                &opts,
            )?;
        let input = src.open()?;
        if src.georeferenced {
            ds.set_geo_transform(&src.geotransform)?;
        }
        if let Ok(srs) = input.spatial_ref() {
            ds.set_spatial_ref(&srs)?;
        }
        for entry in input.metadata() {
            if entry.domain.is_empty() {
                ds.set_metadata_item(&entry.key, &entry.value, "")?;
            }
        }
        for (i, meta) in src.bands.iter().enumerate() {
            let in_band = input.rasterband(meta.index)?;
            let mut band = ds.rasterband(i + 1)?;
            band.set_no_data_value(ov.nodata[i])?;
            if let Some(d) = &meta.description {
                band.set_description(d)?;
            }
            if let Some(s) = meta.scale {
                band.set_scale(s)?;
            }
            if let Some(o) = meta.offset {
                band.set_offset(o)?;
            }
            if let Some(u) = &meta.unit {
                crate::gdal_ext::set_unit(&mut band, u);
            }
            if let Some(ct) = in_band.color_table() {
                band.set_color_table(&ct);
            }
            band.set_color_interpretation(in_band.color_interpretation())?;
            for entry in in_band.metadata() {
                if entry.domain.is_empty() {
                    band.set_metadata_item(&entry.key, &entry.value, "")?;
                }
            }
        }
        ds.flush_cache()?;
    }
    let bytes = gdal::vsi::get_vsi_mem_file_bytes_owned(&path)?;
    let _ = gdal::vsi::unlink_mem_file(&path);
    let tags = read_first_ifd(&bytes).ok_or_else(|| ConvertError::NotRaster {
        path: src.name.clone(),
        reason: "GDAL wrote a GeoTIFF template arco cannot parse".into(),
    })?;
    Ok(tags
        .into_iter()
        .filter(|t| !STRUCTURAL.contains(&t.code))
        .collect())
}
