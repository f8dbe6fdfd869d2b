//! Cloud-Optimized GeoTIFF writer.
//!
//! The input is read once, strip by strip (one tile row at a time); each
//! strip's tiles are compressed in parallel and reduced into the next
//! overview level, which is compressed the same way when it has a full tile
//! row. Compressed tiles wait in memory (or a temporary file when large);
//! the file is then laid out as GDAL's COG driver does: header, GDAL's
//! structural metadata, all IFDs, then tile data from the smallest overview
//! to full resolution, each tile framed with its size and last 4 bytes.
//!
//! JPEG and WebP go through GDAL's COG driver ([`gdal_driver`]).

mod encode;
mod gdal_driver;
mod spill;
mod stream;
mod template;
pub mod tiff;

use stream::Like;
pub use stream::{CogShape, CogStream};

use crate::atomic::Staged;
use crate::dispatch_dtype;
use crate::dtype::{DType, Sample};
use crate::error::{ConvertError, Result};
use crate::options::{CogOptions, Compression, Predictor, Resampling};
use crate::pyramid::{choose_resampling, half, levels_to_fit, reduce_rows};
use crate::source::{read_window, RasterSource};
use crate::stats::{self, StatsAcc};
use arco_core::{BandStatistics, HashingWriter, Progress, Record};
use encode::{encode_tile, tiff_compression_code, TileCodec};
use rayon::prelude::*;
use sha2::Digest as _;
use spill::Spill;
use std::io::{BufWriter, Write};
use std::path::Path;
use tiff::{ifd_len, write_ifd, Flavor, Tag};

/// Resolved settings of one COG write, after defaults and checks.
#[derive(Debug, Clone)]
pub struct CogPlan {
    /// Output data type.
    pub dtype: DType,
    /// Compression.
    pub compression: Compression,
    /// Level (for codecs with levels).
    pub level: i32,
    /// TIFF predictor code (1, 2, 3).
    pub predictor: u16,
    /// Overview resampling.
    pub resampling: Resampling,
    /// Nodata per band.
    pub nodata: Vec<Option<f64>>,
    /// Forced BigTIFF choice.
    pub bigtiff: Option<bool>,
    /// Notes for the user about automatic choices.
    pub notes: Vec<String>,
}

/// Checks options against the input and fills in defaults.
pub fn plan(src: &RasterSource, opts: &CogOptions) -> Result<CogPlan> {
    let dtype = opts.dtype.unwrap_or(src.dtype());
    let mut notes = Vec::new();
    if !(16..=4096).contains(&opts.blocksize) || !opts.blocksize.is_multiple_of(16) {
        return Err(ConvertError::InvalidOption {
            option: "--blocksize",
            reason: format!(
                "{} is not a multiple of 16 between 16 and 4096 (512 is the usual choice)",
                opts.blocksize
            ),
        });
    }
    let level = match (opts.level, opts.compression.level_range()) {
        (Some(l), Some((lo, hi))) if !(lo..=hi).contains(&l) => {
            return Err(ConvertError::InvalidOption {
                option: "--level",
                reason: format!(
                    "{l} is out of range for {} (use {lo}..={hi})",
                    opts.compression
                ),
            })
        }
        (Some(_), None) => {
            return Err(ConvertError::InvalidOption {
                option: "--level",
                reason: format!("{} has no levels; drop --level", opts.compression),
            })
        }
        (Some(l), Some(_)) => l,
        (None, _) => opts.compression.default_level().unwrap_or(0),
    };
    let predictor = match (opts.predictor, opts.compression) {
        (_, Compression::None | Compression::Jpeg | Compression::Webp) | (Predictor::None, _) => 1,
        (Predictor::Auto, _) => {
            if dtype.is_float() {
                3
            } else {
                2
            }
        }
        (Predictor::Horizontal, _) => 2,
        (Predictor::Float, _) if !dtype.is_float() => {
            return Err(ConvertError::InvalidOption {
                option: "--predictor",
                reason: format!(
                    "the floating-point predictor needs float data, not {dtype} (use horizontal)"
                ),
            })
        }
        (Predictor::Float, _) => 3,
    };
    let (resampling, note) = choose_resampling(opts.resampling, opts.categorical, &src.bands);
    notes.extend(note);
    let mut nodata = Vec::with_capacity(src.bands.len());
    for b in &src.bands {
        let v = opts.nodata.or(b.nodata);
        if let Some(v) = v {
            if !dtype.holds(v) {
                return Err(ConvertError::InvalidOption {
                    option: "--nodata",
                    reason: format!(
                        "nodata {v} of band {} does not fit {dtype}; pass --nodata with a value {dtype} can hold",
                        b.index
                    ),
                });
            }
        }
        nodata.push(v);
    }
    if matches!(opts.compression, Compression::Jpeg | Compression::Webp) && dtype != DType::U8 {
        return Err(ConvertError::InvalidOption {
            option: "--compress",
            reason: format!("{} holds 8-bit data only and the input is {dtype}; pass --dtype uint8 after scaling, or use zstd", opts.compression),
        });
    }
    Ok(CogPlan {
        dtype,
        compression: opts.compression,
        level,
        predictor,
        resampling,
        nodata,
        bigtiff: opts.bigtiff,
        notes,
    })
}

/// Writes `src` as a COG at `target`.
pub fn write_cog(
    src: &RasterSource,
    target: &Path,
    opts: &CogOptions,
    progress: &dyn Progress,
) -> Result<Record> {
    let plan = plan(src, opts)?;
    if plan.compression.is_native() {
        let shape = CogShape::with_plan(src, plan, opts.blocksize)?;
        return dispatch_dtype!(
            shape.plan.dtype,
            write_native::<T>(src, &shape, target, opts.overwrite, progress)
        );
    }
    let staged = Staged::new(target, opts.overwrite)?;
    let (size, checksum, overviews) =
        gdal_driver::write_with_gdal(src, staged.path(), opts.blocksize, &plan, progress)?;
    let written = Written {
        size,
        checksum,
        overviews,
        stats: Vec::new(),
    };
    Ok(Like::of(src).record(&plan, staged.commit()?, written))
}

/// One resolution level being built.
struct Level<T> {
    width: usize,
    height: usize,
    /// Rows received but not yet encoded.
    pending: Vec<T>,
    pending_rows: usize,
    /// Framed tiles, row-major.
    tiles: Spill,
    /// Data length of each tile (without its frame).
    sizes: Vec<u32>,
}

struct Pyramid<T> {
    levels: Vec<Level<T>>,
    codec: TileCodec,
    resampling: Resampling,
    nodata: Option<T>,
    pad: T,
    /// The file being written (for messages and spill files).
    out: std::path::PathBuf,
    /// Statistics of the full-resolution pixels, per band.
    stats: Vec<StatsAcc>,
}

impl<T: Sample> Pyramid<T> {
    /// Empty levels for a COG of `shape` written at `out`; full resolution
    /// keeps up to `memory` bytes of compressed tiles in memory, each
    /// overview a quarter of that, the rest in a temporary file.
    fn new(shape: &CogShape, out: &Path, memory: usize) -> Self {
        let (l, plan, block) = (&shape.like, &shape.plan, shape.block);
        let n_ovr = levels_to_fit(l.width, l.height, block);
        let dir = out.parent().map_or_else(|| ".".into(), Path::to_path_buf);
        let (mut w, mut h) = (l.width, l.height);
        let mut levels = Vec::with_capacity(n_ovr + 1);
        for k in 0..=n_ovr {
            let limit = if k == 0 { memory } else { memory / 4 };
            levels.push(Level::<T> {
                width: w,
                height: h,
                pending: Vec::new(),
                pending_rows: 0,
                tiles: Spill::new(dir.clone(), limit),
                sizes: Vec::new(),
            });
            w = half(w);
            h = half(h);
        }
        // One nodata for all bands: TIFF has a single GDAL_NODATA tag.
        let nodata = plan.nodata.first().copied().flatten().map(T::from_f64);
        let nb = l.bands.len();
        Self {
            levels,
            codec: TileCodec {
                compression: plan.compression,
                level: plan.level,
                predictor: plan.predictor,
                block,
                bands: nb,
            },
            resampling: plan.resampling,
            nodata,
            pad: nodata.unwrap_or_default(),
            out: out.to_path_buf(),
            stats: vec![StatsAcc::default(); nb],
        }
    }

    /// Adds `rows` rows to level `k`, encoding every complete tile row.
    fn feed(&mut self, k: usize, rows: &[T], n: usize) -> Result<()> {
        let lvl = &mut self.levels[k];
        lvl.pending.extend_from_slice(rows);
        lvl.pending_rows += n;
        while self.levels[k].pending_rows >= self.codec.block {
            self.emit(k, self.codec.block)?;
        }
        Ok(())
    }

    /// Encodes the first `n` pending rows of level `k` as one tile row and
    /// passes their reduction to level `k + 1`.
    fn emit(&mut self, k: usize, n: usize) -> Result<()> {
        let nb = self.codec.bands;
        let width = self.levels[k].width;
        let rest = self.levels[k].pending.split_off(n * width * nb);
        let strip = std::mem::replace(&mut self.levels[k].pending, rest);
        self.levels[k].pending_rows -= n;
        let tiles_x = width.div_ceil(self.codec.block);
        let codec = self.codec;
        let pad = self.pad;
        let (encoded, (reduced, stats)) = rayon::join(
            || -> std::io::Result<Vec<Vec<u8>>> {
                (0..tiles_x)
                    .into_par_iter()
                    .map(|tx| encode_tile(&codec, &strip, width, n, tx, pad))
                    .collect()
            },
            || {
                rayon::join(
                    || {
                        (k + 1 < self.levels.len()).then(|| {
                            reduce_rows(&strip, width, n, nb, self.resampling, self.nodata)
                        })
                    },
                    || (k == 0).then(|| stats::interleaved(&strip, nb, self.nodata)),
                )
            },
        );
        if let Some(st) = stats {
            stats::merge_into(&mut self.stats, &st);
        }
        let encoded = encoded.map_err(|e| ConvertError::output(&self.out, e))?;
        let lvl = &mut self.levels[k];
        for t in encoded {
            lvl.sizes.push((t.len() - 8) as u32);
            lvl.tiles
                .append(t)
                .map_err(|e| ConvertError::output(&self.out, e))?;
        }
        if let Some(reduced) = reduced {
            self.feed(k + 1, &reduced, half(n))?;
        }
        Ok(())
    }

    /// Flushes partial tile rows, top level first.
    fn finish(&mut self) -> Result<()> {
        for k in 0..self.levels.len() {
            let n = self.levels[k].pending_rows;
            if n > 0 {
                self.emit(k, n)?;
            }
        }
        Ok(())
    }
}

/// GDAL's structural metadata block, which tells readers (and GDAL's own
/// validator) about the layout and the tile framing.
fn ghost_header() -> Vec<u8> {
    let body = "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n\
                BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n";
    let mut g = format!(
        "GDAL_STRUCTURAL_METADATA_SIZE={:06} bytes\n{body}",
        body.len()
    )
    .into_bytes();
    if g.len() % 2 == 1 {
        g.push(b' ');
    }
    g
}

/// Full resolution may keep 256 MiB of compressed tiles in memory, each
/// overview 64 MiB; beyond that they go to a temporary file.
const FILE_MEMORY: usize = 256 << 20;

/// Reads `src` strip by strip (one thread reading ahead) into a stream.
fn write_native<T: Sample>(
    src: &RasterSource,
    shape: &CogShape,
    target: &Path,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<Record> {
    let mut stream = CogStream::<T>::create(shape, target, overwrite, FILE_MEMORY)?;
    let block = shape.block;
    let strips = src.height.div_ceil(block);
    progress.start("cog", strips as u64);
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(Vec<T>, usize)>>(2);
        // Strip buffers go back to the reader, so their pages are faulted
        // in once rather than for every strip.
        let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<T>>();
        scope.spawn(move || {
            let ds = match src.open() {
                Ok(ds) => ds,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            for s in 0..strips {
                let y = s * block;
                let rows = block.min(src.height - y);
                let mut buf = recycle_rx.try_recv().unwrap_or_default();
                let r = read_window(&ds, src, (0, y), (src.width, rows), &mut buf)
                    .map(|()| (buf, rows));
                let failed = r.is_err();
                if tx.send(r).is_err() || failed {
                    return;
                }
            }
        });
        for msg in rx {
            let (buf, rows) = msg?;
            stream.push_rows(&buf, rows)?;
            let _ = recycle_tx.send(buf);
            progress.advance(1);
        }
        Ok(())
    })?;
    let record = stream.finish()?;
    progress.finish();
    Ok(record)
}

/// What the layout step reports back.
struct Written {
    size: u64,
    checksum: String,
    overviews: usize,
    /// Per band; empty when the writer did not gather statistics.
    stats: Vec<Option<BandStatistics>>,
}

/// Structural tags of one level; offsets are filled in by the caller.
fn level_tags<T>(
    lvl: &Level<T>,
    overview: bool,
    template: &[Tag],
    plan: &CogPlan,
    block: usize,
    nb: usize,
    offsets: Tag,
) -> Vec<Tag> {
    let bits = (plan.dtype.size() * 8) as u16;
    let mut tags = vec![
        Tag::longs(256, &[lvl.width as u32]),
        Tag::longs(257, &[lvl.height as u32]),
        Tag::shorts(258, &vec![bits; nb]),
        Tag::shorts(259, &[tiff_compression_code(plan.compression)]),
        Tag::shorts(277, &[nb as u16]),
        Tag::shorts(284, &[1]),
        Tag::longs(322, &[block as u32]),
        Tag::longs(323, &[block as u32]),
        offsets,
        Tag::longs(325, &lvl.sizes),
        Tag::shorts(339, &vec![plan.dtype.tiff_sample_format(); nb]),
    ];
    if overview {
        tags.push(Tag::longs(254, &[1]));
    }
    if plan.predictor != 1 {
        tags.push(Tag::shorts(317, &[plan.predictor]));
    }
    for t in template {
        if !overview || template::OVERVIEW_COPIED.contains(&t.code) {
            tags.push(t.clone());
        }
    }
    if !tags.iter().any(|t| t.code == 262) {
        tags.push(Tag::shorts(262, &[1]));
    }
    tags.sort_by_key(|t| t.code);
    tags
}

fn offsets_tag(offsets: &[u64], flavor: Flavor) -> Tag {
    match flavor {
        Flavor::Classic => Tag::longs(324, &offsets.iter().map(|&o| o as u32).collect::<Vec<_>>()),
        Flavor::Big => Tag::long8s(324, offsets),
    }
}

/// Lays out and writes the final file; returns (size, checksum, overview count).
fn assemble<T>(
    out: &Path,
    levels: &mut [Level<T>],
    template: &[Tag],
    plan: &CogPlan,
    block: usize,
    nb: usize,
) -> Result<(u64, String, usize)> {
    let ghost = ghost_header();
    let data_total: u64 = levels.iter().map(|l| l.tiles.len()).sum();
    // Classic TIFF unless offsets could pass 4 GiB; IFDs are small next to data.
    let ifd_guess: u64 = levels
        .iter()
        .map(|l| l.sizes.len() as u64 * 16 + 4096)
        .sum();
    let needs_big = data_total + ifd_guess + ghost.len() as u64 + 16 >= u64::from(u32::MAX);
    let flavor = match plan.bigtiff {
        Some(true) => Flavor::Big,
        Some(false) if needs_big => {
            return Err(ConvertError::InvalidOption {
                option: "--bigtiff",
                reason: format!("the output needs {data_total} bytes, more than classic TIFF can address; drop --bigtiff no"),
            })
        }
        _ if needs_big => Flavor::Big,
        _ => Flavor::Classic,
    };
    // IFD sizes depend only on counts, so place IFDs with dummy offsets first.
    let dummy = |l: &Level<T>| offsets_tag(&vec![0; l.sizes.len()], flavor);
    let mut ifd_pos = Vec::with_capacity(levels.len());
    let mut pos = flavor.header_len() + ghost.len() as u64;
    for (k, l) in levels.iter().enumerate() {
        ifd_pos.push(pos);
        pos += ifd_len(
            &level_tags(l, k > 0, template, plan, block, nb, dummy(l)),
            flavor,
        );
    }
    // Data: smallest overview first, full resolution last.
    let mut level_offsets = vec![Vec::new(); levels.len()];
    for k in (0..levels.len()).rev() {
        let mut p = pos;
        for &s in &levels[k].sizes {
            level_offsets[k].push(p + 4);
            p += u64::from(s) + 8;
        }
        pos = p;
    }
    let mut head = flavor.header(ifd_pos[0]);
    head.extend_from_slice(&ghost);
    for (k, l) in levels.iter().enumerate() {
        let tags = level_tags(
            l,
            k > 0,
            template,
            plan,
            block,
            nb,
            offsets_tag(&level_offsets[k], flavor),
        );
        let next = ifd_pos.get(k + 1).copied().unwrap_or(0);
        head.extend_from_slice(&write_ifd(&tags, ifd_pos[k], next, flavor));
    }
    let (size, checksum) = if levels.iter().all(|l| l.tiles.chunks().is_some()) {
        write_parallel(out, &head, levels)?
    } else {
        write_sequential(out, &head, levels)?
    };
    debug_assert_eq!(size, pos);
    Ok((size, checksum, levels.len() - 1))
}

/// Writes a file whose tiles are all in memory, while another thread hashes
/// the same bytes in file order. (Writes to one file serialise on its inode
/// lock, so one writer is as fast as several.) No fsync: the rename makes the output appear whole
/// to every reader; surviving power loss is left to the filesystem, as
/// GDAL does.
fn write_parallel<T>(out: &Path, head: &[u8], levels: &[Level<T>]) -> Result<(u64, String)> {
    use std::os::unix::fs::FileExt;
    let io = |e: std::io::Error| ConvertError::output(out, e);
    let file = std::fs::File::create(out).map_err(io)?;
    // Data in file order: smallest overview first.
    let mut pieces: Vec<(u64, &[u8])> = vec![(0, head)];
    let mut pos = head.len() as u64;
    for l in levels.iter().rev() {
        for c in l.tiles.chunks().expect("checked by the caller") {
            pieces.push((pos, c));
            pos += c.len() as u64;
        }
    }
    let (written, checksum) = rayon::join(
        || {
            pieces
                .iter()
                .try_for_each(|(at, bytes)| file.write_all_at(bytes, *at))
        },
        || {
            let mut h = sha2::Sha256::new();
            for (_, bytes) in &pieces {
                sha2::Digest::update(&mut h, bytes);
            }
            arco_core::multihash_sha256_hex(h)
        },
    );
    written.map_err(io)?;
    Ok((pos, checksum))
}

/// Writes a file some of whose tiles were spilled to disk, in one pass.
fn write_sequential<T>(out: &Path, head: &[u8], levels: &mut [Level<T>]) -> Result<(u64, String)> {
    let io = |e: std::io::Error| ConvertError::output(out, e);
    let file = std::fs::File::create(out).map_err(io)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    w.write_all(head).map_err(io)?;
    for l in levels.iter_mut().rev() {
        l.tiles.copy_to(&mut w).map_err(io)?;
    }
    let (buf, size, checksum) = w.finish().map_err(io)?;
    buf.into_inner()
        .map_err(|e| ConvertError::output(out, e.error().to_string()))?;
    Ok((size, checksum))
}
