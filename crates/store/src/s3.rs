//! S3 through `aws-sdk-s3`, configured the way users expect: the standard
//! AWS environment variables and shared config/credentials files
//! (`aws-config`), an endpoint override with path-style addressing, retries
//! with backoff and timeouts. Credentials never leave the SDK: nothing here
//! formats them.

use crate::checksum::{base64_to_multihash, multihash_to_base64, sha256_multihash};
use crate::{
    check_key, multipart, Error, FileUpload, ObjectMeta, PutMode, PutReport, Result, Store,
};
use arco_core::Progress;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, ProvideCredentials, Region, RequestChecksumCalculation,
    ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

/// User metadata key holding the object's sha2-256 multihash hex
/// (`x-amz-meta-arco-sha256`), the same value as STAC `file:checksum`.
pub(crate) const META_SHA256: &str = "arco-sha256";

/// Whether to send flexible checksums (`x-amz-checksum-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Send `x-amz-checksum-sha256` with every upload and part, and validate
    /// checksums of downloads (SeaweedFS, AWS, recent MinIO).
    #[default]
    WhenSupported,
    /// Only where an operation requires one: for older S3 servers (Ceph, old
    /// MinIO) that reject the headers. The SigV4 payload hash still covers
    /// the bytes, and `arco-sha256` is still stored and checked on download.
    WhenRequired,
}

/// An access key given in code rather than by the environment (tests,
/// tools). Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct AccessKey {
    /// Access key id.
    pub id: String,
    /// Secret access key.
    pub secret: String,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// S3 settings beyond what the environment gives.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Credentials to use instead of the environment's chain.
    pub access_key: Option<AccessKey>,
    /// Region to use instead of the environment's (default `us-east-1` when
    /// none is configured).
    pub region: Option<String>,
    /// Endpoint URL (overrides `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`);
    /// a custom endpoint means path-style addressing.
    pub endpoint: Option<String>,
    /// Flexible checksum behaviour.
    pub checksum_mode: ChecksumMode,
    /// Public URL of the bucket and prefix, for STAC hrefs (default: the
    /// endpoint, bucket and prefix, path-style).
    pub base_url: Option<String>,
    /// Attempts per request, retries included (default 5).
    pub max_attempts: Option<u32>,
    /// Time limit of one attempt of one request (default 300 s).
    pub attempt_timeout: Option<Duration>,
}

/// A bucket and prefix on an S3 server.
#[derive(Clone)]
pub struct S3Store {
    pub(crate) client: Client,
    pub(crate) bucket: String,
    prefix: String,
    pub(crate) checksum_mode: ChecksumMode,
    base_url: String,
}

impl fmt::Debug for S3Store {
    // By hand, so that no configuration (and no credential) is ever formatted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl S3Store {
    /// Connects to `bucket` with the environment's configuration (region,
    /// credentials, endpoint, profile) and `opts`, and checks that the
    /// credentials resolve and the bucket exists.
    pub async fn connect(bucket: &str, prefix: &str, opts: &S3Options) -> Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(key) = &opts.access_key {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                &key.id,
                &key.secret,
                None,
                None,
                "arco",
            ));
        }
        if let Some(region) = &opts.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let endpoint = opts
            .endpoint
            .clone()
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL"))
            .or_else(|| sdk.endpoint_url().map(str::to_string))
            .map(|e| e.trim_end_matches('/').to_string());
        if let Some(ep) = &endpoint {
            if !(ep.starts_with("http://") || ep.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "endpoint {ep:?}: write it as a URL, e.g. http://127.0.0.1:8333"
                )));
            }
        }
        let region = sdk
            .region()
            .cloned()
            .unwrap_or_else(|| Region::new("us-east-1"));
        let Some(creds) = sdk.credentials_provider() else {
            return Err(no_credentials("no credentials provider"));
        };
        if let Err(e) = creds.provide_credentials().await {
            return Err(no_credentials(&chain(&e)));
        }
        let attempts = opts.max_attempts.unwrap_or(5).max(1);
        let mut config = aws_sdk_s3::config::Builder::from(&sdk)
            .region(region.clone())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(10)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(
                        opts.attempt_timeout.unwrap_or(Duration::from_mins(5)),
                    )
                    .build(),
            );
        if let Some(ep) = &endpoint {
            config = config.endpoint_url(ep).force_path_style(true);
        }
        if opts.checksum_mode == ChecksumMode::WhenRequired {
            config = config
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        let client = Client::from_conf(config.build());
        let prefix = prefix.trim_matches('/').to_string();
        let base_url = match (&opts.base_url, &endpoint) {
            (Some(b), _) => b.trim_end_matches('/').to_string(),
            (None, Some(ep)) => join_url(&format!("{ep}/{bucket}"), &prefix),
            (None, None) => join_url(
                &format!("https://{bucket}.s3.{region}.amazonaws.com"),
                &prefix,
            ),
        };
        let store = Self {
            client,
            bucket: bucket.to_string(),
            prefix,
            checksum_mode: opts.checksum_mode,
            base_url,
        };
        store.check_bucket(endpoint.as_deref()).await?;
        Ok(store)
    }

    async fn check_bucket(&self, endpoint: Option<&str>) -> Result<()> {
        let at = endpoint.map_or(String::new(), |e| format!(" at {e}"));
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match status_of(&e) {
                Some(404) => Err(Error::Config(format!(
                    "s3://{}: no such bucket{at}: create it first (aws s3 mb s3://{})",
                    self.bucket, self.bucket
                ))),
                Some(403) => Err(Error::AccessDenied {
                    key: format!("s3://{}", self.bucket),
                    operation: "HeadBucket",
                }),
                _ => Err(Error::Config(format!(
                    "s3://{}: cannot reach the S3 server{at}: {}",
                    self.bucket,
                    sdk_message(&e)
                ))),
            },
        }
    }

    /// The same bucket one prefix level up (the bucket root stays itself):
    /// where a catalog over several products lives.
    #[must_use]
    pub fn parent(&self) -> Self {
        let mut up = self.clone();
        if let Some((p, _)) = self.prefix.rsplit_once('/') {
            up.prefix = p.to_string();
        } else {
            up.prefix.clear();
        }
        if !self.prefix.is_empty() {
            if let Some((b, _)) = self.base_url.rsplit_once('/') {
                up.base_url = b.to_string();
            }
        }
        up
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix (no leading or trailing `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The underlying SDK client (for tests and tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket key of a store key.
    pub(crate) fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// `s3://bucket/full-key`, for messages.
    /// The whole body of a GetObject answer.
    async fn read_body(&self, key: &str, body: ByteStream) -> Result<Vec<u8>> {
        Ok(body
            .collect()
            .await
            .map_err(|e| Error::S3 {
                key: self.s3_url(key),
                operation: "GetObject",
                message: chain(&e),
            })?
            .to_vec())
    }

    pub(crate) fn s3_url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }

    pub(crate) fn send_checksums(&self) -> bool {
        self.checksum_mode == ChecksumMode::WhenSupported
    }

    /// One `PutObject` of in-memory bytes whose checksum is known.
    pub(crate) async fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        checksum: &str,
        mode: PutMode,
    ) -> Result<()> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .content_type(content_type(key))
            .metadata(META_SHA256, checksum)
            .body(ByteStream::from(body));
        if mode == PutMode::Create {
            req = req.if_none_match("*");
        }
        let sent = match multihash_to_base64(checksum).filter(|_| self.send_checksums()) {
            // The server verifies x-amz-checksum-sha256: hashing the body
            // again for the SigV4 payload hash would only cost time.
            Some(b64) => {
                req.checksum_sha256(b64)
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
            }
            None => req.send().await,
        };
        sent.map_err(|e| s3_error(&e, self.s3_url(key), "PutObject"))?;
        Ok(())
    }
}

fn no_credentials(why: &str) -> Error {
    Error::Config(format!(
        "no AWS credentials found ({why}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         or AWS_PROFILE naming a profile of ~/.aws/credentials"
    ))
}

fn join_url(base: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{}", crate::encode_path(prefix))
    }
}

/// A media type from the key's extension (what browsers and GDAL expect).
pub(crate) fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("json") => "application/json",
        Some("tif" | "tiff") => "image/tiff",
        Some("parquet") => "application/vnd.apache.parquet",
        Some("fgb") => "application/vnd.flatgeobuf",
        Some("pmtiles") => "application/vnd.pmtiles",
        _ => "application/octet-stream",
    }
}

/// The HTTP status of a failed request, when the server answered.
pub(crate) fn status_of<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// An error and its causes in one line, each message once (no debug dumps).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(c) = cur {
        let s = c.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// The server's code and message when it answered, else the cause chain.
pub(crate) fn sdk_message<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.code() {
        Some(code) => {
            let status = status_of(e).map_or(String::new(), |s| format!("HTTP {s} "));
            match e.message().filter(|m| !m.is_empty()) {
                Some(m) => format!("{status}{code}: {m}"),
                None => format!("{status}{code}"),
            }
        }
        None => chain(e),
    }
}

/// Maps an SDK error to the store's words.
pub(crate) fn s3_error<E>(
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    key: String,
    operation: &'static str,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or_default().to_string();
    match (status_of(e), code.as_str()) {
        (Some(412), _) | (_, "PreconditionFailed") => Error::AlreadyExists { key },
        (Some(403), _) | (_, "AccessDenied") => Error::AccessDenied { key, operation },
        (Some(404), _) | (_, "NoSuchKey" | "NotFound" | "NoSuchUpload") => Error::NotFound { key },
        _ => Error::S3 {
            key,
            operation,
            message: sdk_message(e),
        },
    }
}

impl Store for S3Store {
    fn location(&self) -> String {
        join_url(&format!("s3://{}", self.bucket), &self.prefix)
    }

    fn url_of(&self, key: &str) -> String {
        format!("{}/{}", self.base_url, crate::encode_path(key))
    }

    async fn put(&self, key: &str, body: Vec<u8>, mode: PutMode) -> Result<PutReport> {
        check_key(key)?;
        let checksum = sha256_multihash(&body);
        let size = body.len() as u64;
        self.put_bytes(key, body, &checksum, mode).await?;
        Ok(PutReport::whole(size, checksum))
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        upload: &FileUpload,
        progress: &dyn Progress,
    ) -> Result<PutReport> {
        check_key(key)?;
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| Error::io(path, e))?
            .len();
        if size > upload.part_size.max(multipart::MIN_PART) {
            return multipart::upload(self, key, path, size, upload, progress).await;
        }
        let _permit = match &upload.limiter {
            Some(l) => Some(
                l.acquire()
                    .await
                    .map_err(|e| Error::Publish(e.to_string()))?,
            ),
            None => None,
        };
        let body = tokio::fs::read(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        let checksum = sha256_multihash(&body);
        if let Some(expected) = &upload.checksum {
            if *expected != checksum {
                return Err(Error::Checksum {
                    key: path.display().to_string(),
                    expected: expected.clone(),
                    actual: checksum,
                });
            }
        }
        let size = body.len() as u64;
        self.put_bytes(key, body, &checksum, upload.mode).await?;
        progress.advance(size);
        Ok(PutReport::whole(size, checksum))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        check_key(key)?;
        let mut req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key));
        if self.send_checksums() {
            req = req.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
        }
        let out = req
            .send()
            .await
            .map_err(|e| s3_error(&e, self.s3_url(key), "GetObject"))?;
        let expected = out.metadata().and_then(|m| m.get(META_SHA256)).cloned();
        let bytes = self.read_body(key, out.body).await?;
        if let Some(expected) = expected {
            let actual = sha256_multihash(&bytes);
            if actual != expected {
                return Err(Error::Checksum {
                    key: self.s3_url(key),
                    expected,
                    actual,
                });
            }
        }
        Ok(bytes)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>> {
        check_key(key)?;
        if range.start >= range.end {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| s3_error(&e, self.s3_url(key), "GetObject"))?;
        self.read_body(key, out.body).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        check_key(key)?;
        let mut req = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key));
        if self.send_checksums() {
            req = req.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
        }
        match req.send().await {
            Ok(out) => {
                let checksum = out
                    .metadata()
                    .and_then(|m| m.get(META_SHA256))
                    .cloned()
                    .or_else(|| out.checksum_sha256().and_then(base64_to_multihash));
                Ok(Some(ObjectMeta {
                    key: key.to_string(),
                    size: out.content_length().unwrap_or(0).max(0) as u64,
                    checksum,
                }))
            }
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(s3_error(&e, self.s3_url(key), "HeadObject")),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{root}{prefix}"))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error(&e, self.location(), "ListObjectsV2"))?;
            for obj in page.contents() {
                let Some(k) = obj.key().and_then(|k| k.strip_prefix(&root)) else {
                    continue;
                };
                out.push(ObjectMeta {
                    key: k.to_string(),
                    size: obj.size().unwrap_or(0).max(0) as u64,
                    checksum: None,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| s3_error(&e, self.s3_url(key), "DeleteObject"))?;
        Ok(())
    }
}
