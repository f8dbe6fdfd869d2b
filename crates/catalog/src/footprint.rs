//! The WGS84 footprint of an output: its bounding box in its own CRS,
//! densified along the edges, reprojected with GDAL/PROJ, and split at the
//! antimeridian when it crosses it (a MultiPolygon, and a bbox with
//! west > east, as RFC 7946 and STAC ask).

use crate::{Error, Result};
use arco_core::Record;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// Geometry and bbox in WGS84 (longitude, latitude).
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// GeoJSON Polygon or MultiPolygon.
    pub geometry: Value,
    /// `[west, south, east, north]`; west > east when crossing the antimeridian.
    pub bbox: [f64; 4],
}

/// Points per edge of the bbox ring for projected CRSs: enough to follow
/// the curvature of a UTM or sinusoidal edge to well under a pixel of a
/// typical product, small enough to keep Items light.
const SEGMENTS: usize = 16;

thread_local! {
    // Building a PROJ transformation costs far more than using it; a batch
    // of Items on one grid reuses it.
    static TRANSFORMS: RefCell<HashMap<String, CoordTransform>> = RefCell::new(HashMap::new());
}

fn crs_err(record: &Record, msg: impl Into<String>) -> Error {
    Error::Crs {
        what: record.path.display().to_string(),
        msg: msg.into(),
    }
}

/// The footprint of a record's bbox (in `record.crs`) in WGS84.
pub fn footprint(record: &Record) -> Result<Footprint> {
    let key = if record.crs.wkt2.is_empty() {
        record.crs.code.clone().unwrap_or_default()
    } else {
        record.crs.wkt2.clone()
    };
    if key.is_empty() {
        return Err(crs_err(
            record,
            "has no CRS, so it cannot be placed on the globe; assign one (for example gdal_edit.py -a_srs EPSG:4326) and convert again",
        ));
    }
    let [xmin, ymin, xmax, ymax] = record.bbox;
    if !(xmin.is_finite() && ymin.is_finite() && xmax.is_finite() && ymax.is_finite())
        || xmin > xmax
        || ymin > ymax
    {
        return Err(crs_err(
            record,
            format!("bbox {:?} is not a valid extent", record.bbox),
        ));
    }
    let points = TRANSFORMS.with(|cell| -> Result<Vec<(f64, f64)>> {
        let mut map = cell.borrow_mut();
        if !map.contains_key(&key) {
            let t = make_transform(&key).map_err(|m| crs_err(record, m))?;
            map.insert(key.clone(), t);
        }
        Ok(transform_ring(&map[&key], xmin, ymin, xmax, ymax))
    })?;
    if points.len() < 3 {
        return Err(crs_err(
            record,
            "its extent does not reproject to WGS84 (outside the projection's domain)",
        ));
    }
    Ok(shape(points))
}

fn make_transform(def: &str) -> std::result::Result<CoordTransform, String> {
    let mut src = if def
        .trim_start()
        .starts_with(|c: char| c.is_ascii_uppercase())
        && def.contains('[')
    {
        SpatialRef::from_wkt(def)
    } else {
        SpatialRef::from_definition(def)
    }
    .map_err(|e| format!("cannot read its CRS: {e}"))?;
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut dst = SpatialRef::from_epsg(4326).map_err(|e| format!("EPSG:4326: {e}"))?;
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    CoordTransform::new(&src, &dst).map_err(|e| format!("cannot reproject its CRS to WGS84: {e}"))
}

/// The densified bbox ring (counter-clockwise, not closed), reprojected;
/// points outside the projection's domain are dropped.
fn transform_ring(
    t: &CoordTransform,
    xmin: f64,
    ymin: f64,
    xmax: f64,
    ymax: f64,
) -> Vec<(f64, f64)> {
    let corners = [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)];
    let mut xs = Vec::with_capacity(4 * SEGMENTS);
    let mut ys = Vec::with_capacity(4 * SEGMENTS);
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        for s in 0..SEGMENTS {
            let f = s as f64 / SEGMENTS as f64;
            xs.push(a.0 + (b.0 - a.0) * f);
            ys.push(a.1 + (b.1 - a.1) * f);
        }
    }
    if t.transform_coords(&mut xs, &mut ys, &mut []).is_err() {
        // Some points failed (set to HUGE_VAL by PROJ): redo one by one.
        let mut out = Vec::with_capacity(xs.len());
        for i in 0..4 {
            let (a, b) = (corners[i], corners[(i + 1) % 4]);
            for s in 0..SEGMENTS {
                let f = s as f64 / SEGMENTS as f64;
                let mut x = [a.0 + (b.0 - a.0) * f];
                let mut y = [a.1 + (b.1 - a.1) * f];
                if t.transform_coords(&mut x, &mut y, &mut []).is_ok()
                    && x[0].is_finite()
                    && y[0].is_finite()
                    && x[0].abs() < 1e6
                {
                    out.push((x[0], y[0]));
                }
            }
        }
        return out
            .into_iter()
            .map(|(x, y)| (wrap_lon(x), y.clamp(-90.0, 90.0)))
            .collect();
    }
    xs.into_iter()
        .zip(ys)
        .filter(|(x, y)| x.is_finite() && y.is_finite() && x.abs() < 1e6)
        .map(|(x, y)| (wrap_lon(x), y.clamp(-90.0, 90.0)))
        .collect()
}

/// Longitude into [-180, 180].
fn wrap_lon(x: f64) -> f64 {
    if (-180.0..=180.0).contains(&x) {
        x
    } else {
        (x + 180.0).rem_euclid(360.0) - 180.0
    }
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Polygon, MultiPolygon split at the antimeridian, or a polar cap.
fn shape(mut ring: Vec<(f64, f64)>) -> Footprint {
    let n = ring.len();
    let crossings = (0..n)
        .filter(|&i| (ring[(i + 1) % n].0 - ring[i].0).abs() > 180.0)
        .count();
    if crossings % 2 == 1 {
        // The ring goes round a pole: the footprint is the cap beyond the
        // ring's lowest latitude (highest for the south pole).
        let north = ring.iter().map(|p| p.1).sum::<f64>() > 0.0;
        let (lo, hi) = if north {
            (ring.iter().map(|p| p.1).fold(90.0, f64::min), 90.0)
        } else {
            (-90.0, ring.iter().map(|p| p.1).fold(-90.0, f64::max))
        };
        let (lo, hi) = (round7(lo), round7(hi));
        let poly = vec![(-180.0, lo), (180.0, lo), (180.0, hi), (-180.0, hi)];
        return Footprint {
            geometry: json!({"type": "Polygon", "coordinates": [closed(&poly)]}),
            bbox: [-180.0, lo, 180.0, hi],
        };
    }
    if crossings == 0 {
        make_ccw(&mut ring);
        let bbox = bounds(&ring);
        return Footprint {
            geometry: json!({"type": "Polygon", "coordinates": [closed(&ring)]}),
            bbox,
        };
    }
    // Unwrap to a continuous ring, which then spans +180 or -180.
    let mut un = Vec::with_capacity(n);
    un.push(ring[0]);
    for i in 1..n {
        let prev = un[i - 1].0;
        let mut d = ring[i].0 - ring[i - 1].0;
        if d > 180.0 {
            d -= 360.0;
        } else if d < -180.0 {
            d += 360.0;
        }
        un.push((prev + d, ring[i].1));
    }
    let max = un.iter().map(|p| p.0).fold(f64::MIN, f64::max);
    let (line, shift) = if max > 180.0 {
        (180.0, -360.0)
    } else {
        (-180.0, 360.0)
    };
    // `near`: the part on the [-180, 180] side of the line; `far`: beyond it,
    // shifted back by a turn.
    let east_line = max > 180.0;
    let near = clip(&un, line, east_line);
    let far: Vec<(f64, f64)> = clip(&un, line, !east_line)
        .into_iter()
        .map(|(x, y)| (x + shift, y))
        .collect();
    let mut parts: Vec<Vec<(f64, f64)>> =
        [near, far].into_iter().filter(|p| p.len() >= 3).collect();
    for p in &mut parts {
        for pt in p.iter_mut() {
            pt.0 = pt.0.clamp(-180.0, 180.0);
        }
        make_ccw(p);
    }
    let south = parts.iter().flatten().map(|p| p.1).fold(90.0, f64::min);
    let north = parts.iter().flatten().map(|p| p.1).fold(-90.0, f64::max);
    // West edge: the westmost point of the part touching +180; east edge:
    // the eastmost point of the part touching -180.
    let touches = |p: &Vec<(f64, f64)>, x: f64| p.iter().any(|q| (q.0 - x).abs() < 1e-9);
    let west = parts
        .iter()
        .filter(|p| touches(p, 180.0))
        .flatten()
        .map(|p| p.0)
        .fold(180.0, f64::min);
    let east = parts
        .iter()
        .filter(|p| touches(p, -180.0))
        .flatten()
        .map(|p| p.0)
        .fold(-180.0, f64::max);
    let coords: Vec<Value> = parts.iter().map(|p| json!([closed(p)])).collect();
    Footprint {
        geometry: json!({"type": "MultiPolygon", "coordinates": coords}),
        bbox: [round7(west), round7(south), round7(east), round7(north)],
    }
}

/// Sutherland-Hodgman against the half-plane `x <= line` (`keep_below`) or
/// `x >= line`.
fn clip(ring: &[(f64, f64)], line: f64, keep_below: bool) -> Vec<(f64, f64)> {
    let inside = |p: (f64, f64)| if keep_below { p.0 <= line } else { p.0 >= line };
    let mut out = Vec::new();
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let (ia, ib) = (inside(a), inside(b));
        if ia {
            out.push(a);
        }
        if ia != ib {
            let f = (line - a.0) / (b.0 - a.0);
            out.push((line, a.1 + (b.1 - a.1) * f));
        }
    }
    out
}

fn signed_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        / 2.0
}

fn make_ccw(ring: &mut [(f64, f64)]) {
    if signed_area(ring) < 0.0 {
        ring.reverse();
    }
}

fn bounds(ring: &[(f64, f64)]) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for &(x, y) in ring {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b.map(round7)
}

/// A GeoJSON ring: rounded, repeated points dropped, first point repeated last.
fn closed(ring: &[(f64, f64)]) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(ring.len() + 1);
    for &(x, y) in ring {
        let p = [round7(x), round7(y)];
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if let Some(&first) = out.first() {
        out.push(first);
    }
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values are exact by construction
pub(crate) mod tests {
    use super::*;
    use arco_core::{CrsRecord, Format};
    use std::path::PathBuf;

    /// A raster record on a grid in `crs` covering `bbox`.
    pub(crate) fn record(code: &str, bbox: [f64; 4]) -> Record {
        let srs = SpatialRef::from_definition(code).unwrap();
        let (w, h) = (100usize, 50usize);
        let dx = (bbox[2] - bbox[0]) / w as f64;
        let dy = (bbox[3] - bbox[1]) / h as f64;
        Record {
            path: PathBuf::from("/tmp/x/scene.tif"),
            format: Format::Cog,
            media_type: Format::Cog.media_type(),
            size: 1234,
            checksum: Some(format!("1220{}", "ab".repeat(32))),
            width: w,
            height: h,
            dtype: "uint16".into(),
            bands: vec![arco_core::BandRecord {
                name: Some("red".into()),
                nodata: Some(0.0),
                ..Default::default()
            }],
            crs: CrsRecord {
                code: Some(code.into()),
                wkt2: srs.to_wkt().unwrap(),
                projjson: srs.to_projjson().ok(),
            },
            geotransform: [bbox[0], dx, 0.0, bbox[3], 0.0, -dy],
            bbox,
            datetimes: vec!["2020-01-01T00:00:00Z".into()],
            overviews: 1,
            notes: vec![],
            vector: None,
        }
    }

    #[test]
    fn utm_scene_is_a_ccw_polygon_around_its_centre() {
        // EPSG:32633, around 15 E 45 N.
        let r = record(
            "EPSG:32633",
            [400_000.0, 4_900_000.0, 600_000.0, 5_100_000.0],
        );
        let f = footprint(&r).unwrap();
        assert_eq!(f.geometry["type"], "Polygon");
        let ring = f.geometry["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.first(), ring.last());
        assert!(ring.len() > 20, "densified edges");
        let [w, s, e, n] = f.bbox;
        assert!(w > 13.7 && w < 13.8 && e > 16.2 && e < 16.3, "{:?}", f.bbox);
        assert!(s > 44.2 && s < 44.3 && n > 46.0 && n < 46.1, "{:?}", f.bbox);
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        assert!(signed_area(&pts) > 0.0, "exterior ring counter-clockwise");
    }

    #[test]
    fn geographic_grid_keeps_its_bbox() {
        let r = record("EPSG:4326", [-10.0, 35.0, 5.0, 44.0]);
        let f = footprint(&r).unwrap();
        assert_eq!(f.bbox, [-10.0, 35.0, 5.0, 44.0]);
    }

    #[test]
    fn a_grid_across_the_antimeridian_splits_in_two() {
        // A geographic grid written in 0..360 longitudes: 170 E to 190 E (= 170 W).
        let r = record("EPSG:4326", [170.0, -20.0, 190.0, -10.0]);
        let f = footprint(&r).unwrap();
        assert_eq!(f.geometry["type"], "MultiPolygon");
        assert_eq!(f.geometry["coordinates"].as_array().unwrap().len(), 2);
        assert_eq!(f.bbox, [170.0, -20.0, -170.0, -10.0]);
        // And a projected one: Fiji's grid (EPSG:3460) straddles 180.
        let r = record(
            "EPSG:3460",
            [1_800_000.0, 3_700_000.0, 2_200_000.0, 4_100_000.0],
        );
        let f = footprint(&r).unwrap();
        assert_eq!(f.geometry["type"], "MultiPolygon", "{}", f.geometry);
        assert!(f.bbox[0] > f.bbox[2], "west > east: {:?}", f.bbox);
        assert!(f.bbox[0] > 175.0 && f.bbox[2] < -175.0, "{:?}", f.bbox);
        for poly in f.geometry["coordinates"].as_array().unwrap() {
            for p in poly[0].as_array().unwrap() {
                let x = p[0].as_f64().unwrap();
                assert!((-180.0..=180.0).contains(&x));
            }
        }
    }

    #[test]
    fn a_polar_grid_covers_the_pole() {
        // NSIDC sea ice polar stereographic north, a box around the pole.
        let r = record(
            "EPSG:3413",
            [-1_000_000.0, -1_000_000.0, 1_000_000.0, 1_000_000.0],
        );
        let f = footprint(&r).unwrap();
        assert_eq!(f.bbox[0], -180.0);
        assert_eq!(f.bbox[2], 180.0);
        assert_eq!(f.bbox[3], 90.0);
        assert!(f.bbox[1] > 75.0 && f.bbox[1] < 82.0, "{:?}", f.bbox);
    }

    #[test]
    fn no_crs_is_a_clear_error() {
        let mut r = record("EPSG:4326", [0.0, 0.0, 1.0, 1.0]);
        r.crs = CrsRecord::default();
        let e = footprint(&r).unwrap_err().to_string();
        assert!(e.contains("scene.tif") && e.contains("no CRS"), "{e}");
    }
}
