//! What the log store keeps across a restart, and what it refuses to start on.
//!
//! Dropping the store is a process crash as far as the disk is concerned: the store's writer
//! finishes the write it is in, and nothing is flushed on the way out that was not already
//! (the page cache keeps what was written, as it does when a process is killed).

mod common;

use std::fs;

use common::{Note, initial_membership, log_id, note, open};
use futures::future::join_all;
use lithair_cluster::{OpenError, open_storage};
use lithair_core::{Durability, EngineConfig, StateEngine};
use openraft::{
    RaftLogReader, Vote,
    storage::{RaftLogStorage, RaftLogStorageExt},
};

fn log_file(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("events.raftlog")
}

#[tokio::test]
async fn appended_entries_and_the_vote_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    let mut entries = vec![initial_membership()];
    entries.extend((1..=5).map(|i| note(1, 1, i, &format!("note {i}"))));
    store.blocking_append(entries.clone()).await.unwrap();
    let vote = Vote::new_committed(1, 1);
    store.save_vote(&vote).await.unwrap();
    drop((store, _sm));

    let (mut store, _sm) = open(dir.path()).await;
    assert_eq!(store.read_vote().await.unwrap(), Some(vote));
    assert_eq!(store.try_get_log_entries(0..).await.unwrap(), entries);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 1, 5)));
    assert_eq!(state.last_purged_log_id, None);
}

#[tokio::test]
async fn a_truncated_suffix_stays_truncated_and_the_new_one_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..10).map(|i| note(1, 1, i, "old"))).await.unwrap();
    let before = fs::read(log_file(dir.path())).unwrap();

    store.truncate(log_id(1, 1, 6)).await.unwrap();
    assert_eq!(store.get_log_state().await.unwrap().last_log_id, Some(log_id(1, 1, 5)));
    assert_eq!(store.try_get_log_entries(0..).await.unwrap().len(), 6);
    store.blocking_append((6..8).map(|i| note(2, 3, i, "new"))).await.unwrap();
    drop((store, _sm));

    let (mut store, _sm) = open(dir.path()).await;
    let mut expected: Vec<_> = (0..6).map(|i| note(1, 1, i, "old")).collect();
    expected.extend((6..8).map(|i| note(2, 3, i, "new")));
    assert_eq!(store.try_get_log_entries(0..).await.unwrap(), expected);

    // On disk: the kept records are byte for byte what they were, the cut ones are gone.
    let after = fs::read(log_file(dir.path())).unwrap();
    let kept: Vec<&[u8]> = before.split_inclusive(|&b| b == b'\n').take(6).collect();
    assert!(after.starts_with(&kept.concat()));
    let text = String::from_utf8(after).unwrap();
    assert_eq!(text.lines().count(), 8);
    assert_eq!(text.matches("\"old\"").count(), 6, "{text}");
}

#[tokio::test]
async fn truncating_everything_then_appending_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..3).map(|i| note(1, 1, i, "old"))).await.unwrap();
    store.truncate(log_id(1, 1, 0)).await.unwrap();
    assert_eq!(store.get_log_state().await.unwrap().last_log_id, None);
    assert_eq!(fs::metadata(log_file(dir.path())).unwrap().len(), 0);
    store.blocking_append([note(2, 2, 0, "new")]).await.unwrap();
    drop((store, _sm));

    let (mut store, _sm) = open(dir.path()).await;
    assert_eq!(store.try_get_log_entries(..).await.unwrap(), vec![note(2, 2, 0, "new")]);
}

#[tokio::test]
async fn a_purge_past_the_end_empties_the_file_and_the_log_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..3).map(|i| note(1, 1, i, "x"))).await.unwrap();
    // A follower installed its leader's snapshot, taken at index 9.
    store.purge(log_id(2, 2, 9)).await.unwrap();
    assert_eq!(fs::metadata(log_file(dir.path())).unwrap().len(), 0);
    store.blocking_append([note(2, 2, 10, "after")]).await.unwrap();
    drop((store, _sm));

    let (mut store, _sm) = open(dir.path()).await;
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(2, 2, 9)));
    assert_eq!(state.last_log_id, Some(log_id(2, 2, 10)));
    assert_eq!(store.try_get_log_entries(..).await.unwrap(), vec![note(2, 2, 10, "after")]);
}

#[tokio::test]
async fn a_purge_inside_the_log_moves_a_pointer_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..6).map(|i| note(1, 1, i, "x"))).await.unwrap();
    store.purge(log_id(1, 1, 3)).await.unwrap();
    drop((store, _sm));

    let (mut store, _sm) = open(dir.path()).await;
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 3)));
    let left: Vec<_> = store.try_get_log_entries(..).await.unwrap();
    assert_eq!(left, (4..6).map(|i| note(1, 1, i, "x")).collect::<Vec<_>>());
}

#[tokio::test]
async fn entries_past_the_cache_are_read_back_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    let entries: Vec<_> = (0..10_000).map(|i| note(1, 1, i, &format!("n{i}"))).collect();
    for chunk in entries.chunks(1000) {
        store.blocking_append(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(store.try_get_log_entries(0..10_000).await.unwrap(), entries);
    assert_eq!(store.try_get_log_entries(17..19).await.unwrap(), entries[17..19]);
    store.truncate(log_id(1, 1, 20)).await.unwrap();
    store.blocking_append([note(2, 1, 20, "again")]).await.unwrap();
    assert_eq!(
        store.try_get_log_entries(19..).await.unwrap(),
        vec![entries[19].clone(), note(2, 1, 20, "again")]
    );
}

/// One `fdatasync` covers every append queued while the previous one ran.
#[tokio::test]
async fn appends_queued_together_share_their_fdatasync() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _sm) = open(dir.path()).await;
    let appends = 500;
    // The futures are polled in order, and each one's append runs entirely on its first poll:
    // the entries are queued in log order, then all wait for their callbacks together.
    let mut stores: Vec<_> = (0..appends).map(|_| store.clone()).collect();
    let results = join_all(
        stores.iter_mut().zip(0..).map(|(store, i)| store.blocking_append([note(1, 1, i, "g")])),
    )
    .await;
    assert!(results.iter().all(Result::is_ok));
    let stats = store.writer_stats();
    let syncs = stats.syncs.load(std::sync::atomic::Ordering::Relaxed);
    let records = stats.records.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{records} records in {syncs} fdatasync");
    assert_eq!(records, appends);
    assert!(syncs < appends / 4, "{syncs} syncs for {appends} appends");
}

#[tokio::test]
async fn a_torn_tail_is_cut_and_what_was_synced_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..3).map(|i| note(1, 1, i, "kept"))).await.unwrap();
    drop((store, _sm));
    let path = log_file(dir.path());
    let good = fs::read(&path).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(br#"{"seq":3,"term":1,"node":1,"ts":1003,"type":"Wri"#);
    fs::write(&path, &torn).unwrap();

    let (mut store, _sm) = open(dir.path()).await;
    assert_eq!(fs::read(&path).unwrap(), good, "the torn tail is cut, the rest untouched");
    assert_eq!(store.try_get_log_entries(..).await.unwrap().len(), 3);
    store.blocking_append([note(1, 1, 3, "next")]).await.unwrap();
}

#[tokio::test]
async fn a_damaged_record_refuses_to_start_with_file_offset_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..4).map(|i| note(1, 1, i, "abc"))).await.unwrap();
    drop((store, _sm));
    let path = log_file(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let at = second + bytes[second..].windows(3).position(|w| w == b"abc").unwrap();
    bytes[at] = b'X';
    fs::write(&path, &bytes).unwrap();

    let err = open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap();
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("byte offset {second}")), "{message}");
    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(message.contains("2 valid record(s) follow it"), "{message}");
    assert_eq!(fs::read(&path).unwrap(), bytes, "the file was not modified");
}

#[tokio::test]
async fn a_record_out_of_sequence_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..3).map(|i| note(2, 1, i, "a"))).await.unwrap();
    drop((store, _sm));
    // A record of an older leader after a newer one's: checksums verify, order does not.
    let other = tempfile::tempdir().unwrap();
    let (mut older, _sm) = open(other.path()).await;
    older.blocking_append((0..4).map(|i| note(1, 1, i, "a"))).await.unwrap();
    drop((older, _sm));
    let path = log_file(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let older_bytes = fs::read(log_file(other.path())).unwrap();
    let fourth = older_bytes.split_inclusive(|&b| b == b'\n').nth(3).unwrap();
    bytes.extend_from_slice(fourth);
    fs::write(&path, &bytes).unwrap();

    let message =
        open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap().to_string();
    assert!(message.contains("log id goes back"), "{message}");
    assert_eq!(fs::read(&path).unwrap(), bytes, "the file was not modified");
}

#[tokio::test]
async fn a_version_1_log_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{"seq":1,"ts":10,"type":"Written","data":{"text":"v1"}"#;
    let v1 = format!("{body},\"crc\":\"{:08x}\"}}\n", crc32fast::hash(body.as_bytes()));
    fs::write(log_file(dir.path()), &v1).unwrap();

    let err = open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap();
    assert!(matches!(err, OpenError::V1Log { .. }), "{err}");
    assert!(err.to_string().contains("version-1"), "{err}");
    assert_eq!(fs::read_to_string(log_file(dir.path())).unwrap(), v1);
}

#[tokio::test]
async fn a_single_server_refuses_a_cluster_log_as_corruption_without_cutting_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append([initial_membership(), note(1, 1, 1, "v2")]).await.unwrap();
    drop((store, _sm));
    let bytes = fs::read(log_file(dir.path())).unwrap();

    let config = EngineConfig {
        data_dir: dir.path().to_owned(),
        durability: Durability::Fsync,
        snapshot_every: 0,
        snapshot_keep: 1,
    };
    let err = StateEngine::<Note>::open(config).err().expect("a v1 engine refuses a v2 log");
    assert!(
        matches!(err, lithair_core::OpenError::Corrupt { offset: 0, .. }),
        "a v2 log must be corruption at byte 0 for a v1 reader: {err}"
    );
    assert_eq!(fs::read(log_file(dir.path())).unwrap(), bytes, "the file was not modified");
}

#[tokio::test]
async fn async_durability_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_storage::<Note>(dir.path(), Durability::Async).await.err().unwrap();
    assert!(matches!(err, OpenError::Durability(Durability::Async)), "{err}");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _open = open(dir.path()).await;
    let err = open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap();
    assert!(matches!(err, OpenError::Log(lithair_core::OpenError::Locked { .. })), "{err}");
}

#[tokio::test]
async fn a_log_that_starts_after_what_was_purged_has_lost_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append((0..8).map(|i| note(1, 1, i, "x"))).await.unwrap();
    drop((store, _sm));
    let path = log_file(dir.path());
    let bytes = fs::read(&path).unwrap();
    let from_5: Vec<u8> =
        bytes.split_inclusive(|&b| b == b'\n').skip(5).flatten().copied().collect();
    fs::write(&path, &from_5).unwrap();

    let err = open_storage::<Note>(dir.path(), Durability::Fsync).await.err().unwrap();
    assert!(err.to_string().contains("entries are missing"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), from_5, "the file was not modified");
}

#[tokio::test]
async fn a_refused_append_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _sm) = open(dir.path()).await;
    store.blocking_append([note(1, 1, 0, "a")]).await.unwrap();
    let mut reserved = note(1, 1, 2, "b");
    if let openraft::EntryPayload::Normal(events) = &mut reserved.payload {
        events.0[0].event_type = "raft.Sneaky".into();
    }
    let err = store.blocking_append([note(1, 1, 1, "fine"), reserved]).await.unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    assert_eq!(store.try_get_log_entries(..).await.unwrap(), vec![note(1, 1, 0, "a")]);
    store.blocking_append([note(1, 1, 1, "next")]).await.unwrap();
    drop((store, _sm));
    let (mut store, _sm) = open(dir.path()).await;
    assert_eq!(
        store.try_get_log_entries(..).await.unwrap(),
        vec![note(1, 1, 0, "a"), note(1, 1, 1, "next")]
    );
}
