//! COGs written straight from the filled pixels, with no temporary frames.
//!
//! The grid is cut into strips of whole rows, each as tall as a row of COG
//! tiles (and as whole chunks of an input cube). A strip is read once with
//! every date, filled like a region of the cube path, and each date's rows
//! go on to that date's COG writer (dates in parallel), which compresses
//! the tiles and keeps them in memory until the file is laid out at the
//! end. Used for `--to cog` when a strip and the compressed outputs stay
//! within the bounds below; beyond them the frames path bounds the memory
//! instead. With cubes asked for too, the frames path writes both, so that
//! the cubes' statistics are summed in the same order as a scale-out job's
//! (which assembles its tiles' frames): the same product, bit for bit.

use super::{
    dated_pair, lcm, output_templates, scratch_dir, BandOutputs, Counts, Out, Phases,
    ReconstructArgs, RegionResult, Setup,
};
use crate::printer::Printer;
use arco_convert::cog::{CogShape, CogStream};
use arco_convert::series::Window;
use arco_convert::Sample;
use arco_core::{Progress, Record};
use rayon::prelude::*;

/// Most pixels in one strip (with every date): four times the cube path's
/// 512 x 512 region.
const STRIP_MAX_PX: usize = 1 << 20;

/// Most bytes of uncompressed output (data and quality, every date): the
/// compressed tiles of every COG wait in memory until the end, and they are
/// at most this.
const OUTPUT_MAX_BYTES: usize = 2 << 30;

/// Set to 1, the COGs go through per-date frames whatever the size (to
/// compare the two paths).
pub const FORCE_FRAMES_ENV: &str = "ARCO_RECONSTRUCT_FRAMES";

/// Rows per strip for a grid of `width` x `height` with `steps` dates of
/// `out_bytes` per sample: a multiple of the COG tile edge and of every
/// chunk height in `chunk_rows`. `None` when a strip or the whole output
/// would be over the bounds above.
pub fn strip_rows(
    (width, height): (usize, usize),
    steps: usize,
    out_bytes: usize,
    tile: usize,
    chunk_rows: &[usize],
) -> Option<usize> {
    let rows = chunk_rows.iter().fold(tile, |a, &b| lcm(a, b));
    let strip_px = width * rows.min(height);
    let output = width * height * steps * (out_bytes + 1);
    (strip_px <= STRIP_MAX_PX && output <= OUTPUT_MAX_BYTES).then_some(rows)
}

/// Fills the grid strip by strip into the COGs. `None` when cubes are asked
/// for too, or the grid is too large for strips (see [`strip_rows`]):
/// nothing is written then.
pub fn fill_into_strips(
    args: &ReconstructArgs,
    setup: &Setup,
    printer: &Printer,
) -> anyhow::Result<Option<BandOutputs>> {
    if args.to != [Out::Cog] || std::env::var(FORCE_FRAMES_ENV).is_ok_and(|v| v == "1") {
        return Ok(None);
    }
    let data_opts = args.cog_options("data", args.overwrite)?;
    let chunk_rows: Vec<usize> = setup.input_chunks().map(|(y, _)| y).into_iter().collect();
    let grid = (setup.grid.width, setup.grid.height);
    let (n, bytes) = (setup.steps(), setup.dtype.size());
    let Some(rows) = strip_rows(grid, n, bytes, data_opts.blocksize, &chunk_rows) else {
        return Ok(None);
    };
    let tmp = scratch_dir(args, "reconstruct")?;
    let (data_like, qa_like) = output_templates(setup, &tmp)?;
    let data_shape = CogShape::new(&data_like, &data_opts)?;
    let qa_opts = args.cog_options("quality", args.overwrite)?;
    let qa_shape = CogShape::new(&qa_like, &qa_opts)?;
    let strips = Window::tiles_of(grid.0, grid.1, grid.0, rows);
    let bar = printer.progress("reconstruct");
    bar.start("strips", strips.len() as u64);
    let (mut counts, mut phases) = (Counts::default(), Phases::default());
    let job = Strips {
        overwrite: args.overwrite,
        setup,
        shapes: (&data_shape, &qa_shape),
        bar: &bar,
    };
    let tally = (&mut counts, &mut phases);
    let records =
        arco_convert::dispatch_dtype!(setup.dtype, fill_strips::<T>(&job, &strips, tally))?;
    bar.finish();
    drop(tmp);
    Ok(Some((records, counts, phases)))
}

/// What every strip of one run shares.
struct Strips<'a> {
    /// Whether existing outputs may be replaced.
    overwrite: bool,
    setup: &'a Setup,
    /// The data and quality COGs' shapes.
    shapes: (&'a CogShape, &'a CogShape),
    bar: &'a dyn Progress,
}

/// Fills `strips` (top to bottom) into one data and one quality COG per
/// date. Returns the COGs' records, date by date, data then quality.
fn fill_strips<T: Sample>(
    job: &Strips,
    strips: &[Window],
    (counts, phases): (&mut Counts, &mut Phases),
) -> anyhow::Result<Vec<(Record, &'static str)>> {
    let setup = job.setup;
    let n = setup.steps();
    // The compressed tiles stay in memory (OUTPUT_MAX_BYTES bounds them).
    let memory = usize::MAX;
    let overwrite = job.overwrite;
    let mut data = Vec::with_capacity(n);
    let mut quality = Vec::with_capacity(n);
    for (d, q) in &setup.cog_targets {
        data.push(CogStream::<T>::create(job.shapes.0, d, overwrite, memory)?);
        quality.push(CogStream::<u8>::create(job.shapes.1, q, overwrite, memory)?);
    }
    let nodata = T::from_f64(setup.out_nodata.unwrap_or(f64::NAN));
    for &strip in strips {
        let r = if setup.input_is_empty(strip) {
            // No input stored there: every sample is unfillable.
            counts.unfillable += (strip.len() * n) as u64;
            RegionResult {
                data: vec![nodata; strip.len() * n],
                quality: vec![0; strip.len() * n],
                pixels: strip.len(),
            }
        } else {
            setup.compute_region::<T>(strip, counts, phases)?
        };
        Phases::time(&mut phases.write, || -> anyhow::Result<()> {
            let (planes, qa_planes) = (r.data_planes(), r.quality_planes());
            let rows = strip.h;
            data.par_iter_mut()
                .zip(&planes)
                .try_for_each(|(cog, p)| cog.push_rows(p, rows))?;
            quality
                .par_iter_mut()
                .zip(&qa_planes)
                .try_for_each(|(cog, p)| cog.push_rows(p, rows))?;
            Ok(())
        })?;
        job.bar.advance(1);
    }
    // Laid out and moved into place, dates in parallel.
    let names = &setup.date_names;
    Phases::time(&mut phases.write, || {
        data.into_par_iter()
            .zip(quality)
            .enumerate()
            .map(|(i, (d, q))| -> anyhow::Result<_> {
                Ok(dated_pair(d.finish()?, q.finish()?, &names[i]))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|pairs| pairs.into_iter().flatten().collect())
    })
}

#[cfg(test)]
mod tests {
    use super::strip_rows;

    #[test]
    fn strips_are_whole_tile_rows_and_chunks_within_the_bounds() {
        // 512 x 512 x 230 float32: one strip of one tile row.
        assert_eq!(strip_rows((512, 512), 230, 4, 512, &[]), Some(512));
        // Chunks of 256 rows fit in a tile row; 384 need 1536 rows.
        assert_eq!(strip_rows((700, 600), 12, 2, 512, &[256]), Some(512));
        assert_eq!(strip_rows((600, 2000), 12, 2, 512, &[384]), Some(1536));
        // Strips over 1 Mpx: 2100 x 512.
        assert_eq!(strip_rows((2100, 600), 6, 2, 512, &[]), None);
        // A short grid counts only its own rows: 2100 x 300.
        assert_eq!(strip_rows((2100, 300), 6, 2, 512, &[]), Some(512));
        // Outputs over 2 GiB: 1024 x 1024 x 500 dates of float32.
        assert_eq!(strip_rows((1024, 1024), 500, 4, 512, &[]), None);
    }
}
