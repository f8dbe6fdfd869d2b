//! sha2-256 multihash checksums, the form STAC `file:checksum` expects:
//! hex of `0x12` (sha2-256), `0x20` (32 bytes), then the digest.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::path::Path;

/// Multihash prefix for sha2-256 with a 32-byte digest.
const SHA256_MULTIHASH_PREFIX: &str = "1220";

/// Hex multihash of a finished sha2-256 state.
pub fn multihash_sha256_hex(hasher: Sha256) -> String {
    format!(
        "{SHA256_MULTIHASH_PREFIX}{}",
        hex::encode(hasher.finalize())
    )
}

/// Hex multihash (sha2-256) of a file's bytes.
pub fn multihash_sha256_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(multihash_sha256_hex(hasher))
}

/// A writer that hashes what passes through it, so a file's checksum is
/// known the moment it is written, without reading it back.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the inner writer, the byte count and the multihash.
    pub fn finish(mut self) -> io::Result<(W, u64, String)> {
        self.inner.flush()?;
        Ok((self.inner, self.written, multihash_sha256_hex(self.hasher)))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multihash_of_empty_input_is_the_known_sha256() {
        let w = HashingWriter::new(Vec::new());
        let (_, n, sum) = w.finish().unwrap();
        assert_eq!(n, 0);
        assert_eq!(
            sum,
            "1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hashing_writer_matches_file_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        let mut w = HashingWriter::new(std::fs::File::create(&path).unwrap());
        w.write_all(b"arco").unwrap();
        let (_, n, sum) = w.finish().unwrap();
        assert_eq!(n, 4);
        assert_eq!(sum, multihash_sha256_file(&path).unwrap());
    }
}
