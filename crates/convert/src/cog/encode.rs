//! Tile encoding: padding to a full tile, TIFF predictors and compression,
//! framed with GDAL's block leader (size) and trailer (last 4 bytes).

use crate::dtype::Sample;
use crate::options::Compression;
use std::cell::RefCell;
use std::io::Write;

/// TIFF compression tag values.
pub fn tiff_compression_code(c: Compression) -> u16 {
    match c {
        Compression::None => 1,
        Compression::Lzw => 5,
        Compression::Jpeg => 7,
        Compression::Deflate => 8,
        Compression::Zstd => 50000,
        Compression::Webp => 50001,
    }
}

/// How tiles of one image are encoded.
#[derive(Debug, Clone, Copy)]
pub struct TileCodec {
    /// Compression.
    pub compression: Compression,
    /// Level (zstd 1-22, deflate 1-9).
    pub level: i32,
    /// TIFF predictor: 1 none, 2 horizontal, 3 floating point.
    pub predictor: u16,
    /// Tile edge in pixels.
    pub block: usize,
    /// Interleaved bands.
    pub bands: usize,
}

/// Horizontal differencing (predictor 2) over one row of samples seen as
/// unsigned integers of their width, `stride` samples apart. TIFF defines it
/// on the bits, so floats and signed types difference the same way.
fn horizontal_diff<U: Copy + WrappingSub>(row: &mut [U], stride: usize) {
    for i in (stride..row.len()).rev() {
        row[i] = row[i].wrapping_sub_(row[i - stride]);
    }
}

/// Wrapping subtraction, for the predictor's unsigned views.
trait WrappingSub {
    fn wrapping_sub_(self, other: Self) -> Self;
}

macro_rules! wrapping_sub {
    ($($t:ty),*) => {$(
        impl WrappingSub for $t {
            #[inline]
            fn wrapping_sub_(self, other: Self) -> Self {
                self.wrapping_sub(other)
            }
        }
    )*};
}
wrapping_sub!(u8, u16, u32, u64);

/// Floating-point predictor (predictor 3): bytes of each row regrouped by
/// significance, most significant first, then byte-wise differencing.
fn float_diff(row: &mut [u8], size: usize, stride: usize, scratch: &mut Vec<u8>) {
    let n = row.len() / size;
    scratch.clear();
    scratch.extend_from_slice(row);
    for i in 0..n {
        for b in 0..size {
            // Little-endian source: byte `b` has significance `b`, so it
            // goes to plane `size - 1 - b`.
            row[(size - 1 - b) * n + i] = scratch[i * size + b];
        }
    }
    horizontal_diff(row, stride);
}

thread_local! {
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
}

fn compress(codec: &TileCodec, raw: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    match codec.compression {
        Compression::None => out.extend_from_slice(raw),
        Compression::Zstd => ZSTD.with(|cell| -> std::io::Result<()> {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(l, _)| *l != codec.level) {
                *slot = Some((codec.level, zstd::bulk::Compressor::new(codec.level)?));
            }
            let (_, c) = slot.as_mut().expect("set above");
            let start = out.len();
            out.resize(start + zstd::zstd_safe::compress_bound(raw.len()), 0);
            let n = c.compress_to_buffer(raw, &mut out[start..])?;
            out.truncate(start + n);
            Ok(())
        })?,
        Compression::Deflate => {
            let mut enc = flate2::write::ZlibEncoder::new(
                std::mem::take(out),
                flate2::Compression::new(codec.level as u32),
            );
            enc.write_all(raw)?;
            *out = enc.finish()?;
        }
        Compression::Lzw => {
            let mut enc = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
            let data = enc.encode(raw).map_err(std::io::Error::other)?;
            out.extend_from_slice(&data);
        }
        Compression::Jpeg | Compression::Webp => {
            return Err(std::io::Error::other(
                "jpeg and webp tiles are written by GDAL",
            ));
        }
    }
    Ok(())
}

thread_local! {
    /// Per-thread tile buffer, u64 so that every sample type can view it.
    static TILE: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// Per-thread compression output buffer.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Applies the predictor to every `row_len`-sample row of `buf`.
fn predict(
    buf: &mut [u64],
    samples: usize,
    size: usize,
    row_len: usize,
    nb: usize,
    predictor: u16,
) {
    macro_rules! rows {
        ($t:ty) => {{
            let view: &mut [$t] = &mut bytemuck::cast_slice_mut::<u64, $t>(buf)[..samples];
            for row in view.chunks_exact_mut(row_len) {
                horizontal_diff(row, nb);
            }
        }};
    }
    match (predictor, size) {
        (2, 1) => rows!(u8),
        (2, 2) => rows!(u16),
        (2, 4) => rows!(u32),
        (2, _) => rows!(u64),
        (3, _) => {
            let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(buf)[..samples * size];
            let mut scratch = Vec::with_capacity(row_len * size);
            for row in bytes.chunks_exact_mut(row_len * size) {
                float_diff(row, size, nb, &mut scratch);
            }
        }
        _ => {}
    }
}

/// Encodes the tile at column `tx` of a strip of `rows` rows and `width`
/// pixels. Pixels beyond the image are `pad`. Returns the framed tile:
/// 4-byte size leader, data, last 4 data bytes repeated.
pub fn encode_tile<T: Sample>(
    codec: &TileCodec,
    strip: &[T],
    width: usize,
    rows: usize,
    tx: usize,
    pad: T,
) -> std::io::Result<Vec<u8>> {
    let (bs, nb) = (codec.block, codec.bands);
    let size = T::DTYPE.size();
    let x0 = tx * bs;
    let w = bs.min(width - x0);
    let row_len = bs * nb;
    let samples = row_len * bs;
    TILE.with(|cell| {
        let mut buf = cell.borrow_mut();
        let words = (samples * size).div_ceil(8);
        if buf.len() < words {
            buf.resize(words, 0);
        }
        {
            let tile: &mut [T] = &mut bytemuck::cast_slice_mut::<u64, T>(&mut buf)[..samples];
            for (y, row) in tile.chunks_exact_mut(row_len).enumerate() {
                if y < rows {
                    let src = &strip[(y * width + x0) * nb..(y * width + x0 + w) * nb];
                    row[..w * nb].copy_from_slice(src);
                    row[w * nb..].fill(pad);
                } else {
                    row.fill(pad);
                }
            }
        }
        predict(&mut buf, samples, size, row_len, nb, codec.predictor);
        let raw = &bytemuck::cast_slice::<u64, u8>(&buf)[..samples * size];
        // Compress into a reused per-thread buffer, then keep an exact-size
        // copy: a tile kept with its worst-case capacity would hold ~256 KiB
        // for a few bytes of compressed nodata, and a whole image of such
        // tiles would not fit in RAM.
        OUT.with(|cell| {
            let mut scratch = cell.borrow_mut();
            scratch.clear();
            compress(codec, raw, &mut scratch)?;
            let data_len = scratch.len();
            let mut out = Vec::with_capacity(data_len + 8);
            out.extend_from_slice(&(data_len as u32).to_le_bytes());
            out.extend_from_slice(&scratch);
            let tail: [u8; 4] = if data_len >= 4 {
                scratch[data_len - 4..].try_into().expect("4 bytes")
            } else {
                [0; 4]
            };
            out.extend_from_slice(&tail);
            Ok(out)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizontal_diff_u16_with_interleaved_bands() {
        let mut row: [u16; 6] = [10, 100, 12, 90, 15, 95];
        horizontal_diff(&mut row, 2);
        assert_eq!(row, [10, 100, 2, 65526, 3, 5]);
    }

    #[test]
    fn float_predictor_regroups_bytes_msb_first() {
        let vals = [1.0f32, 2.0];
        let mut row: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut scratch = Vec::new();
        float_diff(&mut row, 4, 1, &mut scratch);
        // 1.0 = 3f800000, 2.0 = 40000000: planes [3f 40][80 00][00 00][00 00],
        // then byte differences.
        assert_eq!(row, vec![0x3f, 0x01, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn compressed_tile_holds_no_spare_capacity() {
        // Regression: tiles kept with their worst-case capacity made a
        // 28.8 GB all-nodata image need more than 24 GiB of RAM.
        let codec = TileCodec {
            compression: Compression::Zstd,
            level: 1,
            predictor: 2,
            block: 512,
            bands: 1,
        };
        let strip = vec![0u16; 512 * 512];
        let t = encode_tile(&codec, &strip, 512, 512, 0, 0u16).unwrap();
        assert!(t.len() < 200, "{}", t.len());
        assert!(
            t.capacity() <= t.len() + 8,
            "capacity {} for {} bytes",
            t.capacity(),
            t.len()
        );
    }

    #[test]
    fn tile_is_framed_with_leader_and_trailer() {
        let codec = TileCodec {
            compression: Compression::Zstd,
            level: 1,
            predictor: 2,
            block: 16,
            bands: 1,
        };
        let strip: Vec<u16> = (0..20 * 3).collect();
        let t = encode_tile(&codec, &strip, 20, 3, 1, 0u16).unwrap();
        let n = u32::from_le_bytes(t[..4].try_into().unwrap()) as usize;
        assert_eq!(t.len(), n + 8);
        assert_eq!(t[n..n + 4], t[n + 4..]);
        let raw = zstd::bulk::decompress(&t[4..4 + n], 16 * 16 * 2).unwrap();
        assert_eq!(raw.len(), 16 * 16 * 2);
        // First row: tile starts at x=16, values 16..20 then zero padding, differenced.
        assert_eq!(u16::from_le_bytes([raw[0], raw[1]]), 16);
        assert_eq!(u16::from_le_bytes([raw[2], raw[3]]), 1);
    }
}
