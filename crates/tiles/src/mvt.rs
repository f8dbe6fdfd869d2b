//! Mapbox Vector Tile 2.1 encoding, written directly as protobuf: tile
//! geometry in integer units, cleaning (repeated points, degenerate parts,
//! ring winding) and one layer per tile.

use crate::geom::{ring_area2, Kind};

/// Tile extent at full detail.
pub const EXTENT: u32 = 4096;

/// One part in tile units.
#[derive(Debug, Clone, PartialEq)]
pub struct QPart {
    /// Coordinates (rings without closing point).
    pub pts: Vec<[i32; 2]>,
    /// Exterior ring (polygons only).
    pub outer: bool,
}

/// What one feature puts in one tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// PMTiles tile id.
    pub tile: u64,
    /// Index of the feature in the input.
    pub feature: u32,
    /// Geometry type.
    pub kind: Kind,
    /// Cleaned parts, ready to encode.
    pub parts: Vec<QPart>,
}

/// Removes repeated points and degenerate parts and fixes ring winding
/// (exterior rings clockwise on screen, holes counter-clockwise); holes of
/// a dropped exterior ring go with it.
pub fn clean(kind: Kind, parts: &mut Vec<QPart>) {
    for p in parts.iter_mut() {
        p.pts.dedup();
    }
    match kind {
        Kind::Point => parts.retain(|p| !p.pts.is_empty()),
        Kind::Line => parts.retain(|p| p.pts.len() >= 2),
        Kind::Polygon => {
            let mut keep_holes = false;
            parts.retain_mut(|p| {
                if p.pts.len() > 1 && p.pts.first() == p.pts.last() {
                    p.pts.pop();
                }
                if !p.outer && !keep_holes {
                    return false;
                }
                let a = if p.pts.len() >= 3 {
                    ring_area2(&p.pts)
                } else {
                    0
                };
                let ok = a != 0;
                if p.outer {
                    keep_holes = ok;
                }
                if ok && (a > 0) != p.outer {
                    p.pts.reverse();
                }
                ok
            });
        }
    }
}

/// Snaps coordinates to a grid `2^shift` times coarser (for a lower detail
/// with extent `4096 >> shift`).
pub fn coarsen(parts: &[QPart], shift: u32) -> Vec<QPart> {
    let d = 1i32 << shift;
    let half = d / 2;
    parts
        .iter()
        .map(|p| QPart {
            pts: p
                .pts
                .iter()
                .map(|c| [(c[0] + half).div_euclid(d), (c[1] + half).div_euclid(d)])
                .collect(),
            outer: p.outer,
        })
        .collect()
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn command(id: u32, count: usize) -> u32 {
    (id & 7) | ((count as u32) << 3)
}

/// MVT geometry commands of one feature's parts.
pub fn geometry_commands(kind: Kind, parts: &[QPart], out: &mut Vec<u32>) {
    let mut cur = [0i32, 0i32];
    let mut push = |out: &mut Vec<u32>, p: [i32; 2]| {
        out.push(zigzag(p[0] - cur[0]));
        out.push(zigzag(p[1] - cur[1]));
        cur = p;
    };
    match kind {
        Kind::Point => {
            let n: usize = parts.iter().map(|p| p.pts.len()).sum();
            out.push(command(1, n));
            for p in parts.iter().flat_map(|p| &p.pts) {
                push(out, *p);
            }
        }
        Kind::Line | Kind::Polygon => {
            for p in parts {
                out.push(command(1, 1));
                push(out, p.pts[0]);
                out.push(command(2, p.pts.len() - 1));
                for q in &p.pts[1..] {
                    push(out, *q);
                }
                if kind == Kind::Polygon {
                    out.push(command(7, 1));
                }
            }
        }
    }
}

/// Protobuf writing helpers.
pub mod pb {
    /// Appends a varint.
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Appends a field key.
    pub fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
        varint(out, (u64::from(field) << 3) | u64::from(wire));
    }

    /// Appends a length-delimited field.
    pub fn bytes(out: &mut Vec<u8>, field: u32, data: &[u8]) {
        key(out, field, 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    fn varint_len(mut v: u64) -> usize {
        let mut n = 1;
        while v >= 0x80 {
            v >>= 7;
            n += 1;
        }
        n
    }

    /// Appends a packed repeated uint32 field.
    pub fn packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
        if values.is_empty() {
            return;
        }
        key(out, field, 2);
        let len: usize = values.iter().map(|&v| varint_len(u64::from(v))).sum();
        varint(out, len as u64);
        for &v in values {
            varint(out, u64::from(v));
        }
    }
}

/// An attribute value as MVT stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// Text.
    String(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Double(f64),
    /// Boolean.
    Bool(bool),
}

impl PropValue {
    /// The encoded `Tile.Value` message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            PropValue::String(s) => pb::bytes(&mut out, 1, s.as_bytes()),
            PropValue::Double(d) => {
                pb::key(&mut out, 3, 1);
                out.extend_from_slice(&d.to_le_bytes());
            }
            PropValue::Int(i) if *i >= 0 => {
                pb::key(&mut out, 5, 0);
                pb::varint(&mut out, *i as u64);
            }
            PropValue::Int(i) => {
                pb::key(&mut out, 6, 0);
                pb::varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
            }
            PropValue::Bool(b) => {
                pb::key(&mut out, 7, 0);
                pb::varint(&mut out, u64::from(*b));
            }
        }
        out
    }
}

/// The attributes of a layer, interned once for all tiles.
#[derive(Debug, Default)]
pub struct LayerData {
    /// Layer name.
    pub name: String,
    /// Field names (key ids index this).
    pub keys: Vec<String>,
    /// Encoded `Tile.Value` messages (value ids index this).
    pub values: Vec<Vec<u8>>,
    /// Per feature: (key id, value id) pairs.
    pub props: Vec<Vec<(u32, u32)>>,
    /// Per feature: the MVT feature id.
    pub ids: Vec<u64>,
}

/// Encodes one tile holding one layer from `pieces` (sorted by feature),
/// with coordinates in `extent` units.
pub fn encode_tile(layer: &LayerData, pieces: &[&Piece], extent: u32) -> Vec<u8> {
    let mut keys: Vec<u32> = Vec::new();
    let mut vals: Vec<u32> = Vec::new();
    for p in pieces {
        for &(k, v) in &layer.props[p.feature as usize] {
            keys.push(k);
            vals.push(v);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    vals.sort_unstable();
    vals.dedup();
    let local = |table: &[u32], id: u32| table.binary_search(&id).unwrap_or(0) as u32;

    let mut body = Vec::with_capacity(1024);
    pb::key(&mut body, 15, 0);
    pb::varint(&mut body, 2);
    pb::bytes(&mut body, 1, layer.name.as_bytes());
    let mut feat = Vec::new();
    let mut tags = Vec::new();
    let mut geom = Vec::new();
    for p in pieces {
        feat.clear();
        tags.clear();
        geom.clear();
        pb::key(&mut feat, 1, 0);
        pb::varint(&mut feat, layer.ids[p.feature as usize]);
        for &(k, v) in &layer.props[p.feature as usize] {
            tags.push(local(&keys, k));
            tags.push(local(&vals, v));
        }
        pb::packed(&mut feat, 2, &tags);
        pb::key(&mut feat, 3, 0);
        pb::varint(&mut feat, p.kind.mvt());
        geometry_commands(p.kind, &p.parts, &mut geom);
        pb::packed(&mut feat, 4, &geom);
        pb::bytes(&mut body, 2, &feat);
    }
    for &k in &keys {
        pb::bytes(&mut body, 3, layer.keys[k as usize].as_bytes());
    }
    for &v in &vals {
        pb::bytes(&mut body, 4, &layer.values[v as usize]);
    }
    pb::key(&mut body, 5, 0);
    pb::varint(&mut body, u64::from(extent));
    let mut tile = Vec::with_capacity(body.len() + 8);
    pb::bytes(&mut tile, 3, &body);
    tile
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn read_varint(b: &[u8], i: &mut usize) -> u64 {
        let (mut v, mut s) = (0u64, 0);
        loop {
            let x = b[*i];
            *i += 1;
            v |= u64::from(x & 0x7f) << s;
            if x < 0x80 {
                return v;
            }
            s += 7;
        }
    }

    /// The (field, payload) pairs of a message; varints as their value bytes.
    fn fields(b: &[u8]) -> Vec<(u64, Vec<u8>, u64)> {
        let mut i = 0;
        let mut out = Vec::new();
        while i < b.len() {
            let k = read_varint(b, &mut i);
            match k & 7 {
                0 => {
                    let v = read_varint(b, &mut i);
                    out.push((k >> 3, Vec::new(), v));
                }
                1 => {
                    out.push((k >> 3, b[i..i + 8].to_vec(), 0));
                    i += 8;
                }
                2 => {
                    let n = read_varint(b, &mut i) as usize;
                    out.push((k >> 3, b[i..i + n].to_vec(), 0));
                    i += n;
                }
                w => panic!("wire type {w}"),
            }
        }
        out
    }

    /// Feature ids of every layer of a raw tile.
    pub(crate) fn feature_ids(tile: &[u8]) -> Vec<u64> {
        let mut ids = Vec::new();
        for (f, layer, _) in fields(tile) {
            assert_eq!(f, 3);
            for (g, feat, _) in fields(&layer) {
                if g == 2 {
                    ids.extend(fields(&feat).iter().filter(|x| x.0 == 1).map(|x| x.2));
                }
            }
        }
        ids
    }

    fn part(pts: &[[i32; 2]], outer: bool) -> QPart {
        QPart {
            pts: pts.to_vec(),
            outer,
        }
    }

    #[test]
    fn winding_is_fixed_and_degenerates_dropped() {
        let mut parts = vec![
            // Counter-clockwise on screen: must be reversed.
            part(&[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]], true),
            // A hole given clockwise: must be reversed too.
            part(&[[2, 2], [4, 2], [4, 4], [2, 4]], false),
            // A flat exterior and its hole vanish.
            part(&[[0, 0], [5, 0], [9, 0]], true),
            part(&[[1, 1], [2, 1], [2, 2]], false),
        ];
        clean(Kind::Polygon, &mut parts);
        assert_eq!(parts.len(), 2);
        assert!(ring_area2(&parts[0].pts) > 0);
        assert!(ring_area2(&parts[1].pts) < 0);
        assert_eq!(parts[0].pts.len(), 4);
    }

    #[test]
    fn lines_need_two_distinct_points() {
        let mut parts = vec![
            part(&[[1, 1], [1, 1]], false),
            part(&[[1, 1], [2, 2]], false),
        ];
        clean(Kind::Line, &mut parts);
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn commands_of_the_spec_examples() {
        // Examples from the MVT 2.1 specification, section 4.3.5.
        let mut out = Vec::new();
        geometry_commands(Kind::Point, &[part(&[[25, 17]], false)], &mut out);
        assert_eq!(out, vec![9, 50, 34]);
        out.clear();
        geometry_commands(
            Kind::Line,
            &[part(&[[2, 2], [2, 10], [10, 10]], false)],
            &mut out,
        );
        assert_eq!(out, vec![9, 4, 4, 18, 0, 16, 16, 0]);
        out.clear();
        geometry_commands(
            Kind::Polygon,
            &[part(&[[3, 6], [8, 12], [20, 34]], true)],
            &mut out,
        );
        assert_eq!(out, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]);
    }

    #[test]
    fn coarsen_rounds_to_the_nearest() {
        let c = coarsen(&[part(&[[0, 1], [3, -3], [4096, 4095]], false)], 1);
        assert_eq!(c[0].pts, vec![[0, 1], [2, -1], [2048, 2048]]);
    }

    #[test]
    fn values_encode_as_protobuf() {
        assert_eq!(PropValue::Int(1).encode(), vec![0x28, 1]);
        assert_eq!(PropValue::Int(-1).encode(), vec![0x30, 1]);
        assert_eq!(PropValue::Bool(true).encode(), vec![0x38, 1]);
        assert_eq!(PropValue::String("a".into()).encode(), vec![0x0a, 1, b'a']);
        assert_eq!(PropValue::Double(1.0).encode()[0], 0x19);
    }
}
