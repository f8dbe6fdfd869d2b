//! Douglas-Peucker simplification (iterative, distances to segments).

use crate::geom::{Kind, Shape};

fn seg_dist2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    ex * ex + ey * ey
}

/// Marks the points of `pts[first..=last]` that DP keeps.
fn mark(pts: &[[f64; 2]], first: usize, last: usize, tol2: f64, keep: &mut [bool]) {
    let mut stack = vec![(first, last)];
    while let Some((i, j)) = stack.pop() {
        if j <= i + 1 {
            continue;
        }
        let (mut best, mut at) = (-1.0, 0);
        for (k, &p) in pts.iter().enumerate().take(j).skip(i + 1) {
            let d = seg_dist2(p, pts[i], pts[j]);
            if d > best {
                best = d;
                at = k;
            }
        }
        if best > tol2 {
            keep[at] = true;
            stack.push((i, at));
            stack.push((at, j));
        }
    }
}

/// A line simplified to `tol`; the end points always stay.
pub fn simplify_line(pts: &[[f64; 2]], tol: f64) -> Vec<[f64; 2]> {
    if pts.len() <= 2 {
        return pts.to_vec();
    }
    let mut keep = vec![false; pts.len()];
    keep[0] = true;
    keep[pts.len() - 1] = true;
    mark(pts, 0, pts.len() - 1, tol * tol, &mut keep);
    pts.iter()
        .zip(&keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// A ring (without closing point) simplified to `tol`. It is cut at its
/// first point and at the point farthest from it, so it cannot collapse to
/// a segment by construction; a ring that would keep fewer than 3 points
/// comes back unchanged (quantisation decides whether it survives).
pub fn simplify_ring(pts: &[[f64; 2]], tol: f64) -> Vec<[f64; 2]> {
    let n = pts.len();
    if n <= 4 {
        return pts.to_vec();
    }
    let p0 = pts[0];
    let far = (1..n)
        .max_by(|&a, &b| {
            let da = (pts[a][0] - p0[0]).powi(2) + (pts[a][1] - p0[1]).powi(2);
            let db = (pts[b][0] - p0[0]).powi(2) + (pts[b][1] - p0[1]).powi(2);
            da.total_cmp(&db)
        })
        .unwrap_or(n / 2);
    // Work on the closed ring so the last stretch (back to pts[0]) counts.
    let mut closed = pts.to_vec();
    closed.push(p0);
    let mut keep = vec![false; n + 1];
    keep[0] = true;
    keep[far] = true;
    keep[n] = true;
    let tol2 = tol * tol;
    mark(&closed, 0, far, tol2, &mut keep);
    mark(&closed, far, n, tol2, &mut keep);
    let out: Vec<[f64; 2]> = closed[..n]
        .iter()
        .zip(&keep[..n])
        .filter_map(|(p, k)| k.then_some(*p))
        .collect();
    if out.len() < 3 {
        pts.to_vec()
    } else {
        out
    }
}

/// Simplifies a shape in place (points are left alone).
pub fn simplify_shape(shape: &mut Shape<f64>, tol: f64) {
    match shape.kind {
        Kind::Point => {}
        Kind::Line => {
            for p in &mut shape.parts {
                p.pts = simplify_line(&p.pts, tol);
            }
        }
        Kind::Polygon => {
            for p in &mut shape.parts {
                p.pts = simplify_ring(&p.pts, tol);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearly_straight_line_becomes_its_ends() {
        let pts: Vec<[f64; 2]> = (0..100)
            .map(|i| [f64::from(i), if i % 2 == 0 { 0.0 } else { 0.1 }])
            .collect();
        assert_eq!(simplify_line(&pts, 0.5), vec![[0.0, 0.0], [99.0, 0.1]]);
        assert_eq!(simplify_line(&pts, 0.01).len(), 100);
    }

    #[test]
    fn corner_is_kept() {
        let pts = [[0.0, 0.0], [5.0, 0.01], [10.0, 0.0], [10.0, 10.0]];
        assert_eq!(
            simplify_line(&pts, 0.1),
            vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]
        );
    }

    #[test]
    fn ring_keeps_its_corners_and_drops_wiggles() {
        let mut ring = Vec::new();
        for i in 0..10 {
            ring.push([f64::from(i), 0.0]);
        }
        ring.push([10.0, 0.0]);
        ring.push([10.0, 10.0]);
        ring.push([0.0, 10.0]);
        let s = simplify_ring(&ring, 0.5);
        assert_eq!(s, vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]);
        // A tiny ring stays as it is for quantisation to judge.
        let tiny = vec![[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.05, 0.12], [0.0, 0.1]];
        assert!(simplify_ring(&tiny, 10.0).len() >= 3);
    }
}
