//! Snapshots: the whole state as of one sequence number, so that a restart replays only the
//! log after it (format in docs/snapshots.md).
//!
//! A snapshot is only ever a shortcut: the log stays whole and remains the truth. So a
//! snapshot is used only if its checksum verifies *and* the log still holds, at the offset the
//! snapshot names, the very record it was taken after (same sequence number, timestamp and
//! CRC). Anything else — a torn or damaged snapshot, one from another log — is skipped with a
//! warning in favour of an older one, or of a full replay.
//!
//! Writing one never blocks commits for long: the writer clones the state (the only
//! pause), and this module's thread encodes it and writes it atomically — temporary file,
//! `fsync`, rename, `fsync` of the directory — then removes all but the newest few.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::Instant,
};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::record;

const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";
const FORMAT: &str = "lithair-snapshot";
const VERSION: u32 = 1;

/// Where a snapshot stands in the log: just after the record `seq`, which ends at `log_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub seq: u64,
    pub ts: u64,
    pub log_offset: u64,
    /// The CRC of record `seq`, as written in its `crc` field.
    #[serde(with = "hex_crc")]
    pub record_crc: u32,
}

/// The first line of a snapshot file.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    #[serde(flatten)]
    position: Position,
    encoding: String,
    body_bytes: u64,
    #[serde(with = "hex_crc")]
    body_crc: u32,
}

/// A snapshot that was loaded, and the state it holds.
pub(crate) struct Loaded<S> {
    pub position: Position,
    pub state: S,
    pub path: PathBuf,
}

/// Why a snapshot file was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("cannot read it: {0}")]
    Io(#[from] io::Error),
    #[error("its header is not a version-{VERSION} snapshot header")]
    Header,
    #[error("its body is {found} bytes, the header says {expected}")]
    Truncated { expected: u64, found: u64 },
    #[error("its body fails its checksum")]
    Checksum,
    #[error("its body cannot be decoded: {0}")]
    Decode(postcard::Error),
    #[error("the log holds another record at byte {0} than the one this snapshot was taken after")]
    NotInLog(u64),
    #[error("the log ends before byte {}, where the record this snapshot was taken after ends", .0.log_offset)]
    LogTooShort(Position),
}

pub(crate) fn file_name(seq: u64) -> String {
    format!("{PREFIX}{seq:020}{SUFFIX}")
}

/// Snapshot files in `dir`, newest (highest sequence number) first.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let seq: Option<u64> = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?.parse().ok());
        if let Some(seq) = seq {
            found.push((seq, path));
        }
    }
    found.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    Ok(found)
}

/// The newest snapshot in `dir` that verifies and matches the log; each one passed over is
/// reported with a warning.
///
/// A snapshot that is itself damaged, or that belongs to another log, is only a lost shortcut:
/// an older one or the whole log gives the same state. But a sound snapshot taken after more
/// than the log holds means the log lost records it had synced before the snapshot was
/// written: that is returned as an error, never skipped.
pub(crate) fn load_newest<S: DeserializeOwned>(
    dir: &Path,
    log_path: &Path,
) -> Result<Option<Loaded<S>>, Ahead> {
    let candidates = match list(dir) {
        Ok(candidates) => candidates,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), %err, "cannot list snapshots; replaying the whole log");
            return Ok(None);
        }
    };
    for (_, path) in candidates {
        match load(&path, log_path) {
            Ok(loaded) => return Ok(Some(loaded)),
            Err(Unusable::LogTooShort(position)) => return Err(Ahead { path, position }),
            Err(why) => tracing::warn!(
                snapshot = %path.display(),
                "skipping snapshot: {why}; trying an older one or the whole log"
            ),
        }
    }
    Ok(None)
}

/// A sound snapshot taken after a record beyond the end of the log.
#[derive(Debug)]
pub(crate) struct Ahead {
    pub path: PathBuf,
    pub position: Position,
}

fn load<S: DeserializeOwned>(path: &Path, log_path: &Path) -> Result<Loaded<S>, Unusable> {
    let bytes = fs::read(path)?;
    let newline = memchr::memchr(b'\n', &bytes).ok_or(Unusable::Header)?;
    let header: Header = serde_json::from_slice(&bytes[..newline]).map_err(|_| Unusable::Header)?;
    if header.format != FORMAT || header.version != VERSION || header.encoding != "postcard" {
        return Err(Unusable::Header);
    }
    let body = &bytes[newline + 1..];
    if body.len() as u64 != header.body_bytes {
        return Err(Unusable::Truncated { expected: header.body_bytes, found: body.len() as u64 });
    }
    if crc32fast::hash(body) != header.body_crc {
        return Err(Unusable::Checksum);
    }
    let state = postcard::from_bytes(body).map_err(Unusable::Decode)?;
    let position = header.position;
    if log_len(log_path)? < position.log_offset {
        return Err(Unusable::LogTooShort(position));
    }
    if !log_holds(log_path, position)? {
        return Err(Unusable::NotInLog(position.log_offset));
    }
    Ok(Loaded { position: header.position, state, path: path.to_owned() })
}

fn log_len(log_path: &Path) -> io::Result<u64> {
    match fs::metadata(log_path) {
        Ok(metadata) => Ok(metadata.len()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(err),
    }
}

/// Whether the record that ends at `position.log_offset` is the one the snapshot names.
fn log_holds(log_path: &Path, position: Position) -> io::Result<bool> {
    let mut log = File::open(log_path)?;
    if log.metadata()?.len() < position.log_offset || position.log_offset == 0 {
        return Ok(false);
    }
    // Records are rarely longer than this; a longer one is read whole below.
    let mut window = 64 * 1024u64;
    loop {
        let start = position.log_offset.saturating_sub(window);
        let mut bytes = vec![0; (position.log_offset - start) as usize];
        log.seek(SeekFrom::Start(start))?;
        log.read_exact(&mut bytes)?;
        let Some(line) = bytes.strip_suffix(b"\n") else { return Ok(false) };
        let line_start = memchr::memrchr(b'\n', line).map(|i| i + 1);
        if line_start.is_none() && start > 0 {
            window *= 4;
            continue;
        }
        let line = &line[line_start.unwrap_or(0)..];
        let matches = record::verify_checksum(line) == Ok(position.record_crc)
            && record::parse_header(line)
                .is_ok_and(|h| h.seq == position.seq && h.ts == position.ts);
        return Ok(matches);
    }
}

/// A snapshot to write: the state as of `position`.
pub(crate) struct Job<S> {
    pub position: Position,
    pub state: S,
}

/// The thread that writes snapshots, one at a time.
pub(crate) struct SnapshotWriter<S> {
    jobs: Option<mpsc::SyncSender<Job<S>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl<S: Serialize + Send + 'static> SnapshotWriter<S> {
    pub(crate) fn start(dir: PathBuf, keep: usize) -> io::Result<Self> {
        // Room for one job: while a snapshot is being written the next one is skipped rather
        // than queued, so a slow disk can never pile up copies of the state in memory.
        let (jobs, queue) = mpsc::sync_channel::<Job<S>>(1);
        let thread = thread::Builder::new().name("lithair-snapshot".into()).spawn(move || {
            for job in queue {
                write_and_prune(&dir, job, keep);
            }
        })?;
        Ok(SnapshotWriter { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Hand a snapshot over; `false` if the previous one is still being written.
    pub(crate) fn offer(&self, job: Job<S>) -> bool {
        self.jobs.as_ref().is_some_and(|jobs| jobs.try_send(job).is_ok())
    }

    /// Hand a snapshot over, waiting for the previous one to be written if need be.
    pub(crate) fn hand_over(&self, job: Job<S>) -> bool {
        self.jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok())
    }

    /// Finish the snapshot being written, if any.
    pub(crate) fn finish(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<S> Drop for SnapshotWriter<S> {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_and_prune<S: Serialize>(dir: &Path, job: Job<S>, keep: usize) {
    let started = Instant::now();
    let seq = job.position.seq;
    match write(dir, &job) {
        Ok(bytes) => tracing::info!(
            seq,
            bytes,
            write_ms = started.elapsed().as_millis() as u64,
            "snapshot written"
        ),
        Err(err) => {
            tracing::error!(seq, %err, "could not write a snapshot; the log still holds everything");
            return;
        }
    }
    if let Err(err) = prune(dir, keep) {
        tracing::warn!(%err, "could not remove old snapshots");
    }
}

/// Write `job` atomically: a reader sees either no file or the whole, synced file.
fn write<S: Serialize>(dir: &Path, job: &Job<S>) -> io::Result<u64> {
    let body = postcard::to_allocvec(&job.state).map_err(io::Error::other)?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        position: job.position,
        encoding: "postcard".into(),
        body_bytes: body.len() as u64,
        body_crc: crc32fast::hash(&body),
    };
    let final_path = dir.join(file_name(job.position.seq));
    let temporary = final_path.with_extension("snap.tmp");
    let mut file = File::create(&temporary)?;
    serde_json::to_writer(&mut file, &header)?;
    file.write_all(b"\n")?;
    file.write_all(&body)?;
    file.sync_all()?;
    fs::rename(&temporary, &final_path)?;
    File::open(dir)?.sync_all()?;
    Ok(file.metadata()?.len())
}

/// Keep the newest `keep` snapshots; also clear temporary files a crash left behind.
fn prune(dir: &Path, keep: usize) -> io::Result<()> {
    for (_, path) in list(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_file(path)?;
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.to_str().is_some_and(|p| p.ends_with(".snap.tmp")) {
            fs::remove_file(path)?;
        }
    }
    Ok(())
}

/// CRCs appear in headers as 8 lowercase hex digits, like the log's.
mod hex_crc {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(crc: &u32, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{crc:08x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        let hex = String::deserialize(deserializer)?;
        u32::from_str_radix(&hex, 16).map_err(serde::de::Error::custom)
    }
}
