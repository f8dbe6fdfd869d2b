//! Multipart uploads: parts in parallel, each with its own sha2-256 that the
//! server verifies, and a local record of the upload id so that an
//! interrupted upload resumes (`ListParts`, send only the missing parts,
//! complete). Only uploads recorded here are ever aborted, never another
//! client's.

use crate::checksum::base64_encode;
use crate::s3::{content_type, s3_error, status_of, META_SHA256};
use crate::{Error, FileUpload, PutMode, PutReport, Result, S3Store, Store};
use arco_core::Progress;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// S3's smallest part (all but the last).
pub(crate) const MIN_PART: u64 = 5 << 20;
/// S3's largest part count.
const MAX_PARTS: u64 = 10_000;

/// The local record of an unfinished multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UploadState {
    /// Bucket.
    pub bucket: String,
    /// Bucket key (prefix included).
    pub key: String,
    /// The server's upload id.
    pub upload_id: String,
    /// The local file.
    pub path: PathBuf,
    /// Its size when the upload started.
    pub size: u64,
    /// Its modification time (ns since the epoch) when the upload started.
    pub mtime_ns: u128,
    /// Part size used.
    pub part_size: u64,
    /// Whole-file sha2-256 multihash hex.
    pub checksum: String,
    /// Parts known to be complete on the server.
    pub parts_done: Vec<i32>,
}

/// An unfinished upload found in the local records by `--cleanup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedUpload {
    /// `s3://bucket/key`.
    pub url: String,
    /// The upload id.
    pub upload_id: String,
    /// Whether the server still had it (it was aborted) or not (only the
    /// record was removed).
    pub aborted: bool,
}

fn mtime_ns(path: &Path) -> Result<(u64, u128)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime))
}

/// The record file of (bucket, key, local file).
fn state_file(dir: &Path, bucket: &str, key: &str, path: &Path) -> PathBuf {
    let id = Sha256::digest(format!("{bucket}\n{key}\n{}", path.display()).as_bytes());
    dir.join(format!("{}.json", &hex::encode(id)[..24]))
}

fn save_state(file: &Path, state: &UploadState) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = file.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(state).map_err(|e| Error::Publish(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| Error::io(file, e))
}

fn load_state(file: &Path) -> Option<UploadState> {
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

/// A part on the server: size, checksum (base64 sha2-256) and ETag.
struct ServerPart {
    size: u64,
    sha256: Option<String>,
    etag: String,
}

/// The parts already uploaded under `upload_id`; `None` when the server no
/// longer knows the upload.
async fn list_parts(
    store: &S3Store,
    key: &str,
    upload_id: &str,
) -> Result<Option<HashMap<i32, ServerPart>>> {
    let mut parts = HashMap::new();
    let mut marker: Option<String> = None;
    loop {
        let mut req = store
            .client
            .list_parts()
            .bucket(&store.bucket)
            .key(key)
            .upload_id(upload_id);
        if let Some(m) = &marker {
            req = req.part_number_marker(m);
        }
        let out = match req.send().await {
            Ok(o) => o,
            Err(e) if status_of(&e) == Some(404) => return Ok(None),
            Err(e) => {
                let err = s3_error(&e, format!("s3://{}/{key}", store.bucket), "ListParts");
                return match err {
                    Error::NotFound { .. } => Ok(None),
                    other => Err(other),
                };
            }
        };
        for p in out.parts() {
            if let (Some(n), Some(etag)) = (p.part_number(), p.e_tag()) {
                parts.insert(
                    n,
                    ServerPart {
                        size: p.size().unwrap_or(0).max(0) as u64,
                        sha256: p.checksum_sha256().map(str::to_string),
                        etag: etag.to_string(),
                    },
                );
            }
        }
        match (out.is_truncated(), out.next_part_number_marker()) {
            (Some(true), Some(m)) if marker.as_deref() != Some(m) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(Some(parts))
}

async fn abort(store: &S3Store, key: &str, upload_id: &str) -> Result<bool> {
    match store
        .client
        .abort_multipart_upload()
        .bucket(&store.bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match s3_error(
            &e,
            format!("s3://{}/{key}", store.bucket),
            "AbortMultipartUpload",
        ) {
            Error::NotFound { .. } => Ok(false),
            other => Err(other),
        },
    }
}

/// Reads one part and hashes it, off the async threads.
async fn read_part(path: &Path, offset: u64, len: u64) -> Result<(Vec<u8>, String)> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let path = owned;
        let mut f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&path, e))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(|e| Error::io(&path, e))?;
        let b64 = base64_encode(&Sha256::digest(&buf));
        Ok((buf, b64))
    })
    .await
    .map_err(|e| Error::Publish(format!("{}: {e}", path.display())))?
}

struct PartDone {
    number: i32,
    etag: String,
    sha256: String,
    len: u64,
    reused: bool,
}

/// Uploads `path` (of `size` bytes) to `key` in parts.
pub(crate) async fn upload(
    store: &S3Store,
    key: &str,
    path: &Path,
    size: u64,
    upload: &FileUpload,
    progress: &dyn Progress,
) -> Result<PutReport> {
    let full = store.full_key(key);
    let url = store.s3_url(key);
    let mut part_size = upload.part_size.max(MIN_PART);
    if size.div_ceil(part_size) > MAX_PARTS {
        // S3 allows 10,000 parts: grow the parts rather than fail.
        part_size = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    }
    let n_parts = size.div_ceil(part_size) as i32;
    if upload.mode == PutMode::Create && store.head(key).await?.is_some() {
        return Err(Error::AlreadyExists { key: url });
    }
    let checksum = if let Some(c) = &upload.checksum {
        c.clone()
    } else {
        let p = path.to_path_buf();
        tokio::task::spawn_blocking(move || arco_core::multihash_sha256_file(&p))
            .await
            .map_err(|e| Error::Publish(e.to_string()))?
            .map_err(|e| Error::io(path, e))?
    };
    let (file_size, mtime) = mtime_ns(path)?;
    if file_size != size {
        return Err(Error::Publish(format!(
            "{}: the file changed while being published",
            path.display()
        )));
    }
    let record = upload
        .state_dir
        .as_ref()
        .map(|d| state_file(d, &store.bucket, &full, path));

    // Resume when a record of the same file, part size and checksum exists
    // and the server still knows the upload.
    let mut existing = HashMap::new();
    let mut state = None;
    if let Some(old) = record.as_deref().and_then(load_state) {
        let same = old.bucket == store.bucket
            && old.key == full
            && old.size == size
            && old.mtime_ns == mtime
            && old.part_size == part_size
            && old.checksum == checksum;
        if same {
            if let Some(parts) = list_parts(store, &full, &old.upload_id).await? {
                existing = parts;
                state = Some(old);
            }
        } else {
            // The file changed since: that upload can never complete.
            abort(store, &old.key, &old.upload_id).await?;
        }
    }
    let mut state = if let Some(s) = state {
        s
    } else {
        let mut req = store
            .client
            .create_multipart_upload()
            .bucket(&store.bucket)
            .key(&full)
            .content_type(content_type(key))
            .metadata(META_SHA256, &checksum);
        if store.send_checksums() {
            req = req.checksum_algorithm(ChecksumAlgorithm::Sha256);
        }
        let out = req
            .send()
            .await
            .map_err(|e| s3_error(&e, url.clone(), "CreateMultipartUpload"))?;
        let upload_id = out.upload_id().unwrap_or_default().to_string();
        if upload_id.is_empty() {
            return Err(Error::S3 {
                key: url,
                operation: "CreateMultipartUpload",
                message: "the server returned no upload id".into(),
            });
        }
        UploadState {
            bucket: store.bucket.clone(),
            key: full.clone(),
            upload_id,
            path: path.to_path_buf(),
            size,
            mtime_ns: mtime,
            part_size,
            checksum: checksum.clone(),
            parts_done: Vec::new(),
        }
    };
    state.parts_done = existing.keys().copied().collect();
    state.parts_done.sort_unstable();
    if let Some(r) = &record {
        save_state(r, &state)?;
    }

    let upload_id = state.upload_id.clone();
    let existing = &existing;
    let full_ref = &full;
    let url_ref = &url;
    let upload_id_ref = &upload_id;
    let mut parts = stream::iter(1..=n_parts)
        .map(|number| async move {
            let offset = (number - 1) as u64 * part_size;
            let len = part_size.min(size - offset);
            // A permit per part in flight bounds memory across files.
            let _permit = match &upload.limiter {
                Some(l) => Some(
                    l.acquire()
                        .await
                        .map_err(|e| Error::Publish(e.to_string()))?,
                ),
                None => None,
            };
            let (data, sha256) = read_part(path, offset, len).await?;
            if let Some(p) = existing.get(&number) {
                // Reuse a part whose size and checksum match the local bytes
                // (servers that keep no part checksum: size only; the record
                // already pins the file's size and mtime).
                if p.size == len && p.sha256.as_deref().is_none_or(|s| s == sha256) {
                    return Ok(PartDone {
                        number,
                        etag: p.etag.clone(),
                        sha256,
                        len,
                        reused: true,
                    });
                }
            }
            let req = store
                .client
                .upload_part()
                .bucket(&store.bucket)
                .key(full_ref)
                .upload_id(upload_id_ref)
                .part_number(number)
                .content_length(len as i64)
                .body(ByteStream::from(data));
            let sent = if store.send_checksums() {
                req.checksum_sha256(&sha256)
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
            } else {
                req.send().await
            };
            let out =
                sent.map_err(|e| s3_error(&e, format!("{url_ref} (part {number})"), "UploadPart"))?;
            Ok::<_, Error>(PartDone {
                number,
                etag: out.e_tag().unwrap_or_default().to_string(),
                sha256,
                len,
                reused: false,
            })
        })
        .buffer_unordered(upload.concurrency.max(1));

    let mut done = Vec::with_capacity(n_parts as usize);
    let mut report = PutReport {
        size,
        checksum: checksum.clone(),
        ..PutReport::default()
    };
    while let Some(part) = parts.try_next().await? {
        progress.advance(part.len);
        if part.reused {
            report.parts_reused += 1;
        } else {
            report.parts_sent += 1;
            report.bytes_sent += part.len;
            if let Some(r) = &record {
                state.parts_done.push(part.number);
                save_state(r, &state)?;
            }
        }
        done.push(part);
    }
    drop(parts);
    done.sort_by_key(|p| p.number);

    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            done.iter()
                .map(|p| {
                    let b = CompletedPart::builder()
                        .part_number(p.number)
                        .e_tag(&p.etag);
                    if store.send_checksums() {
                        b.checksum_sha256(&p.sha256).build()
                    } else {
                        b.build()
                    }
                })
                .collect(),
        ))
        .build();
    let mut req = store
        .client
        .complete_multipart_upload()
        .bucket(&store.bucket)
        .key(&full)
        .upload_id(&upload_id)
        .multipart_upload(completed);
    if upload.mode == PutMode::Create {
        req = req.if_none_match("*");
    }
    req.send()
        .await
        .map_err(|e| s3_error(&e, url.clone(), "CompleteMultipartUpload"))?;
    if let Some(r) = &record {
        let _ = std::fs::remove_file(r);
    }
    Ok(report)
}

/// Aborts the unfinished uploads recorded in `state_dir` for this store's
/// bucket and prefix, and removes their records. Uploads that arco did not
/// record (other clients') are never touched.
pub(crate) async fn cleanup(store: &S3Store, state_dir: &Path) -> Result<Vec<AbandonedUpload>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Ok(out);
    };
    let root = store.full_key("");
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in files {
        let Some(state) = load_state(&file) else {
            continue;
        };
        if state.bucket != store.bucket || !state.key.starts_with(root.trim_end_matches('/')) {
            continue;
        }
        let aborted = abort(store, &state.key, &state.upload_id).await?;
        std::fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
        out.push(AbandonedUpload {
            url: format!("s3://{}/{}", state.bucket, state.key),
            upload_id: state.upload_id,
            aborted,
        });
    }
    Ok(out)
}

impl S3Store {
    /// Aborts the unfinished multipart uploads that arco recorded in
    /// `state_dir` for this bucket and prefix (see `arco publish --cleanup`).
    pub async fn abort_recorded_uploads(&self, state_dir: &Path) -> Result<Vec<AbandonedUpload>> {
        cleanup(self, state_dir).await
    }
}
