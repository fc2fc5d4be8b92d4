//! Snapshots: taken as configured, valid by the document, and never a reason for a restored
//! server to answer differently from a full replay of the log.

use std::{fs, path::Path};

use anyhow::{Context, bail, ensure};
use cucumber::{given, then, when};
use cucumber_tests::{
    model::Article,
    process::{ServerProcess, ServerSpec},
    snapfile,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{http, world::LithairWorld};

#[given(expr = "a running Lithair server taking a snapshot every {int} events")]
async fn server_with_snapshots(world: &mut LithairWorld, every: u64) -> anyhow::Result<()> {
    world.server.args.extend(["--snapshot-every".into(), every.to_string()]);
    world.server.start().await
}

#[given(expr = "a running Lithair server taking a snapshot every {int} events and keeping {int}")]
async fn server_with_snapshots_kept(
    world: &mut LithairWorld,
    every: u64,
    keep: usize,
) -> anyhow::Result<()> {
    world.server.args.extend(["--snapshot-keep".into(), keep.to_string()]);
    server_with_snapshots(world, every).await
}

#[then(expr = "there are at least {int} snapshots")]
async fn at_least_snapshots(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let found = snapfile::list(&world.server.data_dir)?;
    ensure!(
        found.len() >= count,
        "{} snapshots: {:?}",
        found.len(),
        found.iter().map(|(seq, _)| seq).collect::<Vec<_>>()
    );
    Ok(())
}

#[then("every snapshot is valid")]
async fn every_snapshot_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    let snapshots = snapfile::list(&world.server.data_dir)?;
    ensure!(!snapshots.is_empty(), "there is no snapshot");
    for (seq, path) in snapshots {
        snapfile::verify(&path, &log).map_err(|err| anyhow::anyhow!("snapshot {seq}: {err:#}"))?;
    }
    Ok(())
}

#[then(expr = "writes paused less than {int} ms for each snapshot")]
async fn snapshot_pauses(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let log = world.server.log();
    let pauses: Vec<u64> = log
        .lines()
        .filter(|line| line.contains("snapshot started"))
        .filter_map(|line| line.split("pause_us=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    ensure!(!pauses.is_empty(), "the server log mentions no snapshot");
    let longest = pauses.iter().max().copied().unwrap_or_default();
    println!("    snapshots: {} taken, writes paused at most {longest} µs", pauses.len());
    ensure!(longest < ms * 1000, "writes paused {longest} µs for a snapshot");
    Ok(())
}

/// Each snapshot, alone with the log in a fresh directory, restores a server that serves
/// exactly what a replay of the whole log gives.
#[then("restoring from each snapshot alone gives the same articles as a full replay")]
async fn restore_each_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server first, so the log is complete");
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let replayed = log.replay();
    ensure!(replayed.problems.is_empty(), "the log does not add up: {:?}", replayed.problems);
    let expected: Vec<Article> = replayed.articles.into_values().collect();

    let snapshots = snapfile::list(&world.server.data_dir)?;
    ensure!(!snapshots.is_empty(), "there is no snapshot");
    for (seq, snapshot) in snapshots {
        let alone = world.server.dir().join(format!("restore-from-{seq}"));
        fs::create_dir_all(&alone)?;
        fs::copy(world.server.log_path(), alone.join("events.raftlog"))?;
        fs::copy(&snapshot, alone.join(snapshot.file_name().context("a file name")?))?;
        let spec = ServerSpec {
            data_dir: alone.clone(),
            log_file: alone.join("server.log"),
            args: Vec::new(),
            env: Vec::new(),
        };
        let server = ServerProcess::start(&spec).await?;
        let restored = async {
            let health: Value = world.http.get(server.url("/health")).send().await?.json().await?;
            ensure!(
                health["startup"]["snapshot"] == seq,
                "started from {}, not snapshot {seq}",
                health["startup"]
            );
            let served = http::all_articles_at(&world.http, &server.url("")).await?;
            anyhow::Ok(served.into_values().collect::<Vec<_>>())
        }
        .await;
        server.stop().await?;
        ensure!(
            restored? == expected,
            "restoring from snapshot {seq} does not give the full replay's articles"
        );
        fs::remove_dir_all(&alone)?;
    }
    Ok(())
}

/// Restart three times with the snapshots, then three times with them set aside; the
/// server's own measure of each start (loading and replaying) is kept, and reported.
#[when("I restart the server with and without its snapshots")]
async fn restart_with_and_without(world: &mut LithairWorld) -> anyhow::Result<()> {
    let status = world.server.take()?.stop().await?;
    ensure!(status.success(), "the server did not stop cleanly: {status}");
    let with = timed_starts(world, 3).await?;
    let aside = world.server.dir().join("snapshots-aside");
    move_snapshots(&world.server.data_dir, &aside)?;
    let without = timed_starts(world, 3).await;
    move_snapshots(&aside, &world.server.data_dir)?;
    let without = without?;
    for (label, starts) in [("with snapshots", &with), ("without snapshots", &without)] {
        println!(
            "    restart {label}: {}",
            starts
                .iter()
                .map(|s| format!("{:.1} ms ({})", s.millis, s.source))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    world.perf.restart_comparison = Some((median(&with), median(&without)));
    world.server.start().await
}

#[then("the restart with snapshots was faster than the one without")]
async fn snapshots_are_faster(world: &mut LithairWorld) -> anyhow::Result<()> {
    let Some((with, without)) = world.perf.restart_comparison else {
        bail!("no restarts were measured")
    };
    println!(
        "    restart (median of 3): {with:.1} ms with snapshots, {without:.1} ms with a full replay"
    );
    world
        .perf
        .entries
        .push(json!({"label": "restart", "with_snapshots_ms": with, "full_replay_ms": without}));
    ensure!(with < without, "with snapshots {with:.1} ms, without {without:.1} ms");
    Ok(())
}

struct TimedStart {
    millis: f64,
    source: String,
}

async fn timed_starts(world: &mut LithairWorld, count: usize) -> anyhow::Result<Vec<TimedStart>> {
    let mut starts = Vec::new();
    for _ in 0..count {
        world.server.start().await?;
        let health = http::expect(world, Method::GET, "/health", None, 200).await?;
        let startup = &health["startup"];
        let source = match startup["snapshot"].as_u64() {
            Some(seq) => format!("snapshot {seq} + {} events", startup["events_replayed"]),
            None => format!("{} events", startup["events_replayed"]),
        };
        starts.push(TimedStart {
            millis: startup["millis"].as_f64().context("startup.millis")?,
            source,
        });
        let status = world.server.take()?.stop().await?;
        ensure!(status.success(), "the server did not stop cleanly: {status}");
    }
    Ok(starts)
}

fn median(starts: &[TimedStart]) -> f64 {
    let mut millis: Vec<f64> = starts.iter().map(|s| s.millis).collect();
    millis.sort_by(f64::total_cmp);
    millis[millis.len() / 2]
}

fn move_snapshots(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for (_, path) in snapfile::list(from)? {
        fs::rename(&path, to.join(path.file_name().context("a file name")?))?;
    }
    Ok(())
}
