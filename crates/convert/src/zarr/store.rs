//! A write-only filesystem store for a store being built in a staging
//! directory. zarrs' `FilesystemStore` fsyncs every chunk it writes, which
//! serialises the parallel chunk writes on the disk; here the whole store is
//! renamed into place only when complete, so per-chunk durability buys
//! nothing and is skipped (as GDAL and zarr-python do).

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zarrs::storage::{
    Bytes, OffsetBytesIterator, StorageError, StoreKey, StorePrefix, WritableStorageTraits,
};

/// Writes keys as files under a directory, creating folders as needed.
#[derive(Debug)]
pub struct StagingStore {
    root: PathBuf,
}

impl StagingStore {
    /// A store rooted at `root` (which must exist).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn open(&self, key: &StoreKey, truncate: bool) -> Result<std::fs::File, StorageError> {
        let path = self.path(key.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(truncate)
            .open(path)?)
    }
}

impl WritableStorageTraits for StagingStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.open(key, true)?.write_all(&value)?;
        Ok(())
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        let file = self.open(key, false)?;
        for (offset, value) in offset_values {
            file.write_all_at(&value, offset)?;
        }
        Ok(())
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        match std::fs::remove_file(self.path(key.as_str())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        match std::fs::remove_dir_all(self.path(prefix.as_str())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn supports_set_partial(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_partial_and_erase() {
        let dir = tempfile::tempdir().unwrap();
        let s = StagingStore::new(dir.path());
        let key = StoreKey::new("a/c/0/1").unwrap();
        s.set(&key, Bytes::from_static(b"hello")).unwrap();
        s.set_partial(&key, 1, Bytes::from_static(b"EL")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/c/0/1")).unwrap(), b"hELlo");
        s.erase(&key).unwrap();
        s.erase(&key).unwrap();
        assert!(!dir.path().join("a/c/0/1").exists());
        s.erase_prefix(&StorePrefix::new("a/").unwrap()).unwrap();
        assert!(!dir.path().join("a").exists());
    }
}
