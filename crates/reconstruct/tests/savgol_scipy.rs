//! Savitzky-Golay against scipy.signal.savgol_filter(mode="interp"), and the
//! linear-interpolation + SG gap fill against the numpy reference.

#![allow(clippy::float_cmp, clippy::needless_range_loop)]

mod common;

use std::process::Command;

use arco_reconstruct::{sg_gapfill, SavGol};
use common::Rng;

fn python() -> String {
    std::env::var("ARCO_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").to_string()
    })
}

#[test]
fn savgol_matches_scipy() {
    let mut rng = Rng::new(11);
    let pairs = [
        (5usize, 2usize),
        (7, 2),
        (7, 3),
        (9, 4),
        (11, 2),
        (3, 0),
        (15, 5),
    ];
    let series: Vec<Vec<f64>> = pairs
        .iter()
        .map(|_| (0..60).map(|_| rng.normal()).collect())
        .collect();
    let cases: Vec<serde_json::Value> = pairs
        .iter()
        .zip(&series)
        .map(|(&(w, o), y)| serde_json::json!({"window": w, "order": o, "y": y}))
        .collect();
    let gap: Vec<Option<f64>> = (0..50)
        .map(|t| (rng.uniform() >= 0.4 || t == 10).then(|| rng.normal()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (inp, outp) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(
        &inp,
        serde_json::json!({"cases": cases, "gap": gap}).to_string(),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/savgol_check.py");
    let reference = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/swag"
    );
    let st = Command::new(python())
        .args([script, inp.to_str().unwrap(), outp.to_str().unwrap()])
        .env("ARCO_SWAG_REF", reference)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): create .venv with scipy or set ARCO_PYTHON",
                python()
            )
        });
    assert!(
        st.success(),
        "savgol_check.py failed: is scipy installed in {}?",
        python()
    );
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outp).unwrap()).unwrap();
    for (i, &(w, o)) in pairs.iter().enumerate() {
        let sg = SavGol::new(w, o).unwrap();
        let mut y = series[i].clone();
        sg.smooth(&mut y).unwrap();
        let want = got["smoothed"][i].as_array().unwrap();
        for (t, (a, b)) in y.iter().zip(want).enumerate() {
            let b = b.as_f64().unwrap();
            assert!(
                (a - b).abs() < 1e-6,
                "window {w} order {o} t={t}: {a} vs {b}"
            );
        }
    }
    if let Some(want) = got.get("sg_gapfill") {
        let mut y: Vec<f64> = gap.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        sg_gapfill(&mut y, &SavGol::new(7, 2).unwrap(), false).unwrap();
        for (a, b) in y.iter().zip(want.as_array().unwrap()) {
            assert!(
                (a - b.as_f64().unwrap()).abs() < 1e-9,
                "sg_gapfill {a} vs {b}"
            );
        }
    } else {
        panic!("the numpy reference at {reference} is missing: sg_gapfill parity was not checked");
    }
}
