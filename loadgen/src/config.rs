//! How big a load is and how it is paced: what a caller states before a run.
//!
//! Kept apart from the [`schedule`](crate::schedule) that carries it out, so that what a
//! run *should* do (validated here, once, before any connection opens) reads without the
//! atomics and instants of how workers share it.

use std::time::Duration;

use anyhow::{bail, ensure};

/// How long a request may take, connecting included, unless the config says otherwise.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// When requests are sent and when the run stops. Both paces start after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Pace {
    /// Each connection sends its next request as soon as the previous one is answered; stops
    /// after `requests` requests or after `duration`, whichever comes first.
    Closed { requests: Option<u64>, duration: Option<Duration> },
    /// Sends `rate_per_sec × duration` requests (rounded to nearest), evenly spaced, each on
    /// whichever connection is free.
    Open { rate_per_sec: f64, duration: Duration },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Names the run in its report, e.g. "readers".
    pub label: String,
    /// Persistent connections, one per worker.
    pub connections: usize,
    pub pace: Pace,
    /// Sent (at the same pace) and checked before the measured run, but left out of the
    /// latency histogram and the throughput. Its acknowledgements are kept.
    pub warmup: Duration,
    /// A request not fully answered within this time, connecting included, is an error and
    /// its connection is replaced.
    pub request_timeout: Duration,
}

impl LoadConfig {
    /// A closed loop that sends exactly `requests` requests.
    pub fn closed_requests(connections: usize, requests: u64) -> Self {
        Self::with_pace(connections, Pace::Closed { requests: Some(requests), duration: None })
    }

    /// A closed loop that sends requests for `duration`.
    pub fn closed_duration(connections: usize, duration: Duration) -> Self {
        Self::with_pace(connections, Pace::Closed { requests: None, duration: Some(duration) })
    }

    /// An open loop at a constant rate for `duration`.
    pub fn open(connections: usize, rate_per_sec: f64, duration: Duration) -> Self {
        Self::with_pace(connections, Pace::Open { rate_per_sec, duration })
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_warmup(mut self, warmup: Duration) -> Self {
        self.warmup = warmup;
        self
    }

    pub fn with_request_timeout(mut self, request_timeout: Duration) -> Self {
        self.request_timeout = request_timeout;
        self
    }

    pub(crate) fn with_pace(connections: usize, pace: Pace) -> Self {
        Self {
            label: "load".to_owned(),
            connections,
            pace,
            warmup: Duration::ZERO,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.connections > 0, "a load needs at least one connection");
        ensure!(!self.request_timeout.is_zero(), "the request timeout must be positive");
        match self.pace {
            Pace::Closed { requests: None, duration: None } => {
                bail!("a closed loop needs a request count or a duration, or it never stops")
            }
            Pace::Open { rate_per_sec, .. }
                if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) =>
            {
                bail!("an open loop needs a positive rate, not {rate_per_sec}")
            }
            _ => Ok(()),
        }
    }
}
