//! Turning a single server's data directory (log version 1) into a cluster node's (version 2),
//! for `lithair-server migrate` (docs/raftlog.md, "A version-1 data directory").
//!
//! The v1 log is first opened as a single server opens it (`lithair_core::StateEngine`), so that
//! every check of version 1 applies, a torn tail is cut as a restart would, and every event is
//! known to decode. Then each v1 record becomes a v2 record as if this node had led term 1
//! after an initial membership of itself alone: index 0 is that membership, v1's `seq` *n* is
//! index *n*, `ts`, `type` and `data` are copied. The new log replaces the old one with one
//! rename (the old one stays beside it, hard-linked, as `events.raftlog.v1`), so that at every
//! moment `events.raftlog` is a whole v1 log or a whole v2 log. The directory is then marked as
//! this node's (`node.json`), so that no other node id starts on it.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::{self, File},
    io::{self, BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use lithair_core::{Durability, EngineConfig, Event, StateEngine};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership, Vote};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    Node, NodeId, RaftEvent, TypeConfig,
    durable::{self, LogPointers},
    record::{self, Version},
};

/// Where the v1 log is kept after a migration.
pub const V1_BACKUP_NAME: &str = "events.raftlog.v1";

/// Why a data directory was not migrated. The directory is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the version-1 log cannot be opened: {0}")]
    Open(#[from] lithair_core::OpenError),
    #[error("{0} holds no version-1 log (it is missing, empty, or already version 2)")]
    NotV1(PathBuf),
    #[error("{0} exists: a previous migration's copy of the old log is in the way")]
    BackupExists(PathBuf),
    #[error("{path}: the record at byte offset {offset} cannot be migrated: {reason}")]
    Record { path: PathBuf, offset: u64, reason: String },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Identity(crate::StartError),
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Events copied (v2 indexes 1 to `events`).
    pub events: u64,
    /// Where the v1 log now is.
    pub backup: PathBuf,
}

/// A v1 record's members.
#[derive(Deserialize)]
struct V1Fields {
    seq: u64,
    ts: u64,
    #[serde(rename = "type")]
    event_type: String,
    data: Option<Box<RawValue>>,
}

/// Migrate the single server's data directory `dir` to a cluster node `node_id`, reachable at
/// `node`, whose events are `E`. The node then forms a one-node cluster that has committed the
/// whole old log; others join it as learners.
pub async fn migrate_v1<E: Event>(
    dir: &Path,
    node_id: NodeId,
    node: Node,
) -> Result<Migrated, MigrateError> {
    let log_path = dir.join(lithair_core::LOG_FILE_NAME);
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| MigrateError::Io { path, source }
    };
    match first_version(&log_path).map_err(io_error(&log_path))? {
        Some(Version::V1) => {}
        _ => return Err(MigrateError::NotV1(log_path)),
    }
    let backup = dir.join(V1_BACKUP_NAME);
    if backup.exists() && !same_file(&backup, &log_path).map_err(io_error(&backup))? {
        return Err(MigrateError::BackupExists(backup));
    }
    // Every v1 check, the torn tail cut, every event decoded; the lock held meanwhile.
    let engine = StateEngine::<E>::open(EngineConfig {
        data_dir: dir.to_owned(),
        durability: Durability::Fsync,
        snapshot_every: 0,
        snapshot_keep: 1,
    })?;
    engine.close().await.map_err(|err| MigrateError::Io {
        path: log_path.clone(),
        source: io::Error::other(err),
    })?;
    drop(engine);
    let _lock = lithair_core::DataDir::open(dir)?;
    crate::node::check_identity_unchanged(dir, node_id).map_err(MigrateError::Identity)?;

    let temp = dir.join("events.raftlog.v2.tmp");
    let events = match write_v2(&log_path, &temp, node_id, node) {
        Ok(events) => events,
        Err(err) => {
            // Nothing of the attempt stays behind.
            let _ = fs::remove_file(&temp);
            return Err(err);
        }
    };
    // The rename is the commit point: before it `events.raftlog` is the whole v1 log, after it
    // the whole v2 log. A crash between the link and the rename leaves `events.raftlog.v1` as a
    // second name of the v1 log itself, which the check above lets a new attempt reuse.
    if !backup.exists() {
        fs::hard_link(&log_path, &backup).map_err(io_error(&backup))?;
    }
    fs::rename(&temp, &log_path).map_err(io_error(&log_path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))?;

    // As if this node had won term 1's election and committed everything.
    let leader = CommittedLeaderId::new(1, node_id);
    let pointers = LogPointers { last_purged: None, committed: Some(LogId::new(leader, events)) };
    let vote = Vote::new_committed(1, node_id);
    for (name, bytes) in [
        (durable::VOTE_FILE, serde_json::to_vec(&vote)),
        (durable::STATE_FILE, serde_json::to_vec(&pointers)),
    ] {
        let bytes = bytes.map_err(|err| MigrateError::Io {
            path: dir.join(name),
            source: io::Error::other(err),
        })?;
        durable::replace(dir, name, &bytes).map_err(io_error(&dir.join(name)))?;
    }
    crate::node::check_identity(dir, node_id).map_err(MigrateError::Identity)?;
    Ok(Migrated { events, backup })
}

/// Are `a` and `b` two names of one file (a hard link an interrupted migration left)?
fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (fs::metadata(a)?, fs::metadata(b)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// The version of the log's first record, if it has one.
fn first_version(path: &Path) -> io::Result<Option<Version>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut line = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut line)?;
    Ok(record::version_of(&line))
}

/// Write the v2 log for the v1 log at `v1` to `temp`, synced; return the number of events.
fn write_v2(v1: &Path, temp: &Path, node_id: NodeId, node: Node) -> Result<u64, MigrateError> {
    let read_error = |source| MigrateError::Io { path: v1.to_owned(), source };
    let write_error = |source| MigrateError::Io { path: temp.to_owned(), source };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(v1).map_err(read_error)?);
    let mut out = io::BufWriter::with_capacity(1 << 20, File::create(temp).map_err(write_error)?);

    let membership =
        Membership::new(vec![BTreeSet::from([node_id])], BTreeMap::from([(node_id, node)]));
    let mut bytes = Vec::new();
    let initial = Entry::<TypeConfig> {
        log_id: LogId::new(CommittedLeaderId::new(0, 0), 0),
        payload: EntryPayload::Membership(membership),
    };
    encode(&initial, &mut bytes, v1, 0)?;
    out.write_all(&bytes).map_err(write_error)?;

    let leader = CommittedLeaderId::new(1, node_id);
    let (mut line, mut offset, mut events) = (Vec::new(), 0u64, 0u64);
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(read_error)?;
        if read == 0 {
            break;
        }
        let bad = |reason: String| MigrateError::Record { path: v1.to_owned(), offset, reason };
        let complete = line.strip_suffix(b"\n").ok_or_else(|| bad("incomplete".into()))?;
        lithair_core::verify_checksum(complete).map_err(|damage| bad(damage.to_string()))?;
        let fields: V1Fields =
            serde_json::from_slice(complete).map_err(|err| bad(err.to_string()))?;
        if fields.seq != events + 1 {
            return Err(bad(format!("sequence {} after {events}", fields.seq)));
        }
        let data = fields.data.ok_or_else(|| bad("an event without data".into()))?;
        let entry = Entry::<TypeConfig> {
            log_id: LogId::new(leader, fields.seq),
            payload: EntryPayload::Normal(
                RaftEvent { ts: fields.ts, event_type: fields.event_type, data }.into(),
            ),
        };
        bytes.clear();
        encode(&entry, &mut bytes, v1, offset)?;
        out.write_all(&bytes).map_err(write_error)?;
        events += 1;
        offset += read as u64;
    }
    let file = out.into_inner().map_err(|err| write_error(err.into_error()))?;
    file.sync_all().map_err(write_error)?;
    Ok(events)
}

fn encode(
    entry: &Entry<TypeConfig>,
    out: &mut Vec<u8>,
    v1: &Path,
    offset: u64,
) -> Result<(), MigrateError> {
    record::encode(entry, out).map_err(|err| MigrateError::Record {
        path: v1.to_owned(),
        offset,
        reason: err.to_string(),
    })
}
