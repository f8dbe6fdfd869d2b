//! GeoZarr writer: one or more rasters on one grid to a Zarr v3 store.
//!
//! # Layout of `X.zarr`
//!
//! ```text
//! X.zarr/
//! ├── zarr.json            root group: zarr_conventions, spatial:*, proj:*, multiscales,
//! │                        consolidated metadata of every node below
//! ├── data/                the data array (name from `ZarrOptions::name`), full resolution
//! ├── x/  y/               float64 pixel-centre coordinates (y descending when north-up)
//! ├── time/                int64 days since 1970-01-01 (CF units/calendar), with dates only
//! ├── band/                int32 1..N, multi-band inputs only
//! ├── spatial_ref/         scalar int32 CF grid mapping: crs_wkt, spatial_ref, GeoTransform
//! ├── 1/                   overview level 1 (half resolution): a group with its own
//! │   ├── data/  x/  y/    data, x, y, spatial_ref (and time, band), and its own
//! │   └── spatial_ref/ …   spatial:/proj: attributes (transform scaled by 2)
//! └── 2/ …                 level k scaled by 2^k, until a level fits one chunk
//! ```
//!
//! Level 0 lives in the root group, so `xr.open_zarr(store, decode_coords="all")`
//! opens the full-resolution data directly; `xr.open_zarr(store, group="1")`
//! opens an overview. The data array's dimensions are `(y, x)`, `(band, y, x)`,
//! `(time, y, x)` or `(time, band, y, x)`: a multi-band input gets a `band`
//! dimension (rather than one variable per band) so that a time series of
//! multi-band rasters stays one cube and the band count never changes the
//! variable names.
//!
//! Georeferencing is written for every kind of reader at once: the Zarr
//! conventions `spatial:` and `proj:` (root group, level groups and data
//! arrays) and `multiscales` (root group, an array-based layout: level 0 is
//! asset `data`, level k is `k/data`, derived from level k-1 with scale 2);
//! CF (`grid_mapping` to `spatial_ref`, coordinate variables, `_FillValue`
//! encoded as xarray expects for Zarr v3) and GDAL's `_CRS`.
//!
//! # How it writes
//!
//! Each time step (input) is read once, strip by strip (one chunk row, or one
//! shard row when sharding, times the full width). Each strip's chunks are
//! encoded and stored in parallel, and the strip is reduced 2x2 into the
//! next level, which is written the same way when it has a full strip: the
//! input is never re-read per level. Time blocks (`time` chunk) are written
//! in parallel, each with its own GDAL handles; memory stays at a few strips
//! per block in flight. Everything goes to a temporary directory beside the
//! target that is renamed into place at the end, so a failure leaves nothing.

mod attrs;
mod plan;
mod read;
mod regions;
mod store;
mod writer;

#[cfg(test)]
mod tests;

use crate::atomic::Staged;
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{ConvertError, Result};
use crate::source::{bbox_of, RasterSource};
use crate::stats::StatsAcc;
use arco_core::{Format, Progress, Record};
use chrono::NaiveDate;
use plan::{invalid, plan, LevelPlan, ZarrPlan};
pub use plan::{ZarrCodec, ZarrOptions};
pub use read::{CubeWindow, ZarrCube};
pub use regions::{CubeSample, CubeWriter};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use store::StagingStore;
use writer::{write_data, Level0};
use zarrs::array::builder::ArrayBuilderFillValue;
use zarrs::array::{Array, ArrayBuilder, ArrayMetadataOptions, Element};
use zarrs::group::GroupBuilder;

/// Wraps a zarrs failure on the store at `target`.
fn zarr_err(target: &Path, what: &str, e: impl fmt::Display) -> ConvertError {
    ConvertError::Zarr {
        path: target.to_path_buf(),
        reason: format!("{what}: {e}"),
    }
}

/// The bytes-to-bytes codecs of data chunks.
fn codecs(
    plan: &ZarrPlan,
    target: &Path,
) -> Result<Vec<Arc<dyn zarrs::array::BytesToBytesCodecTraits>>> {
    use zarrs::array::codec::{
        BloscCodec, BloscCompressionLevel, BloscCompressor, BloscShuffleMode, ZstdCodec,
    };
    Ok(match plan.codec {
        ZarrCodec::Zstd => vec![Arc::new(ZstdCodec::new(plan.level, false))],
        ZarrCodec::Blosc | ZarrCodec::Lz4 => {
            let clevel = BloscCompressionLevel::try_from(plan.level as u8).map_err(|l| {
                invalid(
                    "--level",
                    format!("{l} is out of range for blosc (use 0..=9)"),
                )
            })?;
            let size = plan.dtype.size();
            let shuffle = if size == 1 {
                BloscShuffleMode::BitShuffle
            } else {
                BloscShuffleMode::Shuffle
            };
            let inner = if plan.codec == ZarrCodec::Lz4 {
                BloscCompressor::LZ4
            } else {
                BloscCompressor::Zstd
            };
            let codec = BloscCodec::new(inner, clevel, None, shuffle, Some(size))
                .map_err(|e| zarr_err(target, "blosc codec", e))?;
            vec![Arc::new(codec)]
        }
        ZarrCodec::None => Vec::new(),
    })
}

/// The Zarr fill value of the data array, in its type.
fn fill_value(dtype: DType, v: f64) -> ArrayBuilderFillValue {
    match dtype {
        DType::U8 => (v as u8).into(),
        DType::U16 => (v as u16).into(),
        DType::I16 => (v as i16).into(),
        DType::U32 => (v as u32).into(),
        DType::I32 => (v as i32).into(),
        DType::F32 => (v as f32).into(),
        DType::F64 => v.into(),
    }
}

/// Array metadata without zarrs' own `_zarrs` provenance attribute, which
/// xarray would show among the variable's attributes.
fn metadata_options() -> ArrayMetadataOptions {
    ArrayMetadataOptions::default().with_include_zarrs_metadata(false)
}

/// Where the layout is written, for small arrays and messages.
struct Layout<'a> {
    store: &'a Arc<StagingStore>,
    target: &'a Path,
}

impl Layout<'_> {
    /// Stores a small array as a single chunk (coordinates, grid mapping).
    fn small<E: Element>(
        &self,
        path: &str,
        dims: &[&str],
        (data_type, fill): (&str, impl Into<ArrayBuilderFillValue>),
        values: &[E],
        attrs: Map<String, Value>,
    ) -> Result<()> {
        let target = self.target;
        let shape: Vec<u64> = if dims.is_empty() {
            Vec::new()
        } else {
            vec![values.len() as u64]
        };
        let array = ArrayBuilder::new(shape.clone(), shape, data_type, fill)
            .dimension_names(Some(dims.to_vec()))
            .attributes(attrs)
            .build(self.store.clone(), path)
            .map_err(|e| zarr_err(target, &format!("creating {path}"), e))?;
        array
            .store_metadata_opt(&metadata_options())
            .map_err(|e| zarr_err(target, &format!("writing {path}/zarr.json"), e))?;
        let idx = vec![0u64; dims.len()];
        array
            .store_chunk(&idx, values)
            .map_err(|e| zarr_err(target, &format!("writing {path}"), e))
    }
}

/// Creates the groups, coordinates and grid mappings of every level and the
/// (empty) data arrays, which it returns by level.
fn create_layout(
    store: &Arc<StagingStore>,
    plan: &ZarrPlan,
    src: &RasterSource,
    dates: Option<&[NaiveDate]>,
    target: &Path,
) -> Result<Vec<Array<StagingStore>>> {
    let crs = src.crs.as_ref();
    let codecs = codecs(plan, target)?;
    let layout = Layout { store, target };
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut arrays = Vec::with_capacity(plan.levels.len());
    for (k, lvl) in plan.levels.iter().enumerate() {
        let g = &lvl.group;
        let group_path = if g.is_empty() { "/" } else { g.as_str() };
        GroupBuilder::new()
            .attributes(attrs::group(plan, k, crs))
            .build(store.clone(), group_path)
            .map_err(|e| zarr_err(target, &format!("creating group {group_path}"), e))?
            .store_metadata()
            .map_err(|e| zarr_err(target, &format!("writing {group_path} metadata"), e))?;

        let xs: Vec<f64> = (0..lvl.width)
            .map(|i| lvl.gt[0] + (i as f64 + 0.5) * lvl.gt[1])
            .collect();
        let ys: Vec<f64> = (0..lvl.height)
            .map(|j| lvl.gt[3] + (j as f64 + 0.5) * lvl.gt[5])
            .collect();
        layout.small(
            &format!("{g}/x"),
            &["x"],
            ("float64", f64::NAN),
            &xs,
            attrs::coordinate('x', crs),
        )?;
        layout.small(
            &format!("{g}/y"),
            &["y"],
            ("float64", f64::NAN),
            &ys,
            attrs::coordinate('y', crs),
        )?;
        if let Some(dates) = dates {
            let days: Vec<i64> = dates.iter().map(|d| (*d - epoch).num_days()).collect();
            layout.small(
                &format!("{g}/time"),
                &["time"],
                ("int64", 0i64),
                &days,
                attrs::time(),
            )?;
        }
        if plan.band_dim {
            let bands: Vec<i32> = (1..=plan.nb as i32).collect();
            layout.small(
                &format!("{g}/band"),
                &["band"],
                ("int32", 0i32),
                &bands,
                attrs::band(src),
            )?;
        }
        layout.small(
            &format!("{g}/spatial_ref"),
            &[],
            ("int32", 0i32),
            &[0i32],
            attrs::spatial_ref(lvl, crs),
        )?;

        let path = format!("{g}/{}", plan.name);
        let mut builder = ArrayBuilder::new(
            plan.shape(k),
            plan.chunk_shape(k),
            plan.dtype.name(),
            fill_value(plan.dtype, plan.fill),
        );
        builder
            .bytes_to_bytes_codecs(codecs.clone())
            .subchunk_shape(plan.subchunk_shape(k))
            .dimension_names(Some(plan.dims()))
            .attributes(attrs::data_array(plan, k, src));
        let array = builder
            .build(store.clone(), &path)
            .map_err(|e| zarr_err(target, &format!("creating {path}"), e))?;
        array
            .store_metadata_opt(&metadata_options())
            .map_err(|e| zarr_err(target, &format!("writing {path}/zarr.json"), e))?;
        arrays.push(array);
    }
    Ok(arrays)
}

/// Collects the `zarr.json` of every node below the group at `dir`, keyed
/// by path relative to the root (`1`, `1/data`, ...).
fn collect_nodes(
    dir: &Path,
    prefix: &str,
    out: &mut BTreeMap<String, Value>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta_path = entry.path().join("zarr.json");
        if !meta_path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let node: Value = serde_json::from_slice(&std::fs::read(&meta_path)?)?;
        let is_group = node["node_type"] == "group";
        out.insert(key.clone(), node);
        if is_group {
            collect_nodes(&entry.path(), &key, out)?;
        }
    }
    Ok(())
}

/// Puts the metadata of every node into the root `zarr.json`
/// (`consolidated_metadata`, as zarr-python writes and reads it), so readers
/// list the whole hierarchy with one request. Keys are sorted: zarr-python
/// rebuilds the tree assuming the children of a group are contiguous.
fn consolidate(root: &Path) -> std::io::Result<()> {
    let mut nodes = BTreeMap::new();
    collect_nodes(root, "", &mut nodes)?;
    let root_meta = root.join("zarr.json");
    let mut doc: Map<String, Value> = serde_json::from_slice(&std::fs::read(&root_meta)?)?;
    let mut consolidated = Map::new();
    consolidated.insert("kind".into(), Value::from("inline"));
    consolidated.insert("must_understand".into(), Value::from(false));
    consolidated.insert(
        "metadata".into(),
        Value::Object(nodes.into_iter().collect()),
    );
    doc.insert("consolidated_metadata".into(), Value::Object(consolidated));
    std::fs::write(&root_meta, serde_json::to_vec_pretty(&doc)?)
}

/// Total size of the files under `dir`.
fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// A store being written in its staging directory: the plan, the layout
/// (metadata, coordinates) and the data arrays of every level.
struct Building {
    plan: ZarrPlan,
    staged: Staged,
    store: Arc<StagingStore>,
    arrays: Vec<Array<StagingStore>>,
    dates: Option<Vec<NaiveDate>>,
    target: std::path::PathBuf,
}

impl Building {
    /// Plans the store for `first`'s grid and bands and writes its layout.
    fn start(
        first: &RasterSource,
        dates: Option<Vec<NaiveDate>>,
        target: &Path,
        opts: &ZarrOptions,
    ) -> Result<Self> {
        let plan = plan(first, dates.as_ref().map(Vec::len), opts)?;
        let staged = Staged::new(target, opts.overwrite)?;
        std::fs::create_dir(staged.path()).map_err(|e| ConvertError::output(target, e))?;
        let store = Arc::new(StagingStore::new(staged.path()));
        let arrays = create_layout(&store, &plan, first, dates.as_deref(), target)?;
        Ok(Self {
            plan,
            staged,
            store,
            arrays,
            dates,
            target: target.to_path_buf(),
        })
    }

    /// Consolidates the metadata, renames the store into place and returns
    /// its record, with the statistics of level 0.
    fn commit(self, first: &RasterSource, stats: &[StatsAcc]) -> Result<Record> {
        let Building {
            plan,
            staged,
            store,
            arrays,
            dates,
            target,
        } = self;
        drop(arrays);
        drop(store);
        let target = target.as_path();
        consolidate(staged.path()).map_err(|e| ConvertError::output(target, e))?;
        let size = dir_size(staged.path()).map_err(|e| ConvertError::output(target, e))?;
        let path = staged.commit()?;
        let bands = first
            .bands
            .iter()
            .zip(stats)
            .map(|(b, st)| {
                let mut r = b.record();
                r.nodata = plan.nodata;
                r.statistics = st.finish();
                r
            })
            .collect();
        Ok(Record {
            path,
            format: Format::Geozarr,
            media_type: Format::Geozarr.media_type(),
            size,
            checksum: None,
            width: first.width,
            height: first.height,
            dtype: plan.dtype.name().to_string(),
            bands,
            crs: first.crs.clone().unwrap_or_default(),
            geotransform: first.geotransform,
            bbox: bbox_of(&first.geotransform, first.width, first.height),
            datetimes: dates
                .unwrap_or_default()
                .iter()
                .map(|d| format!("{}T00:00:00Z", d.format("%Y-%m-%d")))
                .collect(),
            overviews: plan.levels.len() - 1,
            notes: plan.notes,
            vector: None,
        })
    }
}

/// Writes `sources` as a GeoZarr store at `target`.
///
/// With `dates` (one per source) the data is a `(time, [band,] y, x)` cube,
/// ordered by date; without, there must be exactly one source, written as
/// `([band,] y, x)`. All sources must be on one grid (see
/// [`crate::grid::ensure_same_grid`]).
pub fn write_geozarr(
    sources: &[RasterSource],
    dates: Option<&[NaiveDate]>,
    target: &Path,
    opts: &ZarrOptions,
    progress: &dyn Progress,
) -> Result<Record> {
    let Some(first) = sources.first() else {
        return Err(invalid("input", "no input rasters given".into()));
    };
    // Time steps in date order.
    let (ordered, dates): (Vec<&RasterSource>, Option<Vec<NaiveDate>>) = match dates {
        Some(d) => {
            if d.len() != sources.len() {
                return Err(invalid(
                    "--dates",
                    format!("{} dates for {} inputs; give one date per input", d.len(), sources.len()),
                ));
            }
            let mut order: Vec<usize> = (0..sources.len()).collect();
            order.sort_by_key(|&i| d[i]);
            if let Some(w) = order.windows(2).find(|w| d[w[0]] == d[w[1]]) {
                return Err(ConvertError::Time {
                    path: sources[w[1]].name.clone(),
                    reason: format!(
                        "has the same date ({}) as {}; a time axis needs one input per date (mosaic same-day inputs first)",
                        d[w[0]], sources[w[0]].name
                    ),
                });
            }
            (order.iter().map(|&i| &sources[i]).collect(), Some(order.iter().map(|&i| d[i]).collect()))
        }
        None if sources.len() > 1 => {
            return Err(invalid(
                "--dates",
                format!("{} inputs need one date each to be stacked along time; pass --dates or --time-from", sources.len()),
            ))
        }
        None => (vec![first], None),
    };
    let store = Building::start(first, dates, target, opts)?;
    let stats = dispatch_dtype!(
        store.plan.dtype,
        write_data::<T>(
            &store.arrays,
            &store.plan,
            Level0::Rasters(&ordered),
            target,
            progress
        )
    )?;
    store.commit(first, &stats)
}
