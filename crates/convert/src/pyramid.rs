//! Overview pyramids: 2x2 reduction of pixel-interleaved rows, as used for
//! COG overviews and GeoZarr multiscales.
//!
//! Each level is computed from the one above it, so the input is read once.
//! Output sizes round up (`ceil(w / 2)`), as GDAL's do; the last column or
//! row of an odd-sized level reduces a 1-pixel-wide block.

use crate::dtype::Sample;
use crate::options::Resampling;
use crate::source::BandMeta;
use rayon::prelude::*;

/// The overview resampling to use: the one asked for, else mode when a band
/// holds classes (colour table, declared thematic, or `--categorical`), else
/// average. Returns a note for the user when mode was chosen automatically.
pub fn choose_resampling(
    asked: Option<Resampling>,
    categorical: bool,
    bands: &[BandMeta],
) -> (Resampling, Option<String>) {
    if let Some(r) = asked {
        return (r, None);
    }
    let class_band = bands.iter().find(|b| b.categorical);
    if !categorical && class_band.is_none() {
        return (Resampling::Average, None);
    }
    let why = class_band.map_or("--categorical was given".to_string(), |b| {
        if b.has_color_table {
            format!("band {} has a colour table", b.index)
        } else {
            format!("band {} is declared thematic", b.index)
        }
    });
    (
        Resampling::Mode,
        Some(format!(
            "overview resampling: mode ({why}); pass --overview-resampling to choose"
        )),
    )
}

/// Size of the next level.
pub fn half(n: usize) -> usize {
    n.div_ceil(2)
}

/// Number of overview levels needed until a level fits in one block.
pub fn levels_to_fit(mut w: usize, mut h: usize, block: usize) -> usize {
    let mut n = 0;
    while w > block || h > block {
        w = half(w);
        h = half(h);
        n += 1;
    }
    n
}

/// Whether `v` counts as data for the reduction.
#[inline]
fn valid<T: Sample>(v: T, nodata: Option<T>) -> bool {
    !v.is_nan() && nodata != Some(v)
}

/// Reduces one 2x2 (or smaller, at edges) block of values.
#[inline]
fn reduce<T: Sample>(vals: &[T], method: Resampling, nodata: Option<T>, fill: T) -> T {
    let mut buf = [T::default(); 4];
    let mut n = 0;
    for &v in vals {
        if valid(v, nodata) {
            buf[n] = v;
            n += 1;
        }
    }
    if n == 0 {
        return fill;
    }
    let vals = &buf[..n];
    match method {
        Resampling::Average => T::mean(vals),
        Resampling::Min => {
            vals.iter()
                .copied()
                .fold(vals[0], |a, b| if b.to_f64() < a.to_f64() { b } else { a })
        }
        Resampling::Max => {
            vals.iter()
                .copied()
                .fold(vals[0], |a, b| if b.to_f64() > a.to_f64() { b } else { a })
        }
        Resampling::Mode => {
            // First value seen with the highest count wins ties.
            let mut best = vals[0];
            let mut best_count = 0;
            for (i, &v) in vals.iter().enumerate() {
                let count = vals[i..].iter().filter(|&&u| u == v).count();
                if vals[..i].contains(&v) {
                    continue;
                }
                if count > best_count {
                    best = v;
                    best_count = count;
                }
            }
            best
        }
        Resampling::Nearest => vals[0],
    }
}

/// The common case of [`reduce_rows`]: averages two full rows where no
/// value can be missing, without per-pixel branches.
fn dense_average_row<T: Sample>(r0: &[T], r1: &[T], orow: &mut [T], width: usize, nb: usize) {
    let full = width / 2;
    for ox in 0..full {
        let (a, b) = (2 * ox * nb, (2 * ox + 1) * nb);
        for k in 0..nb {
            orow[ox * nb + k] = T::mean4(r0[a + k], r0[b + k], r1[a + k], r1[b + k]);
        }
    }
    if full * 2 < width {
        let a = (width - 1) * nb;
        for k in 0..nb {
            orow[full * nb + k] = T::mean(&[r0[a + k], r1[a + k]]);
        }
    }
}

/// Halves a block of `rows` rows of `width` pixels with `nb` interleaved
/// bands. Returns the reduced rows (`half(width)` x `half(rows)`).
pub fn reduce_rows<T: Sample>(
    src: &[T],
    width: usize,
    rows: usize,
    nb: usize,
    method: Resampling,
    nodata: Option<T>,
) -> Vec<T> {
    debug_assert_eq!(src.len(), width * rows * nb);
    let (w2, h2) = (half(width), half(rows));
    let fill = nodata.unwrap_or_default();
    let mut out = vec![T::default(); w2 * h2 * nb];
    let row_len = width * nb;
    // No value can be missing: whole 2x2 blocks reduce without filtering.
    let dense = nodata.is_none() && !T::DTYPE.is_float() && method == Resampling::Average;
    out.par_chunks_mut(w2 * nb)
        .enumerate()
        .for_each(|(oy, orow)| {
            let y0 = 2 * oy;
            let y1 = (y0 + 1).min(rows - 1);
            let r0 = &src[y0 * row_len..(y0 + 1) * row_len];
            let r1 = &src[y1 * row_len..(y1 + 1) * row_len];
            let two_rows = y1 != y0;
            if dense && two_rows {
                dense_average_row(r0, r1, orow, width, nb);
                return;
            }
            for ox in 0..w2 {
                let x0 = 2 * ox;
                let x1 = (x0 + 1).min(width - 1);
                let two_cols = x1 != x0;
                for b in 0..nb {
                    let o = &mut orow[ox * nb + b];
                    if method == Resampling::Nearest {
                        // GDAL's nearest takes the pixel under the block centre:
                        // the lower-right one of a full 2x2 block.
                        *o = if two_rows {
                            r1[x1 * nb + b]
                        } else {
                            r0[x1 * nb + b]
                        };
                        continue;
                    }
                    let mut vals = [T::default(); 4];
                    let mut n = 0;
                    vals[n] = r0[x0 * nb + b];
                    n += 1;
                    if two_cols {
                        vals[n] = r0[x1 * nb + b];
                        n += 1;
                    }
                    if two_rows {
                        vals[n] = r1[x0 * nb + b];
                        n += 1;
                        if two_cols {
                            vals[n] = r1[x1 * nb + b];
                            n += 1;
                        }
                    }
                    *o = reduce(&vals[..n], method, nodata, fill);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_match_gdal_cog() {
        assert_eq!(levels_to_fit(10000, 10000, 512), 5);
        assert_eq!(levels_to_fit(512, 512, 512), 0);
        assert_eq!(levels_to_fit(513, 10, 512), 1);
        assert_eq!(levels_to_fit(1, 1, 512), 0);
    }

    #[test]
    fn average_skips_nodata_and_rounds() {
        // 3x3 single band, nodata 0: odd edges reduce partial blocks.
        let src: Vec<u16> = vec![1, 2, 9, 0, 4, 0, 7, 0, 0];
        let out = reduce_rows(&src, 3, 3, 1, Resampling::Average, Some(0));
        // (1+2+4)/3 = 2.33 -> 2 ; (9)/1 ; (7)/1 ; all nodata -> 0
        assert_eq!(out, vec![2, 9, 7, 0]);
    }

    #[test]
    fn average_of_floats_ignores_nan() {
        let src = vec![1.0f32, f32::NAN, 3.0, f32::NAN];
        let out = reduce_rows(&src, 2, 2, 1, Resampling::Average, None);
        assert_eq!(out, vec![2.0]);
        let all_nan = vec![f32::NAN; 4];
        let out = reduce_rows(&all_nan, 2, 2, 1, Resampling::Average, Some(f32::NAN));
        assert!(out[0].is_nan());
    }

    #[test]
    fn mode_keeps_classes_per_band() {
        // 2x2, two interleaved bands.
        let src: Vec<u8> = vec![3, 10, 5, 10, 5, 20, 5, 30];
        let out = reduce_rows(&src, 2, 2, 2, Resampling::Mode, None);
        assert_eq!(out, vec![5, 10]);
    }

    #[test]
    fn dense_average_matches_the_general_path() {
        // 5x3, 2 bands, no nodata: the fast path (full rows) and the general
        // path (last odd row) must agree with a plain rounded mean.
        let src: Vec<u16> = (0..5 * 3 * 2).map(|i| (i * 37 % 101) as u16).collect();
        let out = reduce_rows(&src, 5, 3, 2, Resampling::Average, None);
        let at = |x: usize, y: usize, b: usize| f64::from(src[(y * 5 + x) * 2 + b]);
        for oy in 0..2 {
            for ox in 0..3 {
                for b in 0..2 {
                    let mut v = Vec::new();
                    for (x, y) in [
                        (2 * ox, 2 * oy),
                        (2 * ox + 1, 2 * oy),
                        (2 * ox, 2 * oy + 1),
                        (2 * ox + 1, 2 * oy + 1),
                    ] {
                        if x < 5 && y < 3 {
                            v.push(at(x, y, b));
                        }
                    }
                    let want = (v.iter().sum::<f64>() / v.len() as f64).round() as u16;
                    assert_eq!(out[(oy * 3 + ox) * 2 + b], want, "({ox},{oy}) band {b}");
                }
            }
        }
    }

    #[test]
    fn nearest_takes_lower_right() {
        let src: Vec<i16> = vec![1, 2, 3, 4];
        assert_eq!(
            reduce_rows(&src, 2, 2, 1, Resampling::Nearest, None),
            vec![4]
        );
    }
}
