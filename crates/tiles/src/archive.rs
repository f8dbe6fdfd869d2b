//! Writing the PMTiles v3 archive (atomically) and the record of it.

use crate::mercator::{fit_zoom, world_to_lonlat, world_to_metres};
use crate::vector::ZoomTiles;
use crate::TilesError;
use arco_convert::atomic::Staged;
use arco_core::{CrsRecord, Format, Record};
use pmtiles::{Compression, PmTilesWriter, TileCoord, TileId, TileType};
use std::path::Path;

/// What goes in the header and metadata besides the tiles.
#[derive(Debug, Clone)]
pub struct ArchiveSpec {
    /// Tile type.
    pub tile_type: TileType,
    /// Tile compression as stored (gzip for MVT, none for images).
    pub tile_compression: Compression,
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom.
    pub maxzoom: u8,
    /// Data bounds in world units `[x0, y0, x1, y1]`.
    pub bounds: [f64; 4],
    /// The metadata JSON object.
    pub metadata: serde_json::Value,
}

impl ArchiveSpec {
    /// Bounds as `[west, south, east, north]` degrees.
    pub fn bounds_lonlat(&self) -> [f64; 4] {
        let (w, n) = world_to_lonlat(self.bounds[0], self.bounds[1]);
        let (e, s) = world_to_lonlat(self.bounds[2], self.bounds[3]);
        [w, s, e, n]
    }

    /// Center `(lon, lat, zoom)`: the middle of the bounds, at the zoom
    /// where they fill a typical window.
    pub fn center(&self) -> (f64, f64, u8) {
        let b = self.bounds;
        let (lon, lat) = world_to_lonlat(f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
        let z = fit_zoom(b[2] - b[0], b[3] - b[1], self.minzoom, self.maxzoom);
        (lon, lat, z)
    }

    /// Bounds in EPSG:3857 metres `[xmin, ymin, xmax, ymax]`.
    pub fn bounds_metres(&self) -> [f64; 4] {
        let (x0, y1) = world_to_metres(self.bounds[0], self.bounds[1]);
        let (x1, y0) = world_to_metres(self.bounds[2], self.bounds[3]);
        [x0, y0, x1, y1]
    }
}

/// Writes the archive to `target` (under a temporary name, renamed when
/// complete); tiles must come zoom by zoom from `spec.minzoom`, each zoom
/// in ascending tile id, which makes the archive clustered.
/// Returns (size, sha2-256 multihash).
pub fn write_archive(
    target: &Path,
    overwrite: bool,
    spec: &ArchiveSpec,
    zooms: &[ZoomTiles],
) -> Result<(u64, String), TilesError> {
    let staged = Staged::new(target, overwrite)?;
    let io = |e: std::io::Error| TilesError::Write {
        path: target.display().to_string(),
        reason: e.to_string(),
    };
    let pm = |e: pmtiles::PmtError| TilesError::Write {
        path: target.display().to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::create(staged.path()).map_err(io)?;
    let [w, s, e, n] = spec.bounds_lonlat();
    let (clon, clat, cz) = spec.center();
    let mut writer = PmTilesWriter::new(spec.tile_type)
        .precompressed(spec.tile_compression)
        .min_zoom(spec.minzoom)
        .max_zoom(spec.maxzoom)
        .bounds(w, s, e, n)
        .center(clon, clat)
        .center_zoom(cz)
        .metadata(spec.metadata.to_string())
        .create(file)
        .map_err(pm)?;
    let mut prev: Option<u64> = None;
    for tiles in zooms {
        for (id, data) in tiles {
            debug_assert!(prev.is_none_or(|p| p < *id), "tiles out of order");
            prev = Some(*id);
            let coord = TileCoord::from(TileId::new(*id).map_err(pm)?);
            writer.add_tile(coord, data).map_err(pm)?;
        }
    }
    writer.finalize().map_err(pm)?;
    let size = std::fs::metadata(staged.path()).map_err(io)?.len();
    let checksum = arco_core::multihash_sha256_file(staged.path()).map_err(io)?;
    staged.commit()?;
    Ok((size, checksum))
}

/// The CRS record of EPSG:3857.
pub fn web_mercator_crs() -> CrsRecord {
    match gdal::spatial_ref::SpatialRef::from_epsg(3857) {
        Ok(srs) => CrsRecord {
            code: Some("EPSG:3857".into()),
            wkt2: arco_convert::source::wkt2_of(&srs)
                .or_else(|| srs.to_wkt().ok())
                .unwrap_or_default(),
            projjson: srs.to_projjson().ok(),
        },
        Err(_) => CrsRecord {
            code: Some("EPSG:3857".into()),
            ..CrsRecord::default()
        },
    }
}

/// The record of a written archive (raster fields left empty).
pub fn record(
    path: &Path,
    size: u64,
    checksum: String,
    spec: &ArchiveSpec,
    notes: Vec<String>,
) -> Record {
    Record {
        path: path.to_path_buf(),
        format: Format::Pmtiles,
        media_type: Format::Pmtiles.media_type(),
        size,
        checksum: Some(checksum),
        width: 0,
        height: 0,
        dtype: String::new(),
        bands: Vec::new(),
        crs: web_mercator_crs(),
        geotransform: [0.0; 6],
        bbox: spec.bounds_metres(),
        datetimes: Vec::new(),
        overviews: usize::from(spec.maxzoom - spec.minzoom),
        notes,
        vector: None,
    }
}
