//! Where arco publishes: a local directory (the default) or any S3 store
//! (SeaweedFS first), behind one small async trait.
//!
//! Every object carries one checksum, the sha2-256 multihash hex that STAC's
//! `file:checksum` holds. It is computed once from the local bytes, sent with
//! the upload so that the server verifies it (`x-amz-checksum-sha256`, per
//! part for multipart uploads), stored beside the object (`x-amz-meta-arco-sha256`)
//! and checked again on download.
//!
//! [`publish`] builds on the trait: it uploads a product directory (data
//! first, STAC last) and skips what is already there.

mod checksum;
mod error;
mod hrefs;
mod local;
mod multipart;
pub mod publish;
mod s3;
pub mod testing;
mod url;

pub use checksum::{base64_decode, base64_encode, multihash_from_sha256, sha256_multihash};
pub use error::{Error, Result};
pub use local::LocalStore;
pub use multipart::{AbandonedUpload, UploadState};
pub use s3::{AccessKey, ChecksumMode, S3Options, S3Store};
pub use url::StoreUrl;

use arco_core::Progress;
use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What is known about one stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Key relative to the store's root (always `/`-separated).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// sha2-256 multihash hex, when the store knows it (`None` from `list`).
    pub checksum: Option<String>,
}

/// What happens when the key already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Safe create: fail with [`Error::AlreadyExists`] when the key exists.
    Create,
    /// Replace the existing object, atomically: readers see the old object
    /// until the new one is complete.
    Replace,
}

/// How a file goes up.
#[derive(Debug, Clone)]
pub struct FileUpload {
    /// The file's sha2-256 multihash hex when already known (it is checked
    /// against the bytes sent); computed when `None`.
    pub checksum: Option<String>,
    /// Create or replace.
    pub mode: PutMode,
    /// Part size of multipart uploads; files up to this size go in one request.
    pub part_size: u64,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// Where the state of unfinished multipart uploads is kept, so that an
    /// interrupted upload resumes (`None`: no resume).
    pub state_dir: Option<PathBuf>,
    /// Shared limit on requests in flight (one permit per part or object),
    /// so that several files can go up at once within one memory budget.
    pub limiter: Option<Arc<tokio::sync::Semaphore>>,
}

impl Default for FileUpload {
    fn default() -> Self {
        Self {
            checksum: None,
            mode: PutMode::Create,
            part_size: 8 << 20,
            concurrency: 10,
            state_dir: None,
            limiter: None,
        }
    }
}

/// What an upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReport {
    /// Size and checksum of the object now stored.
    pub size: u64,
    /// sha2-256 multihash hex of the object.
    pub checksum: String,
    /// Bytes sent over the wire (less than `size` when parts were reused).
    pub bytes_sent: u64,
    /// Multipart parts sent (0 for a single request).
    pub parts_sent: usize,
    /// Parts of an earlier, interrupted upload that were already there.
    pub parts_reused: usize,
}

impl PutReport {
    /// An object sent whole in one request.
    pub fn whole(size: u64, checksum: String) -> Self {
        Self {
            size,
            checksum,
            bytes_sent: size,
            parts_sent: 0,
            parts_reused: 0,
        }
    }
}

/// An object store arco can publish to. Keys are relative to the store's root
/// (a directory, or `s3://bucket/prefix`) and `/`-separated.
pub trait Store: Send + Sync {
    /// The store's location as users write it (`s3://bucket/prefix`, a path).
    fn location(&self) -> String;

    /// The URL under which `key` is published (for STAC hrefs).
    fn url_of(&self, key: &str) -> String;

    /// Stores `body` under `key`; the checksum is computed here and verified
    /// by the server.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        mode: PutMode,
    ) -> impl Future<Output = Result<PutReport>> + Send;

    /// Stores the file at `path` under `key`; large files go up in parts in
    /// parallel, and an interrupted upload resumes where it stopped.
    /// `progress` is advanced by the bytes of the file as they are done.
    fn put_file(
        &self,
        key: &str,
        path: &Path,
        upload: &FileUpload,
        progress: &dyn Progress,
    ) -> impl Future<Output = Result<PutReport>> + Send;

    /// Reads a whole object, verifying its checksum when the store has one.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Reads the bytes `range` of an object.
    fn get_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Size and checksum of an object, `None` when there is none.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<ObjectMeta>>> + Send;

    /// Objects whose keys start with `prefix`, sorted by key (no checksums).
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<ObjectMeta>>> + Send;

    /// Removes an object; removing a missing object is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
}

/// A store chosen at run time from a [`StoreUrl`].
#[derive(Debug)]
pub enum AnyStore {
    /// A local directory.
    Local(LocalStore),
    /// An S3 bucket and prefix.
    S3(Box<S3Store>),
}

impl AnyStore {
    /// Opens the store a URL names (S3 configuration from the environment,
    /// overridden by `s3`).
    pub async fn open(url: &StoreUrl, s3: &S3Options) -> Result<Self> {
        Ok(match url {
            StoreUrl::Local(dir) => AnyStore::Local(LocalStore::new(dir)?),
            StoreUrl::S3 { bucket, prefix } => {
                AnyStore::S3(Box::new(S3Store::connect(bucket, prefix, s3).await?))
            }
        })
    }
}

impl AnyStore {
    /// The store one level up: `s3://b/catalog` for `s3://b/catalog/ndvi`,
    /// the parent directory for a directory.
    #[must_use]
    pub fn parent(&self) -> Self {
        match self {
            AnyStore::Local(s) => AnyStore::Local(s.parent()),
            AnyStore::S3(s) => AnyStore::S3(Box::new(s.parent())),
        }
    }
}

impl Store for AnyStore {
    fn location(&self) -> String {
        match self {
            AnyStore::Local(s) => s.location(),
            AnyStore::S3(s) => s.location(),
        }
    }

    fn url_of(&self, key: &str) -> String {
        match self {
            AnyStore::Local(s) => s.url_of(key),
            AnyStore::S3(s) => s.url_of(key),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, mode: PutMode) -> Result<PutReport> {
        match self {
            AnyStore::Local(s) => s.put(key, body, mode).await,
            AnyStore::S3(s) => s.put(key, body, mode).await,
        }
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        upload: &FileUpload,
        progress: &dyn Progress,
    ) -> Result<PutReport> {
        match self {
            AnyStore::Local(s) => s.put_file(key, path, upload, progress).await,
            AnyStore::S3(s) => s.put_file(key, path, upload, progress).await,
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            AnyStore::Local(s) => s.get(key).await,
            AnyStore::S3(s) => s.get(key).await,
        }
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>> {
        match self {
            AnyStore::Local(s) => s.get_range(key, range).await,
            AnyStore::S3(s) => s.get_range(key, range).await,
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        match self {
            AnyStore::Local(s) => s.head(key).await,
            AnyStore::S3(s) => s.head(key).await,
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        match self {
            AnyStore::Local(s) => s.list(prefix).await,
            AnyStore::S3(s) => s.list(prefix).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self {
            AnyStore::Local(s) => s.delete(key).await,
            AnyStore::S3(s) => s.delete(key).await,
        }
    }
}

/// Checks that a key is relative, `/`-separated and free of `.`/`..`
/// segments, so that it maps to one place in every store.
pub(crate) fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.ends_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(Error::BadKey {
            key: key.to_string(),
        });
    }
    Ok(())
}

/// Percent-encodes a path for a URL (keeps `/` and the unreserved characters).
pub(crate) fn encode_path(path: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
