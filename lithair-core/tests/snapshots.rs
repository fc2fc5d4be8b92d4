//! Snapshots: taken every N events, kept K at a time, loaded at start-up only when they verify
//! and match the log, and never a reason to get a different state than a full replay.

mod common;

use std::{fs, path::Path};

use common::*;
use lithair_core::{Durability, EngineConfig, OpenError, StateEngine};

fn open_with_snapshots(dir: &Path, every: u64, keep: usize) -> LedgerEngine {
    StateEngine::open(EngineConfig::new(dir).snapshots(every, keep)).expect("open engine")
}

fn snapshot_files(dir: &Path) -> Vec<(u64, std::path::PathBuf)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "snap"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_str().unwrap();
            (name.strip_prefix("snapshot-").unwrap().parse().unwrap(), path)
        })
        .collect();
    files.sort();
    files
}

/// A closed engine directory with 550 entries (some removed) and snapshots every 100.
async fn snapshotted(keep: usize) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_snapshots(dir.path(), 100, keep);
    for id in 0..550 {
        engine.commit(added(id)).await.unwrap();
        if id % 7 == 0 {
            engine.commit(LedgerEvent::Removed { id }).await.unwrap();
        }
    }
    let state = engine.with_state(Clone::clone);
    engine.close().await.unwrap();
    (dir, state)
}

/// The state a full replay of the log gives, ignoring every snapshot.
fn full_replay(dir: &Path) -> Ledger {
    let bare = tempfile::tempdir().unwrap();
    fs::copy(log_path(dir), log_path(bare.path())).unwrap();
    open(bare.path(), Durability::Fsync).with_state(Clone::clone)
}

#[tokio::test]
async fn a_snapshot_is_taken_each_time_the_sequence_passes_a_multiple() {
    let (dir, _) = snapshotted(100).await;
    let seqs: Vec<u64> = snapshot_files(dir.path()).into_iter().map(|(seq, _)| seq).collect();
    // 550 entries and 79 removals: 629 events, so snapshots after 100, 200, … 600.
    assert_eq!(seqs.len(), 6, "{seqs:?}");
    for (i, seq) in seqs.iter().enumerate() {
        let multiple = (i as u64 + 1) * 100;
        assert!(
            (multiple..multiple + 10).contains(seq),
            "snapshot {seq} is not just after {multiple}"
        );
    }
}

#[tokio::test]
async fn only_the_newest_snapshots_are_kept() {
    let (dir, _) = snapshotted(2).await;
    let seqs: Vec<u64> = snapshot_files(dir.path()).into_iter().map(|(seq, _)| seq).collect();
    assert_eq!(seqs.len(), 2, "{seqs:?}");
    assert!(seqs[1] >= 600);
}

#[tokio::test]
async fn start_up_loads_the_newest_snapshot_and_replays_only_the_log_after_it() {
    let (dir, state) = snapshotted(10).await;
    let newest = snapshot_files(dir.path()).last().unwrap().0;

    let engine = open(dir.path(), Durability::Fsync);
    assert_eq!(engine.recovery().snapshot.as_ref().map(|(seq, _)| *seq), Some(newest));
    assert_eq!(engine.recovery().events_replayed, 629 - newest);
    assert_eq!(engine.with_state(Clone::clone), state);
    assert_eq!(full_replay(dir.path()), state);

    // The sequence goes on from the log, not from the snapshot.
    assert_eq!(engine.commit(added(10_000)).await.unwrap().seq, 630);
}

#[tokio::test]
async fn each_snapshot_alone_with_the_log_gives_the_full_replay() {
    let (dir, state) = snapshotted(10).await;
    for (seq, snapshot) in snapshot_files(dir.path()) {
        let alone = tempfile::tempdir().unwrap();
        fs::copy(log_path(dir.path()), log_path(alone.path())).unwrap();
        fs::copy(&snapshot, alone.path().join(snapshot.file_name().unwrap())).unwrap();

        let engine = open(alone.path(), Durability::Fsync);
        assert_eq!(engine.recovery().snapshot.as_ref().map(|(s, _)| *s), Some(seq));
        assert_eq!(engine.with_state(Clone::clone), state, "from snapshot {seq}");
    }
}

#[tokio::test]
async fn a_damaged_snapshot_is_skipped_for_an_older_one() {
    let (dir, state) = snapshotted(10).await;
    let files = snapshot_files(dir.path());
    let (newest, path) = files.last().unwrap();
    let mut bytes = fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    fs::write(path, bytes).unwrap();

    let engine = open(dir.path(), Durability::Fsync);
    let used = engine.recovery().snapshot.as_ref().map(|(seq, _)| *seq).unwrap();
    assert!(used < *newest, "the damaged snapshot {newest} was used");
    assert_eq!(used, files[files.len() - 2].0);
    assert_eq!(engine.with_state(Clone::clone), state);
}

#[tokio::test]
async fn a_snapshot_of_another_log_is_not_trusted() {
    let (dir, _) = snapshotted(10).await;
    let (other, other_state) = snapshotted(10).await; // same shape, different timestamps
    let (_, foreign) = snapshot_files(other.path()).pop().unwrap();
    for (_, own) in snapshot_files(dir.path()) {
        fs::remove_file(own).unwrap();
    }
    fs::copy(&foreign, dir.path().join(foreign.file_name().unwrap())).unwrap();

    let engine = open(dir.path(), Durability::Fsync);
    assert_eq!(engine.recovery().snapshot, None, "a snapshot that does not match the log was used");
    assert_eq!(engine.recovery().events_replayed, 629);
    assert_eq!(engine.with_state(|s| s.live.len()), other_state.live.len());
}

#[tokio::test]
async fn a_torn_tail_after_the_snapshot_is_still_cut() {
    let (dir, _) = snapshotted(10).await;
    let log = fs::read(log_path(dir.path())).unwrap();
    let last_start = *line_starts(&log).last().unwrap();
    fs::write(log_path(dir.path()), &log[..last_start + 5]).unwrap();

    let engine = open(dir.path(), Durability::Fsync);
    assert!(engine.recovery().snapshot.is_some());
    assert_eq!(engine.recovery().torn_bytes_cut, 5);
    assert_eq!(fs::read(log_path(dir.path())).unwrap(), &log[..last_start]);
}

#[tokio::test]
async fn damage_after_the_snapshot_is_refused_with_its_offset_in_the_file() {
    let (dir, _) = snapshotted(10).await;
    let log = fs::read(log_path(dir.path())).unwrap();
    let starts = line_starts(&log);
    let target = starts[starts.len() - 5]; // after the newest snapshot (seq 600)
    let mut damaged = log.clone();
    damaged[target + 3] ^= 0x01;
    fs::write(log_path(dir.path()), &damaged).unwrap();

    let err = StateEngine::<LedgerEvent>::open(EngineConfig::new(dir.path())).err().unwrap();
    assert!(
        matches!(err, OpenError::Corrupt { offset, last_good_seq: 624, .. } if offset == target as u64),
        "{err}"
    );
    assert_eq!(fs::read(log_path(dir.path())).unwrap(), damaged);
}
