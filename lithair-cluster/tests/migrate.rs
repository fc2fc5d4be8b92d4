//! A single server's data directory migrated to a cluster node's.

mod common;

use std::fs;

use common::{Note, log_id};
use lithair_cluster::{MigrateError, Node, OpenError, migrate_v1, open_storage};
use lithair_core::{Durability, EngineConfig, StateEngine};
use openraft::{
    EntryPayload, RaftLogReader, Vote,
    storage::{RaftLogStorage, RaftStateMachine},
};

fn node() -> Node {
    Node { peer: "127.0.0.1:7001".into(), api: "127.0.0.1:8001".into() }
}

async fn single_server_with(dir: &std::path::Path, texts: &[&str]) {
    let engine = StateEngine::<Note>::open(EngineConfig::new(dir)).unwrap();
    for text in texts {
        engine.commit(Note::Written { text: (*text).into() }).await.unwrap();
    }
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_migrated_log_holds_every_event_and_its_state() {
    let dir = tempfile::tempdir().unwrap();
    single_server_with(dir.path(), &["a", "b", "c"]).await;
    let v1 = fs::read(dir.path().join("events.raftlog")).unwrap();
    assert!(matches!(
        open_storage::<Note>(dir.path(), Durability::Fsync).await.err(),
        Some(OpenError::V1Log { .. })
    ));

    let migrated = migrate_v1::<Note>(dir.path(), 1, node()).await.unwrap();
    assert_eq!(migrated.events, 3);
    assert_eq!(fs::read(&migrated.backup).unwrap(), v1, "the v1 log is kept as it was");

    let (mut store, mut sm) = open_storage::<Note>(dir.path(), Durability::Fsync).await.unwrap();
    assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new_committed(1, 1)));
    assert_eq!(store.read_committed().await.unwrap(), Some(log_id(1, 1, 3)));
    let entries = store.try_get_log_entries(..).await.unwrap();
    assert_eq!(entries.len(), 4);
    let EntryPayload::Membership(membership) = &entries[0].payload else {
        panic!("index 0 is the initial membership")
    };
    assert_eq!(membership.voter_ids().collect::<Vec<_>>(), [1]);
    // What openraft does at start-up: apply what is committed.
    sm.apply(entries.clone()).await.unwrap();
    assert_eq!(sm.reader().with_state(Clone::clone), ["a", "b", "c"]);

    // Each record keeps the v1 record's ts, type and data.
    let v1_text = String::from_utf8(v1).unwrap();
    let v2_text = fs::read_to_string(dir.path().join("events.raftlog")).unwrap();
    for (old, new) in v1_text.lines().zip(v2_text.lines().skip(1)) {
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        let new: serde_json::Value = serde_json::from_str(new).unwrap();
        for field in ["seq", "ts", "type", "data"] {
            assert_eq!(old[field], new[field], "{field}");
        }
        assert_eq!((new["term"].as_u64(), new["node"].as_u64()), (Some(1), Some(1)));
    }
}

#[tokio::test]
async fn migrating_twice_or_a_damaged_log_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    single_server_with(dir.path(), &["a", "b", "c"]).await;
    migrate_v1::<Note>(dir.path(), 1, node()).await.unwrap();
    let v2 = fs::read(dir.path().join("events.raftlog")).unwrap();
    let err = migrate_v1::<Note>(dir.path(), 1, node()).await.unwrap_err();
    assert!(matches!(err, MigrateError::NotV1(_)), "{err}");
    assert_eq!(fs::read(dir.path().join("events.raftlog")).unwrap(), v2);

    let damaged = tempfile::tempdir().unwrap();
    single_server_with(damaged.path(), &["abc", "def", "ghi"]).await;
    let path = damaged.path().join("events.raftlog");
    let bytes = fs::read_to_string(&path).unwrap().replace("def", "dXf");
    fs::write(&path, &bytes).unwrap();
    let err = migrate_v1::<Note>(damaged.path(), 1, node()).await.unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), bytes);
    assert!(!damaged.path().join("events.raftlog.v1").exists());
    assert!(!damaged.path().join("raft-vote.json").exists());
}
