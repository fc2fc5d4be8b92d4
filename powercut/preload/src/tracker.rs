//! What the interposer knows: the tracked root, which descriptors are tracked files or
//! directories, the names it saw, the journal, and the faults to inject.
//!
//! One mutex orders everything that changes a tracked file: a write is journaled while the
//! lock that covered the real write is still held, so the journal's order is the order the
//! kernel saw. Syncs are the exception (they would block every writer for a disk flush): a
//! sync notes the journal position before the real call and covers only what came before.

use std::{
    collections::{HashMap, HashSet},
    ffi::{CStr, c_int},
    fs,
    os::unix::ffi::OsStrExt,
    path::{Component, Path, PathBuf},
    sync::{
        Mutex, MutexGuard, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use powercut::{Fault, FileId, Model, Record, journal, vars};

use crate::real;

/// What a tracked descriptor refers to.
#[derive(Debug, Clone)]
pub enum Target {
    File { id: FileId, path: String },
    Dir { path: String },
}

pub struct Tracker {
    roots: Vec<PathBuf>,
    journal_fd: c_int,
    seq: u64,
    next_id: FileId,
    names: HashMap<String, FileId>,
    fds: HashMap<c_int, Target>,
    /// Descriptors opened with `O_SYNC` or `O_DSYNC`: each write is durable when it returns.
    dsync: HashSet<c_int>,
    faults: Faults,
}

#[derive(Default)]
struct Faults {
    fail_sync: Option<u64>,
    enospc_after: Option<u64>,
    only: Option<String>,
    syncs: u64,
    written: u64,
    reported_enospc: bool,
}

/// What a write may do, decided before the real call.
pub enum WriteBudget {
    All,
    /// Only this many bytes (a short write), the disk is then full.
    Upto(usize),
    NoSpace,
}

/// Descriptors that are tracked, one bit each, so that the hot path (sockets, stdout) never
/// takes the lock. Descriptors past the bitmap are looked up under the lock.
const BITMAP_FDS: usize = 1 << 16;
static TRACKED: [AtomicU64; BITMAP_FDS / 64] = [const { AtomicU64::new(0) }; BITMAP_FDS / 64];

pub fn maybe_tracked(fd: c_int) -> bool {
    match usize::try_from(fd) {
        Ok(fd) if fd < BITMAP_FDS => {
            TRACKED[fd / 64].load(Ordering::Acquire) & (1 << (fd % 64)) != 0
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

fn set_bit(fd: c_int, on: bool) {
    if let Ok(fd) = usize::try_from(fd)
        && fd < BITMAP_FDS
    {
        let bit = 1u64 << (fd % 64);
        if on {
            TRACKED[fd / 64].fetch_or(bit, Ordering::AcqRel);
        } else {
            TRACKED[fd / 64].fetch_and(!bit, Ordering::AcqRel);
        }
    }
}

/// The tracker, or `None` when `POWERCUT_DIR` is not set (then every call is passed through).
pub fn tracker() -> Option<&'static Mutex<Tracker>> {
    static TRACKER: OnceLock<Option<Mutex<Tracker>>> = OnceLock::new();
    TRACKER
        .get_or_init(|| {
            // Initialisation does I/O (the journal, the directory): through libc directly.
            let nested = crate::BUSY.with(|busy| busy.replace(true));
            let tracker = Tracker::from_env().map(Mutex::new);
            crate::BUSY.with(|busy| busy.set(nested));
            tracker
        })
        .as_ref()
}

pub fn lock() -> Option<MutexGuard<'static, Tracker>> {
    tracker().map(|tracker| tracker.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

impl Tracker {
    fn from_env() -> Option<Tracker> {
        let dir = absolute(Path::new(&std::env::var_os(vars::DIR)?));
        let journal_path = std::env::var_os(vars::JOURNAL).unwrap_or_else(|| {
            crate::die("powercut: POWERCUT_DIR is set but POWERCUT_JOURNAL is not")
        });
        if absolute(Path::new(&journal_path)).starts_with(&dir) {
            crate::die("powercut: POWERCUT_JOURNAL must be outside POWERCUT_DIR");
        }
        let mut roots = vec![dir.clone()];
        // The process may name the directory through a symbolic link, or the other way round.
        if let Ok(canonical) = fs::canonicalize(&dir)
            && canonical != dir
        {
            roots.push(canonical);
        }
        // A journal left by an earlier process goes on: what it did not sync is still not
        // durable. Its names are the ones this process starts from.
        let previous = journal::read(Path::new(&journal_path))
            .unwrap_or_else(|_| crate::die("powercut: the journal exists but is unreadable"));
        let model = Model::replay(&previous);
        let path = std::ffi::CString::new(journal_path.as_encoded_bytes()).ok()?;
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
        // SAFETY: a valid C string; the real open, not ours.
        let journal_fd = unsafe { real::open(path.as_ptr(), flags, 0o644) };
        if journal_fd < 0 {
            crate::die("powercut: cannot open POWERCUT_JOURNAL");
        }
        let mut tracker = Tracker {
            roots,
            journal_fd,
            seq: model.next_seq,
            next_id: model.next_id,
            names: model.current.into_iter().collect(),
            fds: HashMap::new(),
            dsync: HashSet::new(),
            faults: Faults {
                fail_sync: env_u64(vars::FAIL_SYNC),
                enospc_after: env_u64(vars::ENOSPC_AFTER),
                only: std::env::var(vars::FAULT_FILE).ok(),
                ..Faults::default()
            },
        };
        tracker.record(&Record::Start { pid: std::process::id() });
        if previous.is_empty() {
            tracker.record_base(&dir, "");
        }
        Some(tracker)
    }

    /// Every regular file under `dir`, as it is now: the disk the process starts from.
    fn record_base(&mut self, dir: &Path, relative: &str) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => self.record_base(&entry.path(), &path),
                Ok(kind) if kind.is_file() => {
                    let content = fs::read(entry.path()).unwrap_or_default();
                    self.adopt(&path, content);
                }
                _ => {}
            }
        }
    }

    fn adopt(&mut self, path: &str, content: Vec<u8>) -> FileId {
        let id = self.new_id();
        self.names.insert(path.to_owned(), id);
        self.record(&Record::Base { id, path: path.to_owned(), content });
        id
    }

    fn new_id(&mut self) -> FileId {
        self.next_id += 1;
        self.next_id - 1
    }

    /// Append one record with a single real `write` (no fsync: the journal only has to
    /// survive the process being killed, and the page cache does that).
    pub fn record(&mut self, record: &Record) {
        let bytes = record.encode();
        let mut done = 0;
        while done < bytes.len() {
            // SAFETY: the buffer is valid for its length; the real write, not ours.
            let n = unsafe {
                real::write(self.journal_fd, bytes[done..].as_ptr().cast(), bytes.len() - done)
            };
            if n <= 0 {
                if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                }
                crate::die("powercut: cannot write the journal");
            }
            done += n as usize;
        }
        self.seq += 1;
    }

    /// The path of `path` (as given to a call resolved against `dirfd`) relative to the
    /// tracked root, or `None` if it is outside.
    pub fn relative(&self, dirfd: c_int, path: &CStr) -> Option<String> {
        let path = Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        let full = if path.is_absolute() || dirfd == libc::AT_FDCWD {
            absolute(path)
        } else {
            let base = fs::read_link(format!("/proc/self/fd/{dirfd}")).ok()?;
            absolute(&base.join(path))
        };
        self.roots.iter().find_map(|root| {
            let rest = full.strip_prefix(root).ok()?;
            Some(rest.to_string_lossy().into_owned())
        })
    }

    /// A descriptor was opened on `path` (relative to the root) with `flags`.
    pub fn opened(&mut self, fd: c_int, path: String, flags: c_int) {
        let target = if let Some(&id) = self.names.get(&path) {
            if flags & libc::O_TRUNC != 0 && flags & libc::O_ACCMODE != libc::O_RDONLY {
                self.record(&Record::Truncate { id, len: 0 });
            }
            Target::File { id, path }
        } else {
            // SAFETY: fstat on a descriptor we were just given, into a zeroed struct.
            let mut stat: libc::stat64 = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat64(fd, &mut stat) } != 0 {
                return;
            }
            match stat.st_mode & libc::S_IFMT {
                libc::S_IFDIR => Target::Dir { path },
                libc::S_IFREG if flags & libc::O_CREAT != 0 && stat.st_size == 0 => {
                    let id = self.new_id();
                    self.names.insert(path.clone(), id);
                    self.record(&Record::Create { id, path: path.clone() });
                    Target::File { id, path }
                }
                libc::S_IFREG => {
                    // Made by another process, or before tracking: take it as durable.
                    let content = fs::read(self.roots[0].join(&path)).unwrap_or_default();
                    let id = self.adopt(&path, content);
                    Target::File { id, path }
                }
                _ => return,
            }
        };
        self.fds.insert(fd, target);
        if flags & libc::O_DSYNC != 0 {
            self.dsync.insert(fd);
        }
        set_bit(fd, true);
    }

    /// Forget `fd` before the real `close`, so that a descriptor number reused by another
    /// thread's `open` right after is never mistaken for this one.
    pub fn closing(&mut self, fd: c_int) {
        self.fds.remove(&fd);
        self.dsync.remove(&fd);
        set_bit(fd, false);
    }

    pub fn target(&self, fd: c_int) -> Option<Target> {
        self.fds.get(&fd).cloned()
    }

    pub fn renamed(&mut self, from: String, to: String) {
        if let Some(id) = self.names.remove(&from) {
            self.names.insert(to.clone(), id);
        }
        self.record(&Record::Rename { from, to });
    }

    pub fn unlinked(&mut self, path: String) {
        self.names.remove(&path);
        self.record(&Record::Unlink { path });
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn counts_for_faults(&self, path: &str) -> bool {
        self.faults.only.as_deref().is_none_or(|only| only == path)
    }

    /// Whether this sync of a file is the one that must fail; if so the fault is journaled.
    pub fn sync_fails(&mut self, id: FileId, path: &str) -> bool {
        if !self.counts_for_faults(path) {
            return false;
        }
        self.faults.syncs += 1;
        if self.faults.fail_sync != Some(self.faults.syncs) {
            return false;
        }
        let fault = Fault::SyncEio { id, path: path.to_owned(), upto: self.seq };
        self.record(&Record::Fault(fault));
        true
    }

    pub fn write_budget(&mut self, id: FileId, path: &str, wanted: usize) -> WriteBudget {
        let Some(limit) = self.faults.enospc_after.filter(|_| self.counts_for_faults(path)) else {
            return WriteBudget::All;
        };
        let room = limit.saturating_sub(self.faults.written);
        if room >= wanted as u64 {
            return WriteBudget::All;
        }
        if room > 0 {
            return WriteBudget::Upto(room as usize);
        }
        if !self.faults.reported_enospc {
            self.faults.reported_enospc = true;
            let fault = Fault::NoSpace { id, path: path.to_owned(), written: self.faults.written };
            self.record(&Record::Fault(fault));
        }
        WriteBudget::NoSpace
    }

    pub fn wrote(&mut self, fd: c_int, id: FileId, path: &str, offset: u64, data: Vec<u8>) {
        if self.counts_for_faults(path) {
            self.faults.written += data.len() as u64;
        }
        self.record(&Record::Write { id, offset, data });
        if self.dsync.contains(&fd) {
            self.record(&Record::Sync { id, upto: self.seq });
        }
    }
}

/// `path` made absolute against the working directory and cleaned of `.` and `..`, without
/// touching the file system (the file may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}
