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
    /// Sequence number of the snapshot this process started from, if any.
    started_from_snapshot: Option<u64>,
    uptime_seconds: u64,
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
        started_from_snapshot: app.engine.recovery().snapshot.as_ref().map(|(seq, _)| *seq),
        uptime_seconds: app.started.elapsed().as_secs(),
    };
    let status = if failure.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    response::json(status, &health)
}
