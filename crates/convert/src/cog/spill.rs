//! An append-only sequence of byte chunks that stays in memory up to a
//! limit and then continues in an anonymous temporary file, so compressed
//! tiles of a huge image never need to fit in RAM. Chunks are kept as they
//! come (no copying into one growing buffer).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Append-only bytes, memory first, then disk.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    limit: usize,
    file: Option<BufWriter<File>>,
    on_disk: u64,
    chunks: Vec<Vec<u8>>,
    in_memory: usize,
}

impl Spill {
    /// A spill that keeps up to `limit` bytes in memory and puts the rest
    /// in a file in `dir` (the output's directory, so the final copy stays
    /// on one filesystem).
    pub fn new(dir: PathBuf, limit: usize) -> Self {
        Self {
            dir,
            limit,
            file: None,
            on_disk: 0,
            chunks: Vec::new(),
            in_memory: 0,
        }
    }

    /// Total bytes appended.
    pub fn len(&self) -> u64 {
        self.on_disk + self.in_memory as u64
    }

    /// Appends a chunk.
    pub fn append(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        if self.file.is_none() && self.in_memory + chunk.len() <= self.limit {
            self.in_memory += chunk.len();
            self.chunks.push(chunk);
            return Ok(());
        }
        if self.file.is_none() {
            // Over the limit: everything so far and from now on goes to disk,
            // in order.
            let mut f = BufWriter::with_capacity(4 << 20, tempfile::tempfile_in(&self.dir)?);
            for c in self.chunks.drain(..) {
                f.write_all(&c)?;
                self.on_disk += c.len() as u64;
            }
            self.in_memory = 0;
            self.file = Some(f);
        }
        let f = self.file.as_mut().expect("created above");
        f.write_all(&chunk)?;
        self.on_disk += chunk.len() as u64;
        Ok(())
    }

    /// The chunks, when none went to disk.
    pub fn chunks(&self) -> Option<&[Vec<u8>]> {
        self.file.is_none().then_some(self.chunks.as_slice())
    }

    /// Copies everything appended, in order, to `out`.
    pub fn copy_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            let mut f = f.into_inner().map_err(io::IntoInnerError::into_error)?;
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
        for c in &self.chunks {
            out.write_all(c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spill::new(dir.path().to_path_buf(), 10);
        for i in 0..5u8 {
            s.append(vec![i; 4]).unwrap();
        }
        assert_eq!(s.len(), 20);
        assert!(s.file.is_some(), "went to disk past 10 bytes");
        let mut out = Vec::new();
        s.copy_to(&mut out).unwrap();
        let want: Vec<u8> = (0..5u8).flat_map(|i| [i; 4]).collect();
        assert_eq!(out, want);
    }
}
