//! An append-only byte stream that stays in memory up to a limit and then
//! continues in an anonymous temporary file, so compressed tiles of a huge
//! image never need to fit in RAM.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Bytes kept in memory before spilling to disk.
const MEMORY_LIMIT: usize = 64 << 20;

/// Append-only bytes, memory first, then disk.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    file: Option<File>,
    on_disk: u64,
    buf: Vec<u8>,
}

impl Spill {
    /// A spill whose overflow file lives in `dir` (the output's directory,
    /// so the final copy stays on one filesystem).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            file: None,
            on_disk: 0,
            buf: Vec::new(),
        }
    }

    /// Total bytes appended.
    pub fn len(&self) -> u64 {
        self.on_disk + self.buf.len() as u64
    }


    /// Appends bytes.
    pub fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= MEMORY_LIMIT {
            if self.file.is_none() {
                self.file = Some(tempfile::tempfile_in(&self.dir)?);
            }
            let f = self.file.as_mut().expect("created above");
            f.write_all(&self.buf)?;
            self.on_disk += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Copies everything appended, in order, to `out`.
    pub fn copy_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.seek(SeekFrom::Start(0))?;
            let mut chunk = vec![0u8; 4 << 20];
            let mut left = self.on_disk;
            while left > 0 {
                let n = (chunk.len() as u64).min(left) as usize;
                f.read_exact(&mut chunk[..n])?;
                out.write_all(&chunk[..n])?;
                left -= n as u64;
            }
        }
        out.write_all(&self.buf)
    }
}
