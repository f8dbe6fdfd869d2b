//! JSON files and hrefs: atomic writes, relative paths between files,
//! resolving a link against the file it appears in.

use crate::{Error, Result};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        msg: format!("not valid JSON: {e}"),
    })
}

/// Writes `value` as pretty JSON under a temporary name beside `path`, then
/// renames it into place, so a reader never sees half a file.
pub fn write_json_atomic(path: &Path, value: &Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Writes bytes under a temporary name beside `path`, then renames.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.arco-tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Lexically normalised absolute path (no `.`/`..`, no symlink resolution).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    normalize(&joined)
}

/// Removes `.` and resolves `..` lexically.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The href of `target` as seen from a file in `from_dir`, with `/`
/// separators: `./b.json`, `../c/collection.json`. Both paths are made
/// absolute first.
pub fn relative_href(from_dir: &Path, target: &Path) -> String {
    let from = absolute(from_dir);
    let to = absolute(target);
    let fc: Vec<_> = from.components().collect();
    let tc: Vec<_> = to.components().collect();
    let common = fc.iter().zip(&tc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..fc.len() {
        parts.push("..".into());
    }
    for c in &tc[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    let joined = parts.join("/");
    if joined.starts_with("..") {
        joined
    } else {
        format!("./{joined}")
    }
}

/// True when an href is a URL (has a scheme) rather than a path.
pub fn is_url(href: &str) -> bool {
    href.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
    })
}

/// Resolves a relative href found in the file `from_file` to a local path;
/// `None` for URLs.
pub fn resolve_local(from_file: &Path, href: &str) -> Option<PathBuf> {
    if is_url(href) {
        return href
            .strip_prefix("file://")
            .map(|p| normalize(Path::new(p)));
    }
    let base = from_file.parent().unwrap_or_else(|| Path::new("."));
    Some(normalize(&base.join(href)))
}

/// The current time in RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_hrefs_between_files() {
        assert_eq!(
            relative_href(Path::new("/a/b"), Path::new("/a/b/c.json")),
            "./c.json"
        );
        assert_eq!(
            relative_href(Path::new("/a/b"), Path::new("/a/catalog.json")),
            "../catalog.json"
        );
        assert_eq!(
            relative_href(Path::new("/a/b/c"), Path::new("/a/d/e.json")),
            "../../d/e.json"
        );
        assert_eq!(
            relative_href(Path::new("/a/./b"), Path::new("/a/x/../b/f.tif")),
            "./f.tif"
        );
    }

    #[test]
    fn urls_and_local_paths() {
        assert!(is_url("https://x.org/a.json"));
        assert!(is_url("s3://bucket/a"));
        assert!(!is_url("./a.json"));
        assert!(!is_url("../a://b"));
        assert_eq!(
            resolve_local(Path::new("/r/p/item.json"), "../collection.json"),
            Some(PathBuf::from("/r/collection.json"))
        );
        assert_eq!(resolve_local(Path::new("/r/i.json"), "https://x/y"), None);
    }

    #[test]
    fn atomic_write_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_json_atomic(&p, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(read_json(&p).unwrap()["a"], 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
