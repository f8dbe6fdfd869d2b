//! Shared types of arco: the plain record every writer returns, and the
//! progress hook that lets libraries report work without printing.
//!
//! Each stage hands the next one of these records (what was written, where,
//! on which grid, with which checksum) instead of re-reading its output.

pub mod bigbuf;
mod checksum;
mod progress;
mod record;
pub mod simd;

pub use checksum::{multihash_sha256_file, multihash_sha256_hex, HashingWriter};
pub use progress::{NoProgress, Progress};
pub use record::{
    BandRecord, BandStatistics, ColumnRecord, CrsRecord, Format, Record, VectorRecord,
};
