//! One line of a version-2 `events.raftlog`: a Raft log entry as a record (docs/raftlog.md,
//! "Version 2").
//!
//! ```text
//! {"seq":2,"term":1,"node":2,"ts":1795780800000000,"type":"ArticleDeleted","data":{"id":3},"crc":"0a1b2c3d"}
//! ```
//!
//! Version 1's envelope gains the entry's Raft log id (`term`, `node`; `seq` is the index), and
//! Raft's own entries become records of reserved types, so that the file alone is the whole log.
//! The checksum rule is version 1's, and its check is lithair-core's
//! ([`lithair_core::verify_checksum`]): one rule, one implementation.

use std::borrow::Cow;

use lithair_core::Damage;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Events, Node, NodeId, RaftEvent, TypeConfig};

/// The `type` of the entry a new leader appends to commit its term.
pub const BLANK_TYPE: &str = "raft.Blank";
/// The `type` of a membership entry; its `data` is openraft's `Membership`.
pub const MEMBERSHIP_TYPE: &str = "raft.Membership";
/// The `type` of an entry carrying several events; its `data` is their list (docs/raftlog.md).
pub const BATCH_TYPE: &str = "raft.Batch";
/// Every reserved type starts with this; no application event may.
pub const RESERVED_PREFIX: &str = "raft.";

const SEQ_PREFIX: &[u8] = b"{\"seq\":";
const V2_SECOND_FIELD: &[u8] = b",\"term\":";
const V1_SECOND_FIELD: &[u8] = b",\"ts\":";

/// Which version of the format a record is written in, told by its second field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `{"seq":N,"ts":N,...`: a single server's log.
    V1,
    /// `{"seq":N,"term":N,...`: a cluster's log.
    V2,
}

/// Which version `line` (a record whose checksum verified) is written in, if either.
pub fn version_of(line: &[u8]) -> Option<Version> {
    let rest = line.strip_prefix(SEQ_PREFIX)?;
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_digit()).count()..];
    if rest.starts_with(V2_SECOND_FIELD) {
        Some(Version::V2)
    } else if rest.starts_with(V1_SECOND_FIELD) {
        Some(Version::V1)
    } else {
        None
    }
}

/// Why an entry cannot be written as a record.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("event type {0:?} is reserved for Raft's own entries (it starts with \"raft.\")")]
    ReservedType(String),
    #[error("an application entry without any event")]
    NoEvent,
    #[error("entry could not be serialised: {0}")]
    Serde(#[from] serde_json::Error),
}

/// Append the record of `entry` (with its line feed) to `out`. On error `out` is unchanged.
pub fn encode(entry: &Entry<TypeConfig>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_at(start, entry, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_at(
    start: usize,
    entry: &Entry<TypeConfig>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let LogId { leader_id, index } = entry.log_id;
    let ts = match &entry.payload {
        EntryPayload::Normal(events) => events.max_ts(),
        EntryPayload::Blank | EntryPayload::Membership(_) => 0,
    };
    let mut digits = itoa::Buffer::new();
    for (prefix, value) in [
        (SEQ_PREFIX, index),
        (V2_SECOND_FIELD, leader_id.term),
        (b",\"node\":", leader_id.node_id),
        (b",\"ts\":", ts),
    ] {
        out.extend_from_slice(prefix);
        out.extend_from_slice(digits.format(value).as_bytes());
    }
    out.extend_from_slice(b",\"type\":");
    match &entry.payload {
        EntryPayload::Blank => serde_json::to_writer(&mut *out, BLANK_TYPE)?,
        EntryPayload::Membership(membership) => {
            serde_json::to_writer(&mut *out, MEMBERSHIP_TYPE)?;
            out.extend_from_slice(b",\"data\":");
            serde_json::to_writer(&mut *out, membership)?;
        }
        EntryPayload::Normal(Events(events)) => {
            if let Some(event) = events.iter().find(|e| e.event_type.starts_with(RESERVED_PREFIX)) {
                return Err(EncodeError::ReservedType(event.event_type.clone()));
            }
            match events.as_slice() {
                [] => return Err(EncodeError::NoEvent),
                // One event: the record is that event's, as version 1 writes it.
                [event] => {
                    serde_json::to_writer(&mut *out, &event.event_type)?;
                    out.extend_from_slice(b",\"data\":");
                    push_one_line(out, event.data.get());
                }
                events => {
                    serde_json::to_writer(&mut *out, BATCH_TYPE)?;
                    out.extend_from_slice(b",\"data\":[");
                    for (i, event) in events.iter().enumerate() {
                        out.extend_from_slice(if i == 0 { b"{\"ts\":" } else { b",{\"ts\":" });
                        out.extend_from_slice(digits.format(event.ts).as_bytes());
                        out.extend_from_slice(b",\"type\":");
                        serde_json::to_writer(&mut *out, &event.event_type)?;
                        out.extend_from_slice(b",\"data\":");
                        push_one_line(out, event.data.get());
                        out.push(b'}');
                    }
                    out.push(b']');
                }
            }
        }
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(format!(",\"crc\":\"{crc:08x}\"}}\n").as_bytes());
    Ok(())
}

/// Append the JSON text `json` without its line breaks: a payload received as `RawValue` keeps
/// the sender's white space, and a record must stay one line. JSON strings cannot hold a raw
/// line break, so every one is white space between tokens and can go; other white space stays,
/// so that the usual compact payload is copied byte for byte.
fn push_one_line(out: &mut Vec<u8>, json: &str) {
    if !json.contains(['\n', '\r']) {
        out.extend_from_slice(json.as_bytes());
    } else {
        out.extend(json.bytes().filter(|&b| b != b'\n' && b != b'\r'));
    }
}

/// The JSON members of a v2 record (`crc` is checked on the bytes, not read here).
#[derive(Deserialize)]
struct Fields<'a> {
    seq: u64,
    term: u64,
    node: u64,
    ts: u64,
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    data: Option<Box<RawValue>>,
}

/// Check and decode a complete record (without its line feed): checksum, version, fields.
pub fn decode(line: &[u8]) -> Result<Entry<TypeConfig>, Damage> {
    lithair_core::verify_checksum(line)?;
    match version_of(line) {
        Some(Version::V2) => {}
        Some(Version::V1) => {
            return Err(Damage::Malformed("a version-1 record in a version-2 log".into()));
        }
        None => {
            return Err(Damage::Malformed(
                "the record does not start with {\"seq\":N,\"term\":N,".into(),
            ));
        }
    }
    let fields: Fields =
        serde_json::from_slice(line).map_err(|err| Damage::Malformed(err.to_string()))?;
    let log_id = LogId::new(CommittedLeaderId::new(fields.term, fields.node), fields.seq);
    let payload = match (&*fields.event_type, fields.data) {
        (BLANK_TYPE, None) => EntryPayload::Blank,
        (BLANK_TYPE, Some(_)) => {
            return Err(Damage::Malformed("a raft.Blank record has data".into()));
        }
        (MEMBERSHIP_TYPE, Some(data)) => {
            let membership: Membership<NodeId, Node> = serde_json::from_str(data.get())
                .map_err(|err| Damage::Malformed(format!("raft.Membership data: {err}")))?;
            EntryPayload::Membership(membership)
        }
        (MEMBERSHIP_TYPE, None) => {
            return Err(Damage::Malformed("a raft.Membership record has no data".into()));
        }
        (BATCH_TYPE, Some(data)) => EntryPayload::Normal(decode_batch(fields.ts, &data)?),
        (other, _) if other.starts_with(RESERVED_PREFIX) => {
            return Err(Damage::Malformed(format!("unknown reserved type {other:?}")));
        }
        (other, Some(data)) => EntryPayload::Normal(Events::from(RaftEvent {
            ts: fields.ts,
            event_type: other.to_owned(),
            data,
        })),
        (other, None) => {
            return Err(Damage::Malformed(format!("event {other:?} has no data")));
        }
    };
    Ok(Entry { log_id, payload })
}

/// The events of a `raft.Batch` record: two or more, none of a reserved type, their `ts`
/// strictly increasing and the record's `ts` the last of them.
fn decode_batch(ts: u64, data: &RawValue) -> Result<Events, Damage> {
    let events: Vec<RaftEvent> = serde_json::from_str(data.get())
        .map_err(|err| Damage::Malformed(format!("raft.Batch data: {err}")))?;
    if events.len() < 2 {
        return Err(Damage::Malformed("a raft.Batch of fewer than two events".into()));
    }
    if let Some(event) = events.iter().find(|e| e.event_type.starts_with(RESERVED_PREFIX)) {
        return Err(Damage::Malformed(format!(
            "a raft.Batch holds an event of reserved type {:?}",
            event.event_type
        )));
    }
    if events.windows(2).any(|pair| pair[0].ts >= pair[1].ts) {
        return Err(Damage::Malformed("the ts of a raft.Batch's events do not increase".into()));
    }
    if events.last().map(|event| event.ts) != Some(ts) {
        return Err(Damage::Malformed("a raft.Batch's ts is not its last event's".into()));
    }
    Ok(Events(events))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn log_id(term: u64, node: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, node), index)
    }

    fn encoded(entry: &Entry<TypeConfig>) -> String {
        let mut out = Vec::new();
        encode(entry, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn raft_event(ts: u64, event_type: &str, data: &str) -> RaftEvent {
        RaftEvent {
            ts,
            event_type: event_type.into(),
            data: RawValue::from_string(data.into()).unwrap(),
        }
    }

    fn event(ts: u64, event_type: &str, data: &str) -> EntryPayload<TypeConfig> {
        EntryPayload::Normal(raft_event(ts, event_type, data).into())
    }

    fn membership() -> EntryPayload<TypeConfig> {
        let node =
            |n: u8| Node { peer: format!("127.0.1.{n}:7001"), api: format!("127.0.1.{n}:8001") };
        let nodes: BTreeMap<NodeId, Node> = (1..=2).map(|n| (u64::from(n), node(n))).collect();
        EntryPayload::Membership(Membership::new(vec![BTreeSet::from([1, 2])], nodes))
    }

    /// The bytes docs/raftlog.md specifies, checksums included, pinned: a change to the
    /// encoder that changes one byte on disk must fail here, and be a new format version.
    /// (The checksums were computed independently, with Python's `zlib.crc32`.)
    #[test]
    fn golden_records() {
        let golden = [
            (
                Entry { log_id: log_id(0, 0, 0), payload: membership() },
                r#"{"seq":0,"term":0,"node":0,"ts":0,"type":"raft.Membership","data":{"configs":[[1,2]],"nodes":{"1":{"peer":"127.0.1.1:7001","api":"127.0.1.1:8001"},"2":{"peer":"127.0.1.2:7001","api":"127.0.1.2:8001"}}},"crc":"5eeddf0d"}"#,
            ),
            (
                Entry { log_id: log_id(1, 2, 1), payload: EntryPayload::Blank },
                r#"{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank","crc":"c47734fd"}"#,
            ),
            (
                Entry {
                    log_id: log_id(1, 2, 2),
                    payload: event(
                        1_795_780_800_000_000,
                        "ArticleCreated",
                        r#"{"id":0,"title":"Hello \"you\"","content":"é\n✓","author_id":null,"checksum":"304ac0d5"}"#,
                    ),
                },
                r#"{"seq":2,"term":1,"node":2,"ts":1795780800000000,"type":"ArticleCreated","data":{"id":0,"title":"Hello \"you\"","content":"é\n✓","author_id":null,"checksum":"304ac0d5"},"crc":"5160cbd0"}"#,
            ),
            (
                Entry {
                    log_id: log_id(1, 2, 3),
                    payload: EntryPayload::Normal(Events(vec![
                        raft_event(1_795_780_800_000_001, "ArticleDeleted", r#"{"id":0}"#),
                        raft_event(
                            1_795_780_800_000_002,
                            "UserCreated",
                            r#"{"id":0,"name":"Ada"}"#,
                        ),
                    ])),
                },
                r#"{"seq":3,"term":1,"node":2,"ts":1795780800000002,"type":"raft.Batch","data":[{"ts":1795780800000001,"type":"ArticleDeleted","data":{"id":0}},{"ts":1795780800000002,"type":"UserCreated","data":{"id":0,"name":"Ada"}}],"crc":"14bbab16"}"#,
            ),
        ];
        for (entry, line) in golden {
            assert_eq!(encoded(&entry), format!("{line}\n"));
            assert_eq!(decode(line.as_bytes()).unwrap(), entry);
        }
    }

    #[test]
    fn a_pretty_payload_is_written_on_one_line() {
        let entry = Entry {
            log_id: log_id(3, 1, 9),
            payload: event(5, "Written", "{\n  \"text\": \"a\\nb\"\r\n}"),
        };
        let line = encoded(&entry);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let decoded = decode(line.trim_end().as_bytes()).unwrap();
        let EntryPayload::Normal(events) = decoded.payload else { panic!("not an event") };
        assert_eq!(events.0[0].data.get(), "{  \"text\": \"a\\nb\"}");
    }

    #[test]
    fn refuses_to_write_a_reserved_type_as_an_event() {
        let entry = Entry { log_id: log_id(1, 1, 1), payload: event(1, "raft.Blank", "{}") };
        let mut out = b"before".to_vec();
        assert!(matches!(encode(&entry, &mut out), Err(EncodeError::ReservedType(_))));
        assert_eq!(out, b"before");
    }

    #[test]
    fn tells_the_versions_apart() {
        let v2 = encoded(&Entry { log_id: log_id(1, 1, 7), payload: EntryPayload::Blank });
        assert_eq!(version_of(v2.as_bytes()), Some(Version::V2));
        let v1 = br#"{"seq":1,"ts":10,"type":"Cleared","crc":"00000000"}"#;
        assert_eq!(version_of(v1), Some(Version::V1));
        assert_eq!(version_of(br#"{"ts":1,"seq":1}"#), None);
    }

    #[test]
    fn a_v1_record_is_damage_in_a_v2_log() {
        let body = r#"{"seq":1,"ts":10,"type":"Cleared""#;
        let line = format!("{body},\"crc\":\"{:08x}\"}}", crc32fast::hash(body.as_bytes()));
        assert!(
            matches!(decode(line.as_bytes()), Err(Damage::Malformed(reason)) if reason.contains("version-1"))
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let line = encoded(&Entry { log_id: log_id(4, 2, 8), payload: event(9, "X", "{\"a\":1}") });
        let line = line.trim_end().as_bytes();
        for i in 0..line.len() {
            for bit in 0..8 {
                let mut damaged = line.to_vec();
                damaged[i] ^= 1 << bit;
                assert!(decode(&damaged).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn rejects_records_whose_checksum_verifies_but_whose_content_is_wrong() {
        for body in [
            r#"{"seq":1,"term":1,"node":1,"ts":0,"type":"raft.Blank","data":{}"#,
            r#"{"seq":1,"term":1,"node":1,"ts":0,"type":"raft.Membership""#,
            r#"{"seq":1,"term":1,"node":1,"ts":0,"type":"raft.Other""#,
            r#"{"seq":1,"term":1,"node":1,"ts":0,"type":"Written""#,
            r#"{"seq":1,"term":-1,"node":1,"ts":0,"type":"raft.Blank""#,
            // raft.Batch: fewer than two events, a reserved type inside, ts not increasing,
            // the record's ts not the last event's, an event without data.
            r#"{"seq":1,"term":1,"node":1,"ts":5,"type":"raft.Batch","data":[{"ts":5,"type":"X","data":{}}]"#,
            r#"{"seq":1,"term":1,"node":1,"ts":6,"type":"raft.Batch","data":[{"ts":5,"type":"raft.Blank","data":{}},{"ts":6,"type":"X","data":{}}]"#,
            r#"{"seq":1,"term":1,"node":1,"ts":6,"type":"raft.Batch","data":[{"ts":6,"type":"X","data":{}},{"ts":6,"type":"X","data":{}}]"#,
            r#"{"seq":1,"term":1,"node":1,"ts":7,"type":"raft.Batch","data":[{"ts":5,"type":"X","data":{}},{"ts":6,"type":"X","data":{}}]"#,
            r#"{"seq":1,"term":1,"node":1,"ts":6,"type":"raft.Batch","data":[{"ts":5,"type":"X"},{"ts":6,"type":"X","data":{}}]"#,
            r#"{"seq":1,"term":1,"node":1,"ts":6,"type":"raft.Batch","data":{}"#,
        ] {
            let line = format!("{body},\"crc\":\"{:08x}\"}}", crc32fast::hash(body.as_bytes()));
            assert!(matches!(decode(line.as_bytes()), Err(Damage::Malformed(_))), "{body}");
        }
    }
}
