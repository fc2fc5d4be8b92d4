//! A log that cannot be written: commits fail cleanly, nothing acknowledged is lost.
//!
//! The failure is real: the process's file-size limit (`RLIMIT_FSIZE`) makes `write` fail with
//! `EFBIG` part-way through a group, exactly like a full disk. The limit applies to the whole
//! process, which is why this is the only test in this file (its own test binary).

mod common;

use std::fs;

use common::*;
use lithair_core::{Durability, EngineError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_fails_its_commits_applies_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);
    add_entries(&engine, 10).await;
    let limit = engine.stats().log_bytes + 4000;
    powercut::limit_file_size(Some(limit));

    // 64 concurrent committers run into the limit in the middle of a group.
    let committers = (0..64u64).map(|task| {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..20 {
                let id = 1000 + task * 100 + i;
                match engine.commit(added(id)).await {
                    Ok(_) => acknowledged.push(id),
                    Err(EngineError::Io(_) | EngineError::Poisoned(_)) => {
                        return (acknowledged, id);
                    }
                    Err(other) => panic!("unexpected error {other}"),
                }
            }
            panic!("the log never filled up");
        })
    });
    let mut acknowledged = (0..10).collect::<Vec<u64>>();
    let mut failed = Vec::new();
    for committer in committers.collect::<Vec<_>>() {
        let (acked, failed_id) = committer.await.unwrap();
        acknowledged.extend(acked);
        failed.push(failed_id);
    }
    acknowledged.sort();

    let live: Vec<u64> = engine.with_state(|s| s.live.keys().copied().collect());
    assert_eq!(live, acknowledged, "the state holds exactly the acknowledged entries");
    assert!(
        matches!(engine.commit(added(99_999)).await, Err(EngineError::Poisoned(_))),
        "later commits report the failure instead of succeeding"
    );
    assert!(engine.write_failure().is_some(), "the engine reports why it refuses writes");
    let log_len = fs::metadata(log_path(dir.path())).unwrap().len();
    assert!(log_len <= limit, "log {log_len} bytes, limit {limit}");
    assert_eq!(log_len, engine.stats().log_bytes, "a failed group leaves no partial bytes behind");
    let _ = engine.close().await;

    powercut::limit_file_size(None);
    let reopened = open(dir.path(), Durability::Fsync);
    assert_eq!(reopened.recovery().torn_bytes_cut, 0);
    let recovered: Vec<u64> = reopened.with_state(|s| s.live.keys().copied().collect());
    assert_eq!(recovered, acknowledged, "every acknowledged entry survives, and nothing else");
    for id in failed {
        assert!(!recovered.contains(&id));
    }
}
