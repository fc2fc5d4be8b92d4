//! The writer: the only code that touches the log file or changes the state.
//!
//! There is no writer thread. Committers queue their requests, and whichever of them finds the
//! writer free becomes the *leader*: it takes everything queued (a *group*) and commits it on
//! its own thread, the others wait for their answer. This is the leader-based group commit of
//! databases such as RocksDB and PostgreSQL; it replaced a dedicated thread because waking that
//! thread and being woken by it cost two context switches per group, which under HTTP load were
//! most of the commit's cost (docs/performance.md). The price is that in `fsync` mode the
//! leader's thread is blocked during `fdatasync`: `engine.rs` says how that is kept off the
//! threads that run tokio's tasks.
//!
//! A group is committed in order: for each request the application decides its event against
//! the *head* state (the committed state plus the earlier events of this group), the event gets
//! its sequence number and timestamp, is encoded and applied to the head. Then the whole group
//! is written with one `write`, synced once if the mode asks for it, applied to the state
//! readers see, and only then acknowledged. If the write or the sync fails, nothing of the group
//! is applied or acknowledged as written, and the engine refuses further writes: after a failed
//! `fdatasync` the kernel may have dropped the dirty pages, so retrying could acknowledge data
//! that is not on disk.
//!
//! In `async` mode a group is applied and acknowledged as soon as it is encoded, and written
//! out right after: its clients do not wait for the `write`, and a crash can lose only the
//! groups acknowledged in the microseconds before their write. (Holding groups back to write
//! several at once was measured: no throughput gain over HTTP, and a crash under load then
//! lost milliseconds of acknowledged writes.)
//!
//! With snapshots on, the writer also hands a copy of the state to the snapshot thread each
//! time the sequence number passes a multiple of the interval, right after a group is
//! published, when the head and the committed state are the same.

use std::{
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use crate::{
    Committed, Durability, EngineError, Event,
    clock::Clock,
    data_dir::DataDir,
    log::LogFile,
    record,
    snapshot::{self, SnapshotWriter},
};

#[cfg(test)]
mod tests;

/// A commit request as the writer sees it, whatever the caller's rejection type: a decision to
/// run against the head state, and a way to answer the caller (`engine.rs` implements it).
pub(crate) trait Proposal<E: Event>: Send {
    /// Decide against the head state. A panic in the application's code is the proposal's to
    /// catch: it comes back as a refusal that re-raises it in the caller.
    fn decide(self: Box<Self>, head: &E::State) -> Decision<E>;

    /// Answer without deciding: the engine refuses writes, or is closed.
    fn fail(self: Box<Self>, err: EngineError);
}

/// What a proposal decided. Either way its caller hears of it only once the group is settled:
/// a refusal too may rest on events of the group that are not durable yet.
pub(crate) enum Decision<E> {
    /// Append this event, then answer with the committed event.
    Append(E, Reply<Committed<E>>),
    /// Append nothing; the reply carries the caller's own reason.
    Refuse(Reply<()>),
}

/// Answers one caller once its group is durable, or has failed.
pub(crate) type Reply<T> = Box<dyn FnOnce(Result<T, EngineError>) + Send>;

/// Counters shared with the engine handles.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub last_seq: AtomicU64,
    pub groups: AtomicU64,
    pub syncs: AtomicU64,
    pub log_bytes: AtomicU64,
    /// Why the engine refuses writes, once it does.
    pub failure: OnceLock<Arc<str>>,
}

/// A request that has been decided and waits for its group to be durable.
enum Decided<E> {
    Appended(Committed<E>, Reply<Committed<E>>),
    Refused(Reply<()>),
}

impl<E> Decided<E> {
    fn fail(self, err: &EngineError) {
        match self {
            Decided::Appended(_, reply) => reply(Err(err.clone())),
            Decided::Refused(reply) => reply(Err(err.clone())),
        }
    }
}

pub(crate) struct Writer<E: Event> {
    log: LogFile,
    data_dir: DataDir,
    durability: Durability,
    head: E::State,
    committed: Arc<RwLock<E::State>>,
    next_seq: u64,
    clock: Clock,
    stats: Arc<Stats>,
    /// Records encoded but not yet handed to the OS.
    unwritten: Vec<u8>,
    /// The group's requests once decided, waiting for it to be durable (kept for its capacity).
    decided: Vec<Decided<E>>,
    /// Set by the first failed write or sync; every later commit fails with it.
    poisoned: Option<Arc<str>>,
    /// Timestamp and CRC of the last record appended (a snapshot names it).
    last_record: (u64, u32),
    snapshots: Option<Snapshots<E::State>>,
}

/// Snapshot policy and progress.
pub(crate) struct Snapshots<S> {
    pub every: u64,
    pub writer: SnapshotWriter<S>,
    /// Sequence number of the last snapshot taken (or loaded at start-up).
    pub last_seq: u64,
}

pub(crate) struct WriterParts<E: Event> {
    pub log: LogFile,
    pub data_dir: DataDir,
    pub durability: Durability,
    pub state: E::State,
    pub committed: Arc<RwLock<E::State>>,
    pub last_seq: u64,
    pub last_ts: u64,
    pub last_crc: u32,
    pub stats: Arc<Stats>,
    pub snapshots: Option<Snapshots<E::State>>,
}

impl<E: Event> Writer<E> {
    pub(crate) fn new(parts: WriterParts<E>) -> Self {
        parts.stats.last_seq.store(parts.last_seq, Ordering::Relaxed);
        parts.stats.log_bytes.store(parts.log.len(), Ordering::Relaxed);
        Writer {
            log: parts.log,
            data_dir: parts.data_dir,
            durability: parts.durability,
            head: parts.state,
            committed: parts.committed,
            next_seq: parts.last_seq + 1,
            clock: Clock::after(parts.last_ts),
            stats: parts.stats,
            unwritten: Vec::with_capacity(1 << 16),
            decided: Vec::with_capacity(256),
            poisoned: None,
            last_record: (parts.last_ts, parts.last_crc),
            snapshots: parts.snapshots,
        }
    }

    /// Decide every request of `group` in order, make the group as durable as the mode
    /// promises, publish it and answer each request; then take a snapshot if one is due.
    pub(crate) fn commit_group(&mut self, group: impl Iterator<Item = Box<dyn Proposal<E>>>) {
        let mut decided = std::mem::take(&mut self.decided);
        for proposal in group {
            decided.extend(self.decide(proposal));
        }
        self.complete_group(&mut decided);
        self.decided = decided;
        self.snapshot_if_due(false);
    }

    /// Run the application's decision and, if it produced an event, append it to the group.
    /// `None` when the caller has been answered already (nothing was added to the group).
    fn decide(&mut self, proposal: Box<dyn Proposal<E>>) -> Option<Decided<E>> {
        if let Some(cause) = &self.poisoned {
            proposal.fail(EngineError::Poisoned(cause.clone()));
            return None;
        }
        match proposal.decide(&self.head) {
            Decision::Append(event, reply) => match self.append(event) {
                Ok(committed) => Some(Decided::Appended(committed, reply)),
                Err(err) => {
                    reply(Err(err));
                    None
                }
            },
            Decision::Refuse(reply) => Some(Decided::Refused(reply)),
        }
    }

    fn append(&mut self, event: E) -> Result<Committed<E>, EngineError> {
        let ts = self.clock.next();
        let seq = self.next_seq;
        let crc = record::encode(seq, ts, &event, &mut self.unwritten)
            .map_err(|err| EngineError::Encode(err.to_string().into()))?;
        self.next_seq += 1;
        self.last_record = (ts, crc);
        event.apply(&mut self.head);
        Ok(Committed { seq, ts, event })
    }

    /// Make the group as durable as the mode promises, publish it to readers, acknowledge it
    /// (in `async` mode, write it out after that).
    fn complete_group(&mut self, decided: &mut Vec<Decided<E>>) {
        if decided.is_empty() {
            return;
        }
        let written = match self.durability {
            Durability::Fsync => {
                let before = self.log.len();
                self.write_out().and_then(|()| self.sync()).inspect_err(|_| {
                    // The group was refused: its bytes must not come back at the next start,
                    // where replaying them would revive writes that were answered 503.
                    self.log.cut_back(before);
                    self.stats.log_bytes.store(self.log.len(), Ordering::Relaxed);
                })
            }
            Durability::Flush => self.write_out(),
            // Acknowledged first; written just below, once its clients are on their way.
            Durability::Async => Ok(()),
        };
        match written {
            Ok(()) => self.publish(decided),
            Err(err) => self.fail_group(decided, err),
        }
        if self.durability == Durability::Async {
            self.write_out_async();
        }
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
    }

    fn publish(&mut self, decided: &mut Vec<Decided<E>>) {
        {
            let mut state = self.committed.write().unwrap_or_else(|poison| poison.into_inner());
            for decided in decided.iter() {
                if let Decided::Appended(committed, _) = decided {
                    committed.event.apply(&mut state);
                }
            }
        }
        self.stats.last_seq.store(self.next_seq - 1, Ordering::Release);
        for decided in decided.drain(..) {
            match decided {
                Decided::Appended(committed, reply) => reply(Ok(committed)),
                Decided::Refused(reply) => reply(Ok(())),
            }
        }
    }

    /// The group's write failed: none of its events reaches the readers' state. The head is now
    /// ahead of the committed state, which is harmless: the engine is poisoned, so no decision
    /// runs against the head again.
    fn fail_group(&mut self, decided: &mut Vec<Decided<E>>, err: EngineError) {
        debug_assert!(self.poisoned.is_some());
        for decided in decided.drain(..) {
            decided.fail(&err);
        }
    }

    fn write_out(&mut self) -> Result<(), EngineError> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let result = self.log.append(&self.unwritten);
        self.unwritten.clear();
        self.stats.log_bytes.store(self.log.len(), Ordering::Relaxed);
        result.map_err(|err| self.poison(err))
    }

    fn sync(&mut self) -> Result<(), EngineError> {
        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        self.log.sync().map_err(|err| self.poison(err))
    }

    /// In `async` mode the events were acknowledged already: a failure can only be reported
    /// to the commits that follow.
    fn write_out_async(&mut self) {
        if let Err(err) = self.write_out() {
            tracing::error!(%err, "async write of the event log failed; acknowledged events were lost");
        }
    }

    fn poison(&mut self, err: std::io::Error) -> EngineError {
        tracing::error!(path = %self.log.path().display(), %err, "cannot write the event log; refusing further writes");
        self.unwritten.clear();
        let err = Arc::new(err);
        let cause = self.poisoned.get_or_insert_with(|| err.to_string().into());
        let _ = self.stats.failure.set(cause.clone());
        EngineError::Io(err)
    }

    /// Take a snapshot if the sequence number has passed a multiple of the interval since the
    /// last one. The log is made durable up to the snapshot first, so that a snapshot never
    /// refers to records a crash could take away. Commits wait only for the state's clone. If
    /// the previous snapshot is still being written, this one is retried after the next group
    /// (or at shutdown, when `wait` is set).
    fn snapshot_if_due(&mut self, wait: bool) {
        let last_seq = self.next_seq - 1;
        let due = self.snapshots.as_ref().is_some_and(|snapshots| {
            last_seq / snapshots.every > snapshots.last_seq / snapshots.every
        });
        if !due || self.poisoned.is_some() || self.write_out().and_then(|()| self.sync()).is_err() {
            return;
        }
        let paused = Instant::now();
        let state = self.head.clone();
        let pause = paused.elapsed();
        let (ts, record_crc) = self.last_record;
        let position =
            snapshot::Position { seq: last_seq, ts, log_offset: self.log.len(), record_crc };
        let Some(snapshots) = &mut self.snapshots else { return };
        let job = snapshot::Job { position, state };
        let handed =
            if wait { snapshots.writer.hand_over(job) } else { snapshots.writer.offer(job) };
        if handed {
            snapshots.last_seq = last_seq;
            tracing::info!(seq = last_seq, pause_us = pause.as_micros() as u64, "snapshot started");
        } else {
            tracing::debug!(seq = last_seq, "the previous snapshot is still being written");
        }
    }

    /// Clean shutdown: whatever the mode, everything acknowledged is synced before the lock on
    /// the data directory is released; a snapshot being written is finished.
    pub(crate) fn shut_down(&mut self) -> Result<(), EngineError> {
        self.snapshot_if_due(true);
        if let Some(snapshots) = &mut self.snapshots {
            snapshots.writer.finish();
        }
        if let Some(cause) = &self.poisoned {
            return Err(EngineError::Poisoned(cause.clone()));
        }
        self.write_out()?;
        self.sync()?;
        tracing::debug!(path = %self.data_dir.path().display(), events = self.next_seq - 1, "event log closed");
        Ok(())
    }
}
