//! Clipping a shape to a slab `lo <= v[axis] <= hi`: points are filtered,
//! lines are cut into the pieces inside, rings are clipped with
//! Sutherland-Hodgman (which keeps one ring per input ring; where a concave
//! ring leaves and re-enters, the ring runs along the slab's edge).

use crate::geom::{Kind, Part, Shape};

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// The point of segment `a`-`b` where `axis` equals `v`, exactly `v` there.
fn cross(a: [f64; 2], b: [f64; 2], axis: usize, v: f64) -> [f64; 2] {
    let t = (v - a[axis]) / (b[axis] - a[axis]);
    let mut p = lerp(a, b, t);
    p[axis] = v;
    p
}

fn clip_points(pts: &[[f64; 2]], axis: usize, lo: f64, hi: f64) -> Vec<[f64; 2]> {
    pts.iter()
        .filter(|p| p[axis] >= lo && p[axis] <= hi)
        .copied()
        .collect()
}

fn clip_line(pts: &[[f64; 2]], axis: usize, lo: f64, hi: f64, out: &mut Vec<Vec<[f64; 2]>>) {
    if pts.len() == 1 {
        if pts[0][axis] >= lo && pts[0][axis] <= hi {
            out.push(pts.to_vec());
        }
        return;
    }
    let mut cur: Vec<[f64; 2]> = Vec::new();
    let flush = |cur: &mut Vec<[f64; 2]>, out: &mut Vec<Vec<[f64; 2]>>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (va, vb) = (a[axis], b[axis]);
        let d = vb - va;
        let (t0, t1) = if d == 0.0 {
            if va < lo || va > hi {
                (1.0, 0.0)
            } else {
                (0.0, 1.0)
            }
        } else {
            let ta = (lo - va) / d;
            let tb = (hi - va) / d;
            let (tmin, tmax) = if ta < tb { (ta, tb) } else { (tb, ta) };
            (tmin.max(0.0), tmax.min(1.0))
        };
        if t0 > t1 {
            flush(&mut cur, out);
            continue;
        }
        let p0 = if t0 > 0.0 {
            let mut p = lerp(a, b, t0);
            p[axis] = if (p[axis] - lo).abs() < (p[axis] - hi).abs() {
                lo
            } else {
                hi
            };
            p
        } else {
            a
        };
        let p1 = if t1 < 1.0 {
            let mut p = lerp(a, b, t1);
            p[axis] = if (p[axis] - lo).abs() < (p[axis] - hi).abs() {
                lo
            } else {
                hi
            };
            p
        } else {
            b
        };
        if cur.is_empty() {
            cur.push(p0);
        }
        cur.push(p1);
        if t1 < 1.0 {
            flush(&mut cur, out);
        }
    }
    flush(&mut cur, out);
}

fn clip_ring_half(ring: &[[f64; 2]], axis: usize, bound: f64, keep_above: bool) -> Vec<[f64; 2]> {
    let inside = |p: &[f64; 2]| {
        if keep_above {
            p[axis] >= bound
        } else {
            p[axis] <= bound
        }
    };
    let n = ring.len();
    let mut out = Vec::with_capacity(n + 4);
    let mut prev = ring[n - 1];
    let mut prev_in = inside(&prev);
    for &cur in ring {
        let cur_in = inside(&cur);
        if cur_in {
            if !prev_in {
                out.push(cross(prev, cur, axis, bound));
            }
            out.push(cur);
        } else if prev_in {
            out.push(cross(prev, cur, axis, bound));
        }
        prev = cur;
        prev_in = cur_in;
    }
    out
}

fn clip_ring(ring: &[[f64; 2]], axis: usize, lo: f64, hi: f64) -> Vec<[f64; 2]> {
    if ring.len() < 3 {
        return Vec::new();
    }
    let a = clip_ring_half(ring, axis, lo, true);
    if a.len() < 3 {
        return Vec::new();
    }
    let b = clip_ring_half(&a, axis, hi, false);
    if b.len() < 3 {
        return Vec::new();
    }
    b
}

/// Clips `shape` to `lo <= v[axis] <= hi`; `None` when nothing is left.
/// `bbox` is the shape's bounding box: a shape inside the slab is cloned.
pub fn clip_shape(
    shape: &Shape<f64>,
    bbox: &[f64; 4],
    axis: usize,
    lo: f64,
    hi: f64,
) -> Option<Shape<f64>> {
    if bbox[axis] >= lo && bbox[axis + 2] <= hi {
        return Some(shape.clone());
    }
    if bbox[axis + 2] < lo || bbox[axis] > hi {
        return None;
    }
    let mut parts = Vec::new();
    match shape.kind {
        Kind::Point => {
            for p in &shape.parts {
                let pts = clip_points(&p.pts, axis, lo, hi);
                if !pts.is_empty() {
                    parts.push(Part { pts, outer: false });
                }
            }
        }
        Kind::Line => {
            let mut out = Vec::new();
            for p in &shape.parts {
                clip_line(&p.pts, axis, lo, hi, &mut out);
            }
            parts.extend(out.into_iter().map(|pts| Part { pts, outer: false }));
        }
        Kind::Polygon => {
            // Holes of an exterior ring that vanished vanish with it.
            let mut keep_holes = false;
            for p in &shape.parts {
                if !p.outer && !keep_holes {
                    continue;
                }
                let pts = clip_ring(&p.pts, axis, lo, hi);
                if p.outer {
                    keep_holes = !pts.is_empty();
                }
                if !pts.is_empty() {
                    parts.push(Part {
                        pts,
                        outer: p.outer,
                    });
                }
            }
        }
    }
    (!parts.is_empty()).then_some(Shape {
        kind: shape.kind,
        parts,
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point of these tests
mod tests {
    use super::*;

    fn shape(kind: Kind, parts: Vec<(Vec<[f64; 2]>, bool)>) -> Shape<f64> {
        Shape {
            kind,
            parts: parts
                .into_iter()
                .map(|(pts, outer)| Part { pts, outer })
                .collect(),
        }
    }

    #[test]
    fn line_leaving_and_reentering_gives_two_pieces() {
        let s = shape(
            Kind::Line,
            vec![(
                vec![[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]],
                false,
            )],
        );
        let b = s.bbox().unwrap();
        let c = clip_shape(&s, &b, 0, -1.0, 4.0).unwrap();
        assert_eq!(c.parts.len(), 2);
        assert_eq!(c.parts[0].pts, vec![[0.0, 0.0], [4.0, 0.0]]);
        assert_eq!(c.parts[1].pts, vec![[4.0, 5.0], [0.0, 5.0]]);
    }

    #[test]
    fn line_crossing_the_slab_keeps_the_middle() {
        let s = shape(Kind::Line, vec![(vec![[-5.0, 0.0], [15.0, 10.0]], false)]);
        let c = clip_shape(&s, &s.bbox().unwrap(), 0, 0.0, 10.0).unwrap();
        assert_eq!(c.parts[0].pts, vec![[0.0, 2.5], [10.0, 7.5]]);
    }

    #[test]
    fn square_clipped_to_half() {
        let s = shape(
            Kind::Polygon,
            vec![
                (
                    vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]],
                    true,
                ),
                // A hole entirely in the right half vanishes.
                (vec![[7.0, 1.0], [8.0, 1.0], [8.0, 2.0]], false),
            ],
        );
        let c = clip_shape(&s, &s.bbox().unwrap(), 0, 0.0, 5.0).unwrap();
        assert_eq!(c.parts.len(), 1);
        let b = c.bbox().unwrap();
        assert_eq!(b, [0.0, 0.0, 5.0, 10.0]);
    }

    #[test]
    fn holes_of_a_vanished_exterior_are_dropped() {
        let s = shape(
            Kind::Polygon,
            vec![
                (vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], true),
                (vec![[0.2, 0.1], [0.8, 0.1], [0.8, 0.7]], false),
                (vec![[5.0, 0.0], [6.0, 0.0], [6.0, 1.0]], true),
            ],
        );
        let c = clip_shape(&s, &s.bbox().unwrap(), 0, 4.0, 7.0).unwrap();
        assert_eq!(c.parts.len(), 1);
        assert!(c.parts[0].outer);
    }

    #[test]
    fn points_on_the_edge_stay() {
        let s = shape(
            Kind::Point,
            vec![(vec![[0.0, 0.0], [5.0, 1.0], [6.0, 1.0]], false)],
        );
        let c = clip_shape(&s, &s.bbox().unwrap(), 0, 0.0, 5.0).unwrap();
        assert_eq!(c.parts[0].pts.len(), 2);
        assert!(clip_shape(&s, &s.bbox().unwrap(), 1, 2.0, 3.0).is_none());
    }
}
