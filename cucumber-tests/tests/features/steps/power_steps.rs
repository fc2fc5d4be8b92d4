//! Power loss, simulated: the server runs under the `powercut` interposer, which journals what
//! the disk would hold; "the power fails" is a SIGKILL followed by rewriting the data directory
//! to that durable image (docs/powercut.md). Faults of a failing disk (`EIO` on `fdatasync`,
//! `ENOSPC`) come from the same interposer.
//!
//! A SIGKILL alone loses nothing the server handed to the kernel; a power cut loses everything
//! not `fdatasync`ed. So these steps are what proves the `fsync` mode's promise, and what
//! measures how much `flush` and `async` lose (docs/durability.md).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use cucumber::{given, then, when};
use cucumber_tests::{model::Article, process, raftlog::Replay, snapfile};
use powercut::{CutOptions, CutReport, Fault, PowerCut};
use reqwest::Method;
use serde_json::json;

use super::parameters::Durability;
use crate::{
    http,
    world::{LithairWorld, PowerCutOutcome},
};

/// Writers during a cut, unless the step says how many: each has at most one request in flight.
const WRITERS: usize = 16;
/// The log is the file the disk faults apply to.
const LOG_FILE: &str = "events.raftlog";

/// Power cuts in this run, over all scenarios: printed with each cut so the run's total shows.
static CUTS_IN_RUN: AtomicUsize = AtomicUsize::new(0);

/// Put the server on a disk that can lose power (and may fail as `configure` says), and start it.
async fn start_on_powercut_disk(
    world: &mut LithairWorld,
    mode: Durability,
    configure: impl FnOnce(&mut PowerCut),
) -> anyhow::Result<()> {
    let journal = world.server.dir().join("powercut.journal");
    let data_dir = world.server.data_dir.clone();
    let mut cut = tokio::task::spawn_blocking(move || PowerCut::new(&data_dir, &journal))
        .await?
        .map_err(anyhow::Error::msg)
        .context("cannot load the powercut interposer")?;
    configure(&mut cut);
    world.server.powercut = Some(cut);
    world.server.durability = Some(mode.0);
    world.server.start().await
}

#[given(
    expr = "a running Lithair server with {durability} durability on a disk that can lose power"
)]
async fn on_powercut_disk(world: &mut LithairWorld, mode: Durability) -> anyhow::Result<()> {
    start_on_powercut_disk(world, mode, |_| {}).await
}

#[given(
    expr = "a running Lithair server with {durability} durability taking a snapshot every {int} events on a disk that can lose power"
)]
async fn snapshots_on_powercut_disk(
    world: &mut LithairWorld,
    mode: Durability,
    every: u64,
) -> anyhow::Result<()> {
    world.server.args.extend(["--snapshot-every".into(), every.to_string()]);
    start_on_powercut_disk(world, mode, |_| {}).await
}

/// Counted per process from 1, over the log's syncs only: with one client writing at a time,
/// sync number N is the one of the Nth write.
#[given(
    expr = "a running Lithair server with {durability} durability on a disk whose fdatasync number {int} of the log fails"
)]
async fn on_disk_failing_sync(
    world: &mut LithairWorld,
    mode: Durability,
    n: u64,
) -> anyhow::Result<()> {
    start_on_powercut_disk(world, mode, |cut| {
        cut.fail_sync = Some(n);
        cut.fault_file = Some(LOG_FILE.into());
    })
    .await
}

#[given(
    expr = "a running Lithair server with {durability} durability on a disk that fills up after {int} bytes of log"
)]
async fn on_disk_filling_up(
    world: &mut LithairWorld,
    mode: Durability,
    bytes: u64,
) -> anyhow::Result<()> {
    start_on_powercut_disk(world, mode, |cut| {
        cut.enospc_after = Some(bytes);
        cut.fault_file = Some(LOG_FILE.into());
    })
    .await
}

/// SIGKILL (unless the caller already killed the server), then rewrite the data directory to
/// its durable image (with a torn page when `torn` holds a seed). The disk comes back healthy: injected faults do not survive the cut.
async fn cut_power(world: &mut LithairWorld, torn: Option<u64>) -> anyhow::Result<PowerCutOutcome> {
    let Some(cut) = world.server.powercut.as_mut() else {
        bail!("the server does not run on a disk that can lose power; start it with such a step")
    };
    cut.fail_sync = None;
    cut.enospc_after = None;
    let (journal, data_dir) = (cut.journal.clone(), cut.dir.clone());
    if let Some(server) = world.server.process.take() {
        server.kill().await?;
    }
    let report = tokio::task::spawn_blocking(move || {
        powercut::cut_power(&journal, &data_dir, CutOptions { torn })
    })
    .await?
    .context("cannot cut the power")?;
    let snapshots = judge_snapshots(world, &report).await?;
    let total = CUTS_IN_RUN.fetch_add(1, Ordering::Relaxed) + 1;
    println!(
        "    power cut {} (run total {total}): {} unsynced bytes lost{}{}",
        world.crashes.power_cuts.len() + 1,
        report.lost_bytes(),
        torn.map(|seed| format!(", torn page with seed {seed}")).unwrap_or_default(),
        if report.vanished.is_empty() {
            String::new()
        } else {
            format!(", vanished: {:?}", report.vanished)
        },
    );
    let outcome = PowerCutOutcome {
        acknowledged: world.expected.articles.len(),
        durable_snapshots: snapshots.sound,
        snapshot_problems: snapshots.problems,
        ..PowerCutOutcome::default()
    };
    world.crashes.power_cuts.push(outcome.clone());
    Ok(outcome)
}

/// The snapshots the disk holds after the cut, judged before any restart can touch them:
/// each must have been synced whole and agree with the log the disk held, and the newest one
/// the server said it had written must be there (or a newer one).
async fn judge_snapshots(
    world: &LithairWorld,
    report: &CutReport,
) -> anyhow::Result<snapfile::AfterPowerCut> {
    let reported = snapfile::newest_written(&world.server.log());
    let dir = world.server.data_dir.clone();
    if reported.is_none() && snapfile::list(&dir)?.is_empty() {
        return Ok(snapfile::AfterPowerCut::default());
    }
    let log = world.server.raftlog().await?;
    let unsynced = |name: &str| {
        let file = report.files.iter().find(|file| file.path == name)?;
        Some(file.unsynced + file.garbage)
    };
    let mut judged = snapfile::after_power_cut(&dir, &log, unsynced)?;
    if let Some(reported) = reported
        && judged.sound.last().is_none_or(|&newest| newest < reported)
    {
        judged.problems.push(format!(
            "the server had said snapshot {reported} was written, but the disk holds no sound \
             snapshot from {reported} on (sound: {:?})",
            judged.sound
        ));
    }
    Ok(judged)
}

#[when("the power fails")]
async fn power_fails(world: &mut LithairWorld) -> anyhow::Result<()> {
    cut_power(world, None).await.map(drop)
}

#[when("the power fails mid-write")]
async fn power_fails_mid_write(world: &mut LithairWorld) -> anyhow::Result<()> {
    let seed = world.seeded("torn page")?.below(u64::MAX);
    cut_power(world, Some(seed)).await.map(drop)
}

/// Restart after a cut and compare with what the scenario sent: which acknowledged writes
/// are gone, whether the log is valid, which snapshot was loaded. Lost articles leave the
/// expected state (they are in the cut's outcome), so each cut is judged on its own.
async fn restart_and_check(world: &mut LithairWorld) -> anyhow::Result<()> {
    if let Err(err) = world.server.start().await {
        let problems = world.crashes.power_cuts.last().map(|cut| cut.snapshot_problems.clone());
        let problems = problems.unwrap_or_default();
        let note = if problems.is_empty() {
            String::new()
        } else {
            format!(" (the snapshots the disk held: {})", problems.join("; "))
        };
        return Err(err.context(format!("the server did not come back after the power cut{note}")));
    }
    let health = http::expect(world, Method::GET, "/health", None, 200).await?;
    let served = http::all_articles(world).await?;
    let lost: Vec<u64> =
        world.expected.articles.keys().filter(|id| !served.contains_key(id)).copied().collect();
    for id in &lost {
        world.expected.articles.remove(id);
    }
    let log_error = check_log_again(world).await?;
    let loaded_snapshot = health["startup"]["snapshot"].as_u64();
    // A restart from a snapshot must give the very state a full replay of the log gives.
    let state_error = match loaded_snapshot {
        Some(_) => differs_from_replay(&world.server.raftlog().await?.replay(), &served),
        None => None,
    };
    let outcome = world.crashes.power_cuts.last_mut().context("no power cut happened")?;
    outcome.loaded_snapshot = loaded_snapshot;
    outcome.state_error = state_error;
    outcome.kept_max = served.keys().next_back().copied();
    outcome.log_error = log_error;
    if !lost.is_empty() {
        println!("      {} of {} acknowledged writes lost", lost.len(), outcome.acknowledged);
    }
    outcome.lost = lost;
    Ok(())
}

/// The log after a restart, checked by the harness's own reader; only what was appended since
/// the previous cut's check is parsed (a long scenario's log is checked hundreds of times).
async fn check_log_again(world: &mut LithairWorld) -> anyhow::Result<Option<String>> {
    let mut checked = std::mem::take(&mut world.crashes.checked_log);
    let path = world.server.log_path();
    let (checked, verdict) = tokio::task::spawn_blocking(move || {
        let verdict = checked.check(&path);
        (checked, verdict)
    })
    .await?;
    world.crashes.checked_log = checked;
    Ok(verdict.with_context(|| format!("cannot read {}", world.server.log_path().display()))?.err())
}

/// How the articles served differ from a replay of the log, if they do.
fn differs_from_replay(
    replay: &Replay,
    served: &std::collections::BTreeMap<u64, Article>,
) -> Option<String> {
    if !replay.problems.is_empty() {
        return Some(format!("the log's events do not add up: {:?}", replay.problems));
    }
    replay.articles_differ_from(served)
}

/// Writers at full speed; `until` decides when the power fails (given the data directory).
async fn cut_under_load(
    world: &mut LithairWorld,
    writers: usize,
    until: impl AsyncFnOnce(&std::path::Path) -> anyhow::Result<()>,
    torn: Option<u64>,
) -> anyhow::Result<()> {
    let (workload, writing) = world.start_writers(writers)?;
    let waited = until(&world.server.data_dir).await;
    // Whatever happened: the server dies first, then every answer the writers got counts as
    // acknowledged (collected earlier, a write answered before the kill would be missed).
    let killed = world.server.take()?.kill().await;
    writing.abort();
    let _ = writing.await;
    let acknowledged: Vec<Article> = workload.acknowledged_articles();
    acknowledged.into_iter().for_each(|a| world.expected.remember_created(a));
    world.crashes.in_flight += writers;
    killed?;
    waited?;
    cut_power(world, torn).await?;
    restart_and_check(world).await
}

#[when(expr = "the power fails at a random moment under full write load, {int} times over")]
async fn power_fails_under_load(world: &mut LithairWorld, times: usize) -> anyhow::Result<()> {
    power_fails_under_load_from(world, WRITERS, times).await
}

/// Few writers make small groups, many make large ones: the cut lands on different shapes.
#[when(
    expr = "the power fails at a random moment under full write load from {int} writers, {int} times over"
)]
async fn power_fails_under_load_from(
    world: &mut LithairWorld,
    writers: usize,
    times: usize,
) -> anyhow::Result<()> {
    let mut random = world.seeded("power cuts")?;
    let started = Instant::now();
    for round in 1..=times {
        // Short: the pipeline is full within milliseconds, and every write in a window is
        // one more record each later cut's restart replays and reads back.
        let delay = random.duration(Duration::from_millis(20)..Duration::from_millis(220));
        // Half the cuts tear the page being written, half drop the unsynced tail cleanly.
        let torn = if random.chance(0.5) { Some(random.below(u64::MAX)) } else { None };
        cut_under_load(
            world,
            writers,
            async |_| {
                tokio::time::sleep(delay).await;
                Ok(())
            },
            torn,
        )
        .await
        // The cause goes into the message: cucumber prints only an error's top line.
        .map_err(|err| {
            anyhow!("power cut {round} ({} ms into the load): {err:#}", delay.as_millis())
        })?;
    }
    let took = started.elapsed().as_secs_f64();
    println!("    {times} power cuts in {took:.1} s, {:.2} s each", took / times as f64);
    Ok(())
}

/// Odd cuts come as soon as a new snapshot file appears, maybe before the server synced its
/// directory; even cuts as soon as the server says the snapshot is written, when the disk
/// must hold it.
#[when(expr = "the power fails right after a snapshot is taken, {int} times over")]
async fn power_fails_after_snapshot(world: &mut LithairWorld, times: usize) -> anyhow::Result<()> {
    for round in 1..=times {
        let newest = |dir: &std::path::Path| {
            snapfile::list(dir).map(|found| found.last().map(|(seq, _)| *seq))
        };
        let before = newest(&world.server.data_dir)?;
        let server_log = world.server.log_file.clone();
        let until_written = round % 2 == 0;
        let wait_for_snapshot = async |dir: &std::path::Path| {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let taken = newest(dir)?.filter(|&seq| Some(seq) != before);
                let written = || snapfile::newest_written(&process::read_log(&server_log));
                match taken {
                    Some(seq) if !until_written || written().is_some_and(|w| w >= seq) => {
                        return Ok(());
                    }
                    _ => ensure!(Instant::now() < deadline, "no new snapshot within 30 s"),
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        cut_under_load(world, WRITERS, wait_for_snapshot, None)
            .await
            .map_err(|err| anyhow!("power cut {round}, right after a snapshot: {err:#}"))?;
    }
    Ok(())
}

/// One client, one write at a time, each answer kept: 201s are remembered as acknowledged,
/// other answers only counted. Used where a failing disk makes refusals expected.
#[when(expr = "I try to create {int} articles one after another")]
async fn try_to_create(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    for _ in 0..count {
        let sent =
            http::numbered_article(world.expected.created_ids.len() + world.crashes.attempts.len());
        let reply = http::send(world, Method::POST, "/api/articles", Some(&json!(sent))).await?;
        if reply.status == 201 {
            let id =
                reply.body["id"].as_u64().with_context(|| format!("no id in {}", reply.body))?;
            world.expected.remember_created(sent.with_id(id));
        } else {
            world.expected.never_applied.push(sent.title);
        }
        world.crashes.attempts.push(reply.status);
    }
    Ok(())
}

/// The fault the disk was configured with must really have been injected (read from the
/// interposer's journal, not from the server), and the answers must be: acknowledgements up to
/// the failure, then 503 for every write from the failing one on — never a 201 after a refusal.
#[then("the writes from the failing disk on were refused with 503")]
async fn refused_from_failure_on(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cut = world.server.powercut.as_ref().context("the server is not on a powercut disk")?;
    let faults = powercut::replay(&cut.journal).context("cannot read the powercut journal")?.faults;
    ensure!(!faults.is_empty(), "the disk never failed: no fault was injected");
    let statuses = &world.crashes.attempts;
    let first_refusal = statuses.iter().position(|&s| s != 201).context("every write got 201")?;
    let after = &statuses[first_refusal..];
    ensure!(
        after.iter().all(|&s| s == 503),
        "after the disk failed the answers were {after:?}; every one must be 503"
    );
    if let Some(Fault::SyncEio { .. }) = faults.first()
        && let Some(n) = cut.fail_sync
    {
        // One client at a time: sync number n is the nth write's, which must not be a 201.
        ensure!(
            first_refusal as u64 == n - 1,
            "fdatasync number {n} failed, but {first_refusal} writes were acknowledged: {statuses:?}"
        );
    }
    println!(
        "    {first_refusal} acknowledged, then {} refused with 503 ({faults:?})",
        after.len()
    );
    Ok(())
}

/// A refused write must stay refused: neither served nor in the log, also after a restart that
/// kept the page cache (a crash, not a power cut), where a refused group's bytes would still be
/// in the file unless the server cut them off.
#[then("none of the refused writes is present")]
async fn refused_absent(world: &mut LithairWorld) -> anyhow::Result<()> {
    let refused = &world.expected.never_applied;
    ensure!(!refused.is_empty(), "no write was refused");
    let served = http::all_articles(world).await?;
    let logged = world.server.raftlog().await?.replay().articles;
    for (source, articles) in [("served", &served), ("in the log", &logged)] {
        if let Some(article) = articles.values().find(|a| refused.contains(&a.title)) {
            bail!(
                "article {} ({:?}) is {source}, but its creation was refused",
                article.id,
                article.title
            );
        }
    }
    println!("    {} refused writes, none present", refused.len());
    Ok(())
}

#[then("no acknowledged write was lost to a power cut")]
async fn none_lost(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cuts = &world.crashes.power_cuts;
    ensure!(!cuts.is_empty(), "the power never failed");
    for (n, cut) in cuts.iter().enumerate() {
        ensure!(
            cut.lost.is_empty(),
            "power cut {} lost {} of {} acknowledged writes, e.g. {:?}",
            n + 1,
            cut.lost.len(),
            cut.acknowledged,
            &cut.lost[..cut.lost.len().min(10)]
        );
    }
    println!("    {} power cuts, no acknowledged write lost", cuts.len());
    Ok(())
}

#[then("the log was valid after every power cut")]
async fn log_valid_after_each(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cuts = &world.crashes.power_cuts;
    ensure!(!cuts.is_empty(), "the power never failed");
    for (n, cut) in cuts.iter().enumerate() {
        if let Some(error) = &cut.log_error {
            bail!("after power cut {} the restarted server left an invalid log: {error}", n + 1);
        }
    }
    Ok(())
}

/// What the durability modes promise even without `fdatasync`: a cut loses a suffix, never a
/// write in the middle. Says how many acknowledged writes were lost, for docs/durability.md.
#[then("a power cut only ever lost the newest acknowledged writes")]
async fn only_newest_lost(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cuts = &world.crashes.power_cuts;
    ensure!(!cuts.is_empty(), "the power never failed");
    let (mut lost, mut acknowledged) = (0, 0);
    for (n, cut) in cuts.iter().enumerate() {
        if let (Some(&oldest_lost), Some(newest_kept)) = (cut.lost.first(), cut.kept_max) {
            ensure!(
                newest_kept < oldest_lost,
                "power cut {} lost article {oldest_lost} but kept the newer {newest_kept}",
                n + 1
            );
        }
        lost += cut.lost.len();
        acknowledged += cut.acknowledged;
    }
    println!(
        "    {lost} acknowledged writes lost over {} power cuts ({acknowledged} acknowledged before them, counted per cut)",
        cuts.len()
    );
    world.perf.entries.push(json!({"label": "power-cut losses", "cuts": cuts.len(), "lost": lost, "acknowledged": acknowledged}));
    Ok(())
}

#[then("no restart used a snapshot the disk did not durably hold")]
async fn snapshots_durable(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cuts = &world.crashes.power_cuts;
    ensure!(!cuts.is_empty(), "the power never failed");
    let mut used = 0;
    for (n, cut) in cuts.iter().enumerate().map(|(n, cut)| (n + 1, cut)) {
        ensure!(
            cut.snapshot_problems.is_empty(),
            "after power cut {n}: {}",
            cut.snapshot_problems.join("; ")
        );
        // Restart = the newest sound snapshot + the log after it: no older one, none unsound.
        let newest = cut.durable_snapshots.last().copied();
        ensure!(
            cut.loaded_snapshot == newest,
            "after power cut {n} the server started from snapshot {:?}, but the newest the disk \
             held whole and in agreement with its log is {newest:?} (of {:?})",
            cut.loaded_snapshot,
            cut.durable_snapshots
        );
        if let (Some(seq), Some(error)) = (cut.loaded_snapshot, &cut.state_error) {
            bail!("after power cut {n} the server started from snapshot {seq}, but {error}");
        }
        used += usize::from(cut.loaded_snapshot.is_some());
    }
    ensure!(used > 0, "no restart started from a snapshot: the cuts proved nothing about them");
    println!(
        "    {used} of {} restarts started from the newest durable snapshot, each giving the state a full replay gives",
        cuts.len()
    );
    Ok(())
}
