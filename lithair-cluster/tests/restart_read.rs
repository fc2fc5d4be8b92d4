//! A leader killed and restarted before the others elect anyone must not answer a linearizable
//! read from a state that lacks acknowledged writes (docs/cluster-breakages.md, "A real bug the
//! 10-kill schedule found").
//!
//! The cluster is written to disk as it stood when leader 1 died: nodes 1 and 2 both hold the
//! whole log (so every entry was committed, and may have been acknowledged), the commit index is
//! not persisted, no snapshot; node 3 is down. Node 2 starts, then node 1. openraft 0.9 restores
//! a node whose saved vote names itself, committed, as leader at once; its read index is then
//! the first entry of its term, while it re-learns the commit index in steps (its replication
//! first probes the middle of the log). A read served then sees half of the writes.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::Path,
    time::{Duration, Instant},
};

use common::{Note, log_id, note, open};
use lithair_cluster::{ClusterNode, Node, NodeConfig, TypeConfig, auth::ClusterSecret};
use lithair_core::Durability;
use openraft::{
    Entry, EntryPayload, Membership, Vote,
    storage::{RaftLogStorage, RaftLogStorageExt},
};
use tokio::net::TcpListener;

/// Entries after the membership, all committed before the leader died.
const WRITES: u64 = 3000;

fn address(id: u64, listener: Option<&TcpListener>, unused: &str) -> Node {
    let peer = listener.map_or(unused.to_owned(), |l| l.local_addr().unwrap().to_string());
    Node { peer, api: format!("127.0.0.1:{}", 8000 + id) }
}

/// Node 1's and node 2's storage as leader 1 of term 1 left it.
async fn write_storage(dir: &Path, members: &BTreeMap<u64, Node>) {
    let (mut store, _sm) = open(dir).await;
    let membership: Entry<TypeConfig> = Entry {
        log_id: log_id(0, 0, 0),
        payload: EntryPayload::Membership(Membership::new(
            vec![BTreeSet::from([1, 2, 3])],
            members.clone(),
        )),
    };
    let mut entries = vec![membership];
    entries.extend((1..=WRITES).map(|i| note(1, 1, i, &format!("note {i}"))));
    store.blocking_append(entries).await.unwrap();
    store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
}

fn config(id: u64, dir: &Path, peer: &str) -> NodeConfig {
    NodeConfig {
        id,
        data_dir: dir.to_owned(),
        durability: Durability::Flush,
        peer_advertise: peer.to_owned(),
        api_advertise: format!("127.0.0.1:{}", 8000 + id),
        secret: ClusterSecret::new("test-cluster-secret-0123456789").unwrap(),
        routes: HashMap::new(),
        max_peer_body: NodeConfig::DEFAULT_MAX_PEER_BODY,
        snapshot_every: 0,
    }
}

#[tokio::test]
async fn a_restarted_leader_reads_every_acknowledged_write() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let listeners = [
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    // Node 3 is down: nothing listens at its address.
    let down = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().to_string();
    let members = BTreeMap::from([
        (1, address(1, Some(&listeners[0]), &down)),
        (2, address(2, Some(&listeners[1]), &down)),
        (3, address(3, None, &down)),
    ]);
    for dir in &dirs {
        write_storage(dir.path(), &members).await;
    }

    let [listener_1, listener_2] = listeners;
    let node_2 =
        ClusterNode::<Note>::start(config(2, dirs[1].path(), &members[&2].peer), listener_2, None)
            .await
            .unwrap();
    let node_1 =
        ClusterNode::<Note>::start(config(1, dirs[0].path(), &members[&1].peer), listener_1, None)
            .await
            .unwrap();

    // A linearizable read, on whichever node serves one first.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (reader, seen) = 'read: loop {
        for node in [&node_1, &node_2] {
            if node.read_barrier().wait().await.is_ok() {
                break 'read (node.id(), node.reader().with_state(Vec::len));
            }
        }
        assert!(Instant::now() < deadline, "no node served a linearizable read within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        seen, WRITES as usize,
        "node {reader} answered a linearizable read with {seen} of the {WRITES} committed writes"
    );

    node_1.shutdown().await;
    node_2.shutdown().await;
}
