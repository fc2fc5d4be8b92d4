//! openraft's state machine over an application's [`Event`]s.
//!
//! The state lives in memory, as a single server's does, behind a lock readers share
//! ([`StateReader::with_state`]). `apply` decodes each committed entry's [`RaftEvent`] into the
//! application's `E` (the adjacently tagged `{"type":…,"data":…}` every Lithair log holds) and
//! applies it. Durability comes from the log and the snapshot: after a restart the state is the
//! snapshot's, and openraft applies the committed entries after it again.

#![allow(
    clippy::result_large_err,
    reason = "openraft's StorageError is what its storage traits return; boxing it here would only move the allocation"
)]

use std::{
    io::Cursor,
    marker::PhantomData,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock, RwLockReadGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use lithair_core::{DataDir, Event};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership, storage::RaftStateMachine,
};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::{
    Applied, Events, Node, NodeId, RaftEvent, TypeConfig,
    snapshot::{self, StoredSnapshot},
};

/// A check made again when a committed event is applied: `false` turns the event into a no-op
/// (`Applied { changed: false }`). For decisions a leader made on a state that a leader change
/// made stale (docs/raftlog.md: a stale decision changes nothing, on every node alike).
pub type Precondition<E> = fn(&E, &<E as Event>::State) -> bool;

/// The state machine handed to openraft. Readers keep a [`StateReader`].
pub struct StateMachine<E: Event> {
    shared: Arc<Shared<E>>,
    precondition: Option<Precondition<E>>,
}

/// A read handle on the applied state, for the server's readers.
pub struct StateReader<E: Event> {
    shared: Arc<Shared<E>>,
}

impl<E: Event> Clone for StateReader<E> {
    fn clone(&self) -> Self {
        StateReader { shared: Arc::clone(&self.shared) }
    }
}

/// Builds a snapshot of the state machine as it is when the builder is asked for.
pub struct SnapshotBuilder<E: Event> {
    shared: Arc<Shared<E>>,
}

struct Shared<E: Event> {
    applied: RwLock<AppliedState<E>>,
    snapshot: Mutex<Option<StoredSnapshot>>,
    dir: PathBuf,
    _data_dir: Arc<DataDir>,
    _event: PhantomData<fn() -> E>,
}

/// The state and what of the log it is the result of.
struct AppliedState<E: Event> {
    state: E::State,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    /// The greatest `ts` of the events applied (0: none known), so that a new leader stamps
    /// after every event of its log (`proposer.rs`). A snapshot carries it in its id.
    last_ts: u64,
}

fn sm_error(err: impl std::error::Error + 'static) -> AnyError {
    AnyError::new(&err)
}

impl<E: Event> StateMachine<E> {
    /// A state machine starting from `snapshot` (or empty), whose snapshots go in `data_dir`.
    pub(crate) fn new(
        data_dir: Arc<DataDir>,
        state: E::State,
        snapshot: Option<StoredSnapshot>,
    ) -> Self {
        let (last_applied, membership) = snapshot
            .as_ref()
            .map(|s| (s.meta.last_log_id, s.meta.last_membership.clone()))
            .unwrap_or_default();
        let last_ts = snapshot.as_ref().map_or(0, |s| snapshot_ts(&s.meta.snapshot_id));
        let shared = Shared {
            applied: RwLock::new(AppliedState { state, last_applied, membership, last_ts }),
            snapshot: Mutex::new(snapshot),
            dir: data_dir.path().to_owned(),
            _data_dir: data_dir,
            _event: PhantomData,
        };
        StateMachine { shared: Arc::new(shared), precondition: None }
    }

    /// Re-check `precondition` on every event as it is applied.
    pub fn with_precondition(mut self, precondition: Precondition<E>) -> Self {
        self.precondition = Some(precondition);
        self
    }

    /// A handle on the applied state that stays valid after the state machine is given to
    /// openraft.
    pub fn reader(&self) -> StateReader<E> {
        StateReader { shared: Arc::clone(&self.shared) }
    }
}

impl<E: Event> StateReader<E> {
    /// Run `f` on the applied state.
    pub fn with_state<T>(&self, f: impl FnOnce(&E::State) -> T) -> T {
        f(&self.shared.read().state)
    }

    /// The log id of the last entry applied.
    pub fn last_applied(&self) -> Option<LogId<NodeId>> {
        self.shared.read().last_applied
    }

    /// The greatest `ts` of the events applied, 0 if none is known.
    pub fn last_ts(&self) -> u64 {
        self.shared.read().last_ts
    }

    /// The last membership applied.
    pub fn membership(&self) -> StoredMembership<NodeId, Node> {
        self.shared.read().membership.clone()
    }
}

impl<E: Event> Shared<E> {
    fn read(&self) -> RwLockReadGuard<'_, AppliedState<E>> {
        self.applied.read().unwrap_or_else(|poison| poison.into_inner())
    }

    fn current_snapshot(&self) -> Option<StoredSnapshot> {
        self.snapshot.lock().unwrap_or_else(|poison| poison.into_inner()).clone()
    }

    /// Save `snapshot` durably, then make it the current one.
    fn keep(&self, snapshot: StoredSnapshot) -> Result<(), StorageError<NodeId>> {
        let signature = Some(snapshot.meta.signature());
        snapshot::save(&self.dir, &snapshot)
            .map_err(|err| StorageIOError::write_snapshot(signature, sm_error(err)))?;
        *self.snapshot.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(snapshot);
        Ok(())
    }
}

/// A snapshot's id ends with this and the greatest `ts` of the events it covers: the id is the
/// one part of openraft's `SnapshotMeta` that is free text, and it travels with the snapshot
/// to the followers that install it, so that they too stamp after it once they lead.
const TS_MARK: &str = "-ts";

/// The greatest `ts` a snapshot id records (0 for an id without one).
fn snapshot_ts(snapshot_id: &str) -> u64 {
    snapshot_id.rsplit_once(TS_MARK).and_then(|(_, ts)| ts.parse().ok()).unwrap_or(0)
}

/// Decode an entry's event into the application's type.
pub(crate) fn decode_event<E: Event>(event: &RaftEvent) -> Result<E, serde_json::Error> {
    #[derive(Serialize)]
    struct Tagged<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        data: &'a RawValue,
    }
    let tagged = serde_json::to_vec(&Tagged { event_type: &event.event_type, data: &event.data })?;
    serde_json::from_slice(&tagged)
}

impl<E: Event> RaftStateMachine<TypeConfig> for StateMachine<E> {
    type SnapshotBuilder = SnapshotBuilder<E>;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        let applied = self.shared.read();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut applied = self.shared.applied.write().unwrap_or_else(|poison| poison.into_inner());
        let mut replies = Vec::new();
        for entry in entries {
            let mut changed = Vec::new();
            match &entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Membership(membership) => {
                    applied.membership =
                        StoredMembership::new(Some(entry.log_id), membership.clone());
                }
                EntryPayload::Normal(Events(events)) => {
                    for event in events {
                        // Even a no-op (below) holds its ts in the log.
                        applied.last_ts = applied.last_ts.max(event.ts);
                        let decoded = decode_event::<E>(event).map_err(|err| {
                            let err = std::io::Error::other(format!(
                                "entry {} holds an event of type {:?} this version cannot read: {err}",
                                entry.log_id.index, event.event_type
                            ));
                            StorageIOError::read_log_at_index(entry.log_id.index, sm_error(err))
                        })?;
                        let holds =
                            self.precondition.is_none_or(|check| check(&decoded, &applied.state));
                        if holds {
                            decoded.apply(&mut applied.state);
                        }
                        changed.push(holds);
                    }
                }
            }
            applied.last_applied = Some(entry.log_id);
            replies.push(Applied { changed });
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { shared: Arc::clone(&self.shared) }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let state: E::State = serde_json::from_slice(&data)
            .map_err(|err| StorageIOError::read_snapshot(Some(meta.signature()), sm_error(err)))?;
        self.shared.keep(StoredSnapshot { meta: meta.clone(), data })?;
        let mut applied = self.shared.applied.write().unwrap_or_else(|poison| poison.into_inner());
        *applied = AppliedState {
            state,
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            last_ts: snapshot_ts(&meta.snapshot_id),
        };
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self.shared.current_snapshot().map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}

impl<E: Event> RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder<E> {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (data, last_log_id, last_membership, last_ts) = {
            let applied = self.shared.read();
            let data = serde_json::to_vec(&applied.state)
                .map_err(|err| StorageIOError::read_state_machine(sm_error(err)))?;
            (data, applied.last_applied, applied.membership.clone(), applied.last_ts)
        };
        // Unique even for two snapshots of the same log id, which may differ in bytes.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let snapshot_id = match last_log_id {
            Some(id) => format!(
                "{}-{}-{}-{nanos}{TS_MARK}{last_ts}",
                id.leader_id.term, id.leader_id.node_id, id.index
            ),
            None => format!("none-{nanos}{TS_MARK}{last_ts}"),
        };
        let meta = SnapshotMeta { last_log_id, last_membership, snapshot_id };
        self.shared.keep(StoredSnapshot { meta: meta.clone(), data: data.clone() })?;
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}
