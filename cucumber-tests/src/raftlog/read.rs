//! Reading and validating records: split the file into lines, check conditions 1 to 5 of
//! docs/raftlog.md in order, keep the valid prefix, and classify the first invalid record as a
//! torn tail or as corruption exactly as the document does. The reader only reports; it never
//! repairs the file.
//!
//! Both versions of the format are read. The first record that verifies decides the file's
//! version (a `term` member: version 2, a cluster's Raft log) and every later record must be of
//! the same version. Version 2 changes conditions 3 to 5: `term` and `node` are required, the
//! reserved `raft.*` types have their own rules for `data`, the first `seq` may be anything,
//! the leader's `(term, node)` may not go back, and `ts` is a label that is not checked.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::encode::{TRAILER_CLOSING, TRAILER_LEN, TRAILER_OPENING};

/// A whole `events.raftlog`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RaftLog {
    records: Vec<Record>,
    /// The record that ends the valid prefix, if the file does not end cleanly.
    first_invalid: Option<InvalidRecord>,
    file_len: u64,
    /// Sequence number of the last record before the parsed part (0: the parse began at byte 0).
    seq_before: u64,
    /// Decided by the first record that verifies; `None` while no record has.
    version: Option<Version>,
}

/// The format version of a log (docs/raftlog.md: version 1, and "Version 2").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Version {
    /// A single server's log: `seq` from 1, `ts` strictly increasing.
    V1,
    /// A cluster's Raft log: every record carries the `term` and `node` of its leader.
    V2,
}

/// The leader that proposed a version-2 entry (openraft's `CommittedLeaderId`). Ordered as the
/// document compares them: `term` first, then `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Leader {
    pub term: u64,
    pub node: u64,
}

impl fmt::Display for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "term {} node {}", self.term, self.node)
    }
}

/// The reserved type of a version-2 entry Raft appends to commit a new leader's term.
pub const RAFT_BLANK: &str = "raft.Blank";
/// The reserved type of a version-2 entry holding a cluster membership.
pub const RAFT_MEMBERSHIP: &str = "raft.Membership";
/// The reserved type of a version-2 entry carrying several events (see `batch.rs`).
pub const RAFT_BATCH: &str = "raft.Batch";
/// The prefix every reserved type starts with; no application event may use it.
pub const RAFT_PREFIX: &str = "raft.";

/// One valid record of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Byte offset of the record's first byte in the file.
    pub offset: u64,
    /// Length of the record in bytes, including its line feed.
    pub len: u64,
    /// In version 2, the entry's Raft log index.
    pub seq: u64,
    /// Who proposed the entry: in version 2 only (`None` in a version-1 log). With `seq`, the
    /// entry's Raft log id.
    pub leader: Option<Leader>,
    /// Commit time, in microseconds since the Unix epoch. In version 2 the leader's clock, not
    /// an order, and 0 for Raft's own entries.
    pub ts: u64,
    pub event_type: String,
    /// The payload; `Null` when the record has none.
    pub data: Value,
    pub crc: u32,
}

impl Record {
    /// Whether this is one of Raft's own entries (`raft.Blank`, `raft.Membership`) rather than
    /// application events (one, or a `raft.Batch` of them). Only version 2 reserves the names.
    pub fn is_raft(&self) -> bool {
        self.leader.is_some()
            && self.event_type.starts_with(RAFT_PREFIX)
            && self.event_type != RAFT_BATCH
    }
}

/// How the file ends, as the document classifies its first invalid record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Health {
    /// Every byte of the file belongs to a valid record.
    Clean,
    /// What a crash during an append leaves: Lithair would cut `bytes` bytes from `offset` on.
    TornTail { offset: u64, bytes: u64 },
    /// Damage an append-only writer cannot produce: Lithair would refuse to start.
    /// `last_good_seq` is 0 when no record before `offset` is valid.
    Corrupt { offset: u64, last_good_seq: u64, reason: String },
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Clean => write!(f, "clean"),
            Health::TornTail { offset, bytes } => {
                write!(f, "torn tail of {bytes} bytes at byte offset {offset}")
            }
            Health::Corrupt { offset, last_good_seq, reason } => {
                write!(
                    f,
                    "corrupt at byte offset {offset} (last good seq {last_good_seq}): {reason}"
                )
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct InvalidRecord {
    offset: u64,
    torn: bool,
    reason: String,
}

/// Why a record is not valid, split the way the torn-tail rule needs it.
enum Invalid {
    /// Breaks condition 1 or 2 (no line feed, or a checksum that does not verify): a torn tail
    /// unless a verifying line follows.
    Unverified(String),
    /// Verifies but breaks condition 3, 4 or 5: always corruption.
    Malformed(String),
}

impl RaftLog {
    /// Reads and parses the file at `path`. Only I/O fails; problems in the content are recorded
    /// and reported by [`RaftLog::health`].
    pub fn read(path: &Path) -> std::io::Result<RaftLog> {
        Ok(RaftLog::parse(&std::fs::read(path)?))
    }

    pub fn parse(bytes: &[u8]) -> RaftLog {
        RaftLog::parse_from(bytes, 0, None)
    }

    /// Parses `bytes` from byte `start` on, where the valid record `previous` ends: the rest of
    /// a file whose first `start` bytes were found valid before. The rest is judged exactly as
    /// a parse of the whole file would judge it (order against `previous`, the torn-tail rule
    /// over the whole file); [`RaftLog::records`] holds only the records from `start` on.
    pub fn parse_from(bytes: &[u8], start: usize, previous: Option<Record>) -> RaftLog {
        let seq_before = previous.as_ref().map_or(0, |record| record.seq);
        let mut version = previous.as_ref().map(Record::version);
        let mut records: Vec<Record> = Vec::new();
        let mut offset = start;
        let mut first_invalid = None;
        while offset < bytes.len() {
            match read_record(bytes, offset, records.last().or(previous.as_ref()), &mut version) {
                Ok(record) => {
                    offset += record.len as usize;
                    records.push(record);
                }
                Err(invalid) => {
                    first_invalid = Some(classify(bytes, offset, invalid));
                    break;
                }
            }
        }
        RaftLog { records, first_invalid, file_len: bytes.len() as u64, seq_before, version }
    }

    /// The file's version, as its first verifying record says; `None` for a file without one
    /// (an empty file, or one whose only line is torn).
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// The valid prefix, in file order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    pub fn health(&self) -> Health {
        match &self.first_invalid {
            None => Health::Clean,
            Some(InvalidRecord { offset, torn: true, .. }) => {
                Health::TornTail { offset: *offset, bytes: self.file_len - offset }
            }
            Some(InvalidRecord { offset, torn: false, reason }) => Health::Corrupt {
                offset: *offset,
                last_good_seq: self.last_good_seq(),
                reason: reason.clone(),
            },
        }
    }

    /// `Ok` only for a clean log; otherwise a message fit for a failing scenario.
    pub fn verify(&self) -> Result<(), String> {
        let Some(invalid) = &self.first_invalid else {
            return Ok(());
        };
        let kind = if invalid.torn { "torn tail" } else { "corruption" };
        Err(format!(
            "{kind} at byte offset {} of {} (last good seq {}): {}",
            invalid.offset,
            self.file_len,
            self.last_good_seq(),
            invalid.reason
        ))
    }

    /// How many events of `event_type` the valid prefix holds (those of a `raft.Batch` too).
    pub fn count(&self, event_type: &str) -> usize {
        self.events().iter().filter(|record| record.event_type == event_type).count()
    }

    /// How many of the valid records are Raft's own entries (version 2's `raft.*`).
    pub fn raft_entries(&self) -> usize {
        self.records.iter().filter(|record| record.is_raft()).count()
    }

    /// Events per type, those of a `raft.Batch` too; Raft's own entries under their types.
    pub fn counts_by_type(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.events() {
            *counts.entry(record.event_type.clone()).or_insert(0) += 1;
        }
        counts
    }

    fn last_good_seq(&self) -> u64 {
        self.records.last().map_or(self.seq_before, |record| record.seq)
    }
}

impl Record {
    fn version(&self) -> Version {
        if self.leader.is_some() { Version::V2 } else { Version::V1 }
    }
}

/// Reads the record starting at `offset`, checking conditions 1 to 5 of the document in order.
/// `version` is the file's, decided here by the first record that verifies.
fn read_record(
    bytes: &[u8],
    offset: usize,
    previous: Option<&Record>,
    version: &mut Option<Version>,
) -> Result<Record, Invalid> {
    let rest = &bytes[offset..];
    let Some(line_len) = rest.iter().position(|&byte| byte == b'\n') else {
        return Err(Invalid::Unverified(format!(
            "incomplete record: {} bytes without a line feed at the end of the file",
            rest.len()
        )));
    };
    let line = &rest[..line_len];
    let crc = verify_checksum(line).map_err(Invalid::Unverified)?;
    let fields = parse_fields(line, version).map_err(Invalid::Malformed)?;
    check_order(&fields, previous).map_err(Invalid::Malformed)?;
    Ok(Record {
        offset: offset as u64,
        len: line_len as u64 + 1,
        seq: fields.seq,
        leader: fields.leader,
        ts: fields.ts,
        event_type: fields.event_type,
        data: fields.data,
        crc,
    })
}

/// Checks a line (without its line feed) against its trailer; returns the stored CRC.
fn verify_checksum(line: &[u8]) -> Result<u32, String> {
    if line.len() <= TRAILER_LEN {
        return Err(format!("a {}-byte line is too short to hold a checksum trailer", line.len()));
    }
    let (covered, trailer) = line.split_at(line.len() - TRAILER_LEN);
    let stored = parse_trailer(trailer).ok_or_else(|| {
        format!(
            "the line does not end with ,\"crc\":\"hhhhhhhh\"}}: {}",
            String::from_utf8_lossy(trailer)
        )
    })?;
    let computed = crc32fast::hash(covered);
    if stored != computed {
        return Err(format!("checksum mismatch: stored {stored:08x}, computed {computed:08x}"));
    }
    Ok(stored)
}

/// The CRC in a `,"crc":"hhhhhhhh"}` trailer, if the trailer has exactly that shape.
fn parse_trailer(trailer: &[u8]) -> Option<u32> {
    let digits = trailer.strip_prefix(TRAILER_OPENING)?.strip_suffix(TRAILER_CLOSING)?;
    digits.iter().try_fold(0u32, |crc, &digit| {
        // Only lowercase digits: the document fixes the spelling, and the checksum alone cannot
        // tell "ABCD" from "abcd" since the trailer is not covered.
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(crc << 4 | u32::from(value))
    })
}

/// The fields condition 3 requires, taken from a verified line.
struct Fields {
    seq: u64,
    leader: Option<Leader>,
    ts: u64,
    event_type: String,
    data: Value,
}

fn parse_fields(line: &[u8], version: &mut Option<Version>) -> Result<Fields, String> {
    let value: Value =
        serde_json::from_slice(line).map_err(|error| format!("not valid JSON: {error}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_string());
    };
    let this = if object.contains_key("term") { Version::V2 } else { Version::V1 };
    match *version.get_or_insert(this) {
        Version::V1 if this == Version::V2 => {
            return Err("a version-2 record (it has a \"term\") in a version-1 log".to_string());
        }
        Version::V2 if this == Version::V1 => {
            return Err("a version-1 record (it has no \"term\") in a version-2 log".to_string());
        }
        _ => {}
    }
    let seq = non_negative_integer(&object, "seq")?;
    let leader = match this {
        Version::V1 => None,
        Version::V2 => Some(Leader {
            term: non_negative_integer(&object, "term")?,
            node: non_negative_integer(&object, "node")?,
        }),
    };
    let ts = non_negative_integer(&object, "ts")?;
    let event_type = match object.remove("type") {
        Some(Value::String(event_type)) => event_type,
        other => return Err(describe_wrong_type("type", "a string", other.as_ref())),
    };
    if !matches!(object.get("crc"), Some(Value::String(_))) {
        return Err(describe_wrong_type("crc", "a string", object.get("crc")));
    }
    let data = object.remove("data");
    if this == Version::V2 {
        check_reserved(&event_type, data.as_ref())?;
        if event_type == RAFT_BATCH {
            super::batch::check(ts, data.as_ref())?;
        }
    }
    Ok(Fields { seq, leader, ts, event_type, data: data.unwrap_or(Value::Null) })
}

/// Condition 3's rules for version 2's reserved types: `raft.Blank` has no `data`,
/// `raft.Membership` has openraft's `Membership`.
fn check_reserved(event_type: &str, data: Option<&Value>) -> Result<(), String> {
    match (event_type, data) {
        (RAFT_BLANK, None) => Ok(()),
        (RAFT_BLANK, Some(data)) => Err(format!("a raft.Blank with data {data}")),
        (RAFT_MEMBERSHIP, None) => Err("a raft.Membership without data".to_string()),
        (RAFT_MEMBERSHIP, Some(data)) => {
            check_membership(data).map_err(|why| format!("raft.Membership data {why}: {data}"))
        }
        _ => Ok(()),
    }
}

/// `{"configs":[[<id>,…],…],"nodes":{"<id>":{"peer":"<host:port>","api":"<host:port>"},…}}`,
/// one or two configs (two during a joint change).
fn check_membership(data: &Value) -> Result<(), &'static str> {
    let configs =
        data.get("configs").and_then(Value::as_array).ok_or("has no \"configs\" array")?;
    if !(1..=2).contains(&configs.len()) {
        return Err("must hold one or two configs");
    }
    for config in configs {
        let ids = config.as_array().ok_or("has a config that is not an array")?;
        if !ids.iter().all(|id| id.as_u64().is_some()) {
            return Err("has a config whose ids are not all non-negative integers");
        }
    }
    let nodes = data.get("nodes").and_then(Value::as_object).ok_or("has no \"nodes\" object")?;
    for (id, node) in nodes {
        if id.parse::<u64>().is_err() {
            return Err("has a node key that is not a node id");
        }
        let address = |name| node.get(name).and_then(Value::as_str);
        if address("peer").is_none() || address("api").is_none() {
            return Err("has a node without \"peer\" and \"api\" strings");
        }
    }
    Ok(())
}

fn non_negative_integer(object: &Map<String, Value>, name: &str) -> Result<u64, String> {
    let value = object.get(name);
    value
        .and_then(Value::as_u64)
        .ok_or_else(|| describe_wrong_type(name, "a non-negative integer", value))
}

fn describe_wrong_type(name: &str, expected: &str, found: Option<&Value>) -> String {
    match found {
        None => format!("no \"{name}\" field"),
        Some(value) => format!("\"{name}\" is {value}, not {expected}"),
    }
}

/// Conditions 4 and 5. Version 1: `seq` counts from 1 without gaps, `ts` strictly increases.
/// Version 2: `seq` counts from anywhere without gaps, the leader never goes back.
fn check_order(fields: &Fields, previous: Option<&Record>) -> Result<(), String> {
    if let Some(leader) = fields.leader {
        let Some(previous) = previous else {
            return Ok(());
        };
        let expected_seq = previous.seq.checked_add(1);
        if Some(fields.seq) != expected_seq {
            let expected = u128::from(previous.seq) + 1;
            return Err(format!("seq {} where seq {expected} was expected", fields.seq));
        }
        // The previous record is of version 2 too: parse_fields saw to it.
        let before = previous.leader.unwrap_or(leader);
        if leader < before {
            return Err(format!(
                "{leader} goes back from the previous record's {before}: log ids never do"
            ));
        }
        return Ok(());
    }
    let expected_seq = previous.map_or(1, |record| record.seq + 1);
    if fields.seq != expected_seq {
        return Err(format!("seq {} where seq {expected_seq} was expected", fields.seq));
    }
    if let Some(previous) = previous
        && fields.ts <= previous.ts
    {
        return Err(format!(
            "ts {} is not after the previous record's ts {}",
            fields.ts, previous.ts
        ));
    }
    Ok(())
}

/// Applies the torn-tail rule to the first invalid record, at `offset`.
fn classify(bytes: &[u8], offset: usize, invalid: Invalid) -> InvalidRecord {
    let offset_u64 = offset as u64;
    match invalid {
        Invalid::Malformed(reason) => InvalidRecord { offset: offset_u64, torn: false, reason },
        Invalid::Unverified(reason) => match verifying_line_after(bytes, offset) {
            None => InvalidRecord { offset: offset_u64, torn: true, reason },
            Some(later) => InvalidRecord {
                offset: offset_u64,
                torn: false,
                reason: format!(
                    "{reason}, yet the complete line at byte {later} verifies, so the file was \
                     damaged after it was written"
                ),
            },
        },
    }
}

/// The offset of the first complete line with a verifying checksum after the line at `offset`.
fn verifying_line_after(bytes: &[u8], offset: usize) -> Option<u64> {
    let bad_line_len = bytes[offset..].iter().position(|&byte| byte == b'\n')?;
    let mut start = offset + bad_line_len + 1;
    // `split_inclusive` keeps the line feed, which tells complete lines from a final fragment.
    for line in bytes[start..].split_inclusive(|&byte| byte == b'\n') {
        if let Some(complete) = line.strip_suffix(b"\n")
            && verify_checksum(complete).is_ok()
        {
            return Some(start as u64);
        }
        start += line.len();
    }
    None
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "read_v2_tests.rs"]
mod v2_tests;
