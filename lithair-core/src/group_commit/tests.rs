//! The leader policy as a table: one row per situation a committer can be in.

use super::{Background, Caller, Plan};
use crate::Durability::{self, Async, Flush, Fsync};

use Background::{BlockingPool, YieldingTask};
use Caller::{CurrentThreadWorker, MultiThreadWorker, Thread};

/// `(mode, caller, alone, plan)`; every combination appears once.
const POLICY: [(Durability, Caller, bool, Plan); 18] = [
    // Outside tokio nobody else would lead: lead until the queue is empty, in every mode.
    (Fsync, Thread, true, Plan::LeadUntilEmpty),
    (Fsync, Thread, false, Plan::LeadUntilEmpty),
    (Flush, Thread, true, Plan::LeadUntilEmpty),
    (Flush, Thread, false, Plan::LeadUntilEmpty),
    (Async, Thread, true, Plan::LeadUntilEmpty),
    (Async, Thread, false, Plan::LeadUntilEmpty),
    // `fsync` on a worker: a lone commit leads its own group, off the worker's other tasks
    // where the runtime can move them; under load the blocking pool's leader syncs.
    (Fsync, MultiThreadWorker, true, Plan::LeadOnce { block_in_place: true }),
    (Fsync, CurrentThreadWorker, true, Plan::LeadOnce { block_in_place: false }),
    (Fsync, MultiThreadWorker, false, Plan::Queue(BlockingPool)),
    (Fsync, CurrentThreadWorker, false, Plan::Queue(BlockingPool)),
    // `flush` and `async` on a worker: always the yielding task, alone or not, so that
    // groups gather.
    (Flush, MultiThreadWorker, true, Plan::Queue(YieldingTask)),
    (Flush, MultiThreadWorker, false, Plan::Queue(YieldingTask)),
    (Flush, CurrentThreadWorker, true, Plan::Queue(YieldingTask)),
    (Flush, CurrentThreadWorker, false, Plan::Queue(YieldingTask)),
    (Async, MultiThreadWorker, true, Plan::Queue(YieldingTask)),
    (Async, MultiThreadWorker, false, Plan::Queue(YieldingTask)),
    (Async, CurrentThreadWorker, true, Plan::Queue(YieldingTask)),
    (Async, CurrentThreadWorker, false, Plan::Queue(YieldingTask)),
];

#[test]
fn the_leader_policy_is_the_table() {
    let wrong: Vec<String> = POLICY
        .iter()
        .filter_map(|&(mode, caller, alone, expected)| {
            let got = Plan::new(mode, caller, alone);
            (got != expected)
                .then(|| format!("{mode} {caller:?} alone={alone}: {got:?}, expected {expected:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "the leader policy changed:\n{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_every_situation_once() {
    for mode in Durability::ALL {
        for caller in [Thread, MultiThreadWorker, CurrentThreadWorker] {
            for alone in [true, false] {
                let rows =
                    POLICY.iter().filter(|row| (row.0, row.1, row.2) == (mode, caller, alone));
                assert_eq!(rows.count(), 1, "{mode} {caller:?} alone={alone}");
            }
        }
    }
}

/// Only a caller inside tokio may be handed a background leader to start, and only the
/// blocking pool's may sync.
#[test]
fn only_workers_start_background_leaders_and_only_fsync_blocks() {
    for &(mode, caller, _, plan) in &POLICY {
        let background = match plan {
            Plan::LeadUntilEmpty => None,
            Plan::LeadOnce { .. } => Some(BlockingPool),
            Plan::Queue(background) => Some(background),
        };
        assert_eq!(caller == Thread, background.is_none(), "{mode} {caller:?}: {plan:?}");
        if background == Some(BlockingPool) {
            assert_eq!(mode, Fsync, "{caller:?}: {plan:?}");
        }
    }
}
