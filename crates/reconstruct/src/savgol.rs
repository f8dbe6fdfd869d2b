//! Savitzky-Golay smoothing (as `scipy.signal.savgol_filter(..., mode="interp")`)
//! and the linear-interpolation + Savitzky-Golay gap filler.

use crate::{Error, Result};

/// A Savitzky-Golay filter: least-squares polynomial of degree `order` over a
/// sliding odd window. Interior samples take the fit's value at the window
/// centre; the first and last `window / 2` samples take the value of one fit
/// over the first (last) `window` samples (scipy's `mode="interp"`).
#[derive(Debug, Clone)]
pub struct SavGol {
    window: usize,
    order: usize,
    /// `rows[p][i]`: weight of window sample `i` in the fit evaluated at
    /// window position `p` (`window x window`, row-major).
    rows: Vec<f64>,
}

impl SavGol {
    /// Build the filter; `window` must be odd and > `order`.
    pub fn new(window: usize, order: usize) -> Result<Self> {
        if window.is_multiple_of(2) {
            return Err(Error::InvalidWindow {
                window,
                order,
                hint: "use an odd window length",
            });
        }
        if order >= window {
            return Err(Error::InvalidWindow {
                window,
                order,
                hint: "use a polynomial order smaller than the window",
            });
        }
        let half = (window / 2) as f64;
        let scale = if half > 0.0 { half } else { 1.0 };
        let k = order + 1;
        // Vandermonde on x in [-1, 1] (scaled for conditioning).
        let xs: Vec<f64> = (0..window).map(|i| (i as f64 - half) / scale).collect();
        let pow = |x: f64, e: usize| (0..e).fold(1.0, |a, _| a * x);
        // Normal matrix G = A^T A (k x k) and its inverse by Gauss-Jordan.
        let mut g = vec![0.0; k * k];
        for a in 0..k {
            for b in 0..k {
                g[a * k + b] = xs.iter().map(|&x| pow(x, a + b)).sum();
            }
        }
        let ginv = invert(&g, k);
        // M = G^-1 A^T (k x window); rows[p] = v(x_p)^T M.
        let mut m = vec![0.0; k * window];
        for a in 0..k {
            for (i, &x) in xs.iter().enumerate() {
                m[a * window + i] = (0..k).map(|b| ginv[a * k + b] * pow(x, b)).sum();
            }
        }
        let mut rows = vec![0.0; window * window];
        for (p, &xp) in xs.iter().enumerate() {
            for i in 0..window {
                rows[p * window + i] = (0..k).map(|a| pow(xp, a) * m[a * window + i]).sum();
            }
        }
        Ok(Self {
            window,
            order,
            rows,
        })
    }

    /// Window length.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Polynomial order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The convolution coefficients of the centre (weights of `y[t-h..=t+h]`).
    pub fn coefficients(&self) -> &[f64] {
        let h = self.window / 2;
        &self.rows[h * self.window..(h + 1) * self.window]
    }

    /// Smooth `y` in place (f64). NaN propagates to the samples whose window
    /// holds it. Errors when `y` is shorter than the window.
    pub fn smooth(&self, y: &mut [f64]) -> Result<()> {
        let mut out = vec![0.0; y.len()];
        self.smooth_into(y, &mut out)?;
        y.copy_from_slice(&out);
        Ok(())
    }

    /// Smooth `y` in place (f32, computed in f64).
    pub fn smooth_f32(&self, y: &mut [f32]) -> Result<()> {
        let src: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
        let mut out = vec![0.0; y.len()];
        self.smooth_into(&src, &mut out)?;
        for (d, v) in y.iter_mut().zip(out) {
            *d = v as f32;
        }
        Ok(())
    }

    /// Smooth `src` into `out` (same length).
    pub fn smooth_into(&self, src: &[f64], out: &mut [f64]) -> Result<()> {
        let n = src.len();
        let w = self.window;
        if out.len() != n {
            return Err(Error::LengthMismatch {
                what: "savitzky-golay output",
                expected: n,
                got: out.len(),
            });
        }
        if n < w {
            return Err(Error::SeriesTooShort { len: n, window: w });
        }
        let h = w / 2;
        let c = self.coefficients();
        for t in h..n - h {
            out[t] = c.iter().zip(&src[t - h..=t + h]).map(|(a, b)| a * b).sum();
        }
        let first = &src[..w];
        let last = &src[n - w..];
        for p in 0..h {
            let row = &self.rows[p * w..(p + 1) * w];
            out[p] = row.iter().zip(first).map(|(a, b)| a * b).sum();
            let q = w - h + p;
            let row = &self.rows[q * w..(q + 1) * w];
            out[n - h + p] = row.iter().zip(last).map(|(a, b)| a * b).sum();
        }
        Ok(())
    }
}

/// Invert a small `k x k` matrix by Gauss-Jordan with partial pivoting.
fn invert(a: &[f64], k: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; k * k];
    for i in 0..k {
        inv[i * k + i] = 1.0;
    }
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&x, &y| m[x * k + col].abs().total_cmp(&m[y * k + col].abs()))
            .unwrap_or(col);
        if piv != col {
            for j in 0..k {
                m.swap(col * k + j, piv * k + j);
                inv.swap(col * k + j, piv * k + j);
            }
        }
        let d = m[col * k + col];
        for j in 0..k {
            m[col * k + j] /= d;
            inv[col * k + j] /= d;
        }
        for r in 0..k {
            if r != col {
                let f = m[r * k + col];
                if f != 0.0 {
                    for j in 0..k {
                        m[r * k + j] -= f * m[col * k + j];
                        inv[r * k + j] -= f * inv[col * k + j];
                    }
                }
            }
        }
    }
    inv
}

/// Linear interpolation over NaN gaps, in place. Leading and trailing gaps
/// take the nearest valid value (no extrapolation); an all-NaN series stays
/// NaN. Same arithmetic as the numpy reference: `y[p] + (y[q] - y[p]) * ((t - p) / (q - p))`.
#[allow(clippy::needless_range_loop)]
pub fn linear_interp_fill(y: &mut [f64]) {
    let Some(first) = y.iter().position(|v| !v.is_nan()) else {
        return;
    };
    let last = y.iter().rposition(|v| !v.is_nan()).unwrap_or(first);
    let (head, tail) = (y[first], y[last]);
    y[..first].fill(head);
    y[last + 1..].fill(tail);
    let mut prev = first;
    for t in first + 1..=last {
        if y[t].is_nan() {
            continue;
        }
        if t > prev + 1 {
            let (yp, yq) = (y[prev], y[t]);
            let span = (t - prev) as f64;
            for u in prev + 1..t {
                y[u] = yp + (yq - yp) * ((u - prev) as f64 / span);
            }
        }
        prev = t;
    }
}

/// Gap filling by linear interpolation followed by Savitzky-Golay smoothing
/// (the reference's `sg_gapfill`). With `keep_original`, observed samples
/// keep their values. An all-NaN series stays NaN.
pub fn sg_gapfill(y: &mut [f64], sg: &SavGol, keep_original: bool) -> Result<()> {
    let orig = keep_original.then(|| y.to_vec());
    linear_interp_fill(y);
    sg.smooth(y)?;
    if let Some(o) = orig {
        for (d, v) in y.iter_mut().zip(o) {
            if !v.is_nan() {
                *d = v;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are the point of these tests
mod tests {
    use super::*;

    #[test]
    fn window_errors() {
        assert!(SavGol::new(6, 2).is_err());
        assert!(SavGol::new(5, 5).is_err());
        assert!(SavGol::new(1, 0).is_ok());
        let sg = SavGol::new(7, 2).unwrap();
        assert!(sg.smooth(&mut [0.0; 5]).is_err());
    }

    #[test]
    fn known_coefficients_5_2() {
        // Classic table: (-3, 12, 17, 12, -3) / 35.
        let sg = SavGol::new(5, 2).unwrap();
        let expect = [-3.0, 12.0, 17.0, 12.0, -3.0].map(|v| v / 35.0);
        for (a, b) in sg.coefficients().iter().zip(expect) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }

    #[test]
    fn quadratic_is_preserved() {
        let sg = SavGol::new(7, 2).unwrap();
        let mut y: Vec<f64> = (0..20)
            .map(|t| 0.5 + 0.1 * t as f64 - 0.01 * (t * t) as f64)
            .collect();
        let orig = y.clone();
        sg.smooth(&mut y).unwrap();
        for (a, b) in y.iter().zip(&orig) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn linear_interp_edges_nearest() {
        let mut y = [f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
        linear_interp_fill(&mut y);
        assert_eq!(y, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        let mut z = [f64::NAN; 3];
        linear_interp_fill(&mut z);
        assert!(z.iter().all(|v| v.is_nan()));
    }
}
