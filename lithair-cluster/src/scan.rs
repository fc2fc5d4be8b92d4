//! Reading a v2 `events.raftlog` at start-up (docs/raftlog.md, "Reading and validating a v2
//! log").
//!
//! Every record is checked (checksum, fields, consecutive `seq`, log ids that never go back)
//! and indexed by its byte offset, which is what a later truncation cuts at. The first bad
//! record is classified as lithair-core's recovery does for version 1, and reported in the same
//! words (`lithair_core::OpenError::Corrupt`): a torn tail, which a crash in the middle of an
//! append leaves, may be cut; anything else stops start-up and leaves the file as it is.

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, BufRead, BufReader},
    path::Path,
};

use lithair_core::Damage;
use openraft::{Entry, EntryPayload, LogId};

use crate::{
    NodeId, TypeConfig,
    record::{self, Version},
    storage::OpenError,
};

/// What a scan found in a usable log.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// `seq` of the first record (meaningless when there is none).
    pub first: u64,
    /// Byte offset of every record, then the end of the valid prefix.
    pub offsets: Vec<u64>,
    /// The last `cache` records, decoded.
    pub tail: VecDeque<Entry<TypeConfig>>,
    pub last_log_id: Option<LogId<NodeId>>,
    /// A torn tail found after the valid prefix, not yet cut: `(offset, bytes)`.
    pub torn_tail: Option<(u64, u64, Damage)>,
    /// The greatest `ts` of the valid prefix's events (0: none).
    pub max_ts: u64,
}

/// Scan the log at `path`, keeping the last `cache` entries decoded.
pub(crate) fn scan(path: &Path, cache: usize) -> Result<Scan, OpenError> {
    let io_error = |source| OpenError::Io { path: path.to_owned(), source };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Scan { offsets: vec![0], ..Scan::default() });
        }
        Err(err) => return Err(io_error(err)),
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut scan = Scan { offsets: vec![0], ..Scan::default() };
    let mut line = Vec::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(io_error)?;
        if read == 0 {
            return Ok(scan);
        }
        let decoded = match line.strip_suffix(b"\n") {
            None => Err(Damage::Incomplete),
            Some(complete) => record::decode(complete),
        };
        let entry = match decoded {
            Ok(entry) => entry,
            Err(damage) => return finish_at(path, scan, offset, damage, &line, reader),
        };
        if let Err(damage) = check_order(&scan, &entry) {
            return Err(corrupt(path, &scan, offset, damage, 0));
        }
        if scan.last_log_id.is_none() {
            scan.first = entry.log_id.index;
        }
        scan.last_log_id = Some(entry.log_id);
        if let EntryPayload::Normal(events) = &entry.payload {
            scan.max_ts = scan.max_ts.max(events.max_ts());
        }
        offset += read as u64;
        scan.offsets.push(offset);
        scan.tail.push_back(entry);
        if scan.tail.len() > cache {
            scan.tail.pop_front();
        }
    }
}

/// Conditions 4 and 5: consecutive `seq`, and a leader id that never goes back.
fn check_order(scan: &Scan, entry: &Entry<TypeConfig>) -> Result<(), Damage> {
    let Some(last) = scan.last_log_id else { return Ok(()) };
    let expected = last.index + 1;
    if entry.log_id.index != expected {
        return Err(Damage::SequenceGap { expected, found: entry.log_id.index });
    }
    if entry.log_id.leader_id < last.leader_id {
        return Err(Damage::Malformed(format!(
            "log id goes back: term {} node {} after term {} node {}",
            entry.log_id.leader_id.term,
            entry.log_id.leader_id.node_id,
            last.leader_id.term,
            last.leader_id.node_id
        )));
    }
    Ok(())
}

fn corrupt(path: &Path, scan: &Scan, offset: u64, damage: Damage, after: u64) -> OpenError {
    OpenError::Log(lithair_core::OpenError::Corrupt {
        path: path.to_owned(),
        offset,
        last_good_seq: scan.last_log_id.map_or(0, |id| id.index),
        damage,
        valid_records_after: after,
    })
}

/// The scan stopped at a bad record: a version-1 log, a torn tail, or corruption.
fn finish_at(
    path: &Path,
    mut scan: Scan,
    offset: u64,
    damage: Damage,
    bad_line: &[u8],
    mut rest: BufReader<File>,
) -> Result<Scan, OpenError> {
    let complete = bad_line.strip_suffix(b"\n");
    if scan.last_log_id.is_none()
        && let Some(complete) = complete
        && lithair_core::verify_checksum(complete).is_ok()
        && record::version_of(complete) == Some(Version::V1)
    {
        return Err(OpenError::V1Log { path: path.to_owned(), offset });
    }
    if !damage.can_be_torn_write() {
        return Err(corrupt(path, &scan, offset, damage, 0));
    }
    let io_error = |source| OpenError::Io { path: path.to_owned(), source };
    let mut valid_after = 0;
    let mut bytes = bad_line.len() as u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = rest.read_until(b'\n', &mut line).map_err(io_error)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        if let Some(complete) = line.strip_suffix(b"\n")
            && lithair_core::verify_checksum(complete).is_ok()
        {
            valid_after += 1;
        }
    }
    if valid_after > 0 {
        return Err(corrupt(path, &scan, offset, damage, valid_after));
    }
    scan.torn_tail = Some((offset, bytes, damage));
    Ok(scan)
}
