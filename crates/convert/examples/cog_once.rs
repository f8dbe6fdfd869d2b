//! Converts one raster to a COG with default options and prints the time:
//! a quick way to profile the writer without the CLI.
//!
//! `cargo run --release -p arco-convert --example cog_once -- IN OUT [LEVEL]`

use arco_convert::cog::write_cog;
use arco_convert::{CogOptions, RasterSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = (&args[1], &args[2]);
    let level = args.get(3).map(|l| l.parse()).transpose()?;
    let t = std::time::Instant::now();
    let src = RasterSource::inspect(input, None, None)?;
    let rec = write_cog(
        &src,
        output.as_ref(),
        &CogOptions {
            level,
            overwrite: true,
            ..CogOptions::default()
        },
        &arco_core::NoProgress,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let line = format!("{output}: {} bytes in {secs:.2} s\n", rec.size);
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes())?;
    Ok(())
}
