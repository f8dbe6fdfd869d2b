//! Writing a `(time, y, x)` cube region by region, for producers that
//! compute every time step of a spatial region at once (`arco reconstruct`):
//! each region is one level-0 chunk (or shard) in space, its chunks along
//! time are encoded in parallel straight from the producer's buffer, with no
//! temporary per-date rasters. Overviews, when the plan has any, are built at
//! the end from level 0 read back, strip by strip, with the same reduction
//! as [`super::write_geozarr`], so both writers give the same store.

use super::writer::{store_chunk, write_data, Level0};
use super::{zarr_err, Building, ZarrOptions};
use crate::dtype::Sample;
use crate::error::Result;
use crate::series::Window;
use crate::source::RasterSource;
use crate::stats::{self, StatsAcc};
use arco_core::{Progress, Record};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;
use zarrs::array::{Array, Element, ElementOwned};
use zarrs::filesystem::FilesystemStore;

/// A sample type the region writer stores and reads back.
pub trait CubeSample: Sample + Element + ElementOwned {}
impl<T: Sample + Element + ElementOwned> CubeSample for T {}

/// A cube being written region by region.
pub struct CubeWriter {
    building: Building,
    template: RasterSource,
    stats: Vec<StatsAcc>,
}

impl CubeWriter {
    /// Plans a cube with `template`'s grid, band metadata and data type (one
    /// band), one time step per date, at `target`; writes its layout in a
    /// staging directory.
    pub fn create(
        template: &RasterSource,
        dates: &[NaiveDate],
        target: &Path,
        opts: &ZarrOptions,
    ) -> Result<Self> {
        if template.bands.len() != 1 {
            return Err(super::invalid(
                "input",
                "the region writer takes one band".into(),
            ));
        }
        let building = Building::start(template, Some(dates.to_vec()), target, opts)?;
        Ok(Self {
            building,
            template: template.clone(),
            stats: vec![StatsAcc::default()],
        })
    }

    /// Rows and columns of a chunk (or shard) at level 0: regions are made
    /// of whole ones.
    pub fn region_shape(&self) -> (usize, usize) {
        self.building.plan.levels[0].outer
    }

    /// Stores `region` of every time step from `planes`, one per time step
    /// (`planes[t][p]`, rows of `region.w`), in the cube's data type,
    /// unfillable samples holding the fill value already. The region starts
    /// on a chunk corner and holds whole chunks (clipped at the grid's
    /// edges). A region that is one chunk of one time step is encoded
    /// straight from its plane, with no copy; chunks and time blocks are
    /// encoded in parallel.
    pub fn write_region<T: CubeSample>(&mut self, region: Window, planes: &[&[T]]) -> Result<()> {
        let b = &self.building;
        let plan = &b.plan;
        let (oy, ox) = plan.levels[0].outer;
        let (width, height) = (plan.levels[0].width, plan.levels[0].height);
        let px = region.len();
        let nt = plan.nt.unwrap_or(1);
        let whole_chunks = |at: usize, len: usize, edge: usize, size: usize| {
            at.is_multiple_of(edge) && (len.is_multiple_of(edge) || at + len == size) && len > 0
        };
        if T::DTYPE != plan.dtype
            || !whole_chunks(region.x, region.w, ox, width)
            || !whole_chunks(region.y, region.h, oy, height)
            || planes.len() != nt
            || planes.iter().any(|p| p.len() != px)
        {
            return Err(zarr_err(
                &b.target,
                "writing a region",
                format!(
                    "{region:?} in {} planes is not whole {oy}x{ox} chunks of {nt} steps in {}",
                    planes.len(),
                    plan.dtype.name()
                ),
            ));
        }
        let fill = T::from_f64(plan.fill);
        let skip = plan
            .nodata
            .map(T::from_f64)
            .or(plan.dtype.is_float().then(|| T::from_f64(f64::NAN)));
        let tc = plan.tc;
        // Each chunk of the region (relative to it) and time block.
        let chunks = Window::tiles_of(region.w, region.h, ox, oy);
        let jobs: Vec<(Window, usize)> = (0..nt.div_ceil(tc))
            .flat_map(|tb| chunks.iter().map(move |c| (*c, tb)))
            .collect();
        let (stats, stored) = rayon::join(
            || {
                planes
                    .par_iter()
                    .map(|p| stats::interleaved(p, 1, skip).swap_remove(0))
                    .reduce(StatsAcc::default, |mut a, b| {
                        a.merge(&b);
                        a
                    })
            },
            || {
                jobs.par_iter().try_for_each(|&(c, tb)| -> Result<()> {
                    let times = tb * tc..((tb + 1) * tc).min(nt);
                    let idx = [
                        tb as u64,
                        ((region.y + c.y) / oy) as u64,
                        ((region.x + c.x) / ox) as u64,
                    ];
                    if c.len() == px && (c.w, c.h) == (ox, oy) && tc == 1 {
                        let src = planes[times.start];
                        return store_chunk(&b.arrays[0], plan, 0, fill, &idx, src, &b.target);
                    }
                    // Chunk layout [t][y][x], edge chunks padded with the fill.
                    let mut buf = vec![fill; tc * oy * ox];
                    for (t, chunk_plane) in times.zip(buf.chunks_exact_mut(oy * ox)) {
                        let plane = planes[t];
                        for y in 0..c.h {
                            let row = &plane[(c.y + y) * region.w + c.x..][..c.w];
                            chunk_plane[y * ox..][..c.w].copy_from_slice(row);
                        }
                    }
                    store_chunk(&b.arrays[0], plan, 0, fill, &idx, &buf, &b.target)
                })
            },
        );
        stored?;
        self.stats[0].merge(&stats);
        Ok(())
    }

    /// Leaves `region` as the fill value (nothing stored: readers fill
    /// missing chunks), with its samples in the statistics as if written.
    pub fn skip_region(&mut self, region: Window) {
        let plan = &self.building.plan;
        let total = (plan.nt.unwrap_or(1) * region.len()) as u64;
        self.stats[0].merge(&StatsAcc::constant(total, plan.fill, plan.nodata));
    }

    /// Builds the overviews (when the plan has any) from level 0, then
    /// renames the cube into place and returns its record.
    pub fn finish(self, progress: &dyn Progress) -> Result<Record> {
        let b = &self.building;
        if b.plan.levels.len() > 1 {
            let store = Arc::new(
                FilesystemStore::new(b.staged.path())
                    .map_err(|e| zarr_err(&b.target, "reading back level 0", e))?,
            );
            let path = format!("/{}", b.plan.name);
            let level0 = Array::open(store, &path)
                .map_err(|e| zarr_err(&b.target, "reading back level 0", e))?;
            let nt = b.plan.nt.unwrap_or(1);
            crate::dispatch_dtype!(
                b.plan.dtype,
                write_data::<T>(
                    &b.arrays,
                    &b.plan,
                    Level0::Stored(&level0, nt),
                    &b.target,
                    progress
                )
            )?;
        }
        self.building.commit(&self.template, &self.stats)
    }
}
