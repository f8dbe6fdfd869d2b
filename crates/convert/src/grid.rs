//! Checks that several inputs share one grid before they are stacked.

use crate::error::{ConvertError, Result};
use crate::source::RasterSource;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Fails with the first difference between `first` and any other input:
/// CRS, resolution, extent, band count or data type.
pub fn ensure_same_grid(sources: &[RasterSource]) -> Result<()> {
    ensure(sources, true)
}

/// Like [`ensure_same_grid`] but for rasters that only need to line up
/// pixel for pixel (a quality band beside its data): CRS, resolution and
/// extent; band count and data type may differ.
pub fn ensure_same_pixels(sources: &[RasterSource]) -> Result<()> {
    ensure(sources, false)
}

fn ensure(sources: &[RasterSource], same_bands: bool) -> Result<()> {
    let Some(first) = sources.first() else {
        return Ok(());
    };
    for other in &sources[1..] {
        let mismatch = |what: &'static str, a: String, b: String| ConvertError::GridMismatch {
            first: first.name.clone(),
            other: other.name.clone(),
            what,
            a,
            b,
        };
        let crs_a = first
            .crs
            .as_ref()
            .map(|c| c.code.clone().unwrap_or_else(|| c.wkt2.clone()));
        let crs_b = other
            .crs
            .as_ref()
            .map(|c| c.code.clone().unwrap_or_else(|| c.wkt2.clone()));
        if crs_a != crs_b {
            return Err(mismatch(
                "CRS",
                crs_a.unwrap_or("none".into()),
                crs_b.unwrap_or("none".into()),
            ));
        }
        let (ga, gb) = (&first.geotransform, &other.geotransform);
        if !(close(ga[1], gb[1])
            && close(ga[5], gb[5])
            && close(ga[2], gb[2])
            && close(ga[4], gb[4]))
        {
            return Err(mismatch(
                "resolution",
                format!("{} x {}", ga[1], ga[5]),
                format!("{} x {}", gb[1], gb[5]),
            ));
        }
        if !(close(ga[0], gb[0]) && close(ga[3], gb[3]))
            || first.width != other.width
            || first.height != other.height
        {
            let ext = |s: &RasterSource| {
                let b = s.bbox();
                format!(
                    "{} {} {} {} ({}x{} px)",
                    b[0], b[1], b[2], b[3], s.width, s.height
                )
            };
            return Err(mismatch("extent", ext(first), ext(other)));
        }
        if !same_bands {
            continue;
        }
        if first.bands.len() != other.bands.len() {
            return Err(mismatch(
                "band count",
                first.bands.len().to_string(),
                other.bands.len().to_string(),
            ));
        }
        if first.dtype() != other.dtype() {
            return Err(mismatch(
                "data type",
                first.dtype().to_string(),
                other.dtype().to_string(),
            ));
        }
    }
    Ok(())
}
