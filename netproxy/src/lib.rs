//! A TCP proxy for fault injection (work in progress).
