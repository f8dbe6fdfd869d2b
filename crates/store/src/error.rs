//! The store's one error type: each message names the key or file and,
//! where there is one, the fix.

use std::path::PathBuf;

/// Store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Safe create found the key taken.
    #[error("{key}: already exists (pass --replace to replace it)")]
    AlreadyExists {
        /// The object's location.
        key: String,
    },
    /// A read of a missing object.
    #[error("{key}: not found")]
    NotFound {
        /// The object's location.
        key: String,
    },
    /// The credentials may not do this.
    #[error("{key}: access denied for {operation}: the credentials in use may not do this (check the identity's permissions, AWS_PROFILE or AWS_ACCESS_KEY_ID)")]
    AccessDenied {
        /// The object's location.
        key: String,
        /// The S3 operation refused.
        operation: &'static str,
    },
    /// Bytes that do not match their checksum.
    #[error("{key}: checksum mismatch: expected {expected}, got {actual}")]
    Checksum {
        /// The object's location.
        key: String,
        /// The checksum that was promised.
        expected: String,
        /// The checksum of the bytes seen.
        actual: String,
    },
    /// A key that cannot be stored as is.
    #[error("{key:?}: not a valid key (relative, '/'-separated, no '.' or '..' segments)")]
    BadKey {
        /// The key.
        key: String,
    },
    /// A store URL that cannot be parsed.
    #[error("{url}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A local file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// S3 set-up failed (no credentials, no region, bad endpoint).
    #[error("{0}")]
    Config(String),
    /// Any other S3 failure, after retries.
    #[error("{key}: {operation} failed: {message}")]
    S3 {
        /// The object's location.
        key: String,
        /// The S3 operation.
        operation: &'static str,
        /// The server's or the client's words.
        message: String,
    },
    /// Publishing refused or failed (see the message).
    #[error("{0}")]
    Publish(String),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
