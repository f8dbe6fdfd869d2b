//! The time zstd alone takes for the codec work of a cube-to-cube run: decode
//! every chunk of the input array, and encode every chunk of the output
//! arrays again at `LEVEL`, on `THREADS` threads. Chunk files are read into
//! memory first (not timed), and the outputs are decoded untimed to get
//! their samples back. `bench/reconstruct_e2e.sh` prints it beside the
//! end-to-end figures: no tool that reads and writes these zstd cubes on
//! this machine can finish faster than this.
//!
//! `cargo run --release -p arco-convert --example zstd_floor -- THREADS LEVEL INPUT_ARRAY OUTPUT_ARRAY...`
//!
//! An array is a Zarr v3 array folder (its chunks under `c/`).
#![allow(clippy::print_stdout)]

use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [threads, level, input, outputs @ ..] = &args[..] else {
        return Err(
            "usage: zstd_floor THREADS LEVEL INPUT_ARRAY OUTPUT_ARRAY... (Zarr v3 array folders)"
                .into(),
        );
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.parse()?)
        .build()?;
    let level: i32 = level.parse()?;
    let input = read_chunks(Path::new(input))?;
    let mut raw_out = Vec::new();
    for o in outputs {
        for frame in read_chunks(Path::new(o))? {
            raw_out.push(zstd::decode_all(&frame[..])?);
        }
    }
    // Destinations of the input's samples, allocated and touched before
    // the clock starts (arco decodes into its region buffer the same way).
    let mut dst = input
        .iter()
        .map(|f| -> Result<Vec<u8>, BoxError> {
            let size = zstd::zstd_safe::get_frame_content_size(f)
                .ok()
                .flatten()
                .ok_or("an input chunk is not a zstd frame with its size")?;
            Ok(vec![1u8; usize::try_from(size)?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    pool.install(|| -> Result<(), BoxError> {
        let t0 = Instant::now();
        let decoded = input
            .par_iter()
            .zip(dst.par_iter_mut())
            // One context per rayon job, reused across its chunks (as arco's
            // reader and writer keep one per thread).
            .map_init(
                || zstd::bulk::Decompressor::new().expect("a zstd decoding context"),
                |ctx, (f, d)| ctx.decompress_to_buffer(&f[..], &mut d[..]),
            )
            .collect::<std::io::Result<Vec<_>>>()?;
        let decode_s = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let encoded = raw_out
            .par_iter()
            .map_init(
                || zstd::bulk::Compressor::new(level).expect("a zstd encoding context"),
                |ctx, raw| ctx.compress(raw).map(|v| v.len()),
            )
            .collect::<std::io::Result<Vec<_>>>()?;
        let encode_s = t0.elapsed().as_secs_f64();
        let mb = |n: usize| n as f64 / 1e6;
        let (din, dout) = (decoded.iter().sum(), raw_out.iter().map(Vec::len).sum());
        println!(
            "decode input: {decode_s:.3} s ({:.0} MB of samples, {:.0} MB/s)",
            mb(din),
            mb(din) / decode_s
        );
        println!(
            "encode outputs at level {level}: {encode_s:.3} s ({:.0} MB of samples to {:.0} MB, {:.0} MB/s)",
            mb(dout),
            mb(encoded.iter().sum()),
            mb(dout) / encode_s
        );
        println!("zstd alone: {:.3} s", decode_s + encode_s);
        Ok(())
    })
}

/// Every chunk file of a Zarr v3 array, in memory.
fn read_chunks(array: &Path) -> Result<Vec<Vec<u8>>, BoxError> {
    let mut files = Vec::new();
    let mut todo: Vec<PathBuf> = vec![array.join("c")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e} (not a Zarr v3 array folder?)", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(std::fs::read(path)?);
            }
        }
    }
    Ok(files)
}
