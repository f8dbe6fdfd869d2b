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

/// Reads a window of several bands straight into a pixel-interleaved
/// buffer (band varies fastest) with one dataset-level RasterIO, so a
/// pixel-interleaved input is decoded once rather than once per band.
#[allow(unsafe_code)]
pub fn read_interleaved<T: gdal::raster::GdalType + Copy>(
    ds: &gdal::Dataset,
    bands: &[usize],
    (x, y): (usize, usize),
    (w, h): (usize, usize),
    buf: &mut [T],
) -> Result<(), gdal::errors::GdalError> {
    use std::ffi::c_int;
    let nb = bands.len();
    assert_eq!(buf.len(), w * h * nb, "buffer does not match the window");
    let size = std::mem::size_of::<T>() as i64;
    let mut band_map: Vec<c_int> = bands.iter().map(|&b| b as c_int).collect();
    // SAFETY: the buffer holds exactly w*h*nb values of T laid out with the
    // spacings given; the dataset handle is live for the borrow.
    let rv = unsafe {
        gdal_sys::GDALDatasetRasterIOEx(
            ds.c_dataset(),
            gdal_sys::GDALRWFlag::GF_Read,
            x as c_int,
            y as c_int,
            w as c_int,
            h as c_int,
            buf.as_mut_ptr().cast(),
            w as c_int,
            h as c_int,
            T::gdal_ordinal(),
            nb as c_int,
            band_map.as_mut_ptr(),
            size * nb as i64,
            size * nb as i64 * w as i64,
            size,
            std::ptr::null_mut(),
        )
    };
    if rv == gdal_sys::CPLErr::CE_None {
        return Ok(());
    }
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local string.
    let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) }
        .to_string_lossy()
        .into_owned();
    Err(gdal::errors::GdalError::CplError {
        class: rv,
        number: 0,
        msg,
    })
}

/// Sets the size of GDAL's raster block cache, in bytes. Unlike the
/// `GDAL_CACHEMAX` option this works after GDAL has started using the cache.
#[allow(unsafe_code)]
pub fn set_cache_max(bytes: usize) {
    // SAFETY: a plain setter of a process-wide integer.
    unsafe { gdal_sys::GDALSetCacheMax64(bytes as i64) }
}
