//! The snapshot file, `raft-snapshot.json`: openraft's snapshot metadata and the snapshot's
//! bytes, checked by length and CRC.
//!
//! ```text
//! {"meta":{"last_log_id":…,"last_membership":…,"snapshot_id":"…"},"len":1234,"crc":"0a1b2c3d"}\n
//! <len bytes: the application state as JSON>
//! ```
//!
//! The state machine keeps its state in memory only, so the snapshot is what makes a purge of
//! the log safe: it is replaced durably (`durable.rs`) before openraft is told it exists.

use std::{fs, io, path::Path};

use openraft::SnapshotMeta;
use serde::{Deserialize, Serialize};

use crate::{Node, NodeId, durable, storage::OpenError};

/// A snapshot as stored: what openraft calls its meta, and its bytes.
#[derive(Debug, Clone)]
pub(crate) struct StoredSnapshot {
    pub meta: SnapshotMeta<NodeId, Node>,
    pub data: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    meta: SnapshotMeta<NodeId, Node>,
    len: u64,
    crc: String,
}

/// Replace the snapshot file with `snapshot`, durably.
pub(crate) fn save(dir: &Path, snapshot: &StoredSnapshot) -> io::Result<()> {
    let header = Header {
        meta: snapshot.meta.clone(),
        len: snapshot.data.len() as u64,
        crc: format!("{:08x}", crc32fast::hash(&snapshot.data)),
    };
    let mut bytes = serde_json::to_vec(&header).map_err(io::Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&snapshot.data);
    durable::replace(dir, durable::SNAPSHOT_FILE, &bytes)
}

/// Load the snapshot file, if there is one. A damaged one stops start-up: the log may have been
/// purged up to it.
pub(crate) fn load(dir: &Path) -> Result<Option<StoredSnapshot>, OpenError> {
    let path = dir.join(durable::SNAPSHOT_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OpenError::Io { path, source }),
    };
    let bad = |reason: String| OpenError::BadFile { path: path.clone(), reason };
    let split =
        bytes.iter().position(|&b| b == b'\n').ok_or_else(|| bad("no header line".into()))?;
    let header: Header =
        serde_json::from_slice(&bytes[..split]).map_err(|err| bad(format!("header: {err}")))?;
    let data = bytes[split + 1..].to_vec();
    if data.len() as u64 != header.len {
        return Err(bad(format!("{} bytes of data, the header says {}", data.len(), header.len)));
    }
    let crc = format!("{:08x}", crc32fast::hash(&data));
    if crc != header.crc {
        return Err(bad(format!("checksum mismatch (stored {}, computed {crc})", header.crc)));
    }
    Ok(Some(StoredSnapshot { meta: header.meta, data }))
}
