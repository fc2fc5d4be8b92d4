//! The one encoder of records, written from docs/raftlog.md ("Record" and "The checksum"):
//! what the corruption steps, the reader's tests and the benchmark's log writer use to produce
//! log lines, instead of each spelling the format by hand.
//!
//! It shares no code with lithair-core's writer, on purpose: the harness checks the engine's
//! files, so the two must be able to disagree.

use serde::Serialize;

/// Every record ends with `,"crc":"hhhhhhhh"}`: these 18 bytes follow the checksummed bytes.
pub(super) const TRAILER_LEN: usize = 18;
pub(super) const TRAILER_OPENING: &[u8] = b",\"crc\":\"";
pub(super) const TRAILER_CLOSING: &[u8] = b"\"}";

/// One record, line feed included, in the exact form the document prescribes:
/// `{"seq":…,"ts":…,"type":"…","data":…,"crc":"hhhhhhhh"}\n`.
///
/// `data` is written as serde serializes it, compactly and in its own field order (a struct's
/// declaration order; a `serde_json::Value` object's sorted keys).
///
/// # Panics
/// If `data` cannot be written as JSON (a map with non-string keys, say): a bug in the caller.
pub fn record<T: Serialize + ?Sized>(seq: u64, ts: u64, event_type: &str, data: &T) -> Vec<u8> {
    let data = serde_json::to_string(data).expect("event data serializes to JSON");
    seal(&format!("{},\"data\":{data}", head(seq, ts, event_type)))
}

/// A record of an event without a payload: the document says `data` is then omitted.
pub fn record_without_data(seq: u64, ts: u64, event_type: &str) -> Vec<u8> {
    seal(&head(seq, ts, event_type))
}

/// One version-2 record (docs/raftlog.md, "Version 2"), line feed included:
/// `{"seq":…,"term":…,"node":…,"ts":…,"type":"…","data":…,"crc":"hhhhhhhh"}\n`, without
/// `data` when it is `None` (a `raft.Blank`).
///
/// # Panics
/// If `data` cannot be written as JSON: a bug in the caller.
pub fn record_v2<T: Serialize + ?Sized>(
    seq: u64,
    term: u64,
    node: u64,
    ts: u64,
    event_type: &str,
    data: Option<&T>,
) -> Vec<u8> {
    let event_type = serde_json::to_string(event_type).expect("a string serializes");
    let mut text = format!(
        "{{\"seq\":{seq},\"term\":{term},\"node\":{node},\"ts\":{ts},\"type\":{event_type}"
    );
    if let Some(data) = data {
        let data = serde_json::to_string(data).expect("event data serializes to JSON");
        text.push_str(&format!(",\"data\":{data}"));
    }
    seal(&text)
}

/// Closes the text of a record — everything from `{` up to the checksum trailer — with the
/// trailer and a line feed. For writing records whose text is deliberately unusual (fields
/// missing or reordered, wrong types), which [`record`] cannot produce.
pub fn seal(text: &str) -> Vec<u8> {
    let mut line = text.as_bytes().to_vec();
    line.extend_from_slice(TRAILER_OPENING);
    line.extend_from_slice(format!("{:08x}", crc32fast::hash(text.as_bytes())).as_bytes());
    line.extend_from_slice(TRAILER_CLOSING);
    line.push(b'\n');
    line
}

fn head(seq: u64, ts: u64, event_type: &str) -> String {
    let event_type = serde_json::to_string(event_type).expect("a string serializes");
    format!("{{\"seq\":{seq},\"ts\":{ts},\"type\":{event_type}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArticleInput;
    use crate::raftlog::sample::crc32_by_the_book;

    #[test]
    fn the_documented_crc_check_value_holds() {
        assert_eq!(crc32_by_the_book(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        let by_the_book = format!("{:08x}", crc32_by_the_book("Café\nCrème".as_bytes()));
        assert_eq!(crate::model::article_checksum("Café", "Crème"), by_the_book);
    }

    #[test]
    fn the_documented_example_is_encoded_byte_for_byte() {
        // The example in docs/raftlog.md carries a checksum that does not verify; this one was
        // computed with Python's zlib.crc32.
        let expected = concat!(
            r#"{"seq":1,"ts":1795780800000000,"type":"ArticleCreated","data":{"id":0,"#,
            r#""title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"},"#,
            r#""crc":"051f6b4c"}"#,
            "\n"
        );
        let article = ArticleInput::new("Hello", "First post").with_id(0);
        let line = record(1, 1_795_780_800_000_000, "ArticleCreated", &article);
        assert_eq!(String::from_utf8(line).unwrap(), expected);
    }

    #[test]
    fn the_trailer_covers_everything_before_it() {
        let line = seal("{\"seq\":1");
        let text = std::str::from_utf8(&line).unwrap();
        let crc = crc32_by_the_book(b"{\"seq\":1");
        assert_eq!(text, format!("{{\"seq\":1,\"crc\":\"{crc:08x}\"}}\n"));
        assert_eq!(line.len() - 1 - "{\"seq\":1".len(), TRAILER_LEN);
    }

    #[test]
    fn the_documented_v2_examples_are_encoded_byte_for_byte() {
        // docs/raftlog.md's v2 examples, with the checksums Python's zlib.crc32 gives.
        let membership = serde_json::json!({"configs": [[1, 2, 3]], "nodes": {
            "1": {"api": "127.0.1.1:8001", "peer": "127.0.1.1:7001"},
        }});
        let line = record_v2(0, 0, 0, 0, "raft.Membership", Some(&membership));
        let expected = concat!(
            r#"{"seq":0,"term":0,"node":0,"ts":0,"type":"raft.Membership","data":{"configs":"#,
            r#"[[1,2,3]],"nodes":{"1":{"api":"127.0.1.1:8001","peer":"127.0.1.1:7001"}}},"#,
            r#""crc":"bf8f8428"}"#,
            "\n"
        );
        assert_eq!(String::from_utf8(line).unwrap(), expected);
        let blank = record_v2::<()>(1, 1, 2, 0, "raft.Blank", None);
        let expected = concat!(
            r#"{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank","crc":"c47734fd"}"#,
            "\n"
        );
        assert_eq!(String::from_utf8(blank).unwrap(), expected);
    }

    #[test]
    fn strings_are_escaped_and_non_ascii_kept_as_utf8() {
        let line = record(2, 7, "Odd \"type\"", &serde_json::json!({"text": "é\nx"}));
        let text = String::from_utf8(line).unwrap();
        assert!(
            text.starts_with(r#"{"seq":2,"ts":7,"type":"Odd \"type\"","data":{"text":"é\nx"}"#)
        );
        assert_eq!(text.matches('\n').count(), 1, "only the final line feed: {text:?}");
        let bare = String::from_utf8(record_without_data(3, 8, "Tick")).unwrap();
        assert!(bare.starts_with(r#"{"seq":3,"ts":8,"type":"Tick","crc":""#), "{bare}");
    }
}
