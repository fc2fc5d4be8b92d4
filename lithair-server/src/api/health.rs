//! `GET /health`: is the server up, can it write, and how much data does it hold.

use http::StatusCode;
use serde::Serialize;

use super::{App, Backend, Engine};
use crate::response::{self, HttpResponse};

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    /// Why writes are refused, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    version: &'a str,
    durability: &'a str,
    events: u64,
    articles: usize,
    users: usize,
    comments: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    startup: Option<Startup>,
    uptime_seconds: u64,
    /// On a cluster node: its view of the cluster (docs/cluster.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<lithair_cluster::status::ClusterStatus>,
}

/// How this process loaded its data.
#[derive(Serialize)]
struct Startup {
    /// Sequence number of the snapshot it started from, if any.
    snapshot: Option<u64>,
    /// Events replayed from the log (after the snapshot, if any).
    events_replayed: u64,
    torn_bytes_cut: u64,
    millis: f64,
}

/// 200 when the server can serve reads and writes; 503 once the log cannot be written (or, on
/// a cluster node, once its Raft has stopped on a fatal error).
pub(super) fn get(app: &App) -> HttpResponse {
    let (articles, users, comments) =
        app.with_state(|s| (s.articles().live(), s.users().live(), s.comments().live()));
    let health = match app.backend() {
        Backend::Single(engine) => {
            let stats = engine.stats();
            Health {
                status: "ok",
                error: engine.write_failure().map(|failure| failure.to_string()),
                version: env!("CARGO_PKG_VERSION"),
                durability: engine.durability().as_str(),
                events: stats.events,
                articles,
                users,
                comments,
                log_bytes: Some(stats.log_bytes),
                startup: Some(startup(engine)),
                uptime_seconds: app.started.elapsed().as_secs(),
                cluster: None,
            }
        }
        Backend::Cluster(node) => {
            let status = node.status();
            let fatal = node.raft().metrics().borrow().running_state.clone().err();
            Health {
                status: "ok",
                error: fatal.map(|fatal| fatal.to_string()),
                version: env!("CARGO_PKG_VERSION"),
                durability: app.config.durability.as_str(),
                events: status.applied.map_or(0, |index| index + 1),
                articles,
                users,
                comments,
                log_bytes: None,
                startup: None,
                uptime_seconds: app.started.elapsed().as_secs(),
                cluster: Some(status),
            }
        }
    };
    let ok = health.error.is_none();
    let health = Health { status: if ok { "ok" } else { "unavailable" }, ..health };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    response::json(status, &health)
}

fn startup(engine: &Engine) -> Startup {
    let recovery = engine.recovery();
    Startup {
        snapshot: recovery.snapshot.as_ref().map(|(seq, _)| *seq),
        events_replayed: recovery.events_replayed,
        torn_bytes_cut: recovery.torn_bytes_cut,
        millis: recovery.elapsed.as_secs_f64() * 1000.0,
    }
}
