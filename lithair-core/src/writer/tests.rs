//! When the real writer answers a group, against the log file itself: in `fsync` mode only
//! after the group's sync, in `flush` mode only once the group is in the file, in `async` mode
//! before it is (the hand-over that brings groups to the writer is checked in
//! `group_commit/model.rs`).

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock, atomic::Ordering},
};

use serde::{Deserialize, Serialize};

use super::{Decision, Proposal, Stats, Writer, WriterParts};
use crate::{Durability, EngineError, Event, LOG_FILE_NAME, data_dir::DataDir, log::LogFile};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum Note {
    Added(u64),
}

impl Event for Note {
    type State = Vec<u64>;

    fn event_type(&self) -> &'static str {
        "Added"
    }

    fn apply(&self, state: &mut Vec<u64>) {
        let Note::Added(value) = self;
        state.push(*value);
    }
}

/// What a request saw when it was answered.
#[derive(Debug)]
struct Answer {
    seq: u64,
    /// `fdatasync` calls counted when the request was decided, and when it was answered.
    syncs_at_decision: u64,
    syncs_at_answer: u64,
    /// Records in the file when it was answered.
    records_in_file: u64,
}

/// A request that notes what it sees when answered.
struct Probe {
    stats: Arc<Stats>,
    log: PathBuf,
    answers: Arc<Mutex<Vec<Answer>>>,
}

impl Proposal<Note> for Probe {
    fn decide(self: Box<Self>, head: &Vec<u64>) -> Decision<Note> {
        let Probe { stats, log, answers } = *self;
        let syncs_at_decision = stats.syncs.load(Ordering::Relaxed);
        let event = Note::Added(head.len() as u64);
        Decision::Append(
            event,
            Box::new(move |result| {
                let committed = result.expect("the group was written");
                answers.lock().unwrap().push(Answer {
                    seq: committed.seq,
                    syncs_at_decision,
                    syncs_at_answer: stats.syncs.load(Ordering::Relaxed),
                    records_in_file: records_in(&log),
                });
            }),
        )
    }

    fn fail(self: Box<Self>, err: EngineError) {
        panic!("the request failed: {err}");
    }
}

fn records_in(log: &Path) -> u64 {
    fs::read(log).unwrap().iter().filter(|&&byte| byte == b'\n').count() as u64
}

/// Two groups of three requests through a fresh writer in `mode`: what each request saw.
fn answers_in(mode: Durability) -> Vec<Answer> {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = DataDir::open(dir.path()).unwrap();
    let log = data_dir.file(LOG_FILE_NAME);
    let stats = Arc::new(Stats::default());
    let mut writer = Writer::<Note>::new(WriterParts {
        log: LogFile::open(&log, 0).unwrap(),
        data_dir,
        durability: mode,
        state: Vec::new(),
        committed: Arc::new(RwLock::new(Vec::new())),
        last_seq: 0,
        last_ts: 0,
        last_crc: 0,
        stats: Arc::clone(&stats),
        snapshots: None,
    });
    let answers = Arc::new(Mutex::new(Vec::new()));
    for _group in 0..2 {
        let group = (0..3).map(|_| -> Box<dyn Proposal<Note>> {
            Box::new(Probe {
                stats: Arc::clone(&stats),
                log: log.clone(),
                answers: Arc::clone(&answers),
            })
        });
        writer.commit_group(group);
    }
    assert_eq!(records_in(&log), 6, "{mode}: every group is in the file once committed");
    drop(writer);
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    assert_eq!(answers.iter().map(|answer| answer.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    answers
}

#[test]
fn fsync_answers_only_after_the_groups_sync() {
    for answer in answers_in(Durability::Fsync) {
        assert!(
            answer.syncs_at_answer > answer.syncs_at_decision,
            "answered before its group's sync: {answer:?}"
        );
        assert!(answer.records_in_file >= answer.seq, "answered before its write: {answer:?}");
    }
}

#[test]
fn flush_answers_once_the_group_is_in_the_file_without_syncing() {
    for answer in answers_in(Durability::Flush) {
        assert!(answer.records_in_file >= answer.seq, "answered before its write: {answer:?}");
        assert_eq!(answer.syncs_at_answer, 0, "{answer:?}");
    }
}

#[test]
fn async_answers_before_the_group_is_written() {
    for answer in answers_in(Durability::Async) {
        let group_start = (answer.seq - 1) / 3 * 3;
        assert_eq!(answer.records_in_file, group_start, "{answer:?}");
        assert_eq!(answer.syncs_at_answer, 0, "{answer:?}");
    }
}
