//! The journal: an append-only list of what a process did to the files under the tracked
//! directory, in the order it did it, written by the interposer and replayed by [`crate::Model`].
//!
//! Each record is `u32 length (little-endian)` + body; the body is a tag byte and fields
//! (`u64` little-endian, strings and byte strings as `u32` length + bytes). A record's
//! sequence number is its index in the journal: a `Sync` covers the writes whose sequence
//! number is below its `upto`. A truncated last record (the process was killed in the middle
//! of writing it) is ignored: the operation it described was never synced anyway.

use std::{fs, io, path::Path};

/// A file's identity in the journal: a renamed file keeps it, a new file at an old name
/// gets a new one (like an inode, but never reused).
pub type FileId = u64;

/// One operation, as the interposer saw it succeed (or fail, for injected faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A process started writing to this journal.
    Start {
        pid: u32,
    },
    /// A file that existed when tracking began: its content counts as already durable.
    Base {
        id: FileId,
        path: String,
        content: Vec<u8>,
    },
    /// A new, empty file linked at `path` (not durable until its directory is synced).
    Create {
        id: FileId,
        path: String,
    },
    Write {
        id: FileId,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        id: FileId,
        len: u64,
    },
    /// A successful `fsync`/`fdatasync`: the writes to `id` before record `upto` are durable.
    Sync {
        id: FileId,
        upto: u64,
    },
    Rename {
        from: String,
        to: String,
    },
    Unlink {
        path: String,
    },
    /// A successful `fsync` of directory `dir` ("" is the tracked root): its entry changes
    /// before record `upto` are durable.
    DirSync {
        dir: String,
        upto: u64,
    },
    /// An injected fault.
    Fault(Fault),
}

/// A fault the interposer injected, as the harness reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `fsync`/`fdatasync` of `id` returned `EIO`. Like Linux after a failed writeback, the
    /// writes it should have covered (before `upto`) never reach the disk, even if a later
    /// sync succeeds.
    SyncEio { id: FileId, path: String, upto: u64 },
    /// A write to `id` returned `ENOSPC` (recorded once, at the first refused write), after
    /// `written` bytes were written to tracked files by this process.
    NoSpace { id: FileId, path: String, written: u64 },
}

const START: u8 = 0;
const BASE: u8 = 1;
const CREATE: u8 = 2;
const WRITE: u8 = 3;
const TRUNCATE: u8 = 4;
const SYNC: u8 = 5;
const RENAME: u8 = 6;
const UNLINK: u8 = 7;
const DIR_SYNC: u8 = 8;
const SYNC_EIO: u8 = 9;
const NO_SPACE: u8 = 10;

impl Record {
    /// The record's bytes, length prefix included, ready for one `write`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Encoder(vec![0; 4]);
        match self {
            Record::Start { pid } => out.tag(START).u64(u64::from(*pid)),
            Record::Base { id, path, content } => out.tag(BASE).u64(*id).str(path).bytes(content),
            Record::Create { id, path } => out.tag(CREATE).u64(*id).str(path),
            Record::Write { id, offset, data } => out.tag(WRITE).u64(*id).u64(*offset).bytes(data),
            Record::Truncate { id, len } => out.tag(TRUNCATE).u64(*id).u64(*len),
            Record::Sync { id, upto } => out.tag(SYNC).u64(*id).u64(*upto),
            Record::Rename { from, to } => out.tag(RENAME).str(from).str(to),
            Record::Unlink { path } => out.tag(UNLINK).str(path),
            Record::DirSync { dir, upto } => out.tag(DIR_SYNC).str(dir).u64(*upto),
            Record::Fault(Fault::SyncEio { id, path, upto }) => {
                out.tag(SYNC_EIO).u64(*id).str(path).u64(*upto)
            }
            Record::Fault(Fault::NoSpace { id, path, written }) => {
                out.tag(NO_SPACE).u64(*id).str(path).u64(*written)
            }
        };
        let body_len = (out.0.len() - 4) as u32;
        out.0[..4].copy_from_slice(&body_len.to_le_bytes());
        out.0
    }

    /// Decode one body (without its length prefix).
    fn decode(body: &[u8]) -> Option<Record> {
        let mut d = Decoder(body);
        let record = match d.u8()? {
            START => Record::Start { pid: d.u64()? as u32 },
            BASE => Record::Base { id: d.u64()?, path: d.str()?, content: d.bytes()? },
            CREATE => Record::Create { id: d.u64()?, path: d.str()? },
            WRITE => Record::Write { id: d.u64()?, offset: d.u64()?, data: d.bytes()? },
            TRUNCATE => Record::Truncate { id: d.u64()?, len: d.u64()? },
            SYNC => Record::Sync { id: d.u64()?, upto: d.u64()? },
            RENAME => Record::Rename { from: d.str()?, to: d.str()? },
            UNLINK => Record::Unlink { path: d.str()? },
            DIR_SYNC => Record::DirSync { dir: d.str()?, upto: d.u64()? },
            SYNC_EIO => {
                Record::Fault(Fault::SyncEio { id: d.u64()?, path: d.str()?, upto: d.u64()? })
            }
            NO_SPACE => {
                Record::Fault(Fault::NoSpace { id: d.u64()?, path: d.str()?, written: d.u64()? })
            }
            _ => return None,
        };
        d.0.is_empty().then_some(record)
    }
}

/// Every complete record of `bytes`, in order. A torn last record is dropped; a record that
/// is complete but unreadable is an error (the journal is not what the interposer wrote).
pub fn decode_all(bytes: &[u8]) -> io::Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let Some(body) = rest.get(4..4 + len) else { break };
        let record = Record::decode(body).ok_or_else(|| {
            let at = bytes.len() - rest.len();
            io::Error::new(io::ErrorKind::InvalidData, format!("bad journal record at byte {at}"))
        })?;
        records.push(record);
        rest = &rest[4 + len..];
    }
    Ok(records)
}

/// Read a journal file; a missing file is an empty journal.
pub fn read(path: &Path) -> io::Result<Vec<Record>> {
    match fs::read(path) {
        Ok(bytes) => decode_all(&bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn tag(&mut self, tag: u8) -> &mut Self {
        self.0.push(tag);
        self
    }
    fn u64(&mut self, value: u64) -> &mut Self {
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.0.extend_from_slice(value);
        self
    }
    fn str(&mut self, value: &str) -> &mut Self {
        self.bytes(value.as_bytes())
    }
}

struct Decoder<'a>(&'a [u8]);

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        Some(self.take(len)?.to_vec())
    }
    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_dropped() {
        let records = vec![
            Record::Start { pid: 7 },
            Record::Base { id: 0, path: "LOCK".into(), content: vec![] },
            Record::Create { id: 1, path: "a".into() },
            Record::Write { id: 1, offset: 3, data: b"xyz".to_vec() },
            Record::Truncate { id: 1, len: 2 },
            Record::Sync { id: 1, upto: 4 },
            Record::Rename { from: "a".into(), to: "b".into() },
            Record::Unlink { path: "b".into() },
            Record::DirSync { dir: String::new(), upto: 8 },
            Record::Fault(Fault::SyncEio { id: 1, path: "b".into(), upto: 9 }),
            Record::Fault(Fault::NoSpace { id: 1, path: "b".into(), written: 10 }),
        ];
        let mut bytes: Vec<u8> = records.iter().flat_map(Record::encode).collect();
        assert_eq!(decode_all(&bytes).unwrap(), records);
        bytes.extend_from_slice(&Record::Unlink { path: "c".into() }.encode()[..6]);
        assert_eq!(decode_all(&bytes).unwrap(), records);
    }

    #[test]
    fn a_complete_but_unknown_record_is_an_error() {
        assert!(decode_all(&[1, 0, 0, 0, 99]).is_err());
    }
}
