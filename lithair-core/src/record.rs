//! One line of `events.raftlog`: how a record is encoded and checked (`docs/raftlog.md`).
//!
//! ```text
//! {"seq":7,"ts":1795780800000000,"type":"ArticleDeleted","data":{"id":3},"crc":"0a1b2c3d"}
//! ```
//!
//! The CRC covers every byte before `,"crc":`, so checking a record needs no JSON parsing, and
//! the envelope is always written in the same canonical form so that `seq` and `ts` can be read
//! without parsing either.

use serde::de::DeserializeOwned;

use crate::{Damage, Event};

/// `,"crc":"hhhhhhhh"}` — the fixed-size end of every record, before its line feed.
const CRC_TRAILER_LEN: usize = 18;
const CRC_TRAILER_HEAD: &[u8] = b",\"crc\":\"";
const SEQ_PREFIX: &[u8] = b"{\"seq\":";
const TS_PREFIX: &[u8] = b",\"ts\":";
const EVENT_TAG_PREFIX: &[u8] = b"{\"type\":\"";

/// Why an event could not be turned into a record.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("event could not be serialised: {0}")]
    Serde(#[from] serde_json::Error),
    #[error(
        "event {0:?} must serialise as {{\"type\":\"{0}\",\"data\":...}}: \
         put #[serde(tag = \"type\", content = \"data\")] on the event enum"
    )]
    NotTagged(&'static str),
}

/// `seq` and `ts` of a record, read from its canonical prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub seq: u64,
    pub ts: u64,
}

/// Append the record for `event` (with its line feed) to `out`, and return its CRC. On error
/// `out` is unchanged.
pub(crate) fn encode<E: Event>(
    seq: u64,
    ts: u64,
    event: &E,
    out: &mut Vec<u8>,
) -> Result<u32, EncodeError> {
    let start = out.len();
    let result = encode_at(start, seq, ts, event, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_at<E: Event>(
    start: usize,
    seq: u64,
    ts: u64,
    event: &E,
    out: &mut Vec<u8>,
) -> Result<u32, EncodeError> {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(SEQ_PREFIX);
    out.extend_from_slice(digits.format(seq).as_bytes());
    out.extend_from_slice(TS_PREFIX);
    out.extend_from_slice(digits.format(ts).as_bytes());

    let event_start = out.len();
    serde_json::to_writer(&mut *out, event)?;
    if !is_tagged_as(&out[event_start..], event.event_type()) {
        return Err(EncodeError::NotTagged(event.event_type()));
    }
    // `{"type":...}`: the event's opening brace becomes the comma joining it to the envelope,
    // and its closing brace gives way to the checksum field.
    out[event_start] = b',';
    out.pop();

    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(CRC_TRAILER_HEAD);
    push_hex(out, crc);
    out.extend_from_slice(b"\"}\n");
    Ok(crc)
}

fn is_tagged_as(encoded: &[u8], event_type: &str) -> bool {
    let Some(rest) = encoded.strip_prefix(EVENT_TAG_PREFIX) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(event_type.as_bytes()) else {
        return false;
    };
    matches!(rest, [b'"', b',' | b'}', ..]) && encoded.ends_with(b"}")
}

fn push_hex(out: &mut Vec<u8>, value: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..8).rev() {
        out.push(HEX[((value >> (shift * 4)) & 0xf) as usize]);
    }
}

/// Check a complete line (without its line feed) against its CRC, and return the CRC.
///
/// Public because version 2 of the log (`lithair-cluster`) keeps the same checksum rule.
pub fn verify_checksum(line: &[u8]) -> Result<u32, Damage> {
    let Some(body_len) = line.len().checked_sub(CRC_TRAILER_LEN).filter(|&len| len > 0) else {
        return Err(Damage::NoChecksum);
    };
    let (body, trailer) = line.split_at(body_len);
    let stored = parse_trailer(trailer).ok_or(Damage::NoChecksum)?;
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(Damage::ChecksumMismatch { stored, computed });
    }
    Ok(stored)
}

fn parse_trailer(trailer: &[u8]) -> Option<u32> {
    let hex = trailer.strip_prefix(CRC_TRAILER_HEAD)?.strip_suffix(b"\"}")?;
    hex.iter().try_fold(0u32, |acc, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u32::from(nibble))
    })
}

/// Read `seq` and `ts` from a line whose checksum verified.
pub(crate) fn parse_header(line: &[u8]) -> Result<Header, Damage> {
    let malformed =
        || Damage::Malformed("the record does not start with {\"seq\":N,\"ts\":N,".into());
    let rest = line.strip_prefix(SEQ_PREFIX).ok_or_else(malformed)?;
    let (seq, rest) = parse_u64(rest).ok_or_else(malformed)?;
    let rest = rest.strip_prefix(TS_PREFIX).ok_or_else(malformed)?;
    let (ts, rest) = parse_u64(rest).ok_or_else(malformed)?;
    if !rest.starts_with(b",\"type\":\"") {
        return Err(malformed());
    }
    Ok(Header { seq, ts })
}

fn parse_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || (len > 1 && bytes[0] == b'0') {
        return None;
    }
    let value = bytes[..len]
        .iter()
        .try_fold(0u64, |acc, &digit| acc.checked_mul(10)?.checked_add(u64::from(digit - b'0')))?;
    Some((value, &bytes[len..]))
}

/// Decode the event of a record. Unknown envelope fields (`seq`, `ts`, `crc`) are ignored by
/// the event's adjacently tagged representation.
pub(crate) fn decode_event<E: DeserializeOwned>(line: &[u8]) -> Result<E, serde_json::Error> {
    serde_json::from_slice(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum Note {
        Written { text: String },
        Cleared,
    }

    impl Event for Note {
        type State = Vec<String>;
        fn event_type(&self) -> &'static str {
            match self {
                Note::Written { .. } => "Written",
                Note::Cleared => "Cleared",
            }
        }
        fn apply(&self, state: &mut Vec<String>) {
            match self {
                Note::Written { text } => state.push(text.clone()),
                Note::Cleared => state.clear(),
            }
        }
    }

    fn encoded(seq: u64, ts: u64, note: &Note) -> Vec<u8> {
        let mut out = Vec::new();
        encode(seq, ts, note, &mut out).unwrap();
        out
    }

    #[test]
    fn encodes_the_documented_form() {
        let line =
            encoded(3, 1_795_780_800_000_000, &Note::Written { text: "hi \"you\"\n".into() });
        let text = String::from_utf8(line).unwrap();
        let body =
            r#"{"seq":3,"ts":1795780800000000,"type":"Written","data":{"text":"hi \"you\"\n"}"#;
        assert_eq!(
            text,
            format!("{body},\"crc\":\"{:08x}\"}}\n", crc32fast::hash(body.as_bytes()))
        );
        assert_eq!(text.matches('\n').count(), 1, "a record is exactly one line");
    }

    #[test]
    fn an_event_without_payload_has_no_data_field() {
        let line = encoded(1, 10, &Note::Cleared);
        assert!(line.starts_with(b"{\"seq\":1,\"ts\":10,\"type\":\"Cleared\",\"crc\":\""));
    }

    #[test]
    fn round_trips() {
        for note in [Note::Written { text: "é ✓ \u{0}".into() }, Note::Cleared] {
            let line = encoded(u64::MAX, 42, &note);
            let line = line.strip_suffix(b"\n").unwrap();
            verify_checksum(line).unwrap();
            assert_eq!(parse_header(line).unwrap(), Header { seq: u64::MAX, ts: 42 });
            assert_eq!(decode_event::<Note>(line).unwrap(), note);
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let line = encoded(9, 99, &Note::Written { text: "abc".into() });
        let line = line.strip_suffix(b"\n").unwrap();
        for i in 0..line.len() {
            for bit in 0..8 {
                let mut damaged = line.to_vec();
                damaged[i] ^= 1 << bit;
                assert!(verify_checksum(&damaged).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn a_truncated_record_has_no_checksum() {
        let line = encoded(1, 1, &Note::Cleared);
        for cut in 0..line.len() - 1 {
            assert!(verify_checksum(&line[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn refuses_an_event_that_is_not_adjacently_tagged() {
        #[derive(Serialize, Deserialize)]
        struct Untagged {
            text: String,
        }
        impl Event for Untagged {
            type State = ();
            fn event_type(&self) -> &'static str {
                "Untagged"
            }
            fn apply(&self, _: &mut ()) {}
        }
        let mut out = b"previous".to_vec();
        let err = encode(1, 1, &Untagged { text: "x".into() }, &mut out).unwrap_err();
        assert!(matches!(err, EncodeError::NotTagged("Untagged")));
        assert_eq!(out, b"previous", "a failed encode leaves the buffer as it was");
    }

    #[test]
    fn header_requires_canonical_numbers() {
        assert!(parse_header(br#"{"seq":01,"ts":1,"type":"X"}"#).is_err());
        assert!(parse_header(br#"{"seq":1,"ts":99999999999999999999,"type":"X"}"#).is_err());
        assert!(parse_header(br#"{"ts":1,"seq":1,"type":"X"}"#).is_err());
    }
}
