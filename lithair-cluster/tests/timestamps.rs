//! docs/raftlog.md: an event's `ts` is strictly greater than every earlier event's in the log,
//! across leaders too. Here the previous leader's clock ran an hour ahead of this node's (as a
//! clock stepping back would look): the new leader must stamp after the last event of its log,
//! even one it had received but not applied when it was elected.

mod common;

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::{Note, initial_membership, log_id, note, open};
use lithair_cluster::{
    ClusterNode, NodeConfig,
    auth::ClusterSecret,
    proposer::{WriteError, Written},
};
use lithair_core::Durability;
use openraft::{
    EntryPayload, RaftSnapshotBuilder, Vote,
    storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine},
};

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64
}

/// The `ts` of every application event in the log at `path`, in log order.
fn event_timestamps(path: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| !record["type"].as_str().unwrap().starts_with("raft."))
        .map(|record| record["ts"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_leader_stamps_after_the_last_event_of_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let ahead = now_micros() + 3_600_000_000;
    {
        // Node 1's log as term 1's leader left it: one event, stamped by a clock an hour ahead,
        // stored but not known to be committed (so not applied at start-up).
        let (mut store, _sm) = open(dir.path()).await;
        let mut event = note(1, 1, 1, "stamped ahead");
        if let EntryPayload::Normal(events) = &mut event.payload {
            events.0[0].ts = ahead;
        }
        store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
        store.blocking_append([initial_membership(), event]).await.unwrap();
    }

    let (node, written) = start_and_write(dir.path()).await;
    assert!(written.ts > ahead, "stamped {} after an event stamped {ahead}", written.ts);
    assert_eq!(node.reader().with_state(Clone::clone), ["stamped ahead", "after the election"]);
    assert!(written.index > 1, "written after the event already in the log");
    node.shutdown().await;

    let stamps = event_timestamps(&dir.path().join("events.raftlog"));
    assert_eq!(stamps.len(), 2);
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]), "{stamps:?}");
}

/// Start node 1 on `dir` and write once it leads.
async fn start_and_write(dir: &std::path::Path) -> (ClusterNode<Note>, Written<Note>) {
    let config = NodeConfig {
        id: 1,
        data_dir: dir.to_owned(),
        durability: Durability::Flush,
        peer_advertise: "127.0.0.1:7001".into(),
        api_advertise: "127.0.0.1:8001".into(),
        secret: ClusterSecret::new("test-cluster-secret-0123456789").unwrap(),
        routes: HashMap::new(),
        max_peer_body: NodeConfig::DEFAULT_MAX_PEER_BODY,
        snapshot_every: 0,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node = ClusterNode::<Note>::start(config, listener, None).await.unwrap();

    // Node 1, alone in the membership, leads again; until then it refuses.
    let deadline = Instant::now() + Duration::from_secs(10);
    let written = loop {
        let write = node
            .proposer()
            .write(|_| Ok::<_, ()>(Note::Written { text: "after the election".into() }))
            .await;
        match write {
            Ok(written) => break written,
            Err(WriteError::NotLeader(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the write failed: {err}"),
        }
    };
    (node, written)
}

#[tokio::test]
async fn a_new_leader_stamps_after_the_events_its_snapshot_covers() {
    let dir = tempfile::tempdir().unwrap();
    let ahead = now_micros() + 3_600_000_000;
    {
        // The event stamped ahead is only in the snapshot: the log was purged past it (as a
        // follower's is when it installs its leader's snapshot).
        let (mut store, mut sm) = open(dir.path()).await;
        let mut event = note(1, 1, 1, "stamped ahead");
        if let EntryPayload::Normal(events) = &mut event.payload {
            events.0[0].ts = ahead;
        }
        let entries = [initial_membership(), event];
        store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
        store.blocking_append(entries.clone()).await.unwrap();
        sm.apply(entries).await.unwrap();
        sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        store.save_committed(Some(log_id(1, 1, 1))).await.unwrap();
        store.purge(log_id(1, 1, 1)).await.unwrap();
    }
    assert_eq!(event_timestamps(&dir.path().join("events.raftlog")), [0u64; 0]);

    let (node, written) = start_and_write(dir.path()).await;
    assert!(written.ts > ahead, "stamped {} after an event stamped {ahead}", written.ts);
    assert_eq!(node.reader().with_state(Clone::clone), ["stamped ahead", "after the election"]);
    node.shutdown().await;
}
