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

    /// Rows and columns of a region: the level-0 chunk (or shard) edges.
    /// Regions are the tiles of the grid at this size.
    pub fn region_shape(&self) -> (usize, usize) {
        self.building.plan.levels[0].outer
    }

    /// Stores `region` (a tile of [`Self::region_shape`]) of every time step
    /// from `planes`: time-major (`planes[t * region.len() + p]`, rows of
    /// `region.w`), in the cube's data type, unfillable samples holding the
    /// fill value already. A whole region with one time step per chunk is
    /// encoded straight from `planes`, with no copy.
    pub fn write_region<T: CubeSample>(&mut self, region: Window, planes: &[T]) -> Result<()> {
        let b = &self.building;
        let plan = &b.plan;
        let (oy, ox) = plan.levels[0].outer;
        let px = region.len();
        let nt = plan.nt.unwrap_or(1);
        if T::DTYPE != plan.dtype
            || !region.x.is_multiple_of(ox)
            || !region.y.is_multiple_of(oy)
            || region.w > ox
            || region.h > oy
            || planes.len() != nt * px
        {
            return Err(zarr_err(
                &b.target,
                "writing a region",
                format!(
                    "{region:?} of {} samples is not a level-0 chunk of {nt} steps in {}",
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
        let whole = region.w == ox && region.h == oy;
        let (cy, cx) = ((region.y / oy) as u64, (region.x / ox) as u64);
        let parts = (0..nt.div_ceil(tc))
            .into_par_iter()
            .map(|tb| -> Result<StatsAcc> {
                let times = tb * tc..((tb + 1) * tc).min(nt);
                let src = &planes[times.start * px..times.end * px];
                let acc = stats::interleaved(src, 1, skip).swap_remove(0);
                let idx = [tb as u64, cy, cx];
                if whole && times.len() == tc {
                    store_chunk(&b.arrays[0], plan, 0, fill, &idx, src, &b.target)?;
                    return Ok(acc);
                }
                // Chunk layout [t][y][x], edge chunks padded with the fill.
                let mut buf = vec![fill; tc * oy * ox];
                for (plane, chunk_plane) in src.chunks_exact(px).zip(buf.chunks_exact_mut(oy * ox))
                {
                    for (y, row) in plane.chunks_exact(region.w).enumerate() {
                        chunk_plane[y * ox..][..region.w].copy_from_slice(row);
                    }
                }
                store_chunk(&b.arrays[0], plan, 0, fill, &idx, &buf, &b.target)?;
                Ok(acc)
            })
            .collect::<Result<Vec<_>>>()?;
        for p in &parts {
            self.stats[0].merge(p);
        }
        Ok(())
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
