//! Who commits the queued requests, and when: leader-based group commit.
//!
//! A committer queues its request, then tries to take the writer. If it is free, the committer
//! is the *leader*: it commits everything queued, its own request included, as one group. If
//! the writer is busy, its holder is bound to see the new request: after releasing the writer,
//! a leader always looks at the queue again ([`GroupCommit::lead`] says whether requests are
//! left). So a queued request is never stranded, and no thread is woken just to commit. A
//! leader commits one group and goes back to its own caller; if more requests queued up
//! meanwhile, the caller hands them to a new leader instead of making its own client wait for
//! other people's writes.
//!
//! Under tokio, most commits do not lead themselves: they only queue, and one *background*
//! leader at a time commits until the queue is empty. In `fsync` mode, where a group blocks in
//! `fdatasync`, that leader runs on a thread where blocking is expected
//! ([`GroupCommit::lead_in_background`]), and waking it is the price; in `flush` and `async`
//! modes it is a task that lets the worker's ready tasks queue their commits before each group,
//! so that one `write` serves several requests (`engine.rs` says when and why).
//!
//! Which of these a commit takes is one pure function, [`Plan::new`], of what the committer
//! knows: the durability mode, whether it runs on a tokio worker (and of which runtime), and
//! whether it is the only commit in flight. The engine only carries the plan out with tokio's
//! calls; everything else ([`GroupCommit::dispatch`] and the two background loops) is here.
//!
//! # How this is tested
//!
//! The plan is a table, and its unit test is that table (`group_commit/tests.rs`). The
//! hand-over is tested with [loom](https://docs.rs/loom), which runs a test once for every
//! interleaving of its threads' synchronising operations (up to a bound on preemptions), so
//! that a race is found deterministically instead of by luck and timing. `group_commit/model.rs`
//! drives the real [`GroupCommit`] code — plans, dispatch, both background loops, close — from
//! two or three committers, with a writer that records what it was given instead of writing a
//! file ([`GroupWriter`]), and checks after every interleaving that no commit is stranded, that
//! each is answered once (in `fsync` mode only after its group's sync), that the background
//! role is never held twice and is free again at the end. Loom needs its own primitives to
//! see the operations, so the locks and atomics below come from a small `sync` shim: loom's in
//! the crate's unit-test build, std's everywhere else (the integration tests and every real
//! use); no unit test may therefore open an engine. Loom was chosen over a home-made scheduler
//! of scripted steps because it runs the code itself, not a model of it that could drift: a
//! change to the hand-over is checked the moment it is made. The writer's own promise (an
//! `fsync` group is answered only after its sync) is checked on the real writer, in
//! `writer/tests.rs`.

use std::sync::{PoisonError, TryLockError, atomic::Ordering};

use self::sync::{AtomicBool, AtomicUsize, Mutex, MutexGuard};
use crate::{
    Durability, EngineError, Event,
    writer::{Proposal, Writer},
};

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;

mod sync;

/// Where a committer runs, as far as leading its group is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// Outside any tokio runtime: nobody else would lead for it.
    Thread,
    /// On a multi-threaded runtime, which `block_in_place` can move the worker's tasks off.
    MultiThreadWorker,
    /// On a runtime that cannot (a current-thread runtime).
    CurrentThreadWorker,
}

/// Who commits a request, and where: what [`GroupCommit::dispatch`] does on the committer's
/// thread, and which background leader, if any, takes over from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Lead on this thread until the queue is empty.
    LeadUntilEmpty,
    /// Lead one group on this thread (inside `block_in_place` if so marked: it may block in
    /// `fdatasync`), then leave what is queued to a [`Background::BlockingPool`] leader.
    LeadOnce { block_in_place: bool },
    /// Only queue the request: this background leader commits it.
    Queue(Background),
}

/// The two background leaders; at most one runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Background {
    /// [`GroupCommit::lead_in_background`] on tokio's blocking pool, where a group may block
    /// in `fdatasync` without holding up a worker's tasks.
    BlockingPool,
    /// A task that yields before each [`GroupCommit::lead_gathered`], so that its worker's
    /// ready tasks queue their commits into the group first.
    YieldingTask,
}

impl Plan {
    /// The leader policy; `StateEngine::lead` in `engine.rs` gives the measurements behind it.
    /// `alone`: no other commit was in flight when this one entered ([`GroupCommit::enter`]).
    pub(crate) fn new(durability: Durability, caller: Caller, alone: bool) -> Plan {
        match (caller, durability, alone) {
            (Caller::Thread, _, _) => Plan::LeadUntilEmpty,
            (_, Durability::Fsync, false) => Plan::Queue(Background::BlockingPool),
            (Caller::MultiThreadWorker, Durability::Fsync, true) => {
                Plan::LeadOnce { block_in_place: true }
            }
            (Caller::CurrentThreadWorker, Durability::Fsync, true) => {
                Plan::LeadOnce { block_in_place: false }
            }
            (_, Durability::Flush | Durability::Async, _) => Plan::Queue(Background::YieldingTask),
        }
    }
}

/// What a leader does with a group: the writer's side of the hand-over. [`Writer`] is the real
/// one; the model test uses one that records what it was given.
pub(crate) trait GroupWriter {
    /// A queued request.
    type Request: Send;
    /// Commit `group` and answer its requests, leaving `group` empty.
    fn commit_group(&mut self, group: &mut Vec<Self::Request>);
    /// Answer a request that the closed engine will never commit.
    fn refuse_closed(request: Self::Request);
    /// Make everything committed durable, and let the log go.
    fn shut_down(&mut self) -> Result<(), EngineError>;
}

impl<E: Event> GroupWriter for Writer<E> {
    type Request = Box<dyn Proposal<E>>;

    fn commit_group(&mut self, group: &mut Vec<Self::Request>) {
        Writer::commit_group(self, group.drain(..));
    }

    fn refuse_closed(request: Self::Request) {
        request.fail(EngineError::Closed);
    }

    fn shut_down(&mut self) -> Result<(), EngineError> {
        Writer::shut_down(self)
    }
}

pub(crate) struct GroupCommit<W: GroupWriter> {
    queue: Mutex<Vec<W::Request>>,
    /// Whoever holds this lock is the leader.
    leader: Mutex<Leader<W>>,
    /// Whether a background leader is running (or about to).
    background: AtomicBool,
    /// Commits whose callers wait for them ([`InFlight`]).
    in_flight: AtomicUsize,
    /// How many hold the background role, which the model checks is never more than one.
    #[cfg(test)]
    background_holders: std::sync::atomic::AtomicUsize,
}

/// One caller's commit, counted as in flight until this is dropped (answered or abandoned).
pub(crate) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Leader<W: GroupWriter> {
    /// `None` once the engine is closed: requests then fail with [`EngineError::Closed`].
    writer: Option<W>,
    /// The group being committed, swapped with the queue so that neither allocates.
    group: Vec<W::Request>,
}

impl<W: GroupWriter> GroupCommit<W> {
    pub(crate) fn new(writer: W) -> Self {
        let leader = Mutex::new(Leader { writer: Some(writer), group: Vec::with_capacity(256) });
        #[cfg(test)]
        let leader = leader.release_visibly();
        GroupCommit {
            queue: Mutex::new(Vec::with_capacity(256)),
            leader,
            background: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            #[cfg(test)]
            background_holders: Default::default(),
        }
    }

    /// Queue `request` and do this committer's part of `plan` (see [`Plan`]). Returns the
    /// background leader the caller must start, its role already claimed: a thread of the
    /// blocking pool running [`GroupCommit::lead_in_background`], or a task that yields and
    /// calls [`GroupCommit::lead_gathered`] for as long as it says so.
    pub(crate) fn dispatch(&self, request: W::Request, plan: Plan) -> Option<Background> {
        let (left, background) = match plan {
            Plan::LeadUntilEmpty => {
                if self.submit(request) {
                    while self.lead() {}
                }
                return None;
            }
            Plan::LeadOnce { .. } => (self.submit(request), Background::BlockingPool),
            Plan::Queue(background) => {
                self.push(request);
                (true, background)
            }
        };
        (left && self.claim_background()).then_some(background)
    }

    /// Queue `request` and commit the queue if nobody else is. Returns whether requests are
    /// left that nobody is committing; then call [`GroupCommit::lead`] until it says no.
    fn submit(&self, request: W::Request) -> bool {
        lock(&self.queue).push(request);
        self.lead()
    }

    /// Count a commit as in flight; also says whether it is the only one.
    pub(crate) fn enter(&self) -> (InFlight<'_>, bool) {
        let before = self.in_flight.fetch_add(1, Ordering::Relaxed);
        (InFlight(&self.in_flight), before == 0)
    }

    /// Queue `request` without leading: the background leader will commit it.
    fn push(&self, request: W::Request) {
        lock(&self.queue).push(request);
    }

    /// Take the background leader's role. Returns whether it was free: the caller must then
    /// lead until [`GroupCommit::release_background`] lets it stop, e.g. with
    /// [`GroupCommit::lead_in_background`] on a thread where blocking is expected.
    fn claim_background(&self) -> bool {
        let claimed = !self.background.swap(true, Ordering::AcqRel);
        #[cfg(test)]
        if claimed {
            let holders = self.background_holders.fetch_add(1, Ordering::Relaxed) + 1;
            assert_eq!(holders, 1, "two background leaders at once");
        }
        claimed
    }

    /// Commit what is queued, as one group, unless another leader is at work (it will see the
    /// queue when it is done). Returns whether requests are left that nobody is committing.
    fn lead(&self) -> bool {
        match self.leader.try_lock() {
            Ok(leader) => self.commit_queue(leader),
            Err(TryLockError::Poisoned(poisoned)) => self.commit_queue(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => false,
        }
    }

    /// The background leader: commit groups until the queue is empty. It waits for a busy
    /// writer instead of leaving the queue to its holder: on its blocking-pool thread waiting
    /// is cheap, and giving up could strand a request (or spin) while the roles change hands.
    pub(crate) fn lead_in_background(&self) {
        loop {
            while self.commit_queue(lock(&self.leader)) {}
            if !self.release_background() {
                return;
            }
        }
    }

    /// One turn of the yielding background leader: commit a group. Returns whether the role is
    /// still the caller's; then it yields and calls again.
    pub(crate) fn lead_gathered(&self) -> bool {
        self.lead() || self.release_background()
    }

    /// Give up the background leader's role. Returns whether the caller must go on leading: a
    /// request queued between its last look at the queue and the release found the role taken
    /// and counts on it (one queued after the release starts a new background leader itself).
    fn release_background(&self) -> bool {
        #[cfg(test)]
        self.background_holders.fetch_sub(1, Ordering::Relaxed);
        self.background.store(false, Ordering::Release);
        !lock(&self.queue).is_empty() && self.claim_background()
    }

    /// Commit what is queued as one group, as the leader. Returns whether requests are left.
    fn commit_queue(&self, mut leader: MutexGuard<'_, Leader<W>>) -> bool {
        let Leader { writer, group } = &mut *leader;
        std::mem::swap(&mut *lock(&self.queue), group);
        match writer {
            Some(writer) => writer.commit_group(group),
            None => group.drain(..).for_each(W::refuse_closed),
        }
        drop(leader);
        // Looked at only now that the writer is free again: a request queued while we held
        // it found the writer busy and counts on us.
        !lock(&self.queue).is_empty()
    }

    /// Commit what is queued, sync the log, and close: later requests fail with
    /// [`EngineError::Closed`]. Blocks until the current leader is done. Idempotent.
    pub(crate) fn close(&self) -> Result<(), EngineError> {
        let closed = self.close_writer();
        // As in `commit_queue`: a request queued while we held the writer found it busy and
        // counts on us. It is refused now (or by whoever holds the writer by then). Without
        // this, a lone commit that came during the close waited forever (the model found it).
        while self.lead() {}
        closed
    }

    fn close_writer(&self) -> Result<(), EngineError> {
        let mut leader = lock(&self.leader);
        let Leader { writer, group } = &mut *leader;
        let Some(mut open) = writer.take() else { return Ok(()) };
        std::mem::swap(&mut *lock(&self.queue), group);
        open.commit_group(group);
        open.shut_down()
        // `open` is dropped here, releasing the log and the data directory's lock.
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
