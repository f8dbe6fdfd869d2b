//! The 4C checks of arco on a product directory, a collection or a whole
//! catalog tree: **Complete** (no missing dates, tiles, assets or pixels),
//! **Consistent** (one grid, CRS, dtype and schema; STAC equal to the
//! files), **Current** (the latest date within one cadence of the
//! reference date) and **Correct** (checksums, COG layout, GeoParquet and
//! PMTiles headers, STAC schemas, values within their declared range).
//!
//! Each rule records a [`report::Finding`] naming the C, the rule, the
//! object and what to do; [`run`] returns the [`report::Report`].

pub mod bytes;
pub mod cadence;
pub mod cog;
mod collection;
pub mod formats;
mod item;
pub mod raster;
pub mod report;
pub mod tree;

use cadence::Cadence;
use chrono::NaiveDate;
use rayon::prelude::*;
use report::{Coverage, Findings, Report, Severity, C};
use std::path::{Path, PathBuf};

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Pixels of every raster asset while the total stays under the budget,
    /// headers and checksums only beyond it.
    Auto {
        /// Raster bytes (uncompressed) to read at most.
        budget: u64,
    },
    /// This fraction (0-1] of block rows of every raster asset.
    Fraction(f64),
    /// No pixel reads: headers, metadata and checksums only.
    HeadersOnly,
}

/// Options of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Reference date for Current.
    pub as_of: NaiveDate,
    /// The cadence when the collection does not declare one.
    pub cadence: Option<Cadence>,
    /// Valid-data mask (raster on the product's grid, or vector).
    pub mask: Option<PathBuf>,
    /// Valid value range for data bands, overriding the Items' statistics.
    pub range: Option<(f64, f64)>,
    /// Pixel sampling.
    pub sampling: Sampling,
    /// STAC schema directory (`None`: the catalog crate's default lookup).
    pub schemas: Option<PathBuf>,
    /// Skip STAC schema validation.
    pub no_schemas: bool,
    /// Verify checksums (on by default).
    pub checksums: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            as_of: chrono::Utc::now().date_naive(),
            cadence: None,
            mask: None,
            range: None,
            sampling: Sampling::Auto { budget: 4 << 30 },
            schemas: None,
            no_schemas: false,
            checksums: true,
        }
    }
}

/// The check could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The target could not be opened.
    #[error(transparent)]
    Tree(#[from] tree::TreeError),
    /// An option is unusable.
    #[error("{0}")]
    Option(String),
}

/// Progress callbacks (items checked).
pub use arco_core::Progress;

/// Runs every rule on `target`.
pub fn run(
    target: &Path,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<Report, CheckError> {
    if let Some(m) = &opts.mask {
        if !m.exists() {
            return Err(CheckError::Option(format!(
                "--mask {}: no such file; give a raster on the product's grid or a vector layer",
                m.display()
            )));
        }
    }
    if let Sampling::Fraction(f) = opts.sampling {
        if !(f > 0.0 && f <= 1.0) {
            return Err(CheckError::Option(format!(
                "--sample {f}: give a share between 0 and 100 % (e.g. --sample 1%)"
            )));
        }
    }
    let tree = tree::open(target)?;
    // GDAL lists a file's directory on every open to find sidecar files; in
    // a product directory of thousands of files that makes pixel reads
    // quadratic. COGs need no sidecars (a user's own setting wins).
    if gdal::config::get_config_option("GDAL_DISABLE_READDIR_ON_OPEN", "")
        .unwrap_or_default()
        .is_empty()
    {
        let _ = gdal::config::set_config_option("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
    }
    let mut findings = Findings::default();
    let mut coverage = Coverage {
        collections: tree.collections.len() as u64,
        items: tree.items().count() as u64,
        ..Coverage::default()
    };
    for (href, why) in &tree.broken_children {
        findings.error(
            C::Complete,
            "child-exists",
            href.clone(),
            format!("a catalog links to it but it cannot be read: {why}"),
            "publish the collection again, or remove the link",
        );
    }
    findings.checked_n(C::Complete, tree.broken_children.len() as u64);

    // How many block rows of each raster to read.
    let stride = pixel_stride(&tree, opts);
    coverage.sampling = match (opts.sampling, stride) {
        (Sampling::HeadersOnly, _) | (_, None) => {
            "pixels not read (headers, metadata and checksums only)".to_string()
        }
        (Sampling::Fraction(f), Some(s)) => {
            format!(
                "pixels sampled: 1 block row in {s} ({:.2} % asked)",
                f * 100.0
            )
        }
        (Sampling::Auto { .. }, Some(_)) => "every pixel read".to_string(),
    };
    if matches!(opts.sampling, Sampling::Auto { .. }) && stride.is_none() {
        coverage.sampling.push_str(
            ": the rasters are larger than the pixel budget; pass --sample 1% to sample them",
        );
    }

    let items: Vec<_> = tree.items().collect();
    let masks = raster::MaskCache::default();
    progress.start("check", items.len() as u64);
    let results: Vec<(Findings, item::ItemStats)> = items
        .par_iter()
        .map(|(_, i)| {
            let r = item::check(&tree, i, opts, &masks, stride);
            progress.advance(1);
            r
        })
        .collect();
    progress.finish();
    for (f, st) in results {
        findings.extend(f);
        coverage.assets += st.assets;
        coverage.bytes_hashed += st.bytes_hashed;
        coverage.pixel_reads += st.pixel_reads;
    }
    for c in &tree.collections {
        findings.extend(collection::check(c, opts));
    }
    if !opts.no_schemas {
        findings.extend(schemas(&tree, opts));
    }
    Ok(findings.into_report(
        target.display().to_string(),
        opts.as_of.to_string(),
        coverage,
    ))
}

/// Block-row stride for pixel reads, `None` for no pixel reads.
fn pixel_stride(tree: &tree::Tree, opts: &CheckOptions) -> Option<usize> {
    match opts.sampling {
        Sampling::HeadersOnly => None,
        Sampling::Fraction(f) => Some((1.0 / f).round().max(1.0) as usize),
        Sampling::Auto { budget } => {
            let total: u64 = tree.items().map(|(_, i)| item::raster_bytes(&i.json)).sum();
            (total <= budget).then_some(1)
        }
    }
}

/// Every STAC object against the official schemas (core and extensions).
fn schemas(tree: &tree::Tree, opts: &CheckOptions) -> Findings {
    let mut f = Findings::default();
    let mut paths: Vec<PathBuf> = tree.catalogs.iter().map(|n| n.path.clone()).collect();
    for c in &tree.collections {
        paths.push(c.node.path.clone());
        paths.extend(c.items.iter().map(|i| i.path.clone()));
    }
    let store = arco_catalog::schemas::SchemaStore::locate(opts.schemas.as_deref());
    let mut store = match store {
        Ok(s) => s,
        Err(e) => {
            f.add(
                C::Correct,
                Severity::Warning,
                "stac-schema",
                tree.root.display().to_string(),
                format!("STAC schemas not checked: {e}"),
                "pass --schemas DIR or set ARCO_STAC_SCHEMAS (or --no-schemas to skip on purpose)",
            );
            return f;
        }
    };
    f.checked_n(C::Correct, paths.len() as u64);
    match arco_catalog::validate::validate_paths(&paths, &mut store) {
        Ok(r) => {
            for i in r.issues {
                f.add(
                    C::Correct,
                    if i.error { Severity::Error } else { Severity::Warning },
                    "stac-schema",
                    i.file.clone(),
                    format!("{}: {} [{}]", if i.path.is_empty() { "/" } else { &i.path }, i.message, i.rule),
                    "fix the field (arco stac validate shows the same), or rewrite the STAC with arco",
                );
            }
        }
        Err(e) => f.add(
            C::Correct,
            Severity::Warning,
            "stac-schema",
            tree.root.display().to_string(),
            format!("STAC schemas not checked: {e}"),
            "pass --schemas DIR or set ARCO_STAC_SCHEMAS",
        ),
    }
    f
}
