//! Rough numbers for the log store, printed, not asserted (run with `--ignored --nocapture`):
//! appends per second with many in flight (as openraft's core issues them, one client write
//! at a time, each acknowledged by its group's fdatasync), and records scanned per second at
//! open.

mod common;

use std::time::Instant;

use common::{note, open};
use futures::future::join_all;
use openraft::{
    RaftLogReader,
    storage::{RaftLogStorageExt, RaftStateMachine},
};

#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn appends_and_scan_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let (store, sm) = open(dir.path()).await;
    let (total, in_flight) = (51_200u64, 64u64);
    let started = Instant::now();
    for window in (0..total).step_by(in_flight as usize) {
        let mut stores: Vec<_> = (0..in_flight).map(|_| store.clone()).collect();
        let appends = stores
            .iter_mut()
            .zip(window..)
            .map(|(store, i)| store.blocking_append([note(1, 1, i, "a note of some length")]));
        assert!(join_all(appends).await.iter().all(Result::is_ok));
    }
    let elapsed = started.elapsed();
    let syncs = store.writer_stats().syncs.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{total} appends, {in_flight} in flight: {:.0}/s, {syncs} fdatasync ({:.1} entries each)",
        total as f64 / elapsed.as_secs_f64(),
        total as f64 / syncs as f64
    );
    drop((store, sm));

    let started = Instant::now();
    let reopened = open(dir.path()).await;
    let elapsed = started.elapsed();
    eprintln!(
        "open: {total} records scanned in {elapsed:?} ({:.0}/s)",
        total as f64 / elapsed.as_secs_f64()
    );

    // What a restart then does once the commit index is known: read the log back and apply it.
    let (mut store, mut sm) = reopened;
    let started = Instant::now();
    for start in (0..total).step_by(4096) {
        let entries = store.try_get_log_entries(start..start + 4096).await.unwrap();
        sm.apply(entries).await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(sm.reader().with_state(Vec::len) as u64, total);
    eprintln!(
        "replay: {total} entries read back and applied in {elapsed:?} ({:.0}/s)",
        total as f64 / elapsed.as_secs_f64()
    );
}
