//! A small clean log shared by the reader's and the replay's tests.

use serde_json::json;

use super::encode::record;

/// The first record's timestamp; each record is one microsecond after the one before.
pub const T0: u64 = 1_795_780_800_000_000;

/// A clean log that touches every Lithair event, escapes and non-ASCII text included.
pub fn sample_lines() -> Vec<Vec<u8>> {
    let article = |id, title, content, author: Option<u64>| {
        let checksum = crate::model::article_checksum(title, content);
        json!({"id": id, "title": title, "content": content, "author_id": author, "checksum": checksum})
    };
    let user =
        |id, name: &str| json!({"id": id, "name": name, "email": format!("{name}@example.org")});
    let events = [
        ("UserCreated", user(0, "ada")),
        ("ArticleCreated", article(0, "Hello", "First post", Some(0))),
        ("ArticleCreated", article(1, "Café", "Crème \"brûlée\"\nsecond line", None)),
        ("CommentAdded", json!({"id": 0, "article_id": 0, "user_id": 0, "body": "Nice"})),
        ("ArticleUpdated", article(0, "Hello again", "Second post", Some(0))),
        ("ArticleDeleted", json!({"id": 1})),
        ("UserCreated", user(1, "bob")),
    ];
    (1..).zip(events).map(|(seq, (kind, data))| record(seq, T0 + seq, kind, &data)).collect()
}

/// CRC-32 computed bit by bit from the document's parameters, so that the tests do not take
/// `crc32fast`'s word for it.
pub fn crc32_by_the_book(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            // 0xEDB88320 is the polynomial 0x04C11DB7 with its bits reversed.
            crc = if crc & 1 == 1 { crc >> 1 ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    crc ^ 0xFFFF_FFFF
}
