//! Hilbert ordering of features by the centre of their bounding box: the
//! row order of GeoParquet (so row groups cover compact areas and their
//! bbox statistics prune well) and the order of FlatGeobuf's packed R-tree.

use rayon::prelude::*;

/// Side of the Hilbert grid (16 bits per axis).
const SIDE: u32 = 1 << 16;

/// Distance along the Hilbert curve of cell `(x, y)` on a `SIDE` x `SIDE`
/// grid (the classic iterative rotate-and-flip formulation).
pub fn hilbert_index(mut x: u32, mut y: u32) -> u64 {
    let mut d: u64 = 0;
    let mut s = SIDE / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        // Rotate the quadrant so the curve stays continuous.
        if ry == 0 {
            if rx == 1 {
                x = SIDE - 1 - x;
                y = SIDE - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// The extent of all boxes (`None` when there is none).
pub fn extent(boxes: &[Option<[f64; 4]>]) -> Option<[f64; 4]> {
    boxes.par_iter().filter_map(|b| *b).reduce_with(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

/// Feature indices in Hilbert order of their box centres; features without
/// a box (null or empty geometry) come last, in input order.
pub fn order(boxes: &[Option<[f64; 4]>]) -> Vec<usize> {
    let Some(ext) = extent(boxes) else {
        return (0..boxes.len()).collect();
    };
    let (w, h) = (ext[2] - ext[0], ext[3] - ext[1]);
    let max = f64::from(SIDE - 1);
    let cell = |v: f64, lo: f64, span: f64| -> u32 {
        if span > 0.0 {
            (((v - lo) / span) * max).clamp(0.0, max) as u32
        } else {
            0
        }
    };
    let mut keyed: Vec<(u64, usize)> = boxes
        .par_iter()
        .enumerate()
        .map(|(i, b)| match b {
            Some(b) => {
                let cx = cell(f64::midpoint(b[0], b[2]), ext[0], w);
                let cy = cell(f64::midpoint(b[1], b[3]), ext[1], h);
                (hilbert_index(cx, cy), i)
            }
            None => (u64::MAX, i),
        })
        .collect();
    // Stable on the index, so equal keys keep input order.
    keyed.par_sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_visits_neighbouring_cells_in_sequence() {
        // On the full grid, consecutive distances are adjacent cells: check
        // the first 4096 steps of the inverse by brute force on a corner.
        let mut cells: Vec<(u64, u32, u32)> = (0..64u32)
            .flat_map(|x| (0..64u32).map(move |y| (hilbert_index(x, y), x, y)))
            .collect();
        cells.sort_unstable();
        // The 64x64 corner holds exactly the first 4096 distances.
        assert_eq!(cells[4095].0, 4095);
        for w in cells.windows(2) {
            let dx = w[0].1.abs_diff(w[1].1);
            let dy = w[0].2.abs_diff(w[1].2);
            assert_eq!(dx + dy, 1, "{w:?}");
        }
    }

    #[test]
    fn nulls_go_last_and_order_is_a_permutation() {
        let boxes = vec![
            Some([10.0, 10.0, 11.0, 11.0]),
            None,
            Some([0.0, 0.0, 1.0, 1.0]),
            Some([0.5, 0.5, 0.6, 0.6]),
        ];
        let o = order(&boxes);
        assert_eq!(o.len(), 4);
        assert_eq!(*o.last().unwrap(), 1);
        let mut s = o.clone();
        s.sort_unstable();
        assert_eq!(s, vec![0, 1, 2, 3]);
        assert!(order(&[None, None]) == vec![0, 1]);
    }
}
