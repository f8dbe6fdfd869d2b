//! JPEG and WebP COGs, through GDAL's own COG driver (lossy codecs arco
//! does not implement). A VRT selects bands and sets nodata first.

use super::CogPlan;
use crate::error::{ConvertError, Result};
use crate::source::RasterSource;
use arco_core::{multihash_sha256_file, Progress};
use gdal::programs::raster::{build_vrt, BuildVRTOptions};
use gdal::raster::RasterCreationOptions;
use gdal::DriverManager;
use std::path::Path;

/// Writes with GDAL; returns (size, checksum, overview count).
pub fn write_with_gdal(
    src: &RasterSource,
    out: &Path,
    block: usize,
    plan: &CogPlan,
    progress: &dyn Progress,
) -> Result<(u64, String, usize)> {
    let input = src.open()?;
    let mut args: Vec<String> = Vec::new();
    for b in &src.bands {
        args.push("-b".into());
        args.push(b.index.to_string());
    }
    if let Some(Some(nd)) = plan.nodata.first() {
        args.push("-vrtnodata".into());
        args.push(nd.to_string());
    }
    let vrt = build_vrt(None, &[input], Some(BuildVRTOptions::new(args)?))?;
    let driver = DriverManager::get_driver_by_name("COG")?;
    let mut opts = RasterCreationOptions::new();
    for (k, v) in [
        ("COMPRESS", plan.compression.name().to_ascii_uppercase()),
        ("QUALITY", plan.level.to_string()),
        ("BLOCKSIZE", block.to_string()),
        (
            "OVERVIEW_RESAMPLING",
            plan.resampling.name().to_ascii_uppercase(),
        ),
        (
            "BIGTIFF",
            match plan.bigtiff {
                Some(true) => "YES",
                Some(false) => "NO",
                None => "IF_SAFER",
            }
            .into(),
        ),
        ("NUM_THREADS", "ALL_CPUS".into()),
    ] {
        opts.add_name_value(k, &v)?;
    }
    progress.start("cog (gdal)", 1);
    let ds = vrt
        .create_copy(&driver, out, &opts)
        .map_err(|e| ConvertError::InvalidOption {
            option: "--compress",
            reason: format!("GDAL's COG driver refused {}: {e}", plan.compression),
        })?;
    let overviews = ds.rasterband(1)?.overview_count()? as usize;
    drop(ds);
    progress.finish();
    let size = std::fs::metadata(out)
        .map_err(|e| ConvertError::output(out, e))?
        .len();
    let checksum = multihash_sha256_file(out).map_err(|e| ConvertError::output(out, e))?;
    Ok((size, checksum, overviews))
}
