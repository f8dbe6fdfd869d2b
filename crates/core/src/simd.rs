//! Runtime choice of wider vector instructions. The release build targets
//! baseline x86-64 (SSE2) so that one binary runs on every cluster node;
//! the hot loops (the gap filler's lanes, the statistics, the output
//! conversion) are written as plain lane arrays that the compiler
//! vectorises, and [`wide`] recompiles them with AVX2 where the CPU has it.
//! No fused multiply-add is enabled and Rust never contracts `a * b + c`, so
//! the results are bit-identical on either path.

/// Runs `f`, compiled with AVX2 when this CPU has it. `f` and what it calls
/// must be inlined into it for the wider instructions to apply: mark the
/// callees `#[inline(always)]` or `#[inline]`.
#[inline(always)]
#[allow(clippy::inline_always)] // the closure must inline into the AVX2 copy
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

#[cfg(test)]
mod tests {
    #[test]
    fn wide_returns_what_the_closure_returns() {
        let v: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let plain: f32 = v.iter().map(|x| x * 3.0 + 1.0).sum();
        let wide = super::wide(|| v.iter().map(|x| x * 3.0 + 1.0).sum::<f32>());
        assert_eq!(plain.to_bits(), wide.to_bits());
    }
}
