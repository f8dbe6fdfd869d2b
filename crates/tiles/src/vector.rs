//! The vector tiler: features in, gzipped MVT tiles per zoom out.
//!
//! Per zoom, from the highest down: each feature's geometry (in world
//! units) is simplified to about one tile unit of that zoom (each zoom
//! simplifies the previous zoom's result, so low zooms are cheap), cut into
//! tiles by recursive halving of its tile range (clipping to the half plus
//! the buffer, then shrinking the range to what the piece still covers:
//! O(n log tiles) rather than O(n x tiles)), and quantised to extent 4096
//! with repeated points, degenerate parts and wrong winding mended. The
//! pieces are then sorted by tile (Hilbert order, the archive's order) and
//! each tile is encoded, size-capped and gzipped in parallel.

use crate::clip::clip_shape;
use crate::geom::{shapes_of, InputCrs, Kind, Shape};
use crate::mvt::{self, clean, coarsen, encode_tile, LayerData, Piece, PropValue, QPart};
use crate::simplify::simplify_shape;
use crate::TilesError;
use arco_core::Progress;
use geo_types::Geometry;
use pmtiles::{TileCoord, TileId};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Write;

/// The highest zoom a guessed max zoom takes (as tippecanoe's `-zg`, a
/// guess never goes past street level).
pub const GUESS_CAP: u8 = 14;
/// The highest zoom arco tiles.
pub const MAX_ZOOM: u8 = 20;

/// Type of an attribute, in TileJSON's `vector_layers` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Integers and floats.
    Number,
    /// Text (dates and lists are written as text).
    String,
    /// Booleans.
    Boolean,
}

impl FieldType {
    /// The TileJSON name.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Number => "Number",
            FieldType::String => "String",
            FieldType::Boolean => "Boolean",
        }
    }
}

/// One attribute column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Column name.
    pub name: String,
    /// Its type.
    pub kind: FieldType,
}

/// One input feature.
#[derive(Debug, Clone)]
pub struct Feature {
    /// The MVT feature id.
    pub id: u64,
    /// Geometry in the input's coordinates ([`InputCrs`]).
    pub geometry: Geometry<f64>,
    /// Non-null attributes: (index into the fields, value).
    pub properties: Vec<(u32, PropValue)>,
}

/// A layer to tile.
#[derive(Debug, Clone)]
pub struct VectorInput {
    /// Layer name (the MVT layer and the `vector_layers` id).
    pub layer: String,
    /// Coordinates of the geometries.
    pub crs: InputCrs,
    /// Attribute columns.
    pub fields: Vec<FieldDef>,
    /// The features.
    pub features: Vec<Feature>,
}

/// How to tile.
#[derive(Debug, Clone)]
pub struct VectorOptions {
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom; guessed from the data when `None`.
    pub maxzoom: Option<u8>,
    /// Buffer around each tile in tile units (of 4096).
    pub buffer: u32,
    /// Simplification tolerance in tile units.
    pub simplification: f64,
    /// Largest gzipped tile in bytes before the fallback applies.
    pub max_tile_bytes: usize,
    /// Most features in a tile before the fallback applies.
    pub max_tile_features: usize,
}

impl Default for VectorOptions {
    fn default() -> Self {
        Self {
            minzoom: 0,
            maxzoom: None,
            buffer: 80,
            simplification: 1.0,
            max_tile_bytes: 500_000,
            max_tile_features: 200_000,
        }
    }
}

/// Tiles of one zoom: (tile id, gzipped MVT), ascending by id.
pub type ZoomTiles = Vec<(u64, Vec<u8>)>;

/// What the tiler made.
#[derive(Debug)]
pub struct VectorTiles {
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom.
    pub maxzoom: u8,
    /// Whether the highest zoom was guessed.
    pub maxzoom_guessed: bool,
    /// Tiles per zoom, from `minzoom` up.
    pub zooms: Vec<ZoomTiles>,
    /// Bounds of the data in world units `[x0, y0, x1, y1]`.
    pub bounds: [f64; 4],
    /// Features with a geometry that were tiled.
    pub features: u64,
    /// Features skipped for having no (or an empty) geometry.
    pub skipped: u64,
    /// Fallbacks applied and other things to know.
    pub notes: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct TileStats {
    over: bool,
    shift: u32,
    dropped: usize,
    still_over: bool,
}

struct ZoomCtx {
    z: u8,
    n: u32,
    tile_w: f64,
    buf: f64,
    scale: f64,
    max: bool,
}

impl ZoomCtx {
    fn new(z: u8, buffer: u32, max: bool) -> Self {
        let n = 1u32 << z;
        let scale = f64::from(mvt::EXTENT) * f64::from(n);
        Self {
            z,
            n,
            tile_w: 1.0 / f64::from(n),
            buf: f64::from(buffer) / scale,
            scale,
            max,
        }
    }

    /// Tiles whose buffered extent meets `b`, as `[x0, y0, x1, y1]`.
    fn range(&self, b: &[f64; 4]) -> Option<[u32; 4]> {
        let last = f64::from(self.n - 1);
        let f = |v: f64| (v / self.tile_w).floor().clamp(0.0, last) as u32;
        let r = [
            f(b[0] - self.buf),
            f(b[1] - self.buf),
            f(b[2] + self.buf),
            f(b[3] + self.buf),
        ];
        (r[0] <= r[2] && r[1] <= r[3]).then_some(r)
    }

    fn tile_of(&self, p: [f64; 2]) -> (u32, u32) {
        let last = f64::from(self.n - 1);
        let f = |v: f64| (v / self.tile_w).floor().clamp(0.0, last) as u32;
        (f(p[0]), f(p[1]))
    }
}

fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    TileId::from(TileCoord::new(z, x, y).expect("tile inside the zoom's grid")).value()
}

/// A tiny stand-in where a feature's geometry vanished at max zoom, so that
/// every feature is in the max zoom tiles: a one-unit square or segment at
/// its first coordinate, only in the tile that holds that coordinate.
fn speck(kind: Kind, first: [f64; 2], tx: u32, ty: u32, ctx: &ZoomCtx) -> Option<Vec<QPart>> {
    if kind == Kind::Point || ctx.tile_of(first) != (tx, ty) {
        return None;
    }
    let q = [
        ((first[0] * ctx.scale) - f64::from(tx) * f64::from(mvt::EXTENT)).floor() as i32,
        ((first[1] * ctx.scale) - f64::from(ty) * f64::from(mvt::EXTENT)).floor() as i32,
    ];
    let q = [q[0].min(4095), q[1].min(4095)];
    Some(vec![QPart {
        pts: if kind == Kind::Polygon {
            vec![q, [q[0] + 1, q[1]], [q[0] + 1, q[1] + 1], [q[0], q[1] + 1]]
        } else {
            vec![q, [q[0] + 1, q[1]]]
        },
        outer: kind == Kind::Polygon,
    }])
}

fn emit(
    shape: &Shape<f64>,
    first: [f64; 2],
    (tx, ty): (u32, u32),
    ctx: &ZoomCtx,
    feature: u32,
    out: &mut Vec<Piece>,
) {
    let ox = f64::from(tx) * f64::from(mvt::EXTENT);
    let oy = f64::from(ty) * f64::from(mvt::EXTENT);
    let mut parts: Vec<QPart> = shape
        .parts
        .iter()
        .map(|p| QPart {
            pts: p
                .pts
                .iter()
                .map(|c| {
                    [
                        (c[0] * ctx.scale - ox).round() as i32,
                        (c[1] * ctx.scale - oy).round() as i32,
                    ]
                })
                .collect(),
            outer: p.outer,
        })
        .collect();
    clean(shape.kind, &mut parts);
    if parts.is_empty() {
        if !ctx.max {
            return;
        }
        match speck(shape.kind, first, tx, ty, ctx) {
            Some(p) => parts = p,
            None => return,
        }
    }
    out.push(Piece {
        tile: tile_id(ctx.z, tx, ty),
        feature,
        kind: shape.kind,
        parts,
    });
}

/// Cuts `shape` into the tiles of `range` (recursive halving).
fn split(
    shape: &Shape<f64>,
    bbox: [f64; 4],
    range: [u32; 4],
    first: [f64; 2],
    ctx: &ZoomCtx,
    feature: u32,
    out: &mut Vec<Piece>,
) {
    let Some(r) = ctx.range(&bbox) else { return };
    let r = [
        r[0].max(range[0]),
        r[1].max(range[1]),
        r[2].min(range[2]),
        r[3].min(range[3]),
    ];
    if r[0] > r[2] || r[1] > r[3] {
        return;
    }
    if r[0] == r[2] && r[1] == r[3] {
        emit(shape, first, (r[0], r[1]), ctx, feature, out);
        return;
    }
    let (axis, a, b) = if r[2] - r[0] >= r[3] - r[1] {
        (0, r[0], r[2])
    } else {
        (1, r[1], r[3])
    };
    let mid = a + (b - a) / 2;
    for (lo_t, hi_t) in [(a, mid), (mid + 1, b)] {
        let lo = f64::from(lo_t) * ctx.tile_w - ctx.buf;
        let hi = f64::from(hi_t + 1) * ctx.tile_w + ctx.buf;
        let Some(piece) = clip_shape(shape, &bbox, axis, lo, hi) else {
            continue;
        };
        let Some(pb) = piece.bbox() else { continue };
        let mut sub = r;
        sub[axis] = lo_t;
        sub[axis + 2] = hi_t;
        split(&piece, pb, sub, first, ctx, feature, out);
    }
}

/// Median of `v` (which it reorders); `None` when empty.
fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

fn morton(p: [f64; 2]) -> u64 {
    fn spread(mut v: u64) -> u64 {
        v &= 0xffff_ffff;
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    let q = |v: f64| (v.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u64;
    spread(q(p[0])) | (spread(q(p[1])) << 1)
}

/// Guesses a max zoom the way tippecanoe's `-zg` means it: the lowest zoom
/// at which the data is resolved. Lines and polygons: the median segment is
/// at least one pixel (16 of 4096 units, 256-pixel tiles). Points: the
/// median spacing between neighbours (in Morton order) is at least four
/// pixels. Clamped to `[minzoom, GUESS_CAP]`.
pub fn guess_maxzoom(shapes: &[(u32, Shape<f64>)], minzoom: u8) -> u8 {
    let total_pts: usize = shapes
        .iter()
        .filter(|(_, s)| s.kind == Kind::Point)
        .map(|(_, s)| s.len())
        .sum();
    let total_segs: usize = shapes
        .iter()
        .filter(|(_, s)| s.kind != Kind::Point)
        .map(|(_, s)| s.len())
        .sum();
    // Samples at most ~2 million values of each.
    let pstride = (total_pts / 2_000_000).max(1);
    let sstride = (total_segs / 2_000_000).max(1);
    let mut points: Vec<[f64; 2]> = Vec::new();
    let mut segs: Vec<f64> = Vec::new();
    let (mut pi, mut si) = (0usize, 0usize);
    for (_, s) in shapes {
        for p in &s.parts {
            match s.kind {
                Kind::Point => {
                    for &c in &p.pts {
                        if pi % pstride == 0 {
                            points.push(c);
                        }
                        pi += 1;
                    }
                }
                Kind::Line | Kind::Polygon => {
                    let n = p.pts.len();
                    let closed = usize::from(s.kind == Kind::Polygon);
                    for i in 0..(n + closed).saturating_sub(1) {
                        if si % sstride == 0 {
                            let (a, b) = (p.pts[i], p.pts[(i + 1) % n]);
                            let d = (a[0] - b[0]).hypot(a[1] - b[1]);
                            if d > 0.0 {
                                segs.push(d);
                            }
                        }
                        si += 1;
                    }
                }
            }
        }
    }
    let zoom_for =
        |d: f64, units: f64| -> f64 { (units / (f64::from(mvt::EXTENT) * d)).log2().ceil() };
    let mut z: Option<f64> = None;
    if let Some(d) = median(&mut segs) {
        z = Some(zoom_for(d, 16.0));
    }
    if points.len() >= 2 {
        points.sort_unstable_by_key(|p| morton(*p));
        let mut gaps: Vec<f64> = points
            .windows(2)
            .map(|w| (w[0][0] - w[1][0]).hypot(w[0][1] - w[1][1]))
            .filter(|d| *d > 0.0)
            .collect();
        if let Some(d) = median(&mut gaps) {
            let zp = zoom_for(d, 64.0);
            z = Some(z.map_or(zp, |z| z.max(zp)));
        }
    } else if !points.is_empty() && z.is_none() {
        z = Some(f64::from(GUESS_CAP));
    }
    let z = z.unwrap_or(f64::from(minzoom));
    (z.clamp(0.0, f64::from(GUESS_CAP)) as u8).max(minzoom)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::default(),
    );
    enc.write_all(data).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// How much a piece shows, to drop the least visible first.
fn weight(p: &Piece) -> f64 {
    match p.kind {
        Kind::Polygon => p
            .parts
            .iter()
            .filter(|q| q.outer)
            .map(|q| crate::geom::ring_area2(&q.pts).unsigned_abs() as f64 / 2.0)
            .sum::<f64>()
            .sqrt(),
        Kind::Line => p
            .parts
            .iter()
            .flat_map(|q| q.pts.windows(2))
            .map(|w| f64::from(w[0][0] - w[1][0]).hypot(f64::from(w[0][1] - w[1][1])))
            .sum(),
        // Points have no size: a fixed pseudo-random order thins them evenly.
        Kind::Point => {
            let h = u64::from(p.feature).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52;
            h as f64
        }
    }
}

/// Lower-detail copies of `pieces`; at max zoom a piece that vanishes keeps
/// a speck so no feature is lost.
fn coarse_pieces(pieces: &[Piece], shift: u32, keep_all: bool) -> Vec<Piece> {
    pieces
        .iter()
        .filter_map(|p| {
            let mut parts = coarsen(&p.parts, shift);
            clean(p.kind, &mut parts);
            if parts.is_empty() {
                if !keep_all {
                    return None;
                }
                let mut q = coarsen(&p.parts[..1], shift);
                q[0].pts.truncate(1);
                let c = q[0].pts[0];
                q[0].pts = match p.kind {
                    Kind::Polygon => {
                        vec![c, [c[0] + 1, c[1]], [c[0] + 1, c[1] + 1], [c[0], c[1] + 1]]
                    }
                    Kind::Line => vec![c, [c[0] + 1, c[1]]],
                    Kind::Point => vec![c],
                };
                parts = q;
            }
            Some(Piece {
                tile: p.tile,
                feature: p.feature,
                kind: p.kind,
                parts,
            })
        })
        .collect()
}

/// Encodes and gzips one tile, applying the fallback when it is over the
/// byte or feature cap: first a lower detail (extent 2048, 1024, 512),
/// then, below max zoom only, dropping the least visible features
/// (smallest polygons, shortest lines, an even thinning of points).
fn encode_capped(
    layer: &LayerData,
    pieces: &[Piece],
    is_max: bool,
    opts: &VectorOptions,
) -> (Vec<u8>, TileStats) {
    let mut stats = TileStats::default();
    let fits = |gz: &[u8], n: usize| gz.len() <= opts.max_tile_bytes && n <= opts.max_tile_features;
    let refs: Vec<&Piece> = pieces.iter().collect();
    let gz = gzip(&encode_tile(layer, &refs, mvt::EXTENT));
    if fits(&gz, refs.len()) {
        return (gz, stats);
    }
    stats.over = true;
    let mut last = gz;
    let mut coarse = Vec::new();
    for shift in 1..=3 {
        coarse = coarse_pieces(pieces, shift, is_max);
        let refs: Vec<&Piece> = coarse.iter().collect();
        last = gzip(&encode_tile(layer, &refs, mvt::EXTENT >> shift));
        stats.shift = shift;
        if fits(&last, refs.len()) {
            return (last, stats);
        }
    }
    if is_max {
        stats.still_over = true;
        return (last, stats);
    }
    let mut order: Vec<(f64, usize)> = coarse
        .iter()
        .enumerate()
        .map(|(i, p)| (weight(p), i))
        .collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut keep = coarse.len().min(opts.max_tile_features);
    loop {
        let mut idx: Vec<usize> = order[..keep].iter().map(|&(_, i)| i).collect();
        idx.sort_unstable();
        let refs: Vec<&Piece> = idx.iter().map(|&i| &coarse[i]).collect();
        last = gzip(&encode_tile(layer, &refs, mvt::EXTENT >> stats.shift));
        stats.dropped = coarse.len() - keep;
        if fits(&last, keep) || keep <= 1 {
            stats.still_over = !fits(&last, keep);
            return (last, stats);
        }
        keep = ((keep as f64) * 0.75) as usize;
        keep = keep.max(1);
    }
}

/// Interns attribute values: each distinct value is encoded once.
fn layer_data(input: &mut VectorInput) -> LayerData {
    #[derive(PartialEq, Eq, Hash)]
    enum Key {
        S(String),
        I(i64),
        D(u64),
        B(bool),
    }
    let mut ids: HashMap<Key, u32> = HashMap::new();
    let mut values = Vec::new();
    let mut props = Vec::with_capacity(input.features.len());
    let mut fids = Vec::with_capacity(input.features.len());
    for f in &mut input.features {
        let mut row = Vec::with_capacity(f.properties.len());
        for (k, v) in f.properties.drain(..) {
            let key = match &v {
                PropValue::String(s) => Key::S(s.clone()),
                PropValue::Int(i) => Key::I(*i),
                PropValue::Double(d) => Key::D(d.to_bits()),
                PropValue::Bool(b) => Key::B(*b),
            };
            let id = *ids.entry(key).or_insert_with(|| {
                values.push(v.encode());
                (values.len() - 1) as u32
            });
            row.push((k, id));
        }
        props.push(row);
        fids.push(f.id);
    }
    LayerData {
        name: input.layer.clone(),
        keys: input.fields.iter().map(|f| f.name.clone()).collect(),
        values,
        props,
        ids: fids,
    }
}

/// Tiles a layer. The input's geometries are consumed (converted to the
/// tiler's own form) to keep one copy in memory.
pub fn tile_vector(
    mut input: VectorInput,
    opts: &VectorOptions,
    progress: &dyn Progress,
) -> Result<VectorTiles, TilesError> {
    if let Some(mz) = opts.maxzoom {
        if mz > MAX_ZOOM {
            return Err(TilesError::Option(format!(
                "--maxzoom {mz} is above {MAX_ZOOM}; choose {MAX_ZOOM} or less"
            )));
        }
        if mz < opts.minzoom {
            return Err(TilesError::Option(format!(
                "--maxzoom {mz} is below --minzoom {}; raise --maxzoom or lower --minzoom",
                opts.minzoom
            )));
        }
    }
    if opts.minzoom > MAX_ZOOM {
        return Err(TilesError::Option(format!(
            "--minzoom {} is above {MAX_ZOOM}",
            opts.minzoom
        )));
    }
    let layer = layer_data(&mut input);
    let crs = input.crs;
    let total = input.features.len();
    let mut shapes: Vec<(u32, Shape<f64>)> = input
        .features
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, f)| {
            shapes_of(&f.geometry, crs)
                .into_iter()
                .map(move |s| (i as u32, s))
        })
        .collect();
    drop(input.features);
    let mut with_geometry = vec![false; total];
    for (i, _) in &shapes {
        with_geometry[*i as usize] = true;
    }
    let features = with_geometry.iter().filter(|b| **b).count() as u64;
    let skipped = total as u64 - features;
    if shapes.is_empty() {
        return Err(TilesError::Empty(if total == 0 {
            "the layer has no features".into()
        } else {
            format!("none of its {total} features has a geometry")
        }));
    }
    let mut bounds = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (_, s) in &shapes {
        if let Some(b) = s.bbox() {
            bounds = [
                bounds[0].min(b[0]),
                bounds[1].min(b[1]),
                bounds[2].max(b[2]),
                bounds[3].max(b[3]),
            ];
        }
    }
    let (maxzoom, guessed) = match opts.maxzoom {
        Some(z) => (z, false),
        None => (guess_maxzoom(&shapes, opts.minzoom), true),
    };
    let minzoom = opts.minzoom;
    // First coordinates, for the max zoom specks.
    let firsts: Vec<[f64; 2]> = shapes.iter().map(|(_, s)| s.parts[0].pts[0]).collect();
    progress.start("tiling", u64::from(maxzoom - minzoom) + 1);
    let mut zooms: Vec<ZoomTiles> = Vec::new();
    let mut over: Vec<(u8, TileStats)> = Vec::new();
    for z in (minzoom..=maxzoom).rev() {
        let ctx = ZoomCtx::new(z, opts.buffer, z == maxzoom);
        let tol = opts.simplification / ctx.scale;
        let mut pieces: Vec<Piece> = shapes
            .par_iter_mut()
            .zip(firsts.par_iter())
            .flat_map_iter(|((fi, shape), first)| {
                simplify_shape(shape, tol);
                let mut out = Vec::new();
                if let Some(b) = shape.bbox() {
                    split(
                        shape,
                        b,
                        [0, 0, ctx.n - 1, ctx.n - 1],
                        *first,
                        &ctx,
                        *fi,
                        &mut out,
                    );
                }
                out
            })
            .collect();
        pieces.par_sort_unstable_by_key(|p| (p.tile, p.feature, p.kind));
        let mut starts = vec![0usize];
        for i in 1..pieces.len() {
            if pieces[i].tile != pieces[i - 1].tile {
                starts.push(i);
            }
        }
        starts.push(pieces.len());
        let tiles: Vec<(u64, Vec<u8>, TileStats)> = starts
            .par_windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| {
                let group = &pieces[w[0]..w[1]];
                let (gz, st) = encode_capped(&layer, group, ctx.max, opts);
                (group[0].tile, gz, st)
            })
            .collect();
        drop(pieces);
        let mut zt = Vec::with_capacity(tiles.len());
        for (id, gz, st) in tiles {
            if st.over {
                over.push((z, st));
            }
            zt.push((id, gz));
        }
        zooms.push(zt);
        progress.advance(1);
    }
    progress.finish();
    zooms.reverse();
    let notes = fallback_notes(&over, opts, maxzoom, skipped, guessed);
    Ok(VectorTiles {
        minzoom,
        maxzoom,
        maxzoom_guessed: guessed,
        zooms,
        bounds,
        features,
        skipped,
        notes,
    })
}

fn fallback_notes(
    over: &[(u8, TileStats)],
    opts: &VectorOptions,
    maxzoom: u8,
    skipped: u64,
    guessed: bool,
) -> Vec<String> {
    let mut notes = Vec::new();
    if guessed {
        notes.push(format!(
            "max zoom {maxzoom} guessed from the data (pass --maxzoom to choose)"
        ));
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} feature(s) without geometry are not in the tiles"
        ));
    }
    if !over.is_empty() {
        let zs: Vec<u8> = over.iter().map(|(z, _)| *z).collect();
        let (lo, hi) = (
            zs.iter().min().copied().unwrap_or(0),
            zs.iter().max().copied().unwrap_or(0),
        );
        let lowered = over.iter().filter(|(_, s)| s.shift > 0).count();
        let dropped: usize = over.iter().map(|(_, s)| s.dropped).sum();
        let drop_tiles = over.iter().filter(|(_, s)| s.dropped > 0).count();
        notes.push(format!(
            "{} tile(s) at zoom {lo}-{hi} were over {} bytes or {} features: detail lowered in {lowered}, {dropped} feature(s) dropped (least visible first) from {drop_tiles} below max zoom",
            over.len(),
            opts.max_tile_bytes,
            opts.max_tile_features
        ));
        let still = over
            .iter()
            .filter(|(z, s)| s.still_over && *z == maxzoom)
            .count();
        if still > 0 {
            notes.push(format!(
                "{still} tile(s) at max zoom {maxzoom} stay over the cap: features are never dropped at max zoom (raise --maxzoom to spread them)"
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use arco_core::NoProgress;
    use geo_types::{line_string, point, polygon};

    fn input(features: Vec<Feature>) -> VectorInput {
        VectorInput {
            layer: "t".into(),
            crs: InputCrs::LonLat,
            fields: vec![FieldDef {
                name: "name".into(),
                kind: FieldType::String,
            }],
            features,
        }
    }

    fn feature(id: u64, g: Geometry<f64>) -> Feature {
        Feature {
            id,
            geometry: g,
            properties: vec![(0, PropValue::String(format!("f{id}")))],
        }
    }

    #[test]
    fn every_feature_lands_in_the_max_zoom_tiles() {
        let feats = vec![
            feature(0, Geometry::Point(point!(x: 10.0, y: 10.0))),
            // A polygon too small to survive quantisation at zoom 4.
            feature(
                1,
                Geometry::Polygon(
                    polygon![(x: 20.0, y: 20.0), (x: 20.000_01, y: 20.0), (x: 20.000_01, y: 20.000_01)],
                ),
            ),
            // A line across many tiles.
            feature(
                2,
                Geometry::LineString(line_string![(x: -170.0, y: -60.0), (x: 170.0, y: 60.0)]),
            ),
        ];
        let opts = VectorOptions {
            maxzoom: Some(4),
            ..VectorOptions::default()
        };
        let t = tile_vector(input(feats), &opts, &NoProgress).unwrap();
        assert_eq!(t.zooms.len(), 5);
        assert_eq!(t.zooms[0].len(), 1, "one tile at zoom 0");
        // The line crosses about 2 x 16 tiles at zoom 4, not all 256.
        let z4 = &t.zooms[4];
        assert!(z4.len() > 16 && z4.len() < 60, "{}", z4.len());
        // Ids ascend (clustered order).
        assert!(z4.windows(2).all(|w| w[0].0 < w[1].0));
        let mut seen = [false; 3];
        for (_, gz) in z4 {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw)
                .unwrap();
            for id in crate::mvt::tests::feature_ids(&raw) {
                seen[id as usize] = true;
            }
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn empty_layer_is_an_error() {
        let err = tile_vector(input(vec![]), &VectorOptions::default(), &NoProgress).unwrap_err();
        assert!(err.to_string().contains("no features"), "{err}");
    }

    #[test]
    fn oversized_tiles_fall_back_below_max_zoom() {
        // Many long lines through one zoom-0 tile; a tiny byte cap.
        let feats = (0..400)
            .map(|i| {
                let y = -60.0 + f64::from(i) * 0.3;
                feature(
                    u64::from(i as u32),
                    Geometry::LineString(
                        line_string![(x: -170.0, y: y), (x: 0.0, y: y + 1.0), (x: 170.0, y: y)],
                    ),
                )
            })
            .collect();
        let opts = VectorOptions {
            maxzoom: Some(1),
            max_tile_bytes: 4_000,
            ..VectorOptions::default()
        };
        let t = tile_vector(input(feats), &opts, &NoProgress).unwrap();
        assert!(t.zooms[0][0].1.len() <= 4_000);
        assert!(
            t.notes.iter().any(|n| n.contains("dropped")),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn guessed_zoom_follows_the_detail() {
        // Points about 1 km apart near the equator.
        let shapes: Vec<(u32, Shape<f64>)> = (0..100)
            .map(|i| {
                let g = Geometry::Point(point!(x: f64::from(i) * 0.009, y: 0.0));
                (i as u32, shapes_of(&g, InputCrs::LonLat).remove(0))
            })
            .collect();
        let z = guess_maxzoom(&shapes, 0);
        assert!((9..=11).contains(&z), "{z}");
        assert_eq!(guess_maxzoom(&shapes, 12), 12);
    }
}
