//! Times the 2x2 overview reduction on one 10000 x 512 UInt16 strip.
use arco_convert::pyramid::reduce_rows;
use arco_convert::Resampling;

fn main() {
    let (w, h) = (10_000, 512);
    let src: Vec<u16> = (0..w * h).map(|i| (i * 7 % 4000) as u16).collect();
    for method in [Resampling::Average, Resampling::Nearest] {
        let t = std::time::Instant::now();
        let mut n = 0u64;
        for _ in 0..20 {
            n += u64::from(reduce_rows(&src, w, h, 1, method, None)[5]);
        }
        let per = t.elapsed().as_secs_f64() / 20.0;
        let line = format!(
            "{method}: {:.2} ms per strip, {:.2} ns per output pixel ({n})\n",
            per * 1e3,
            per * 1e9 / (w * h / 4) as f64
        );
        std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes()).unwrap();
    }
}
