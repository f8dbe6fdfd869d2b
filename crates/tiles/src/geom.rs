//! The tiler's own geometry: flat parts in world units, one shape per MVT
//! geometry type, so clipping and simplification work on plain slices.

use crate::mercator::{lonlat_to_world, metres_to_world};
use geo_types::{Coord, Geometry, LineString, Polygon};

/// MVT geometry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Points (one shape holds all points of a feature).
    Point,
    /// Line strings.
    Line,
    /// Polygons: rings, each exterior followed by its holes.
    Polygon,
}

impl Kind {
    /// The MVT `GeomType` number.
    pub fn mvt(self) -> u64 {
        match self {
            Kind::Point => 1,
            Kind::Line => 2,
            Kind::Polygon => 3,
        }
    }
}

/// One part: a line, a ring (implicitly closed: the last point is not the
/// first repeated) or, for points, all the points.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<T> {
    /// Coordinates.
    pub pts: Vec<[T; 2]>,
    /// For polygons: true for an exterior ring (it starts a new polygon).
    pub outer: bool,
}

/// All parts of one feature that share a geometry type.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape<T> {
    /// Geometry type.
    pub kind: Kind,
    /// Parts in order.
    pub parts: Vec<Part<T>>,
}

/// Coordinates of the input geometries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCrs {
    /// Longitude/latitude in degrees (EPSG:4326 / OGC:CRS84 axis order).
    LonLat,
    /// EPSG:3857 metres.
    WebMercator,
}

impl Shape<f64> {
    /// Bounding box `[xmin, ymin, xmax, ymax]`; `None` when empty.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for p in self.parts.iter().flat_map(|p| &p.pts) {
            b[0] = b[0].min(p[0]);
            b[1] = b[1].min(p[1]);
            b[2] = b[2].max(p[0]);
            b[3] = b[3].max(p[1]);
        }
        (b[0] <= b[2]).then_some(b)
    }

    /// Number of coordinates.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.pts.len()).sum()
    }

    /// True when there is no coordinate.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.pts.is_empty())
    }
}

/// Shapes of a geometry in world units, at most one per kind (points,
/// lines, polygons) in that order; collections are flattened. Non-finite
/// coordinates are skipped; empty parts are dropped.
pub fn shapes_of(geometry: &Geometry<f64>, crs: InputCrs) -> Vec<Shape<f64>> {
    let mut points = Vec::new();
    let mut lines = Vec::new();
    let mut rings = Vec::new();
    let project = |c: &Coord<f64>| -> Option<[f64; 2]> {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return None;
        }
        Some(match crs {
            InputCrs::LonLat => lonlat_to_world(c.x, c.y),
            InputCrs::WebMercator => metres_to_world(c.x, c.y),
        })
    };
    let line = |l: &LineString<f64>| -> Vec<[f64; 2]> { l.0.iter().filter_map(project).collect() };
    let ring = |l: &LineString<f64>| -> Vec<[f64; 2]> {
        let mut v = line(l);
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        v
    };
    let polygon = |p: &Polygon<f64>, rings: &mut Vec<Part<f64>>| {
        let ext = ring(p.exterior());
        if ext.len() < 3 {
            return;
        }
        rings.push(Part {
            pts: ext,
            outer: true,
        });
        for h in p.interiors() {
            let h = ring(h);
            if h.len() >= 3 {
                rings.push(Part {
                    pts: h,
                    outer: false,
                });
            }
        }
    };
    let mut stack = vec![geometry];
    while let Some(g) = stack.pop() {
        match g {
            Geometry::Point(p) => points.extend(project(&p.0)),
            Geometry::MultiPoint(mp) => points.extend(mp.0.iter().filter_map(|p| project(&p.0))),
            Geometry::Line(l) => lines.push(line(&LineString(vec![l.start, l.end]))),
            Geometry::LineString(l) => lines.push(line(l)),
            Geometry::MultiLineString(ml) => lines.extend(ml.0.iter().map(line)),
            Geometry::Polygon(p) => polygon(p, &mut rings),
            Geometry::MultiPolygon(mp) => mp.0.iter().for_each(|p| polygon(p, &mut rings)),
            Geometry::Rect(r) => polygon(&r.to_polygon(), &mut rings),
            Geometry::Triangle(t) => polygon(&t.to_polygon(), &mut rings),
            // Pushed in reverse so members come out in their order.
            Geometry::GeometryCollection(gc) => stack.extend(gc.0.iter().rev()),
        }
    }
    let mut out = Vec::new();
    if !points.is_empty() {
        out.push(Shape {
            kind: Kind::Point,
            parts: vec![Part {
                pts: points,
                outer: false,
            }],
        });
    }
    lines.retain(|l| !l.is_empty());
    if !lines.is_empty() {
        out.push(Shape {
            kind: Kind::Line,
            parts: lines
                .into_iter()
                .map(|pts| Part { pts, outer: false })
                .collect(),
        });
    }
    if !rings.is_empty() {
        out.push(Shape {
            kind: Kind::Polygon,
            parts: rings,
        });
    }
    out
}

/// Twice the signed area of a ring (shoelace), in y-down coordinates:
/// positive for a ring that runs clockwise on screen.
pub fn ring_area2(pts: &[[i32; 2]]) -> i64 {
    let n = pts.len();
    let mut s = 0i64;
    for i in 0..n {
        let a = pts[i];
        let b = pts[(i + 1) % n];
        s += i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon, GeometryCollection, MultiPolygon};

    #[test]
    fn collections_split_by_kind_and_rings_lose_the_closing_point() {
        let poly = polygon![
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
        ];
        let g = Geometry::GeometryCollection(GeometryCollection(vec![
            Geometry::Point(point!(x: 1.0, y: 2.0)),
            Geometry::LineString(line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0)]),
            Geometry::MultiPolygon(MultiPolygon(vec![poly])),
        ]));
        let s = shapes_of(&g, InputCrs::LonLat);
        assert_eq!(
            s.iter().map(|s| s.kind).collect::<Vec<_>>(),
            vec![Kind::Point, Kind::Line, Kind::Polygon]
        );
        assert_eq!(s[2].parts.len(), 2);
        assert!(s[2].parts[0].outer && !s[2].parts[1].outer);
        assert_eq!(s[2].parts[0].pts.len(), 3);
    }

    #[test]
    fn degenerate_polygons_and_nan_are_dropped() {
        let g = Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 0.0, y: 0.0)]);
        assert!(shapes_of(&g, InputCrs::LonLat).is_empty());
        let g = Geometry::Point(point!(x: f64::NAN, y: 0.0));
        assert!(shapes_of(&g, InputCrs::LonLat).is_empty());
    }

    #[test]
    fn area_sign_is_clockwise_positive_on_screen() {
        // Right along the top, then down: clockwise with y down.
        assert!(ring_area2(&[[0, 0], [10, 0], [10, 10], [0, 10]]) > 0);
        assert!(ring_area2(&[[0, 0], [0, 10], [10, 10], [10, 0]]) < 0);
    }
}
