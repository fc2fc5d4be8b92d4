//! A disk that fills up, for the writes of the test process itself: with `RLIMIT_FSIZE` set, a
//! write that would make a file larger than the limit fails with `EFBIG`, as a full disk fails
//! with `ENOSPC`, and no interposer or privilege is needed. The engine's and the server's
//! in-process tests of storage failure use it; the harness's real server gets the interposer's
//! `POWERCUT_ENOSPC_AFTER` instead.

/// From now on, in this whole process, writes past `bytes` bytes of a file fail (`EFBIG`);
/// `None` lifts the limit (up to the hard limit the process was started with).
pub fn limit_file_size(bytes: Option<u64>) {
    // Without this, exceeding the limit kills the process with SIGXFSZ instead of failing the
    // write.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) }, 0, "getrlimit");
    // `rlim_t` is `u64` on every target the interposer supports (see powercut/preload).
    limit.rlim_cur = bytes.unwrap_or(libc::RLIM_INFINITY).min(limit.rlim_max);
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) }, 0, "setrlimit");
}
