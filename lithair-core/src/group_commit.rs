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

use std::sync::{
    Mutex, MutexGuard, PoisonError, TryLockError,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use crate::{
    EngineError, Event,
    writer::{Proposal, Writer},
};

pub(crate) struct GroupCommit<E: Event> {
    queue: Mutex<Vec<Box<dyn Proposal<E>>>>,
    /// Whoever holds this lock is the leader.
    leader: Mutex<Leader<E>>,
    /// Whether a background leader is running (or about to).
    background: AtomicBool,
    /// Commits whose callers wait for them ([`InFlight`]).
    in_flight: AtomicUsize,
}

/// One caller's commit, counted as in flight until this is dropped (answered or abandoned).
pub(crate) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Leader<E: Event> {
    /// `None` once the engine is closed: requests then fail with [`EngineError::Closed`].
    writer: Option<Writer<E>>,
    /// The group being committed, swapped with the queue so that neither allocates.
    group: Vec<Box<dyn Proposal<E>>>,
}

impl<E: Event> GroupCommit<E> {
    pub(crate) fn new(writer: Writer<E>) -> Self {
        GroupCommit {
            queue: Mutex::new(Vec::with_capacity(256)),
            leader: Mutex::new(Leader { writer: Some(writer), group: Vec::with_capacity(256) }),
            background: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Queue `proposal` and commit the queue if nobody else is. Returns whether requests are
    /// left that nobody is committing; then call [`GroupCommit::lead`] until it says no.
    pub(crate) fn submit(&self, proposal: Box<dyn Proposal<E>>) -> bool {
        lock(&self.queue).push(proposal);
        self.lead()
    }

    /// Count a commit as in flight; also says whether it is the only one.
    pub(crate) fn enter(&self) -> (InFlight<'_>, bool) {
        let before = self.in_flight.fetch_add(1, Ordering::Relaxed);
        (InFlight(&self.in_flight), before == 0)
    }

    /// Queue `proposal` without leading: the background leader will commit it.
    pub(crate) fn push(&self, proposal: Box<dyn Proposal<E>>) {
        lock(&self.queue).push(proposal);
    }

    /// Take the background leader's role. Returns whether it was free: the caller must then
    /// lead until [`GroupCommit::release_background`] lets it stop, e.g. with
    /// [`GroupCommit::lead_in_background`] on a thread where blocking is expected.
    pub(crate) fn claim_background(&self) -> bool {
        !self.background.swap(true, Ordering::AcqRel)
    }

    /// Commit what is queued, as one group, unless another leader is at work (it will see the
    /// queue when it is done). Returns whether requests are left that nobody is committing.
    pub(crate) fn lead(&self) -> bool {
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

    /// Give up the background leader's role. Returns whether the caller must go on leading: a
    /// request queued between its last look at the queue and the release found the role taken
    /// and counts on it (one queued after the release starts a new background leader itself).
    pub(crate) fn release_background(&self) -> bool {
        self.background.store(false, Ordering::Release);
        !lock(&self.queue).is_empty() && !self.background.swap(true, Ordering::AcqRel)
    }

    /// Commit what is queued as one group, as the leader. Returns whether requests are left.
    fn commit_queue(&self, mut leader: MutexGuard<'_, Leader<E>>) -> bool {
        let Leader { writer, group } = &mut *leader;
        std::mem::swap(&mut *lock(&self.queue), group);
        match writer {
            Some(writer) => writer.commit_group(group.drain(..)),
            None => group.drain(..).for_each(|proposal| proposal.fail(EngineError::Closed)),
        }
        drop(leader);
        // Looked at only now that the writer is free again: a request queued while we held
        // it found the writer busy and counts on us.
        !lock(&self.queue).is_empty()
    }

    /// Commit what is queued, sync the log, and close: later requests fail with
    /// [`EngineError::Closed`]. Blocks until the current leader is done. Idempotent.
    pub(crate) fn close(&self) -> Result<(), EngineError> {
        let mut leader = lock(&self.leader);
        let Leader { writer, group } = &mut *leader;
        let Some(mut open) = writer.take() else { return Ok(()) };
        std::mem::swap(&mut *lock(&self.queue), group);
        open.commit_group(group.drain(..));
        open.shut_down()
        // `open` is dropped here, releasing the log and the data directory's lock.
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
