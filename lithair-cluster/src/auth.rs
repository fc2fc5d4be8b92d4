//! Peers prove they belong to the cluster with a shared secret.
//!
//! Every request on the peer listener (Raft RPCs and the admin endpoints alike) carries
//! `Authorization: Bearer <secret>`, and the listener compares it in constant time before it
//! reads the body. Without it a request changes nothing: no vote granted, no term raised, no
//! entry appended, no member added.
//!
//! What this protects against: anyone who can reach a peer port but does not know the secret
//! (a stray process, a node of another cluster, a node started with the wrong secret file). What
//! it does not: someone who can read the traffic (the secret travels in clear over plain HTTP,
//! so a sniffer can replay it), or a node that knows the secret and lies. TLS between peers
//! (rustls, mutual certificates) is the next step for networks that are not trusted; see
//! docs/cluster.md.

use std::{fmt, path::Path};

/// The secret itself is never printed: `Debug` shows only its length.
#[derive(Clone)]
pub struct ClusterSecret {
    bearer: Vec<u8>,
}

/// Shorter secrets are refused: they could be guessed.
pub const MIN_SECRET_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the cluster secret file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "the cluster secret in {path} is {len} bytes long (after trimming white space); at least \
         {MIN_SECRET_BYTES} are needed"
    )]
    TooShort { path: String, len: usize },
    #[error("the cluster secret in {path} must be printable ASCII without spaces")]
    NotPrintable { path: String },
}

impl ClusterSecret {
    /// Read the secret from `path`: its content, without the surrounding white space (an editor's
    /// final line feed), must be at least [`MIN_SECRET_BYTES`] of printable ASCII.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| SecretError::Read { path: shown.clone(), source })?;
        Self::new(text.trim()).map_err(|err| match err {
            SecretError::TooShort { len, .. } => SecretError::TooShort { path: shown, len },
            _ => SecretError::NotPrintable { path: shown },
        })
    }

    pub fn new(secret: &str) -> Result<Self, SecretError> {
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretError::NotPrintable { path: String::new() });
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort { path: String::new(), len: secret.len() });
        }
        Ok(ClusterSecret { bearer: format!("Bearer {secret}").into_bytes() })
    }

    /// The `Authorization` header value this node sends.
    pub fn header_value(&self) -> http::HeaderValue {
        let mut value = http::HeaderValue::from_bytes(&self.bearer)
            .expect("a printable ASCII secret is a valid header value");
        value.set_sensitive(true);
        value
    }

    /// Does this request carry the secret? Compared in constant time, so that the time an answer
    /// takes says nothing about how much of a guess was right.
    pub fn admits(&self, headers: &http::HeaderMap) -> bool {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => constant_time_eq(value.as_bytes(), &self.bearer),
            _ => false,
        }
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterSecret({} bytes)", self.bearer.len() - "Bearer ".len())
    }
}

/// Equality whose time depends only on the lengths: every byte is compared, whatever differs.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = value {
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn admits_only_the_exact_secret() {
        let secret = ClusterSecret::new("0123456789abcdef-secret").unwrap();
        assert!(secret.admits(&headers(Some("Bearer 0123456789abcdef-secret"))));
        assert!(!secret.admits(&headers(Some("Bearer 0123456789abcdef-secreT"))));
        assert!(!secret.admits(&headers(Some("Bearer 0123456789abcdef-secre"))));
        assert!(!secret.admits(&headers(Some("0123456789abcdef-secret"))));
        assert!(!secret.admits(&headers(None)));
    }

    #[test]
    fn short_or_unprintable_secrets_are_refused() {
        assert!(matches!(ClusterSecret::new("short"), Err(SecretError::TooShort { .. })));
        assert!(ClusterSecret::new("with a space inside it").is_err());
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let secret = ClusterSecret::new("0123456789abcdef-secret").unwrap();
        assert!(!format!("{secret:?}").contains("0123"));
    }
}
