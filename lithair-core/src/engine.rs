//! `StateEngine`: the application's handle on its state and its log.
//!
//! Readers see the *committed* state, behind a read-write lock, and only ever see events that
//! are as durable as the configured mode promises. The writer (`writer.rs`) keeps a
//! second copy, the *head*, on which it decides and applies each new event before the group is
//! durable, so that a decision always sees the events committed before it — including those of
//! its own group. Both copies receive the same events in the same order as the file.

use std::{
    any::Any,
    convert::Infallible,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::{Arc, RwLock, atomic::Ordering},
    time::{Duration, Instant},
};

use tokio::{
    runtime::{Handle, RuntimeFlavor},
    sync::oneshot,
};

use crate::{
    CommitError, Committed, Damage, Durability, EngineError, Event, LOG_FILE_NAME, OpenError,
    data_dir::DataDir,
    group_commit::{Background, Caller, GroupCommit, Plan},
    log::LogFile,
    recovery::{self, Start},
    snapshot::{self, SnapshotWriter},
    writer::{Decision, Proposal, Reply, Snapshots, Stats, Writer, WriterParts},
};

/// Where the engine keeps its files, how durable a commit is, and how often to snapshot.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Take a snapshot each time the sequence number passes a multiple of this; 0: never.
    /// Existing snapshots are used at start-up either way.
    pub snapshot_every: u64,
    /// How many snapshots to keep (the newest).
    pub snapshot_keep: usize,
}

impl EngineConfig {
    pub const DEFAULT_SNAPSHOT_KEEP: usize = 3;

    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            durability: Durability::default(),
            snapshot_every: 0,
            snapshot_keep: Self::DEFAULT_SNAPSHOT_KEEP,
        }
    }

    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    pub fn snapshots(mut self, every: u64, keep: usize) -> Self {
        self.snapshot_every = every;
        self.snapshot_keep = keep;
        self
    }
}

/// Counters for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    /// Sequence number of the last committed event, which is also the number of events.
    pub events: u64,
    /// Groups the writer has committed.
    pub groups: u64,
    /// `fdatasync` calls on the log.
    pub syncs: u64,
    /// Size of the log, excluding what `async` mode still holds in memory.
    pub log_bytes: u64,
}

/// What opening the engine found in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The snapshot the state was loaded from, if any: its sequence number and file.
    pub snapshot: Option<(u64, PathBuf)>,
    /// Events replayed from the log (after the snapshot, if one was loaded).
    pub events_replayed: u64,
    /// Bytes of a torn tail cut off the end of the log (0 when the log was clean).
    pub torn_bytes_cut: u64,
    pub elapsed: Duration,
}

/// The in-memory state `E::State`, changed only by committing events `E` to the log.
pub struct StateEngine<E: Event> {
    shared: Arc<Shared<E>>,
}

struct Shared<E: Event> {
    state: Arc<RwLock<E::State>>,
    commits: GroupCommit<Writer<E>>,
    stats: Arc<Stats>,
    durability: Durability,
    recovery: Recovery,
}

/// Dropping the last handle closes the engine, so that the data directory can be opened again
/// as soon as the handle is gone. Prefer [`StateEngine::close`], which reports whether the
/// final sync succeeded and does not block an async executor's thread.
impl<E: Event> Drop for Shared<E> {
    fn drop(&mut self) {
        if let Err(err) = self.commits.close() {
            tracing::error!(%err, "could not make the event log durable at shutdown");
        }
    }
}

impl<E: Event> Clone for StateEngine<E> {
    fn clone(&self) -> Self {
        StateEngine { shared: Arc::clone(&self.shared) }
    }
}

impl<E: Event> StateEngine<E> {
    /// Open the data directory (creating it if needed), replay the log into a fresh state and
    /// start the writer. Blocking: replaying a large log takes a while, so call it outside an
    /// async executor's worker threads (e.g. with `spawn_blocking`).
    pub fn open(config: EngineConfig) -> Result<Self, OpenError> {
        let started = Instant::now();
        let data_dir = DataDir::open(&config.data_dir)?;
        let log_path = data_dir.file(LOG_FILE_NAME);
        let log_existed = log_path.exists();

        let loaded = snapshot::load_newest::<E::State>(data_dir.path(), &log_path)
            .map_err(|ahead| behind_snapshot::<E>(&log_path, ahead))?;
        let (mut state, start, snapshot) = match loaded {
            Some(loaded) => {
                let position = loaded.position;
                let start =
                    Start { offset: position.log_offset, seq: position.seq, ts: position.ts };
                (loaded.state, start, Some((position, loaded.path)))
            }
            None => (E::State::default(), Start::default(), None),
        };
        let scan = recovery::replay::<E>(&log_path, &mut state, start)?;
        let torn_bytes_cut = report_torn_tail(&log_path, &scan);
        // The last record's CRC, which the next snapshot will name.
        let last_crc = match &snapshot {
            Some((position, _)) if scan.records == 0 => position.record_crc,
            _ => scan.last_crc,
        };

        let io_error = |source| OpenError::Io { path: log_path.clone(), source };
        let log = LogFile::open(&log_path, scan.valid_len).map_err(io_error)?;
        if !log_existed {
            data_dir.sync().map_err(io_error)?;
        }

        let recovery = Recovery {
            snapshot: snapshot.as_ref().map(|(position, path)| (position.seq, path.clone())),
            events_replayed: scan.records,
            torn_bytes_cut,
            elapsed: started.elapsed(),
        };
        let snapshots = match config.snapshot_every {
            0 => None,
            every => Some(Snapshots {
                every,
                writer: SnapshotWriter::start(data_dir.path().to_owned(), config.snapshot_keep)
                    .map_err(OpenError::Spawn)?,
                last_seq: scan.last_seq,
            }),
        };
        let committed = Arc::new(RwLock::new(state.clone()));
        let stats = Arc::new(Stats::default());
        let writer = Writer::new(WriterParts {
            log,
            data_dir,
            durability: config.durability,
            state,
            committed: Arc::clone(&committed),
            last_seq: scan.last_seq,
            last_ts: scan.last_ts,
            last_crc,
            stats: Arc::clone(&stats),
            snapshots,
        });
        Ok(StateEngine {
            shared: Arc::new(Shared {
                state: committed,
                commits: GroupCommit::new(writer),
                stats,
                durability: config.durability,
                recovery,
            }),
        })
    }

    /// Read the committed state. Keep `read` short: the writer waits for readers to publish
    /// each group.
    pub fn with_state<R>(&self, read: impl FnOnce(&E::State) -> R) -> R {
        let state = self.shared.state.read().unwrap_or_else(|poison| poison.into_inner());
        read(&state)
    }

    /// Commit `event`: it gets the next sequence number, is appended to the log and applied to
    /// the state. Resolves once the event is as durable as the mode promises.
    pub async fn commit(&self, event: E) -> Result<Committed<E>, EngineError> {
        match self.commit_with(move |_| Ok::<_, Infallible>(event)).await {
            Ok(committed) => Ok(committed),
            Err(CommitError::Engine(err)) => Err(err),
            Err(CommitError::Rejected(never)) => match never {},
        }
    }

    /// Commit the event that `decide` makes from the current state, or nothing if it rejects.
    ///
    /// `decide` runs in the writer (on the thread of whichever committer leads the group) against the state including every event committed
    /// before it, so checks such as "the article exists" and choices such as "the next id" can
    /// never race with another commit. Keep it quick: commits wait for it in turn. A panic in
    /// `decide` is raised again in the caller and commits nothing. A rejection, like a commit,
    /// is answered once the events decided before it are durable.
    pub async fn commit_with<R: Send + 'static>(
        &self,
        decide: impl FnOnce(&E::State) -> Result<E, R> + Send + 'static,
    ) -> Result<Committed<E>, CommitError<R>> {
        let (reply, outcome) = oneshot::channel();
        let proposal = Box::new(Pending { decide, reply });
        let (_in_flight, alone) = self.shared.commits.enter();
        self.lead(proposal, alone);
        match outcome.await.map_err(|_| EngineError::Closed)?? {
            Outcome::Committed(committed) => Ok(committed),
            Outcome::Rejected(reason) => Err(CommitError::Rejected(reason)),
            Outcome::Panicked(payload) => panic::resume_unwind(payload),
        }
    }

    /// Stop accepting commits, finish the queued ones, sync the log and release the data
    /// directory. Commits after this fail with [`EngineError::Closed`].
    pub async fn close(&self) -> Result<(), EngineError> {
        // Closing waits for the current group and for a snapshot being written: not on an
        // executor's worker thread, where other tasks would wait too.
        match Handle::try_current() {
            Ok(runtime) => {
                let shared = Arc::clone(&self.shared);
                runtime.spawn_blocking(move || shared.commits.close()).await.unwrap_or_else(
                    |join| Err(EngineError::Io(Arc::new(std::io::Error::other(join)))),
                )
            }
            Err(_) => self.shared.commits.close(),
        }
    }

    /// Queue `proposal` and see that someone commits it.
    ///
    /// In `flush` and `async` modes a group takes microseconds, most of them in its `write`.
    /// Commits are left to one leader task, which yields before each group: tokio runs a
    /// yielding task only once the worker has polled its other ready tasks, so the commits of
    /// the requests those tasks read join the same group. When each committer led its own
    /// group at once, groups held 1.3 requests at 50 connections; gathered, they hold about 6,
    /// for 3–10% more writes per second (docs/performance.md).
    ///
    /// In `fsync` mode a group blocks on `fdatasync`, so under load groups are led in tokio's
    /// blocking pool, never on a worker: a worker blocked there holds up the tasks queued on it
    /// (tokio cannot steal the one in its LIFO slot), which showed as 100–200 ms p99 at 100
    /// connections. A commit that is `alone` still leads its own group, which saves the
    /// hand-off to another thread (about a third of the latency at 1 connection), but inside
    /// `block_in_place`: "alone" only means that no other commit has been *submitted*, and the
    /// worker's other tasks (requests still being read) move to another thread while it syncs.
    /// Leading on the worker itself, a runtime with one worker (a one-CPU machine) made every
    /// commit alone and synced each by itself: 3,000 writes/s at 50 connections, against
    /// 22,000–30,000 now.
    ///
    /// Outside a tokio runtime the committer leads until the queue is empty.
    ///
    /// The policy itself is [`Plan::new`], a pure function tested as a table; the hand-over it
    /// drives is model-checked (`group_commit.rs`). What is left here is tokio's part.
    fn lead(&self, proposal: Box<dyn Proposal<E>>, alone: bool) {
        let commits = &self.shared.commits;
        let runtime = Handle::try_current().ok();
        let caller = match &runtime {
            None => Caller::Thread,
            Some(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => {
                Caller::MultiThreadWorker
            }
            // A current-thread runtime has no other thread to hand its tasks to.
            Some(_) => Caller::CurrentThreadWorker,
        };
        let plan = Plan::new(self.shared.durability, caller, alone);
        let background = match plan {
            Plan::LeadOnce { block_in_place: true } => {
                tokio::task::block_in_place(|| commits.dispatch(proposal, plan))
            }
            _ => commits.dispatch(proposal, plan),
        };
        // A background leader is only ever planned for a caller inside a runtime.
        let (Some(background), Some(runtime)) = (background, runtime) else { return };
        let shared = Arc::clone(&self.shared);
        match background {
            Background::BlockingPool => {
                runtime.spawn_blocking(move || shared.commits.lead_in_background());
            }
            Background::YieldingTask => {
                runtime.spawn(lead_after_ready_tasks(shared));
            }
        }
    }

    pub fn stats(&self) -> EngineStats {
        let stats = &self.shared.stats;
        EngineStats {
            events: stats.last_seq.load(Ordering::Acquire),
            groups: stats.groups.load(Ordering::Relaxed),
            syncs: stats.syncs.load(Ordering::Relaxed),
            log_bytes: stats.log_bytes.load(Ordering::Relaxed),
        }
    }

    /// Why the engine refuses writes, if an earlier write or sync of the log failed.
    pub fn write_failure(&self) -> Option<Arc<str>> {
        self.shared.stats.failure.get().cloned()
    }

    pub fn recovery(&self) -> &Recovery {
        &self.shared.recovery
    }

    pub fn durability(&self) -> Durability {
        self.shared.durability
    }
}

/// How a commit ended, as its caller learns it: one answer, through one channel.
enum Outcome<E, R> {
    Committed(Committed<E>),
    Rejected(R),
    /// The decision panicked; the payload is raised again in the caller's task.
    Panicked(Box<dyn Any + Send>),
}

type OutcomeSender<E, R> = oneshot::Sender<Result<Outcome<E, R>, EngineError>>;

/// A `commit_with` on its way to the writer: the caller's decision and its answer channel.
struct Pending<F, E, R> {
    decide: F,
    reply: OutcomeSender<E, R>,
}

impl<F, E, R> Proposal<E> for Pending<F, E, R>
where
    F: FnOnce(&E::State) -> Result<E, R> + Send + 'static,
    E: Event,
    R: Send + 'static,
{
    fn decide(self: Box<Self>, head: &E::State) -> Decision<E> {
        let Pending { decide, reply } = *self;
        match panic::catch_unwind(AssertUnwindSafe(|| decide(head))) {
            Ok(Ok(event)) => Decision::Append(event, answer(reply, Outcome::Committed)),
            Ok(Err(reason)) => Decision::Refuse(answer(reply, |()| Outcome::Rejected(reason))),
            Err(payload) => Decision::Refuse(answer(reply, |()| Outcome::Panicked(payload))),
        }
    }

    fn fail(self: Box<Self>, err: EngineError) {
        let _ = self.reply.send(Err(err));
    }
}

/// The leader of `flush` and `async` commits inside tokio (see [`StateEngine::lead`]): it
/// yields before each group so that the worker's ready tasks can queue their commits first.
async fn lead_after_ready_tasks<E: Event>(shared: Arc<Shared<E>>) {
    loop {
        tokio::task::yield_now().await;
        if !shared.commits.lead_gathered() {
            return;
        }
    }
}

/// The writer's reply for a decision: `outcome` once its group is durable, or the group's error.
fn answer<T, E: Send + 'static, R: Send + 'static>(
    reply: OutcomeSender<E, R>,
    outcome: impl FnOnce(T) -> Outcome<E, R> + Send + 'static,
) -> Reply<T> {
    Box::new(move |result| {
        let _ = reply.send(result.map(outcome));
    })
}

fn report_torn_tail(log_path: &Path, scan: &recovery::Scan) -> u64 {
    let Some(torn) = &scan.torn_tail else { return 0 };
    tracing::warn!(
        path = %log_path.display(),
        offset = torn.offset,
        bytes_cut = torn.bytes,
        last_good_seq = scan.last_seq,
        damage = %torn.damage,
        "torn tail: cutting {} byte(s) off the end of {} (an interrupted, unacknowledged append)",
        torn.bytes,
        log_path.display(),
    );
    torn.bytes
}

/// The error for a log that lacks the record a sound snapshot was taken after: where the log's
/// valid records end, found by reading it all (damage in its middle is reported first, as
/// without snapshots).
fn behind_snapshot<E: Event>(log_path: &Path, ahead: snapshot::Ahead) -> OpenError {
    let position = ahead.position;
    let scan = match recovery::replay::<E>(log_path, &mut E::State::default(), Start::default()) {
        Ok(scan) => scan,
        Err(err) => return err,
    };
    let (offset, last_good_seq) = if scan.valid_len < position.log_offset {
        (scan.valid_len, scan.last_seq)
    } else {
        (position.log_offset, position.seq.saturating_sub(1))
    };
    OpenError::Corrupt {
        path: log_path.to_owned(),
        offset,
        last_good_seq,
        damage: Damage::BehindSnapshot {
            snapshot: ahead.path.display().to_string(),
            snapshot_seq: position.seq,
            snapshot_offset: position.log_offset,
        },
        valid_records_after: 0,
    }
}
