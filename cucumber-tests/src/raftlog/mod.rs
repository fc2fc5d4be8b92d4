//! The harness's own reader of `events.raftlog`, Lithair's write-ahead log.
//!
//! Scenarios check what the server wrote by reading the file it left on disk. They must not do it
//! with the engine's reader: a bug in that reader would then agree with itself and hide. This module
//! is therefore written from `docs/raftlog.md` alone and shares no code with `lithair-core`.
//!
//! One job per file:
//!
//! - `read`: splitting the file into records and validating them (line feed, checksum, JSON
//!   fields, gapless `seq`, strictly increasing `ts` in version 1, leaders that never go back
//!   and well-formed `raft.*` entries in version 2, `raft.Batch` in `batch`), keeping the valid prefix, and classifying
//!   the first invalid record as a torn tail or as corruption, exactly as the document does;
//! - `replay`: replaying Lithair's events into articles, users and comments (the types of
//!   [`crate::model`]), reporting anything a correct server could never have written;
//! - [`GrowingLog`]: the same checks, again after every restart of a log that only grows,
//!   parsing only what was appended since the last check;
//! - [`encode`]: the one way the harness writes records, for damage steps, tests and the
//!   benchmark's log writer.

mod batch;
pub mod encode;
mod growing;
mod read;
mod replay;
#[cfg(test)]
mod sample;

pub use growing::GrowingLog;
pub use read::{
    Health, Leader, RAFT_BATCH, RAFT_BLANK, RAFT_MEMBERSHIP, RAFT_PREFIX, RaftLog, Record, Version,
};
pub use replay::Replay;
