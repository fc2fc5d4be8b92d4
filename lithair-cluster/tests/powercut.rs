//! Power cuts around append, truncate and vote lose nothing the store acknowledged.
//!
//! The test runs itself as a child process (`child_writes_until_killed`) under the `powercut`
//! interposer: the child appends, truncates and votes in a loop, printing a line after each
//! acknowledged operation (and before each truncation, which may remove acknowledged entries).
//! The parent kills it with `SIGKILL` at a varying moment, rewrites the data directory to what
//! a disk would hold had the power failed then (docs/powercut.md), reopens the storage and
//! checks it against what the child reported. Several rounds run on the same directory.

mod common;

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

use common::{Note, log_id, note};
use lithair_cluster::{NodeId, open_storage};
use lithair_core::Durability;
use openraft::{
    LogId, RaftLogReader, Vote,
    storage::{RaftLogStorage, RaftLogStorageExt},
};
use powercut::{CutOptions, PowerCut};

const CHILD_DIR: &str = "LITHAIR_CLUSTER_POWERCUT_CHILD_DIR";
const NODE: NodeId = 1;

/// What the parent knows the child did, from its lines.
#[derive(Debug, Default)]
struct Acknowledged {
    /// The log as acknowledged: entry `i` has log id `log[i]`.
    log: Vec<LogId<NodeId>>,
    /// Log ids removed by an acknowledged truncation.
    cut: BTreeSet<LogId<NodeId>>,
    vote_term: u64,
    /// A truncation begun but not acknowledged: entries from there on may be gone.
    truncating: Option<u64>,
}

impl Acknowledged {
    fn read(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| words[i].parse::<u64>().unwrap();
        match words[..] {
            ["ACK", "append", ..] => {
                let (last, term) = (number(2), number(3));
                while self.log.len() as u64 <= last {
                    self.log.push(log_id(term, NODE, self.log.len() as u64));
                }
            }
            ["BEGIN", "truncate", _] => self.truncating = Some(number(2)),
            ["ACK", "truncate", _] => {
                self.cut.extend(self.log.drain(number(2) as usize..));
                self.truncating = None;
            }
            ["ACK", "vote", _] => self.vote_term = number(2),
            _ => {}
        }
    }
}

#[test]
fn nothing_acknowledged_is_lost_to_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = tempfile::tempdir().unwrap();
    let journal = journal_dir.path().join("journal");
    let powercut = PowerCut::new(dir.path(), &journal).expect("the powercut interposer builds");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acked = Acknowledged::default();
    for round in 0..8u64 {
        let kill_after = 3 + (round * 7) % 17;
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "child_writes_until_killed", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        powercut.apply(&mut command);
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            acked.read(&line);
            if line.starts_with("ACK") {
                acks += 1;
                if acks == kill_after {
                    break;
                }
            }
        }
        assert_eq!(acks, kill_after, "the child stopped early");
        // Vary where the kill lands in the child's next operation (its write, its sync, or
        // after): not a wait for anything, just a different moment each round.
        std::thread::sleep(std::time::Duration::from_micros((round % 4) * 150));
        child.kill().unwrap();
        child.wait().unwrap();
        // What the child printed between the last line read and its death happened too: an
        // append it acknowledged, or a truncation it began (which may have reached the disk
        // and legitimately removed acknowledged but uncommitted entries). Missing such a
        // BEGIN line made a cut entry look lost in one fresh-clone run.
        for line in lines.map_while(Result::ok) {
            acked.read(&line);
        }
        let report = powercut::cut_power(&journal, dir.path(), CutOptions { torn: Some(round) })
            .expect("the power cut");
        eprintln!(
            "round {round}: killed after {acks} acks, lost {} unsynced bytes",
            report.lost_bytes()
        );

        runtime.block_on(check(dir.path(), &mut acked, round));
    }
}

/// Reopen the storage after a cut and compare it with what was acknowledged.
async fn check(dir: &Path, acked: &mut Acknowledged, round: u64) {
    let (mut store, _sm) = open_storage::<Note>(dir, Durability::Fsync)
        .await
        .unwrap_or_else(|err| panic!("round {round}: the storage does not open: {err}"));
    let entries = store.try_get_log_entries(..).await.unwrap();
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry.log_id.index, index as u64, "round {round}: the log has a hole");
        if let Some(expected) = acked.log.get(index) {
            assert_eq!(
                &entry.log_id, expected,
                "round {round}: acknowledged entry {index} changed"
            );
        } else {
            assert!(
                !acked.cut.contains(&entry.log_id),
                "round {round}: entry {:?}, cut by an acknowledged truncation, came back",
                entry.log_id
            );
        }
    }
    let may_be_gone = acked.truncating.unwrap_or(u64::MAX);
    let kept = entries.len() as u64;
    assert!(
        kept >= (acked.log.len() as u64).min(may_be_gone),
        "round {round}: {} entries acknowledged, {kept} after the cut",
        acked.log.len()
    );
    // What survived is the log from now on: an in-flight truncation that did not happen left
    // acknowledged entries, an unacknowledged append may have left more.
    acked.log = entries.iter().map(|entry| entry.log_id).collect();
    acked.truncating = None;
    let vote = store.read_vote().await.unwrap().map_or(0, |vote| vote.leader_id.term);
    assert!(
        vote >= acked.vote_term,
        "round {round}: vote {vote}, {} was acknowledged",
        acked.vote_term
    );
}

/// The child: appends, truncates and votes until it is killed. Does nothing as a plain test.
#[test]
fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let (mut store, _sm) =
            open_storage::<Note>(Path::new(&dir), Durability::Fsync).await.unwrap();
        let mut term = store.read_vote().await.unwrap().map_or(0, |vote| vote.leader_id.term);
        let last = store.get_log_state().await.unwrap().last_log_id;
        term = term.max(last.map_or(0, |id| id.leader_id.term)) + 1;
        store.save_vote(&Vote::new_committed(term, NODE)).await.unwrap();
        println!("ACK vote {term}");
        let mut next = last.map_or(0, |id| id.index + 1);
        for round in 1u64.. {
            let batch = 1 + round % 4;
            store
                .blocking_append((next..next + batch).map(|i| note(term, NODE, i, "entry")))
                .await
                .unwrap();
            next += batch;
            println!("ACK append {} {term}", next - 1);
            if round % 3 == 0 {
                let from = next - 2;
                println!("BEGIN truncate {from}");
                store.truncate(log_id(term, NODE, from)).await.unwrap();
                println!("ACK truncate {from}");
                next = from;
                term += 1;
                store.save_vote(&Vote::new_committed(term, NODE)).await.unwrap();
                println!("ACK vote {term}");
            }
        }
    });
}
