//! A worker sends requests over its one connection until the schedule runs out, and tallies
//! what comes back.
//!
//! One worker per connection, each in its own task, each with its own tallies and latency
//! histogram: workers share only the schedule's atomic counters, so nothing on the
//! per-request path takes a lock. Tallies become one report once the run is over.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderValue, StatusCode};
use http_body_util::Full;
use tokio::time::timeout;

use crate::config::LoadConfig;
use crate::connection::{Link, TransportError, to_http};
use crate::report::{LoadReport, MAX_ERROR_SAMPLES};
use crate::schedule::{Plan, Ticket, wait_until_due};
use crate::workload::{Check, Request, Workload};

/// Sends requests over one connection until the plan runs out, tallying what comes back.
pub(crate) struct Worker {
    addr: SocketAddr,
    host: HeaderValue,
    request_timeout: Duration,
    plan: Arc<Plan>,
    workload: Arc<dyn Workload>,
    link: Option<Link>,
    /// The current response's body, reused so that reading one allocates nothing.
    body: Vec<u8>,
    tally: Tally,
}

impl Worker {
    pub(crate) fn new(
        addr: SocketAddr,
        host: HeaderValue,
        config: &LoadConfig,
        plan: Arc<Plan>,
        workload: Arc<dyn Workload>,
        link: Link,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            addr,
            host,
            request_timeout: config.request_timeout,
            plan,
            workload,
            link: Some(link),
            body: Vec::new(),
            tally: Tally::new(&config.label)?,
        })
    }

    pub(crate) async fn run(mut self) -> Tally {
        while let Some(ticket) = self.plan.next_ticket() {
            if let Some(due) = ticket.due {
                wait_until_due(due).await;
            }
            let request = self.workload.request(ticket.index);
            let sent = Instant::now();
            let outcome = match self.exchange(&request).await {
                Ok(status) => Outcome::Response {
                    status,
                    check: self.workload.check(&request, status, &self.body),
                },
                Err(error) => Outcome::Transport(error),
            };
            let answered = Instant::now();
            // A request sent late (every connection was busy) is timed from when it was due;
            // one sent early (within a timer tick) from when it actually went out.
            let latency = answered - ticket.due.map_or(sent, |due| due.min(sent));
            self.tally.record(&ticket, &request, outcome, latency, answered);
        }
        self.tally
    }

    /// Sends one request and reads its whole response into `self.body`, within the timeout.
    async fn exchange(&mut self, request: &Request) -> Result<StatusCode, TransportError> {
        let http_request = to_http(request, &self.host).map_err(TransportError::InvalidRequest)?;
        let outcome = timeout(self.request_timeout, self.round_trip(http_request))
            .await
            .unwrap_or(Err(TransportError::Timeout(self.request_timeout)));
        if outcome.is_err() {
            // A failed or abandoned exchange leaves the connection in an unknown state.
            self.link = None;
        }
        outcome
    }

    async fn round_trip(
        &mut self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<StatusCode, TransportError> {
        let link = match &mut self.link {
            Some(link) if link.is_usable() => link,
            slot => slot.insert(Link::connect(self.addr).await?),
        };
        link.round_trip(request, &mut self.body).await.map_err(TransportError::Http)
    }
}

enum Outcome {
    Response { status: StatusCode, check: Check },
    Transport(TransportError),
}

/// One worker's share of the report.
pub(crate) struct Tally {
    pub(crate) report: LoadReport,
    pub(crate) last_measured_response: Option<Instant>,
}

impl Tally {
    fn new(label: &str) -> anyhow::Result<Self> {
        Ok(Self { report: LoadReport::empty(label)?, last_measured_response: None })
    }

    fn record(
        &mut self,
        ticket: &Ticket,
        request: &Request,
        outcome: Outcome,
        latency: Duration,
        answered: Instant,
    ) {
        let failure = match outcome {
            Outcome::Response { status, check } => {
                if !ticket.warmup {
                    *self.report.statuses.entry(status.as_u16()).or_default() += 1;
                    record_latency(&mut self.report.latency, latency);
                }
                match check {
                    Check::Ok => None,
                    Check::Acknowledged(id) => {
                        self.report.acknowledged.push(id);
                        None
                    }
                    Check::Failed(reason) => {
                        if !ticket.warmup {
                            self.report.rejected += 1;
                        }
                        Some(Failure::Rejected { status, reason })
                    }
                }
            }
            Outcome::Transport(error) => {
                if !ticket.warmup {
                    self.report.transport_errors += 1;
                }
                Some(Failure::Transport(error))
            }
        };
        if ticket.warmup {
            self.report.warmup_requests += 1;
            self.report.warmup_errors += u64::from(failure.is_some());
        } else {
            self.report.requests += 1;
            self.last_measured_response = self.last_measured_response.max(Some(answered));
        }
        if let Some(failure) = failure
            && self.report.error_samples.len() < MAX_ERROR_SAMPLES
        {
            let phase = if ticket.warmup { "warm-up " } else { "" };
            let sample = format!("{phase}{} {}: {failure}", request.method, request.path);
            self.report.error_samples.push(sample);
        }
    }
}

fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    // An auto-resizing histogram refuses only values past i64::MAX / 2 µs; clamp those.
    if histogram.record(micros).is_err() {
        histogram.saturating_record(micros);
    }
}

enum Failure {
    Rejected { status: StatusCode, reason: String },
    Transport(TransportError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected { status, reason } => write!(f, "rejected {status}: {reason}"),
            Self::Transport(error) => write!(f, "{error}"),
        }
    }
}
