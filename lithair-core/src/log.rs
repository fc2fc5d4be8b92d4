//! The append side of `events.raftlog`: one handle, owned by the writer.
//!
//! Appends go to the end of the valid prefix found by recovery. If a write fails half-way the
//! file is cut back to where the batch began, so that a failed batch never leaves bytes behind
//! that a later batch would follow (which the next start-up would rightly call corruption).

use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

/// The append handle on the log, and the durability promise the writer's modes rest on:
///
/// * once [`LogFile::append`] returns `Ok`, the bytes are in the operating system: they survive
///   a crash of this process, not a power loss (what `flush` mode acknowledges);
/// * once [`LogFile::sync`] returns `Ok`, everything appended before it survives a power loss
///   too (what `fsync` mode acknowledges);
/// * once either fails, nothing is promised for the bytes since the last successful `sync`, not
///   even by a retry: the kernel may have dropped them. The caller must stop acknowledging
///   writes (the writer poisons the engine).
#[derive(Debug)]
pub(crate) struct LogFile {
    file: File,
    path: PathBuf,
    /// Bytes known to be in the file: every append that succeeded.
    len: u64,
}

impl LogFile {
    /// Open the log for appending at `valid_len`, cutting anything after it (a torn tail that
    /// recovery found), and make the cut durable before the first append.
    pub(crate) fn open(path: &Path, valid_len: u64) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if file.metadata()?.len() != valid_len {
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        Ok(LogFile { file, path: path.to_owned(), len: valid_len })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Hand `bytes` to the operating system: durable against a process crash once this returns
    /// `Ok`. On error, the file is cut back to its length before this call (best effort: the
    /// error that matters is the first one).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(err) => {
                let _ = self.file.set_len(self.len);
                Err(err)
            }
        }
    }

    /// Cut the file back to `len` bytes after a failed group (best effort: the engine is
    /// poisoned already, and recovery would cut a torn remainder anyway).
    pub(crate) fn cut_back(&mut self, len: u64) {
        if len < self.len && self.file.set_len(len).is_ok() {
            self.len = len;
        }
    }

    /// Make everything appended so far durable against a power loss (`fdatasync`).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}
