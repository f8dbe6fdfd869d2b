//! A local directory as a store: the default destination, no server needed.
//! Writes go to a temporary name beside the target and are then linked
//! (safe create: fails when the target exists) or renamed (replace) into
//! place, so a reader never sees half an object.

use crate::checksum::{multihash_from_sha256, sha256_multihash};
use crate::{check_key, Error, FileUpload, ObjectMeta, PutMode, PutReport, Result, Store};
use arco_core::Progress;
use sha2::{Digest, Sha256};
use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Marks temporary files, which listing skips.
const TMP_MARK: &str = ".arco-tmp-";

/// A directory holding one file per key.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    base_url: Option<String>,
}

impl LocalStore {
    /// A store rooted at `dir` (created on the first write).
    pub fn new(dir: &Path) -> Result<Self> {
        let root = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io(dir, e))?
                .join(dir)
        };
        if root.exists() && !root.is_dir() {
            return Err(Error::io(
                &root,
                std::io::Error::other("exists and is not a directory"),
            ));
        }
        Ok(Self {
            root,
            base_url: None,
        })
    }

    /// Publishes URLs under `base_url` instead of `file://` paths (for a
    /// directory served over HTTP).
    #[must_use]
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = Some(base_url.trim_end_matches('/').to_string());
        self
    }

    /// Removes temporary files left by interrupted writes (`--cleanup`);
    /// returns them.
    pub async fn remove_temp_files(&self) -> Result<Vec<PathBuf>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            if root.is_dir() {
                temp_files(&root, &mut found)?;
            }
            for p in &found {
                std::fs::remove_file(p).map_err(|e| Error::io(p, e))?;
            }
            Ok(found)
        })
        .await
        .map_err(|e| Error::Publish(format!("cleanup: {e}")))?
    }

    /// The parent directory (where a catalog over several products lives).
    #[must_use]
    pub fn parent(&self) -> Self {
        Self {
            root: self
                .root
                .parent()
                .map_or_else(|| self.root.clone(), Path::to_path_buf),
            base_url: self.base_url.as_ref().map(|b| {
                b.rsplit_once('/')
                    .map_or_else(|| b.clone(), |(p, _)| p.to_string())
            }),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// A fresh temporary path beside `target`.
    fn temp_beside(target: &Path) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        target.with_file_name(format!(".{name}{TMP_MARK}{}-{n}", std::process::id()))
    }

    /// Moves a finished temporary file into place.
    async fn commit(tmp: PathBuf, target: PathBuf, key: &str, mode: PutMode) -> Result<()> {
        let key = key.to_string();
        let key2 = key.clone();
        tokio::task::spawn_blocking(move || {
            let result = match mode {
                // A hard link never replaces an existing name: the no-clobber
                // create that rename lacks.
                PutMode::Create => std::fs::hard_link(&tmp, &target).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Error::AlreadyExists { key: key2.clone() }
                    } else {
                        Error::io(&target, e)
                    }
                }),
                PutMode::Replace => {
                    return std::fs::rename(&tmp, &target).map_err(|e| {
                        let _ = std::fs::remove_file(&tmp);
                        Error::io(&target, e)
                    })
                }
            };
            let _ = std::fs::remove_file(&tmp);
            result
        })
        .await
        .map_err(|e| Error::Publish(format!("{key}: {e}")))?
    }

    async fn create_parent(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| Error::io(parent, e))?;
        }
        Ok(())
    }
}

fn not_found(key: &str, e: std::io::Error, path: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound {
            key: key.to_string(),
        }
    } else {
        Error::io(path, e)
    }
}

impl Store for LocalStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn url_of(&self, key: &str) -> String {
        if let Some(base) = &self.base_url {
            return format!("{base}/{}", crate::encode_path(key));
        }
        let path = self.root.join(key);
        format!("file://{}", crate::encode_path(&path.to_string_lossy()))
    }

    async fn put(&self, key: &str, body: Vec<u8>, mode: PutMode) -> Result<PutReport> {
        let target = self.path_of(key)?;
        if mode == PutMode::Create && tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return Err(Error::AlreadyExists {
                key: key.to_string(),
            });
        }
        self.create_parent(&target).await?;
        let checksum = sha256_multihash(&body);
        let tmp = Self::temp_beside(&target);
        let size = body.len() as u64;
        tokio::fs::write(&tmp, &body)
            .await
            .map_err(|e| Error::io(&tmp, e))?;
        Self::commit(tmp, target, key, mode).await?;
        Ok(PutReport::whole(size, checksum))
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        upload: &FileUpload,
        progress: &dyn Progress,
    ) -> Result<PutReport> {
        let target = self.path_of(key)?;
        if upload.mode == PutMode::Create && tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return Err(Error::AlreadyExists {
                key: key.to_string(),
            });
        }
        self.create_parent(&target).await?;
        let tmp = Self::temp_beside(&target);
        let copied = copy_hashing(path, &tmp, progress).await;
        let (size, checksum) = match copied {
            Ok(v) => v,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        if let Some(expected) = &upload.checksum {
            if *expected != checksum {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(Error::Checksum {
                    key: path.display().to_string(),
                    expected: expected.clone(),
                    actual: checksum,
                });
            }
        }
        Self::commit(tmp, target, key, upload.mode).await?;
        Ok(PutReport::whole(size, checksum))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        tokio::fs::read(&path)
            .await
            .map_err(|e| not_found(key, e, &path))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        let mut f = tokio::fs::File::open(&path)
            .await
            .map_err(|e| not_found(key, e, &path))?;
        let len = f.metadata().await.map_err(|e| Error::io(&path, e))?.len();
        let end = range.end.min(len);
        let start = range.start.min(end);
        f.seek(SeekFrom::Start(start))
            .await
            .map_err(|e| Error::io(&path, e))?;
        let mut buf = vec![0u8; (end - start) as usize];
        f.read_exact(&mut buf)
            .await
            .map_err(|e| Error::io(&path, e))?;
        Ok(buf)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let path = self.path_of(key)?;
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        // A directory keeps no checksum beside its files; hashing the file
        // is the truth, and it is local.
        let p = path.clone();
        let checksum = tokio::task::spawn_blocking(move || arco_core::multihash_sha256_file(&p))
            .await
            .map_err(|e| Error::Publish(format!("{key}: {e}")))?
            .map_err(|e| Error::io(&path, e))?;
        Ok(Some(ObjectMeta {
            key: key.to_string(),
            size: meta.len(),
            checksum: Some(checksum),
        }))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            if root.is_dir() {
                walk(&root, "", &mut out)?;
            }
            out.retain(|m: &ObjectMeta| m.key.starts_with(&prefix));
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
        .map_err(|e| Error::Publish(format!("list: {e}")))?
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

fn temp_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir() {
            temp_files(&path, out)?;
        } else if entry.file_name().to_string_lossy().contains(TMP_MARK) {
            out.push(path);
        }
    }
    Ok(())
}

/// Files under `dir` as keys (temporary files left out).
fn walk(dir: &Path, key_prefix: &str, out: &mut Vec<ObjectMeta>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(TMP_MARK) {
            continue;
        }
        let key = format!("{key_prefix}{name}");
        let ft = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if ft.is_dir() {
            walk(&entry.path(), &format!("{key}/"), out)?;
        } else if ft.is_file() {
            let size = entry
                .metadata()
                .map_err(|e| Error::io(entry.path(), e))?
                .len();
            out.push(ObjectMeta {
                key,
                size,
                checksum: None,
            });
        }
    }
    Ok(())
}

/// Copies `from` to `to`, hashing on the way.
async fn copy_hashing(from: &Path, to: &Path, progress: &dyn Progress) -> Result<(u64, String)> {
    let mut src = tokio::fs::File::open(from)
        .await
        .map_err(|e| Error::io(from, e))?;
    let mut dst = tokio::fs::File::create(to)
        .await
        .map_err(|e| Error::io(to, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = src.read(&mut buf).await.map_err(|e| Error::io(from, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])
            .await
            .map_err(|e| Error::io(to, e))?;
        size += n as u64;
        progress.advance(n as u64);
    }
    dst.flush().await.map_err(|e| Error::io(to, e))?;
    dst.sync_all().await.map_err(|e| Error::io(to, e))?;
    Ok((size, multihash_from_sha256(&hasher.finalize())))
}
