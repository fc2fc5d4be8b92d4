//! A restart on a large log: the harness writes a log of `ArticleCreated` records (with its
//! own encoder, per docs/raftlog.md), and the server is started on it three times; the
//! median of its own measure of the load, and the time from spawn to healthy.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use anyhow::bail;
use cucumber_tests::{model::ArticleInput, raftlog::encode};
use serde_json::{Value, json};

use crate::{figures::Figures, lithair};

pub async fn measure(work: &Path, events: u64, figures: &mut Figures) -> anyhow::Result<()> {
    let dir = work.join("restart");
    std::fs::create_dir_all(&dir)?;
    let bytes = write_log(&dir.join("events.raftlog"), events)?;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let server = lithair::start(work, "restart", "fsync").await?;
        let wall = started.elapsed().as_secs_f64();
        let health: Value = reqwest::get(server.url("/health")).await?.json().await?;
        server.stop().await?;
        let replayed = health["startup"]["events_replayed"].as_u64().unwrap_or_default();
        if replayed != events {
            bail!("the server replayed {replayed} events, not {events}");
        }
        runs.push((health["startup"]["millis"].as_f64().unwrap_or(f64::NAN) / 1000.0, wall));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (load, wall) = runs[1];
    println!(
        "  restart on {events} events ({:.0} MiB): loaded in {load:.3} s ({:.0} events/s), healthy {wall:.3} s after spawn",
        bytes as f64 / (1 << 20) as f64,
        events as f64 / load
    );
    figures.set("restart.events_per_second", events as f64 / load);
    figures.set("restart.load_seconds", load);
    figures.set("restart.spawn_to_healthy_seconds", wall);
    figures.detail("restart", json!({"events": events, "log_bytes": bytes}));
    Ok(())
}

/// A v1 log of `events` `ArticleCreated` records (ids 0 to `events - 1`) at `path`; its size.
pub fn write_log(path: &Path, events: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = 0u64;
    let start_ts = 1_795_780_800_000_000u64;
    let content = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.";
    for seq in 1..=events {
        let article = ArticleInput::new(format!("Restart article {}", seq - 1), content);
        let line = encode::record(seq, start_ts + seq, "ArticleCreated", &article.with_id(seq - 1));
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}
