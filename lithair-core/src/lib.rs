//! Lithair's engine: the whole state in memory, every change an event in a durable log.
//!
//! An application describes its events `E: Event`, and with them (`Event::State`) the state they
//! change. The [`StateEngine<E>`] owns the state and the log, `events.raftlog` (specified in
//! `docs/raftlog.md`). There is exactly one way to change the state, [`StateEngine::commit`]
//! (or [`StateEngine::commit_with`] when the event depends on the current state): the engine
//! gives the event the next sequence number, appends it to the log, waits until it is as
//! durable as the configured [`Durability`] promises, and only then applies it to the state
//! that readers see through [`StateEngine::with_state`]. Opening an engine replays the log, so
//! the state after a restart is exactly the state before it.
//!
//! Commits are written in *groups* (`group_commit.rs`): whoever leads commits everything
//! queued, with one `write` and one `fdatasync`, which is what lets many concurrent committers
//! share the cost of a sync. Under tokio, commits mostly just queue and one background leader
//! commits until the queue is empty: on the blocking pool in `fsync` mode, where a commit that
//! is alone still leads its own group, and as a task in the other modes. Outside a runtime the
//! committer leads. `engine.rs` (`StateEngine::lead`) says when and why.

#![forbid(unsafe_code)]

mod clock;
mod data_dir;
mod durability;
mod engine;
mod error;
mod event;
mod group_commit;
mod log;
mod record;
mod recovery;
mod snapshot;
mod writer;

pub use data_dir::DataDir;
pub use durability::Durability;
pub use engine::{EngineConfig, EngineStats, Recovery, StateEngine};
pub use error::{CommitError, Damage, EngineError, OpenError};
pub use event::{Committed, Event};
pub use record::verify_checksum;

/// Name of the log file inside the data directory.
pub const LOG_FILE_NAME: &str = "events.raftlog";
