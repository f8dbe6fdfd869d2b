//! Reading parts of a file: the whole file in memory when it is small (it is
//! read anyway for its checksum), positioned reads otherwise.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Files up to this size are read whole.
pub const WHOLE_FILE_LIMIT: u64 = 64 << 20;

/// Random access to the bytes of one file.
pub enum Bytes {
    /// The whole file.
    Mem(Vec<u8>),
    /// An open file and its size.
    File(File, u64),
}

impl Bytes {
    /// Opens `path`, reading it whole when small.
    pub fn open(path: &Path) -> io::Result<Bytes> {
        let f = File::open(path)?;
        let len = f.metadata()?.len();
        if len <= WHOLE_FILE_LIMIT {
            let mut buf = vec![0; len as usize];
            f.read_exact_at(&mut buf, 0)?;
            Ok(Bytes::Mem(buf))
        } else {
            Ok(Bytes::File(f, len))
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Bytes::Mem(v) => v.len() as u64,
            Bytes::File(_, n) => *n,
        }
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `len` bytes at `offset`; an error when they run past the end.
    pub fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = offset.checked_add(len as u64).filter(|&e| e <= self.len());
        let Some(end) = end else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{len} bytes at offset {offset} run past the end of the file ({} bytes)",
                    self.len()
                ),
            ));
        };
        match self {
            Bytes::Mem(v) => Ok(v[offset as usize..end as usize].to_vec()),
            Bytes::File(f, _) => {
                let mut buf = vec![0; len];
                f.read_exact_at(&mut buf, offset)?;
                Ok(buf)
            }
        }
    }
}
