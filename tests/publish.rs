//! End-to-end tests of `arco publish`: the release binary into a local
//! directory and into a real SeaweedFS (`weed mini`, started per test on
//! free ports and killed by its pid), checked with awscli (`aws s3api`).

mod common;

use arco_store::testing::{Seaweed, BUCKET, READ_ONLY, READ_WRITE};
use common::{arco, assert_ok, shared_data, stderr};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
const TIME: &str = common::DATE_IN_NAME;

fn ext_is(name: &str, ext: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == ext)
}

fn sha_multihash(bytes: &[u8]) -> String {
    arco_store::sha256_multihash(bytes)
}

/// The base64 sha2-256 S3 reports (`ChecksumSHA256`).
fn sha_base64(bytes: &[u8]) -> String {
    let m = sha_multihash(bytes);
    let digest: Vec<u8> = (4..m.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&m[i..i + 2], 16).unwrap())
        .collect();
    arco_store::base64_encode(&digest)
}

/// A product directory: two COGs written by `arco convert` from the MODIS
/// sample, one STAC Item beside each and a `collection.json`.
fn product(dir: &Path) -> PathBuf {
    // The first two dates (2013-09-14 and 2013-10-16).
    common::modis_product(&dir.join("ndvi"), Some(2), &[])
}

/// Keys (relative to the product) and bytes of every published file.
fn product_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

/// `arco` with the environment a user of this server would have.
fn arco_env(server: &Seaweed, identity: (&str, &str), args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arco"))
        .args(args)
        .envs(server.env(identity))
        .output()
        .expect("run arco")
}

/// `aws s3api ...` (PyPI awscli from the venv) against the server.
fn s3api(server: &Seaweed, args: &[&str]) -> Output {
    let aws = common::venv_python().with_file_name("aws");
    assert!(
        aws.exists(),
        "{} is missing: run scripts/setup.sh (awscli is in tests/requirements.txt)",
        aws.display()
    );
    Command::new(aws)
        .args(["--endpoint-url", &server.endpoint, "s3api"])
        .args(args)
        .envs(server.env(READ_WRITE))
        .output()
        .expect("run aws")
}

fn s3api_json(server: &Seaweed, args: &[&str]) -> Value {
    let o = s3api(server, args);
    assert_ok(&o, &format!("aws s3api {}", args.join(" ")));
    if o.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Downloads an object with `aws s3api get-object`.
fn aws_get(server: &Seaweed, key: &str, dir: &Path) -> Vec<u8> {
    let to = dir.join("download.bin");
    s3api_json(
        server,
        &[
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            key,
            &to.to_string_lossy(),
        ],
    );
    std::fs::read(&to).unwrap()
}

/// `(key, etag, last-modified)` of every object under `prefix`.
fn listing(server: &Seaweed, prefix: &str) -> Vec<(String, String, String)> {
    let v = s3api_json(
        server,
        &["list-objects-v2", "--bucket", BUCKET, "--prefix", prefix],
    );
    let mut out: Vec<_> = v["Contents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["Key"].as_str().unwrap().to_string(),
                        o["ETag"].as_str().unwrap().to_string(),
                        o["LastModified"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn server() -> Seaweed {
    Seaweed::start().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn publish_to_a_local_directory_rewrites_hrefs_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let prod = product(tmp.path());
    let dest = tmp.path().join("published");
    let o = arco(&[
        "publish",
        &prod.to_string_lossy(),
        "--to",
        &dest.to_string_lossy(),
        "--json",
    ]);
    assert_ok(&o, "arco publish");
    let v = json_out(&o);
    let files = product_files(&prod);
    assert_eq!(v["uploaded"], files.len());
    assert_eq!(v["unchanged"], 0);
    // Data went up unchanged; every href of the STAC documents is absolute
    // and names a published file whose checksum the Item states.
    for (name, bytes) in &files {
        let published = std::fs::read(dest.join(name)).unwrap();
        if !ext_is(name, "json") {
            assert!(published == *bytes, "{name} differs");
            continue;
        }
        let doc: Value = serde_json::from_slice(&published).unwrap();
        let self_href = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(self_href, format!("file://{}/{name}", dest.display()));
        for asset in doc["assets"]
            .as_object()
            .into_iter()
            .flat_map(|a| a.values())
        {
            let href = asset["href"].as_str().unwrap();
            let path = href.strip_prefix("file://").expect("absolute file URL");
            let data = std::fs::read(path).unwrap();
            assert_eq!(asset["file:checksum"], sha_multihash(&data), "{name}");
            assert_eq!(asset["file:size"], data.len());
        }
        for link in doc["links"].as_array().unwrap() {
            let href = link["href"].as_str().unwrap();
            assert!(href.starts_with("file:///"), "{name}: {href}");
            assert!(
                Path::new(href.strip_prefix("file://").unwrap()).exists(),
                "{href}"
            );
        }
    }
    // Twice: nothing sent.
    let o = arco(&[
        "publish",
        &prod.to_string_lossy(),
        "--to",
        &dest.to_string_lossy(),
        "--json",
    ]);
    assert_ok(&o, "arco publish (again)");
    let v = json_out(&o);
    assert_eq!(v["uploaded"], 0);
    assert_eq!(v["bytes_sent"], 0);
    assert_eq!(v["unchanged"], files.len());
}

#[test]
fn publish_to_seaweedfs_reads_back_with_awscli_with_matching_checksums_and_no_secrets() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let prod = product(tmp.path());
    // The endpoint from --endpoint (the environment's is dropped here).
    let o = Command::new(env!("CARGO_BIN_EXE_arco"))
        .args([
            "publish",
            &prod.to_string_lossy(),
            "--to",
            &format!("s3://{BUCKET}/eo/ndvi"),
        ])
        .args(["--endpoint", &server.endpoint])
        .envs(server.env(READ_WRITE))
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert_ok(&o, "arco publish to S3");
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        out.contains(&format!(
            "{}/{BUCKET}/eo/ndvi/collection.json",
            server.endpoint
        )),
        "{out}"
    );
    assert!(
        !out.contains(READ_WRITE.1) && !out.contains(READ_WRITE.0),
        "credentials printed: {out}"
    );

    let files = product_files(&prod);
    let listed: Vec<String> = listing(&server, "eo/ndvi/")
        .into_iter()
        .map(|l| l.0)
        .collect();
    let expected: Vec<String> = files.iter().map(|(n, _)| format!("eo/ndvi/{n}")).collect();
    assert_eq!(listed, expected);
    for (name, bytes) in &files {
        let key = format!("eo/ndvi/{name}");
        let back = aws_get(&server, &key, tmp.path());
        let head = s3api_json(
            &server,
            &[
                "head-object",
                "--bucket",
                BUCKET,
                "--key",
                &key,
                "--checksum-mode",
                "ENABLED",
            ],
        );
        // The server verified and kept the sha2-256 that arco sent, and
        // arco's own record of it matches the bytes read back.
        assert_eq!(head["ChecksumSHA256"], sha_base64(&back), "{key}");
        assert_eq!(
            head["Metadata"]["arco-sha256"],
            sha_multihash(&back),
            "{key}"
        );
        let text = String::from_utf8_lossy(&back);
        assert!(
            !text.contains(READ_WRITE.1) && !text.contains(READ_WRITE.0),
            "{key} holds credentials"
        );
        if ext_is(name, "tif") {
            assert!(back == *bytes, "{key} differs from the local file");
        } else {
            let doc: Value = serde_json::from_slice(&back).unwrap();
            for asset in doc["assets"]
                .as_object()
                .into_iter()
                .flat_map(|a| a.values())
            {
                let href = asset["href"].as_str().unwrap();
                let data_key = href
                    .strip_prefix(&format!("{}/{BUCKET}/", server.endpoint))
                    .unwrap_or_else(|| panic!("{key}: asset href {href} is not under the bucket"));
                let data = aws_get(&server, data_key, tmp.path());
                // STAC file:checksum == the object's checksum == the bytes'.
                assert_eq!(asset["file:checksum"], sha_multihash(&data));
                let data_head = s3api_json(
                    &server,
                    &["head-object", "--bucket", BUCKET, "--key", data_key],
                );
                assert_eq!(data_head["Metadata"]["arco-sha256"], asset["file:checksum"]);
            }
        }
    }
}

#[test]
fn dry_run_changes_nothing_and_a_changed_file_updates_only_its_object_and_item() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let prod = product(tmp.path());
    let to = format!("s3://{BUCKET}/p");
    let p = prod.to_string_lossy().into_owned();
    assert_ok(
        &arco_env(&server, READ_WRITE, &["publish", &p, "--to", &to]),
        "publish",
    );
    let before = listing(&server, "p/");

    // Republishing sends nothing.
    let o = arco_env(&server, READ_WRITE, &["publish", &p, "--to", &to, "--json"]);
    assert_ok(&o, "publish again");
    assert_eq!(json_out(&o)["uploaded"], 0);
    assert_eq!(listing(&server, "p/"), before);

    let tifs: Vec<String> = product_files(&prod)
        .into_iter()
        .map(|f| f.0)
        .filter(|n| ext_is(n, "tif"))
        .collect();
    let (changed, other) = (&tifs[0], &tifs[1]);
    let stem = changed.trim_end_matches(".tif");

    // A data file changed behind its Item's back (another COG's bytes under
    // its name) is refused: publishing it would make it look verified.
    let kept = std::fs::read(prod.join(changed)).unwrap();
    std::fs::copy(prod.join(other), prod.join(changed)).unwrap();
    let o = arco_env(&server, READ_WRITE, &["publish", &p, "--to", &to]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(changed.as_str()) && err.contains("changed after its Item was written"),
        "{err}"
    );
    assert_eq!(listing(&server, "p/"), before);
    std::fs::write(prod.join(changed), kept).unwrap();

    // The product changes through arco: the other date's input written
    // under this date's name, so the data file and its Item change together.
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let input = src.join(format!("{stem}.jp2"));
    let other_input =
        shared_data("modis-ndvi").join(format!("{}.jp2", other.trim_end_matches(".tif")));
    std::fs::copy(&other_input, &input).unwrap();
    assert_ok(
        &arco(&[
            "convert",
            input.to_str().unwrap(),
            "--to",
            "cog",
            "-o",
            &p,
            "--time-from",
            TIME,
            "--overwrite",
            "--quiet",
        ]),
        "arco convert over one date",
    );

    // --dry-run names exactly that file and its Item, and changes nothing.
    let o = arco_env(
        &server,
        READ_WRITE,
        &["publish", &p, "--to", &to, "--dry-run", "--json"],
    );
    assert_ok(&o, "dry run");
    let v = json_out(&o);
    let mut flagged: Vec<String> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "skip")
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["key"].as_str().unwrap()
            )
        })
        .collect();
    flagged.sort();
    assert_eq!(
        flagged,
        vec![
            format!("conflict {stem}.json"),
            format!("conflict {changed}")
        ]
    );
    assert_eq!(
        listing(&server, "p/"),
        before,
        "--dry-run changed the bucket"
    );

    // Without --replace: refused, nothing sent.
    let o = arco_env(&server, READ_WRITE, &["publish", &p, "--to", &to]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("--replace") && err.contains(changed.as_str()),
        "{err}"
    );
    assert_eq!(listing(&server, "p/"), before);

    // With --replace: only that object and its Item change.
    let o = arco_env(
        &server,
        READ_WRITE,
        &["publish", &p, "--to", &to, "--replace", "--json"],
    );
    assert_ok(&o, "publish --replace");
    let v = json_out(&o);
    assert_eq!(v["replaced"], 2);
    assert_eq!(v["uploaded"], 0);
    let after = listing(&server, "p/");
    let changed_keys: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| {
            assert_eq!(b.0, a.0);
            b != a
        })
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert_eq!(
        changed_keys,
        vec![format!("p/{stem}.json"), format!("p/{changed}")]
    );
    let item: Value =
        serde_json::from_slice(&aws_get(&server, &format!("p/{stem}.json"), tmp.path())).unwrap();
    let new_bytes = std::fs::read(prod.join(changed)).unwrap();
    assert_eq!(
        item["assets"]["data"]["file:checksum"],
        sha_multihash(&new_bytes)
    );
    assert!(aws_get(&server, &format!("p/{changed}"), tmp.path()) == new_bytes);
}

/// Deterministic bytes (xorshift).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Starts `arco publish` and kills it (SIGKILL) once its upload record
/// shows `parts` finished parts.
fn publish_and_kill(server: &Seaweed, prod: &Path, to: &str, parts: usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arco"))
        .args(["publish", &prod.to_string_lossy(), "--to", to])
        .args(["--part-size", "5MiB", "--concurrency", "1", "--quiet"])
        .envs(server.env(READ_WRITE))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let records = prod.join(".arco/uploads");
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let done = std::fs::read_dir(&records)
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|v| v["parts_done"].as_array().map_or(0, Vec::len))
            .max()
            .unwrap_or(0);
        if done >= parts {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "arco finished before it could be interrupted"
        );
        assert!(
            Instant::now() < deadline,
            "no progress recorded in {}",
            records.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `(upload id, parts)` of the unfinished uploads of `key`.
fn unfinished(server: &Seaweed, key: &str) -> Vec<(String, usize)> {
    let v = s3api_json(server, &["list-multipart-uploads", "--bucket", BUCKET]);
    let mut out = Vec::new();
    for u in v["Uploads"].as_array().into_iter().flatten() {
        if u["Key"] != key {
            continue;
        }
        let id = u["UploadId"].as_str().unwrap();
        let parts = s3api_json(
            server,
            &[
                "list-parts",
                "--bucket",
                BUCKET,
                "--key",
                key,
                "--upload-id",
                id,
            ],
        );
        out.push((
            id.to_string(),
            parts["Parts"].as_array().map_or(0, Vec::len),
        ));
    }
    out
}

#[test]
fn a_killed_publish_resumes_sending_only_the_missing_parts_and_cleanup_aborts_only_ours() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let prod = tmp.path().join("big");
    std::fs::create_dir_all(&prod).unwrap();
    let data = noise(32 * 5 * MIB, 42);
    std::fs::write(prod.join("cube.bin"), &data).unwrap();
    let to = format!("s3://{BUCKET}/big");

    publish_and_kill(&server, &prod, &to, 2);
    let ups = unfinished(&server, "big/cube.bin");
    assert_eq!(ups.len(), 1, "{ups:?}");
    let present = ups[0].1;
    assert!((2..32).contains(&present), "{present} parts on the server");
    assert!(
        listing(&server, "big/").is_empty(),
        "a half object is visible"
    );

    let o = arco_env(
        &server,
        READ_WRITE,
        &[
            "publish",
            &prod.to_string_lossy(),
            "--to",
            &to,
            "--part-size",
            "5MiB",
            "--json",
        ],
    );
    assert_ok(&o, "resumed publish");
    let v = json_out(&o);
    assert_eq!(v["parts_reused"], present);
    assert_eq!(v["parts_sent"], 32 - present);
    assert_eq!(v["bytes_sent"], (32 - present) * 5 * MIB);
    let back = aws_get(&server, "big/cube.bin", tmp.path());
    assert!(back == data, "the resumed object differs from the file");
    let head = s3api_json(
        &server,
        &["head-object", "--bucket", BUCKET, "--key", "big/cube.bin"],
    );
    assert_eq!(head["Metadata"]["arco-sha256"], sha_multihash(&data));
    assert!(unfinished(&server, "big/cube.bin").is_empty());

    // Another interrupted upload of ours, and one of another client.
    std::fs::write(prod.join("cube2.bin"), noise(32 * 5 * MIB, 43)).unwrap();
    publish_and_kill(&server, &prod, &to, 1);
    let theirs = s3api_json(
        &server,
        &[
            "create-multipart-upload",
            "--bucket",
            BUCKET,
            "--key",
            "big/theirs.bin",
        ],
    );
    let o = arco_env(
        &server,
        READ_WRITE,
        &[
            "publish",
            &prod.to_string_lossy(),
            "--to",
            &to,
            "--cleanup",
            "--json",
        ],
    );
    assert_ok(&o, "publish --cleanup");
    let v = json_out(&o);
    assert_eq!(v["cleaned"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        unfinished(&server, "big/cube2.bin").is_empty(),
        "ours was not aborted"
    );
    let left = unfinished(&server, "big/theirs.bin");
    assert_eq!(left.len(), 1, "another client's upload was aborted");
    assert_eq!(left[0].0, theirs["UploadId"].as_str().unwrap());
}

#[test]
fn the_read_only_identity_is_refused_with_a_clear_error_and_no_secret() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let prod = product(tmp.path());
    let o = arco_env(
        &server,
        READ_ONLY,
        &[
            "publish",
            &prod.to_string_lossy(),
            "--to",
            &format!("s3://{BUCKET}/ro"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("access denied for PutObject"), "{err}");
    assert!(err.contains(&format!("s3://{BUCKET}/ro/")), "{err}");
    assert!(!err.contains(READ_ONLY.1), "{err}");
    assert!(listing(&server, "ro/").is_empty());

    // A bucket that does not exist, and a server that does not answer.
    let o = arco_env(
        &server,
        READ_WRITE,
        &[
            "publish",
            &prod.to_string_lossy(),
            "--to",
            "s3://no-such-bucket/x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such bucket"), "{}", stderr(&o));
}

/// A second product: the same COGs under another collection and other ids.
fn renamed_product(src: &Path, to: &Path, collection: &str) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if ext_is(&name, "json") {
            let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            if v["type"] == "Collection" {
                v["id"] = json!(collection);
            } else {
                v["collection"] = json!(collection);
                v["id"] = json!(format!("{collection}-{}", v["id"].as_str().unwrap()));
            }
            std::fs::write(to.join(&name), v.to_string()).unwrap();
        } else {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
    to.to_path_buf()
}

#[test]
fn stac_index_merges_items_of_several_products_into_one_geoparquet_and_root_catalog() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let first = product(tmp.path());
    let second = renamed_product(&first, &tmp.path().join("other"), "ndvi-b");
    for (dir, prefix) in [(&first, "cat/ndvi"), (&second, "cat/ndvi-b")] {
        let o = arco_env(
            &server,
            READ_WRITE,
            &[
                "publish",
                &dir.to_string_lossy(),
                "--to",
                &format!("s3://{BUCKET}/{prefix}"),
                "--stac-index",
                "--json",
            ],
        );
        assert_ok(&o, "publish --stac-index");
        let v = json_out(&o);
        assert_eq!(
            v["index"]["index"],
            format!("{}/{BUCKET}/cat/items.parquet", server.endpoint)
        );
    }
    // Publishing the first again changes no row count (rows replaced, not added).
    let o = arco_env(
        &server,
        READ_WRITE,
        &[
            "publish",
            &first.to_string_lossy(),
            "--to",
            &format!("s3://{BUCKET}/cat/ndvi"),
            "--stac-index",
            "--json",
        ],
    );
    assert_ok(&o, "publish --stac-index again");
    assert_eq!(json_out(&o)["index"]["items"], 4);

    // pyarrow reads the index: one row per Item of both products, hrefs absolute.
    let parquet = tmp.path().join("items.parquet");
    std::fs::write(&parquet, aws_get(&server, "cat/items.parquet", tmp.path())).unwrap();
    let script = "import sys, json, pyarrow.parquet as pq\n\
        t = pq.read_table(sys.argv[1]).to_pylist()\n\
        print(json.dumps(sorted([r['collection'], r['id'], r['assets']['data']['href']] for r in t)))";
    let o = Command::new(common::venv_python())
        .args(["-c", script, &parquet.to_string_lossy()])
        .output()
        .unwrap();
    assert_ok(&o, "pyarrow read of items.parquet");
    let rows: Vec<(String, String, String)> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.0 == "ndvi").count(), 2);
    assert_eq!(rows.iter().filter(|r| r.0 == "ndvi-b").count(), 2);
    for (collection, _, href) in &rows {
        let prefix = if collection == "ndvi" {
            "cat/ndvi/"
        } else {
            "cat/ndvi-b/"
        };
        assert!(
            href.starts_with(&format!("{}/{BUCKET}/{prefix}", server.endpoint)),
            "{href}"
        );
    }
    // The root catalog links both collections, once each.
    let cat: Value =
        serde_json::from_slice(&aws_get(&server, "cat/catalog.json", tmp.path())).unwrap();
    let mut children: Vec<&str> = cat["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "child")
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    children.sort_unstable();
    assert_eq!(
        children,
        vec![
            format!("{}/{BUCKET}/cat/ndvi-b/collection.json", server.endpoint),
            format!("{}/{BUCKET}/cat/ndvi/collection.json", server.endpoint),
        ]
    );
}
