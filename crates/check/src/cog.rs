//! COG layout check: the rules of GDAL's `validate_cloud_optimized_geotiff`,
//! read from the TIFF structure directly (no GDAL), so that a header read is
//! enough and the same code checks a local file or a ranged remote read.
//!
//! Rules: the image is tiled when larger than 512 px; overviews are tiled
//! and get smaller; IFDs come first, in order (main image, then overviews
//! from largest to smallest); tile data follows the IFDs, smallest overview
//! first and full resolution last. When GDAL's structural metadata (the
//! "ghost header") promises row-major blocks, size leaders or repeated
//! trailers, every block is checked against the promise.

use crate::bytes::Bytes;
use std::io;

/// One image file directory, the parts the rules need.
#[derive(Debug, Clone, Default)]
pub struct Ifd {
    /// Where it starts.
    pub offset: u64,
    /// `NewSubfileType`: 0 image, 1 reduced resolution, 4/5 mask.
    pub subfile_type: u32,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Tile size when tiled.
    pub tile: Option<(u64, u64)>,
    /// Offsets of the tiles (or strips).
    pub offsets: Vec<u64>,
    /// Byte counts of the tiles (or strips).
    pub byte_counts: Vec<u64>,
    /// Bits per sample (of the first sample).
    pub bits: u64,
    /// Samples per pixel.
    pub samples: u64,
    /// Sample format: 1 unsigned, 2 signed, 3 float.
    pub sample_format: u64,
    /// GeoTIFF `ModelPixelScale`.
    pub pixel_scale: Vec<f64>,
    /// GeoTIFF `ModelTiepoint`.
    pub tiepoint: Vec<f64>,
    /// GeoTIFF `ModelTransformation`.
    pub transformation: Vec<f64>,
    /// GeoTIFF `GeoKeyDirectory`.
    pub geokeys: Vec<u64>,
    /// GDAL's nodata tag, as written.
    pub nodata: Option<String>,
}

/// The structure of a TIFF file.
#[derive(Debug, Clone, Default)]
pub struct TiffLayout {
    /// BigTIFF rather than classic.
    pub bigtiff: bool,
    /// Little-endian byte order.
    pub little_endian: bool,
    /// Every IFD in file order of the chain.
    pub ifds: Vec<Ifd>,
    /// Text of GDAL's structural metadata block, when there is one.
    pub ghost: Option<String>,
    /// Where the first IFD must start: right after the header, or after the
    /// structural metadata (on a 2-byte boundary).
    pub expected_ifd: u64,
}

struct Reader<'a> {
    b: &'a Bytes,
    le: bool,
}

impl Reader<'_> {
    fn u16_at(&self, d: &[u8]) -> u16 {
        let a = [d[0], d[1]];
        if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn u32_at(&self, d: &[u8]) -> u32 {
        let a = [d[0], d[1], d[2], d[3]];
        if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }
    fn u64_at(&self, d: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&d[..8]);
        if self.le {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Parses the header and every IFD of a TIFF.
pub fn read_layout(b: &Bytes) -> io::Result<TiffLayout> {
    let head = b.read(0, 16.min(b.len() as usize))?;
    if head.len() < 8 {
        return Err(bad("too short to be a TIFF"));
    }
    let le = match &head[..2] {
        b"II" => true,
        b"MM" => false,
        _ => return Err(bad("not a TIFF file (no II/MM byte-order mark)")),
    };
    let r = Reader { b, le };
    let magic = r.u16_at(&head[2..4]);
    let (bigtiff, mut next, header_len) = match magic {
        42 => (false, u64::from(r.u32_at(&head[4..8])), 8u64),
        43 if head.len() >= 16 => (true, r.u64_at(&head[8..16]), 16),
        _ => return Err(bad(format!("not a TIFF file (magic number {magic})"))),
    };
    let ghost = read_ghost(b, header_len);
    let expected_ifd = match &ghost {
        Some((_, len)) => {
            let e = header_len + len;
            e + e % 2
        }
        None => header_len,
    };
    let ghost = ghost.map(|(g, _)| g);
    let (count_len, entry_len, next_len) = if bigtiff { (8, 20, 8) } else { (2, 12, 4) };
    let mut ifds = Vec::new();
    while next != 0 {
        if ifds.len() > 64 || ifds.iter().any(|i: &Ifd| i.offset == next) {
            return Err(bad("the IFD chain loops or is implausibly long"));
        }
        let c = b.read(next, count_len)?;
        let n = if bigtiff {
            r.u64_at(&c)
        } else {
            u64::from(r.u16_at(&c))
        };
        if n > 4096 {
            return Err(bad(format!("IFD at {next} claims {n} entries")));
        }
        let body = b.read(next + count_len as u64, n as usize * entry_len + next_len)?;
        let mut ifd = Ifd {
            offset: next,
            ..Ifd::default()
        };
        let (mut tw, mut th) = (None, None);
        let (mut tile_off, mut tile_cnt, mut strip_off, mut strip_cnt) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for e in body[..n as usize * entry_len].chunks_exact(entry_len) {
            let tag = r.u16_at(&e[0..2]);
            match tag {
                33550 | 33922 | 34264 => {
                    let v = read_doubles(&r, e, bigtiff)?;
                    match tag {
                        33550 => ifd.pixel_scale = v,
                        33922 => ifd.tiepoint = v,
                        _ => ifd.transformation = v,
                    }
                    continue;
                }
                42113 => {
                    let (_, _, raw) = raw_field(&r, e, bigtiff)?;
                    let text = String::from_utf8_lossy(&raw);
                    ifd.nodata = Some(text.trim_end_matches('\0').trim().to_string());
                    continue;
                }
                254 | 256 | 257 | 258 | 273 | 277 | 279 | 322 | 323 | 324 | 325 | 339 | 34735 => {}
                _ => continue,
            }
            let vals = read_values(&r, e, bigtiff)?;
            let first = vals.first().copied().unwrap_or(0);
            match tag {
                258 => ifd.bits = first,
                277 => ifd.samples = first,
                339 => ifd.sample_format = first,
                34735 => ifd.geokeys = vals,
                254 => ifd.subfile_type = first as u32,
                256 => ifd.width = first,
                257 => ifd.height = first,
                273 => strip_off = vals,
                279 => strip_cnt = vals,
                322 => tw = Some(first),
                323 => th = Some(first),
                324 => tile_off = vals,
                _ => tile_cnt = vals,
            }
        }
        if let (Some(w), Some(h)) = (tw, th) {
            ifd.tile = Some((w, h));
            ifd.offsets = tile_off;
            ifd.byte_counts = tile_cnt;
        } else {
            ifd.offsets = strip_off;
            ifd.byte_counts = strip_cnt;
        }
        let tail = &body[n as usize * entry_len..];
        next = if bigtiff {
            r.u64_at(tail)
        } else {
            u64::from(r.u32_at(tail))
        };
        ifds.push(ifd);
    }
    if ifds.is_empty() {
        return Err(bad("no image in the TIFF"));
    }
    Ok(TiffLayout {
        bigtiff,
        little_endian: le,
        ifds,
        ghost,
        expected_ifd,
    })
}

/// The type, count and bytes of one entry, inline or at its offset.
fn raw_field(r: &Reader, e: &[u8], bigtiff: bool) -> io::Result<(u16, u64, Vec<u8>)> {
    let typ = r.u16_at(&e[2..4]);
    let size = match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return Ok((typ, 0, Vec::new())),
    };
    let (count, field) = if bigtiff {
        (r.u64_at(&e[4..12]), &e[12..20])
    } else {
        (u64::from(r.u32_at(&e[4..8])), &e[8..12])
    };
    if count > (1 << 28) {
        return Err(bad(format!("a tag claims {count} values")));
    }
    let total = count as usize * size;
    let data = if total <= field.len() {
        field[..total].to_vec()
    } else {
        let at = if bigtiff {
            r.u64_at(field)
        } else {
            u64::from(r.u32_at(field))
        };
        r.b.read(at, total)?
    };
    Ok((typ, count, data))
}

/// Values of one DOUBLE entry.
fn read_doubles(r: &Reader, e: &[u8], bigtiff: bool) -> io::Result<Vec<f64>> {
    let (typ, _, data) = raw_field(r, e, bigtiff)?;
    if typ != 12 {
        return Ok(Vec::new());
    }
    Ok(data
        .chunks_exact(8)
        .map(|d| f64::from_bits(r.u64_at(d)))
        .collect())
}

/// Values of one SHORT/LONG/LONG8 entry, inline or at its offset.
fn read_values(r: &Reader, e: &[u8], bigtiff: bool) -> io::Result<Vec<u64>> {
    let (typ, _, data) = raw_field(r, e, bigtiff)?;
    let size = match typ {
        3 => 2,
        4 | 13 => 4,
        16 | 18 => 8,
        _ => return Ok(Vec::new()),
    };
    Ok(data
        .chunks_exact(size)
        .map(|d| match size {
            2 => u64::from(r.u16_at(d)),
            4 => u64::from(r.u32_at(d)),
            _ => r.u64_at(d),
        })
        .collect())
}

/// GDAL's structural metadata right after the header, when present, with
/// its length in bytes (the size line included).
fn read_ghost(b: &Bytes, at: u64) -> Option<(String, u64)> {
    const KEY: &str = "GDAL_STRUCTURAL_METADATA_SIZE=";
    let head = b.read(at, KEY.len() + 6).ok()?;
    if !head.starts_with(KEY.as_bytes()) {
        return None;
    }
    let n: usize = std::str::from_utf8(&head[KEY.len()..])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let line = KEY.len() + 6 + " bytes\n".len();
    let body = b.read(at + line as u64, n.min(4096)).ok()?;
    Some((
        String::from_utf8_lossy(&body).into_owned(),
        (line + n) as u64,
    ))
}

/// A rule broken, in the words of GDAL's validator where it has words.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// True for errors (GDAL's validator fails), false for warnings.
    pub error: bool,
    /// What is wrong.
    pub message: String,
}

fn err(v: &mut Vec<Violation>, m: String) {
    v.push(Violation {
        error: true,
        message: m,
    });
}

/// Checks a COG's layout. `full` also checks every block's position, leader
/// and trailer (which reads 8 bytes around each block).
pub fn check(b: &Bytes, full: bool) -> io::Result<Vec<Violation>> {
    check_layout(b, &read_layout(b)?, full)
}

/// [`check`] on a layout already parsed from `b`.
pub fn check_layout(b: &Bytes, layout: &TiffLayout, full: bool) -> io::Result<Vec<Violation>> {
    let mut v = Vec::new();
    // Masks (subfile type 4/5) are not overviews of the image.
    let images: Vec<&Ifd> = layout
        .ifds
        .iter()
        .filter(|i| i.subfile_type & 4 == 0)
        .collect();
    let Some(&main) = images.first() else {
        return Err(bad("the TIFF holds only masks, no image"));
    };
    // GDAL's validator only fails strips above 512 px; a striped file is no
    // COG at any size (a reader cannot fetch a tile), so arco fails it always.
    if main.tile.is_none() {
        err(
            &mut v,
            format!(
                "the {}x{} image is stored in strips, not tiles: a plain GeoTIFF, not a COG",
                main.width, main.height
            ),
        );
    }
    if layout
        .ghost
        .as_deref()
        .is_some_and(|g| g.contains("KNOWN_INCOMPATIBLE_EDITION=YES"))
    {
        err(
            &mut v,
            "KNOWN_INCOMPATIBLE_EDITION=YES is declared in the file: it was edited after being written as a COG".into(),
        );
    }
    let ovrs = &images[1..];
    if ovrs.is_empty() && (main.width > 512 || main.height > 512) {
        v.push(Violation {
            error: false,
            message: format!(
                "the image is {}x{} pixels and has no internal overviews",
                main.width, main.height
            ),
        });
    }
    if main.offset != layout.expected_ifd {
        err(
            &mut v,
            format!(
                "the main IFD is at byte {}; it should be at byte {}, right after the header",
                main.offset, layout.expected_ifd
            ),
        );
    }
    let mut prev = main;
    for (i, o) in ovrs.iter().enumerate() {
        if o.width > prev.width || o.height > prev.height {
            err(
                &mut v,
                format!(
                    "overview {i} ({}x{}) is larger than the level above it ({}x{})",
                    o.width, o.height, prev.width, prev.height
                ),
            );
        }
        if o.tile.is_none() {
            err(&mut v, format!("overview {i} is not tiled"));
        }
        if o.offset < prev.offset {
            err(
                &mut v,
                format!(
                    "the IFD of overview {i} is at byte {}, before the IFD of the level above it (byte {})",
                    o.offset, prev.offset
                ),
            );
        }
        prev = o;
    }
    // Data: smallest overview first, full resolution last, all after the IFDs.
    // The first block that has data (sparse files leave some at offset 0).
    let first_block = |i: &Ifd| {
        i.offsets
            .iter()
            .zip(&i.byte_counts)
            .find(|(&o, &n)| o != 0 && n != 0)
            .map_or(0, |(&o, _)| o)
    };
    let levels: Vec<&Ifd> = std::iter::once(main).chain(ovrs.iter().copied()).collect();
    let last = levels[levels.len() - 1];
    let last_ifd = last.offset;
    if first_block(last) != 0 && first_block(last) < last_ifd {
        err(
            &mut v,
            format!(
                "tile data starts at byte {} before the last IFD (byte {last_ifd}): the IFDs are not all at the start",
                first_block(last)
            ),
        );
    }
    for k in (0..levels.len() - 1).rev() {
        let (a, b2) = (first_block(levels[k]), first_block(levels[k + 1]));
        if a != 0 && b2 != 0 && a < b2 {
            let what = if k == 0 {
                "full resolution".to_string()
            } else {
                format!("overview {}", k - 1)
            };
            err(
                &mut v,
                format!("the data of {what} comes before the data of overview {k}; smaller levels must come first"),
            );
        }
    }
    for (k, lvl) in levels.iter().enumerate() {
        if lvl.offsets.len() != lvl.byte_counts.len() || lvl.offsets.is_empty() {
            err(
                &mut v,
                format!(
                    "level {k} has {} block offsets and {} byte counts",
                    lvl.offsets.len(),
                    lvl.byte_counts.len()
                ),
            );
            continue;
        }
        if let Some((bad_i, end)) = lvl
            .offsets
            .iter()
            .zip(&lvl.byte_counts)
            .enumerate()
            .find(|(_, (&o, &n))| o.saturating_add(n) > b.len())
            .map(|(i, (&o, &n))| (i, o + n))
        {
            err(
                &mut v,
                format!("block {bad_i} of level {k} ends at byte {end}, past the end of the file ({} bytes): the file is truncated", b.len()),
            );
        }
    }
    if full {
        if let Some(g) = &layout.ghost {
            check_blocks(b, layout, &levels, g, &mut v)?;
        }
    }
    Ok(v)
}

/// The promises of the ghost header, block by block.
fn check_blocks(
    b: &Bytes,
    layout: &TiffLayout,
    levels: &[&Ifd],
    ghost: &str,
    v: &mut Vec<Violation>,
) -> io::Result<()> {
    let row_major = ghost.contains("BLOCK_ORDER=ROW_MAJOR");
    let leader = ghost.contains("BLOCK_LEADER=SIZE_AS_UINT4");
    let trailer = ghost.contains("BLOCK_TRAILER=LAST_4_BYTES_REPEATED");
    let r = Reader {
        b,
        le: layout.little_endian,
    };
    for (k, lvl) in levels.iter().enumerate() {
        let mut last_end = 0u64;
        for (i, (&o, &n)) in lvl.offsets.iter().zip(&lvl.byte_counts).enumerate() {
            if n == 0 {
                continue;
            }
            if row_major && o < last_end {
                err(
                    v,
                    format!(
                        "block {i} of level {k} is not in row-major order after the previous block"
                    ),
                );
                return Ok(());
            }
            last_end = o + n;
            if leader {
                let l = b.read(o.saturating_sub(4), 4)?;
                if o < 4 || u64::from(r.u32_at(&l)) != n {
                    err(v, format!("block {i} of level {k}: the size leader does not match its byte count {n}"));
                    return Ok(());
                }
            }
            if trailer && n >= 4 {
                let t = b.read(o + n - 4, 8)?;
                if t[..4] != t[4..] {
                    err(v, format!("block {i} of level {k}: the trailer does not repeat the block's last 4 bytes"));
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian classic TIFF with the given IFDs (each: width,
    /// height, tiled, one block of `data` bytes), laid out in `order`.
    fn tiff(levels: &[(u32, u32, bool)], ghost: bool, data_first_is_main: bool) -> Vec<u8> {
        let mut f = b"II*\0\0\0\0\0".to_vec();
        if ghost {
            let body = "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\n";
            f.extend(
                format!(
                    "GDAL_STRUCTURAL_METADATA_SIZE={:06} bytes\n{body}",
                    body.len()
                )
                .bytes(),
            );
            if f.len() % 2 == 1 {
                f.push(b' ');
            }
        }
        // IFDs with 7 entries, then the data.
        let ifd_len = 2 + 7 * 12 + 4;
        let first_ifd = f.len();
        let data_start = first_ifd + levels.len() * ifd_len;
        // Block k: leader(4) + 8 bytes, ending with repeated trailer.
        let block = |k: usize| -> Vec<u8> {
            let d = [k as u8, 1, 2, 3, 9, 9, 9, 9];
            let mut v = (d.len() as u32).to_le_bytes().to_vec();
            v.extend(d);
            v.extend([9, 9, 9, 9]);
            v
        };
        let order: Vec<usize> = if data_first_is_main {
            (0..levels.len()).collect()
        } else {
            (0..levels.len()).rev().collect()
        };
        let mut offsets = vec![0u32; levels.len()];
        let mut pos = data_start;
        for &k in &order {
            offsets[k] = (pos + 4) as u32;
            pos += 16;
        }
        f[4..8].copy_from_slice(&(first_ifd as u32).to_le_bytes());
        for (k, &(w, h, tiled)) in levels.iter().enumerate() {
            let mut e: Vec<(u16, u16, u32)> =
                vec![(254, 4, u32::from(k > 0)), (256, 4, w), (257, 4, h)];
            if tiled {
                e.extend([
                    (322, 4, 256),
                    (323, 4, 256),
                    (324, 4, offsets[k]),
                    (325, 4, 8),
                ]);
            } else {
                e.extend([(273, 4, offsets[k]), (277, 3, 1), (278, 4, h), (279, 4, 8)]);
            }
            f.extend(7u16.to_le_bytes());
            for (tag, typ, val) in e {
                f.extend(tag.to_le_bytes());
                f.extend(typ.to_le_bytes());
                f.extend(1u32.to_le_bytes());
                f.extend(val.to_le_bytes());
            }
            let next = if k + 1 < levels.len() {
                first_ifd + (k + 1) * ifd_len
            } else {
                0
            };
            f.extend((next as u32).to_le_bytes());
        }
        for &k in &order {
            f.extend(block(k));
        }
        f
    }

    fn with_counts(layout_bytes: Vec<u8>) -> Bytes {
        Bytes::Mem(layout_bytes)
    }

    #[test]
    fn parses_levels_and_the_ghost_header() {
        let b = with_counts(tiff(&[(1024, 1024, true), (512, 512, true)], true, false));
        let l = read_layout(&b).unwrap();
        assert!(!l.bigtiff && l.little_endian);
        assert_eq!(l.ifds.len(), 2);
        assert_eq!((l.ifds[0].width, l.ifds[1].width), (1024, 512));
        assert_eq!(l.ifds[1].subfile_type, 1);
        assert!(l.ghost.unwrap().contains("BLOCK_ORDER=ROW_MAJOR"));
    }

    #[test]
    fn gdal_layout_passes_even_the_full_check() {
        let b = with_counts(tiff(&[(1024, 1024, true), (512, 512, true)], true, false));
        assert_eq!(check(&b, true).unwrap(), []);
        // A broken trailer is caught by the full check only.
        let Bytes::Mem(mut raw) = b else {
            unreachable!()
        };
        let n = raw.len();
        raw[n - 1] ^= 0xff;
        let b = Bytes::Mem(raw);
        assert_eq!(check(&b, false).unwrap(), []);
        let v = check(&b, true).unwrap();
        assert!(v.iter().any(|x| x.message.contains("trailer")), "{v:?}");
    }

    #[test]
    fn striped_large_image_and_wrong_data_order_are_errors() {
        let b = with_counts(tiff(&[(1024, 1024, false)], false, true));
        let v = check(&b, true).unwrap();
        assert!(
            v.iter()
                .any(|x| x.error && x.message.contains("stored in strips")),
            "{v:?}"
        );

        let b = with_counts(tiff(&[(1024, 1024, true), (512, 512, true)], true, true));
        let v = check(&b, false).unwrap();
        assert!(
            v.iter()
                .any(|x| x.error && x.message.contains("smaller levels must come first")),
            "{v:?}"
        );
    }

    #[test]
    fn not_a_tiff_is_an_io_error() {
        let b = Bytes::Mem(b"PK\x03\x04 not a tiff".to_vec());
        let e = check(&b, false).unwrap_err();
        assert!(e.to_string().contains("not a TIFF"), "{e}");
    }
}
