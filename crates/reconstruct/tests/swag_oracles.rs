//! The oracles of the reference's oracles.py, re-stated.

#![allow(clippy::float_cmp, clippy::needless_range_loop)]

mod common;

use arco_reconstruct::{SwagKernel, SwagParams};
use common::Rng;

const SETS: [(usize, usize, f64, f64, f64); 3] = [
    (6, 156, 45.0, 46.0, 0.0),
    (23, 230, 60.0, 20.0, 1.0),
    (23, 230, 40.0, 20.0, 0.1),
];

fn params(p: usize, s: f64, e: f64, f: f64) -> SwagParams {
    SwagParams {
        season: p,
        att_seas: s,
        att_env: e,
        future: f,
    }
}

#[test]
fn constant_stays_constant() {
    let mut rng = Rng::new(1);
    for (p, n, s, e, f) in SETS {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        for _ in 0..200 {
            let mut y: Vec<f64> = (0..n)
                .map(|_| if rng.uniform() < 0.6 { f64::NAN } else { 0.37 })
                .collect();
            let mut qa = vec![0.0; n];
            k.fill_f64(&mut y, &mut qa).unwrap();
            for (v, q) in y.iter().zip(&qa) {
                assert!(v.is_nan() || (v - 0.37).abs() < 1e-12, "{v}");
                assert!((0.0..=1.0 + 1e-12).contains(q));
            }
            let mut y32: Vec<f32> = (0..n)
                .map(|_| if rng.uniform() < 0.6 { f32::NAN } else { 0.37 })
                .collect();
            let mut q32 = vec![0.0f32; n];
            k.fill_f32(&mut y32, &mut q32).unwrap();
            assert!(y32.iter().all(|v| v.is_nan() || (v - 0.37).abs() < 1e-6));
        }
    }
}

#[test]
fn gap_free_is_bit_identical() {
    let mut rng = Rng::new(2);
    for (p, n, s, e, f) in SETS {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        let y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut out = y.clone();
        let mut qa = vec![0.0; n];
        k.fill_f64(&mut out, &mut qa).unwrap();
        assert!(out.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(qa.iter().all(|&q| q == 1.0));
    }
}

#[test]
fn two_observation_closed_form() {
    let (n, p) = (36, 6);
    for f in [0.0, 0.5, 1.0] {
        let k = SwagKernel::new(n, &params(p, 45.0, 46.0, f)).unwrap();
        let w = k.weights().to_vec();
        let kern = |lag: i64| {
            if lag >= 0 {
                w[lag as usize]
            } else {
                f * w[(-lag) as usize]
            }
        };
        let mut y = vec![f64::NAN; n];
        y[5] = 1.0;
        y[20] = 3.0;
        let mut qa = vec![0.0; n];
        k.fill_f64(&mut y, &mut qa).unwrap();
        for t in 0..n {
            let (a, b) = (kern(t as i64 - 5), kern(t as i64 - 20));
            let expect = match t {
                5 => 1.0,
                20 => 3.0,
                _ if a + b > 0.0 => (a + 3.0 * b) / (a + b),
                _ => f64::NAN,
            };
            assert!(
                (expect.is_nan() && y[t].is_nan()) || (y[t] - expect).abs() < 1e-12,
                "f={f} t={t}: {} vs {expect}",
                y[t]
            );
        }
    }
}

#[test]
fn missing_exactly_where_support_is_empty() {
    let mut rng = Rng::new(4);
    let n = 60;
    for f in [0.0, 1.0] {
        let k = SwagKernel::new(n, &params(6, 45.0, 46.0, f)).unwrap();
        for i in 0..3000 {
            let y: Vec<f64> = (0..n)
                .map(|_| {
                    if i < 50 || rng.uniform() < 0.8 {
                        f64::NAN
                    } else {
                        rng.normal()
                    }
                })
                .collect();
            let mut out = y.clone();
            let mut qa = vec![0.0; n];
            k.fill_f64(&mut out, &mut qa).unwrap();
            let any = y.iter().any(|v| !v.is_nan());
            let mut seen = false;
            for t in 0..n {
                seen |= !y[t].is_nan();
                let expect_nan = if f == 0.0 { !seen } else { !any };
                assert_eq!(out[t].is_nan(), expect_nan, "f={f} t={t}");
                if expect_nan {
                    assert_eq!(qa[t], 0.0);
                }
            }
        }
    }
}

#[test]
fn fast_path_matches_direct_sum() {
    let mut rng = Rng::new(5);
    for (p, n, s, e, f) in SETS.into_iter().chain([
        (23, 20, 60.0, 20.0, 1.0),
        (6, 7, 45.0, 46.0, 0.3),
        (1, 30, 10.0, 20.0, 0.5),
    ]) {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        for _ in 0..200 {
            let y: Vec<f64> = (0..n)
                .map(|_| {
                    if rng.uniform() < 0.5 {
                        f64::NAN
                    } else {
                        rng.normal()
                    }
                })
                .collect();
            let (mut a, mut b) = (y.clone(), y.clone());
            let (mut qa, mut qb) = (vec![0.0; n], vec![0.0; n]);
            k.fill_f64(&mut a, &mut qa).unwrap();
            k.fill_direct_f64(&mut b, &mut qb).unwrap();
            for t in 0..n {
                assert!(
                    (a[t].is_nan() && b[t].is_nan()) || (a[t] - b[t]).abs() < 1e-10,
                    "{} vs {}",
                    a[t],
                    b[t]
                );
                assert!((qa[t] - qb[t]).abs() < 1e-10);
            }
        }
    }
}

#[test]
fn seasonal_sinusoid_recovered() {
    let mut rng = Rng::new(6);
    let (p, years) = (23usize, 10usize);
    let n = p * years;
    let k = SwagKernel::new(n, &SwagParams::symmetric(p)).unwrap();
    let (mut se, mut cnt) = (0.0, 0usize);
    for _ in 0..2000 {
        let ph = rng.uniform() * 2.0 * std::f64::consts::PI;
        let truth: Vec<f64> = (0..n)
            .map(|t| 0.4 + 0.2 * (2.0 * std::f64::consts::PI * t as f64 / p as f64 + ph).sin())
            .collect();
        let gaps: Vec<bool> = (0..n).map(|_| rng.uniform() < 0.4).collect();
        let mut y: Vec<f64> = truth
            .iter()
            .zip(&gaps)
            .map(|(&v, &g)| if g { f64::NAN } else { v })
            .collect();
        let mut qa = vec![0.0; n];
        k.fill_f64(&mut y, &mut qa).unwrap();
        for t in 0..n {
            if gaps[t] && !y[t].is_nan() {
                se += (y[t] - truth[t]).powi(2);
                cnt += 1;
            }
        }
    }
    let rmse = (se / cnt as f64).sqrt();
    assert!(rmse < 0.015, "rmse {rmse}");
}

#[test]
fn block_matches_single_series_and_direct_sum() {
    // 4 * 8 + 5 pixels: full lane groups, a short group, several rayon tasks
    // in spirit; mixed with complete and empty series.
    let mut rng = Rng::new(7);
    for (p, n, s, e, f) in SETS {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        let npx = 37;
        let mut data: Vec<f64> = Vec::with_capacity(npx * n);
        for px in 0..npx {
            for _ in 0..n {
                let gap = match px {
                    3 => false,
                    10 => true,
                    _ => rng.uniform() < 0.4,
                };
                data.push(if gap { f64::NAN } else { rng.normal() });
            }
        }
        let mut block = data.clone();
        let mut qb = vec![0.0; npx * n];
        k.fill_block_f64(&mut block, &mut qb, npx).unwrap();
        let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let mut block32 = data32.clone();
        let mut qb32 = vec![0.0f32; npx * n];
        k.fill_block_f32(&mut block32, &mut qb32, npx).unwrap();
        for px in 0..npx {
            let r = px * n..(px + 1) * n;
            let (mut b, mut qd) = (data[r.clone()].to_vec(), vec![0.0; n]);
            k.fill_direct_f64(&mut b, &mut qd).unwrap();
            let (mut y32, mut q32) = (data32[r.clone()].to_vec(), vec![0.0f32; n]);
            k.fill_f32(&mut y32, &mut q32).unwrap();
            for t in 0..n {
                let (a, qa) = (block[px * n + t], qb[px * n + t]);
                assert!(
                    (a.is_nan() && b[t].is_nan()) || (a - b[t]).abs() < 1e-10,
                    "px {px} t {t}: {a} vs {}",
                    b[t]
                );
                assert!((qa - qd[t]).abs() < 1e-10);
                if !data[px * n + t].is_nan() {
                    assert_eq!(a.to_bits(), data[px * n + t].to_bits());
                }
                assert_eq!(block32[px * n + t].to_bits(), y32[t].to_bits());
                assert_eq!(qb32[px * n + t].to_bits(), q32[t].to_bits());
            }
        }
    }
}

#[test]
fn f32_block_matches_direct_sum() {
    // The f32 lane path sums in f32: compare with the f64 direct sum within
    // 1e-5 of the series scale (values) and 1e-5 (quality), on random series
    // with gaps, offsets and scales, plus long runs of gaps.
    let mut rng = Rng::new(8);
    for (p, n, s, e, f) in SETS.into_iter().chain([
        (23, 20, 60.0, 20.0, 1.0),
        (6, 7, 45.0, 46.0, 0.3),
        (1, 30, 10.0, 20.0, 0.5),
        (23, 460, 45.0, 46.0, 0.0),
        (46, 460, 60.0, 20.0, 1.0),
    ]) {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        let npx = 203;
        let mut data: Vec<f64> = Vec::with_capacity(npx * n);
        let mut scales = Vec::with_capacity(npx);
        for px in 0..npx {
            let offset = 10f64.powf(4.0 * rng.uniform() - 2.0) * (rng.uniform() - 0.3);
            let amp = 10f64.powf(4.0 * rng.uniform() - 2.0);
            let gap_rate = [0.2, 0.5, 0.9, 0.98][px % 4];
            let burst = rng.uniform() * n as f64;
            let mut scale = 0f64;
            for t in 0..n {
                let in_burst = (t as f64 - burst).abs() < n as f64 / 5.0 && px % 3 == 0;
                let v = (offset + amp * rng.normal()) as f32;
                if in_burst || rng.uniform() < gap_rate {
                    data.push(f64::NAN);
                } else {
                    data.push(f64::from(v));
                    scale = scale.max(f64::from(v).abs());
                }
            }
            scales.push(scale);
        }
        let mut block: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let mut qb = vec![0.0f32; npx * n];
        k.fill_block_f32(&mut block, &mut qb, npx).unwrap();
        for px in 0..npx {
            let r = px * n..(px + 1) * n;
            let (mut want, mut qd) = (data[r].to_vec(), vec![0.0; n]);
            k.fill_direct_f64(&mut want, &mut qd).unwrap();
            for t in 0..n {
                let (a, q) = (f64::from(block[px * n + t]), f64::from(qb[px * n + t]));
                assert_eq!(a.is_nan(), want[t].is_nan(), "p={p} n={n} px {px} t {t}");
                if !data[px * n + t].is_nan() {
                    assert_eq!(a.to_bits(), data[px * n + t].to_bits());
                    assert_eq!(q, 1.0);
                }
                if !a.is_nan() {
                    let err = (a - want[t]).abs() / scales[px];
                    assert!(
                        err < 1e-5,
                        "p={p} n={n} f={f} px {px} t {t}: {a} vs {} (scale {})",
                        want[t],
                        scales[px]
                    );
                }
                assert!((q - qd[t]).abs() < 1e-5, "qa p={p} n={n} px {px} t {t}");
            }
        }
    }
}

#[test]
fn time_major_fill_is_bit_identical_to_the_pixel_major_block() {
    // 37 pixels (four lane groups and a short one), with a complete and an
    // empty series among them, for every parameter set and one whose
    // period rules out the lane path, plus a group where every series is
    // complete or empty (the trivial branch).
    let mut rng = Rng::new(11);
    let sets = SETS.into_iter().chain([(1, 30, 10.0, 20.0, 0.5)]);
    for (p, n, s, e, f) in sets {
        let k = SwagKernel::new(n, &params(p, s, e, f)).unwrap();
        for trivial in [false, true] {
            let npx = 37;
            let mut pm: Vec<f32> = Vec::with_capacity(npx * n);
            for px in 0..npx {
                for _ in 0..n {
                    let gap = match px {
                        3 => false,
                        10 => true,
                        _ if trivial => px % 2 == 0,
                        _ => rng.uniform() < 0.4,
                    };
                    pm.push(if gap { f32::NAN } else { rng.normal() as f32 });
                }
            }
            let mut tm = arco_reconstruct::layout::pixel_to_time_major(&pm, n, npx);
            let mut qpm = vec![0.0f32; npx * n];
            let mut qtm = vec![-1.0f32; npx * n];
            k.fill_block_f32(&mut pm, &mut qpm, npx).unwrap();
            k.fill_time_major_f32(&mut tm, &mut qtm, npx).unwrap();
            let filled = tm.iter().filter(|v| !v.is_nan()).count();
            assert!(filled > npx * n / 3, "p={p}: {filled} filled");
            for px in 0..npx {
                for t in 0..n {
                    let (a, b) = (pm[px * n + t], tm[t * npx + px]);
                    assert_eq!(a.to_bits(), b.to_bits(), "p={p} px {px} t {t}: {a} vs {b}");
                    let (qa, qb) = (qpm[px * n + t], qtm[t * npx + px]);
                    assert_eq!(qa.to_bits(), qb.to_bits(), "p={p} quality px {px} t {t}");
                }
            }
        }
    }
    let k = SwagKernel::new(10, &SwagParams::ard2(6)).unwrap();
    assert!(k
        .fill_time_major_f32(&mut [0.0; 25], &mut [0.0; 25], 3)
        .is_err());
}
