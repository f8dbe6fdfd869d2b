//! The payload for the public STAC Index (stacindex.org), checked against
//! the constraints its server enforces: slug 3-50 characters of
//! `[a-z0-9-]`, title 3-50 characters, summary 50-300 characters, access
//! `public` (or `protected`/`private` with 100-1000 characters of access
//! details), and an absolute http(s) URL that is not a local address.
//! Nothing is posted: the user submits the payload.

use serde::Serialize;
use std::path::Path;

/// What STAC Index accepts for a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterPayload {
    /// `Catalog` (static) or `API`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the URL is a STAC API.
    #[serde(rename = "isApi")]
    pub is_api: bool,
    /// The catalog root, publicly reachable.
    pub url: String,
    /// Short name in the index's URLs.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// `public`, `protected` or `private`.
    pub access: String,
    /// How to get access, for protected and private catalogs.
    #[serde(rename = "accessInfo", skip_serializing_if = "Option::is_none")]
    pub access_info: Option<String>,
}

/// Fetches the catalog at `url` and checks it is what STAC Index accepts:
/// a JSON object with a string `id`, a string `description` and `links`.
pub fn fetch_catalog(url: &str) -> crate::Result<serde_json::Value> {
    let err = |m: String| crate::Error::Invalid(format!("{url}: {m}"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .build()
        .into();
    let body = agent
        .get(url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .map_err(|e| {
            err(format!(
                "cannot fetch it ({e}); STAC Index crawls the catalog root, so it must be publicly reachable (pass --offline to skip this check)"
            ))
        })?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
        err(format!(
            "does not serve JSON ({e}); give the URL of catalog.json"
        ))
    })?;
    if !(v["id"].is_string() && v["description"].is_string() && v["links"].is_array()) {
        return Err(err(
            "is not a STAC catalog (STAC Index needs id, description and links)".into(),
        ));
    }
    Ok(v)
}

/// A slug from a title: lowercase, runs of other characters as `-`.
pub fn slugify(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-')
        .chars()
        .take(50)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// Builds the payload and checks every constraint; returns all violations
/// at once (each says what to change).
pub fn register_payload(
    url: &str,
    slug: &str,
    title: &str,
    summary: &str,
    access: &str,
    access_info: Option<&str>,
    is_api: bool,
) -> Result<RegisterPayload, Vec<String>> {
    let mut errs = Vec::new();
    let n = slug.chars().count();
    if !(3..=50).contains(&n) {
        errs.push(format!(
            "slug '{slug}' has {n} characters; it needs 3 to 50"
        ));
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        errs.push(format!(
            "slug '{slug}' may only hold a-z, 0-9 and '-' (for example '{}')",
            slugify(slug)
        ));
    }
    let n = title.chars().count();
    if !(3..=50).contains(&n) {
        errs.push(format!(
            "title has {n} characters; it needs 3 to 50 (--title)"
        ));
    }
    let n = summary.chars().count();
    if !(50..=300).contains(&n) {
        errs.push(format!(
            "summary has {n} characters; it needs 50 to 300 (--summary)"
        ));
    }
    if !["public", "protected", "private"].contains(&access) {
        errs.push(format!(
            "access '{access}' must be public, protected or private"
        ));
    }
    if access != "public" {
        let n = access_info.map_or(0, |s| s.chars().count());
        if !(100..=1000).contains(&n) {
            errs.push(format!(
                "a {access} catalog needs access details of 100 to 1000 characters (--access-info); got {n}"
            ));
        }
    }
    let lower = url.to_ascii_lowercase();
    let host = lower
        .split_once("://")
        .map_or("", |(_, r)| r.split(['/', ':', '?']).next().unwrap_or(""));
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || host.is_empty() {
        errs.push(format!(
            "url '{url}' must be an absolute http(s) URL of the catalog root (the published catalog.json)"
        ));
    } else if access == "public"
        && (host == "localhost"
            || host.starts_with("127.")
            || host == "0.0.0.0"
            || host.starts_with("10.")
            || host.starts_with("192.168.")
            || Path::new(host)
                .extension()
                .is_some_and(|e| e == "local" || e == "invalid"))
    {
        errs.push(format!(
            "url '{url}' is not publicly reachable ({host}); STAC Index crawls the catalog from the internet"
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(RegisterPayload {
        kind: if is_api { "API" } else { "Catalog" }.into(),
        is_api,
        url: url.into(),
        slug: slug.into(),
        title: title.into(),
        summary: summary.into(),
        access: access.into(),
        access_info: if access == "public" {
            None
        } else {
            access_info.map(str::to_string)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str =
        "MODIS NDVI 16-day composites, gap-filled with SWAG, as COGs and a GeoZarr cube.";

    #[test]
    fn a_good_payload() {
        let p = register_payload(
            "https://data.example.org/stac/catalog.json",
            "modis-ndvi",
            "MODIS NDVI",
            SUMMARY,
            "public",
            None,
            false,
        )
        .unwrap();
        assert_eq!(p.kind, "Catalog");
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["slug"], "modis-ndvi");
        assert!(j.get("accessInfo").is_none());
    }

    #[test]
    fn every_constraint_is_reported() {
        let e = register_payload(
            "http://localhost:8000/catalog.json",
            "MODIS_ndvi",
            "MO",
            "too short",
            "public",
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(
            e[0].contains("a-z, 0-9") && e[0].contains("modis-ndvi"),
            "{e:?}"
        );
        assert!(e[1].contains("title has 2"), "{e:?}");
        assert!(e[2].contains("summary has 9"), "{e:?}");
        assert!(e[3].contains("not publicly reachable"), "{e:?}");
        let long = "x".repeat(51);
        let e = register_payload(
            "https://a.org/c.json",
            &long,
            "abc",
            SUMMARY,
            "private",
            None,
            false,
        )
        .unwrap_err();
        assert!(e[0].contains("51 characters"), "{e:?}");
        assert!(e[1].contains("access details"), "{e:?}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("MODIS NDVI (gap-filled)"), "modis-ndvi-gap-filled");
    }
}
