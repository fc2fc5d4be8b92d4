//! The state machine: committed entries decoded into the application's events and applied;
//! snapshots that survive a restart.

mod common;

use std::fs;

use common::{Note, initial_membership, log_id, note, notes, open};
use lithair_cluster::{Applied, OpenError, open_storage};
use lithair_core::Durability;
use openraft::{
    Entry, EntryPayload, RaftSnapshotBuilder, StoredMembership, storage::RaftStateMachine,
};

#[tokio::test]
async fn applies_events_to_the_state_readers_see() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, mut sm) = open(dir.path()).await;
    let reader = sm.reader();
    let blank = Entry { log_id: log_id(1, 1, 1), payload: EntryPayload::Blank };
    let replies = sm
        .apply([initial_membership(), blank, note(1, 1, 2, "a"), note(1, 1, 3, "b")])
        .await
        .unwrap();
    let changed: Vec<&[bool]> = replies.iter().map(|applied| &applied.changed[..]).collect();
    assert_eq!(changed, [&[][..], &[], &[true], &[true]]);
    assert_eq!(reader.with_state(Clone::clone), ["a", "b"]);
    assert_eq!(reader.last_applied(), Some(log_id(1, 1, 3)));
    let EntryPayload::Membership(membership) = initial_membership().payload else { unreachable!() };
    assert_eq!(reader.membership(), StoredMembership::new(Some(log_id(0, 0, 0)), membership));
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(1, 1, 3)));
}

#[tokio::test]
async fn a_failed_precondition_turns_the_event_into_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, sm) = open(dir.path()).await;
    // At most two notes: a third one was decided on a stale state.
    let mut sm = sm.with_precondition(|_, notes| notes.len() < 2);
    let replies = sm.apply((1..=3).map(|i| note(1, 1, i, &format!("n{i}")))).await.unwrap();
    assert_eq!(replies, [true, true, false].map(|changed| Applied { changed: vec![changed] }));
    assert_eq!(sm.reader().with_state(Vec::len), 2);
    assert_eq!(sm.reader().last_applied(), Some(log_id(1, 1, 3)), "it is applied, as a no-op");
}

#[tokio::test]
async fn the_events_of_one_entry_are_applied_in_order_each_with_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, sm) = open(dir.path()).await;
    let mut sm = sm.with_precondition(|_, notes| notes.len() < 2);
    let batch = notes(1, 1, 1, &["first", "second", "third"]);
    let replies = sm.apply([batch]).await.unwrap();
    assert_eq!(replies, [Applied { changed: vec![true, true, false] }]);
    assert_eq!(sm.reader().with_state(Clone::clone), ["first", "second"]);
    assert_eq!(sm.reader().last_ts(), 1_000 + 1 + 2, "the last event's ts, even a no-op's");
}

#[tokio::test]
async fn an_event_this_version_cannot_read_stops_the_state_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, mut sm) = open(dir.path()).await;
    let mut entry = note(1, 1, 1, "x");
    if let EntryPayload::Normal(events) = &mut entry.payload {
        events.0[0].event_type = "Unknown".into();
    }
    let err = sm.apply([entry]).await.unwrap_err();
    assert!(err.to_string().contains("Unknown"), "{err}");
    assert_eq!(sm.reader().last_applied(), None);
}

#[tokio::test]
async fn a_built_snapshot_is_the_state_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, mut sm) = open(dir.path()).await;
    sm.apply([initial_membership(), note(1, 1, 1, "a"), note(1, 1, 2, "b")]).await.unwrap();
    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, 1, 2)));
    sm.apply([note(1, 1, 3, "not in the snapshot")]).await.unwrap();
    drop((_store, sm));

    let (_store, mut sm) = open(dir.path()).await;
    assert_eq!(sm.reader().with_state(Clone::clone), ["a", "b"]);
    let (applied, membership) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(log_id(1, 1, 2)));
    assert_eq!(membership, snapshot.meta.last_membership);
    let current = sm.get_current_snapshot().await.unwrap().expect("the snapshot is kept");
    assert_eq!(current.meta, snapshot.meta);
    assert_eq!(current.snapshot.into_inner(), snapshot.snapshot.into_inner());
}

#[tokio::test]
async fn an_installed_snapshot_replaces_the_state_and_survives_a_restart() {
    let leader = tempfile::tempdir().unwrap();
    let (_leader_store, mut leader_sm) = open(leader.path()).await;
    leader_sm.apply([initial_membership(), note(2, 1, 1, "from the leader")]).await.unwrap();
    let snapshot = leader_sm.get_snapshot_builder().await.build_snapshot().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (_store, mut sm) = open(dir.path()).await;
    sm.apply([note(1, 2, 1, "stale")]).await.unwrap();
    let mut receiving = sm.begin_receiving_snapshot().await.unwrap();
    receiving.get_mut().extend_from_slice(snapshot.snapshot.get_ref());
    sm.install_snapshot(&snapshot.meta, receiving).await.unwrap();
    assert_eq!(sm.reader().with_state(Clone::clone), ["from the leader"]);
    drop((_store, sm));

    let (_store, mut sm) = open(dir.path()).await;
    assert_eq!(sm.reader().with_state(Clone::clone), ["from the leader"]);
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(2, 1, 1)));
}

#[tokio::test]
async fn a_damaged_snapshot_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, mut sm) = open(dir.path()).await;
    sm.apply([note(1, 1, 1, "abc")]).await.unwrap();
    sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    drop((_store, sm));
    let path = dir.path().join("raft-snapshot.json");
    let text = fs::read_to_string(&path).unwrap().replace("abc", "abd");
    fs::write(&path, &text).unwrap();

    let err = open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap();
    assert!(matches!(err, OpenError::BadFile { .. }), "{err}");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "the file was not modified");
}
