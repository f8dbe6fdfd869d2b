//! Band statistics gathered while pixels pass through a writer, so that the
//! catalog can describe a band (STAC `bands[].statistics`) without reading
//! the output again.
//!
//! Partial results merge with Chan's formula (count, mean, sum of squared
//! deviations), which stays exact enough for large means where a running
//! sum of squares would cancel.

use crate::dtype::Sample;
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
        let mut acc = StatsAcc::default();
        let (mut sum, mut count) = (0.0f64, 0u64);
        let mut total = 0u64;
        let valid = |v: T| !v.is_nan() && Some(v) != nodata;
        for &v in values.iter().skip(start).step_by(step) {
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
            acc.m2 = values
                .iter()
                .skip(start)
                .step_by(step)
                .filter(|&&v| valid(v))
                .map(|&v| {
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
}
