//! The real libc functions, found with `dlsym(RTLD_NEXT, …)` on first use.

use std::{
    ffi::{c_char, c_int, c_void},
    sync::atomic::{AtomicUsize, Ordering},
};

use libc::{iovec, mode_t, off64_t, size_t, ssize_t};

/// Resolve `name` (NUL-terminated) once. A missing symbol is a broken libc: abort loudly.
fn resolve(cache: &AtomicUsize, name: &'static [u8]) -> usize {
    let cached = cache.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: `name` is NUL-terminated; dlsym is thread-safe.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
    if found == 0 {
        let message = b"powercut: dlsym(RTLD_NEXT) found no libc symbol\n";
        // SAFETY: writing a static buffer to stderr, then aborting.
        unsafe {
            libc::syscall(libc::SYS_write, 2, message.as_ptr(), message.len());
            libc::abort();
        }
    }
    cache.store(found, Ordering::Relaxed);
    found
}

macro_rules! real {
    ($($name:ident: fn($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        pub unsafe fn $name($($arg: $ty),*) -> $ret {
            static CACHE: AtomicUsize = AtomicUsize::new(0);
            let address = resolve(&CACHE, concat!(stringify!($name), "\0").as_bytes());
            // SAFETY: the address is libc's function of that name, with that C signature.
            unsafe {
                let function: unsafe extern "C" fn($($ty),*) -> $ret = std::mem::transmute(address);
                function($($arg),*)
            }
        }
    )*};
}

/// The `open` family is variadic in C (`mode` is optional): call it as such, so that the
/// callee's variadic prologue gets the register count it expects.
macro_rules! real_variadic {
    ($($name:ident: fn($($arg:ident: $ty:ty),*; $mode:ident: $mode_ty:ty) -> $ret:ty;)*) => {$(
        pub unsafe fn $name($($arg: $ty,)* $mode: $mode_ty) -> $ret {
            static CACHE: AtomicUsize = AtomicUsize::new(0);
            let address = resolve(&CACHE, concat!(stringify!($name), "\0").as_bytes());
            // SAFETY: the address is libc's variadic function of that name.
            unsafe {
                let function: unsafe extern "C" fn($($ty),*, ...) -> $ret =
                    std::mem::transmute(address);
                function($($arg,)* $mode)
            }
        }
    )*};
}

real_variadic! {
    open: fn(path: *const c_char, flags: c_int; mode: mode_t) -> c_int;
    open64: fn(path: *const c_char, flags: c_int; mode: mode_t) -> c_int;
    openat: fn(dirfd: c_int, path: *const c_char, flags: c_int; mode: mode_t) -> c_int;
    openat64: fn(dirfd: c_int, path: *const c_char, flags: c_int; mode: mode_t) -> c_int;
}

real! {
    creat: fn(path: *const c_char, mode: mode_t) -> c_int;
    creat64: fn(path: *const c_char, mode: mode_t) -> c_int;
    close: fn(fd: c_int) -> c_int;
    write: fn(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    pwrite64: fn(fd: c_int, buf: *const c_void, count: size_t, offset: off64_t) -> ssize_t;
    writev: fn(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t;
    fsync: fn(fd: c_int) -> c_int;
    fdatasync: fn(fd: c_int) -> c_int;
    ftruncate: fn(fd: c_int, len: off64_t) -> c_int;
    ftruncate64: fn(fd: c_int, len: off64_t) -> c_int;
    rename: fn(from: *const c_char, to: *const c_char) -> c_int;
    renameat: fn(from_dir: c_int, from: *const c_char, to_dir: c_int, to: *const c_char) -> c_int;
    unlink: fn(path: *const c_char) -> c_int;
    unlinkat: fn(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
}
