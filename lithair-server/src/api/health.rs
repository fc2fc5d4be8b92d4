//! `GET /health`: is the server up, can it write, and how much data does it hold.

use http::StatusCode;
use serde::Serialize;

use super::App;
use crate::response::{self, HttpResponse};

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    /// Why writes are refused, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    version: &'a str,
    durability: &'a str,
    events: u64,
    articles: usize,
    users: usize,
    comments: usize,
    log_bytes: u64,
    startup: Startup,
    uptime_seconds: u64,
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

/// 200 when the server can serve reads and writes; 503 once the log cannot be written.
pub(super) fn get(app: &App) -> HttpResponse {
    let stats = app.engine.stats();
    let failure = app.engine.write_failure();
    let (articles, users, comments) =
        app.engine.with_state(|s| (s.articles().live(), s.users().live(), s.comments().live()));
    let health = Health {
        status: if failure.is_none() { "ok" } else { "unavailable" },
        error: failure.as_deref(),
        version: env!("CARGO_PKG_VERSION"),
        durability: app.engine.durability().as_str(),
        events: stats.events,
        articles,
        users,
        comments,
        log_bytes: stats.log_bytes,
        startup: startup(app),
        uptime_seconds: app.started.elapsed().as_secs(),
    };
    let status = if failure.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    response::json(status, &health)
}

fn startup(app: &App) -> Startup {
    let recovery = app.engine.recovery();
    Startup {
        snapshot: recovery.snapshot.as_ref().map(|(seq, _)| *seq),
        events_replayed: recovery.events_replayed,
        torn_bytes_cut: recovery.torn_bytes_cut,
        millis: recovery.elapsed.as_secs_f64() * 1000.0,
    }
}
