//! Checking a published S3 store: the objects under the prefix are copied
//! to a temporary directory in parallel, as raw bytes (no checksum
//! verification on the way, so that a damaged object becomes a finding
//! instead of a failed download), and the local check runs on the copy.

use anyhow::Context;
use arco_store::{AnyStore, ObjectMeta, S3Options, Store, StoreUrl};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::path::Path;

/// Ranged reads of this size, for objects of any size in bounded memory.
const PART: u64 = 16 << 20;
/// Objects fetched at once.
const CONCURRENCY: usize = 16;

/// Copies every object under `url` into `dir`; returns (objects, bytes).
pub fn mirror(url: &str, endpoint: Option<&str>, dir: &Path) -> anyhow::Result<(usize, u64)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let parsed = StoreUrl::parse(url)?;
        let opts = S3Options {
            endpoint: endpoint.map(str::to_string),
            ..S3Options::default()
        };
        let store = AnyStore::open(&parsed, &opts).await?;
        let objects = store.list("").await.with_context(|| {
            format!("{url}: cannot list the store; check the URL, the endpoint and the credentials")
        })?;
        if objects.is_empty() {
            anyhow::bail!("{url}: no objects there; check the bucket and prefix");
        }
        let bytes: u64 = objects.iter().map(|o| o.size).sum();
        let n = objects.len();
        stream::iter(objects)
            .map(|o| fetch(&store, o, dir))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok((n, bytes))
    })
}

async fn fetch(store: &AnyStore, o: ObjectMeta, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(&o.key);
    if o.key.split('/').any(|p| p == ".." || p.is_empty()) {
        anyhow::bail!("{}: an object key that cannot be a local path", o.key);
    }
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut file = tokio::fs::File::create(&path).await?;
    let mut at = 0;
    while at < o.size {
        let end = (at + PART).min(o.size);
        let part = store
            .get_range(&o.key, at..end)
            .await
            .with_context(|| format!("{}: cannot read bytes {at}..{end}", o.key))?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &part).await?;
        at = end;
    }
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    Ok(())
}
