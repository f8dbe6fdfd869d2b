//! `arco publish`: a product directory into a local directory or an S3
//! bucket, data first and STAC last, idempotent, resumable.

use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_store::publish::{self, Action, Entry, Observer, Plan};
use arco_store::{AnyStore, ChecksumMode, S3Options, Store, StoreUrl};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const EXAMPLES: &str = "\
Examples:
  # Into a local directory (no server needed)
  arco publish out/ndvi --to ./published

  # Into SeaweedFS (or any S3): credentials from AWS_ACCESS_KEY_ID /
  # AWS_SECRET_ACCESS_KEY or AWS_PROFILE, endpoint from AWS_ENDPOINT_URL or --endpoint
  arco publish out/ndvi --to s3://eo-data/ndvi/v1 --endpoint http://127.0.0.1:8333

  # What would change, without sending anything
  arco publish out/ndvi --to s3://eo-data/ndvi/v1 --dry-run

  # After re-processing: replace the objects whose content changed
  arco publish out/ndvi --to s3://eo-data/ndvi/v1 --replace

  # An older S3 server that rejects x-amz-checksum-* headers
  arco publish out/ndvi --to s3://eo-data/ndvi --checksum-mode when-required

  # Several products under one catalog: each in its own prefix, and
  # s3://eo-data/catalog/items.parquet + catalog.json updated with its Items
  arco publish out/ndvi --to s3://eo-data/catalog/ndvi --stac-index

  # Abort the unfinished multipart uploads arco left behind (and only those)
  arco publish out/ndvi --to s3://eo-data/ndvi/v1 --cleanup

Order: data files, then Items, Collections, Catalogs, and the stac-geoparquet
index last, so a reader never sees a catalog entry whose data is not there.
STAC hrefs are rewritten to absolute URLs under the destination (--base-url to
name a public URL instead). Publishing again uploads nothing that is already
there with the same sha2-256; an object with other content is replaced only
with --replace, and only once the new one is complete. An interrupted upload
resumes from its finished parts (recorded in PRODUCT_DIR/.arco/uploads).";

/// `--checksum-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksumArg {
    /// Send x-amz-checksum-sha256 with every object and part (the server verifies it).
    WhenSupported,
    /// Only where an operation requires one (older S3 servers: Ceph, old MinIO).
    WhenRequired,
}

/// Arguments of `arco publish`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent flags, as users write them
pub struct PublishArgs {
    /// Product directory (data files, STAC Items, collection.json) or a
    /// catalog tree written by `arco stac catalog`.
    #[arg(value_name = "PRODUCT_DIR")]
    pub product_dir: PathBuf,

    /// Destination: a directory, or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub to: String,

    /// Merge this product's Items into the stac-geoparquet index
    /// (items.parquet) and link it from the root catalog.json, both one level
    /// above the destination (s3://b/catalog/ for --to s3://b/catalog/ndvi).
    #[arg(long)]
    pub stac_index: bool,

    /// List what would be uploaded, replaced or refused; send nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Replace objects already published with other content (after the new
    /// one is complete); without it such objects are refused.
    #[arg(long)]
    pub replace: bool,

    /// Abort the unfinished multipart uploads arco recorded for this product
    /// and destination (never other clients'), then stop.
    #[arg(long)]
    pub cleanup: bool,

    /// S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
    /// profile's, or AWS itself). A custom endpoint uses path-style addressing.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Public URL of the destination, for STAC hrefs [default: the endpoint,
    /// bucket and prefix; file:// for a directory].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// When to send S3 flexible checksums.
    #[arg(long, value_enum, default_value = "when-supported")]
    pub checksum_mode: ChecksumArg,

    /// Multipart part size (files larger than this go up in parts), e.g.
    /// 8MiB, 64MiB; at least 5MiB.
    #[arg(long, default_value = "8MiB", value_parser = parse_size, value_name = "SIZE")]
    pub part_size: u64,

    /// Requests in flight at once (small files, or parts of one large file).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub concurrency: usize,
}

/// `16MiB`, `8MB`, `5242880`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: write a size such as 16MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        _ => return Err(format!("{s:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    let v = n * mult;
    if v < 5 << 20 {
        return Err(format!("{s}: S3 parts are at least 5MiB"));
    }
    Ok(v)
}

fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

/// Bytes, files, rate and ETA on one bar.
struct Bar {
    inner: Option<ProgressBar>,
    files: AtomicUsize,
    total: AtomicUsize,
}

impl Observer for Bar {
    fn start(&self, files: usize, bytes: u64) {
        self.total.store(files, Ordering::Relaxed);
        if let Some(b) = &self.inner {
            b.set_length(bytes);
            b.set_message(format!("0/{files} files"));
        }
    }
    fn bytes(&self, n: u64) {
        if let Some(b) = &self.inner {
            b.inc(n);
        }
    }
    fn object_done(&self, _: &Entry) {
        let done = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.inner {
            b.set_message(format!(
                "{done}/{} files",
                self.total.load(Ordering::Relaxed)
            ));
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.inner {
            b.finish_and_clear();
        }
    }
}

fn entry_json(e: &Entry, store: &AnyStore) -> serde_json::Value {
    serde_json::json!({
        "key": e.key,
        "url": store.url_of(&e.key),
        "kind": e.kind,
        "action": e.action,
        "size": e.size,
        "checksum": e.checksum,
    })
}

pub fn run(args: &PublishArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let url = StoreUrl::parse(&args.to)?;
    if !args.product_dir.is_dir() {
        bail!(
            "{}: not a directory: publish takes a product directory (arco convert ... -o DIR)",
            args.product_dir.display()
        );
    }
    if let StoreUrl::Local(dest) = &url {
        let abs = |p: &std::path::Path| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(p))
        };
        if abs(dest).starts_with(abs(&args.product_dir)) {
            bail!(
                "{}: the destination is inside the product directory {}; publish somewhere else",
                dest.display(),
                args.product_dir.display()
            );
        }
    }
    let s3 = S3Options {
        endpoint: args.endpoint.clone(),
        checksum_mode: match args.checksum_mode {
            ChecksumArg::WhenSupported => ChecksumMode::WhenSupported,
            ChecksumArg::WhenRequired => ChecksumMode::WhenRequired,
        },
        base_url: args.base_url.clone(),
        ..S3Options::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args, &url, &s3, printer))
}

async fn run_async(
    args: &PublishArgs,
    url: &StoreUrl,
    s3: &S3Options,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut store = AnyStore::open(url, s3).await?;
    if let (AnyStore::Local(local), Some(base)) = (&mut store, &args.base_url) {
        *local = local.clone().with_base_url(base);
    }
    let state_dir = args.product_dir.join(publish::STATE_DIR).join("uploads");

    if args.cleanup {
        let report = match &store {
            AnyStore::S3(s) => s
                .abort_recorded_uploads(&state_dir)
                .await?
                .into_iter()
                .map(|a| {
                    serde_json::json!({"url": a.url, "upload_id": a.upload_id, "aborted": a.aborted})
                })
                .collect::<Vec<_>>(),
            AnyStore::Local(l) => l
                .remove_temp_files()
                .await?
                .into_iter()
                .map(|p| serde_json::json!({"path": p.display().to_string(), "aborted": true}))
                .collect(),
        };
        if printer.json() {
            printer.emit_json(&serde_json::json!({
                "destination": store.location(),
                "cleaned": report,
            }))?;
        } else {
            printer.line(&format!(
                "cleanup: {} unfinished upload{} of arco aborted at {}",
                report.len(),
                if report.len() == 1 { "" } else { "s" },
                store.location()
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let opts = publish::Options {
        replace: args.replace,
        part_size: args.part_size,
        concurrency: args.concurrency.max(1),
    };
    let plan: Plan = publish::plan(&store, &args.product_dir, &opts).await?;

    if args.dry_run {
        return dry_run(&plan, &store, args.stac_index, printer);
    }

    let bar = Bar {
        inner: printer.bars().then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "publish [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        }),
        files: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
    };
    let report = publish::execute(&store, &plan, &opts, &bar).await?;
    // The index and the root catalog last: everything they name is there.
    let index = if args.stac_index {
        Some(update_index(&store, &plan).await?)
    } else {
        None
    };
    let rate = if report.seconds > 0.0 {
        mib(report.bytes_sent) / report.seconds
    } else {
        0.0
    };
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "destination": store.location(),
            "base_url": store.url_of("").trim_end_matches('/'),
            "uploaded": report.uploaded,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "bytes_sent": report.bytes_sent,
            "parts_sent": report.parts_sent,
            "parts_reused": report.parts_reused,
            "seconds": report.seconds,
            "mib_per_second": rate,
            "objects": plan.entries.iter().map(|e| entry_json(e, &store)).collect::<Vec<_>>(),
            "index": index,
        }))?;
    } else {
        let sent = report.uploaded + report.replaced;
        printer.line(&format!(
            "published {} to {}: {sent} object{} sent ({:.1} MiB in {:.1} s, {rate:.1} MiB/s), {} replaced, {} unchanged",
            plan.product_dir.display(),
            store.location(),
            if sent == 1 { "" } else { "s" },
            mib(report.bytes_sent),
            report.seconds,
            report.replaced,
            report.unchanged,
        ));
        if report.parts_reused > 0 {
            printer.note(&format!(
                "resumed: {} part{} of an interrupted upload were already on the server",
                report.parts_reused,
                if report.parts_reused == 1 { "" } else { "s" }
            ));
        }
        if let Some(ix) = &index {
            printer.line(&format!(
                "index: {} ({} items, {} from this product), catalog {}",
                ix["index"].as_str().unwrap_or_default(),
                ix["items"],
                ix["added"],
                ix["catalog"].as_str().unwrap_or_default()
            ));
        }
        if let Some(root) = plan
            .entries
            .iter()
            .find(|e| e.kind == publish::Kind::Catalog)
            .or_else(|| {
                plan.entries
                    .iter()
                    .find(|e| e.kind == publish::Kind::Collection)
            })
        {
            printer.line(&format!("STAC: {}", store.url_of(&root.key)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--stac-index`: merges the published Items into `items.parquet` one
/// level above the destination (`s3://b/catalog/` for `--to s3://b/catalog/ndvi`;
/// the bucket root stays itself), where several products share one index
/// (rows of other products kept; a row with the same collection and id
/// replaced), and links the product from the root `catalog.json` there
/// (created when absent, other links kept). Both are merges of what is
/// stored, so they are replaced without `--replace`; each new object is
/// complete before it replaces the old one.
async fn update_index(store: &AnyStore, plan: &Plan) -> anyhow::Result<serde_json::Value> {
    use arco_catalog::index::{encode, merge, read_index, INDEX_FILE};
    use arco_store::PutMode;
    use serde_json::{json, Value};

    let root = store.parent();
    let had_index = root.head(INDEX_FILE).await?.is_some();
    let existing = if had_index {
        let bytes = root.get(INDEX_FILE).await?;
        let tmp = tempfile_in(&plan.product_dir)?;
        std::fs::write(tmp.path(), &bytes)
            .with_context(|| format!("{}: cannot write", tmp.path().display()))?;
        read_index(tmp.path()).with_context(|| root.url_of(INDEX_FILE))?
    } else {
        Vec::new()
    };
    let (rows, added) = merge(existing, plan.items());
    let bytes = encode(&rows)?;
    let mode = if had_index {
        PutMode::Replace
    } else {
        PutMode::Create
    };
    root.put(INDEX_FILE, bytes, mode).await?;

    // The root catalog links the product's own catalog, else its collections.
    let catalog_key = "catalog.json";
    let catalog_url = root.url_of(catalog_key);
    let children: Vec<String> = if plan.entries.iter().any(|e| e.key == catalog_key) {
        vec![store.url_of(catalog_key)]
    } else {
        plan.entries
            .iter()
            .filter(|e| e.kind == publish::Kind::Collection)
            .map(|e| store.url_of(&e.key))
            .collect()
    };
    let old = if root.head(catalog_key).await?.is_some() {
        Some(root.get(catalog_key).await?)
    } else {
        None
    };
    let mut catalog: Value = match &old {
        Some(b) => serde_json::from_slice(b)
            .with_context(|| format!("{catalog_url}: not JSON; remove it or publish elsewhere"))?,
        None => json!({
            "type": "Catalog",
            "stac_version": arco_catalog::STAC_VERSION,
            "id": "arco",
            "description": format!("Catalog of the products published by arco {}.", arco_catalog::ARCO_VERSION),
            "links": [],
        }),
    };
    if catalog["type"] != "Catalog" {
        bail!("{catalog_url}: exists and is not a STAC Catalog; publish to another prefix");
    }
    let links = catalog["links"]
        .as_array_mut()
        .context("the root catalog has no links array")?;
    links.retain(|l| l["rel"] != "self" && l["rel"] != "root");
    for url in children {
        if !links
            .iter()
            .any(|l| l["rel"] == "child" && l["href"] == url.as_str())
        {
            links.push(json!({"rel": "child", "href": url, "type": "application/json"}));
        }
    }
    links.insert(
        0,
        json!({"rel": "self", "href": catalog_url, "type": "application/json"}),
    );
    links.insert(
        0,
        json!({"rel": "root", "href": catalog_url, "type": "application/json"}),
    );
    let mut text = serde_json::to_vec_pretty(&catalog)?;
    text.push(b'\n');
    if old.as_deref() != Some(text.as_slice()) {
        let mode = if old.is_some() {
            PutMode::Replace
        } else {
            PutMode::Create
        };
        root.put(catalog_key, text, mode).await?;
    }
    Ok(json!({
        "index": root.url_of(INDEX_FILE),
        "items": rows.len(),
        "added": added,
        "catalog": catalog_url,
    }))
}

/// A temporary file inside arco's record directory of the product.
fn tempfile_in(product_dir: &std::path::Path) -> anyhow::Result<TempFile> {
    let dir = product_dir.join(publish::STATE_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    Ok(TempFile(
        dir.join(format!("index-{}.parquet", std::process::id())),
    ))
}

/// Removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn dry_run(
    plan: &Plan,
    store: &AnyStore,
    stac_index: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "destination": store.location(),
            "dry_run": true,
            "upload": plan.count(Action::Upload),
            "replace": plan.count(Action::Replace),
            "conflict": plan.count(Action::Conflict),
            "unchanged": plan.count(Action::Skip),
            "bytes_to_send": plan.bytes_to_send(),
            "index": stac_index.then(|| store.parent().url_of(arco_catalog::index::INDEX_FILE)),
            "objects": plan.entries.iter().map(|e| entry_json(e, store)).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in plan.entries.iter().filter(|e| e.action != Action::Skip) {
        let what = match e.action {
            Action::Conflict => "conflict (differs; needs --replace)",
            a => a.label(),
        };
        printer.line(&format!(
            "{what:>9}  {}  ({:.2} MiB)",
            store.url_of(&e.key),
            mib(e.size)
        ));
    }
    if stac_index {
        printer.line(&format!(
            "   update  {} (+{} items) and the root catalog",
            store.parent().url_of(arco_catalog::index::INDEX_FILE),
            plan.items().len()
        ));
    }
    printer.line(&format!(
        "dry run: {} to upload, {} to replace, {} conflicting, {} unchanged ({:.1} MiB to send); nothing was sent",
        plan.count(Action::Upload),
        plan.count(Action::Replace),
        plan.count(Action::Conflict),
        plan.count(Action::Skip),
        mib(plan.bytes_to_send()),
    ));
    Ok(ExitCode::SUCCESS)
}
