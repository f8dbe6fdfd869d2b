//! COGs written from pixels pushed a strip of rows at a time (the output
//! of a computation, or a file read strip by strip), sharing the metadata
//! GDAL gives once for every COG of the same shape.

use super::tiff::Tag;
use super::{assemble, plan, template, CogPlan, Pyramid, Written};
use crate::atomic::Staged;
use crate::dispatch_dtype;
use crate::dtype::Sample;
use crate::error::{ConvertError, Result};
use crate::options::CogOptions;
use crate::source::{bbox_of, BandMeta, RasterSource};
use crate::stats::StatsAcc;
use arco_core::{Format, Record};
use std::path::{Path, PathBuf};

/// What the COGs of one kind share (same grid, bands, type and options):
/// the resolved plan and the georeferencing tags, which GDAL gives once
/// for all of them rather than once per file.
pub struct CogShape {
    pub(super) like: Like,
    pub(super) plan: CogPlan,
    template: Vec<Tag>,
    pub(super) block: usize,
}

/// The parts of the model raster that a COG's record repeats.
pub(super) struct Like {
    pub(super) width: usize,
    pub(super) height: usize,
    geotransform: [f64; 6],
    crs: Option<arco_core::CrsRecord>,
    pub(super) bands: Vec<arco_core::BandRecord>,
}

impl Like {
    pub(super) fn of(src: &RasterSource) -> Self {
        Self {
            width: src.width,
            height: src.height,
            geotransform: src.geotransform,
            crs: src.crs.clone(),
            bands: src.bands.iter().map(BandMeta::record).collect(),
        }
    }

    /// The record of a COG of this raster written with `plan` at `path`.
    pub(super) fn record(&self, plan: &CogPlan, path: PathBuf, written: Written) -> Record {
        let bands = self
            .bands
            .iter()
            .zip(&plan.nodata)
            .enumerate()
            .map(|(i, (b, nd))| {
                let mut r = b.clone();
                r.nodata = *nd;
                r.statistics = written.stats.get(i).copied().flatten();
                r
            })
            .collect();
        Record {
            path,
            format: Format::Cog,
            media_type: Format::Cog.media_type(),
            size: written.size,
            checksum: Some(written.checksum),
            width: self.width,
            height: self.height,
            dtype: plan.dtype.name().to_string(),
            bands,
            crs: self.crs.clone().unwrap_or_default(),
            geotransform: self.geotransform,
            bbox: bbox_of(&self.geotransform, self.width, self.height),
            datetimes: Vec::new(),
            overviews: written.overviews,
            notes: plan.notes.clone(),
            vector: None,
        }
    }
}

impl CogShape {
    /// The shape of COGs like `like` (its grid, bands and nodata) written
    /// with `opts`. Only arco's own codecs stream (not JPEG or WebP).
    pub fn new(like: &RasterSource, opts: &CogOptions) -> Result<Self> {
        let plan = plan(like, opts)?;
        if !plan.compression.is_native() {
            return Err(ConvertError::InvalidOption {
                option: "--compress",
                reason: format!(
                    "{} COGs are written by GDAL from a file, not streamed; use zstd, deflate, lzw or none",
                    plan.compression
                ),
            });
        }
        Self::with_plan(like, plan, opts.blocksize)
    }

    pub(super) fn with_plan(like: &RasterSource, plan: CogPlan, block: usize) -> Result<Self> {
        // Metadata first: a CRS or band GDAL cannot encode fails before any
        // pixel is computed, not after.
        let overrides = template::BandOverrides {
            nodata: &plan.nodata,
        };
        use template::template_tags;
        let template = dispatch_dtype!(plan.dtype, template_tags::<T>(like, block, &overrides))?;
        Ok(Self {
            like: Like::of(like),
            plan,
            template,
            block,
        })
    }
}

/// A COG written from pixels pushed to it a strip of whole rows at a time,
/// top to bottom (band-interleaved when there are several bands): the
/// output of a computation rather than a file. It stays under a temporary
/// name until [`CogStream::finish`].
pub struct CogStream<'s, T: Sample> {
    shape: &'s CogShape,
    staged: Staged,
    pyramid: Pyramid<T>,
    rows: usize,
}

impl<'s, T: Sample> CogStream<'s, T> {
    /// Starts the COG at `target` (refused when it exists, unless
    /// `overwrite`). Compressed tiles wait in memory up to `memory` bytes
    /// at full resolution (a quarter of that per overview level), then in
    /// a temporary file beside the target.
    pub fn create(
        shape: &'s CogShape,
        target: &Path,
        overwrite: bool,
        memory: usize,
    ) -> Result<Self> {
        if T::DTYPE != shape.plan.dtype {
            return Err(ConvertError::output(
                target,
                format!(
                    "{} pixels pushed to a {} COG",
                    T::DTYPE.name(),
                    shape.plan.dtype.name()
                ),
            ));
        }
        let staged = Staged::new(target, overwrite)?;
        let pyramid = Pyramid::new(shape, staged.path(), memory);
        Ok(Self {
            shape,
            staged,
            pyramid,
            rows: 0,
        })
    }

    /// Adds the next `n` whole rows of the image.
    pub fn push_rows(&mut self, rows: &[T], n: usize) -> Result<()> {
        let l = &self.shape.like;
        if rows.len() != n * l.width * l.bands.len() || self.rows + n > l.height {
            return Err(ConvertError::output(
                self.staged.target(),
                format!(
                    "{} samples as {n} rows after row {} of a {} x {} image",
                    rows.len(),
                    self.rows,
                    l.width,
                    l.height
                ),
            ));
        }
        self.rows += n;
        self.pyramid.feed(0, rows, n)
    }

    /// Lays out the file, moves it into place and describes it.
    pub fn finish(mut self) -> Result<Record> {
        let l = &self.shape.like;
        if self.rows != l.height {
            return Err(ConvertError::output(
                self.staged.target(),
                format!("only {} of {} rows were written", self.rows, l.height),
            ));
        }
        self.pyramid.finish()?;
        let shape = self.shape;
        let (size, checksum, overviews) = assemble(
            self.staged.path(),
            &mut self.pyramid.levels,
            &shape.template,
            &shape.plan,
            shape.block,
            l.bands.len(),
        )?;
        let written = Written {
            size,
            checksum,
            overviews,
            stats: self.pyramid.stats.iter().map(StatsAcc::finish).collect(),
        };
        Ok(shape
            .like
            .record(&shape.plan, self.staged.commit()?, written))
    }
}
