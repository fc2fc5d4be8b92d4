//! The power-loss model: replaying a journal gives both what the running process saw (the
//! page cache) and what the disk would hold if the power failed right after the last record.
//!
//! The rules, kept deliberately simple (docs/powercut.md says what they leave out):
//! - a file's bytes are durable as of its last successful `fsync`/`fdatasync`; writes and
//!   truncations after it are lost;
//! - a directory's entries (creations, renames, unlinks) are durable as of its last `fsync`;
//!   a file whose name was never made durable is gone, whatever was synced into it;
//! - files present when tracking began are durable as they were.

use std::collections::{BTreeMap, HashMap};

use crate::journal::{Fault, FileId, Record};

/// A file's content, in the page cache and on the disk.
#[derive(Debug, Default, Clone)]
pub struct Inode {
    /// What a reader of the file saw at the end of the journal.
    pub current: Vec<u8>,
    /// What the disk holds.
    pub durable: Vec<u8>,
    /// Changes not yet covered by a sync, with their sequence numbers.
    pending: Vec<(u64, Change)>,
}

#[derive(Debug, Clone)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

#[derive(Debug, Clone)]
enum NameChange {
    Link { path: String, id: FileId },
    Rename { from: String, to: String },
    Unlink { path: String },
}

/// The replayed journal.
#[derive(Debug, Default, Clone)]
pub struct Model {
    pub inodes: HashMap<FileId, Inode>,
    /// Names the process saw at the end (relative to the tracked root, `/`-separated).
    pub current: BTreeMap<String, FileId>,
    /// Names the disk holds.
    pub durable: BTreeMap<String, FileId>,
    pending_names: Vec<(u64, NameChange)>,
    /// Faults injected, in order.
    pub faults: Vec<Fault>,
    /// Sequence number the next record gets.
    pub next_seq: u64,
    /// Smallest id no record used.
    pub next_id: FileId,
    /// Successful syncs of files and of directories.
    pub syncs: u64,
    pub processes: u32,
}

impl Model {
    pub fn replay(records: &[Record]) -> Model {
        let mut model = Model::default();
        for record in records {
            model.apply(record);
        }
        model
    }

    pub fn apply(&mut self, record: &Record) {
        let seq = self.next_seq;
        self.next_seq += 1;
        match record {
            Record::Start { .. } => self.processes += 1,
            Record::Base { id, path, content } => {
                let inode =
                    Inode { current: content.clone(), durable: content.clone(), pending: vec![] };
                self.inodes.insert(*id, inode);
                self.current.insert(path.clone(), *id);
                self.durable.insert(path.clone(), *id);
                self.saw(*id);
            }
            Record::Create { id, path } => {
                self.inodes.insert(*id, Inode::default());
                self.current.insert(path.clone(), *id);
                self.pending_names.push((seq, NameChange::Link { path: path.clone(), id: *id }));
                self.saw(*id);
            }
            Record::Write { id, offset, data } => {
                let inode = self.inodes.entry(*id).or_default();
                write_at(&mut inode.current, *offset, data);
                inode.pending.push((seq, Change::Write { offset: *offset, data: data.clone() }));
            }
            Record::Truncate { id, len } => {
                let inode = self.inodes.entry(*id).or_default();
                inode.current.resize(*len as usize, 0);
                inode.pending.push((seq, Change::Truncate { len: *len }));
            }
            Record::Sync { id, upto } => {
                self.syncs += 1;
                let inode = self.inodes.entry(*id).or_default();
                let covered = inode.pending.iter().take_while(|(at, _)| at < upto).count();
                for (_, change) in inode.pending.drain(..covered) {
                    match change {
                        Change::Write { offset, data } => {
                            write_at(&mut inode.durable, offset, &data)
                        }
                        Change::Truncate { len } => inode.durable.resize(len as usize, 0),
                    }
                }
            }
            Record::Rename { from, to } => {
                if let Some(id) = self.current.remove(from) {
                    self.current.insert(to.clone(), id);
                }
                let change = NameChange::Rename { from: from.clone(), to: to.clone() };
                self.pending_names.push((seq, change));
            }
            Record::Unlink { path } => {
                self.current.remove(path);
                self.pending_names.push((seq, NameChange::Unlink { path: path.clone() }));
            }
            Record::DirSync { dir, upto } => {
                self.syncs += 1;
                let (covered, rest) = std::mem::take(&mut self.pending_names)
                    .into_iter()
                    .partition(|(at, change)| at < upto && change.touches(dir));
                self.pending_names = rest;
                for (_, change) in covered {
                    self.make_durable(change);
                }
            }
            Record::Fault(fault) => {
                if let Fault::SyncEio { id, upto, .. } = fault {
                    // The failed writeback's pages are marked clean: no later sync saves them.
                    let inode = self.inodes.entry(*id).or_default();
                    inode.pending.retain(|(at, _)| at >= upto);
                }
                self.faults.push(fault.clone());
            }
        }
    }

    fn saw(&mut self, id: FileId) {
        self.next_id = self.next_id.max(id + 1);
    }

    fn make_durable(&mut self, change: NameChange) {
        match change {
            NameChange::Link { path, id } => {
                self.durable.insert(path, id);
            }
            NameChange::Rename { from, to } => {
                if let Some(id) = self.durable.remove(&from) {
                    self.durable.insert(to, id);
                }
            }
            NameChange::Unlink { path } => {
                self.durable.remove(&path);
            }
        }
    }

    /// The durable bytes of the file the disk holds at `path`, if it holds one.
    pub fn durable_file(&self, path: &str) -> Option<&[u8]> {
        let id = self.durable.get(path)?;
        Some(self.inodes.get(id).map_or(&[][..], |inode| &inode.durable))
    }

    /// The bytes a reader of `path` saw at the end of the journal.
    pub fn current_file(&self, path: &str) -> Option<&[u8]> {
        let id = self.current.get(path)?;
        Some(self.inodes.get(id).map_or(&[][..], |inode| &inode.current))
    }
}

impl NameChange {
    /// Whether syncing directory `dir` makes this change durable. A rename between two
    /// directories is made durable by syncing either (a simplification; Lithair renames
    /// within one directory).
    fn touches(&self, dir: &str) -> bool {
        match self {
            NameChange::Link { path, .. } | NameChange::Unlink { path } => parent(path) == dir,
            NameChange::Rename { from, to } => parent(from) == dir || parent(to) == dir,
        }
    }
}

/// The directory part of a root-relative path: "" for the root itself.
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |slash| &path[..slash])
}

fn write_at(buf: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let (start, end) = (offset as usize, offset as usize + data.len());
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[start..end].copy_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(records: Vec<Record>) -> Model {
        Model::replay(&records)
    }

    fn write(id: FileId, offset: u64, data: &str) -> Record {
        Record::Write { id, offset, data: data.as_bytes().to_vec() }
    }

    #[test]
    fn only_synced_bytes_of_a_durable_name_survive() {
        let m = model(vec![
            Record::Base { id: 0, path: "log".into(), content: b"old".to_vec() },
            write(0, 3, "+one"),
            Record::Sync { id: 0, upto: 2 },
            write(0, 7, "+two"),
        ]);
        assert_eq!(m.durable_file("log"), Some(&b"old+one"[..]));
        assert_eq!(m.current_file("log"), Some(&b"old+one+two"[..]));
    }

    #[test]
    fn a_created_file_needs_its_directory_synced() {
        let records = vec![
            Record::Create { id: 1, path: "new".into() },
            write(1, 0, "data"),
            Record::Sync { id: 1, upto: 2 },
        ];
        assert_eq!(model(records.clone()).durable_file("new"), None);
        let mut synced = records;
        synced.push(Record::DirSync { dir: String::new(), upto: 3 });
        assert_eq!(model(synced).durable_file("new"), Some(&b"data"[..]));
    }

    #[test]
    fn only_the_sync_of_its_own_directory_makes_an_entry_durable() {
        let records = vec![
            Record::Create { id: 1, path: "sub/new".into() },
            Record::DirSync { dir: String::new(), upto: 1 },
        ];
        assert_eq!(model(records.clone()).durable_file("sub/new"), None);
        let mut synced = records;
        synced.push(Record::DirSync { dir: "sub".into(), upto: 2 });
        assert_eq!(model(synced).durable_file("sub/new"), Some(&b""[..]));
    }

    #[test]
    fn a_rename_is_durable_only_after_a_directory_sync_that_follows_it() {
        let records = vec![
            Record::Base { id: 0, path: "snap".into(), content: b"v1".to_vec() },
            Record::Create { id: 1, path: "snap.tmp".into() },
            write(1, 0, "v2"),
            Record::Sync { id: 1, upto: 3 },
            Record::Rename { from: "snap.tmp".into(), to: "snap".into() },
        ];
        let before = model(records.clone());
        assert_eq!(before.durable_file("snap"), Some(&b"v1"[..]));
        assert_eq!(before.durable_file("snap.tmp"), None);
        let mut synced = records;
        synced.push(Record::DirSync { dir: String::new(), upto: 4 });
        let early = model(synced.clone());
        assert_eq!(
            early.durable_file("snap.tmp"),
            Some(&b"v2"[..]),
            "the sync came before the rename"
        );
        synced.push(Record::DirSync { dir: String::new(), upto: 6 });
        let after = model(synced);
        assert_eq!(after.durable_file("snap"), Some(&b"v2"[..]));
        assert_eq!(after.durable_file("snap.tmp"), None);
    }

    #[test]
    fn a_sync_that_failed_loses_its_writes_for_good() {
        let m = model(vec![
            Record::Base { id: 0, path: "log".into(), content: vec![] },
            write(0, 0, "lost"),
            Record::Fault(Fault::SyncEio { id: 0, path: "log".into(), upto: 2 }),
            write(0, 4, "kept"),
            Record::Sync { id: 0, upto: 4 },
        ]);
        assert_eq!(m.durable_file("log"), Some(&b"\0\0\0\0kept"[..]));
        assert_eq!(m.faults.len(), 1);
    }

    #[test]
    fn an_unlink_is_undone_without_a_directory_sync() {
        let m = model(vec![
            Record::Base { id: 0, path: "old.snap".into(), content: b"s".to_vec() },
            Record::Unlink { path: "old.snap".into() },
        ]);
        assert_eq!(m.durable_file("old.snap"), Some(&b"s"[..]));
        assert_eq!(m.current_file("old.snap"), None);
    }
}
