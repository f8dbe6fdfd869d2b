//! Streaming the pixels into the data arrays of every level: each input is
//! read once, strip by strip, and each strip feeds the next level's 2x2
//! reduction (the same pattern as the COG writer's pyramid). Level 0 can
//! also be stored already (by the region writer), and read back strip by
//! strip to build the overviews.

use super::store::StagingStore;
use super::ZarrCodec;
use std::cell::RefCell;

thread_local! {
    /// One zstd context per thread, reused across chunks.
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

use super::{zarr_err, ZarrPlan};
use crate::dtype::Sample;
use crate::error::Result;
use crate::pyramid::{half, reduce_rows};
use crate::source::{read_window, RasterSource};
use crate::stats::{self, StatsAcc};
use arco_core::Progress;
use rayon::prelude::*;
use std::path::Path;
use zarrs::array::{Array, ArraySubset, Element, ElementOwned};
use zarrs::filesystem::FilesystemStore;

/// Where the full-resolution strips come from.
#[derive(Clone, Copy)]
pub(super) enum Level0<'a> {
    /// The inputs, one per time step: level 0 is written from them.
    Rasters(&'a [&'a RasterSource]),
    /// Level 0 as stored already: read back, it feeds the overviews only.
    Stored(&'a Array<FilesystemStore>, usize),
}

impl Level0<'_> {
    fn steps(&self) -> usize {
        match self {
            Level0::Rasters(s) => s.len(),
            Level0::Stored(_, nt) => *nt,
        }
    }
}

/// Rows of one level received but not yet written, per time step of the block.
struct LevelState<T> {
    pending: Vec<Vec<T>>,
    rows: usize,
    /// Chunk-grid row index of the next strip.
    next_row: u64,
}

/// Writes one time block (the inputs of one `time` chunk) at every level.
struct BlockWriter<'a, T> {
    arrays: &'a [Array<StagingStore>],
    plan: &'a ZarrPlan,
    /// Chunk index along time.
    tb: u64,
    states: Vec<LevelState<T>>,
    /// Value that reductions skip (nodata, or NaN for floats without one).
    skip: Option<T>,
    fill: T,
    target: &'a Path,
    /// Statistics of the full-resolution pixels of this block, per band.
    stats: Vec<StatsAcc>,
    /// Level 0 is stored already: only reduce it.
    stored0: bool,
}

impl<T: Sample + Element> BlockWriter<'_, T> {
    /// Adds `n` rows (one buffer per time step) to level `k`, writing every
    /// complete strip.
    fn feed(&mut self, k: usize, rows: Vec<Vec<T>>, n: usize) -> Result<()> {
        let st = &mut self.states[k];
        if st.rows == 0 {
            st.pending = rows;
        } else {
            for (p, r) in st.pending.iter_mut().zip(rows) {
                p.extend_from_slice(&r);
            }
        }
        st.rows += n;
        let strip = self.plan.levels[k].outer.0;
        while self.states[k].rows >= strip {
            self.emit(k, strip)?;
        }
        Ok(())
    }

    /// Writes the first `n` pending rows of level `k` as one strip of
    /// chunks and passes their reduction to level `k + 1`.
    fn emit(&mut self, k: usize, n: usize) -> Result<()> {
        let width = self.plan.levels[k].width;
        let nb = self.plan.nb;
        let len = n * width * nb;
        let st = &mut self.states[k];
        let strip: Vec<Vec<T>> = st
            .pending
            .iter_mut()
            .map(|p| {
                let rest = p.split_off(len);
                std::mem::replace(p, rest)
            })
            .collect();
        st.rows -= n;
        let row = st.next_row;
        st.next_row += 1;
        let has_next = k + 1 < self.plan.levels.len();
        let store = !(k == 0 && self.stored0);
        let this = &*self;
        let (stored, (reduced, stats)) = rayon::join(
            || {
                if store {
                    this.store_strip(k, &strip, n, row)
                } else {
                    Ok(())
                }
            },
            || {
                rayon::join(
                    || {
                        has_next.then(|| {
                            strip
                                .par_iter()
                                .map(|s| {
                                    reduce_rows(s, width, n, nb, this.plan.resampling, this.skip)
                                })
                                .collect::<Vec<_>>()
                        })
                    },
                    || {
                        (k == 0 && store).then(|| {
                            strip
                                .par_iter()
                                .map(|s| stats::interleaved(s, nb, this.skip))
                                .reduce(
                                    || vec![StatsAcc::default(); nb],
                                    |mut a, b| {
                                        stats::merge_into(&mut a, &b);
                                        a
                                    },
                                )
                        })
                    },
                )
            },
        );
        stored?;
        if let Some(st) = stats {
            stats::merge_into(&mut self.stats, &st);
        }
        drop(strip);
        if let Some(reduced) = reduced {
            self.feed(k + 1, reduced, half(n))?;
        }
        Ok(())
    }

    /// Encodes and stores the chunks (shards) of one strip, in parallel.
    fn store_strip(&self, k: usize, strip: &[Vec<T>], n: usize, row: u64) -> Result<()> {
        let plan = self.plan;
        let lvl = &plan.levels[k];
        let (oy, ox) = lvl.outer;
        let (w, nb) = (lvl.width, plan.nb);
        let bc = plan.bc;
        let n_bchunks = nb.div_ceil(bc);
        let n_xchunks = w.div_ceil(ox);
        let tc = plan.tc;
        (0..n_bchunks * n_xchunks)
            .into_par_iter()
            .try_for_each(|i| {
                let (bj, cj) = (i / n_xchunks, i % n_xchunks);
                let (x0, b0) = (cj * ox, bj * bc);
                let xw = ox.min(w - x0);
                let bn = bc.min(nb - b0);
                // Chunk layout: [time][band][y][x], padded with the fill value.
                let mut buf = vec![self.fill; tc * bc * oy * ox];
                for (t, s) in strip.iter().enumerate() {
                    for bi in 0..bn {
                        let b = b0 + bi;
                        for y in 0..n {
                            let src = &s[(y * w + x0) * nb..(y * w + x0 + xw) * nb];
                            let d = ((t * bc + bi) * oy + y) * ox;
                            let dst = &mut buf[d..d + xw];
                            if nb == 1 {
                                dst.copy_from_slice(src);
                            } else {
                                for (x, v) in dst.iter_mut().enumerate() {
                                    *v = src[x * nb + b];
                                }
                            }
                        }
                    }
                }
                let mut idx = Vec::with_capacity(4);
                if plan.nt.is_some() {
                    idx.push(self.tb);
                }
                if plan.band_dim {
                    idx.push(bj as u64);
                }
                idx.extend([row, cj as u64]);
                store_chunk(&self.arrays[k], plan, k, self.fill, &idx, &buf, self.target)
            })
    }

    /// Writes the partial last strips, full resolution first.
    fn finish(&mut self) -> Result<()> {
        for k in 0..self.states.len() {
            let n = self.states[k].rows;
            if n > 0 {
                self.emit(k, n)?;
            }
        }
        Ok(())
    }
}

/// Stores one encoded chunk (a shard when sharding) of level `k`. Unsharded
/// zstd chunks are encoded here: the codec chain is `bytes` (little-endian,
/// the in-memory layout of the samples) then `zstd` at the plan's level
/// without checksum, exactly what zarrs would produce, but with one
/// compression context per thread instead of a new one per chunk. With no
/// compressor, the samples' bytes are stored as they are.
pub(super) fn store_chunk<T: Sample + Element>(
    array: &Array<StagingStore>,
    plan: &ZarrPlan,
    k: usize,
    fill: T,
    idx: &[u64],
    buf: &[T],
    target: &Path,
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        zarr_err(
            target,
            &format!("writing chunk {idx:?} of {}", array.path()),
            e,
        )
    };
    let simple = matches!(plan.codec, ZarrCodec::Zstd | ZarrCodec::None);
    if !simple || plan.levels[k].inner.is_some() || cfg!(target_endian = "big") {
        return array.store_chunk(idx, buf).map_err(|e| fail(&e));
    }
    let raw: &[u8] = bytemuck::cast_slice(buf);
    // Like zarrs, leave out chunks that hold only the fill value (bit for
    // bit, so NaN fills count): readers fill missing chunks.
    let fill = bytemuck::bytes_of(&fill);
    if raw.chunks_exact(fill.len()).all(|v| v == fill) {
        return Ok(());
    }
    if plan.codec == ZarrCodec::None {
        // SAFETY (logical): with no compressor the chunk is its
        // little-endian samples, which is their layout in memory.
        #[allow(unsafe_code)]
        let stored = unsafe { array.store_encoded_chunk(idx, raw.to_vec().into()) };
        return stored.map_err(|e| fail(&e));
    }
    let encoded = ZSTD.with(|cell| -> std::io::Result<Vec<u8>> {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != plan.level) {
            *slot = Some((plan.level, zstd::bulk::Compressor::new(plan.level)?));
        }
        slot.as_mut().expect("set above").1.compress(raw)
    });
    let encoded = encoded.map_err(|e| fail(&e))?;
    // SAFETY (logical, not memory): the bytes are a zstd frame of the
    // chunk's little-endian samples, which is what the array's codecs
    // declare.
    #[allow(unsafe_code)]
    let stored = unsafe { array.store_encoded_chunk(idx, encoded.into()) };
    stored.map_err(|e| fail(&e))
}

/// Writes the pixels of `level0` (one input per time step, in order) into
/// the data arrays of every level; with level 0 stored already, only the
/// overviews. Returns the statistics of level 0 (read from the inputs).
pub(super) fn write_data<T: Sample + Element + ElementOwned>(
    arrays: &[Array<StagingStore>],
    plan: &ZarrPlan,
    level0: Level0,
    target: &Path,
    progress: &dyn Progress,
) -> Result<Vec<StatsAcc>> {
    let nt = level0.steps();
    let tc = plan.tc;
    let lvl0 = &plan.levels[0];
    let strips = lvl0.height.div_ceil(lvl0.outer.0);
    let what = match level0 {
        Level0::Rasters(_) => "geozarr",
        Level0::Stored(..) => "overviews",
    };
    progress.start(what, (nt * strips) as u64);
    // Blocks in flight at once: about one input per thread.
    let per_round = (rayon::current_num_threads() / tc).max(1);
    let blocks: Vec<usize> = (0..nt.div_ceil(tc)).collect();
    let mut stats = vec![StatsAcc::default(); plan.nb];
    for round in blocks.chunks(per_round) {
        let parts = round
            .par_iter()
            .map(|&tb| {
                let times = tb * tc..((tb + 1) * tc).min(nt);
                write_block::<T>(arrays, plan, level0, times, tb as u64, target, progress)
            })
            .collect::<Result<Vec<_>>>()?;
        for p in &parts {
            stats::merge_into(&mut stats, p);
        }
    }
    progress.finish();
    Ok(stats)
}

/// Reads the strips of one time block (`y` rows from the top, `rows` of
/// them, one buffer per time step) for [`write_block`].
enum StripReader<'a> {
    Rasters(Vec<gdal::Dataset>, &'a [&'a RasterSource]),
    Stored(&'a Array<FilesystemStore>, std::ops::Range<usize>),
}

impl StripReader<'_> {
    fn read<T: Sample + ElementOwned>(
        &self,
        y: usize,
        rows: usize,
        width: usize,
        target: &Path,
    ) -> Result<Vec<Vec<T>>> {
        match self {
            StripReader::Rasters(handles, srcs) => handles
                .iter()
                .zip(srcs.iter())
                .map(|(ds, src)| {
                    let mut buf = Vec::new();
                    read_window(ds, src, (0, y), (width, rows), &mut buf)?;
                    Ok(buf)
                })
                .collect(),
            StripReader::Stored(array, times) => {
                let subset = ArraySubset::new_with_ranges(&[
                    times.start as u64..times.end as u64,
                    y as u64..(y + rows) as u64,
                    0..width as u64,
                ]);
                let all: Vec<T> = array
                    .retrieve_array_subset(&subset)
                    .map_err(|e| zarr_err(target, &format!("reading back rows {y}.."), e))?;
                Ok(all.chunks_exact(rows * width).map(<[T]>::to_vec).collect())
            }
        }
    }
}

/// One time block: a reader thread reads strips from the block's inputs
/// while this thread encodes and reduces the previous strip.
fn write_block<T: Sample + Element + ElementOwned>(
    arrays: &[Array<StagingStore>],
    plan: &ZarrPlan,
    level0: Level0,
    times: std::ops::Range<usize>,
    tb: u64,
    target: &Path,
    progress: &dyn Progress,
) -> Result<Vec<StatsAcc>> {
    let skip = match plan.nodata {
        Some(v) => Some(T::from_f64(v)),
        None if plan.dtype.is_float() => Some(T::from_f64(f64::NAN)),
        None => None,
    };
    let mut writer = BlockWriter {
        arrays,
        plan,
        tb,
        states: plan
            .levels
            .iter()
            .map(|_| LevelState {
                pending: Vec::new(),
                rows: 0,
                next_row: 0,
            })
            .collect(),
        skip,
        fill: T::from_f64(plan.fill),
        target,
        stats: vec![StatsAcc::default(); plan.nb],
        stored0: matches!(level0, Level0::Stored(..)),
    };
    let lvl0 = &plan.levels[0];
    let (width, height, step) = (lvl0.width, lvl0.height, lvl0.outer.0);
    let strips = height.div_ceil(step);
    let n_times = times.len() as u64;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(Vec<Vec<T>>, usize)>>(1);
        // The reader runs on a rayon pool of its own: zarrs decodes on
        // rayon, and this block's caller (a worker of the global pool)
        // waits on the channel, so with two workers both would wait.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| zarr_err(target, "starting the reader", e))?;
        scope.spawn(move || {
            pool.install(|| {
                let reader = match level0 {
                    Level0::Rasters(all) => {
                        let srcs = &all[times];
                        match srcs.iter().map(|s| s.open()).collect::<Result<Vec<_>>>() {
                            Ok(handles) => StripReader::Rasters(handles, srcs),
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return;
                            }
                        }
                    }
                    Level0::Stored(array, _) => StripReader::Stored(array, times),
                };
                for i in 0..strips {
                    let y = i * step;
                    let rows = step.min(height - y);
                    let msg = reader.read(y, rows, width, target).map(|b| (b, rows));
                    let failed = msg.is_err();
                    if tx.send(msg).is_err() || failed {
                        return;
                    }
                }
            });
        });
        for msg in rx {
            let (bufs, rows) = msg?;
            writer.feed(0, bufs, rows)?;
            progress.advance(n_times);
        }
        Ok(())
    })?;
    writer.finish()?;
    Ok(writer.stats)
}
