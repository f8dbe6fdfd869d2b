//! Runtime choice of wider vector instructions. The release build targets
//! baseline x86-64 (SSE2) so that one binary runs on every cluster node;
//! the hot loops (the gap filler's lanes, the statistics, the output
//! conversion) are written as plain lane arrays that the compiler
//! vectorises, and [`wide`] recompiles them with AVX2 where the CPU has it.
//! No fused multiply-add is enabled and Rust never contracts `a * b + c`, so
//! the results are bit-identical on either path.

// The lane moves inline into their callers' AVX2 copies (see `wide`).
#![allow(clippy::inline_always)]

/// Runs `f`, compiled with AVX2 when this CPU has it. `f` and what it calls
/// must be inlined into it for the wider instructions to apply: mark the
/// callees `#[inline(always)]` or `#[inline]`.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Moves `L` series between pixel-major rows (`rows[l * n + t]`) and
/// time-major lanes (`lanes[t][l]`), the layout change at both ends of a
/// lane kernel. For 8 lanes of f32 on a CPU with AVX it moves 8 x 8 blocks
/// with register shuffles instead of 64 single loads and stores.
pub trait Lanes: Copy {
    /// `lanes[t][l] = rows[l * n + t]` for `t < n`, `l < L`.
    #[inline(always)]
    fn rows_to_lanes<const L: usize>(rows: &[Self], n: usize, lanes: &mut [[Self; L]]) {
        scalar_rows_to_lanes(rows, n, lanes, 0);
    }

    /// `rows[l * n + t] = lanes[t][l]` for `t < n`, `l < L`.
    #[inline(always)]
    fn lanes_to_rows<const L: usize>(lanes: &[[Self; L]], n: usize, rows: &mut [Self]) {
        scalar_lanes_to_rows(lanes, n, rows, 0);
    }
}

impl Lanes for f64 {}

impl Lanes for f32 {
    #[inline(always)]
    fn rows_to_lanes<const L: usize>(rows: &[f32], n: usize, lanes: &mut [[f32; L]]) {
        let done = avx_steps::<L>(n);
        #[cfg(target_arch = "x86_64")]
        if done > 0 {
            let (blocks, _) = lanes[..n].as_flattened_mut().as_chunks_mut::<8>();
            for t0 in (0..done).step_by(8) {
                let block: [[f32; 8]; 8] = std::array::from_fn(|l| {
                    let mut r = [0.0; 8];
                    r.copy_from_slice(&rows[l * n + t0..][..8]);
                    r
                });
                // SAFETY: `avx_steps` is 0 unless the CPU has AVX.
                #[allow(unsafe_code)]
                blocks[t0..t0 + 8].copy_from_slice(&unsafe { transpose8_avx(&block) });
            }
        }
        scalar_rows_to_lanes(rows, n, lanes, done);
    }

    #[inline(always)]
    fn lanes_to_rows<const L: usize>(lanes: &[[f32; L]], n: usize, rows: &mut [f32]) {
        let done = avx_steps::<L>(n);
        #[cfg(target_arch = "x86_64")]
        if done > 0 {
            let (blocks, _) = lanes[..n].as_flattened().as_chunks::<8>();
            for t0 in (0..done).step_by(8) {
                let mut block = [[0.0; 8]; 8];
                block.copy_from_slice(&blocks[t0..t0 + 8]);
                // SAFETY: `avx_steps` is 0 unless the CPU has AVX.
                #[allow(unsafe_code)]
                let moved = unsafe { transpose8_avx(&block) };
                for (l, r) in moved.iter().enumerate() {
                    rows[l * n + t0..][..8].copy_from_slice(r);
                }
            }
        }
        scalar_lanes_to_rows(lanes, n, rows, done);
    }
}

/// The steps (a multiple of 8) that the f32 moves do in 8 x 8 register
/// transposes: all whole blocks with 8 lanes on a CPU with AVX, else none.
#[inline(always)]
fn avx_steps<const L: usize>(n: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if L == 8 && std::arch::is_x86_feature_detected!("avx") {
        return n / 8 * 8;
    }
    0
}

/// [`Lanes::rows_to_lanes`] one element at a time, for the steps `from..n`.
#[inline(always)]
fn scalar_rows_to_lanes<T: Copy, const L: usize>(
    rows: &[T],
    n: usize,
    lanes: &mut [[T; L]],
    from: usize,
) {
    for (l, row) in rows.chunks_exact(n).take(L).enumerate() {
        for (lt, &v) in lanes[from..n].iter_mut().zip(&row[from..]) {
            lt[l] = v;
        }
    }
}

/// [`Lanes::lanes_to_rows`] one element at a time, for the steps `from..n`.
#[inline(always)]
fn scalar_lanes_to_rows<T: Copy, const L: usize>(
    lanes: &[[T; L]],
    n: usize,
    rows: &mut [T],
    from: usize,
) {
    for (l, row) in rows.chunks_exact_mut(n).take(L).enumerate() {
        for (v, lt) in row[from..].iter_mut().zip(&lanes[from..n]) {
            *v = lt[l];
        }
    }
}

/// `out[j][i] = m[i][j]` for an 8 x 8 block of f32, in three rounds of
/// shuffles: interleave pairs of rows, then pairs of pairs, then swap
/// 128-bit halves between the two groups of four.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[allow(unsafe_code)]
#[inline]
unsafe fn transpose8_avx(m: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
    use std::arch::x86_64::{
        __m256, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
        _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };
    // SAFETY (loads and stores): each row is 8 contiguous f32.
    let r: [__m256; 8] = std::array::from_fn(|i| unsafe { _mm256_loadu_ps(m[i].as_ptr()) });
    let a = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let b = [
        _mm256_shuffle_ps::<0x44>(a[0], a[2]),
        _mm256_shuffle_ps::<0xEE>(a[0], a[2]),
        _mm256_shuffle_ps::<0x44>(a[1], a[3]),
        _mm256_shuffle_ps::<0xEE>(a[1], a[3]),
        _mm256_shuffle_ps::<0x44>(a[4], a[6]),
        _mm256_shuffle_ps::<0xEE>(a[4], a[6]),
        _mm256_shuffle_ps::<0x44>(a[5], a[7]),
        _mm256_shuffle_ps::<0xEE>(a[5], a[7]),
    ];
    let c = [
        _mm256_permute2f128_ps::<0x20>(b[0], b[4]),
        _mm256_permute2f128_ps::<0x20>(b[1], b[5]),
        _mm256_permute2f128_ps::<0x20>(b[2], b[6]),
        _mm256_permute2f128_ps::<0x20>(b[3], b[7]),
        _mm256_permute2f128_ps::<0x31>(b[0], b[4]),
        _mm256_permute2f128_ps::<0x31>(b[1], b[5]),
        _mm256_permute2f128_ps::<0x31>(b[2], b[6]),
        _mm256_permute2f128_ps::<0x31>(b[3], b[7]),
    ];
    let mut out = [[0.0f32; 8]; 8];
    for (o, v) in out.iter_mut().zip(c) {
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), v) };
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn wide_returns_what_the_closure_returns() {
        let v: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let plain: f32 = v.iter().map(|x| x * 3.0 + 1.0).sum();
        let wide = super::wide(|| v.iter().map(|x| x * 3.0 + 1.0).sum::<f32>());
        assert_eq!(plain.to_bits(), wide.to_bits());
    }

    #[test]
    fn rows_and_lanes_round_trip_for_every_length() {
        use super::Lanes;
        for n in [1usize, 7, 8, 9, 16, 23, 230] {
            let rows: Vec<f32> = (0..8 * n).map(|i| i as f32).collect();
            let mut fast = vec![[0f32; 8]; n];
            f32::rows_to_lanes(&rows, n, &mut fast);
            for (t, lt) in fast.iter().enumerate() {
                for (l, &v) in lt.iter().enumerate() {
                    assert_eq!(
                        v.to_bits(),
                        rows[l * n + t].to_bits(),
                        "n {n} t {t} lane {l}"
                    );
                }
            }
            let mut back = vec![0f32; 8 * n];
            f32::lanes_to_rows(&fast, n, &mut back);
            assert_eq!(back, rows, "n {n}");
            // The generic path (4 lanes of f64) agrees.
            let rows64: Vec<f64> = rows[..4 * n].iter().map(|&v| f64::from(v)).collect();
            let mut lanes64 = vec![[0f64; 4]; n];
            f64::rows_to_lanes(&rows64, n, &mut lanes64);
            for (t, lt) in lanes64.iter().enumerate() {
                for (l, v) in lt.iter().enumerate() {
                    assert_eq!(v.to_bits(), rows64[l * n + t].to_bits());
                }
            }
            let mut back64 = vec![0f64; 4 * n];
            f64::lanes_to_rows(&lanes64, n, &mut back64);
            assert_eq!(back64, rows64, "n {n}");
        }
    }
}
