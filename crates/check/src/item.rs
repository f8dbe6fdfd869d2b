//! Rules on one Item and its assets: assets exist (Complete), sizes and
//! checksums match and layouts are valid (Correct), STAC says what the
//! files say (Consistent), no missing pixels inside the mask and every
//! pixel observed or filled (Complete), values within range (Correct).

use crate::bytes::Bytes;
use crate::report::{Findings, Severity, C};
use crate::tree::{Node, Tree};
use crate::{cog, formats, raster, CheckOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What was read for one Item.
#[derive(Debug, Default)]
pub struct ItemStats {
    pub assets: u64,
    pub bytes_hashed: u64,
    pub pixel_reads: u64,
}

/// A field of an asset, else of the Item's properties.
fn field<'a>(item: &'a Value, asset: &'a Value, key: &str) -> Option<&'a Value> {
    asset
        .get(key)
        .or_else(|| item["properties"].get(key))
        .filter(|v| !v.is_null())
}

fn dtype_size(t: &str) -> u64 {
    match t {
        "uint8" | "int8" => 1,
        "uint16" | "int16" => 2,
        "uint64" | "int64" | "float64" => 8,
        _ => 4,
    }
}

/// Uncompressed bytes of the raster assets of an Item (for the pixel budget).
pub fn raster_bytes(item: &Value) -> u64 {
    let Some(assets) = item["assets"].as_object() else {
        return 0;
    };
    assets
        .values()
        .filter(|a| a["type"].as_str().is_some_and(|t| t.contains("geotiff")))
        .map(|a| {
            let shape = field(item, a, "proj:shape")
                .and_then(Value::as_array)
                .map_or(0, |s| s.iter().filter_map(Value::as_u64).product::<u64>());
            let bands = a["bands"].as_array().map_or(1, Vec::len) as u64;
            let size = a["bands"][0]["data_type"].as_str().map_or(4, dtype_size);
            shape * bands * size
        })
        .sum()
}

/// sha2-256 multihash of a file and the bytes read: from memory when the
/// file is already there, streamed otherwise.
fn hash_file(path: &Path, bytes: &Bytes) -> std::io::Result<(String, u64)> {
    match bytes {
        Bytes::Mem(v) => {
            let mut h = Sha256::new();
            h.update(v);
            Ok((arco_core::multihash_sha256_hex(h), v.len() as u64))
        }
        Bytes::File(_, len) => Ok((arco_core::multihash_sha256_file(path)?, *len)),
    }
}

/// Every rule on one Item.
pub fn check(
    tree: &Tree,
    item: &Node,
    opts: &CheckOptions,
    masks: &raster::MaskCache,
    stride: Option<usize>,
) -> (Findings, ItemStats) {
    let mut f = Findings::default();
    let mut st = ItemStats::default();
    let id = item.id();
    let Some(assets) = item.json["assets"].as_object() else {
        f.checked(C::Complete);
        f.error(
            C::Complete,
            "item-has-assets",
            id,
            "the Item has no assets",
            "write the Item again with arco (every product has at least one asset)",
        );
        return (f, st);
    };
    for (key, asset) in assets {
        let object = format!("{id}/{key}");
        let Some(href) = asset["href"].as_str() else {
            f.checked(C::Correct);
            f.error(
                C::Correct,
                "asset-href",
                object,
                "the asset has no href",
                "give every asset an href",
            );
            continue;
        };
        let Some(path) = tree.resolve(item, href) else {
            f.checked(C::Complete);
            f.error(
                C::Complete,
                "asset-exists",
                object,
                format!("{href} is outside the catalog being checked"),
                "check the published copy, or give the catalog's base URL",
            );
            continue;
        };
        st.assets += 1;
        f.checked(C::Complete);
        if !path.exists() {
            f.error(
                C::Complete,
                "asset-exists",
                object,
                format!("{} is missing", path.display()),
                "write or publish the asset again (arco publish uploads only what is missing)",
            );
            continue;
        }
        if path.is_dir() {
            // A Zarr store: its metadata must be there.
            f.checked(C::Correct);
            if !path.join("zarr.json").is_file() {
                f.error(
                    C::Correct,
                    "zarr-metadata",
                    object,
                    format!("{} has no zarr.json", path.display()),
                    "write the store again with arco convert --to geozarr",
                );
            }
            continue;
        }
        let whole = match Bytes::open(&path) {
            Ok(b) => b,
            Err(e) => {
                f.error(
                    C::Correct,
                    "asset-readable",
                    object,
                    format!("cannot read {}: {e}", path.display()),
                    "check the file's permissions",
                );
                continue;
            }
        };
        size_and_checksum(&mut f, &mut st, &object, asset, &path, &whole, opts);
        let typ = asset["type"].as_str().unwrap_or_default();
        if typ.contains("geotiff") {
            // One parse of the TIFF structure serves the layout rules and
            // the header.
            let tiff_header = check_cog(&mut f, &object, &whole);
            drop(whole);
            let grid = tiff_header
                .as_ref()
                .map(|h| format!("{:?} {:?}", h.shape, h.transform));
            check_raster_header(&mut f, &object, &item.json, asset, &path, tiff_header);
            if let Some(stride) = stride {
                st.pixel_reads += 1;
                check_pixels(&mut f, &object, asset, &path, opts, masks, grid, stride);
            }
        } else if typ.contains("parquet") {
            let (problems, facts) = formats::geoparquet(&path);
            format_findings(
                &mut f,
                &object,
                "geoparquet",
                &problems,
                "rewrite it with arco convert --to geoparquet",
            );
            row_count(&mut f, &object, &item.json, facts.features);
        } else if typ.contains("flatgeobuf") {
            let (problems, facts) = formats::flatgeobuf(&whole);
            format_findings(
                &mut f,
                &object,
                "flatgeobuf",
                &problems,
                "rewrite it with arco convert --to flatgeobuf",
            );
            row_count(&mut f, &object, &item.json, facts.features);
        } else if typ.contains("pmtiles") {
            let (problems, _) = formats::pmtiles(&whole);
            format_findings(
                &mut f,
                &object,
                "pmtiles",
                &problems,
                "rewrite it with arco convert --to pmtiles",
            );
        }
    }
    (f, st)
}

fn size_and_checksum(
    f: &mut Findings,
    st: &mut ItemStats,
    object: &str,
    asset: &Value,
    path: &Path,
    whole: &Bytes,
    opts: &CheckOptions,
) {
    if let Some(size) = asset["file:size"].as_u64() {
        f.checked(C::Correct);
        if size != whole.len() {
            f.error(
                C::Correct,
                "file-size",
                object,
                format!("file:size says {size} bytes, the file has {}", whole.len()),
                "the file changed after its Item was written: write or publish it again",
            );
        }
    }
    let Some(want) = asset["file:checksum"].as_str() else {
        return;
    };
    if !opts.checksums {
        return;
    }
    f.checked(C::Correct);
    if !want.starts_with("1220") || want.len() != 68 {
        f.error(
            C::Correct,
            "checksum",
            object,
            format!("file:checksum {want:?} is not a sha2-256 multihash (1220 + 64 hex digits)"),
            "write the Item again with arco",
        );
        return;
    }
    match hash_file(path, whole) {
        Ok((got, n)) => {
            st.bytes_hashed += n;
            if !got.eq_ignore_ascii_case(want) {
                f.error(
                    C::Correct,
                    "checksum",
                    object,
                    format!("sha2-256 of the file is {}, file:checksum says {}", &got[4..], &want[4..]),
                    "the bytes changed or were damaged: restore the file from its source or convert and publish it again",
                );
            }
        }
        Err(e) => f.error(
            C::Correct,
            "checksum",
            object,
            format!("cannot read {}: {e}", path.display()),
            "check the file",
        ),
    }
}

/// The COG layout rules; returns the header the GeoTIFF tags give, when
/// the file parses.
fn check_cog(f: &mut Findings, object: &str, whole: &Bytes) -> Option<raster::Header> {
    f.checked(C::Correct);
    let fix = "convert it again with arco convert --to cog (or gdal_translate -of COG)";
    let checked = cog::read_layout(whole)
        .and_then(|layout| cog::check_layout(whole, &layout, true).map(|v| (layout, v)));
    match checked {
        Ok((layout, violations)) => {
            for x in violations {
                let severity = if x.error {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                f.add(C::Correct, severity, "cog-layout", object, x.message, fix);
            }
            raster::header_from_tiff(&layout)
        }
        Err(e) => {
            f.error(
                C::Correct,
                "cog-layout",
                object,
                format!("not a readable TIFF: {e}"),
                fix,
            );
            None
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// STAC's projection and band fields against what GDAL reads.
fn check_raster_header(
    f: &mut Findings,
    object: &str,
    item: &Value,
    asset: &Value,
    path: &Path,
    tiff: Option<raster::Header>,
) {
    f.checked(C::Consistent);
    // The GeoTIFF tags answer without opening the file again; GDAL reads
    // what they do not cover.
    let h = match tiff.map_or_else(|| raster::header(path), Ok) {
        Ok(h) => h,
        Err(e) => {
            f.error(
                C::Correct,
                "raster-readable",
                object,
                format!("GDAL cannot read it: {e}"),
                "convert it again",
            );
            return;
        }
    };
    let fix = "write the Item again from the file (arco convert writes both together)";
    if let Some(shape) = field(item, asset, "proj:shape").and_then(Value::as_array) {
        let s: Vec<u64> = shape.iter().filter_map(Value::as_u64).collect();
        if s != [h.shape[0] as u64, h.shape[1] as u64] {
            f.error(
                C::Consistent,
                "stac-matches-file",
                object,
                format!("proj:shape is {s:?}, the file is {:?}", h.shape),
                fix,
            );
        }
    }
    if let Some(t) = field(item, asset, "proj:transform").and_then(Value::as_array) {
        let t: Vec<f64> = t.iter().filter_map(Value::as_f64).collect();
        if t.len() < 6 || !t.iter().zip(h.transform).all(|(&a, b)| close(a, b)) {
            f.error(
                C::Consistent,
                "stac-matches-file",
                object,
                format!("proj:transform is {t:?}, the file has {:?}", h.transform),
                fix,
            );
        }
    }
    if let (Some(code), Some(file_code)) = (
        field(item, asset, "proj:code").and_then(Value::as_str),
        &h.code,
    ) {
        if code != file_code {
            f.error(
                C::Consistent,
                "stac-matches-file",
                object,
                format!("proj:code is {code}, the file is {file_code}"),
                fix,
            );
        }
    }
    if let Some(bands) = asset["bands"].as_array() {
        if bands.len() != h.bands {
            f.error(
                C::Consistent,
                "stac-matches-file",
                object,
                format!("{} bands in STAC, {} in the file", bands.len(), h.bands),
                fix,
            );
        }
        if let Some(t) = bands.first().and_then(|b| b["data_type"].as_str()) {
            if t != h.data_type {
                f.error(
                    C::Consistent,
                    "stac-matches-file",
                    object,
                    format!("data_type is {t} in STAC, {} in the file", h.data_type),
                    fix,
                );
            }
        }
        let nd = bands.first().and_then(|b| b.get("nodata"));
        let stac_nd = nd.and_then(|v| {
            v.as_f64()
                .or_else(|| (v.as_str() == Some("nan")).then_some(f64::NAN))
        });
        let same = match (stac_nd, h.nodata) {
            (None, None) => true,
            // Nodata is compared exactly: it is a marker, not a measurement.
            (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            _ => false,
        };
        if !same {
            f.error(
                C::Consistent,
                "stac-matches-file",
                object,
                format!("nodata is {stac_nd:?} in STAC, {:?} in the file", h.nodata),
                fix,
            );
        }
    }
}

/// Missing pixels inside the mask, quality codes, and the value range.
#[allow(clippy::too_many_arguments)]
fn check_pixels(
    f: &mut Findings,
    object: &str,
    asset: &Value,
    path: &Path,
    opts: &CheckOptions,
    masks: &raster::MaskCache,
    grid: Option<String>,
    stride: usize,
) {
    let roles: Vec<&str> = asset["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let quality = roles.contains(&"quality");
    let shared = opts.mask.as_ref().map(|m| masks.get(m, path, grid));
    let mask: Option<&[bool]> = match shared.as_deref() {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            f.error(
                C::Complete,
                "mask",
                object,
                e,
                "give --mask on the product's grid",
            );
            return;
        }
        None => None,
    };
    let nb = asset["bands"].as_array().map_or(1, Vec::len).max(1);
    for b in 1..=nb {
        let scan = match raster::scan(path, b, mask, stride, quality.then_some(0.0)) {
            Ok(s) => s,
            Err(e) => {
                f.error(
                    C::Correct,
                    "raster-readable",
                    object,
                    format!("band {b}: {e}"),
                    "convert it again",
                );
                return;
            }
        };
        f.checked(C::Complete);
        if scan.missing > 0 {
            let (x, y) = scan.first_missing.unwrap_or_default();
            f.error(
                C::Complete,
                "no-missing-pixels",
                object,
                format!(
                    "band {b}: {} of {} pixels inside the valid-data mask are nodata (first at column {x}, row {y})",
                    scan.missing, scan.inside
                ),
                "fill the gaps (arco reconstruct) or give the land mask with --mask",
            );
        }
        if quality {
            f.checked(C::Complete);
            if scan.bad > 0 {
                f.error(
                    C::Complete,
                    "quality-filled",
                    object,
                    format!(
                        "band {b}: {} pixels could not be filled (quality 0)",
                        scan.bad
                    ),
                    "reconstruct with a longer reach (--att-env) or more dates",
                );
            }
            continue;
        }
        if scan.max < scan.min {
            continue; // nothing valid read
        }
        let declared = opts.range.or_else(|| {
            let s = &asset["bands"][b - 1]["statistics"];
            Some((s["minimum"].as_f64()?, s["maximum"].as_f64()?))
        });
        if let Some((lo, hi)) = declared {
            f.checked(C::Correct);
            let eps = 1e-9 * lo.abs().max(hi.abs()).max(1.0);
            if scan.min < lo - eps || scan.max > hi + eps {
                let whence = if opts.range.is_some() {
                    "--range"
                } else {
                    "the Item's statistics"
                };
                f.error(
                    C::Correct,
                    "value-range",
                    object,
                    format!("band {b}: values span {}..{}, outside {lo}..{hi} declared by {whence}", scan.min, scan.max),
                    "find the pixels out of range (a wrong scale or a fill value), or declare the range the data has",
                );
            }
        }
    }
}

fn format_findings(
    f: &mut Findings,
    object: &str,
    rule: &'static str,
    problems: &[String],
    fix: &str,
) {
    f.checked(C::Correct);
    for p in problems {
        f.error(C::Correct, rule, object, p.clone(), fix);
    }
}

fn row_count(f: &mut Findings, object: &str, item: &Value, features: Option<u64>) {
    let (Some(want), Some(got)) = (item["properties"]["table:row_count"].as_u64(), features) else {
        return;
    };
    f.checked(C::Consistent);
    if want != got {
        f.error(
            C::Consistent,
            "stac-matches-file",
            object,
            format!("table:row_count is {want}, the file holds {got} features"),
            "write the Item again from the file",
        );
    }
}
