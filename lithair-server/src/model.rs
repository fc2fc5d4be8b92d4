//! The records Lithair serves: articles, users and comments, as clients see them.
//!
//! Text is held in `Arc<str>` so that the engine's two copies of the state (see
//! `lithair_core::StateEngine`) and the events share one allocation per string.
//!
//! Their serde form is also the `data` of the events that write them (`events.rs`), so it is
//! part of the on-disk format: fields keep their names and order (docs/raftlog.md).

use std::{fmt, sync::Arc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: u64,
    pub title: Arc<str>,
    pub content: Arc<str>,
    pub author_id: Option<u64>,
    pub checksum: Checksum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: Arc<str>,
    pub email: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub article_id: u64,
    pub user_id: u64,
    pub body: Arc<str>,
}

/// An article's checksum: CRC-32 (IEEE) of its title, a line feed, and its content, written as
/// 8 lowercase hex digits. Stored in the log and returned to clients, so that anyone holding an
/// article — a client, the test harness reading the log — can check its text on their own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Checksum(pub u32);

impl Checksum {
    pub fn of_article(title: &str, content: &str) -> Self {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(title.as_bytes());
        hasher.update(b"\n");
        hasher.update(content.as_bytes());
        Checksum(hasher.finalize())
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <&str>::deserialize(deserializer)?;
        if hex.len() != 8 {
            return Err(serde::de::Error::custom("a checksum is 8 hex digits"));
        }
        u32::from_str_radix(hex, 16).map(Checksum).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_covers_title_and_content() {
        // python3 -c 'import zlib; print("%08x" % zlib.crc32(b"Hello\nWorld"))'
        assert_eq!(Checksum::of_article("Hello", "World").to_string(), "ec209706");
        assert_ne!(Checksum::of_article("Hello", "World"), Checksum::of_article("Hello", "World!"));
    }

    #[test]
    fn checksum_serialises_as_hex() {
        let json = serde_json::to_string(&Checksum(0x0a0b0c0d)).unwrap();
        assert_eq!(json, "\"0a0b0c0d\"");
        assert_eq!(serde_json::from_str::<Checksum>(&json).unwrap(), Checksum(0x0a0b0c0d));
    }
}
