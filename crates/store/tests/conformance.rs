//! The same behaviour from every store: one suite run against a local
//! directory and against a real SeaweedFS (S3), plus the S3-only parts:
//! multipart uploads, resume after an interruption, cleanup of arco's own
//! abandoned uploads, and the read-only identity.

use arco_core::{NoProgress, Progress};
use arco_store::testing::{Seaweed, BUCKET, READ_ONLY, READ_WRITE};
use arco_store::{
    sha256_multihash, AccessKey, Error, FileUpload, LocalStore, PutMode, S3Options, S3Store, Store,
};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

const MIB: u64 = 1 << 20;

/// Deterministic bytes (xorshift), so failures reproduce.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn server() -> Seaweed {
    Seaweed::start().unwrap_or_else(|e| panic!("{e}"))
}

async fn s3(server: &Seaweed, prefix: &str, identity: (&str, &str)) -> S3Store {
    let opts = S3Options {
        endpoint: Some(server.endpoint.clone()),
        access_key: Some(AccessKey {
            id: identity.0.into(),
            secret: identity.1.into(),
        }),
        region: Some("us-east-1".into()),
        ..S3Options::default()
    };
    S3Store::connect(BUCKET, prefix, &opts).await.unwrap()
}

/// The behaviour every store must have. `multipart` says whether large files
/// go up in parts (S3) or in one copy (local).
async fn suite<S: Store>(store: &S, scratch: &Path, multipart: bool) {
    // put, head, get: the checksum is the sha2-256 multihash of the bytes.
    let body = b"hello arco".to_vec();
    let put = store
        .put("a/b.txt", body.clone(), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(put.size, 10);
    assert_eq!(put.checksum, sha256_multihash(&body));
    assert_eq!(store.get("a/b.txt").await.unwrap(), body);
    let head = store.head("a/b.txt").await.unwrap().unwrap();
    assert_eq!(head.size, 10);
    assert_eq!(head.checksum.as_deref(), Some(put.checksum.as_str()));
    assert!(store.head("a/missing.txt").await.unwrap().is_none());
    assert!(matches!(
        store.get("a/missing.txt").await,
        Err(Error::NotFound { .. })
    ));

    // Safe create refuses an existing key and leaves it as it was.
    let err = store
        .put("a/b.txt", b"other".to_vec(), PutMode::Create)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("a/b.txt"), "{err}");
    assert_eq!(store.get("a/b.txt").await.unwrap(), body);

    // Replace does replace.
    store
        .put("a/b.txt", b"replaced".to_vec(), PutMode::Replace)
        .await
        .unwrap();
    assert_eq!(store.get("a/b.txt").await.unwrap(), b"replaced");

    // Ranges, including one past the end.
    let data = bytes(1000, 7);
    store
        .put("r.bin", data.clone(), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(store.get_range("r.bin", 3..10).await.unwrap(), &data[3..10]);
    assert_eq!(
        store.get_range("r.bin", 990..2000).await.unwrap(),
        &data[990..]
    );

    // Listing: by prefix, sorted, with sizes.
    store
        .put("a/c.txt", vec![1; 3], PutMode::Create)
        .await
        .unwrap();
    let listed: Vec<(String, u64)> = store
        .list("a/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect();
    assert_eq!(listed, vec![("a/b.txt".into(), 8), ("a/c.txt".into(), 3)]);
    assert_eq!(store.list("").await.unwrap().len(), 3);

    // Delete, and deleting again is fine.
    store.delete("a/c.txt").await.unwrap();
    store.delete("a/c.txt").await.unwrap();
    assert!(store.head("a/c.txt").await.unwrap().is_none());

    // Keys that would escape the store or be ambiguous are refused.
    for bad in ["/abs", "a/../b", "a//b", "", "dir/"] {
        let err = store.put(bad, vec![], PutMode::Create).await.unwrap_err();
        assert!(matches!(err, Error::BadKey { .. }), "{bad}: {err}");
    }

    // A file larger than two parts goes up (in parts on S3) and reads back equal.
    let big = bytes((12 * MIB + 12345) as usize, 11);
    let path = scratch.join("big.bin");
    std::fs::write(&path, &big).unwrap();
    let upload = FileUpload {
        part_size: 5 * MIB,
        concurrency: 3,
        ..FileUpload::default()
    };
    let counted = Counting::default();
    let put = store
        .put_file("big/file.bin", &path, &upload, &counted)
        .await
        .unwrap();
    assert_eq!(put.checksum, sha256_multihash(&big));
    assert_eq!(put.size, big.len() as u64);
    assert_eq!(counted.0.load(Ordering::Relaxed) as u64, big.len() as u64);
    assert_eq!(put.parts_sent, if multipart { 3 } else { 0 });
    let back = store.get("big/file.bin").await.unwrap();
    assert!(back == big, "the large file read back differs");
    let head = store.head("big/file.bin").await.unwrap().unwrap();
    assert_eq!(head.checksum.as_deref(), Some(put.checksum.as_str()));

    // Safe create of a large file refuses too.
    let err = store
        .put_file("big/file.bin", &path, &upload, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");

    // A file that does not match its promised checksum is not stored.
    let small = scratch.join("small.bin");
    std::fs::write(&small, b"abc").unwrap();
    let wrong = FileUpload {
        checksum: Some(sha256_multihash(b"abd")),
        ..FileUpload::default()
    };
    let err = store
        .put_file("small.bin", &small, &wrong, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    assert!(store.head("small.bin").await.unwrap().is_none());
}

#[derive(Default)]
struct Counting(AtomicUsize);

impl Progress for Counting {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, n: u64) {
        self.0.fetch_add(n as usize, Ordering::Relaxed);
    }
    fn finish(&self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(&dir.path().join("published")).unwrap();
    suite(&store, dir.path(), false).await;
    // Nothing temporary is left behind.
    let names: Vec<String> = walk(&dir.path().join("published"));
    assert!(names.iter().all(|n| !n.contains(".arco-tmp-")), "{names:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_passes_the_suite_on_seaweedfs() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let store = s3(&server, "suite/x", READ_WRITE).await;
    suite(&store, dir.path(), true).await;
    // Keys live under the prefix, and the published URL is path-style.
    let raw = store
        .client()
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert!(raw
        .contents()
        .iter()
        .all(|o| o.key().unwrap().starts_with("suite/x/")));
    assert_eq!(
        store.url_of("a/b.txt"),
        format!("{}/{BUCKET}/suite/x/a/b.txt", server.endpoint)
    );
    // The whole-file checksum is stored beside the object, and the server
    // kept the per-part checksums of the multipart upload.
    let head = store
        .client()
        .head_object()
        .bucket(BUCKET)
        .key("suite/x/big/file.bin")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(head.metadata().unwrap()["arco-sha256"].starts_with("1220"));
    assert!(
        head.checksum_sha256().is_some_and(|c| c.ends_with("-3")),
        "{:?}",
        head.checksum_sha256()
    );
}

/// Panics after `after` parts, as a killed client stops part way.
struct StopAfter {
    seen: AtomicUsize,
    after: usize,
}

impl Progress for StopAfter {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {
        let seen = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(seen < self.after, "client stopped part way (on purpose)");
    }
    fn finish(&self) {}
}

async fn parts_on_server(store: &S3Store, key: &str) -> Vec<(String, usize)> {
    let uploads = store
        .client()
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for u in uploads.uploads() {
        if u.key() != Some(key) {
            continue;
        }
        let parts = store
            .client()
            .list_parts()
            .bucket(BUCKET)
            .key(key)
            .upload_id(u.upload_id().unwrap())
            .send()
            .await
            .unwrap();
        out.push((u.upload_id().unwrap().to_string(), parts.parts().len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_upload_resumes_with_only_the_missing_parts_and_cleanup_aborts_only_ours() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let store = s3(&server, "resume", READ_WRITE).await;
    let data = bytes((8 * 5 * MIB) as usize, 3);
    let path = dir.path().join("eight-parts.bin");
    std::fs::write(&path, &data).unwrap();
    let state_dir = dir.path().join("state");
    let upload = FileUpload {
        part_size: 5 * MIB,
        concurrency: 1,
        state_dir: Some(state_dir.clone()),
        ..FileUpload::default()
    };

    // First attempt: stops after 3 parts.
    let (s, p, u) = (store.clone(), path.clone(), upload.clone());
    let stopped = tokio::spawn(async move {
        let stop = StopAfter {
            seen: AtomicUsize::new(0),
            after: 3,
        };
        s.put_file("r/eight.bin", &p, &u, &stop).await
    })
    .await;
    assert!(
        stopped.is_err(),
        "the first attempt should have stopped part way"
    );
    assert!(
        store.head("r/eight.bin").await.unwrap().is_none(),
        "half an object is visible"
    );
    let on_server = parts_on_server(&store, "resume/r/eight.bin").await;
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    let present = on_server[0].1;
    assert!((3..8).contains(&present), "{present} parts on the server");
    assert_eq!(std::fs::read_dir(&state_dir).unwrap().count(), 1);

    // Second attempt: sends only the missing parts.
    let put = store
        .put_file("r/eight.bin", &path, &upload, &NoProgress)
        .await
        .unwrap();
    assert_eq!(put.parts_reused, present);
    assert_eq!(put.parts_sent, 8 - present);
    assert_eq!(put.bytes_sent, (8 - present) as u64 * 5 * MIB);
    assert!(store.get("r/eight.bin").await.unwrap() == data);
    assert_eq!(
        std::fs::read_dir(&state_dir).unwrap().count(),
        0,
        "record kept"
    );
    assert!(parts_on_server(&store, "resume/r/eight.bin")
        .await
        .is_empty());

    // Cleanup: one abandoned upload of ours, one of another client.
    let (s, p, u) = (store.clone(), path.clone(), upload.clone());
    let _ = tokio::spawn(async move {
        let stop = StopAfter {
            seen: AtomicUsize::new(0),
            after: 1,
        };
        s.put_file("r/abandoned.bin", &p, &u, &stop).await
    })
    .await;
    let theirs = store
        .client()
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("resume/r/theirs.bin")
        .send()
        .await
        .unwrap();
    let aborted = store.abort_recorded_uploads(&state_dir).await.unwrap();
    assert_eq!(aborted.len(), 1, "{aborted:?}");
    assert!(aborted[0].aborted);
    assert_eq!(
        aborted[0].url,
        format!("s3://{BUCKET}/resume/r/abandoned.bin")
    );
    assert!(parts_on_server(&store, "resume/r/abandoned.bin")
        .await
        .is_empty());
    let left = parts_on_server(&store, "resume/r/theirs.bin").await;
    assert_eq!(left.len(), 1, "another client's upload was touched");
    assert_eq!(left[0].0, theirs.upload_id().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_identity_reads_but_is_refused_on_write_with_a_clear_error() {
    let server = server();
    let rw = s3(&server, "ro", READ_WRITE).await;
    rw.put("x.txt", b"x".to_vec(), PutMode::Create)
        .await
        .unwrap();
    let ro = s3(&server, "ro", READ_ONLY).await;
    assert_eq!(ro.get("x.txt").await.unwrap(), b"x");
    let err = ro
        .put("y.txt", b"y".to_vec(), PutMode::Create)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AccessDenied { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("s3://{BUCKET}/ro/y.txt")), "{msg}");
    assert!(msg.contains("access denied for PutObject"), "{msg}");
    assert!(!msg.contains(READ_ONLY.1), "the secret leaked: {msg}");
    assert!(ro.head("y.txt").await.unwrap().is_none());
    let err = ro.delete("x.txt").await.unwrap_err();
    assert!(matches!(err, Error::AccessDenied { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_object_fails_its_checksum_on_download() {
    let server = server();
    let store = s3(&server, "corrupt", READ_WRITE).await;
    // An object whose stored arco-sha256 does not match its bytes (as if the
    // bytes were damaged at rest) is refused on download.
    store
        .client()
        .put_object()
        .bucket(BUCKET)
        .key("corrupt/x.bin")
        .metadata("arco-sha256", sha256_multihash(b"original"))
        .body(b"damaged".to_vec().into())
        .send()
        .await
        .unwrap();
    let err = store.get("x.bin").await.unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    // A wrong x-amz-checksum-sha256 is refused by the server (BadDigest).
    let err = store
        .client()
        .put_object()
        .bucket(BUCKET)
        .key("corrupt/y.bin")
        .checksum_sha256(arco_store::base64_encode(&[0u8; 32]))
        .body(b"abc".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(store.head("y.bin").await.unwrap().is_none());
}
