//! Helpers shared by the end-to-end tests: running the binary, the shared
//! samples, and the Python validators of `tests/py`.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every file under `dir`, recursively: its path relative to `dir`, and
/// its bytes.
pub fn file_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Runs the `arco` binary.
pub fn arco(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arco"))
        .args(args)
        .output()
        .expect("run arco")
}

/// A command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A folder of `../shared/data`, which must be there.
pub fn shared_data(sub: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(sub);
    assert!(
        p.exists(),
        "{} is missing: the tests read the shared samples beside the repository",
        p.display()
    );
    p
}

/// The rasters (`.tif`, `.jp2`) of `dir` whose names contain `contains`, sorted.
pub fn sorted_paths(dir: &Path, contains: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.contains(contains) && (name.ends_with(".tif") || name.ends_with(".jp2"))
        })
        .collect();
    v.sort();
    v
}

/// [`sorted_paths`] as strings, for command lines.
pub fn sorted_files(dir: &Path, contains: &str) -> Vec<String> {
    sorted_paths(dir, contains)
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// The venv python with the validators (ARCO_PYTHON, or the repo's .venv).
pub fn venv_python() -> PathBuf {
    if let Ok(p) = std::env::var("ARCO_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "no validator venv at {}: run scripts/setup.sh (or set ARCO_PYTHON)",
        p.display()
    );
    p
}

/// Runs a script of `tests/py` with the venv python.
pub fn py(script: &str, args: &[&str]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    Command::new(venv_python())
        .arg(path)
        .args(args)
        .output()
        .expect("run python validator")
}

/// Panics with the command's output unless it succeeded.
pub fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Date pattern of the shared samples' file names.
pub const DATE_IN_NAME: &str = r"(\d{4}-\d{2}-\d{2})";

/// `arco convert` of the MODIS NDVI inputs (the first `count`, all when
/// `None`) to dated COGs in the product directory `out` (Items and a
/// collection beside them), with `extra` options.
pub fn modis_product(out: &Path, count: Option<usize>, extra: &[&str]) -> PathBuf {
    let inputs = sorted_files(&shared_data("modis-ndvi"), "NDVI");
    let inputs = &inputs[..count.unwrap_or(inputs.len())];
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    let o = out.to_str().unwrap();
    args.extend([
        "--to",
        "cog",
        "-o",
        o,
        "--time-from",
        DATE_IN_NAME,
        "--quiet",
    ]);
    args.extend(extra);
    assert_ok(
        &arco(&args),
        "arco convert of the MODIS sample into a product directory",
    );
    assert!(
        out.join("collection.json").is_file(),
        "arco convert into a directory writes its collection"
    );
    out.to_path_buf()
}

/// Panics unless `doc` (JSON bytes) is valid against `schemas/<schema>`.
pub fn assert_matches_schema(schema: &str, doc: &[u8]) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), doc).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(schema);
    assert_ok(
        &py(
            "validate_json.py",
            &[path.to_str().unwrap(), tmp.path().to_str().unwrap()],
        ),
        &format!("document against schemas/{schema}"),
    );
}
