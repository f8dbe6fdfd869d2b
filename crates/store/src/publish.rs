//! Publishing a product directory: data files first, then Items, then
//! Collections, then Catalogs, and the stac-geoparquet index last, so that a
//! reader never finds a catalog entry whose data is not there yet.
//!
//! Publishing is planned before anything is sent: each local file's checksum
//! is compared with the stored object's, so a second run uploads nothing, a
//! changed file is found, and an object with other content is replaced only
//! when asked (and then only once the new one is complete: S3 makes a PUT
//! visible atomically, the local store renames).

use crate::hrefs::Rewrite;
use crate::{Error, FileUpload, PutMode, Result, Store};
use arco_core::Progress;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where arco keeps its records inside a product directory (skipped when
/// publishing, like every hidden name).
pub const STATE_DIR: &str = ".arco";

/// What an object is, which decides when it goes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A data file (COG, Zarr chunk, GeoParquet...).
    Data,
    /// A STAC Item.
    Item,
    /// A STAC Collection.
    Collection,
    /// A STAC Catalog.
    Catalog,
    /// A stac-geoparquet index of Items.
    Index,
}

/// What publishing does with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not stored yet: upload (safe create).
    Upload,
    /// Stored with the same checksum: nothing to do.
    Skip,
    /// Stored with other content, and `--replace` given: replace it.
    Replace,
    /// Stored with other content, no `--replace`: refused.
    Conflict,
}

impl Action {
    /// The word for listings.
    pub fn label(self) -> &'static str {
        match self {
            Action::Upload => "upload",
            Action::Skip => "unchanged",
            Action::Replace => "replace",
            Action::Conflict => "conflict",
        }
    }
}

/// One object of a publication.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Key in the store.
    pub key: String,
    /// Kind of object.
    pub kind: Kind,
    /// The local file it comes from.
    pub source: PathBuf,
    /// Size of what is published.
    pub size: u64,
    /// sha2-256 multihash hex of what is published (for STAC documents: of
    /// the rewritten document).
    pub checksum: String,
    /// What happens to it.
    pub action: Action,
    /// The rewritten document (STAC JSON only).
    #[serde(skip)]
    body: Option<Vec<u8>>,
}

/// Publishing options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Replace objects stored with other content (else: refuse).
    pub replace: bool,
    /// Multipart part size.
    pub part_size: u64,
    /// Requests in flight at once (files, or parts of one large file).
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            replace: false,
            part_size: 8 << 20,
            concurrency: 10,
        }
    }
}

/// What will be (or was) done.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The product directory.
    pub product_dir: PathBuf,
    /// Every object, in upload order.
    pub entries: Vec<Entry>,
}

impl Plan {
    /// Entries with this action.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// Bytes that will be sent.
    pub fn bytes_to_send(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| matches!(e.action, Action::Upload | Action::Replace))
            .map(|e| e.size)
            .sum()
    }

    /// The STAC Items as published (rewritten), for an index.
    pub fn items(&self) -> Vec<Value> {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::Item)
            .filter_map(|e| e.body.as_ref())
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect()
    }
}

/// What publishing did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Objects uploaded (new).
    pub uploaded: usize,
    /// Objects replaced.
    pub replaced: usize,
    /// Objects already stored with the same checksum.
    pub unchanged: usize,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Multipart parts sent.
    pub parts_sent: usize,
    /// Parts of interrupted uploads found complete on the server and reused.
    pub parts_reused: usize,
    /// Wall time of the uploads, seconds.
    pub seconds: f64,
}

/// Receives the progress of a publication.
pub trait Observer: Sync {
    /// Uploads start: `files` objects, `bytes` in all.
    fn start(&self, files: usize, bytes: u64);
    /// `n` more bytes are stored.
    fn bytes(&self, n: u64);
    /// One object is done.
    fn object_done(&self, entry: &Entry);
    /// All done.
    fn finish(&self);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {
    fn start(&self, _: usize, _: u64) {}
    fn bytes(&self, _: u64) {}
    fn object_done(&self, _: &Entry) {}
    fn finish(&self) {}
}

struct BytesOf<'a>(&'a dyn Observer);

impl Progress for BytesOf<'_> {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, n: u64) {
        self.0.bytes(n);
    }
    fn finish(&self) {}
}

/// A local file found in the product directory.
struct Found {
    key: String,
    path: PathBuf,
    kind: Kind,
    json: Option<Value>,
}

fn walk(dir: &Path, key_prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden names: arco's own records (.arco), temporary files.
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let key = format!("{key_prefix}{name}");
        // Follow symlinks: a product may link to its data.
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, &format!("{key}/"), out)?;
        } else if meta.is_file() {
            out.push((key, path));
        }
    }
    Ok(())
}

/// STAC documents are recognised by content, not by name.
fn stac_kind(doc: &Value) -> Option<Kind> {
    doc.get("stac_version")?;
    match doc.get("type")?.as_str()? {
        "Feature" => Some(Kind::Item),
        "Collection" => Some(Kind::Collection),
        "Catalog" => Some(Kind::Catalog),
        _ => None,
    }
}

/// A stac-geoparquet index is a Parquet file whose schema has STAC's columns
/// (`stac_version`, `assets`); the footer holds the column names as text.
fn is_stac_geoparquet(path: &Path) -> bool {
    let read = || -> std::io::Result<bool> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        if len < 12 {
            return Ok(false);
        }
        let mut tail = [0u8; 8];
        f.seek(SeekFrom::Start(len - 8))?;
        f.read_exact(&mut tail)?;
        if &tail[4..] != b"PAR1" {
            return Ok(false);
        }
        let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if footer_len + 8 > len || footer_len > 64 << 20 {
            return Ok(false);
        }
        let mut footer = vec![0u8; footer_len as usize];
        f.seek(SeekFrom::Start(len - 8 - footer_len))?;
        f.read_exact(&mut footer)?;
        let has = |needle: &[u8]| footer.windows(needle.len()).any(|w| w == needle);
        Ok(has(b"stac_version") && has(b"assets"))
    };
    read().unwrap_or(false)
}

fn classify(product_dir: &Path) -> Result<Vec<Found>> {
    let mut files = Vec::new();
    walk(product_dir, "", &mut files)?;
    let mut out = Vec::with_capacity(files.len());
    for (key, path) in files {
        let lower = key.to_ascii_lowercase();
        let ext = Path::new(&lower).extension().and_then(|e| e.to_str());
        let (kind, json) = if ext == Some("json") {
            let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            match serde_json::from_slice::<Value>(&text) {
                Ok(doc) => match stac_kind(&doc) {
                    Some(kind) => (kind, Some(doc)),
                    None => (Kind::Data, None),
                },
                Err(_) => (Kind::Data, None),
            }
        } else if ext == Some("parquet") && is_stac_geoparquet(&path) {
            (Kind::Index, None)
        } else {
            (Kind::Data, None)
        };
        out.push(Found {
            key,
            path,
            kind,
            json,
        });
    }
    Ok(out)
}

async fn hash_file(path: PathBuf) -> Result<(u64, String)> {
    tokio::task::spawn_blocking(move || {
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        let sum = arco_core::multihash_sha256_file(&path).map_err(|e| Error::io(&path, e))?;
        Ok((size, sum))
    })
    .await
    .map_err(|e| Error::Publish(e.to_string()))?
}

/// Plans the publication of `product_dir` into `store`: what goes where, in
/// which order, and what is already there.
pub async fn plan<S: Store>(store: &S, product_dir: &Path, opts: &Options) -> Result<Plan> {
    let product_dir = std::fs::canonicalize(product_dir).map_err(|e| Error::io(product_dir, e))?;
    if !product_dir.is_dir() {
        return Err(Error::Publish(format!(
            "{}: not a directory: publish takes a product directory (arco convert ... -o DIR)",
            product_dir.display()
        )));
    }
    let dir = product_dir.clone();
    let found = tokio::task::spawn_blocking(move || classify(&dir))
        .await
        .map_err(|e| Error::Publish(e.to_string()))??;
    if found.is_empty() {
        return Err(Error::Publish(format!(
            "{}: nothing to publish (the directory is empty)",
            product_dir.display()
        )));
    }

    // Checksums of the files published as they are, hashed in parallel.
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let sums: Vec<(String, u64, String)> = stream::iter(found.iter().filter(|f| f.json.is_none()))
        .map(|f| {
            let key = f.key.clone();
            let path = f.path.clone();
            async move { hash_file(path).await.map(|(size, sum)| (key, size, sum)) }
        })
        .buffer_unordered(threads)
        .try_collect()
        .await?;
    let files: HashMap<String, (u64, String)> =
        sums.into_iter().map(|(k, s, c)| (k, (s, c))).collect();

    let url_of = |k: &str| store.url_of(k);
    let rewrite = Rewrite {
        product_dir: &product_dir,
        url_of: &url_of,
        files: &files,
    };
    let mut entries = Vec::with_capacity(found.len());
    let mut mismatches = Vec::new();
    for f in found {
        let (size, checksum, body) = if let Some(mut doc) = f.json {
            mismatches.extend(rewrite.apply(&mut doc, &f.key));
            let mut bytes =
                serde_json::to_vec_pretty(&doc).map_err(|e| Error::Publish(e.to_string()))?;
            bytes.push(b'\n');
            let sum = crate::sha256_multihash(&bytes);
            (bytes.len() as u64, sum, Some(bytes))
        } else {
            let (size, sum) = files[&f.key].clone();
            (size, sum, None)
        };
        entries.push(Entry {
            key: f.key,
            kind: f.kind,
            source: f.path,
            size,
            checksum,
            action: Action::Upload,
            body,
        });
    }
    // Nothing goes up when a file no longer matches its Item: publishing it
    // would make a damaged or stale file look verified.
    if let Some(first) = mismatches.first() {
        return Err(Error::Publish(format!(
            "{first}{}: the file changed after its Item was written; write the product again with arco (or restore the file), then publish",
            if mismatches.len() > 1 {
                format!(" (and {} more)", mismatches.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    entries.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.key.cmp(&b.key)));

    // What exists: one listing per top-level directory of the product (a
    // Zarr store, a folder of tiles), so other products under the same
    // prefix are never listed; top-level files are asked directly.
    let dirs: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.key.split_once('/').map(|(d, _)| d))
        .collect();
    let mut stored = std::collections::HashSet::new();
    for d in dirs {
        stored.extend(
            store
                .list(&format!("{d}/"))
                .await?
                .into_iter()
                .map(|m| m.key),
        );
    }
    let actions: Vec<Action> = stream::iter(entries.iter())
        .map(|e| {
            let maybe = !e.key.contains('/') || stored.contains(&e.key);
            async move {
                if !maybe {
                    return Ok::<_, Error>(Action::Upload);
                }
                let Some(meta) = store.head(&e.key).await? else {
                    return Ok(Action::Upload);
                };
                let same = meta.size == e.size && meta.checksum.as_deref() == Some(&e.checksum);
                Ok(if same {
                    Action::Skip
                } else if opts.replace {
                    Action::Replace
                } else {
                    Action::Conflict
                })
            }
        })
        .buffered(opts.concurrency.max(1) * 2)
        .try_collect()
        .await?;
    for (e, a) in entries.iter_mut().zip(actions) {
        e.action = a;
    }
    Ok(Plan {
        product_dir,
        entries,
    })
}

/// Carries out a plan: refuses conflicts, then uploads kind by kind.
pub async fn execute<S: Store>(
    store: &S,
    plan: &Plan,
    opts: &Options,
    observer: &dyn Observer,
) -> Result<Report> {
    let conflicts: Vec<&Entry> = plan
        .entries
        .iter()
        .filter(|e| e.action == Action::Conflict)
        .collect();
    if let Some(first) = conflicts.first() {
        return Err(Error::Publish(format!(
            "{}: already published with other content ({} object{} differ{}); nothing was uploaded: \
             pass --replace to replace {}, or --dry-run to list them",
            store.url_of(&first.key),
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" },
            if conflicts.len() == 1 { "s" } else { "" },
            if conflicts.len() == 1 { "it" } else { "them" },
        )));
    }
    let todo: Vec<&Entry> = plan
        .entries
        .iter()
        .filter(|e| matches!(e.action, Action::Upload | Action::Replace))
        .collect();
    let mut report = Report {
        unchanged: plan.count(Action::Skip),
        ..Report::default()
    };
    observer.start(todo.len(), todo.iter().map(|e| e.size).sum());
    let started = Instant::now();
    let state_dir = plan.product_dir.join(STATE_DIR).join("uploads");
    let bytes = BytesOf(observer);
    let concurrency = opts.concurrency.max(1);
    let limiter = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));

    for kind in [
        Kind::Data,
        Kind::Item,
        Kind::Collection,
        Kind::Catalog,
        Kind::Index,
    ] {
        let phase: Vec<&Entry> = todo.iter().copied().filter(|e| e.kind == kind).collect();
        // Objects and parts share `concurrency` permits: several files go
        // up at once, and memory stays bounded by concurrency x part size.
        let one = |e: &'_ Entry| {
            let bytes = &bytes;
            let state_dir = &state_dir;
            let limiter = &limiter;
            let e = e.clone();
            async move {
                let mode = if e.action == Action::Replace {
                    PutMode::Replace
                } else {
                    PutMode::Create
                };
                let put = if let Some(body) = &e.body {
                    let r = store.put(&e.key, body.clone(), mode).await?;
                    bytes.advance(r.size);
                    r
                } else {
                    let upload = FileUpload {
                        checksum: Some(e.checksum.clone()),
                        mode,
                        part_size: opts.part_size,
                        concurrency,
                        state_dir: Some(state_dir.clone()),
                        limiter: Some(limiter.clone()),
                    };
                    store.put_file(&e.key, &e.source, &upload, bytes).await?
                };
                if put.checksum != e.checksum {
                    return Err(Error::Checksum {
                        key: store.url_of(&e.key),
                        expected: e.checksum.clone(),
                        actual: put.checksum,
                    });
                }
                observer.object_done(&e);
                Ok::<_, Error>((e.action, put))
            }
        };
        let done: Vec<_> = stream::iter(phase)
            .map(&one)
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for (action, put) in done {
            if action == Action::Replace {
                report.replaced += 1;
            } else {
                report.uploaded += 1;
            }
            report.bytes_sent += put.bytes_sent;
            report.parts_sent += put.parts_sent;
            report.parts_reused += put.parts_reused;
        }
    }
    observer.finish();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
