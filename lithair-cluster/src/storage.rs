//! Opening a cluster node's storage: the log store and the state machine over one data
//! directory (docs/raftlog.md, "Version 2").

use std::{
    fs::File,
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use lithair_core::{DataDir, Durability, Event};

use crate::{
    durable::{self, LogPointers},
    log_store::{self, CACHE_ENTRIES, Log, LogStore, Parts},
    scan, snapshot,
    state_machine::StateMachine,
};

/// Why a node's storage could not be opened. Nothing here is repaired silently.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory, or damage in the log, reported as a single server reports it.
    #[error(transparent)]
    Log(#[from] lithair_core::OpenError),

    #[error(
        "{path}: the record at byte offset {offset} is a version-1 record (a single server's \
         log); a cluster node reads only version 2. Refusing to start; the file was not \
         modified. Convert it first with `lithair-server migrate` (docs/cluster.md)."
    )]
    V1Log { path: PathBuf, offset: u64 },

    #[error(
        "durability {0} is refused for a cluster: Raft counts an entry or a vote as stored once \
         the log says so, and async says so before writing (use fsync, or flush for tests)"
    )]
    Durability(Durability),

    #[error("cannot read or repair {path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    #[error("{path} cannot be used: {reason}. Refusing to start; the file was not modified.")]
    BadFile { path: PathBuf, reason: String },
}

/// Open the storage of a cluster node in `dir` (created if needed, locked while in use): the
/// log store and the state machine to give `openraft::Raft::new`.
///
/// The log is checked record by record; a torn tail is cut with a warning, any other damage
/// refuses to open (file, offset, reason). The state machine starts from the last snapshot;
/// openraft applies the committed entries after it again. A version-1 log and `async`
/// durability are refused.
pub async fn open_storage<E: Event>(
    dir: &Path,
    durability: Durability,
) -> Result<(LogStore, StateMachine<E>), OpenError> {
    if durability == Durability::Async {
        return Err(OpenError::Durability(durability));
    }
    let data_dir = Arc::new(DataDir::open(dir)?);
    let path = log_store::log_path(dir);
    let pointers: LogPointers = durable::read_json(dir, durable::STATE_FILE)?.unwrap_or_default();
    let vote = durable::read_json(dir, durable::VOTE_FILE)?;
    let snapshot = snapshot::load(dir)?;

    let mut scan = scan::scan(&path, CACHE_ENTRIES)?;
    let io_error = |source| OpenError::Io { path: path.clone(), source };
    if let Some((offset, bytes, damage)) = scan.torn_tail.take() {
        tracing::warn!(
            file = %path.display(), offset, bytes, %damage,
            "cutting a torn tail (a crash in the middle of an append) off the log"
        );
        cut(&path, offset).map_err(io_error)?;
    }
    let purged_below = pointers.last_purged.map_or(0, |id| id.index + 1);
    let mut log = Log {
        first: scan.first,
        offsets: scan.offsets,
        cache: scan.tail,
        last_log_id: scan.last_log_id,
        pointers,
        vote,
    };
    if let Some(last) = log.last_log_id {
        if last.index < purged_below {
            // A purge past the log's end saved the pointers, then crashed before it emptied
            // the file: finish it.
            cut(&path, 0).map_err(io_error)?;
            log.offsets = vec![0];
            log.cache.clear();
            log.first = purged_below;
            log.last_log_id = None;
        } else if log.first > purged_below {
            return Err(OpenError::BadFile {
                path,
                reason: format!(
                    "the log starts at {} but only entries below {purged_below} were purged: \
                     entries are missing",
                    log.first
                ),
            });
        }
    } else {
        log.first = purged_below;
    }
    if !path.exists() {
        File::create(&path).map_err(io_error)?;
        data_dir.sync().map_err(io_error)?;
    }

    let state = match &snapshot {
        None => E::State::default(),
        Some(stored) => serde_json::from_slice(&stored.data).map_err(|err| OpenError::BadFile {
            path: dir.join(durable::SNAPSHOT_FILE),
            reason: format!("the state does not decode: {err}"),
        })?,
    };
    let store = LogStore::start(Parts {
        log,
        data_dir: Arc::clone(&data_dir),
        path: path.clone(),
        durability,
        max_ts: scan.max_ts,
    })
    .map_err(io_error)?;
    Ok((store, StateMachine::new(data_dir, state, snapshot)))
}

/// Cut the log at `offset` and make the cut durable.
fn cut(path: &Path, offset: u64) -> io::Result<()> {
    let file = File::options().write(true).open(path)?;
    file.set_len(offset)?;
    file.sync_all()
}
