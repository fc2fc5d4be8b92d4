//! The hand-over, model-checked: loom runs each scenario once per interleaving of its threads
//! (see the module doc of `group_commit.rs` for why loom).
//!
//! A scenario is a few committers, each doing what `StateEngine::lead` does — enter, plan,
//! dispatch, start the background leader it is handed (a loom thread stands for tokio's
//! blocking pool and for a task; `block_in_place` only moves other tasks, so it is left out) —
//! and, in some, a `close` at the same time. A committer gives up its place in flight as soon
//! as it has dispatched, which the real one does only once answered or abandoned: `alone` is
//! then true in more interleavings, which covers the real ones and the abandoned commits too.
//! Once every thread has finished, the checks: each request was answered exactly once (by its
//! group, or refused after the close), in `fsync` mode only after its group's sync, and the
//! group commit is at rest: nothing queued, no background role left claimed (later commits
//! would only queue, and wait forever), the leader's lock free. That no two leaders commit at
//! once is checked by the writer as it commits, and that the background role is never held
//! twice by [`GroupCommit`] itself in this build.
//!
//! What loom explores is bounded (three preemptions, at most five threads), and within the
//! bound its partial-order reduction does not try every schedule: a three-committer scenario
//! missed a lone leader dropping the requests left after its group, which the two-committer
//! scenario beside it finds. So the scenarios are small and each aims at one hand-over; every
//! one of them was seen failing against a deliberate breakage of the code it covers.

use std::sync::{Arc as StdArc, Mutex as StdMutex, atomic::Ordering};

use loom::{model::Builder, sync::Arc, thread};

use super::{Background, Caller, GroupCommit, GroupWriter, Plan, sync::AtomicBool};
use crate::{Durability, EngineError};

use Caller::{CurrentThreadWorker, MultiThreadWorker, Thread};

#[test]
fn fsync_two_committers_on_workers() {
    explore(Durability::Fsync, &[MultiThreadWorker, MultiThreadWorker], false);
}

#[test]
fn fsync_three_committers_in_and_out_of_tokio() {
    explore(Durability::Fsync, &[Thread, CurrentThreadWorker, MultiThreadWorker], false);
}

/// A lone commit leads its own group; one from outside tokio, arriving meanwhile, finds the
/// writer busy and counts on that leader to hand it on.
#[test]
fn fsync_a_commit_outside_tokio_behind_a_lone_leader() {
    explore(Durability::Fsync, &[Thread, MultiThreadWorker], false);
}

#[test]
fn flush_two_committers_on_workers() {
    explore(Durability::Flush, &[MultiThreadWorker, CurrentThreadWorker], false);
}

#[test]
fn async_three_committers_in_and_out_of_tokio() {
    explore(Durability::Async, &[Thread, MultiThreadWorker, MultiThreadWorker], false);
}

#[test]
fn three_committers_outside_tokio() {
    explore(Durability::Fsync, &[Thread, Thread, Thread], false);
}

#[test]
fn fsync_close_while_committing() {
    explore(Durability::Fsync, &[MultiThreadWorker, MultiThreadWorker], true);
}

#[test]
fn flush_close_while_committing() {
    explore(Durability::Flush, &[MultiThreadWorker, Thread], true);
}

/// Run the scenario under every interleaving loom explores. Loom counts the main thread among
/// its five: committers past the first run on threads of their own, and each committer on a
/// worker may start one background leader.
fn explore(durability: Durability, callers: &'static [Caller], close: bool) {
    let mut builder = Builder::new();
    // Races that need more than three preemptions are out of reach; this bounds the runtime.
    builder.preemption_bound.get_or_insert(3);
    builder.check(move || run(durability, callers, close));
}

fn run(durability: Durability, callers: &'static [Caller], close: bool) {
    let history = History::default();
    let commits = Arc::new(GroupCommit::new(ModelWriter::new(durability, history.clone())));
    let started = Started::default();

    // The first committer runs on the main thread, unless the main thread closes.
    let (on_main, spawned) = if close { (None, callers) } else { (callers.first(), &callers[1..]) };
    let committers: Vec<_> = spawned
        .iter()
        .enumerate()
        .map(|(i, &caller)| {
            let (commits, history, started) = (commits.clone(), history.clone(), started.clone());
            let request = Request { id: i + usize::from(on_main.is_some()), history };
            thread::spawn(move || commit(&commits, request, durability, caller, &started))
        })
        .collect();
    if let Some(&caller) = on_main {
        commit(&commits, Request { id: 0, history: history.clone() }, durability, caller, &started);
    }
    if close {
        commits.close().expect("the model's shut_down cannot fail");
    }
    for committer in committers {
        committer.join().unwrap();
    }
    loop {
        let Some(leader) = started.lock().unwrap().pop() else { break };
        leader.join().unwrap();
    }

    history.check(durability, callers.len());
    assert!(commits.queue.lock().unwrap().is_empty(), "a request was stranded in the queue");
    assert!(
        !commits.background.load(Ordering::Acquire),
        "the background role was left claimed: later commits would only queue (holders {}, {:?})",
        commits.background_holders.load(Ordering::Relaxed),
        history.lock().unwrap()
    );
    assert_eq!(commits.background_holders.load(Ordering::Relaxed), 0);
    assert_eq!(commits.in_flight.load(Ordering::Relaxed), 0);
    assert!(commits.leader.try_lock().is_ok(), "the leader's lock was left held");
}

/// What `StateEngine::lead` does, with loom threads for tokio's.
fn commit(
    commits: &Arc<GroupCommit<ModelWriter>>,
    request: Request,
    durability: Durability,
    caller: Caller,
    started: &Started,
) {
    let (in_flight, alone) = commits.enter();
    let plan = Plan::new(durability, caller, alone);
    if let Some(background) = commits.dispatch(request, plan) {
        assert_ne!(caller, Thread, "a background leader for a caller outside tokio");
        let commits = Arc::clone(commits);
        let leader = thread::spawn(move || match background {
            Background::BlockingPool => commits.lead_in_background(),
            // `lead_after_ready_tasks` in `engine.rs`.
            Background::YieldingTask => loop {
                thread::yield_now();
                if !commits.lead_gathered() {
                    break;
                }
            },
        });
        started.lock().unwrap().push(leader);
    }
    drop(in_flight);
}

/// The background leaders started, to be joined. A std lock: it is never held across a loom
/// operation, so it never blocks, and loom need not see it.
type Started = StdArc<StdMutex<Vec<thread::JoinHandle<()>>>>;

struct Request {
    id: usize,
    history: History,
}

/// Stands for [`crate::writer::Writer`]: each group is "written", synced in `fsync` mode and
/// answered in the order the real writer follows, and all of it recorded.
struct ModelWriter {
    durability: Durability,
    groups: usize,
    history: History,
    /// Set while a group is being committed: the writer sits in `write` or `fdatasync` then,
    /// and loom may run other threads meanwhile.
    committing: AtomicBool,
}

impl ModelWriter {
    fn new(durability: Durability, history: History) -> Self {
        ModelWriter { durability, groups: 0, history, committing: AtomicBool::new(false) }
    }
}

impl GroupWriter for ModelWriter {
    type Request = Request;

    fn commit_group(&mut self, group: &mut Vec<Request>) {
        if group.is_empty() {
            // Like the real writer: no write, no sync.
            return;
        }
        assert!(!self.committing.swap(true, Ordering::AcqRel), "two leaders at once");
        self.groups += 1;
        let number = self.groups;
        let ids: Vec<usize> = group.drain(..).map(|request| request.id).collect();
        let written = ids.iter().map(|&id| Step::Written { id, group: number });
        let answered = ids.iter().map(|&id| Step::Answered { id });
        match self.durability {
            Durability::Async => {
                self.history.lock().unwrap().extend(answered);
                self.history.lock().unwrap().extend(written);
            }
            Durability::Flush => {
                self.history.lock().unwrap().extend(written);
                self.takes_a_while();
                self.history.lock().unwrap().extend(answered);
            }
            Durability::Fsync => {
                self.history.lock().unwrap().extend(written);
                self.takes_a_while();
                self.history.lock().unwrap().push(Step::Synced { group: number });
                self.history.lock().unwrap().extend(answered);
            }
        }
        self.committing.store(false, Ordering::Release);
    }

    fn refuse_closed(request: Request) {
        request.history.lock().unwrap().push(Step::Refused { id: request.id });
    }

    fn shut_down(&mut self) -> Result<(), EngineError> {
        self.takes_a_while();
        self.history.lock().unwrap().push(Step::ShutDown);
        Ok(())
    }
}

impl ModelWriter {
    /// A `write` or an `fdatasync`: long enough for the other threads to run meanwhile, which
    /// loom is told by a yield. Without it, loom would not try a committer's `try_lock` while
    /// the leader holds the lock after taking the queue: it sees no operation of the leader's
    /// there (releasing a lock is not one) that such a committer could race with.
    fn takes_a_while(&self) {
        thread::yield_now();
    }
}

/// What the writer did, in order. Written only by the leader (which holds the leader's lock),
/// read once every thread has finished: a std lock, for the same reason as [`Started`].
#[derive(Clone, Default)]
struct History(StdArc<StdMutex<Vec<Step>>>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Written { id: usize, group: usize },
    Synced { group: usize },
    Answered { id: usize },
    Refused { id: usize },
    ShutDown,
}

impl std::ops::Deref for History {
    type Target = StdMutex<Vec<Step>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl History {
    /// Every request `0..requests` answered exactly once: after its group's sync in `fsync`
    /// mode, after its write in `flush` mode; refused only once the writer has shut down.
    fn check(&self, durability: Durability, requests: usize) {
        let steps = self.lock().unwrap();
        for id in 0..requests {
            let answers: Vec<usize> = (0..steps.len())
                .filter(|&at| matches!(steps[at], Step::Answered { id: a } | Step::Refused { id: a } if a == id))
                .collect();
            assert_eq!(
                answers.len(),
                1,
                "request {id} answered {} times: {steps:?}",
                answers.len()
            );
            let at = answers[0];
            let before = &steps[..at];
            if let Step::Refused { .. } = steps[at] {
                assert!(
                    before.contains(&Step::ShutDown),
                    "request {id} refused while open: {steps:?}"
                );
                continue;
            }
            let written = before.iter().find_map(|step| match *step {
                Step::Written { id: w, group } if w == id => Some(group),
                _ => None,
            });
            match durability {
                Durability::Fsync => {
                    let group = written
                        .unwrap_or_else(|| panic!("request {id} answered unwritten: {steps:?}"));
                    assert!(
                        before.contains(&Step::Synced { group }),
                        "request {id} answered before its group's sync: {steps:?}"
                    );
                }
                Durability::Flush => {
                    assert!(written.is_some(), "request {id} answered unwritten: {steps:?}")
                }
                Durability::Async => {}
            }
        }
    }
}
