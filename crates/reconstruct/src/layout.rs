//! Conversions between time-major and pixel-major stacks.

/// Time-major (`src[t * n_pixels + p]`, one image after another) to
/// pixel-major (`out[p * n_time + t]`, one series after another).
///
/// # Panics
/// When `src.len() != n_time * n_pixels`.
pub fn time_to_pixel_major<T: Copy + Default>(src: &[T], n_time: usize, n_pixels: usize) -> Vec<T> {
    transpose(src, n_time, n_pixels)
}

/// Pixel-major (`src[p * n_time + t]`) to time-major (`out[t * n_pixels + p]`).
///
/// # Panics
/// When `src.len() != n_time * n_pixels`.
pub fn pixel_to_time_major<T: Copy + Default>(src: &[T], n_time: usize, n_pixels: usize) -> Vec<T> {
    transpose(src, n_pixels, n_time)
}

/// Transpose a `rows x cols` row-major matrix, blocked for cache use.
fn transpose<T: Copy + Default>(src: &[T], rows: usize, cols: usize) -> Vec<T> {
    assert_eq!(src.len(), rows * cols, "buffer length must be rows * cols");
    let mut out = vec![T::default(); src.len()];
    const B: usize = 32;
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    out[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point of these tests
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let src: Vec<u32> = (0..6 * 70).collect();
        let pm = time_to_pixel_major(&src, 6, 70);
        assert_eq!(pm[3 * 6 + 2], src[2 * 70 + 3]);
        assert_eq!(pixel_to_time_major(&pm, 6, 70), src);
    }
}
