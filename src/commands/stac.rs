//! `arco stac catalog|validate|register`, and the STAC options that
//! `arco convert` and `arco reconstruct` take for product directories.

use crate::printer::Printer;
use anyhow::{bail, Context};
use arco_catalog::index::IndexOptions;
use arco_catalog::{
    CatalogOptions, CollectionConfig, Processing, ProductOptions, ProductOutput, ProductStac,
    SchemaStore,
};
use arco_core::Record;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub const EXAMPLES: &str = "\
Examples:
  # Convert into product directories (data, one Item per product, collection.json)
  arco convert ndvi_*.tif --to cog -o stac/ndvi/ --collection ndvi --license CC-BY-4.0

  # A self-contained root catalog over them (all hrefs relative)
  arco stac catalog stac/ndvi stac/lst -o stac/ --title 'Vegetation'

  # The same, with the stac-geoparquet index of all Items beside catalog.json
  arco stac catalog stac/ndvi -o stac/ --index

  # Validate a whole tree offline against the official schemas
  arco stac validate stac/catalog.json --schemas ~/stac-schemas   # a copy of the official schemas

  # The payload to register the published catalog in the STAC Index
  arco stac register https://data.example.org/stac/catalog.json --slug vegetation \\
      --title 'Vegetation indices' --summary '...50 to 300 characters...'";

/// STAC options of the verbs that write product directories.
#[derive(Debug, Clone, Args)]
pub struct StacArgs {
    /// Collection id of a product directory [default: the directory's name].
    #[arg(long, value_name = "ID", help_heading = "STAC")]
    pub collection: Option<String>,

    /// Licence of the data: an SPDX identifier or expression (CC-BY-4.0),
    /// or 'other' [default: other].
    #[arg(long, value_name = "SPDX", help_heading = "STAC")]
    pub license: Option<String>,

    /// Collection title, description, licence, providers, keywords from a
    /// TOML or JSON file (keys: id, title, description, license,
    /// license_url, providers [{name, roles, url}], keywords).
    #[arg(long, value_name = "FILE", help_heading = "STAC")]
    pub stac_config: Option<PathBuf>,

    /// Write no STAC into a product directory.
    #[arg(long, help_heading = "STAC")]
    pub no_stac: bool,
}

impl StacArgs {
    /// The collection settings: the config file, overridden by the options.
    pub fn config(&self) -> anyhow::Result<CollectionConfig> {
        let mut c = match &self.stac_config {
            Some(p) => CollectionConfig::from_file(p).context("--stac-config")?,
            None => CollectionConfig::default(),
        };
        if let Some(id) = &self.collection {
            c.id = Some(id.clone());
        }
        if let Some(l) = &self.license {
            arco_catalog::collection::check_license(l)
                .map_err(|e| anyhow::anyhow!("--license: {e}"))?;
            c.license = Some(l.clone());
        }
        Ok(c)
    }
}

/// Writes the Items and `collection.json` of a product directory.
/// `outputs` pairs each record with its role (`data`, `quality`) and, for
/// GeoZarr, its variable name. Returns `None` with `--no-stac`.
pub fn write_product_stac(
    dir: &Path,
    outputs: &[(&Record, &str, Option<&str>)],
    args: &StacArgs,
    processing: Option<Processing>,
) -> anyhow::Result<Option<ProductStac>> {
    if args.no_stac || outputs.is_empty() {
        return Ok(None);
    }
    let outs: Vec<ProductOutput> = outputs
        .iter()
        .map(|(record, role, variable)| ProductOutput {
            record,
            role,
            variable: *variable,
        })
        .collect();
    let opts = ProductOptions {
        config: args.config()?,
        processing,
    };
    Ok(Some(arco_catalog::write_product_dir(dir, &outs, &opts)?))
}

/// The JSON summary of what a product directory's STAC holds.
pub fn summary(s: &ProductStac) -> serde_json::Value {
    serde_json::json!({
        "collection": s.collection,
        "collection_id": s.collection_id,
        "items": s.items,
    })
}

/// `arco stac`.
#[derive(Debug, Args)]
pub struct StacCmd {
    #[command(subcommand)]
    pub command: StacCommand,
}

/// The `arco stac` verbs.
#[derive(Debug, Subcommand)]
pub enum StacCommand {
    /// Build or update a self-contained root catalog.json over product directories.
    #[command(after_help = EXAMPLES)]
    Catalog(CatalogArgs),
    /// Validate STAC files or whole trees against the official JSON Schemas, offline.
    ///
    /// Exit codes: 0 valid, 1 problems found, 2 could not validate.
    #[command(after_help = EXAMPLES)]
    Validate(ValidateArgs),
    /// Print the payload that registers a public catalog in the STAC Index, checked.
    #[command(after_help = EXAMPLES)]
    Register(RegisterArgs),
}

/// Arguments of `arco stac catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Product directories (each with a collection.json).
    #[arg(required = true, value_name = "PRODUCT_DIR")]
    pub dirs: Vec<PathBuf>,

    /// Directory of catalog.json; it must hold every product directory
    /// [default: their common parent].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Catalog id (when it is created) [default: the directory's name].
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Catalog title.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    /// Catalog description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Also write (or update) items.parquet, the stac-geoparquet index of
    /// every Item, beside catalog.json.
    #[arg(long)]
    pub index: bool,

    /// Rewrite the tree to the published layout: every href absolute
    /// under this URL, with self links (do this last, on the copy you serve).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

/// Arguments of `arco stac validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// STAC files (a Catalog or Collection brings in what it links to) or
    /// directories (every STAC JSON file under them).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Directory of JSON Schemas with a schema-map.json (URL -> file)
    /// [default: $ARCO_STAC_SCHEMAS, else a cache filled over the network].
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,

    /// Treat warnings (links to files that are not there) as problems.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `arco stac register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// URL of the published root catalog.json (or STAC API landing page).
    #[arg(value_name = "CATALOG_URL")]
    pub url: String,

    /// Short name in the index, 3-50 of a-z 0-9 - [default: from the title].
    #[arg(long)]
    pub slug: Option<String>,

    /// Title, 3-50 characters [default: the catalog's title].
    #[arg(long)]
    pub title: Option<String>,

    /// Summary, 50-300 characters [default: the catalog's description].
    #[arg(long)]
    pub summary: Option<String>,

    /// public, protected or private.
    #[arg(long, default_value = "public")]
    pub access: String,

    /// How to get access (protected/private), 100-1000 characters.
    #[arg(long, value_name = "TEXT")]
    pub access_info: Option<String>,

    /// The URL is a STAC API rather than a static catalog.
    #[arg(long)]
    pub api: bool,

    /// Do not fetch the URL to check it serves a STAC catalog.
    #[arg(long)]
    pub offline: bool,
}

/// Runs `arco stac ...`.
pub fn run(cmd: &StacCmd, printer: &Printer) -> anyhow::Result<ExitCode> {
    match &cmd.command {
        StacCommand::Catalog(a) => catalog(a, printer),
        StacCommand::Validate(a) => validate(a, printer),
        StacCommand::Register(a) => register(a, printer),
    }
}

/// The deepest directory holding every path.
fn common_parent(dirs: &[PathBuf]) -> PathBuf {
    let abs: Vec<PathBuf> = dirs
        .iter()
        .map(|d| arco_catalog::json::absolute(d))
        .collect();
    let mut parent = abs[0]
        .parent()
        .map_or_else(|| abs[0].clone(), Path::to_path_buf);
    while !abs.iter().all(|d| d.starts_with(&parent)) {
        if !parent.pop() {
            break;
        }
    }
    parent
}

fn catalog(a: &CatalogArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out = a.output.clone().unwrap_or_else(|| common_parent(&a.dirs));
    let opts = CatalogOptions {
        id: a.id.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
    };
    let (report, index) = if a.index {
        let r = arco_catalog::update_index(
            &out,
            &a.dirs,
            &IndexOptions {
                catalog: opts,
                base_url: a.base_url.clone(),
            },
        )?;
        let cat = arco_catalog::CatalogReport {
            catalog: r.catalog.clone(),
            collections: r.collections,
            ..Default::default()
        };
        (cat, Some(r))
    } else {
        (arco_catalog::build_catalog(&out, &a.dirs, &opts)?, None)
    };
    let published = match &a.base_url {
        Some(url) => Some(arco_catalog::publish_layout(&out, url)?.len()),
        None => None,
    };
    printer.line(&format!(
        "{} {} ({} collection{}{})",
        if report.updated { "updated" } else { "wrote" },
        report.catalog.display(),
        report.collections,
        if report.collections == 1 { "" } else { "s" },
        if report.added > 0 {
            format!(", {} added", report.added)
        } else {
            String::new()
        }
    ));
    if let Some(i) = &index {
        printer.line(&format!(
            "index {}: {} items ({} added or replaced)",
            i.index.display(),
            i.items,
            i.added
        ));
    }
    if let Some(n) = published {
        printer.line(&format!("published layout: {n} files with absolute hrefs"));
    }
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "stac catalog",
            "catalog": report.catalog,
            "collections": report.collections,
            "added": report.added,
            "index": index,
            "published_files": published,
            "elapsed_s": started.elapsed().as_secs_f64(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(a: &ValidateArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut store = SchemaStore::locate(a.schemas.as_deref())?;
    let report = arco_catalog::validate_paths(&a.paths, &mut store)?;
    let errors = report.errors();
    let warnings = report.issues.len() - errors;
    for i in &report.issues {
        printer.line(&format!(
            "{}: {i}",
            if i.error { "invalid" } else { "warning" }
        ));
    }
    let failed = errors > 0 || (a.strict && warnings > 0);
    let elapsed = started.elapsed().as_secs_f64();
    printer.line(&format!(
        "{}: {} file{} ({} items, {} collections, {} catalogs), {errors} error{}, {warnings} warning{} in {elapsed:.2} s",
        if failed { "INVALID" } else { "valid" },
        report.files,
        if report.files == 1 { "" } else { "s" },
        report.items,
        report.collections,
        report.catalogs,
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    ));
    if report.files == 0 {
        bail!(
            "{}: no STAC files found (JSON files with stac_version)",
            a.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "stac validate",
            "valid": !failed,
            "schemas": store.dir(),
            "files": report.files,
            "items": report.items,
            "collections": report.collections,
            "catalogs": report.catalogs,
            "errors": errors,
            "warnings": warnings,
            "issues": report.issues,
            "elapsed_s": elapsed,
        }))?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn register(a: &RegisterArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let fetched = if a.offline {
        None
    } else {
        Some(arco_catalog::register::fetch_catalog(&a.url)?)
    };
    let from = |k: &str| {
        fetched
            .as_ref()
            .and_then(|v| v[k].as_str().map(str::to_string))
    };
    let title = a
        .title
        .clone()
        .or_else(|| from("title"))
        .unwrap_or_default();
    let summary = a
        .summary
        .clone()
        .or_else(|| from("description"))
        .unwrap_or_default();
    let slug = a
        .slug
        .clone()
        .unwrap_or_else(|| arco_catalog::slugify(&title));
    let payload = arco_catalog::register_payload(
        &a.url,
        &slug,
        &title,
        &summary,
        &a.access,
        a.access_info.as_deref(),
        a.api,
    )
    .map_err(|errs| anyhow::anyhow!("STAC Index would refuse this: {}", errs.join("; ")))?;
    printer.emit_json(&serde_json::to_value(&payload)?)?;
    printer
        .note("nothing was posted: submit this payload at https://stacindex.org/add (or its API)");
    Ok(ExitCode::SUCCESS)
}
