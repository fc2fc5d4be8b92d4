//! Opening a damaged log: a torn tail is cut, anything else stops start-up untouched.

mod common;

use std::fs;

use common::*;
use lithair_core::{Damage, Durability, EngineConfig, OpenError, StateEngine};

const RECORDS: u64 = 5;

/// A closed log holding `RECORDS` entries, and its bytes.
async fn written_log() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Fsync);
    add_entries(&engine, RECORDS).await;
    engine.close().await.unwrap();
    let bytes = fs::read(log_path(dir.path())).unwrap();
    (dir, bytes)
}

fn try_open(dir: &std::path::Path) -> Result<LedgerEngine, OpenError> {
    StateEngine::open(EngineConfig::new(dir))
}

#[tokio::test]
async fn a_last_record_cut_at_any_byte_recovers_the_records_before_it() {
    let (dir, log) = written_log().await;
    let last_start = *line_starts(&log).last().unwrap();

    for cut in last_start..log.len() {
        fs::write(log_path(dir.path()), &log[..cut]).unwrap();

        let engine = open(dir.path(), Durability::Fsync);
        assert_eq!(engine.recovery().events_replayed, RECORDS - 1, "cut at {cut}");
        assert_eq!(engine.recovery().torn_bytes_cut, (cut - last_start) as u64, "cut at {cut}");
        assert_eq!(engine.with_state(|s| s.applied.clone()), (0..RECORDS - 1).collect::<Vec<_>>());
        assert_eq!(fs::read(log_path(dir.path())).unwrap(), &log[..last_start], "cut at {cut}");

        // The next append lands right after the good prefix and survives another restart.
        let next = engine.commit(added(100)).await.unwrap();
        assert_eq!(next.seq, RECORDS, "cut at {cut}");
        engine.close().await.unwrap();
        let reopened = open(dir.path(), Durability::Fsync);
        assert_eq!(reopened.recovery().torn_bytes_cut, 0, "cut at {cut}");
        assert_eq!(reopened.with_state(|s| s.applied.last().copied()), Some(100), "cut at {cut}");
        reopened.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_torn_tail_followed_by_garbage_is_cut_whole() {
    let (dir, log) = written_log().await;
    let last_start = *line_starts(&log).last().unwrap();
    let mut damaged = log[..last_start + 10].to_vec();
    damaged.extend_from_slice(&[0; 4096]);
    fs::write(log_path(dir.path()), &damaged).unwrap();

    let engine = open(dir.path(), Durability::Fsync);
    assert_eq!(engine.recovery().events_replayed, RECORDS - 1);
    assert_eq!(engine.recovery().torn_bytes_cut, 4096 + 10);
}

#[tokio::test]
async fn a_flipped_byte_in_the_middle_is_refused_and_the_file_left_untouched() {
    let (dir, log) = written_log().await;
    let starts = line_starts(&log);
    let (damaged_start, damaged_end) = (starts[2], starts[3]);

    for position in damaged_start..damaged_end {
        for mask in [0x01, 0x20, 0x80] {
            let mut damaged = log.clone();
            damaged[position] ^= mask;
            fs::write(log_path(dir.path()), &damaged).unwrap();

            let err = try_open(dir.path()).err().expect("a corrupt log must not open");
            let OpenError::Corrupt { offset, last_good_seq, valid_records_after, ref path, .. } =
                err
            else {
                panic!("byte {position}: expected Corrupt, got {err}");
            };
            assert_eq!(offset, damaged_start as u64, "byte {position} mask {mask:#x}");
            assert_eq!(last_good_seq, 2);
            assert!(valid_records_after >= 1);
            assert_eq!(path, &log_path(dir.path()));
            assert_eq!(
                fs::read(log_path(dir.path())).unwrap(),
                damaged,
                "the file must not be modified"
            );
        }
    }
}

#[tokio::test]
async fn the_corruption_message_names_the_file_the_offset_and_the_last_good_sequence() {
    let (dir, log) = written_log().await;
    let starts = line_starts(&log);
    let mut damaged = log.clone();
    damaged[starts[1] + 20] ^= 0x01;
    fs::write(log_path(dir.path()), &damaged).unwrap();

    let message = try_open(dir.path()).err().unwrap().to_string();
    let file = log_path(dir.path()).display().to_string();
    assert!(message.contains(&file), "{message}");
    assert!(message.contains(&format!("byte offset {}", starts[1])), "{message}");
    assert!(message.contains("last good sequence number 1"), "{message}");
    assert!(message.contains("not modified"), "{message}");
}

#[tokio::test]
async fn a_duplicated_record_is_corruption_even_at_the_end() {
    let (dir, log) = written_log().await;
    let last_start = *line_starts(&log).last().unwrap();
    let mut damaged = log.clone();
    damaged.extend_from_slice(&log[last_start..]);
    fs::write(log_path(dir.path()), &damaged).unwrap();

    let err = try_open(dir.path()).err().unwrap();
    assert!(
        matches!(
            err,
            OpenError::Corrupt { damage: Damage::SequenceGap { expected: 6, found: 5 }, .. }
        ),
        "{err}"
    );
    assert_eq!(fs::read(log_path(dir.path())).unwrap(), damaged);
}

#[tokio::test]
async fn an_event_this_version_cannot_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{"seq":1,"ts":5,"type":"Renamed","data":{"id":1}"#;
    let record = format!("{body},\"crc\":\"{:08x}\"}}\n", crc32fast_hash(body.as_bytes()));
    fs::write(log_path(dir.path()), &record).unwrap();

    let err = try_open(dir.path()).err().unwrap();
    assert!(matches!(err, OpenError::UnreadableEvent { seq: 1, offset: 0, .. }), "{err}");
    assert_eq!(fs::read_to_string(log_path(dir.path())).unwrap(), record);
}

/// CRC-32 as docs/raftlog.md defines it, computed bit by bit so the test does not trust the
/// engine's dependency.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn the_documented_check_value_holds() {
    assert_eq!(crc32fast_hash(b"123456789"), 0xcbf4_3926);
}

/// Logs larger than the replay's read chunks (4 MiB): damage is still found at its exact place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_far_into_a_large_log_is_found_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), Durability::Async);
    let text = "x".repeat(300);
    let records = 30_000u64;
    for id in 0..records {
        engine.commit(LedgerEvent::Added { id, text: text.clone() }).await.unwrap();
    }
    // One record larger than a read chunk.
    engine.commit(LedgerEvent::Added { id: records, text: "y".repeat(5 << 20) }).await.unwrap();
    engine.commit(added(records + 1)).await.unwrap();
    engine.close().await.unwrap();
    let log = fs::read(log_path(dir.path())).unwrap();
    assert!(log.len() > 12 << 20);
    let starts = line_starts(&log);

    let reopened = open(dir.path(), Durability::Async);
    assert_eq!(reopened.recovery().events_replayed, records + 2);
    assert_eq!(reopened.with_state(|s| s.live[&records].len()), 5 << 20);
    reopened.close().await.unwrap();

    let mut damaged = log.clone();
    damaged[starts[25_000] + 40] ^= 0x04;
    fs::write(log_path(dir.path()), &damaged).unwrap();
    let err = try_open(dir.path()).err().unwrap();
    assert!(
        matches!(err, OpenError::Corrupt { offset, last_good_seq: 25_000, .. } if offset == starts[25_000] as u64),
        "{err}"
    );

    fs::write(log_path(dir.path()), &log[..log.len() - 3]).unwrap();
    let engine = open(dir.path(), Durability::Async);
    assert_eq!(engine.recovery().events_replayed, records + 1);
    assert_eq!(
        engine.recovery().torn_bytes_cut,
        (log.len() - 3 - starts[records as usize + 1]) as u64
    );
}
