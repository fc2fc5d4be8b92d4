//! The harness's own check of snapshot files, written from docs/snapshots.md.
//!
//! The harness cannot decode a snapshot's body (it is the server's state, in the server's
//! types), but it can check everything the document promises about the file: a well-formed
//! header, a body of the announced length and CRC, and a position that names a real record of
//! the log — the same record, at the same offset, with the same timestamp and CRC. What the body
//! holds is checked end to end instead: a server restored from the snapshot must serve exactly
//! what a replay of the log gives.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

use crate::raftlog::RaftLog;

/// A snapshot file's header, as docs/snapshots.md describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub seq: u64,
    pub ts: u64,
    pub log_offset: u64,
    pub record_crc: String,
    pub encoding: String,
    pub body_bytes: u64,
    pub body_crc: String,
}

/// Snapshot files in `dir`, oldest first, with the sequence number from their name.
pub fn list(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(digits) = name.strip_prefix("snapshot-").and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        ensure!(digits.len() == 20, "{name}: the sequence number is not written as 20 digits");
        found.push((digits.parse().with_context(|| format!("{name}: bad sequence number"))?, path));
    }
    found.sort();
    Ok(found)
}

/// The newest snapshot the server's log says was written (`snapshot written seq=N`, logged
/// once the file and its directory entry are synced): from then on the disk must hold it.
pub fn newest_written(server_log: &str) -> Option<u64> {
    server_log
        .lines()
        .filter(|line| line.contains("snapshot written"))
        .filter_map(|line| line.split("seq=").nth(1)?.split_whitespace().next()?.parse().ok())
        .max()
}

/// Check one snapshot file against the document and against `log`.
pub fn verify(path: &Path, log: &RaftLog) -> anyhow::Result<Header> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let newline = bytes.iter().position(|&b| b == b'\n').context("no header line")?;
    let header: Header = serde_json::from_slice(&bytes[..newline])
        .context("the header is not the documented JSON")?;
    ensure!(
        header.format == "lithair-snapshot" && header.version == 1,
        "not a version-1 snapshot: {header:?}"
    );
    ensure!(header.encoding == "postcard", "unknown encoding {:?}", header.encoding);

    let body = &bytes[newline + 1..];
    ensure!(
        body.len() as u64 == header.body_bytes,
        "body of {} bytes, header says {}",
        body.len(),
        header.body_bytes
    );
    let crc = format!("{:08x}", crc32fast::hash(body));
    ensure!(crc == header.body_crc, "body CRC {crc}, header says {}", header.body_crc);

    let expected_name = format!("snapshot-{:020}.snap", header.seq);
    ensure!(path.ends_with(&expected_name), "{} holds seq {}", path.display(), header.seq);

    let Some(record) = log.records().iter().find(|r| r.seq == header.seq) else {
        bail!("the log has no record {} for this snapshot", header.seq)
    };
    ensure!(
        record.offset + record.len == header.log_offset,
        "record {} ends at byte {}, the snapshot says {}",
        header.seq,
        record.offset + record.len,
        header.log_offset
    );
    ensure!(
        record.ts == header.ts,
        "record {} has ts {}, the snapshot says {}",
        header.seq,
        record.ts,
        header.ts
    );
    ensure!(
        format!("{:08x}", record.crc) == header.record_crc,
        "record {} has CRC {:08x}, the snapshot says {}",
        header.seq,
        record.crc,
        header.record_crc
    );
    Ok(header)
}

/// The snapshot files of a data directory just rewritten to what the disk durably held (a
/// power cut), each judged.
#[derive(Debug, Default)]
pub struct AfterPowerCut {
    /// Sequence numbers of the snapshots the disk held whole and that agree with its log,
    /// oldest first.
    pub sound: Vec<u64>,
    /// One line per snapshot file that is not.
    pub problems: Vec<String>,
}

/// Judge every snapshot file in `dir` after a power cut: the disk must have held all of its
/// bytes (`unsynced(name)` says how many bytes the process wrote that the disk did not hold,
/// `None` if the disk's journal never saw the file written), and it must agree with `log`,
/// the log the disk held. A server that renames a snapshot into place before syncing it, or
/// syncs it before the log it stands on, leaves one that fails here.
pub fn after_power_cut(
    dir: &Path,
    log: &RaftLog,
    unsynced: impl Fn(&str) -> Option<u64>,
) -> anyhow::Result<AfterPowerCut> {
    let mut judged = AfterPowerCut::default();
    for (seq, path) in list(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let problem = match unsynced(name) {
            None => format!("{name} is on the disk, but the disk's journal never saw it written"),
            Some(bytes @ 1..) => {
                format!("{name} is on the disk by name, but {bytes} of its bytes were never synced")
            }
            Some(0) => match verify(&path, log) {
                Ok(_) => {
                    judged.sound.push(seq);
                    continue;
                }
                Err(err) => format!("{name} does not agree with the log the disk held: {err:#}"),
            },
        };
        judged.problems.push(problem);
    }
    Ok(judged)
}
