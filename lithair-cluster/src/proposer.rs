//! The leader's writes: decide each command against the state every earlier write made, in
//! batches, then replicate them through openraft.
//!
//! A command's decision depends on the state (the next id, whether an article exists), so two
//! decisions must never see the same state. One task, the proposer, takes every queued command
//! at once (a batch), and:
//!
//! 1. checks that this node leads and that its state includes everything earlier leaders
//!    committed: `last_applied` carries this leader's own id, i.e. its first entry of the term
//!    (the blank entry openraft appends on election) is applied;
//! 2. decides each command in order against the *head*: the applied state plus the events this
//!    leader has proposed since (a private copy, as the single server's writer keeps one);
//! 3. stamps each event's `ts`, strictly greater than every earlier event's in the log (an
//!    earlier leader's clock may have been ahead of this one's) and hands the events to openraft
//!    in order as one entry, or a few when the batch is large (`client_write_ff`: log order is
//!    decision order): openraft's leader syncs each entry apart, so the events of one entry
//!    share one `fdatasync`;
//! 4. waits until every event of the batch is applied, or [`OUTCOME_TIMEOUT`] has passed, and
//!    answers each caller; then takes the next batch.
//!
//! Many events land in one entry, and many entries in one storage flush on a follower, so group
//! commit keeps paying.
//!
//! The answers:
//! - an event applied with `changed` true: acknowledged (committed on a majority, applied here);
//! - an event applied with `changed` false: the state machine re-checked the decision's precondition and
//!   it no longer held, so the entry changed nothing anywhere: [`WriteError::Conflict`], safe to
//!   retry;
//! - anything else after the proposal (a timeout, lost leadership, shutdown):
//!   [`WriteError::OutcomeUnknown`], because a later leader may still commit the entry.
//!
//! A batch that did not end cleanly drops the head; the next batch rebuilds it from the applied
//! state, once this node leads with everything applied.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lithair_core::Event;
use openraft::{Raft, RaftTypeConfig, ServerState};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::{
    Events, NodeId, RaftEvent, StateReader, TypeConfig,
    status::{ClusterStatus, LeaderInfo},
};

/// How long a caller waits for its proposed write's outcome before it is told `outcome_unknown`.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a new leader may take to apply its blank entry before writes are refused (503
/// `no_leader`, retryable: nothing was proposed).
const LEADERSHIP_WAIT: Duration = Duration::from_secs(2);

/// The most commands decided in one batch.
const MAX_BATCH: usize = 4096;

/// A write acknowledged: committed on a majority and applied on the leader.
#[derive(Debug, Clone)]
pub struct Written<E> {
    pub event: E,
    /// Its index in the replicated log.
    pub index: u64,
    /// The timestamp its leader stamped (microseconds since the Unix epoch).
    pub ts: u64,
}

/// Why a write was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<R> {
    /// The command's own decision: nothing was proposed.
    #[error("rejected by the command's decision")]
    Rejected(R),
    /// This node does not lead (the leader it knows of, if any): nothing was proposed.
    #[error("this node is not the leader")]
    NotLeader(Option<LeaderInfo>),
    /// The entry was committed as a no-op, its decision being stale (or the decision rested on a
    /// write whose outcome is unknown): it did not happen, and may be retried.
    #[error("the write conflicted with a concurrent change and did not happen; retry it")]
    Conflict,
    /// Proposed, but its outcome could not be learnt: it may or may not be committed.
    #[error("the outcome of the write is unknown: {0}")]
    OutcomeUnknown(String),
    /// The event could not be encoded (a bug): nothing was proposed.
    #[error("the event could not be encoded: {0}")]
    Encode(String),
}

/// What a batch answers a job; a rejection's value travels apart, it is the caller's type.
#[derive(Clone)]
enum JobError {
    Rejected,
    NotLeader(Option<LeaderInfo>),
    Conflict,
    OutcomeUnknown(String),
    Encode(String),
}

type Decide<E> = Box<dyn FnOnce(&<E as Event>::State) -> Option<E> + Send>;

struct Job<E: Event> {
    decide: Decide<E>,
    done: oneshot::Sender<Result<Written<E>, JobError>>,
}

/// The handle writes go through; the proposer task stops when every handle is dropped.
pub struct Proposer<E: Event> {
    jobs: mpsc::UnboundedSender<Job<E>>,
}

impl<E: Event> Clone for Proposer<E> {
    fn clone(&self) -> Self {
        Proposer { jobs: self.jobs.clone() }
    }
}

impl<E: Event> Proposer<E>
where
    E::State: Clone,
{
    /// Start the proposer task of node `my_id`.
    /// `log_ts` is the log store's [`crate::LogStore::max_ts`].
    pub fn spawn(
        raft: Raft<TypeConfig>,
        reader: StateReader<E>,
        my_id: NodeId,
        log_ts: Arc<AtomicU64>,
    ) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, reader, my_id, log_ts, queue));
        Proposer { jobs }
    }

    /// Decide an event with `decide` against the state every earlier write made, replicate it,
    /// and answer once it is applied here (see the module documentation).
    pub async fn write<R: Send + 'static>(
        &self,
        decide: impl FnOnce(&E::State) -> Result<E, R> + Send + 'static,
    ) -> Result<Written<E>, WriteError<R>> {
        let (rejection_tx, rejection_rx) = oneshot::channel();
        let decide: Decide<E> = Box::new(move |state| match decide(state) {
            Ok(event) => Some(event),
            Err(rejection) => {
                let _ = rejection_tx.send(rejection);
                None
            }
        });
        let (done, answer) = oneshot::channel();
        if self.jobs.send(Job { decide, done }).is_err() {
            return Err(WriteError::NotLeader(None));
        }
        match answer.await {
            Ok(Ok(written)) => Ok(written),
            Ok(Err(JobError::Rejected)) => match rejection_rx.await {
                Ok(rejection) => Err(WriteError::Rejected(rejection)),
                Err(_) => Err(WriteError::Conflict),
            },
            Ok(Err(JobError::NotLeader(leader))) => Err(WriteError::NotLeader(leader)),
            Ok(Err(JobError::Conflict)) => Err(WriteError::Conflict),
            Ok(Err(JobError::OutcomeUnknown(why))) => Err(WriteError::OutcomeUnknown(why)),
            Ok(Err(JobError::Encode(why))) => Err(WriteError::Encode(why)),
            // The proposer stopped (shutdown) with our job taken: it may have been proposed.
            Err(_) => Err(WriteError::OutcomeUnknown("the node is shutting down".into())),
        }
    }
}

/// The leader's private state: applied state plus this term's proposals.
struct Head<S> {
    state: S,
    term: u64,
}

async fn run<E: Event>(
    raft: Raft<TypeConfig>,
    reader: StateReader<E>,
    my_id: NodeId,
    log_ts: Arc<AtomicU64>,
    mut queue: mpsc::UnboundedReceiver<Job<E>>,
) where
    E::State: Clone,
{
    let mut head: Option<Head<E::State>> = None;
    let mut last_ts = 0u64;
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let term = match leadership(&raft, &reader, my_id).await {
            Ok(term) => term,
            Err(leader) => {
                head = None;
                for job in jobs {
                    let _ = job.done.send(Err(JobError::NotLeader(leader.clone())));
                }
                continue;
            }
        };
        if head.as_ref().is_none_or(|head| head.term != term) {
            head = Some(Head { state: reader.with_state(E::State::clone), term });
        }
        // Stamp after every event this node's log holds or its snapshot covers (an earlier
        // leader's clock may be ahead of this one's), applied or not, whatever this clock says.
        last_ts = last_ts.max(log_ts.load(Ordering::Relaxed)).max(reader.last_ts());
        let state = &mut head.as_mut().expect("built above").state;
        let proposed = propose(&raft, state, jobs, &mut last_ts).await;
        if !proposed.finish().await {
            head = None;
        }
    }
}

/// A batch handed to openraft: who waits for which entry, and the rejections to release once
/// everything decided before them is applied.
struct Proposed<E> {
    waiting: Vec<(Vec<Caller<E>>, Responder)>,
    rejected: Vec<oneshot::Sender<Result<Written<E>, JobError>>>,
    /// `false` if something already went wrong while proposing.
    clean: bool,
}

/// Where openraft answers one client write.
type Responder =
    <<TypeConfig as RaftTypeConfig>::Responder as openraft::raft::responder::Responder<
        TypeConfig,
    >>::Receiver;

/// Decide each job in order against `state` and hand the events to openraft, as few entries as
/// possible, in the order they were decided.
async fn propose<E: Event>(
    raft: &Raft<TypeConfig>,
    state: &mut E::State,
    jobs: Vec<Job<E>>,
    last_ts: &mut u64,
) -> Proposed<E> {
    let mut rejected = Vec::new();
    let mut entries = vec![Entry::default()];
    let mut clean = true;
    for job in jobs {
        let Some(event) = (job.decide)(state) else {
            rejected.push(job.done);
            continue;
        };
        let ts = next_ts(last_ts);
        let encoded = match encode(&event, ts) {
            Ok(encoded) => encoded,
            Err(err) => {
                tracing::error!(%err, "an event could not be encoded");
                let _ = job.done.send(Err(JobError::Encode(err.to_string())));
                clean = false;
                continue;
            }
        };
        event.apply(state);
        let entry = entries.last_mut().expect("never empty");
        entry.push(job.done, event, encoded);
        if entry.is_full() {
            entries.push(Entry::default());
        }
    }
    let mut waiting = Vec::with_capacity(entries.len());
    // In order: the log holds the events in the order they were decided.
    for Entry { callers, events, .. } in entries.into_iter().filter(|e| !e.callers.is_empty()) {
        match raft.client_write_ff(Events(events)).await {
            Ok(receiver) => waiting.push((callers, receiver)),
            Err(fatal) => {
                answer_all(callers, JobError::OutcomeUnknown(fatal.to_string()));
                clean = false;
            }
        }
    }
    Proposed { waiting, rejected, clean }
}

impl<E> Proposed<E> {
    /// Answer every caller once its entry is applied (or [`OUTCOME_TIMEOUT`] has passed), then
    /// the rejections; `true` if the batch ended cleanly, so that the head is still what will
    /// be applied.
    async fn finish(self) -> bool {
        let Proposed { waiting, rejected, mut clean } = self;
        let deadline = Instant::now() + OUTCOME_TIMEOUT;
        for (callers, receiver) in waiting {
            let why = match tokio::time::timeout_at(deadline, receiver).await {
                Ok(Ok(Ok(response))) if response.data.changed.len() == callers.len() => {
                    let index = response.log_id.index;
                    for ((done, event, ts), changed) in
                        callers.into_iter().zip(response.data.changed)
                    {
                        let answer = if changed {
                            Ok(Written { event, index, ts })
                        } else {
                            tracing::info!(index, "a stale decision was applied as a no-op");
                            clean = false;
                            Err(JobError::Conflict)
                        };
                        let _ = done.send(answer);
                    }
                    continue;
                }
                Ok(Ok(Ok(response))) => format!(
                    "entry {} was applied with {} outcomes for {} events",
                    response.log_id.index,
                    response.data.changed.len(),
                    callers.len()
                ),
                Ok(Ok(Err(err))) => err.to_string(),
                Ok(Err(_)) => "openraft dropped the write (shutdown or lost leadership)".into(),
                Err(_) => format!("not applied within {OUTCOME_TIMEOUT:?}"),
            };
            clean = false;
            answer_all(callers, JobError::OutcomeUnknown(why));
        }
        // A rejection is released only after everything decided before it is applied; when
        // some of that did not end cleanly, the rejection may rest on a write that never
        // happens.
        for done in rejected {
            let _ = done.send(Err(if clean { JobError::Rejected } else { JobError::Conflict }));
        }
        clean
    }
}

/// The most events one Raft entry carries, and the size past which it takes no more: an
/// append RPC carries up to 256 entries (`node.rs`), which must stay well within a peer's
/// 64 MiB body limit.
const MAX_ENTRY_EVENTS: usize = 256;
const MAX_ENTRY_BYTES: usize = 128 << 10;

type Caller<E> = (oneshot::Sender<Result<Written<E>, JobError>>, E, u64);

/// One Raft entry being filled: its events, and who waits for each.
struct Entry<E> {
    callers: Vec<Caller<E>>,
    events: Vec<RaftEvent>,
    bytes: usize,
}

impl<E> Default for Entry<E> {
    fn default() -> Self {
        Entry { callers: Vec::new(), events: Vec::new(), bytes: 0 }
    }
}

impl<E> Entry<E> {
    fn push(
        &mut self,
        done: oneshot::Sender<Result<Written<E>, JobError>>,
        event: E,
        encoded: RaftEvent,
    ) {
        self.bytes += encoded.data.get().len();
        self.callers.push((done, event, encoded.ts));
        self.events.push(encoded);
    }

    fn is_full(&self) -> bool {
        self.events.len() >= MAX_ENTRY_EVENTS || self.bytes >= MAX_ENTRY_BYTES
    }
}

fn answer_all<E>(callers: Vec<Caller<E>>, error: JobError) {
    for (done, ..) in callers {
        let _ = done.send(Err(error.clone()));
    }
}

/// `Ok(term)` once this node leads and has applied its own first entry of the term, so that its
/// state includes everything earlier leaders committed; otherwise the leader it knows of.
async fn leadership<E: Event>(
    raft: &Raft<TypeConfig>,
    reader: &StateReader<E>,
    my_id: NodeId,
) -> Result<u64, Option<LeaderInfo>> {
    let mut metrics = raft.metrics();
    let deadline = Instant::now() + LEADERSHIP_WAIT;
    loop {
        {
            let current = metrics.borrow_and_update();
            if current.state != ServerState::Leader {
                return Err(ClusterStatus::of(&current).leader);
            }
            let term = current.current_term;
            let ready = reader.last_applied().is_some_and(|applied| {
                applied.leader_id.term == term && applied.leader_id.node_id == my_id
            });
            if ready {
                return Ok(term);
            }
        }
        match tokio::time::timeout_at(deadline, metrics.changed()).await {
            Ok(Ok(())) => {}
            _ => return Err(None),
        }
    }
}

fn next_ts(last: &mut u64) -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    *last = now.max(*last + 1);
    *last
}

/// The event as the log carries it: its `type` and its `data`, unchanged.
pub fn encode<E: Event>(event: &E, ts: u64) -> Result<RaftEvent, serde_json::Error> {
    #[derive(Deserialize)]
    struct Tagged {
        #[serde(rename = "type")]
        event_type: String,
        data: Box<RawValue>,
    }
    let json = serde_json::to_string(event)?;
    let Tagged { event_type, data } = serde_json::from_str(&json)?;
    Ok(RaftEvent { ts, event_type, data })
}
