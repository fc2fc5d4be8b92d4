//! The contract between the engine and an application's events, and what a committed event
//! comes back as.

use serde::{Serialize, de::DeserializeOwned};

/// A change to the application's state, as written to the log.
///
/// Events are serialised with serde as *adjacently tagged* values — put
/// `#[serde(tag = "type", content = "data")]` on the enum — so that each one appears in the log
/// as `"type":"<name>","data":{...}` (see `docs/raftlog.md`). The engine checks that the tag it
/// finds is [`Event::event_type`] and refuses to commit an event that is encoded otherwise.
///
/// `apply` must be deterministic: replaying the same events on a fresh state must give the same
/// state, since that is what a restart does.
pub trait Event: Serialize + DeserializeOwned + Send + 'static {
    /// The application's in-memory state. The engine keeps the state readers see and a private
    /// working copy for the writer (see `engine.rs`), hence `Clone`; snapshots store it with
    /// serde, hence `Serialize` and `DeserializeOwned`.
    type State: Clone + Default + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// The stable name written in each record's `type` field, e.g. `"ArticleCreated"`.
    fn event_type(&self) -> &'static str;

    /// Apply this event to the state.
    fn apply(&self, state: &mut Self::State);
}

/// An event that has been committed, with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<E> {
    pub seq: u64,
    /// Commit time, microseconds since the Unix epoch (the record's `ts`).
    pub ts: u64,
    pub event: E,
}
