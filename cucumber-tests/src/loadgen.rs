//! The harness's load generator: drives a server over HTTP/1.1 keep-alive connections at a
//! fixed concurrency (closed loop) or a fixed arrival rate (open loop), and reports what came
//! back — every status, every transport error, every response the workload's checker rejects,
//! a latency histogram, and the ids the server acknowledged.
//!
//! It speaks HTTP through hyper's low-level client connection rather than a pooled client
//! such as reqwest: the performance scenarios and the benchmark compare Lithair with `wrk` on
//! a 2-core machine where client and server share the CPUs, so every microsecond the client
//! spends per request is a microsecond the server does not get. Each worker owns one
//! connection and drives it from its own task, so dropping a timed-out connection closes its
//! socket at once. Nothing on the per-request path takes a lock: workers share only atomic
//! counters, and each keeps its own tallies and histogram, merged once the run is over.
//!
//! In the open loop each request has an intended send time (`start + i / rate`) and its
//! latency is measured from that time, not from when a connection became free. If the server
//! stalls, the requests that should have gone out during the stall wait for a connection, and
//! that wait is part of what a user of the server would see; measuring from the actual send
//! would hide it (the "coordinated omission" of closed-loop load tools).
//!
//! Workloads decide what to send and what counts as success, and can acknowledge ids (such as
//! the id of a created article) so that scenarios can later prove every acknowledged write is
//! in the event log. Acknowledgements from warm-up requests are kept for that reason, even
//! though warm-up requests are left out of the latency histogram and the throughput.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use futures::future::try_join_all;
use hdrhistogram::Histogram;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;

/// How long a request may take, connecting included, unless the config says otherwise.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How many error messages a report keeps: enough to diagnose, bounded however many fail.
const MAX_ERROR_SAMPLES: usize = 10;

/// Tokio's timer fires on 1 ms ticks and rounds deadlines up, so waiting for an intended send
/// time would send up to a tick late and add that to every open-loop latency. Waking one tick
/// early sends within the tick before the intended time instead.
const TIMER_TICK: Duration = Duration::from_millis(1);

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// One HTTP request of a workload. A body is sent as `application/json`.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None }
    }

    pub fn json(method: Method, path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self { method, path: path.into(), body: Some(body.into()) }
    }
}

/// A workload's verdict on one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    /// A success that the server acknowledged with this id (e.g. of a created article).
    Acknowledged(u64),
    /// The response is wrong: counted as an error, the reason kept among the samples.
    Failed(String),
}

/// What to send and what counts as success. Shared by all workers of a run.
pub trait Workload: Send + Sync + 'static {
    /// The request with this index; indexes run from 0 across all workers and are never reused.
    fn request(&self, index: u64) -> Request;

    /// Judges a complete response. By default any 2xx status is a success.
    fn check(&self, request: &Request, status: StatusCode, body: &[u8]) -> Check {
        let _ = (request, body);
        if status.is_success() {
            Check::Ok
        } else {
            Check::Failed("expected a 2xx status".to_owned())
        }
    }
}

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

    fn with_pace(connections: usize, pace: Pace) -> Self {
        Self {
            label: "load".to_owned(),
            connections,
            pace,
            warmup: Duration::ZERO,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
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

/// What a run (or several, merged) measured. Counts and latencies cover the measured run;
/// the warm-up has its own counts, and its acknowledgements are in `acknowledged`.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub label: String,
    pub connections: usize,
    /// The open loop's intended rate; `None` for a closed loop.
    pub target_rate: Option<f64>,
    /// Measured requests sent, whatever became of them.
    pub requests: u64,
    /// Measured requests that got no complete response: connect failures, broken
    /// connections, timeouts.
    pub transport_errors: u64,
    /// Measured responses that the workload's checker rejected.
    pub rejected: u64,
    /// Measured responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    pub warmup_requests: u64,
    /// Warm-up requests that failed, either way.
    pub warmup_errors: u64,
    /// The first few error messages, warm-up included.
    pub error_samples: Vec<String>,
    /// From the start of the measured run to its last response.
    pub elapsed: Duration,
    /// Latency in microseconds of every measured request that got a complete response.
    pub latency: Histogram<u64>,
    /// Every id a checker acknowledged, warm-up included.
    pub acknowledged: Vec<u64>,
}

impl LoadReport {
    fn empty(label: &str) -> anyhow::Result<Self> {
        Ok(Self {
            label: label.to_owned(),
            connections: 0,
            target_rate: None,
            requests: 0,
            transport_errors: 0,
            rejected: 0,
            statuses: BTreeMap::new(),
            warmup_requests: 0,
            warmup_errors: 0,
            error_samples: Vec::new(),
            elapsed: Duration::ZERO,
            latency: Histogram::new(3).context("creating a latency histogram")?,
            acknowledged: Vec::new(),
        })
    }

    /// Adds up reports of loads that ran at the same time: counts, latencies and
    /// acknowledgements are summed, the elapsed time is the longest.
    pub fn merge(label: &str, reports: &[LoadReport]) -> anyhow::Result<Self> {
        let mut total = Self::empty(label)?;
        for report in reports {
            total.add(report)?;
        }
        Ok(total)
    }

    fn add(&mut self, other: &LoadReport) -> anyhow::Result<()> {
        self.connections += other.connections;
        self.target_rate = match (self.target_rate, other.target_rate) {
            (Some(mine), Some(theirs)) => Some(mine + theirs),
            (mine, theirs) => mine.or(theirs),
        };
        self.requests += other.requests;
        self.transport_errors += other.transport_errors;
        self.rejected += other.rejected;
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        self.warmup_requests += other.warmup_requests;
        self.warmup_errors += other.warmup_errors;
        let room = MAX_ERROR_SAMPLES.saturating_sub(self.error_samples.len());
        self.error_samples.extend(other.error_samples.iter().take(room).cloned());
        self.elapsed = self.elapsed.max(other.elapsed);
        self.latency.add(&other.latency).context("merging latency histograms")?;
        self.acknowledged.extend_from_slice(&other.acknowledged);
        Ok(())
    }

    /// Measured requests that failed, in transport or by the checker.
    pub fn errors(&self) -> u64 {
        self.transport_errors + self.rejected
    }

    /// Measured requests per second of measured time.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.requests as f64 / seconds } else { 0.0 }
    }

    /// The share of measured requests that failed, from 0 to 1.
    pub fn error_rate(&self) -> f64 {
        if self.requests > 0 { self.errors() as f64 / self.requests as f64 } else { 0.0 }
    }

    /// The latency below which `percentile` percent (0 to 100) of the responses came, in ms.
    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        micros_to_ms(self.latency.value_at_percentile(percentile))
    }

    pub fn mean_ms(&self) -> f64 {
        self.latency.mean() / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        micros_to_ms(self.latency.max())
    }

    /// One line for logs: requests, errors, req/s and latency percentiles.
    pub fn summary_line(&self) -> String {
        let warmup = match self.warmup_requests {
            0 => String::new(),
            warmup => format!(" (+{warmup} warm-up)"),
        };
        format!(
            "{}: {} requests{warmup}, {} errors ({:.2}%), {:.0} req/s, \
             latency ms p50 {:.3} p95 {:.3} p99 {:.3} max {:.3}",
            self.label,
            self.requests,
            self.errors(),
            self.error_rate() * 100.0,
            self.throughput(),
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0),
            self.max_ms(),
        )
    }

    /// The report as perf.json and the benchmark's results.json record it. Acknowledged ids
    /// are counted, not listed.
    pub fn to_json(&self) -> serde_json::Value {
        let statuses: serde_json::Map<String, serde_json::Value> = self
            .statuses
            .iter()
            .map(|(status, count)| (status.to_string(), json!(count)))
            .collect();
        json!({
            "label": self.label,
            "connections": self.connections,
            "target_rate": self.target_rate,
            "requests": self.requests,
            "errors": self.errors(),
            "transport_errors": self.transport_errors,
            "rejected": self.rejected,
            "error_rate": self.error_rate(),
            "statuses": statuses,
            "warmup_requests": self.warmup_requests,
            "warmup_errors": self.warmup_errors,
            "acknowledged": self.acknowledged.len(),
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "throughput": self.throughput(),
            "latency_ms": {
                "mean": self.mean_ms(),
                "p50": self.percentile_ms(50.0),
                "p90": self.percentile_ms(90.0),
                "p95": self.percentile_ms(95.0),
                "p99": self.percentile_ms(99.0),
                "p99_9": self.percentile_ms(99.9),
                "max": self.max_ms(),
            },
            "error_samples": self.error_samples,
        })
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Runs one load against `addr` and reports on it. Fails only if the config is invalid, the
/// server cannot be reached before the run starts, or a workload panics; everything that
/// goes wrong during the run is counted in the report.
pub async fn run(
    addr: SocketAddr,
    config: &LoadConfig,
    workload: Arc<dyn Workload>,
) -> anyhow::Result<LoadReport> {
    Prepared::connect(addr, config, workload).await?.execute().await
}

/// Runs several loads at the same time, each with its own connections and pace (e.g. readers
/// and writers of a mixed scenario), and reports on each; [`LoadReport::merge`] gives the total.
/// All connections are open before any load starts.
pub async fn run_many(
    addr: SocketAddr,
    loads: &[(LoadConfig, Arc<dyn Workload>)],
) -> anyhow::Result<Vec<LoadReport>> {
    let prepared = try_join_all(
        loads.iter().map(|(config, workload)| Prepared::connect(addr, config, workload.clone())),
    )
    .await?;
    try_join_all(prepared.into_iter().map(Prepared::execute)).await
}

/// A load whose connections are open, so that connecting is neither timed nor paced.
struct Prepared {
    addr: SocketAddr,
    config: LoadConfig,
    workload: Arc<dyn Workload>,
    links: Vec<Link>,
}

impl Prepared {
    async fn connect(
        addr: SocketAddr,
        config: &LoadConfig,
        workload: Arc<dyn Workload>,
    ) -> anyhow::Result<Self> {
        config.validate().with_context(|| format!("invalid load config {:?}", config.label))?;
        let connect_one = || async {
            timeout(config.request_timeout, Link::connect(addr))
                .await
                .unwrap_or(Err(TransportError::Timeout(config.request_timeout)))
        };
        let links = try_join_all((0..config.connections).map(|_| connect_one()))
            .await
            .with_context(|| format!("opening {} connections to {addr}", config.connections))?;
        Ok(Self { addr, config: config.clone(), workload, links })
    }

    async fn execute(self) -> anyhow::Result<LoadReport> {
        let Self { addr, config, workload, links } = self;
        let plan = Arc::new(Plan::new(&config.pace, config.warmup, Instant::now()));
        let host = HeaderValue::try_from(addr.to_string()).context("a socket address as Host")?;
        // A set, so that a caller who gives up on the run (drops it) stops its workers too.
        let mut workers = JoinSet::new();
        for link in links {
            let worker = Worker {
                addr,
                host: host.clone(),
                request_timeout: config.request_timeout,
                plan: plan.clone(),
                workload: workload.clone(),
                link: Some(link),
                body: Vec::new(),
                tally: Tally::new(&config.label)?,
            };
            workers.spawn(worker.run());
        }
        let mut tallies = Vec::with_capacity(config.connections);
        while let Some(tally) = workers.join_next().await {
            tallies.push(tally.context("a load worker panicked")?);
        }

        let last_response = tallies.iter().filter_map(|tally| tally.last_measured_response).max();
        let reports: Vec<LoadReport> = tallies.into_iter().map(|tally| tally.report).collect();
        let mut report = LoadReport::merge(&config.label, &reports)?;
        report.connections = config.connections;
        report.target_rate = plan.target_rate();
        report.elapsed = last_response
            .map_or(Duration::ZERO, |last| last.saturating_duration_since(plan.measured_from()));
        Ok(report)
    }
}

/// The schedule all workers of a load share: which request comes next and when it is due.
struct Plan {
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
struct Ticket {
    index: u64,
    warmup: bool,
    due: Option<Instant>,
}

impl Plan {
    fn new(pace: &Pace, warmup: Duration, start: Instant) -> Self {
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
    fn next_ticket(&self) -> Option<Ticket> {
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
    fn measured_from(&self) -> Instant {
        match self.schedule {
            Schedule::Closed { measured_from, .. } => measured_from,
            Schedule::Open { start, rate_per_sec, warmup_requests, .. } => {
                start + Duration::from_secs_f64(warmup_requests as f64 / rate_per_sec)
            }
        }
    }

    fn target_rate(&self) -> Option<f64> {
        match self.schedule {
            Schedule::Closed { .. } => None,
            Schedule::Open { rate_per_sec, .. } => Some(rate_per_sec),
        }
    }
}

/// Sends requests over one connection until the plan runs out, tallying what comes back.
struct Worker {
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
    async fn run(mut self) -> Tally {
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

async fn wait_until_due(due: Instant) {
    if let Some(wake) = due.checked_sub(TIMER_TICK)
        && wake > Instant::now()
    {
        tokio::time::sleep_until(wake.into()).await;
    }
}

fn to_http(
    request: &Request,
    host: &HeaderValue,
) -> Result<http::Request<Full<Bytes>>, http::uri::InvalidUri> {
    let uri = Uri::try_from(request.path.as_str())?;
    let mut http_request = http::Request::new(Full::new(request.body.clone().unwrap_or_default()));
    *http_request.method_mut() = request.method.clone();
    *http_request.uri_mut() = uri;
    let headers = http_request.headers_mut();
    headers.insert(HOST, host.clone());
    if request.body.is_some() {
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    }
    Ok(http_request)
}

type ClientConnection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection. Its connection half is polled by the worker's own
/// task while a request is in flight, rather than spawned as hyper's examples do: dropping
/// the link then closes the socket, where a spawned task would linger as long as a hung
/// server kept the response back.
struct Link {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has finished, e.g. the server closed it.
    connection: Option<ClientConnection>,
}

impl Link {
    async fn connect(addr: SocketAddr) -> Result<Self, TransportError> {
        let stream = TcpStream::connect(addr).await.map_err(TransportError::Connect)?;
        // Requests are small writes waiting for an answer: Nagle's algorithm would hold them.
        stream.set_nodelay(true).map_err(TransportError::Connect)?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(TransportError::Http)?;
        Ok(Self { sender, connection: Some(connection) })
    }

    fn is_usable(&self) -> bool {
        self.connection.is_some() && !self.sender.is_closed()
    }

    async fn round_trip(
        &mut self,
        request: http::Request<Full<Bytes>>,
        body: &mut Vec<u8>,
    ) -> Result<StatusCode, hyper::Error> {
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            read_body_into(response.into_body(), body).await?;
            Ok(status)
        };
        drive_alongside(&mut self.connection, exchange).await
    }
}

/// Polls `work` together with the connection it is waiting on, from the calling task.
async fn drive_alongside<T>(
    connection: &mut Option<ClientConnection>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Some(open) = connection.as_mut()
            && Pin::new(open).poll(cx).is_ready()
        {
            // Dropping the finished connection closes its channels, so `work` ends with the
            // response it already has or with an error, instead of waiting forever.
            *connection = None;
        }
        work.as_mut().poll(cx)
    })
    .await
}

async fn read_body_into(mut body: Incoming, buffer: &mut Vec<u8>) -> Result<(), hyper::Error> {
    buffer.clear();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
    }
    Ok(())
}

/// Why a request got no complete response.
#[derive(Debug)]
enum TransportError {
    InvalidRequest(http::uri::InvalidUri),
    Connect(std::io::Error),
    Http(hyper::Error),
    Timeout(Duration),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(error) => write!(f, "invalid request: {error}"),
            Self::Connect(error) => write!(f, "connecting: {error}"),
            Self::Http(error) => match std::error::Error::source(error) {
                Some(cause) => write!(f, "{error}: {cause}"),
                None => write!(f, "{error}"),
            },
            Self::Timeout(limit) => write!(f, "no complete response within {limit:?}"),
        }
    }
}

impl std::error::Error for TransportError {}

enum Outcome {
    Response { status: StatusCode, check: Check },
    Transport(TransportError),
}

/// One worker's share of the report.
struct Tally {
    report: LoadReport,
    last_measured_response: Option<Instant>,
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use hyper::service::service_fn;
    use tokio::net::TcpListener;

    use super::*;

    /// A tiny server whose routes exercise each path of the generator.
    struct TestServer {
        addr: SocketAddr,
        state: Arc<ServerState>,
    }

    #[derive(Default)]
    struct ServerState {
        answered: AtomicU64,
        stalled_once: AtomicBool,
    }

    impl TestServer {
        async fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a test port");
            let addr = listener.local_addr().expect("the test port");
            let state = Arc::new(ServerState::default());
            let accepting = state.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let state = accepting.clone();
                    let service = service_fn(move |request| respond(state.clone(), request));
                    tokio::spawn(async move {
                        let io = TokioIo::new(stream);
                        // Errors here are the connections the `/close` route breaks on purpose.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
            Self { addr, state }
        }

        fn answered(&self) -> u64 {
            self.state.answered.load(Ordering::Relaxed)
        }
    }

    /// Returning an error from the service makes hyper drop the connection unanswered.
    async fn respond(
        state: Arc<ServerState>,
        request: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
        let response = match (request.method().clone(), request.uri().path()) {
            (Method::GET, "/fast") => json_response(StatusCode::OK, r#"{"ok":true}"#.into()),
            (Method::POST, "/articles") => {
                let body = request.into_body().collect().await.map_err(std::io::Error::other)?;
                let sent: serde_json::Value =
                    serde_json::from_slice(&body.to_bytes()).map_err(std::io::Error::other)?;
                json_response(StatusCode::CREATED, json!({ "id": sent["n"] }).to_string())
            }
            (Method::GET, "/stall") => {
                if !state.stalled_once.swap(true, Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                json_response(StatusCode::OK, "{}".into())
            }
            (Method::GET, "/hang") => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                json_response(StatusCode::OK, "{}".into())
            }
            (Method::GET, "/close") => {
                return Err(std::io::Error::other("closing without an answer"));
            }
            _ => json_response(StatusCode::NOT_FOUND, "{}".into()),
        };
        state.answered.fetch_add(1, Ordering::Relaxed);
        Ok(response)
    }

    fn json_response(status: StatusCode, body: String) -> hyper::Response<Full<Bytes>> {
        hyper::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, APPLICATION_JSON)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    }

    /// GETs one path, over and over.
    struct Get(&'static str);

    impl Workload for Get {
        fn request(&self, _index: u64) -> Request {
            Request::get(self.0)
        }
    }

    /// GETs a path chosen by the request's index.
    struct GetByIndex(fn(u64) -> &'static str);

    impl Workload for GetByIndex {
        fn request(&self, index: u64) -> Request {
            Request::get((self.0)(index))
        }
    }

    /// Creates articles; the test server answers with the id it was sent, the index.
    struct CreateArticles;

    impl Workload for CreateArticles {
        fn request(&self, index: u64) -> Request {
            Request::json(Method::POST, "/articles", json!({ "n": index }).to_string())
        }

        fn check(&self, _request: &Request, status: StatusCode, body: &[u8]) -> Check {
            let id = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|created| created["id"].as_u64());
            match (status, id) {
                (StatusCode::CREATED, Some(id)) => Check::Acknowledged(id),
                _ => Check::Failed(format!("{status}: {}", String::from_utf8_lossy(body))),
            }
        }
    }

    fn sorted(ids: &[u64]) -> Vec<u64> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_loop_with_a_request_count_sends_exactly_that_many_and_keeps_every_ack() {
        let server = TestServer::start().await;
        let config = LoadConfig::closed_requests(8, 2000);

        let report = run(server.addr, &config, Arc::new(CreateArticles)).await.unwrap();

        assert_eq!(report.requests, 2000, "{}", report.summary_line());
        assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
        assert_eq!(report.statuses, BTreeMap::from([(201, 2000)]));
        assert_eq!(report.latency.len(), 2000);
        assert_eq!(sorted(&report.acknowledged), (0..2000).collect::<Vec<_>>());
        assert_eq!(server.answered(), 2000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_loop_with_a_duration_stops_on_time() {
        let server = TestServer::start().await;
        let config = LoadConfig::closed_duration(4, Duration::from_millis(300));

        let started = Instant::now();
        let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();
        let took = started.elapsed();

        assert!(report.requests > 0, "{}", report.summary_line());
        assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
        assert!(report.elapsed >= Duration::from_millis(300), "measured {:?}", report.elapsed);
        assert!(took < Duration::from_millis(600), "the run took {took:?}");
        assert_eq!(server.answered(), report.requests);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_sends_exactly_rate_times_duration() {
        let server = TestServer::start().await;
        // 400/s × 0.7495 s = 299.8, rounded to 300.
        let config = LoadConfig::open(4, 400.0, Duration::from_micros(749_500));

        let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();

        assert_eq!(report.requests, 300, "{}", report.summary_line());
        assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
        assert_eq!(server.answered(), 300);
        assert_eq!(report.target_rate, Some(400.0));
        let throughput = report.throughput();
        assert!((360.0..440.0).contains(&throughput), "{}", report.summary_line());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_times_requests_from_their_intended_send_time() {
        let server = TestServer::start().await;
        // Request 40 stalls the only connection for 200 ms; the ~40 requests due meanwhile
        // wait for it, and that wait is part of their latency.
        let stall_at_40 = GetByIndex(|index| if index == 40 { "/stall" } else { "/fast" });
        let config = LoadConfig::open(1, 200.0, Duration::from_secs(1));

        let report = run(server.addr, &config, Arc::new(stall_at_40)).await.unwrap();

        assert_eq!(report.requests, 200, "{}", report.summary_line());
        assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
        let held_up = report.latency.count_between(50_000, u64::MAX);
        assert!(held_up >= 20, "only {held_up} requests took 50 ms or more");
        assert!(report.percentile_ms(99.0) >= 150.0, "{}", report.summary_line());
        assert!(report.percentile_ms(50.0) < 20.0, "{}", report.summary_line());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rejected_responses_and_broken_connections_are_errors_and_the_run_goes_on() {
        let server = TestServer::start().await;
        let flaky = GetByIndex(|index| match index % 10 {
            3 => "/close",
            7 => "/missing",
            _ => "/fast",
        });
        let config = LoadConfig::closed_requests(4, 200);

        let report = run(server.addr, &config, Arc::new(flaky)).await.unwrap();

        assert_eq!(report.requests, 200, "{}", report.summary_line());
        assert_eq!(report.transport_errors, 20, "{:?}", report.error_samples);
        assert_eq!(report.rejected, 20, "{:?}", report.error_samples);
        assert_eq!(report.statuses, BTreeMap::from([(200, 160), (404, 20)]));
        assert!((report.error_rate() - 0.2).abs() < 1e-9);
        assert_eq!(report.error_samples.len(), MAX_ERROR_SAMPLES);
        let samples = report.error_samples.join("\n");
        assert!(samples.contains("GET /close"), "{samples}");
        assert!(
            samples.contains("GET /missing: rejected 404 Not Found: expected a 2xx status"),
            "{samples}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_past_its_timeout_is_an_error_and_its_connection_is_replaced() {
        let server = TestServer::start().await;
        let hang_first = GetByIndex(|index| if index == 0 { "/hang" } else { "/fast" });
        let config =
            LoadConfig::closed_requests(1, 20).with_request_timeout(Duration::from_millis(150));

        let started = Instant::now();
        let report = run(server.addr, &config, Arc::new(hang_first)).await.unwrap();

        assert!(started.elapsed() < Duration::from_secs(2), "the hung request held the run");
        assert_eq!(report.requests, 20, "{}", report.summary_line());
        assert_eq!(report.transport_errors, 1);
        assert_eq!(report.statuses, BTreeMap::from([(200, 19)]));
        assert!(report.error_samples[0].contains("no complete response within 150ms"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn warmup_is_left_out_of_the_measurements_but_keeps_its_acknowledgements() {
        let server = TestServer::start().await;
        let config = LoadConfig::open(2, 200.0, Duration::from_millis(500))
            .with_warmup(Duration::from_millis(500));

        let report = run(server.addr, &config, Arc::new(CreateArticles)).await.unwrap();

        assert_eq!(report.warmup_requests, 100, "{}", report.summary_line());
        assert_eq!(report.requests, 100);
        assert_eq!(report.warmup_errors + report.errors(), 0, "{:?}", report.error_samples);
        assert_eq!(report.latency.len(), 100, "warm-up latencies were recorded");
        assert_eq!(report.statuses, BTreeMap::from([(201, 100)]));
        assert_eq!(sorted(&report.acknowledged), (0..200).collect::<Vec<_>>());
        let throughput = report.throughput();
        assert!((170.0..230.0).contains(&throughput), "{}", report.summary_line());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn run_many_reports_on_each_load_and_merges_them() {
        let server = TestServer::start().await;
        let loads: Vec<(LoadConfig, Arc<dyn Workload>)> = vec![
            (LoadConfig::closed_requests(4, 300).with_label("readers"), Arc::new(Get("/fast"))),
            (LoadConfig::closed_requests(2, 100).with_label("writers"), Arc::new(CreateArticles)),
        ];

        let reports = run_many(server.addr, &loads).await.unwrap();
        let total = LoadReport::merge("total", &reports).unwrap();

        let [readers, writers] = &reports[..] else { panic!("{} reports", reports.len()) };
        assert_eq!((readers.label.as_str(), readers.requests), ("readers", 300));
        assert_eq!((writers.label.as_str(), writers.requests), ("writers", 100));
        assert!(readers.acknowledged.is_empty());
        assert_eq!(sorted(&writers.acknowledged), (0..100).collect::<Vec<_>>());
        assert_eq!(total.requests, 400);
        assert_eq!(total.connections, 6);
        assert_eq!(total.statuses, BTreeMap::from([(200, 300), (201, 100)]));
        assert_eq!(total.latency.len(), 400);
        assert!(total.summary_line().starts_with("total: 400 requests, 0 errors"));
        let json = total.to_json();
        assert_eq!(json["requests"], 400);
        assert_eq!(json["statuses"]["201"], 100);
        assert_eq!(json["acknowledged"], 100);
        assert!(json["latency_ms"]["p99"].as_f64().is_some_and(|p99| p99 > 0.0), "{json}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_server_or_an_endless_config_fails_at_once() {
        let closed_port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let config = LoadConfig::closed_requests(2, 10);
        let error = run(closed_port, &config, Arc::new(Get("/fast"))).await.unwrap_err();
        assert!(format!("{error:#}").contains("connecting"), "{error:#}");

        let endless = LoadConfig::with_pace(1, Pace::Closed { requests: None, duration: None });
        let error = run(closed_port, &endless, Arc::new(Get("/fast"))).await.unwrap_err();
        assert!(format!("{error:#}").contains("never stops"), "{error:#}");
    }

    /// A rough figure, not a check: `cargo test -p cucumber-tests --lib loadgen::tests::throughput
    /// -- --ignored --nocapture`. The server is the trivial handler above, on the same CPUs.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "a 2-second measurement, run by hand"]
    async fn throughput_against_a_trivial_handler() {
        let server = TestServer::start().await;
        let config = LoadConfig::closed_duration(50, Duration::from_secs(2))
            .with_warmup(Duration::from_millis(300));

        let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();

        println!("{}", report.summary_line());
        assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
    }
}
