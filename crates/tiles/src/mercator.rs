//! Web Mercator (EPSG:3857) in "world" units: x and y in [0, 1], y down
//! (0 at the northern edge), so tile `(z, x, y)` spans
//! `[x / 2^z, (x + 1) / 2^z]` and the tile grid is a plain scaling.

use std::f64::consts::PI;

/// The latitude where Web Mercator's square world ends.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Half the width of the Web Mercator world in metres (pi * 6378137).
pub const HALF_WORLD_M: f64 = 20_037_508.342_789_244;

/// Longitude/latitude (degrees) to world units; latitude is clamped to
/// +-85.0511 and longitude to +-180.
pub fn lonlat_to_world(lon: f64, lat: f64) -> [f64; 2] {
    let lon = lon.clamp(-180.0, 180.0);
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    [x, y.clamp(0.0, 1.0)]
}

/// EPSG:3857 metres to world units.
pub fn metres_to_world(mx: f64, my: f64) -> [f64; 2] {
    let x = f64::midpoint(mx / HALF_WORLD_M, 1.0);
    let y = (1.0 - my / HALF_WORLD_M) / 2.0;
    [x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)]
}

/// World units to longitude/latitude (degrees).
pub fn world_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// World units to EPSG:3857 metres.
pub fn world_to_metres(x: f64, y: f64) -> (f64, f64) {
    (
        (2.0 * x - 1.0) * HALF_WORLD_M,
        (1.0 - 2.0 * y) * HALF_WORLD_M,
    )
}

/// The zoom at which a box of `w` x `h` world units fits a view of about
/// 1024 x 768 pixels (256-pixel tiles), clamped to `[lo, hi]`.
pub fn fit_zoom(w: f64, h: f64, lo: u8, hi: u8) -> u8 {
    let span = (w / 4.0).max(h / 3.0);
    let z = if span > 0.0 {
        (-span.log2()).floor()
    } else {
        30.0
    };
    (z.max(0.0) as u8).clamp(lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_corners() {
        let [x, y] = lonlat_to_world(-180.0, MAX_LAT);
        assert!(x.abs() < 1e-12 && y.abs() < 1e-9, "{x} {y}");
        let [x, y] = lonlat_to_world(0.0, 0.0);
        assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12);
        let [x, y] = lonlat_to_world(12.5, 41.9);
        let (lon, lat) = world_to_lonlat(x, y);
        assert!((lon - 12.5).abs() < 1e-9 && (lat - 41.9).abs() < 1e-9);
        let (mx, my) = world_to_metres(x, y);
        let [x2, y2] = metres_to_world(mx, my);
        assert!((x - x2).abs() < 1e-12 && (y - y2).abs() < 1e-12);
        // Beyond the poles of the projection: clamped, never NaN.
        let [_, y] = lonlat_to_world(0.0, 90.0);
        assert!(y.abs() < 1e-9);
    }

    #[test]
    fn fit_zoom_of_the_world_and_a_city() {
        assert_eq!(fit_zoom(1.0, 1.0, 0, 14), 1);
        assert_eq!(fit_zoom(1e-3, 1e-3, 0, 14), 11);
        assert_eq!(fit_zoom(1e-3, 1e-3, 0, 8), 8);
    }
}
