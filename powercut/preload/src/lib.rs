//! `libpowercut_preload.so`: loaded with `LD_PRELOAD`, it stands in front of glibc's file
//! calls, forwards each to the real one, and journals what happened to the files under
//! `POWERCUT_DIR` so that `powercut::cut_power` can later rebuild what a disk would hold after
//! a power cut. It can also inject `EIO` on a sync and `ENOSPC` on writes.
//!
//! Rules every hook follows:
//! - **Reentrancy**: the interposer's own I/O (reading the directory at start, the journal)
//!   goes through these same symbols; a thread-local flag makes such nested calls go
//!   straight to libc.
//! - **Hot path**: a call on a descriptor that is not tracked (sockets, stdout) costs one
//!   atomic load before the real call.
//! - **errno**: the caller sees the real call's result and errno, whatever the journaling did.
//! - **Order**: see `tracker` for why writes hold the lock across the real call and syncs not.
//!
//! Only x86_64/aarch64 Linux with glibc: `open` is variadic, and its optional `mode` is read
//! as a third fixed argument, which those ABIs pass in the same register.

#![allow(
    clippy::missing_safety_doc,
    reason = "every exported function's safety contract is the libc function's of the same name"
)]

mod real;
mod tracker;

use std::{
    cell::Cell,
    ffi::{CStr, c_char, c_int, c_void},
};

use libc::{iovec, mode_t, off64_t, size_t, ssize_t};
use tracker::{Target, WriteBudget, lock, maybe_tracked};

thread_local! {
    /// Set while this thread runs interposer code: nested calls go straight to libc.
    pub(crate) static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Run `hook` unless this thread is already inside one (then `passthrough`), with errno
/// restored to what the hook says the caller must see.
fn guarded<T>(passthrough: impl FnOnce() -> T, hook: impl FnOnce() -> (T, c_int)) -> T {
    if BUSY.with(|busy| busy.replace(true)) {
        return passthrough();
    }
    let (result, errno) = hook();
    BUSY.with(|busy| busy.set(false));
    set_errno(errno);
    result
}

fn errno() -> c_int {
    // SAFETY: glibc's thread-local errno.
    unsafe { *libc::__errno_location() }
}

fn set_errno(value: c_int) {
    // SAFETY: glibc's thread-local errno.
    unsafe { *libc::__errno_location() = value };
}

/// The real call's result and the errno it left.
fn with_errno<T>(result: T) -> (T, c_int) {
    (result, errno())
}

/// Abort with a message: a journal the harness cannot trust is worse than no run.
pub(crate) fn die(message: &str) -> ! {
    // SAFETY: writing a buffer to stderr with the raw syscall, then aborting.
    unsafe {
        libc::syscall(libc::SYS_write, 2, message.as_ptr(), message.len());
        libc::syscall(libc::SYS_write, 2, b"\n".as_ptr(), 1);
        libc::abort();
    }
}

fn c_path<'a>(path: *const c_char) -> Option<&'a CStr> {
    // SAFETY: libc callers pass NUL-terminated paths; null is checked.
    (!path.is_null()).then(|| unsafe { CStr::from_ptr(path) })
}

// ---- open / close ---------------------------------------------------------------------------

fn track_open(dirfd: c_int, path: *const c_char, flags: c_int, open: impl Fn() -> c_int) -> c_int {
    guarded(&open, || {
        // The lock is held across the real open: a concurrent rename must not slip between.
        let Some(mut tracker) = lock() else { return with_errno(open()) };
        let Some(relative) = c_path(path).and_then(|path| tracker.relative(dirfd, path)) else {
            drop(tracker);
            return with_errno(open());
        };
        let (fd, errno) = with_errno(open());
        if fd >= 0 {
            tracker.opened(fd, relative, flags);
        }
        (fd, errno)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    track_open(libc::AT_FDCWD, path, flags, || unsafe { real::open(path, flags, mode) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
    track_open(libc::AT_FDCWD, path, flags, || unsafe { real::open64(path, flags, mode) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: mode_t,
) -> c_int {
    track_open(dirfd, path, flags, || unsafe { real::openat(dirfd, path, flags, mode) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: mode_t,
) -> c_int {
    track_open(dirfd, path, flags, || unsafe { real::openat64(dirfd, path, flags, mode) })
}

const CREAT_FLAGS: c_int = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat(path: *const c_char, mode: mode_t) -> c_int {
    track_open(libc::AT_FDCWD, path, CREAT_FLAGS, || unsafe { real::creat(path, mode) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat64(path: *const c_char, mode: mode_t) -> c_int {
    track_open(libc::AT_FDCWD, path, CREAT_FLAGS, || unsafe { real::creat64(path, mode) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let real = || unsafe { real::close(fd) };
    if !maybe_tracked(fd) {
        return real();
    }
    guarded(real, || {
        if let Some(mut tracker) = lock() {
            tracker.closing(fd);
        }
        with_errno(real())
    })
}

// ---- writes -----------------------------------------------------------------------------------

/// Where a write lands: at `offset`, or (for `write`/`writev`) at the position the descriptor
/// had, found after the call as the new position minus the bytes written (this also covers
/// `O_APPEND`, whose position is the end of the file at the time of the write).
#[derive(Clone, Copy)]
enum At {
    Offset(off64_t),
    Position,
}

/// A write to a tracked file: apply the disk-full budget, make the real call with the lock
/// held, journal the bytes that were written.
fn track_write(
    fd: c_int,
    at: At,
    buffers: &[(*const u8, usize)],
    write: impl Fn(&[(*const u8, usize)]) -> ssize_t,
) -> ssize_t {
    guarded(
        || write(buffers),
        || {
            let Some(mut tracker) = lock() else { return with_errno(write(buffers)) };
            let Some(Target::File { id, path }) = tracker.target(fd) else {
                return with_errno(write(buffers));
            };
            let wanted: usize = buffers.iter().map(|(_, len)| len).sum();
            let allowed = match tracker.write_budget(id, &path, wanted) {
                WriteBudget::All => wanted,
                WriteBudget::Upto(room) => room,
                WriteBudget::NoSpace => return (-1, libc::ENOSPC),
            };
            let shortened = clip(buffers, allowed);
            let (n, errno) = with_errno(write(&shortened));
            if n > 0 {
                let offset = match at {
                    At::Offset(offset) => offset as u64,
                    // SAFETY: lseek on the caller's descriptor, position unchanged.
                    At::Position => unsafe {
                        libc::lseek64(fd, 0, libc::SEEK_CUR) as u64 - n as u64
                    },
                };
                tracker.wrote(fd, id, &path, offset, gather(&shortened, n as usize));
            }
            (n, errno)
        },
    )
}

/// The first `limit` bytes of `buffers`.
fn clip(buffers: &[(*const u8, usize)], mut limit: usize) -> Vec<(*const u8, usize)> {
    let mut out = Vec::with_capacity(buffers.len());
    for &(base, len) in buffers {
        if limit == 0 {
            break;
        }
        out.push((base, len.min(limit)));
        limit -= len.min(limit);
    }
    out
}

/// The first `n` bytes of `buffers`, copied.
fn gather(buffers: &[(*const u8, usize)], n: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(n);
    for &(base, len) in &clip(buffers, n) {
        // SAFETY: the caller's buffer, valid for `len` bytes for the duration of the call.
        data.extend_from_slice(unsafe { std::slice::from_raw_parts(base, len) });
    }
    data
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    if !maybe_tracked(fd) {
        return unsafe { real::write(fd, buf, count) };
    }
    track_write(fd, At::Position, &[(buf.cast(), count)], |b| unsafe {
        real::write(fd, b.first().map_or(buf, |b| b.0.cast()), b.first().map_or(0, |b| b.1))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pwrite(
    fd: c_int,
    buf: *const c_void,
    count: size_t,
    offset: off64_t,
) -> ssize_t {
    unsafe { pwrite64(fd, buf, count, offset) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pwrite64(
    fd: c_int,
    buf: *const c_void,
    count: size_t,
    offset: off64_t,
) -> ssize_t {
    if !maybe_tracked(fd) {
        return unsafe { real::pwrite64(fd, buf, count, offset) };
    }
    track_write(fd, At::Offset(offset), &[(buf.cast(), count)], |b| unsafe {
        real::pwrite64(
            fd,
            b.first().map_or(buf, |b| b.0.cast()),
            b.first().map_or(0, |b| b.1),
            offset,
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    if !maybe_tracked(fd) || iov.is_null() || count <= 0 {
        return unsafe { real::writev(fd, iov, count) };
    }
    // SAFETY: the caller's iovec array of `count` entries.
    let vectors = unsafe { std::slice::from_raw_parts(iov, count as usize) };
    let buffers: Vec<_> = vectors.iter().map(|v| (v.iov_base as *const u8, v.iov_len)).collect();
    track_write(fd, At::Position, &buffers, |b| {
        let vectors: Vec<iovec> = b
            .iter()
            .map(|&(base, len)| iovec { iov_base: base as *mut c_void, iov_len: len })
            .collect();
        unsafe { real::writev(fd, vectors.as_ptr(), vectors.len() as c_int) }
    })
}

fn track_truncate(fd: c_int, len: off64_t, truncate: impl Fn() -> c_int) -> c_int {
    if !maybe_tracked(fd) {
        return truncate();
    }
    guarded(&truncate, || {
        let Some(mut tracker) = lock() else { return with_errno(truncate()) };
        let (result, errno) = with_errno(truncate());
        if result == 0
            && let Some(Target::File { id, .. }) = tracker.target(fd)
        {
            tracker.record(&powercut::Record::Truncate { id, len: len as u64 });
        }
        (result, errno)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftruncate(fd: c_int, len: off64_t) -> c_int {
    track_truncate(fd, len, || unsafe { real::ftruncate(fd, len) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftruncate64(fd: c_int, len: off64_t) -> c_int {
    track_truncate(fd, len, || unsafe { real::ftruncate64(fd, len) })
}

// ---- syncs ------------------------------------------------------------------------------------

/// A sync: note the journal position, maybe inject `EIO`, make the real call without the
/// lock, and journal that everything before the noted position is durable.
fn track_sync(fd: c_int, sync: impl Fn() -> c_int) -> c_int {
    if !maybe_tracked(fd) {
        return sync();
    }
    guarded(&sync, || {
        let (target, upto) = {
            let Some(mut tracker) = lock() else { return with_errno(sync()) };
            let Some(target) = tracker.target(fd) else { return with_errno(sync()) };
            if let Target::File { id, path } = &target
                && tracker.sync_fails(*id, path)
            {
                return (-1, libc::EIO);
            }
            (target, tracker.seq())
        };
        let (result, errno) = with_errno(sync());
        if result == 0
            && let Some(mut tracker) = lock()
        {
            tracker.record(&match target {
                Target::File { id, .. } => powercut::Record::Sync { id, upto },
                Target::Dir { path } => powercut::Record::DirSync { dir: path, upto },
            });
        }
        (result, errno)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsync(fd: c_int) -> c_int {
    track_sync(fd, || unsafe { real::fsync(fd) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdatasync(fd: c_int) -> c_int {
    track_sync(fd, || unsafe { real::fdatasync(fd) })
}

// ---- names ------------------------------------------------------------------------------------

fn track_rename(
    from_dir: c_int,
    from: *const c_char,
    to_dir: c_int,
    to: *const c_char,
    rename: impl Fn() -> c_int,
) -> c_int {
    guarded(&rename, || {
        let Some(mut tracker) = lock() else { return with_errno(rename()) };
        let from_rel = c_path(from).and_then(|path| tracker.relative(from_dir, path));
        let to_rel = c_path(to).and_then(|path| tracker.relative(to_dir, path));
        let (result, errno) = with_errno(rename());
        if result == 0 {
            match (from_rel, to_rel) {
                (Some(from), Some(to)) => tracker.renamed(from, to),
                // Moved out of the tracked tree: gone from it. Moved in: not modelled.
                (Some(from), None) => tracker.unlinked(from),
                _ => {}
            }
        }
        (result, errno)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn rename(from: *const c_char, to: *const c_char) -> c_int {
    track_rename(libc::AT_FDCWD, from, libc::AT_FDCWD, to, || unsafe { real::rename(from, to) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn renameat(
    from_dir: c_int,
    from: *const c_char,
    to_dir: c_int,
    to: *const c_char,
) -> c_int {
    track_rename(from_dir, from, to_dir, to, || unsafe {
        real::renameat(from_dir, from, to_dir, to)
    })
}

fn track_unlink(dirfd: c_int, path: *const c_char, unlink: impl Fn() -> c_int) -> c_int {
    guarded(&unlink, || {
        let Some(mut tracker) = lock() else { return with_errno(unlink()) };
        let relative = c_path(path).and_then(|path| tracker.relative(dirfd, path));
        let (result, errno) = with_errno(unlink());
        if result == 0
            && let Some(relative) = relative
        {
            tracker.unlinked(relative);
        }
        (result, errno)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn unlink(path: *const c_char) -> c_int {
    track_unlink(libc::AT_FDCWD, path, || unsafe { real::unlink(path) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn unlinkat(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // Removing a directory is not modelled (Lithair keeps one flat directory).
    if flags & libc::AT_REMOVEDIR != 0 {
        return unsafe { real::unlinkat(dirfd, path, flags) };
    }
    track_unlink(dirfd, path, || unsafe { real::unlinkat(dirfd, path, flags) })
}
