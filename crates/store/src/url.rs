//! Where to publish, as users write it: `s3://bucket/prefix`, `file:///dir`
//! or a plain directory path.

use crate::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// A parsed store location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local directory.
    Local(PathBuf),
    /// An S3 bucket and a key prefix (no leading or trailing `/`; may be empty).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
}

impl StoreUrl {
    /// Parses `s3://bucket[/prefix]`, `file:///path` or a path.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadUrl {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            check_bucket(bucket).map_err(|r| bad(&r))?;
            let prefix = prefix.trim_matches('/');
            if prefix
                .split('/')
                .any(|s| (s.is_empty() && !prefix.is_empty()) || s == "." || s == "..")
            {
                return Err(bad(
                    "the prefix has an empty, '.' or '..' segment: write s3://bucket/a/b",
                ));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad("a file URL needs an absolute path: file:///dir"));
            }
            return Ok(StoreUrl::Local(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(bad(&format!(
                "unsupported scheme {scheme}://: use s3://bucket/prefix or a directory"
            )));
        }
        if text.is_empty() {
            return Err(bad(
                "empty destination: use s3://bucket/prefix or a directory",
            ));
        }
        Ok(StoreUrl::Local(PathBuf::from(text)))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Local(p) => write!(f, "{}", p.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// S3 bucket naming rules (3-63 characters of `a-z0-9.-`, starting and
/// ending with a letter or digit).
fn check_bucket(b: &str) -> std::result::Result<(), String> {
    if b.is_empty() {
        return Err("no bucket: write s3://bucket/prefix".into());
    }
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends_ok = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len())
        || !ok_chars
        || !ends_ok(b.bytes().next())
        || !ends_ok(b.bytes().last())
    {
        return Err(format!(
            "{b:?} is not a valid bucket name (3-63 characters: lowercase letters, digits, '.', '-')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls_files_and_paths() {
        assert_eq!(
            StoreUrl::parse("s3://arco-data/ndvi/v1/").unwrap(),
            StoreUrl::S3 {
                bucket: "arco-data".into(),
                prefix: "ndvi/v1".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://arco-data").unwrap(),
            StoreUrl::S3 {
                bucket: "arco-data".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StoreUrl::parse("./published").unwrap(),
            StoreUrl::Local("./published".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///srv/pub").unwrap(),
            StoreUrl::Local("/srv/pub".into())
        );
        assert_eq!(
            StoreUrl::parse("s3://arco-data/a/b").unwrap().to_string(),
            "s3://arco-data/a/b"
        );
    }

    #[test]
    fn rejects_bad_buckets_prefixes_and_schemes() {
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://-x-y",
            "s3://b_x",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
            "gs://bucket/x",
            "file://relative",
            "",
        ] {
            let e = StoreUrl::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(bad), "{bad}: {e}");
        }
    }
}
