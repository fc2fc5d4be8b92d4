//! openraft's log storage on a v2 `events.raftlog` (docs/raftlog.md, "Version 2").
//!
//! The store keeps, in memory, the byte offset of every record (a truncation cuts the file at
//! one) and the most recent entries decoded (an append must be readable at once, before the
//! writer thread has written it, and replication mostly reads what was just appended). Older
//! entries are read back from the file through their offsets. Every write goes through the
//! writer thread (`writer.rs`), in order; the store waits for the ones openraft needs done
//! before it goes on (truncate, purge, vote) and lets appends be reported by their callback.

#![allow(
    clippy::result_large_err,
    reason = "openraft's StorageError is what its storage traits return; boxing it here would only move the allocation"
)]

use std::{
    collections::VecDeque,
    fmt::Debug,
    fs::File,
    io,
    ops::{Bound, RangeBounds},
    os::unix::fs::FileExt,
    path::Path,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread,
};

use lithair_core::DataDir;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, LogState, RaftLogReader, StorageError, StorageIOError,
    Vote,
    storage::{LogFlushed, RaftLogStorage},
};
use tokio::sync::oneshot;

use crate::{
    NodeId, TypeConfig,
    durable::LogPointers,
    record,
    writer::{Op, WriterStats},
};

/// How many recent entries stay decoded in memory.
pub(crate) const CACHE_ENTRIES: usize = 4096;

/// The log store: cheap to clone, every clone is the same store (a clone is also the reader
/// openraft's replication tasks use).
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

struct Shared {
    log: Mutex<Log>,
    /// A read-only handle on the log file, for entries no longer cached.
    reader: File,
    written_below: Arc<AtomicU64>,
    /// The greatest `ts` of the events ever stored in this log since it was opened, its
    /// records at open included.
    max_ts: Arc<AtomicU64>,
    stats: Arc<WriterStats>,
    ops: Option<mpsc::Sender<Op>>,
    writer: Option<thread::JoinHandle<()>>,
    _data_dir: Arc<DataDir>,
}

impl Drop for Shared {
    /// Let the writer finish what is queued, so that the directory is unlocked only once
    /// nothing writes to it any more.
    fn drop(&mut self) {
        self.ops.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// What the store knows of the log.
pub(crate) struct Log {
    /// Index of the first record of the file (meaningless while it has none).
    pub first: u64,
    /// Byte offset of each record of the file, then the end of the last.
    pub offsets: Vec<u64>,
    /// The most recent entries, ending with the last one.
    pub cache: VecDeque<Entry<TypeConfig>>,
    pub last_log_id: Option<LogId<NodeId>>,
    pub pointers: LogPointers,
    pub vote: Option<Vote<NodeId>>,
}

impl Log {
    fn records(&self) -> u64 {
        self.offsets.len() as u64 - 1
    }

    /// The index after the file's last record.
    fn next(&self) -> u64 {
        self.first + self.records()
    }

    fn cache_first(&self) -> u64 {
        self.next() - self.cache.len() as u64
    }

    fn end(&self) -> u64 {
        *self.offsets.last().expect("offsets always holds the end")
    }
}

/// What [`LogStore::start`] needs, found by `storage.rs` at open.
pub(crate) struct Parts {
    pub log: Log,
    pub data_dir: Arc<DataDir>,
    pub path: std::path::PathBuf,
    pub durability: lithair_core::Durability,
    /// The greatest `ts` of the events in the log at open.
    pub max_ts: u64,
}

fn io_error(err: impl std::error::Error + 'static) -> AnyError {
    AnyError::new(&err)
}

fn closed() -> io::Error {
    io::Error::other("the log writer has stopped")
}

impl LogStore {
    pub(crate) fn start(parts: Parts) -> io::Result<LogStore> {
        let Parts { log, data_dir, path, durability, max_ts } = parts;
        let file = File::options().append(true).open(&path)?;
        let reader = File::open(&path)?;
        let written_below = Arc::new(AtomicU64::new(log.next()));
        let stats = Arc::new(WriterStats::default());
        let (ops, queue) = mpsc::channel();
        let writer = crate::writer::Writer {
            file,
            dir: data_dir.path().to_owned(),
            durability,
            written_below: Arc::clone(&written_below),
            stats: Arc::clone(&stats),
            failure: None,
        };
        let writer = thread::Builder::new()
            .name("raftlog-writer".into())
            .spawn(move || writer.run(queue))?;
        let shared = Shared {
            log: Mutex::new(log),
            reader,
            written_below,
            max_ts: Arc::new(AtomicU64::new(max_ts)),
            stats,
            ops: Some(ops),
            writer: Some(writer),
            _data_dir: data_dir,
        };
        Ok(LogStore { shared: Arc::new(shared) })
    }

    /// The greatest `ts` of the events this log has held since it was opened, kept up to date
    /// as entries are appended, whether or not they are committed or applied yet: a new leader
    /// stamps after it (`proposer.rs`). A truncated entry's ts stays counted, which only makes
    /// the next stamps later.
    pub fn max_ts(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.max_ts)
    }

    /// Forget that the vote read at open, if it is this node's own, was committed: called once,
    /// before openraft starts on this store, so that a restarted node never resumes leading.
    ///
    /// openraft 0.9 restores a node whose saved vote names itself, committed, as leader at once
    /// and in the same term (`Engine::startup`). That leader does not know its commit index
    /// (`save_committed` keeps it in memory), so its read index is only the first entry of its
    /// term: it would answer linearizable reads from a state machine still re-applying its log.
    /// Raft keeps leadership volatile: the node must now win an election, and the new leader
    /// serves reads only once the blank entry of its new term is applied (Raft §8, openraft's
    /// `noop_log_id`), which follows every committed entry. The uncommitted vote keeps its term
    /// and candidate, so the node still votes for no one else in that term; openraft itself
    /// keeps only the uncommitted form of a vote it learns from a vote response, for the same
    /// reason. The file is unchanged; the next saved vote replaces it.
    pub(crate) fn forget_leadership(&self, id: NodeId) {
        if let Some(vote) = &mut self.lock().vote
            && vote.leader_id().voted_for() == Some(id)
        {
            vote.committed = false;
        }
    }

    /// The writer's counters: groups written, `fdatasync` calls, records.
    pub fn writer_stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.shared.log.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn send(&self, op: Op) -> io::Result<()> {
        let ops = self.shared.ops.as_ref().ok_or_else(closed)?;
        ops.send(op).map_err(|_| closed())
    }

    /// Queue `op` (built around its completion sender) and wait for the writer to do it.
    async fn write_and_wait(
        &self,
        op: impl FnOnce(oneshot::Sender<io::Result<()>>) -> Op,
    ) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(op(done))?;
        wait.await.map_err(|_| closed())?
    }

    /// Entries `start..end` (already clipped to what the log holds).
    fn read(
        &self,
        log: &Log,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let mut entries = Vec::with_capacity(end.saturating_sub(start) as usize);
        let cache_first = log.cache_first();
        if start < cache_first.min(end) {
            let file_end = cache_first.min(end);
            entries.extend(self.read_file(log, start, file_end)?);
        }
        for index in start.max(cache_first)..end {
            entries.push(log.cache[(index - cache_first) as usize].clone());
        }
        Ok(entries)
    }

    fn read_file(
        &self,
        log: &Log,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let from = log.offsets[(start - log.first) as usize];
        let to = log.offsets[(end - log.first) as usize];
        let mut bytes = vec![0; (to - from) as usize];
        self.shared
            .reader
            .read_exact_at(&mut bytes, from)
            .map_err(|err| StorageIOError::read_logs(io_error(err)))?;
        bytes
            .split(|&b| b == b'\n')
            .take((end - start) as usize)
            .zip(start..)
            .map(|(line, index)| {
                let entry = record::decode(line)
                    .map_err(|damage| StorageIOError::read_log_at_index(index, io_error(damage)))?;
                if entry.log_id.index != index {
                    let err = io::Error::other(format!(
                        "record {} found where {index} was expected",
                        entry.log_id.index
                    ));
                    return Err(StorageIOError::read_log_at_index(index, io_error(err)).into());
                }
                Ok(entry)
            })
            .collect()
    }

    /// Drop cached entries the file already holds, beyond the cache's size.
    fn evict(&self, log: &mut Log) {
        let written_below = self.shared.written_below.load(Ordering::Acquire);
        while log.cache.len() > CACHE_ENTRIES && log.cache_first() < written_below {
            log.cache.pop_front();
        }
    }

    /// The log id of the entry at `index`, which the log holds.
    fn log_id_at(&self, log: &Log, index: u64) -> Result<LogId<NodeId>, StorageError<NodeId>> {
        Ok(self.read(log, index, index + 1)?.remove(0).log_id)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let log = self.lock();
        let purged_below = log.pointers.last_purged.map_or(0, |id| id.index + 1);
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i + 1,
            Bound::Unbounded => 0,
        }
        .max(log.first)
        .max(purged_below);
        let end = match range.end_bound() {
            Bound::Included(&i) => i.saturating_add(1),
            Bound::Excluded(&i) => i,
            Bound::Unbounded => u64::MAX,
        }
        .min(log.next());
        if start >= end {
            return Ok(Vec::new());
        }
        self.read(&log, start, end)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let log = self.lock();
        let last_purged_log_id = log.pointers.last_purged;
        Ok(LogState { last_purged_log_id, last_log_id: log.last_log_id.max(last_purged_log_id) })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.write_and_wait(|done| Op::Vote { vote, done })
            .await
            .map_err(|err| StorageIOError::write_vote(io_error(err)))?;
        self.lock().vote = Some(vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().vote)
    }

    /// Kept in memory and saved with the next purge: a stale `committed` only makes a restarted
    /// node wait for its leader before it applies the rest (docs/raftlog.md). A restarted node
    /// is never that leader itself: see `LogStore::forget_leadership`.
    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.lock().pointers.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().pointers.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut bytes = Vec::new();
        let next_index = {
            let mut log = self.lock();
            let purged = log.pointers.last_purged.map(|id| id.index);
            // Check and encode every entry before changing anything: a refused batch leaves
            // the store as it was.
            let mut next = (log.records() > 0).then(|| log.next());
            let mut encoded = Vec::new();
            for entry in entries {
                if purged.is_some_and(|purged| entry.log_id.index <= purged) {
                    // Already covered by a snapshot: openraft itself never sends one (its test
                    // suite does), and keeping it would leave a hole after it.
                    continue;
                }
                if let Some(expected) = next
                    && entry.log_id.index != expected
                {
                    let err = io::Error::other(format!(
                        "entry {} would leave a hole after {}",
                        entry.log_id.index,
                        expected - 1
                    ));
                    return Err(StorageIOError::write_log_entry(entry.log_id, io_error(err)).into());
                }
                next = Some(entry.log_id.index + 1);
                let start = bytes.len();
                record::encode(&entry, &mut bytes)
                    .map_err(|err| StorageIOError::write_log_entry(entry.log_id, io_error(err)))?;
                encoded.push((entry, (bytes.len() - start) as u64));
            }
            for (entry, len) in encoded {
                if log.records() == 0 {
                    log.first = entry.log_id.index;
                }
                if let EntryPayload::Normal(events) = &entry.payload {
                    self.shared.max_ts.fetch_max(events.max_ts(), Ordering::Relaxed);
                }
                let end = log.end() + len;
                log.offsets.push(end);
                log.last_log_id = Some(entry.log_id);
                log.cache.push_back(entry);
            }
            self.evict(&mut log);
            log.next()
        };
        self.send(Op::Append { bytes, next_index, callback })
            .map_err(|err| StorageIOError::write_logs(io_error(err)).into())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let (offset, index) = {
            let mut log = self.lock();
            let index = log_id.index.max(log.first);
            if index >= log.next() {
                return Ok(());
            }
            let previous = match index.checked_sub(1) {
                Some(before) if before >= log.first && log.records() > 0 && index > log.first => {
                    Some(self.log_id_at(&log, before)?)
                }
                _ => log.pointers.last_purged,
            };
            let kept = (index - log.first) as usize;
            let cut = log.next() - index;
            let cached_cut = (cut as usize).min(log.cache.len());
            let cache_len = log.cache.len() - cached_cut;
            log.cache.truncate(cache_len);
            log.offsets.truncate(kept + 1);
            log.last_log_id = previous;
            (log.end(), index)
        };
        self.write_and_wait(|done| Op::Truncate { offset, index, done })
            .await
            .map_err(|err| StorageIOError::write_logs(io_error(err)).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let (pointers, empty_log) = {
            let mut log = self.lock();
            if log.pointers.last_purged >= Some(log_id) {
                return Ok(());
            }
            log.pointers.last_purged = Some(log_id);
            let empty_log = log.records() == 0 || log_id.index + 1 >= log.next();
            if empty_log {
                log.first = log_id.index + 1;
                log.offsets = vec![0];
                log.cache.clear();
                log.last_log_id = log.last_log_id.max(Some(log_id));
            } else {
                while log.cache_first() <= log_id.index && !log.cache.is_empty() {
                    log.cache.pop_front();
                }
            }
            (log.pointers.clone(), empty_log)
        };
        self.write_and_wait(|done| Op::Pointers { pointers, empty_log, done })
            .await
            .map_err(|err| StorageIOError::write_logs(io_error(err)).into())
    }
}

/// Where the log is, for `storage.rs`.
pub(crate) fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join(lithair_core::LOG_FILE_NAME)
}
