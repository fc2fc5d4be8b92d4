//! The engine's errors: what can go wrong opening a log, and committing to it.

use std::{io, path::PathBuf, sync::Arc};

/// What is wrong with a record of the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    #[error("the record is incomplete (no line feed)")]
    Incomplete,
    #[error("the record does not end with a well-formed checksum field")]
    NoChecksum,
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    ChecksumMismatch { stored: u32, computed: u32 },
    #[error("malformed record: {0}")]
    Malformed(String),
    #[error("sequence gap: expected {expected}, found {found}")]
    SequenceGap { expected: u64, found: u64 },
    #[error("timestamp {found} is not after the previous record's {previous}")]
    TimestampNotIncreasing { previous: u64, found: u64 },
    /// A snapshot is only written once the log is synced past the record it was taken after,
    /// so a log that does not hold that record has lost or changed acknowledged records.
    #[error(
        "snapshot {snapshot} was taken after sequence number {snapshot_seq} (byte offset \
         {snapshot_offset}), which the log does not hold: acknowledged records are missing or altered"
    )]
    BehindSnapshot { snapshot: String, snapshot_seq: u64, snapshot_offset: u64 },
}

impl Damage {
    /// Whether a crash in the middle of an append can leave this damage at the end of the log.
    /// A record that verifies but is out of sequence cannot be explained by a crash.
    pub fn can_be_torn_write(&self) -> bool {
        matches!(self, Damage::Incomplete | Damage::NoChecksum | Damage::ChecksumMismatch { .. })
    }
}

/// Why an engine could not be opened. Nothing here is ever repaired silently.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot use data directory {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },

    #[error("data directory {path} is in use by another Lithair process")]
    Locked { path: PathBuf },

    #[error("cannot read or repair {path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "{path} is corrupt at byte offset {offset} (last good sequence number {last_good_seq}): \
         {damage}{}. Refusing to start; the file was not modified.",
        if *.valid_records_after > 0 {
            format!("; {} valid record(s) follow it, so this is not a torn write", .valid_records_after)
        } else {
            String::new()
        }
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        last_good_seq: u64,
        damage: Damage,
        valid_records_after: u64,
    },

    #[error(
        "{path}: the record at byte offset {offset} (sequence number {seq}) holds an event this \
         version cannot read: {reason}. Refusing to start; the file was not modified."
    )]
    UnreadableEvent { path: PathBuf, offset: u64, seq: u64, reason: String },

    #[error("cannot start the log writer: {0}")]
    Spawn(io::Error),
}

/// Why a commit failed. When a commit fails its event was not applied to the state.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("the event log could not be written: {0}")]
    Io(Arc<io::Error>),

    #[error(
        "the engine refuses writes since an earlier failure to write the event log ({0}); \
         restart it once the cause is fixed"
    )]
    Poisoned(Arc<str>),

    #[error("{0}")]
    Encode(Arc<str>),

    #[error("the engine is shut down")]
    Closed,
}

/// Why [`crate::StateEngine::commit_with`] did not commit: the application's decision
/// function rejected the request, or the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError<R> {
    #[error("rejected")]
    Rejected(R),
    #[error(transparent)]
    Engine(#[from] EngineError),
}
