//! The schedule every worker of a load shares: which request comes next, whether it is
//! warm-up, and in the open loop when it is due.
//!
//! Workers ask the [`Plan`] for a [`Ticket`] whenever their connection is free; a ticket is
//! handed out with one atomic increment, so pacing adds no lock to the request path. In the
//! open loop each ticket carries its intended send time (`start + i / rate`): latency is
//! measured from it, so a server stall shows in the latencies of the requests that should
//! have gone out meanwhile instead of being hidden (the "coordinated omission" of
//! closed-loop load tools).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::Pace;

/// Tokio's timer fires on 1 ms ticks and rounds deadlines up, so waiting for an intended send
/// time would send up to a tick late and add that to every open-loop latency. Waking one tick
/// early sends within the tick before the intended time instead.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// The schedule all workers of a load share: which request comes next and when it is due.
pub(crate) struct Plan {
    schedule: Schedule,
    next_index: AtomicU64,
    /// Closed loop with a request count: measured requests handed out so far.
    measured_issued: AtomicU64,
}

enum Schedule {
    Closed { measured_from: Instant, budget: Option<u64>, deadline: Option<Instant> },
    Open { start: Instant, rate_per_sec: f64, warmup_requests: u64, total_requests: u64 },
}

/// One request to send: its index, whether it belongs to the warm-up, and in the open loop
/// its intended send time (a closed-loop request is due whenever a connection is free).
pub(crate) struct Ticket {
    pub(crate) index: u64,
    pub(crate) warmup: bool,
    pub(crate) due: Option<Instant>,
}

impl Plan {
    pub(crate) fn new(pace: &Pace, warmup: Duration, start: Instant) -> Self {
        let schedule = match *pace {
            Pace::Closed { requests, duration } => {
                let measured_from = start + warmup;
                Schedule::Closed {
                    measured_from,
                    budget: requests,
                    deadline: duration.map(|duration| measured_from + duration),
                }
            }
            Pace::Open { rate_per_sec, duration } => {
                let count = |period: Duration| (rate_per_sec * period.as_secs_f64()).round() as u64;
                let warmup_requests = count(warmup);
                Schedule::Open {
                    start,
                    rate_per_sec,
                    warmup_requests,
                    total_requests: warmup_requests + count(duration),
                }
            }
        };
        Self { schedule, next_index: AtomicU64::new(0), measured_issued: AtomicU64::new(0) }
    }

    /// The next request for a free worker, or `None` once the run is over.
    pub(crate) fn next_ticket(&self) -> Option<Ticket> {
        match self.schedule {
            Schedule::Closed { measured_from, budget, deadline } => {
                let now = Instant::now();
                let warmup = now < measured_from;
                if !warmup {
                    if deadline.is_some_and(|deadline| now >= deadline) {
                        return None;
                    }
                    if let Some(budget) = budget
                        && self.measured_issued.fetch_add(1, Ordering::Relaxed) >= budget
                    {
                        return None;
                    }
                }
                let index = self.next_index.fetch_add(1, Ordering::Relaxed);
                Some(Ticket { index, warmup, due: None })
            }
            Schedule::Open { start, rate_per_sec, warmup_requests, total_requests } => {
                let index = self.next_index.fetch_add(1, Ordering::Relaxed);
                if index >= total_requests {
                    return None;
                }
                let due = start + Duration::from_secs_f64(index as f64 / rate_per_sec);
                Some(Ticket { index, warmup: index < warmup_requests, due: Some(due) })
            }
        }
    }

    /// When the measured run starts: the end of the warm-up, or in the open loop the intended
    /// send time of the first measured request.
    pub(crate) fn measured_from(&self) -> Instant {
        match self.schedule {
            Schedule::Closed { measured_from, .. } => measured_from,
            Schedule::Open { start, rate_per_sec, warmup_requests, .. } => {
                start + Duration::from_secs_f64(warmup_requests as f64 / rate_per_sec)
            }
        }
    }

    pub(crate) fn target_rate(&self) -> Option<f64> {
        match self.schedule {
            Schedule::Closed { .. } => None,
            Schedule::Open { rate_per_sec, .. } => Some(rate_per_sec),
        }
    }
}

/// Waits until a ticket is due (within a timer tick).
pub(crate) async fn wait_until_due(due: Instant) {
    if let Some(wake) = due.checked_sub(TIMER_TICK)
        && wake > Instant::now()
    {
        tokio::time::sleep_until(wake.into()).await;
    }
}
