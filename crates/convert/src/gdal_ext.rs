//! The few GDAL calls the `gdal` crate does not wrap.

use gdal::raster::RasterBand;
use std::ffi::CString;

/// Sets a band's unit (the crate has a getter only).
#[allow(unsafe_code)]
pub fn set_unit(band: &mut RasterBand<'_>, unit: &str) {
    let Ok(c) = CString::new(unit) else { return };
    // SAFETY: the band handle is live for the borrow; GDAL copies the string.
    unsafe {
        gdal_sys::GDALSetRasterUnitType(band.c_rasterband(), c.as_ptr());
    }
}
