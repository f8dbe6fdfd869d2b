//! The one checksum of an object: sha2-256, as the multihash hex that STAC's
//! `file:checksum` holds (`1220` + digest hex), and as the base64 digest that
//! S3's `x-amz-checksum-sha256` carries.

use sha2::{Digest, Sha256};

const MULTIHASH_SHA256: &str = "1220";

/// Multihash hex of a sha2-256 digest.
pub fn multihash_from_sha256(digest: &[u8]) -> String {
    format!("{MULTIHASH_SHA256}{}", hex::encode(digest))
}

/// sha2-256 multihash hex of some bytes.
pub fn sha256_multihash(bytes: &[u8]) -> String {
    multihash_from_sha256(&Sha256::digest(bytes))
}

/// The raw digest inside a sha2-256 multihash hex, `None` for anything else.
pub(crate) fn digest_of_multihash(multihash: &str) -> Option<Vec<u8>> {
    let digest = hex::decode(multihash.strip_prefix(MULTIHASH_SHA256)?).ok()?;
    (digest.len() == 32).then_some(digest)
}

/// The base64 form S3 uses for a sha2-256 multihash hex.
pub(crate) fn multihash_to_base64(multihash: &str) -> Option<String> {
    digest_of_multihash(multihash).map(|d| base64_encode(&d))
}

/// The multihash hex of an S3 base64 sha2-256 digest; `None` for a composite
/// (multipart, `...-N`) or malformed value.
pub(crate) fn base64_to_multihash(b64: &str) -> Option<String> {
    let digest = base64_decode(b64)?;
    (digest.len() == 32).then(|| multihash_from_sha256(&digest))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (what S3 checksum headers use).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; `None` when it is not that.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for (i, quad) in text.chunks(4).enumerate() {
        let last = i == text.len() / 4 - 1;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_known_values() {
        // RFC 4648 test vectors.
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(raw.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), raw.as_bytes());
        }
        assert!(base64_decode("Zm9").is_none());
        assert!(base64_decode("Zg==Zg==").is_none());
        assert!(base64_decode("Z!==").is_none());
    }

    #[test]
    fn s3_sha256_of_hi_matches_what_seaweedfs_reported() {
        // `aws s3api put-object --checksum-algorithm SHA256` of "hi\n".
        let m = sha256_multihash(b"hi\n");
        assert_eq!(
            multihash_to_base64(&m).unwrap(),
            "mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q="
        );
        assert_eq!(
            base64_to_multihash("mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=").unwrap(),
            m
        );
        // A multipart (composite) checksum is not a whole-object digest.
        assert!(base64_to_multihash("mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=-3").is_none());
    }
}
