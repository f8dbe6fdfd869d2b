//! Rules across the Items of one collection: one grid, CRS, dtype and band
//! set (Consistent); no missing dates or tiles (Complete); the latest date
//! within one cadence of the reference date (Current).

use crate::cadence::{holes, parse_datetime, Cadence};
use crate::report::{Findings, Severity, C};
use crate::tree::{CollectionNode, Node};
use crate::CheckOptions;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The grid and band facts of an Item's primary data asset.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    crs: String,
    res: (f64, f64),
    origin: (f64, f64),
    data_type: String,
    nodata: String,
    bands: Vec<String>,
    columns: Vec<String>,
}

fn primary_asset(item: &Value) -> Option<&Value> {
    let assets = item["assets"].as_object()?;
    assets
        .values()
        .find(|a| {
            a["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "data"))
        })
        .or_else(|| assets.values().next())
}

fn profile(item: &Value) -> Option<Profile> {
    let a = primary_asset(item)?;
    let p = &item["properties"];
    let get = |k: &str| a.get(k).filter(|v| !v.is_null()).or_else(|| p.get(k));
    let crs = get("proj:code")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| get("proj:wkt2").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let t: Vec<f64> = get("proj:transform")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let (res, origin) = if t.len() >= 6 {
        ((t[0], t[4]), (t[2], t[5]))
    } else {
        ((0.0, 0.0), (0.0, 0.0))
    };
    let bands = a["bands"].as_array().cloned().unwrap_or_default();
    Some(Profile {
        crs,
        res,
        origin,
        data_type: bands
            .first()
            .and_then(|b| b["data_type"].as_str())
            .unwrap_or_default()
            .to_string(),
        nodata: bands
            .first()
            .map(|b| b["nodata"].to_string())
            .unwrap_or_default(),
        bands: bands
            .iter()
            .enumerate()
            .map(|(i, b)| {
                b["name"]
                    .as_str()
                    .map_or_else(|| format!("#{}", i + 1), str::to_string)
            })
            .collect(),
        columns: p["table:columns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}:{}",
                    c["name"].as_str().unwrap_or("?"),
                    c["type"].as_str().unwrap_or("?")
                )
            })
            .collect(),
    })
}

/// The Item's time: `datetime`, else `end_datetime`.
fn item_time(item: &Value) -> Option<DateTime<Utc>> {
    let p = &item["properties"];
    p["datetime"]
        .as_str()
        .or_else(|| p["end_datetime"].as_str())
        .and_then(parse_datetime)
}

/// Declared cadence: the collection's datacube time step, or arco's summary.
fn declared_cadence(c: &Value) -> Option<Cadence> {
    c["cube:dimensions"]["time"]["step"]
        .as_str()
        .or_else(|| c["summaries"]["arco:cadence"].as_str())
        .or_else(|| c["arco:cadence"].as_str())
        .and_then(Cadence::parse)
}

/// Every cross-Item rule of one collection.
pub fn check(c: &CollectionNode, opts: &CheckOptions) -> Findings {
    let mut f = Findings::default();
    let cid = c.node.id();
    for (href, why) in &c.broken_items {
        f.checked(C::Complete);
        f.error(
            C::Complete,
            "item-exists",
            format!("{cid}: {href}"),
            format!("the collection links to this Item but it cannot be read: {why}"),
            "write or publish the Item again, or remove its link from the collection",
        );
    }
    consistent(&mut f, &cid, &c.items);
    let mut dated: Vec<(DateTime<Utc>, &Node)> = c
        .items
        .iter()
        .filter_map(|i| item_time(&i.json).map(|t| (t, i)))
        .collect();
    dated.sort_by_key(|(t, _)| *t);
    let mut dates: Vec<DateTime<Utc>> = dated.iter().map(|(t, _)| *t).collect();
    dates.dedup();
    tiles(&mut f, &cid, &dated);
    let declared = declared_cadence(&c.node.json);
    let cadence = declared.or(opts.cadence).or_else(|| Cadence::infer(&dates));
    if let Some(cad) = cadence {
        if declared.is_none() && opts.cadence.is_none() {
            f.add(
                C::Current,
                Severity::Info,
                "cadence",
                cid.clone(),
                format!("no declared cadence; inferred {} from the Items' dates", cad.iso()),
                "declare it (--cadence, or cube:dimensions.time.step in the collection) to check against the intent",
            );
        }
        f.checked(C::Complete);
        let missing = holes(&dates, cad);
        if missing.is_empty() {
            f.checked(C::Current);
        } else {
            let list: Vec<String> = missing
                .iter()
                .take(10)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect();
            f.error(
                C::Complete,
                "no-missing-dates",
                cid.clone(),
                format!(
                    "{} date{} missing at cadence {}: {}{}",
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    cad.iso(),
                    list.join(", "),
                    if missing.len() > 10 { ", ..." } else { "" }
                ),
                "produce and publish the missing dates",
            );
            // The time axis has holes: a Current rule too.
            f.checked(C::Current);
            f.error(
                C::Current,
                "time-axis",
                cid.clone(),
                format!(
                    "the time axis has {} hole(s) at cadence {}",
                    missing.len(),
                    cad.iso()
                ),
                "produce the missing dates",
            );
        }
        if let Some(&last) = dates.last() {
            f.checked(C::Current);
            let as_of = opts
                .as_of
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            let due = cad.after(last);
            if as_of > due {
                let age = (as_of - last).num_days();
                f.error(
                    C::Current,
                    "up-to-date",
                    cid.clone(),
                    format!(
                        "the latest date is {} ({age} days before {}), more than one cadence ({}) old",
                        last.format("%Y-%m-%d"),
                        opts.as_of,
                        cad.iso()
                    ),
                    format!("produce and publish the dates since {}", last.format("%Y-%m-%d")),
                );
            }
        }
    } else {
        f.add(
            C::Current,
            Severity::Info,
            "cadence",
            cid,
            "one date only and no declared cadence: currency not checked",
            "declare the cadence (--cadence) to check currency",
        );
    }
    f
}

fn consistent(f: &mut Findings, cid: &str, items: &[Node]) {
    let profiles: Vec<(String, Profile)> = items
        .iter()
        .filter_map(|i| profile(&i.json).map(|p| (i.id(), p)))
        .collect();
    let Some((first_id, first)) = profiles.first() else {
        return;
    };
    let fix = "convert the odd Item again onto the collection's grid, dtype and bands (arco convert with the same options)";
    for (id, p) in &profiles[1..] {
        f.checked_n(C::Consistent, 5);
        let mut diff = |what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
            f.error(
                C::Consistent,
                "same-grid-and-schema",
                format!("{cid}/{id}"),
                format!("{what} is {b:?}, but {a:?} in {first_id}"),
                fix,
            );
        };
        if p.crs != first.crs {
            diff("the CRS", &first.crs, &p.crs);
        }
        if (p.res.0 - first.res.0).abs() > 1e-9 * first.res.0.abs()
            || (p.res.1 - first.res.1).abs() > 1e-9 * first.res.1.abs()
        {
            diff("the resolution", &first.res, &p.res);
        } else if first.res.0 != 0.0 && first.res.1 != 0.0 {
            // Same resolution: origins must sit on the same pixel lattice.
            let fx = (p.origin.0 - first.origin.0) / first.res.0;
            let fy = (p.origin.1 - first.origin.1) / first.res.1;
            if (fx - fx.round()).abs() > 1e-6 || (fy - fy.round()).abs() > 1e-6 {
                diff(
                    "the pixel grid origin (off the collection's lattice by a fraction of a pixel)",
                    &first.origin,
                    &p.origin,
                );
            }
        }
        if p.data_type != first.data_type {
            diff("the data type", &first.data_type, &p.data_type);
        }
        if p.nodata != first.nodata {
            diff("nodata", &first.nodata, &p.nodata);
        }
        if p.bands != first.bands {
            diff("the bands", &first.bands, &p.bands);
        }
        if p.columns != first.columns {
            diff("the table schema", &first.columns, &p.columns);
        }
    }
}

/// Tiles: when Items of one date cover different grid cells, every date
/// should cover the same set.
fn tiles(f: &mut Findings, cid: &str, dated: &[(DateTime<Utc>, &Node)]) {
    let mut by_date: BTreeMap<DateTime<Utc>, BTreeSet<String>> = BTreeMap::new();
    let mut lattice: Option<Profile> = None;
    for (t, i) in dated {
        let Some(p) = profile(&i.json) else { continue };
        let first = lattice.get_or_insert_with(|| p.clone());
        // Tiles sit on one pixel lattice; an Item off it is a Consistent
        // problem (flagged there), not a tile of its own.
        if first.res.0 == 0.0 || first.res.1 == 0.0 {
            continue;
        }
        let fx = (p.origin.0 - first.origin.0) / first.res.0;
        let fy = (p.origin.1 - first.origin.1) / first.res.1;
        if (fx - fx.round()).abs() > 1e-6 || (fy - fy.round()).abs() > 1e-6 {
            continue;
        }
        let key = format!("{:.6},{:.6}", p.origin.0, p.origin.1);
        by_date.entry(*t).or_default().insert(key);
    }
    let all: BTreeSet<String> = by_date.values().flatten().cloned().collect();
    if all.len() <= 1 {
        return;
    }
    for (t, have) in &by_date {
        f.checked(C::Complete);
        let missing: Vec<&String> = all.difference(have).collect();
        if !missing.is_empty() {
            f.error(
                C::Complete,
                "no-missing-tiles",
                format!("{cid} {}", t.format("%Y-%m-%d")),
                format!(
                    "{} of {} tiles missing on this date (tile origins {})",
                    missing.len(),
                    all.len(),
                    missing.iter().take(5).map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                ),
                "produce the missing tiles for this date (arco run --job DIR --task N reruns one task)",
            );
        }
    }
}
