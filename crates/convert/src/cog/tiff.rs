//! Just enough TIFF to lay out a COG: tags, IFD serialisation (classic and
//! BigTIFF, little-endian) and reading the tags of a small template file.

/// TIFF field types used here.
pub mod ftype {
    /// 8-bit unsigned.
    pub const BYTE: u16 = 1;
    /// NUL-terminated text.
    pub const ASCII: u16 = 2;
    /// 16-bit unsigned.
    pub const SHORT: u16 = 3;
    /// 32-bit unsigned.
    pub const LONG: u16 = 4;
    /// 64-bit unsigned (BigTIFF).
    pub const LONG8: u16 = 16;
}

/// Bytes per value of a TIFF field type.
pub fn type_size(t: u16) -> usize {
    match t {
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16..=18 => 8,
        _ => 1,
    }
}

/// A tag with its values as little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Tag number.
    pub code: u16,
    /// Field type.
    pub ftype: u16,
    /// Number of values.
    pub count: u64,
    /// Values, little-endian.
    pub data: Vec<u8>,
}

impl Tag {
    /// SHORT values.
    pub fn shorts(code: u16, v: &[u16]) -> Self {
        Self {
            code,
            ftype: ftype::SHORT,
            count: v.len() as u64,
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// LONG values.
    pub fn longs(code: u16, v: &[u32]) -> Self {
        Self {
            code,
            ftype: ftype::LONG,
            count: v.len() as u64,
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// LONG8 values (BigTIFF only).
    pub fn long8s(code: u16, v: &[u64]) -> Self {
        Self {
            code,
            ftype: ftype::LONG8,
            count: v.len() as u64,
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Classic TIFF or BigTIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// 32-bit offsets.
    Classic,
    /// 64-bit offsets.
    Big,
}

impl Flavor {
    /// Header length.
    pub fn header_len(self) -> u64 {
        match self {
            Flavor::Classic => 8,
            Flavor::Big => 16,
        }
    }

    fn inline_len(self) -> usize {
        match self {
            Flavor::Classic => 4,
            Flavor::Big => 8,
        }
    }

    fn entry_len(self) -> u64 {
        match self {
            Flavor::Classic => 12,
            Flavor::Big => 20,
        }
    }

    fn count_len(self) -> u64 {
        match self {
            Flavor::Classic => 2,
            Flavor::Big => 8,
        }
    }

    /// The file header pointing at the first IFD.
    pub fn header(self, first_ifd: u64) -> Vec<u8> {
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(b"II");
        match self {
            Flavor::Classic => {
                h.extend_from_slice(&42u16.to_le_bytes());
                h.extend_from_slice(&(first_ifd as u32).to_le_bytes());
            }
            Flavor::Big => {
                h.extend_from_slice(&43u16.to_le_bytes());
                h.extend_from_slice(&8u16.to_le_bytes());
                h.extend_from_slice(&0u16.to_le_bytes());
                h.extend_from_slice(&first_ifd.to_le_bytes());
            }
        }
        h
    }
}

/// Size in bytes of an IFD with its out-of-line values, word-aligned.
pub fn ifd_len(tags: &[Tag], flavor: Flavor) -> u64 {
    let n = tags.len() as u64;
    let mut len = flavor.count_len() + n * flavor.entry_len() + flavor.inline_len() as u64;
    for t in tags {
        if t.data.len() > flavor.inline_len() {
            len += (t.data.len() as u64).next_multiple_of(2);
        }
    }
    len
}

/// Serialises an IFD placed at `at`, whose next-IFD pointer is `next`.
/// Tags must be sorted by code.
pub fn write_ifd(tags: &[Tag], at: u64, next: u64, flavor: Flavor) -> Vec<u8> {
    debug_assert!(
        tags.windows(2).all(|w| w[0].code < w[1].code),
        "tags must be sorted"
    );
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let n = tags.len() as u64;
    let head_len = flavor.count_len() + n * flavor.entry_len() + flavor.inline_len() as u64;
    match flavor {
        Flavor::Classic => head.extend_from_slice(&(n as u16).to_le_bytes()),
        Flavor::Big => head.extend_from_slice(&n.to_le_bytes()),
    }
    for t in tags {
        head.extend_from_slice(&t.code.to_le_bytes());
        head.extend_from_slice(&t.ftype.to_le_bytes());
        match flavor {
            Flavor::Classic => head.extend_from_slice(&(t.count as u32).to_le_bytes()),
            Flavor::Big => head.extend_from_slice(&t.count.to_le_bytes()),
        }
        let inline = flavor.inline_len();
        if t.data.len() <= inline {
            head.extend_from_slice(&t.data);
            head.extend(std::iter::repeat_n(0u8, inline - t.data.len()));
        } else {
            let off = at + head_len + tail.len() as u64;
            match flavor {
                Flavor::Classic => head.extend_from_slice(&(off as u32).to_le_bytes()),
                Flavor::Big => head.extend_from_slice(&off.to_le_bytes()),
            }
            tail.extend_from_slice(&t.data);
            if tail.len() % 2 == 1 {
                tail.push(0);
            }
        }
    }
    match flavor {
        Flavor::Classic => head.extend_from_slice(&(next as u32).to_le_bytes()),
        Flavor::Big => head.extend_from_slice(&next.to_le_bytes()),
    }
    debug_assert_eq!(head.len() as u64, head_len);
    head.extend_from_slice(&tail);
    head
}

/// Reads the tags of the first IFD of a little-endian classic TIFF.
pub fn read_first_ifd(bytes: &[u8]) -> Option<Vec<Tag>> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    if bytes.get(0..2)? != b"II" || u16_at(2)? != 42 {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let n = u16_at(ifd)? as usize;
    let mut tags = Vec::with_capacity(n);
    for i in 0..n {
        let e = ifd + 2 + i * 12;
        let code = u16_at(e)?;
        let ft = u16_at(e + 2)?;
        let count = u32_at(e + 4)? as usize;
        let len = count * type_size(ft);
        let data = if len <= 4 {
            bytes.get(e + 8..e + 8 + len)?.to_vec()
        } else {
            let off = u32_at(e + 8)? as usize;
            bytes.get(off..off + len)?.to_vec()
        };
        tags.push(Tag {
            code,
            ftype: ft,
            count: count as u64,
            data,
        });
    }
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifd_round_trips_through_reader() {
        let tags = vec![
            Tag::longs(256, &[1000]),
            Tag::shorts(258, &[16, 16, 16]),
            Tag::longs(324, &[10, 20, 30, 40]),
        ];
        let at = 8;
        let ifd = write_ifd(&tags, at, 0, Flavor::Classic);
        assert_eq!(ifd.len() as u64, ifd_len(&tags, Flavor::Classic));
        let mut file = Flavor::Classic.header(at);
        file.extend_from_slice(&ifd);
        assert_eq!(read_first_ifd(&file).unwrap(), tags);
    }

    #[test]
    fn bigtiff_ifd_length_is_exact() {
        let tags = vec![
            Tag::longs(256, &[7]),
            Tag::long8s(324, &[1, 2]),
            Tag::shorts(339, &[1; 5]),
        ];
        let ifd = write_ifd(&tags, 16, 0, Flavor::Big);
        assert_eq!(ifd.len() as u64, ifd_len(&tags, Flavor::Big));
        assert_eq!(Flavor::Big.header(16).len(), 16);
    }
}
