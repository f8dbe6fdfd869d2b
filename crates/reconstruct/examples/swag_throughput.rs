//! SWAG throughput: 512 x 512 px x 230 steps (P = 23, 10 years), 40 % gaps,
//! seeded; fill_block_f32 on 1 and 2 threads for the three parameter sets.
//!
//! `cargo run --release -p arco-reconstruct --example swag_throughput [-- NX]`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use arco_reconstruct::{SwagKernel, SwagParams};

fn main() {
    let nx: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let (p, years) = (23usize, 10usize);
    let n = p * years;
    let npx = nx * nx;
    let mut state = 42u64;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut data = vec![0f32; npx * n];
    let mut truth = vec![0f32; npx * n];
    let mut gaps = 0usize;
    for px in 0..npx {
        let ph = uniform() * std::f64::consts::TAU;
        let amp = 0.1 + 0.2 * uniform();
        let mean = 0.2 + 0.3 * uniform();
        for t in 0..n {
            let v = mean + amp * (std::f64::consts::TAU * t as f64 / p as f64 + ph).sin();
            truth[px * n + t] = v as f32;
            let gap = uniform() < 0.4;
            gaps += usize::from(gap);
            data[px * n + t] = if gap {
                f32::NAN
            } else {
                (v + 0.02 * (uniform() - 0.5) * 3.46) as f32
            };
        }
    }
    let steps = (npx * n) as f64;
    println!(
        "array: {nx}x{nx} px x {n} steps = {:.1} M pixel-steps, gaps {:.1} %",
        steps / 1e6,
        100.0 * gaps as f64 / steps
    );
    let sets = [
        ("swag causal 45/46 (ard2)", SwagParams::ard2(p)),
        ("swag 40/20 future 0.1", SwagParams::tsirf2024(p)),
        ("swag symmetric 60/20", SwagParams::symmetric(p)),
    ];
    for (name, params) in sets {
        let kernel = SwagKernel::new(n, &params).expect("valid parameters");
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            let mut best = f64::INFINITY;
            let mut out = Vec::new();
            for _ in 0..3 {
                let mut buf = data.clone();
                let mut qa = vec![1f32; buf.len()];
                let t0 = Instant::now();
                pool.install(|| kernel.fill_block_f32(&mut buf, &mut qa, npx))
                    .expect("fill");
                best = best.min(t0.elapsed().as_secs_f64());
                out = buf;
            }
            let (mut se, mut cnt, mut nan) = (0.0, 0usize, 0usize);
            for i in 0..out.len() {
                if out[i].is_nan() {
                    nan += 1;
                } else if data[i].is_nan() {
                    se += f64::from(out[i] - truth[i]).powi(2);
                    cnt += 1;
                }
            }
            println!(
                "{name:28} threads={threads}  {best:6.3} s  {:8.1} M px-steps/s  RMSE@gaps={:.4}  NaN={:.3}%",
                steps / best / 1e6,
                (se / cnt as f64).sqrt(),
                100.0 * nan as f64 / steps
            );
        }
    }
}
