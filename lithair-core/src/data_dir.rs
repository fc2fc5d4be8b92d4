//! The data directory: created on first use, and locked so that two processes never write the
//! same log.

use std::{
    fs::{self, File},
    io,
    path::{Path, PathBuf},
};

use crate::OpenError;

const LOCK_FILE_NAME: &str = "LOCK";

/// An open, exclusively locked data directory. The lock is released when this is dropped
/// (or the process dies: it is an `flock`, not a marker file).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let dir_error = |source| OpenError::DataDir { path: path.to_owned(), source };
        fs::create_dir_all(path).map_err(dir_error)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE_NAME))
            .map_err(dir_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(OpenError::Locked { path: path.to_owned() });
            }
            Err(fs::TryLockError::Error(err)) => return Err(dir_error(err)),
        }
        Ok(DataDir { path: path.to_owned(), _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Make the directory's entries durable: needed after creating or renaming a file in it,
    /// or the file itself can vanish in a power loss even though its contents were synced.
    pub fn sync(&self) -> io::Result<()> {
        File::open(&self.path)?.sync_all()
    }
}
