//! The log's writer thread: every write to the data directory, in the order it was asked for.
//!
//! openraft requires vote and log IO to be serialised (a later write must not land before an
//! earlier one), and promises nothing about the order its `append` futures complete in; a single
//! thread draining one queue gives both. It also gives group commit, as lithair-core's writer
//! does for a single server: the thread takes *everything* queued, writes the appended records
//! with one `write` and covers them with one `fdatasync`, and only then tells openraft they are
//! stored (`LogFlushed`). While it syncs, new appends queue up and form the next group.
//!
//! lithair-core's own writer is not reused: it decides, numbers and applies events, where this
//! one only stores what Raft already decided, and must also cut the log and save the vote.

use std::{
    fs::File,
    io::{self, Write},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use lithair_core::Durability;
use openraft::storage::LogFlushed;
use tokio::sync::oneshot;

use crate::{
    TypeConfig,
    durable::{self, LogPointers, SavedVote},
};

/// Answers an operation that its caller waits for.
pub(crate) type Done = oneshot::Sender<io::Result<()>>;

/// One write, queued by the log store.
pub(crate) enum Op {
    /// Records to append; `next_index` is the index after the last of them.
    Append { bytes: Vec<u8>, next_index: u64, callback: LogFlushed<TypeConfig> },
    /// Cut the file at `offset`, where the record `index` starts.
    Truncate { offset: u64, index: u64, done: Done },
    /// Save the vote.
    Vote { vote: SavedVote, done: Done },
    /// Save the log pointers; then, if `empty_log`, cut the whole file (a purge past its end).
    Pointers { pointers: LogPointers, empty_log: bool, done: Done },
}

/// Counters the tests and metrics read.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Groups of appends written (one `write` each).
    pub groups: AtomicU64,
    /// `fdatasync` calls on the log file.
    pub syncs: AtomicU64,
    /// Records appended.
    pub records: AtomicU64,
}

pub(crate) struct Writer {
    pub file: File,
    pub dir: PathBuf,
    pub durability: Durability,
    /// Every entry below this index has its bytes in the file (written, maybe not yet synced):
    /// the store may drop it from its cache and read it back from the file.
    pub written_below: Arc<AtomicU64>,
    pub stats: Arc<WriterStats>,
    /// Set by the first failed write: the file's end is then unknown, so every later write is
    /// refused until a restart rescans the file.
    pub failure: Option<String>,
}

impl Writer {
    /// Run until the store drops its end of the queue.
    pub fn run(mut self, ops: mpsc::Receiver<Op>) {
        while let Ok(first) = ops.recv() {
            let mut group = Group::default();
            for op in std::iter::once(first).chain(ops.try_iter()) {
                match op {
                    Op::Append { bytes, next_index, callback } => {
                        group.bytes.extend_from_slice(&bytes);
                        group.next_index = next_index;
                        group.callbacks.push(callback);
                    }
                    Op::Truncate { offset, index, done } => {
                        let result = self.write_group(&mut group, false).and_then(|()| {
                            self.file.set_len(offset)?;
                            self.sync()?;
                            self.written_below.fetch_min(index, Ordering::Release);
                            Ok(())
                        });
                        self.finish(&mut group, result, done);
                    }
                    Op::Vote { vote, done } => {
                        let result = self.write_group(&mut group, true).and_then(|()| {
                            let bytes = serde_json::to_vec(&vote).map_err(io::Error::other)?;
                            durable::replace(&self.dir, durable::VOTE_FILE, &bytes)
                        });
                        self.finish(&mut group, result, done);
                    }
                    Op::Pointers { pointers, empty_log, done } => {
                        let result = self.write_group(&mut group, true).and_then(|()| {
                            let bytes = serde_json::to_vec(&pointers).map_err(io::Error::other)?;
                            durable::replace(&self.dir, durable::STATE_FILE, &bytes)?;
                            if empty_log {
                                self.file.set_len(0)?;
                                self.sync()?;
                            }
                            Ok(())
                        });
                        self.finish(&mut group, result, done);
                    }
                }
            }
            let result = self.write_group(&mut group, true);
            self.complete(&mut group, &result);
        }
    }

    /// Write the group's records, and sync them if `sync` and the durability mode asks for it
    /// (a truncation syncs anyway, and its sync covers them).
    fn write_group(&mut self, group: &mut Group, sync: bool) -> io::Result<()> {
        if let Some(failure) = &self.failure {
            return Err(io::Error::other(format!("the log writer failed earlier: {failure}")));
        }
        if group.callbacks.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&group.bytes).and_then(|()| {
            self.written_below.store(group.next_index, Ordering::Release);
            self.stats.groups.fetch_add(1, Ordering::Relaxed);
            self.stats.records.fetch_add(group.callbacks.len() as u64, Ordering::Relaxed);
            if sync && self.durability == Durability::Fsync { self.sync() } else { Ok(()) }
        });
        if let Err(err) = &result {
            self.failure = Some(err.to_string());
        }
        result
    }

    fn sync(&mut self) -> io::Result<()> {
        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        let result = self.file.sync_data();
        if let Err(err) = &result {
            self.failure = Some(err.to_string());
        }
        result
    }

    /// Tell the group's appenders and the waiting caller how their writes ended.
    fn finish(&mut self, group: &mut Group, result: io::Result<()>, done: Done) {
        if let Err(err) = &result {
            self.failure.get_or_insert_with(|| err.to_string());
        }
        self.complete(group, &result);
        let _ = done.send(result);
    }

    fn complete(&self, group: &mut Group, result: &io::Result<()>) {
        for callback in group.callbacks.drain(..) {
            let result = match result {
                Ok(()) => Ok(()),
                Err(err) => Err(io::Error::new(err.kind(), err.to_string())),
            };
            callback.log_io_completed(result);
        }
        group.bytes.clear();
    }
}

/// Appends gathered since the last write.
#[derive(Default)]
struct Group {
    bytes: Vec<u8>,
    next_index: u64,
    callbacks: Vec<LogFlushed<TypeConfig>>,
}
