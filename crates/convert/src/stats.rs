//! Band statistics gathered while pixels pass through a writer, so that the
//! catalog can describe a band (STAC `bands[].statistics`) without reading
//! the output again.
//!
//! Partial results merge with Chan's formula (count, mean, sum of squared
//! deviations), which stays exact enough for large means where a running
//! sum of squares would cancel.

// Hot loops inline into their AVX2 entry (`arco_core::simd::wide`).
#![allow(clippy::inline_always)]

use crate::dtype::{DType, Sample};
use arco_core::BandStatistics;
use rayon::prelude::*;

/// Running statistics of one band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsAcc {
    total: u64,
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
}

impl Default for StatsAcc {
    fn default() -> Self {
        Self {
            total: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        }
    }
}

impl StatsAcc {
    /// `total` samples all equal to `value`, valid unless `value` is NaN
    /// or `nodata` (a region left as a cube's fill value).
    pub fn constant(total: u64, value: f64, nodata: Option<f64>) -> Self {
        if value.is_nan() || Some(value) == nodata || total == 0 {
            return Self {
                total,
                ..Self::default()
            };
        }
        Self {
            total,
            count: total,
            min: value,
            max: value,
            mean: value,
            m2: 0.0,
        }
    }

    /// Adds another partial result.
    pub fn merge(&mut self, o: &StatsAcc) {
        self.total += o.total;
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            let total = self.total;
            *self = *o;
            self.total = total;
            return;
        }
        let (na, nb) = (self.count as f64, o.count as f64);
        let n = na + nb;
        let d = o.mean - self.mean;
        self.mean += d * nb / n;
        self.m2 += o.m2 + d * d * na * nb / n;
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// The STAC form; `None` when no pixel was valid (STAC has no NaN).
    pub fn finish(&self) -> Option<BandStatistics> {
        (self.count > 0).then(|| BandStatistics {
            minimum: self.min,
            maximum: self.max,
            mean: self.mean,
            stddev: (self.m2 / self.count as f64).sqrt(),
            valid_percent: 100.0 * self.count as f64 / self.total.max(1) as f64,
        })
    }

    /// Statistics of `values` with stride `step` starting at `start` (one
    /// band of pixel-interleaved data), skipping `nodata` and NaN.
    fn of_band<T: Sample>(values: &[T], start: usize, step: usize, nodata: Option<T>) -> Self {
        // One band apart: a plain slice walk, which the compiler unrolls.
        if step == 1 {
            return arco_core::simd::wide(
                #[inline(always)]
                || Self::of_slice(&values[start..], nodata),
            );
        }
        Self::of_samples(values.iter().skip(start).step_by(step).copied(), nodata)
    }

    /// Contiguous samples: bytes by histogram (exact), other types with
    /// independent accumulators per lane, so the loops vectorise.
    #[inline(always)]
    fn of_slice<T: Sample>(values: &[T], nodata: Option<T>) -> Self {
        if T::DTYPE == DType::U8 {
            let nodata = nodata.map(|v| bytemuck::cast::<T, u8>(v));
            return Self::of_bytes(bytemuck::cast_slice(values), nodata);
        }
        const L: usize = 8;
        let valid = |v: T| !v.is_nan() && Some(v) != nodata;
        // The same test on the widened value, written without short
        // circuits so that it compiles to lane masks: widening is exact and
        // one-to-one for every sample type, and NaN is unequal to itself.
        let nd = nodata.map_or(f64::NAN, Sample::to_f64);
        #[allow(clippy::eq_op, clippy::float_cmp, clippy::needless_bitwise_bool)]
        let ok = |x: f64| (x == x) & (x != nd);
        let mut sum = [0f64; L];
        // Counts as floats (exact below 2^53 a lane) to stay in f64 lanes.
        let mut count = [0f64; L];
        let mut min = [f64::INFINITY; L];
        let mut max = [f64::NEG_INFINITY; L];
        let lanes = values.chunks_exact(L);
        let rest = lanes.remainder();
        for c in lanes {
            for j in 0..L {
                let x = c[j].to_f64();
                let ok = ok(x);
                sum[j] += if ok { x } else { 0.0 };
                count[j] += if ok { 1.0 } else { 0.0 };
                // Plain comparisons (no NaN reaches them): they vectorise
                // where `f64::min` does not.
                #[allow(clippy::needless_bitwise_bool)]
                {
                    min[j] = if ok & (x < min[j]) { x } else { min[j] };
                    max[j] = if ok & (x > max[j]) { x } else { max[j] };
                }
            }
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mut count = count.map(|c| c as u64);
        for &v in rest {
            if valid(v) {
                let x = v.to_f64();
                sum[0] += x;
                count[0] += 1;
                min[0] = min[0].min(x);
                max[0] = max[0].max(x);
            }
        }
        let mut acc = StatsAcc {
            total: values.len() as u64,
            count: count.iter().sum(),
            min: min.iter().copied().fold(f64::INFINITY, f64::min),
            max: max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ..StatsAcc::default()
        };
        if acc.count == 0 {
            return acc;
        }
        acc.mean = sum.iter().sum::<f64>() / acc.count as f64;
        // Second pass over data still in cache: deviations from the mean,
        // which keeps m2 accurate.
        let mut m2 = [0f64; L];
        let lanes = values.chunks_exact(L);
        for c in lanes {
            for j in 0..L {
                let x = c[j].to_f64();
                let d = x - acc.mean;
                m2[j] += if ok(x) { d * d } else { 0.0 };
            }
        }
        for &v in rest.iter().filter(|&&v| valid(v)) {
            let d = v.to_f64() - acc.mean;
            m2[0] += d * d;
        }
        acc.m2 = m2.iter().sum();
        acc
    }

    /// Bytes, from their histogram: exact.
    #[inline(always)]
    fn of_bytes(values: &[u8], nodata: Option<u8>) -> Self {
        // Four histograms side by side: runs of one value (quality codes,
        // masks) would otherwise wait on the previous increment.
        let mut hists = [[0u64; 256]; 4];
        let quads = values.chunks_exact(4);
        for &v in quads.remainder() {
            hists[0][usize::from(v)] += 1;
        }
        for q in quads {
            for (h, &v) in hists.iter_mut().zip(q) {
                h[usize::from(v)] += 1;
            }
        }
        let mut hist = hists[0];
        for h in &hists[1..] {
            for (a, b) in hist.iter_mut().zip(h) {
                *a += b;
            }
        }
        if let Some(nd) = nodata {
            hist[usize::from(nd)] = 0;
        }
        let mut acc = StatsAcc {
            total: values.len() as u64,
            ..StatsAcc::default()
        };
        let mut sum = 0u64;
        for (v, &c) in hist.iter().enumerate().filter(|(_, &c)| c > 0) {
            acc.count += c;
            sum += v as u64 * c;
            acc.min = acc.min.min(v as f64);
            acc.max = acc.max.max(v as f64);
        }
        if acc.count > 0 {
            acc.mean = sum as f64 / acc.count as f64;
            acc.m2 = hist
                .iter()
                .enumerate()
                .map(|(v, &c)| c as f64 * (v as f64 - acc.mean).powi(2))
                .sum();
        }
        acc
    }

    fn of_samples<T: Sample>(samples: impl Iterator<Item = T> + Clone, nodata: Option<T>) -> Self {
        let mut acc = StatsAcc::default();
        let (mut sum, mut count) = (0.0f64, 0u64);
        let mut total = 0u64;
        let valid = |v: T| !v.is_nan() && Some(v) != nodata;
        for v in samples.clone() {
            total += 1;
            if valid(v) {
                let x = v.to_f64();
                sum += x;
                count += 1;
                acc.min = acc.min.min(x);
                acc.max = acc.max.max(x);
            }
        }
        acc.total = total;
        acc.count = count;
        if count > 0 {
            acc.mean = sum / count as f64;
            // Second pass over data still in cache: deviations from the
            // chunk mean, which keeps m2 accurate.
            acc.m2 = samples
                .filter(|&v| valid(v))
                .map(|v| {
                    let d = v.to_f64() - acc.mean;
                    d * d
                })
                .sum();
        }
        acc
    }
}

/// Statistics per band of pixel-interleaved `data` (`nb` bands), computed in
/// parallel over chunks of about 64 Ki pixels.
pub fn interleaved<T: Sample>(data: &[T], nb: usize, nodata: Option<T>) -> Vec<StatsAcc> {
    const CHUNK_PIXELS: usize = 1 << 16;
    data.par_chunks(CHUNK_PIXELS * nb)
        .map(|chunk| {
            (0..nb)
                .map(|b| StatsAcc::of_band(chunk, b, nb, nodata))
                .collect::<Vec<_>>()
        })
        .reduce(
            || vec![StatsAcc::default(); nb],
            |mut a, b| {
                merge_into(&mut a, &b);
                a
            },
        )
}

/// Merges per-band partial results `b` into `a`.
pub fn merge_into(a: &mut [StatsAcc], b: &[StatsAcc]) {
    for (x, y) in a.iter_mut().zip(b) {
        x.merge(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(v: &[f64]) -> (f64, f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max, mean, var.sqrt())
    }

    #[test]
    fn interleaved_bands_skip_nodata_and_match_direct_formulas() {
        // Two bands, 200k pixels: several chunks, so merging is exercised.
        let n = 200_000usize;
        let mut data = Vec::with_capacity(2 * n);
        for i in 0..n {
            let a = 10_000 + (i * 7919 % 1000) as u16;
            let b = if i % 10 == 0 { 0 } else { (i % 251) as u16 };
            data.push(a);
            data.push(b);
        }
        let acc = interleaved(&data, 2, Some(0u16));
        let s0 = acc[0].finish().unwrap();
        let v0: Vec<f64> = data.iter().step_by(2).map(|&v| f64::from(v)).collect();
        let (min, max, mean, sd) = direct(&v0);
        assert_eq!((s0.minimum, s0.maximum), (min, max));
        assert!((s0.mean - mean).abs() < 1e-9, "{} vs {mean}", s0.mean);
        assert!((s0.stddev - sd).abs() < 1e-9, "{} vs {sd}", s0.stddev);
        assert!((s0.valid_percent - 100.0).abs() < 1e-12);

        let s1 = acc[1].finish().unwrap();
        let v1: Vec<f64> = data
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&v| v != 0)
            .map(|&v| f64::from(v))
            .collect();
        let (min, max, mean, sd) = direct(&v1);
        assert_eq!((s1.minimum, s1.maximum), (min, max));
        assert!((s1.mean - mean).abs() < 1e-9);
        assert!((s1.stddev - sd).abs() < 1e-9);
        // Every 10th pixel is nodata, plus those where i % 251 == 0.
        let valid = v1.len() as f64 / n as f64 * 100.0;
        assert!((s1.valid_percent - valid).abs() < 1e-12);
        assert!(s1.valid_percent < 90.0);
    }

    #[test]
    fn nan_is_not_valid_and_all_invalid_gives_none() {
        let data = [f32::NAN, 1.0, 3.0, f32::NAN];
        let s = interleaved(&data, 1, None)[0].finish().unwrap();
        assert_eq!((s.minimum, s.maximum, s.mean), (1.0, 3.0, 2.0));
        assert!((s.valid_percent - 50.0).abs() < 1e-12);
        let none = interleaved(&[f32::NAN; 8], 1, None);
        assert_eq!(none[0].finish(), None);
    }

    #[test]
    fn merge_of_large_means_keeps_the_variance() {
        // A running sum of squares would lose these digits at mean 1e9.
        let a: Vec<f64> = (0..1000).map(|i| 1e9 + f64::from(i % 3)).collect();
        let mut acc = StatsAcc::default();
        for part in a.chunks(7) {
            acc.merge(&StatsAcc::of_band(part, 0, 1, None));
        }
        let s = acc.finish().unwrap();
        let (_, _, mean, sd) = direct(&a);
        assert!((s.mean - mean).abs() < 1e-6);
        // Within 1e-7 relative; a sum of squares at this mean would be off by orders of magnitude.
        assert!((s.stddev - sd).abs() < 1e-7 * sd, "{} vs {sd}", s.stddev);
    }

    #[test]
    #[allow(clippy::float_cmp)] // -9999 is an exact sentinel
    fn one_band_fast_paths_match_direct_formulas() {
        // Bytes (histogram) with a nodata, floats with NaN and a nodata,
        // lengths that leave a remainder after the 8 lanes.
        let bytes: Vec<u8> = (0..100_003u32).map(|i| (i * 7919 % 251) as u8).collect();
        let s = interleaved(&bytes, 1, Some(0u8))[0].finish().unwrap();
        let v: Vec<f64> = bytes
            .iter()
            .filter(|&&b| b != 0)
            .map(|&b| f64::from(b))
            .collect();
        let (min, max, mean, sd) = direct(&v);
        assert_eq!((s.minimum, s.maximum), (min, max));
        assert!((s.mean - mean).abs() < 1e-12 && (s.stddev - sd).abs() < 1e-12);
        let pct = 100.0 * v.len() as f64 / bytes.len() as f64;
        assert!((s.valid_percent - pct).abs() < 1e-12);

        let floats: Vec<f32> = (0..70_001u32)
            .map(|i| match i % 13 {
                0 => f32::NAN,
                1 => -9999.0,
                _ => (i % 1000) as f32 * 0.25 - 40.0,
            })
            .collect();
        let s = interleaved(&floats, 1, Some(-9999.0f32))[0]
            .finish()
            .unwrap();
        let v: Vec<f64> = floats
            .iter()
            .filter(|x| !x.is_nan() && **x != -9999.0)
            .map(|&x| f64::from(x))
            .collect();
        let (min, max, mean, sd) = direct(&v);
        assert_eq!((s.minimum, s.maximum), (min, max));
        assert!((s.mean - mean).abs() < 1e-9, "{} vs {mean}", s.mean);
        assert!((s.stddev - sd).abs() < 1e-9, "{} vs {sd}", s.stddev);
    }
}
