//! Small files replaced whole and durably: the vote, the log pointers, the snapshot.
//!
//! The new content goes to `<name>.tmp`, which is synced, then renamed over `<name>`, then the
//! directory is synced. A crash at any point leaves either the old file or the new one, never a
//! mix; once [`replace`] returns, a power cut cannot bring the old one back.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
};

use openraft::{LogId, Vote};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{NodeId, storage::OpenError};

/// The vote, persisted before it is answered.
pub(crate) const VOTE_FILE: &str = "raft-vote.json";
/// `last_purged` and `committed`.
pub(crate) const STATE_FILE: &str = "raft-state.json";
/// The last snapshot (`snapshot.rs`).
pub(crate) const SNAPSHOT_FILE: &str = "raft-snapshot.json";

/// The log pointers kept beside the log (`raft-state.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogPointers {
    pub last_purged: Option<LogId<NodeId>>,
    pub committed: Option<LogId<NodeId>>,
}

/// What the writer persists beside the log.
pub(crate) type SavedVote = Vote<NodeId>;

/// Replace `dir/name` with `bytes`, durably (see the module's doc).
pub(crate) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let target = dir.join(name);
    let temp = temp_path(&target);
    let mut file = File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, &target)?;
    File::open(dir)?.sync_all()
}

fn temp_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    target.with_file_name(name)
}

/// Read `dir/name` as JSON; `None` when it does not exist. A file that exists but cannot be
/// read is an error: a node must not forget its vote.
pub(crate) fn read_json<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, OpenError> {
    let path = dir.join(name);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OpenError::Io { path, source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|err| OpenError::BadFile { path, reason: err.to_string() })
}
