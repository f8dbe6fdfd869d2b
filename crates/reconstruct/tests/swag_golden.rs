//! Parity with the independent numpy reference (golden_swag.json).

#![allow(clippy::float_cmp, clippy::needless_range_loop)]

use arco_reconstruct::{swag_weights, SwagKernel, SwagParams};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/swag/golden_swag.json"
);

fn load() -> serde_json::Value {
    let text = std::fs::read_to_string(GOLDEN).unwrap_or_else(|e| {
        panic!("cannot read {GOLDEN} ({e}): the shared reference must sit beside the repository")
    });
    serde_json::from_str(&text).expect("golden_swag.json is valid json")
}

fn vals(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// "P6_n24_s45_e46_f0.0" -> params and n.
fn parse_key(key: &str) -> (usize, SwagParams) {
    let mut p = SwagParams::default();
    let mut n = 0;
    for part in key.split('_') {
        let (tag, num) = part.split_at(1);
        match tag {
            "P" => p.season = num.parse().unwrap(),
            "n" => n = num.parse().unwrap(),
            "s" => p.att_seas = num.parse().unwrap(),
            "e" => p.att_env = num.parse().unwrap(),
            "f" => p.future = num.parse().unwrap(),
            _ => panic!("unexpected key part {part}"),
        }
    }
    (n, p)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol
}

#[test]
fn golden_parity_f64_and_f32() {
    let g = load();
    let cases = g.as_object().unwrap();
    assert_eq!(cases.len(), 3, "three parameter sets expected");
    for (key, case) in cases {
        let (n, p) = parse_key(key);
        let w = swag_weights(n, &p);
        for (a, b) in w.iter().zip(vals(&case["weights"])) {
            assert!(((a - b) / b).abs() < 1e-12, "{key}: weight {a} vs {b}");
        }
        let input = vals(&case["input"]);
        let want = vals(&case["output"]);
        let want_qa = vals(&case["qa"]);
        let k = SwagKernel::new(n, &p).unwrap();
        // fast path, direct path: f64
        for direct in [false, true] {
            let mut y = input.clone();
            let mut qa = vec![0.0; n];
            if direct {
                k.fill_direct_f64(&mut y, &mut qa).unwrap();
            } else {
                k.fill_f64(&mut y, &mut qa).unwrap();
            }
            for t in 0..n {
                assert!(
                    close(y[t], want[t], 1e-9),
                    "{key} direct={direct} t={t}: {} vs {}",
                    y[t],
                    want[t]
                );
                assert!(
                    close(qa[t], want_qa[t], 1e-9),
                    "{key} direct={direct} qa t={t}: {} vs {}",
                    qa[t],
                    want_qa[t]
                );
                if !input[t].is_nan() {
                    assert_eq!(y[t].to_bits(), input[t].to_bits(), "observed value changed");
                }
            }
        }
        // f32 single series and block
        let mut y: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let mut qa = vec![0.0f32; n];
        k.fill_f32(&mut y, &mut qa).unwrap();
        let mut block: Vec<f32> = input
            .iter()
            .chain(input.iter())
            .map(|&v| v as f32)
            .collect();
        let mut qb = vec![0.0f32; 2 * n];
        k.fill_block_f32(&mut block, &mut qb, 2).unwrap();
        for t in 0..n {
            assert!(
                close(f64::from(y[t]), want[t], 1e-5),
                "{key} f32 t={t}: {} vs {}",
                y[t],
                want[t]
            );
            assert!(
                close(f64::from(qa[t]), want_qa[t], 1e-5),
                "{key} f32 qa t={t}"
            );
            assert_eq!(block[t].to_bits(), y[t].to_bits());
            assert_eq!(block[n + t].to_bits(), y[t].to_bits());
            assert_eq!(qb[n + t].to_bits(), qa[t].to_bits());
        }
    }
}

#[test]
fn errors_are_clear() {
    let k = SwagKernel::new(10, &SwagParams::ard2(6)).unwrap();
    let e = k
        .fill_f64(&mut [0.0; 9], &mut [0.0; 10])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("series has 9 values but 10 were expected"),
        "{e}"
    );
    assert!(k.fill_block_f32(&mut [0.0; 25], &mut [0.0; 25], 3).is_err());
    assert!(SwagKernel::new(
        10,
        &SwagParams {
            season: 0,
            ..SwagParams::default()
        }
    )
    .is_err());
    assert!(SwagKernel::new(
        10,
        &SwagParams {
            future: -1.0,
            ..SwagParams::default()
        }
    )
    .is_err());
    assert!(SwagKernel::new(0, &SwagParams::default()).is_err());
}
