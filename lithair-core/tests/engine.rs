//! The engine end to end on real files: commits, restarts, ordering, group commit.

mod common;

use std::{
    collections::BTreeSet,
    fs,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::*;
use lithair_core::{CommitError, Durability, EngineError, EngineStats};

#[tokio::test]
async fn a_committed_event_is_applied_and_written() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);

    let committed = engine.commit(added(7)).await.unwrap();

    assert_eq!(committed.seq, 1);
    assert_eq!(engine.with_state(|s| s.live.get(&7).cloned()), Some("entry number 7".into()));
    let log = fs::read_to_string(log_path(dir.path())).unwrap();
    assert!(log.starts_with(r#"{"seq":1,"ts":"#), "{log}");
    assert!(
        log.contains(r#""type":"Added","data":{"id":7,"text":"entry number 7"},"crc":""#),
        "{log}"
    );
    assert_eq!(engine.stats().events, 1);
}

#[tokio::test]
async fn restart_replays_the_state_and_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    for mode in Durability::ALL {
        let engine = open(dir.path(), mode);
        let before = engine.stats().events;
        let first = engine.commit(added(before)).await.unwrap();
        engine.commit(LedgerEvent::Removed { id: before }).await.unwrap();
        engine.commit(added(before + 1)).await.unwrap();
        assert_eq!(first.seq, before + 1, "{mode}: the sequence continues after a restart");
        let state = engine.with_state(Clone::clone);
        engine.close().await.unwrap();

        let reopened = open(dir.path(), mode);
        assert_eq!(reopened.with_state(Clone::clone), state, "{mode}");
        assert_eq!(reopened.recovery().events_replayed, before + 3);
        reopened.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_missing_data_dir_is_created_and_an_empty_log_is_an_empty_database() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a/b/c");
    let engine = open(&dir, Durability::Fsync);
    assert_eq!(engine.stats().events, 0);
    engine.close().await.unwrap();
    assert_eq!(fs::metadata(log_path(&dir)).unwrap().len(), 0);

    let engine = open(&dir, Durability::Fsync);
    assert_eq!(engine.with_state(Clone::clone), Ledger::default());
}

#[tokio::test]
async fn timestamps_strictly_increase() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Async);
    let mut last = 0;
    for id in 0..2000 {
        let committed = engine.commit(added(id)).await.unwrap();
        assert!(committed.ts > last);
        last = committed.ts;
    }
}

#[tokio::test]
async fn a_second_engine_cannot_open_a_data_dir_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);
    let second =
        lithair_core::StateEngine::<LedgerEvent>::open(lithair_core::EngineConfig::new(dir.path()));
    assert!(matches!(second, Err(lithair_core::OpenError::Locked { .. })));
    engine.close().await.unwrap();
    open(dir.path(), Durability::Fsync);
}

#[tokio::test]
async fn commit_with_decides_against_every_earlier_commit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);

    // 200 concurrent "create with the next id" commits: ids are unique and gapless.
    let creates: Vec<_> = (0..200)
        .map(|i| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .commit_with(move |s: &Ledger| {
                        Ok::<_, ()>(LedgerEvent::Added { id: s.next_id, text: format!("{i}") })
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for create in creates {
        let LedgerEvent::Added { id, .. } = create.await.unwrap().event else { panic!() };
        assert!(ids.insert(id), "id {id} assigned twice");
    }
    assert_eq!(ids, (0..200).collect());

    // A rejected decision writes nothing.
    let log_len = engine.stats().log_bytes;
    let rejected = engine
        .commit_with(|s: &Ledger| {
            if s.live.contains_key(&999) {
                Ok(LedgerEvent::Removed { id: 999 })
            } else {
                Err("no such entry")
            }
        })
        .await;
    assert!(matches!(rejected, Err(CommitError::Rejected("no such entry"))));
    assert_eq!(engine.stats().log_bytes, log_len);
    assert_eq!(engine.stats().events, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_order_is_apply_order_under_64_concurrent_committers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);
    let committers = (0..64u64).map(|task| {
        let engine = engine.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                engine.commit(added(task * 1000 + i)).await.unwrap();
            }
        })
    });
    futures_join(committers).await;

    let applied = engine.with_state(|s| s.applied.clone());
    let log = fs::read_to_string(log_path(dir.path())).unwrap();
    let in_file: Vec<u64> = log.lines().map(id_of).collect();
    assert_eq!(in_file.len(), 6400);
    assert_eq!(in_file, applied, "the state applied events in the file's order");
    engine.close().await.unwrap();
    let replayed = open(dir.path(), Durability::Fsync).with_state(|s| s.applied.clone());
    assert_eq!(replayed, applied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_shares_syncs_between_concurrent_committers() {
    syncs_are_shared_between_64_committers().await;
}

/// With one worker, a commit that leads its group alone must not hold the worker while it
/// syncs: the other committers could not even submit, every commit would find itself alone
/// again, and each would be synced by itself (as on a one-CPU machine before `block_in_place`).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn group_commit_shares_syncs_on_a_single_worker() {
    syncs_are_shared_between_64_committers().await;
}

async fn syncs_are_shared_between_64_committers() {
    let stats = commit_50_each_from_64_tasks(Durability::Fsync).await;
    assert!(
        stats.syncs * 8 < stats.events,
        "{} syncs for {} events: groups are not shared",
        stats.syncs,
        stats.events
    );
}

/// In `flush` and `async` modes too, concurrent commits are gathered into groups rather than
/// written one by one: a `write` costs more than the rest of a commit.
///
/// How many gather depends on how the machine schedules the 64 tasks, and a busy machine can
/// run them one after the other for a while (this failed once in a full run): so the run is
/// made up to three times, and one that gathers passes. A writer that never gathers fails all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_writes_without_sync() {
    for mode in [Durability::Flush, Durability::Async] {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let stats = commit_50_each_from_64_tasks(mode).await;
            if stats.groups * 8 < stats.events {
                break;
            }
            seen.push(format!("{} groups for {} events", stats.groups, stats.events));
        }
        assert!(seen.len() < 3, "{mode}: commits are not gathered: {}", seen.join("; "));
    }
}

/// 64 tasks commit 50 events each, one after the other, on a fresh engine.
async fn commit_50_each_from_64_tasks(mode: Durability) -> EngineStats {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), mode);
    let committers = (0..64u64).map(|task| {
        let engine = engine.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                engine.commit(added(task * 1000 + i)).await.unwrap();
            }
        })
    });
    futures_join(committers).await;
    let stats = engine.stats();
    assert_eq!(stats.events, 3200, "{mode}");
    stats
}

/// Leader-based group commit must never strand a request: a commit queued while another
/// committer leads (here, while the leader's decision takes 200 ms) is committed by that leader
/// or by the one it hands over to, even if nobody commits after it. A lost hand-over shows
/// here as a commit that never resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_queued_behind_a_busy_leader_is_not_stranded() {
    for mode in Durability::ALL {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path(), mode);
        let deciding = Arc::new(AtomicBool::new(false));
        let slow = {
            let (engine, deciding) = (engine.clone(), Arc::clone(&deciding));
            tokio::spawn(async move {
                let decide = move |_: &Ledger| -> Result<LedgerEvent, ()> {
                    deciding.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(added(1))
                };
                engine.commit_with(decide).await.unwrap();
            })
        };
        while !deciding.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let queued = tokio::time::timeout(Duration::from_secs(10), engine.commit(added(2))).await;
        assert!(queued.is_ok(), "{mode}: the commit queued behind the leader never resolved");
        slow.await.unwrap();
        engine.close().await.unwrap();
    }
}

#[tokio::test]
async fn every_mode_syncs_before_close_returns() {
    for mode in Durability::ALL {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path(), mode);
        add_entries(&engine, 100).await;
        engine.close().await.unwrap();
        assert_eq!(
            fs::read_to_string(log_path(dir.path())).unwrap().lines().count(),
            100,
            "{mode}"
        );
        assert!(matches!(engine.commit(added(1000)).await, Err(EngineError::Closed)), "{mode}");
    }
}

#[tokio::test]
async fn async_mode_writes_to_the_os_right_after_acknowledging() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Async);
    engine.commit(added(1)).await.unwrap();
    // No sleep stands in for an acknowledgement: poll until written, and fail after a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while fs::metadata(log_path(dir.path())).unwrap().len() == 0 {
        assert!(std::time::Instant::now() < deadline, "async commit never reached the file");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_panicking_decision_commits_nothing_and_the_engine_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(open(dir.path(), Durability::Fsync));
    let panicking = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move {
            engine
                .commit_with(|_: &Ledger| -> Result<LedgerEvent, ()> { panic!("handler bug") })
                .await
        })
    };
    assert!(panicking.await.unwrap_err().is_panic());
    engine.commit(added(1)).await.unwrap();
    assert_eq!(engine.stats().events, 1);
}

fn id_of(line: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    value["data"]["id"].as_u64().unwrap()
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<()>>) {
    for task in tasks.collect::<Vec<_>>() {
        task.await.unwrap();
    }
}
