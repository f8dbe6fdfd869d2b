//! `arco view FILE.pmtiles`: a small web server on the loopback interface
//! with a page that draws the archive on a map (maplibre-gl with the
//! pmtiles protocol, which reads the archive by HTTP range requests).
//!
//! The browser libraries are embedded at build time when
//! `web/node_modules` holds them (build.rs); otherwise they are read at run
//! time from `$ARCO_WEB_DIR` or this checkout's `web/node_modules`.

use crate::printer::Printer;
use anyhow::{bail, Context};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const PAGE: &str = include_str!("index.html");

/// The three files the page loads.
struct Assets {
    maplibre_js: Cow<'static, [u8]>,
    maplibre_css: Cow<'static, [u8]>,
    pmtiles_js: Cow<'static, [u8]>,
}

const REL: [&str; 3] = [
    "maplibre-gl/dist/maplibre-gl.js",
    "maplibre-gl/dist/maplibre-gl.css",
    "pmtiles/dist/pmtiles.js",
];

impl Assets {
    #[cfg(arco_web_embedded)]
    #[allow(clippy::unnecessary_wraps)] // the other build's twin returns None
    fn embedded() -> Option<Assets> {
        Some(Assets {
            maplibre_js: Cow::Borrowed(include_bytes!(env!("ARCO_ASSET_MAPLIBRE_JS"))),
            maplibre_css: Cow::Borrowed(include_bytes!(env!("ARCO_ASSET_MAPLIBRE_CSS"))),
            pmtiles_js: Cow::Borrowed(include_bytes!(env!("ARCO_ASSET_PMTILES_JS"))),
        })
    }

    #[cfg(not(arco_web_embedded))]
    fn embedded() -> Option<Assets> {
        None
    }

    fn from_dir(dir: &Path) -> Option<Assets> {
        let read = |rel: &str| std::fs::read(dir.join(rel)).ok().map(Cow::Owned);
        Some(Assets {
            maplibre_js: read(REL[0])?,
            maplibre_css: read(REL[1])?,
            pmtiles_js: read(REL[2])?,
        })
    }

    /// `$ARCO_WEB_DIR` first (to try other versions), then the embedded
    /// copies, then this checkout's `web/node_modules`.
    fn load() -> anyhow::Result<Assets> {
        let mut tried: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("ARCO_WEB_DIR") {
            let dir = PathBuf::from(dir);
            if let Some(a) = Assets::from_dir(&dir) {
                return Ok(a);
            }
            tried.push(dir);
        }
        if let Some(a) = Assets::embedded() {
            return Ok(a);
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules");
        if let Some(a) = Assets::from_dir(&dir) {
            return Ok(a);
        }
        tried.push(dir);
        bail!(
            "the viewer's map libraries are missing (looked in {}); run scripts/setup.sh (npm ci in web/) and rebuild, or set ARCO_WEB_DIR to a node_modules holding maplibre-gl and pmtiles",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

struct Shared {
    archive: PathBuf,
    page: String,
    assets: Assets,
}

/// Checks the magic and version of a PMTiles archive.
fn check_archive(path: &Path) -> anyhow::Result<u64> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("{}: cannot open it; check the path", path.display()))?;
    let mut head = [0u8; 8];
    let n = f.read(&mut head).unwrap_or(0);
    if n < 8 || &head[..7] != b"PMTiles" {
        bail!(
            "{}: not a PMTiles archive (no PMTiles magic); make one with arco convert --to pmtiles",
            path.display()
        );
    }
    if head[7] != 3 {
        bail!(
            "{}: PMTiles version {} is not supported (v3 only); convert it with `pmtiles convert`",
            path.display(),
            head[7]
        );
    }
    Ok(f.metadata()?.len())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a length.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split(',').next()?.trim().split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len.checked_sub(1)?)
    } else {
        let s: u64 = a.parse().ok()?;
        let e = if b.is_empty() {
            len.checked_sub(1)?
        } else {
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?)
        };
        (s, e)
    };
    (start <= end && end < len).then_some((start, end))
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    ctype: &str,
    extra: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()
}

fn handle(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let mut out = stream;
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            "",
            b"GET only\n",
            false,
        );
    }
    let js = "application/javascript; charset=utf-8";
    match path {
        "/" | "/index.html" => respond(
            &mut out,
            "200 OK",
            "text/html; charset=utf-8",
            "",
            shared.page.as_bytes(),
            head_only,
        ),
        "/maplibre-gl.js" => respond(
            &mut out,
            "200 OK",
            js,
            "",
            &shared.assets.maplibre_js,
            head_only,
        ),
        "/maplibre-gl.css" => respond(
            &mut out,
            "200 OK",
            "text/css; charset=utf-8",
            "",
            &shared.assets.maplibre_css,
            head_only,
        ),
        "/pmtiles.js" => respond(
            &mut out,
            "200 OK",
            js,
            "",
            &shared.assets.pmtiles_js,
            head_only,
        ),
        "/data.pmtiles" => {
            let mut f = std::fs::File::open(&shared.archive)?;
            let len = f.metadata()?.len();
            let (status, start, end) = match range.as_deref() {
                None => ("200 OK", 0, len.saturating_sub(1)),
                Some(r) => match parse_range(r, len) {
                    Some((s, e)) => ("206 Partial Content", s, e),
                    None => {
                        return respond(
                            &mut out,
                            "416 Range Not Satisfiable",
                            "text/plain",
                            &format!("Content-Range: bytes */{len}\r\n"),
                            b"",
                            head_only,
                        )
                    }
                },
            };
            let n = if len == 0 { 0 } else { end - start + 1 };
            let mut body = vec![0u8; n as usize];
            f.seek(SeekFrom::Start(start))?;
            f.read_exact(&mut body)?;
            let extra = if range.is_some() {
                format!("Accept-Ranges: bytes\r\nContent-Range: bytes {start}-{end}/{len}\r\n")
            } else {
                "Accept-Ranges: bytes\r\n".to_string()
            };
            respond(
                &mut out,
                status,
                "application/octet-stream",
                &extra,
                &body,
                head_only,
            )
        }
        // See index.html: keeps a headless screenshot waiting for the map.
        "/hold" => {
            std::thread::sleep(std::time::Duration::from_millis(200));
            respond(&mut out, "200 OK", "text/plain", "", b"", head_only)
        }
        _ => respond(
            &mut out,
            "404 Not Found",
            "text/plain",
            "",
            b"not found\n",
            head_only,
        ),
    }
}

/// Serves `archive` on 127.0.0.1 until the process is stopped.
pub fn run(
    archive: &Path,
    port: u16,
    open_browser: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    check_archive(archive)?;
    let assets = Assets::load()?;
    let name = archive
        .file_name()
        .map_or_else(|| "archive".into(), |n| n.to_string_lossy().into_owned());
    let page = PAGE.replace("__TITLE__", &html_escape(&name));
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 => {
            printer.note(&format!(
                "port {port} is in use; serving on a free port instead"
            ));
            TcpListener::bind(("127.0.0.1", 0))?
        }
        Err(e) => bail!("cannot listen on 127.0.0.1:{port} ({e}); choose another --port"),
    };
    let url = format!("http://127.0.0.1:{}/", listener.local_addr()?.port());
    if printer.json() {
        printer.emit_json(&serde_json::json!({
            "command": "view",
            "path": archive,
            "url": url,
        }))?;
    }
    printer.line(&format!(
        "serving {} at {url} (Ctrl-C to stop)",
        archive.display()
    ));
    if open_browser {
        let opened = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok();
        if !opened {
            printer.note("no browser could be opened (xdg-open); open the URL yourself");
        }
    }
    let shared = Arc::new(Shared {
        archive: archive.to_path_buf(),
        page,
        assets,
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            // A browser that goes away mid-response is no error of ours.
            let _ = handle(stream, &shared);
        });
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=0-5000", 1000), Some((0, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("lines=1-2", 1000), None);
    }
}
