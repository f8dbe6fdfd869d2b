//! Header checks of the vector and tile formats: GeoParquet's `geo`
//! metadata, FlatGeobuf's header, PMTiles' header and directories.
//! Each returns the problems found and what the file says of itself.

use crate::bytes::Bytes;
use serde_json::Value;
use std::io::Read;

/// What a vector or tile file says of itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Feature (row) count.
    pub features: Option<u64>,
    /// Column names (GeoParquet).
    pub columns: Vec<String>,
}

/// GeoParquet 1.1: the footer's `geo` key and the row count.
pub fn geoparquet(path: &std::path::Path) -> (Vec<String>, Facts) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut problems = Vec::new();
    let reader = match std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| SerializedFileReader::new(f).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            return (
                vec![format!("not a readable Parquet file: {e}")],
                Facts::default(),
            )
        }
    };
    let meta = reader.metadata().file_metadata();
    let facts = Facts {
        features: Some(meta.num_rows() as u64),
        columns: meta
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
    };
    let geo = meta
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone());
    let Some(geo) = geo else {
        problems.push("no `geo` key in the Parquet footer: this is Parquet, not GeoParquet".into());
        return (problems, facts);
    };
    let geo: Value = match serde_json::from_str(&geo) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("the `geo` metadata is not JSON: {e}"));
            return (problems, facts);
        }
    };
    match geo["version"].as_str() {
        Some(v) if v.starts_with("1.") => {}
        other => problems.push(format!("`geo.version` is {other:?}, expected 1.x (1.1.0)")),
    }
    let primary = geo["primary_column"].as_str().unwrap_or_default();
    let cols = geo["columns"].as_object();
    match cols.and_then(|c| c.get(primary)) {
        None => problems.push(format!(
            "`geo.primary_column` {primary:?} has no entry in `geo.columns`"
        )),
        Some(c) => {
            const ENCODINGS: [&str; 7] = [
                "WKB",
                "point",
                "linestring",
                "polygon",
                "multipoint",
                "multilinestring",
                "multipolygon",
            ];
            match c["encoding"].as_str() {
                Some(e) if ENCODINGS.contains(&e) => {}
                e => problems.push(format!(
                    "column {primary:?}: encoding {e:?} is not a GeoParquet encoding"
                )),
            }
            if !c["geometry_types"].is_array() {
                problems.push(format!(
                    "column {primary:?}: `geometry_types` is missing (use [] for any)"
                ));
            }
            if let Some(crs) = c.get("crs") {
                if !(crs.is_null() || crs.is_object()) {
                    problems.push(format!(
                        "column {primary:?}: `crs` must be PROJJSON (an object) or null"
                    ));
                }
            }
            if let Some(bbox) = c["covering"]["bbox"].as_object() {
                for k in ["xmin", "ymin", "xmax", "ymax"] {
                    let col = bbox
                        .get(k)
                        .and_then(|p| p.as_array())
                        .and_then(|p| p.first())
                        .and_then(Value::as_str);
                    if col.is_none_or(|c| !facts.columns.iter().any(|n| n == c)) {
                        problems.push(format!(
                            "covering.bbox.{k} does not name a column of the file"
                        ));
                    }
                }
            }
            if !facts.columns.iter().any(|n| n == primary) {
                problems.push(format!(
                    "primary column {primary:?} is not a column of the file"
                ));
            }
        }
    }
    (problems, facts)
}

/// FlatGeobuf: magic bytes and the header's feature count.
pub fn flatgeobuf(b: &Bytes) -> (Vec<String>, Facts) {
    let mut problems = Vec::new();
    let head = b.read(0, 12.min(b.len() as usize)).unwrap_or_default();
    if head.len() < 12 || &head[..3] != b"fgb" || head[4..7] != *b"fgb" {
        problems.push("not a FlatGeobuf file (no `fgb` magic bytes)".into());
        return (problems, Facts::default());
    }
    let hlen = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
    let Ok(header) = b.read(12, hlen) else {
        problems.push(format!(
            "the header claims {hlen} bytes but the file is shorter"
        ));
        return (problems, Facts::default());
    };
    let features = flatgeobuf_feature_count(&header);
    (
        problems,
        Facts {
            features,
            columns: Vec::new(),
        },
    )
}

/// `features_count` (field 7 of the header table, a u64) from a
/// size-prefixed flatbuffer, read by hand: the table layout is stable.
fn flatgeobuf_feature_count(buf: &[u8]) -> Option<u64> {
    let u32_at = |o: usize| {
        buf.get(o..o + 4)
            .map(|d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
    };
    let u16_at = |o: usize| buf.get(o..o + 2).map(|d| u16::from_le_bytes([d[0], d[1]]));
    let table = u32_at(0)? as usize;
    let vt = table
        .checked_sub(i32::from_le_bytes(buf.get(table..table + 4)?.try_into().ok()?) as usize)?;
    let vt_len = u16_at(vt)? as usize;
    // Field 7: vtable slot 4 + 2*7.
    let slot = 4 + 2 * 7;
    if slot + 2 > vt_len {
        return Some(0);
    }
    let off = u16_at(vt + slot)? as usize;
    if off == 0 {
        return Some(0);
    }
    let d = buf.get(table + off..table + off + 8)?;
    Some(u64::from_le_bytes(d.try_into().ok()?))
}

fn varint(d: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *d.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// PMTiles v3: the header, and the root directory's entries in order and
/// inside the tile data section.
pub fn pmtiles(b: &Bytes) -> (Vec<String>, Facts) {
    let mut problems = Vec::new();
    let Ok(h) = b.read(0, 127) else {
        return (
            vec!["shorter than a PMTiles header (127 bytes)".into()],
            Facts::default(),
        );
    };
    if &h[..7] != b"PMTiles" || h[7] != 3 {
        return (
            vec!["not a PMTiles v3 archive (magic `PMTiles` and version 3)".into()],
            Facts::default(),
        );
    }
    let u = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or_default());
    let (root_off, root_len) = (u(8), u(16));
    let (data_off, data_len) = (u(56), u(64));
    let len = b.len();
    for (name, o, l) in [
        ("root directory", root_off, root_len),
        ("metadata", u(24), u(32)),
        ("leaf directories", u(40), u(48)),
        ("tile data", data_off, data_len),
    ] {
        if o.saturating_add(l) > len {
            problems.push(format!(
                "the {name} section ({l} bytes at {o}) runs past the end of the file ({len} bytes)"
            ));
        }
    }
    let (min_zoom, max_zoom) = (h[100], h[101]);
    if min_zoom > max_zoom {
        problems.push(format!("min zoom {min_zoom} is above max zoom {max_zoom}"));
    }
    let min_lon = i32::from_le_bytes(h[102..106].try_into().unwrap_or_default());
    let max_lon = i32::from_le_bytes(h[110..114].try_into().unwrap_or_default());
    if min_lon > max_lon {
        problems.push("header bounds: min longitude is above max longitude".into());
    }
    let compression = h[97];
    if !problems.is_empty() {
        return (problems, Facts::default());
    }
    let Ok(raw) = b.read(root_off, root_len as usize) else {
        return (
            vec!["cannot read the root directory".into()],
            Facts::default(),
        );
    };
    let dir = match compression {
        1 => raw,
        2 => {
            let mut out = Vec::new();
            if flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .is_err()
            {
                return (
                    vec!["the root directory is not valid gzip".into()],
                    Facts::default(),
                );
            }
            out
        }
        c => {
            return (
                Vec::new(),
                Facts {
                    features: None,
                    columns: vec![format!("internal compression {c}: directory not checked")],
                },
            )
        }
    };
    let parse = || -> Option<Vec<(u64, u64, u64, u64)>> {
        let mut pos2 = 0;
        let n = varint(&dir, &mut pos2)? as usize;
        if n > dir.len() {
            return None;
        }
        let mut ids = Vec::with_capacity(n);
        let mut last = 0u64;
        for _ in 0..n {
            last += varint(&dir, &mut pos2)?;
            ids.push(last);
        }
        let runs: Vec<u64> = (0..n)
            .map(|_| varint(&dir, &mut pos2))
            .collect::<Option<_>>()?;
        let lens: Vec<u64> = (0..n)
            .map(|_| varint(&dir, &mut pos2))
            .collect::<Option<_>>()?;
        let mut offs = Vec::with_capacity(n);
        for i in 0..n {
            let v = varint(&dir, &mut pos2)?;
            let o = if v == 0 && i > 0 {
                offs[i - 1] + lens[i - 1]
            } else {
                v.checked_sub(1)?
            };
            offs.push(o);
        }
        Some(
            (0..n)
                .map(|i| (ids[i], runs[i], lens[i], offs[i]))
                .collect(),
        )
    };
    let Some(entries) = parse() else {
        return (
            vec!["the root directory cannot be decoded".into()],
            Facts::default(),
        );
    };
    if entries.windows(2).any(|w| w[1].0 <= w[0].0) {
        problems.push("root directory entries are not in increasing tile-id order".into());
    }
    for &(id, run, l, o) in &entries {
        let section = if run == 0 { u(48) } else { data_len };
        if o.saturating_add(l) > section {
            problems.push(format!(
                "entry for tile id {id} points past the end of its section"
            ));
            break;
        }
    }
    (problems, Facts::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmtiles_header_problems_are_named() {
        let mut h = vec![0u8; 127];
        h[..7].copy_from_slice(b"PMTiles");
        h[7] = 3;
        // Root directory claims to be past the end.
        h[8..16].copy_from_slice(&1000u64.to_le_bytes());
        h[16..24].copy_from_slice(&10u64.to_le_bytes());
        let (p, _) = pmtiles(&Bytes::Mem(h.clone()));
        assert!(p.iter().any(|m| m.contains("root directory")), "{p:?}");
        h[7] = 2;
        let (p, _) = pmtiles(&Bytes::Mem(h));
        assert!(p[0].contains("not a PMTiles v3"));
    }

    #[test]
    fn varints_decode() {
        let d = [0x96, 0x01, 0x05];
        let mut pos = 0;
        assert_eq!(varint(&d, &mut pos), Some(150));
        assert_eq!(varint(&d, &mut pos), Some(5));
        assert_eq!(varint(&d, &mut pos), None);
    }
}
