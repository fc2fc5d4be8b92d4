//! Snapshots: taken as configured, valid by the document, and never a reason for a restored
//! server to answer differently from a full replay of the log.
//!
//! The steps in `steps/snapshot_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use cucumber_tests::{
    model::Article,
    process::{ServerProcess, ServerSpec},
    snapfile,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    http, load,
    retake::{self, Took},
    world::LithairWorld,
};

pub async fn server_with_snapshots(world: &mut LithairWorld, every: u64) -> anyhow::Result<()> {
    world.server.args.extend(["--snapshot-every".into(), every.to_string()]);
    world.server.start().await
}

pub async fn server_with_snapshots_kept(
    world: &mut LithairWorld,
    every: u64,
    keep: usize,
) -> anyhow::Result<()> {
    world.server.args.extend(["--snapshot-keep".into(), keep.to_string()]);
    server_with_snapshots(world, every).await
}

/// Upstream turns snapshots on after the server started: restart it with them, data kept.
/// Every snapshot is kept, so the scenario can check each one it caused.
pub async fn enable_snapshots(world: &mut LithairWorld, every: u64) -> anyhow::Result<()> {
    stop_if_running(world).await?;
    world.server.args.extend(["--snapshot-keep".into(), "1000000".into()]);
    server_with_snapshots(world, every).await
}

pub async fn at_least_snapshots(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let found = snapfile::list(&world.server.data_dir)?;
    ensure!(
        found.len() >= count,
        "{} snapshots: {:?}",
        found.len(),
        found.iter().map(|(seq, _)| seq).collect::<Vec<_>>()
    );
    Ok(())
}

pub async fn every_snapshot_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    let snapshots = snapfile::list(&world.server.data_dir)?;
    ensure!(!snapshots.is_empty(), "there is no snapshot");
    for (seq, path) in snapshots {
        snapfile::verify(&path, &log).map_err(|err| anyhow::anyhow!("snapshot {seq}: {err:#}"))?;
    }
    Ok(())
}

/// Each snapshot paused writes less than `ms`, as the server reports it (`pause_us` of its
/// "snapshot started" lines). A measurement beyond the limit is taken again on a fresh server
/// ([`retake_on_fresh_server`]).
pub async fn snapshot_pauses(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let first = longest_pause(&world.server.log())?;
    let limit = Duration::from_millis(ms);
    let retake = async |world: &mut LithairWorld| Ok(retake_on_fresh_server(world).await?.pause);
    retake::until_within(world, "the longest snapshot pause", first, retake, |p| p.0 < limit)
        .await
        .map(drop)
}

/// The writes' own latencies, as the clients measured them, while the snapshots were taken:
/// a pause the server forgets to report still shows here. Taken again on a fresh server when
/// beyond the limit.
pub async fn client_side_pauses(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let load = world.perf.loads.last().context("no load ran")?;
    let first = Took(Duration::from_secs_f64(load.max_ms() / 1000.0));
    let limit = Duration::from_millis(ms);
    let retake =
        async |world: &mut LithairWorld| Ok(retake_on_fresh_server(world).await?.slowest_write);
    retake::until_within(world, "the slowest write", first, retake, |w| w.0 < limit).await.map(drop)
}

/// The longest pause of the snapshots a server log reports.
fn longest_pause(log: &str) -> anyhow::Result<Took> {
    let pauses: Vec<u64> = log
        .lines()
        .filter(|line| line.contains("snapshot started"))
        .filter_map(|line| line.split("pause_us=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    ensure!(!pauses.is_empty(), "the server log mentions no snapshot");
    let longest = pauses.iter().max().copied().unwrap_or_default();
    println!("    snapshots: {} taken, writes paused at most {longest} µs", pauses.len());
    Ok(Took(Duration::from_micros(longest)))
}

/// What a retake of the snapshots' timing measured.
struct SnapshotTiming {
    pause: Took,
    slowest_write: Took,
}

/// The scenario's snapshots measured again: a fresh server, started as the scenario's was but
/// in a directory of its own, given the scenario's last load, then stopped. The scenario's own
/// server and data are left as they were, for the checks that follow.
async fn retake_on_fresh_server(world: &mut LithairWorld) -> anyhow::Result<SnapshotTiming> {
    let scenario_dir = world.server.dir();
    let dir = (1..)
        .map(|n| scenario_dir.join(format!("retake-{n}")))
        .find(|dir| !dir.exists())
        .context("a directory for the retake")?;
    fs::create_dir_all(&dir)?;
    let spec = ServerSpec {
        data_dir: dir.clone(),
        log_file: dir.join("server.log"),
        ..world.server.spec()
    };
    let server = ServerProcess::start(&spec).await?;
    let load = load::last_creations_against(world, server.addr()).await;
    let status = server.stop().await?;
    let load = load?;
    ensure!(status.success(), "the fresh server did not stop cleanly: {status}");
    ensure!(load.errors() == 0, "the load on the fresh server failed: {:?}", load.error_samples);
    println!("    again on a fresh server: {}", load.summary_line());
    let pause = longest_pause(&fs::read_to_string(&spec.log_file)?)?;
    Ok(SnapshotTiming {
        pause,
        slowest_write: Took(Duration::from_secs_f64(load.max_ms() / 1000.0)),
    })
}

/// With `--snapshot-every N --snapshot-keep K`, after a log of E events the snapshots left are
/// exactly those at the K highest multiples of N up to E: one more, one fewer, or an old one
/// kept instead of a new one is a retention bug.
pub async fn newest_remain(world: &mut LithairWorld, keep: usize) -> anyhow::Result<()> {
    let every: u64 = argument(&world.server.args, "--snapshot-every")?;
    let kept: usize = argument(&world.server.args, "--snapshot-keep")?;
    ensure!(kept == keep, "the server was started keeping {kept}, not {keep}");
    let last_seq = world.server.raftlog().await?.records().last().map_or(0, |r| r.seq);
    let taken: Vec<u64> = (1..=last_seq / every).map(|n| n * every).collect();
    ensure!(taken.len() > keep, "only {} snapshots were due: write more", taken.len());
    let expected = taken[taken.len() - keep..].to_vec();
    let mut found: Vec<u64> =
        snapfile::list(&world.server.data_dir)?.into_iter().map(|(seq, _)| seq).collect();
    found.sort_unstable();
    ensure!(
        found == expected,
        "snapshots {found:?} remain; expected the newest {keep}: {expected:?}"
    );
    Ok(())
}

fn argument<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<T> {
    let value = args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .with_context(|| format!("the server was not started with {name}"))?;
    value.parse().ok().with_context(|| format!("{name} {value} is not a number"))
}

/// Each snapshot, alone with the log in a fresh directory, restores a server that serves
/// exactly what a replay of the whole log gives.
pub async fn restore_each_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
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
            bind: None,
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

/// Starts of each kind compared. They alternate, with then without, so that a slow spell of
/// a shared machine (seen lasting a second and tripling every start in it) falls on both.
const STARTS_EACH_WAY: usize = 5;

/// Restart with the snapshots and with them set aside, alternately; the server's own measure
/// of each start (loading and replaying) and the client's are kept, and reported.
pub async fn restart_with_and_without(world: &mut LithairWorld) -> anyhow::Result<()> {
    let status = world.server.take()?.stop().await?;
    ensure!(status.success(), "the server did not stop cleanly: {status}");
    let aside = world.server.dir().join("snapshots-aside");
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..STARTS_EACH_WAY {
        with.push(timed_start(world, true).await?);
        move_snapshots(&world.server.data_dir, &aside)?;
        let start = timed_start(world, false).await;
        move_snapshots(&aside, &world.server.data_dir)?;
        without.push(start?);
    }
    for (label, starts) in [("with snapshots", &with), ("without snapshots", &without)] {
        println!(
            "    restart {label}: {}",
            starts
                .iter()
                .map(|s| format!("{:.1} ms, {:.1} ms wall ({})", s.millis, s.wall_millis, s.source))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let wall =
        |starts: &[TimedStart]| fastest(&starts.iter().map(|s| s.wall_millis).collect::<Vec<_>>());
    world.perf.restart_wall = Some((wall(&with), wall(&without)));
    let reported =
        |starts: &[TimedStart]| fastest(&starts.iter().map(|s| s.millis).collect::<Vec<_>>());
    world.perf.restart_comparison = Some((reported(&with), reported(&without)));
    world.server.start().await
}

pub async fn snapshots_are_faster(world: &mut LithairWorld) -> anyhow::Result<()> {
    let Some((with, without)) = world.perf.restart_comparison else {
        bail!("no restarts were measured")
    };
    println!(
        "    restart (fastest of {STARTS_EACH_WAY}): {with:.1} ms with snapshots, {without:.1} ms with a full replay"
    );
    world
        .perf
        .entries
        .push(json!({"label": "restart", "with_snapshots_ms": with, "full_replay_ms": without}));
    ensure!(with < without, "with snapshots {with:.1} ms, without {without:.1} ms");
    // The client's clock decides too: a server that reports a fast start it did not make loses.
    let (wall_with, wall_without) = world.perf.restart_wall.context("no wall times")?;
    println!(
        "    restart wall time, spawn to first 200 (fastest of {STARTS_EACH_WAY}): {wall_with:.1} ms with snapshots, {wall_without:.1} ms without"
    );
    ensure!(
        wall_with < wall_without,
        "by the client's clock the restart with snapshots took {wall_with:.1} ms, without {wall_without:.1} ms"
    );
    Ok(())
}

struct TimedStart {
    /// As the server reports it.
    millis: f64,
    /// Wall time from spawn to the first 200 on /health, as the client saw it.
    wall_millis: f64,
    source: String,
}

/// One start, stopped again once measured; `from_snapshot` is whether the data directory
/// holds the snapshots, so whether the start must have used one for the comparison to mean
/// anything.
async fn timed_start(world: &mut LithairWorld, from_snapshot: bool) -> anyhow::Result<TimedStart> {
    world.server.start().await?;
    let health = http::expect(world, Method::GET, "/health", None, 200).await?;
    let startup = &health["startup"];
    ensure!(
        startup["snapshot"].is_u64() == from_snapshot,
        "a start {} its snapshots reports {startup}",
        if from_snapshot { "with" } else { "without" }
    );
    let source = match startup["snapshot"].as_u64() {
        Some(seq) => format!("snapshot {seq} + {} events", startup["events_replayed"]),
        None => format!("{} events", startup["events_replayed"]),
    };
    let wall_millis =
        world.server.last_start.context("the start was not timed")?.as_secs_f64() * 1e3;
    let millis = startup["millis"].as_f64().context("startup.millis")?;
    // The server cannot have started in more time than the client waited for it.
    ensure!(
        millis <= wall_millis,
        "the server reports a {millis:.1} ms start, but answered {wall_millis:.1} ms after spawn"
    );
    let status = world.server.take()?.stop().await?;
    ensure!(status.success(), "the server did not stop cleanly: {status}");
    Ok(TimedStart { millis, wall_millis, source })
}

/// The fastest of repeated starts: noise on a shared machine (another process's disk
/// writes, a descheduled thread) only ever adds time, so the minimum is the start the code
/// can make. With medians, the CI run of 1a78ee8 failed on two of three starts with snapshots
/// slowed to 155 and 388 ms, while the fastest was 92 ms against 133 ms for a full replay.
fn fastest(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn move_snapshots(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for (_, path) in snapfile::list(from)? {
        fs::rename(&path, to.join(path.file_name().context("a file name")?))?;
    }
    Ok(())
}

/// Stop the server (so the log is complete), then restore from each snapshot alone.
pub async fn can_restore_any(world: &mut LithairWorld) -> anyhow::Result<()> {
    stop_if_running(world).await?;
    restore_each_snapshot(world).await
}

/// Started again on its data (stopped cleanly first if it runs), the server loads its newest
/// snapshot and serves exactly what the scenario's requests left, as acknowledged.
pub async fn identical_after_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    stop_if_running(world).await?;
    world.server.start().await?;
    let health = http::expect(world, Method::GET, "/health", None, 200).await?;
    ensure!(
        health["startup"]["snapshot"].is_u64(),
        "the server did not start from a snapshot: {}",
        health["startup"]
    );
    let served = http::all_articles(world).await?;
    ensure!(!world.expected.articles.is_empty(), "no article was acknowledged");
    ensure!(
        served == world.expected.articles,
        "{} articles served, {} acknowledged; first difference at id {:?}",
        served.len(),
        world.expected.articles.len(),
        world.expected.articles.iter().find(|(id, a)| served.get(id) != Some(a)).map(|(id, _)| id)
    );
    Ok(())
}

/// A snapshot is taken after the write that made it due has been acknowledged, and written
/// by a background thread: wait (at most 10 s) until at least `count` snapshot files exist.
pub async fn snapshots_created(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while snapfile::list(&world.server.data_dir)?.len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    at_least_snapshots(world, count).await
}

/// Stop the server cleanly (SIGTERM, exit status 0) if one is running.
async fn stop_if_running(world: &mut LithairWorld) -> anyhow::Result<()> {
    if let Some(server) = world.server.process.take() {
        let status = server.stop().await?;
        ensure!(status.success(), "the server did not stop cleanly: {status}");
    }
    Ok(())
}
