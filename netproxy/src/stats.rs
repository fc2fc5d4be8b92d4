//! Counters a link keeps, for tests and for the run's report.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::Direction;

/// Bytes seen in one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Bytes written to the other side.
    pub forwarded: u64,
    /// Bytes read and thrown away (black-holed, or read while the link was being dropped).
    pub discarded: u64,
    /// Bytes read and not yet forwarded nor thrown away: waiting out a delay, or being written.
    pub pending: u64,
}

/// A snapshot of a link's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub request: DirectionStats,
    pub response: DirectionStats,
    /// Connections accepted and forwarded to the upstream.
    pub accepted: u64,
    /// Connections reset as soon as they were accepted, because the link was `Drop`.
    pub refused: u64,
    /// Open connections the proxy reset: a `Drop`, leaving a `Blackhole` that lost bytes, or
    /// the proxy going away.
    pub killed: u64,
    /// Connections reset because the upstream could not be reached.
    pub upstream_failures: u64,
    /// Connections open now.
    pub active: u64,
}

impl Stats {
    pub fn direction(&self, direction: Direction) -> DirectionStats {
        match direction {
            Direction::Request => self.request,
            Direction::Response => self.response,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    forwarded: [AtomicU64; 2],
    discarded: [AtomicU64; 2],
    pending: [AtomicU64; 2],
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) killed: AtomicU64,
    pub(crate) upstream_failures: AtomicU64,
    pub(crate) active: AtomicU64,
}

impl Counters {
    pub(crate) fn forwarded(&self, direction: Direction, bytes: usize) {
        self.forwarded[direction.index()].fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn discarded(&self, direction: Direction, bytes: usize) {
        self.discarded[direction.index()].fetch_add(bytes as u64, Relaxed);
    }

    /// Bytes queued for writing; every queued byte later leaves through `unqueued`.
    pub(crate) fn queued(&self, direction: Direction, bytes: usize) {
        self.pending[direction.index()].fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn unqueued(&self, direction: Direction, bytes: usize) {
        self.pending[direction.index()].fetch_sub(bytes as u64, Relaxed);
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let direction = |d: Direction| DirectionStats {
            forwarded: self.forwarded[d.index()].load(Relaxed),
            discarded: self.discarded[d.index()].load(Relaxed),
            pending: self.pending[d.index()].load(Relaxed),
        };
        Stats {
            request: direction(Direction::Request),
            response: direction(Direction::Response),
            accepted: self.accepted.load(Relaxed),
            refused: self.refused.load(Relaxed),
            killed: self.killed.load(Relaxed),
            upstream_failures: self.upstream_failures.load(Relaxed),
            active: self.active.load(Relaxed),
        }
    }
}
