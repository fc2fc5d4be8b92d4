//! Crashes for real: SIGKILL at a random moment while clients write at full speed, then a
//! restart, again and again; and a clean stop in the middle of the same load. Nothing
//! acknowledged may be lost (in `fsync` and `flush` modes), and only writes that were in
//! flight at the moment of the crash may be missing.
//!
//! A SIGKILL is a process crash: what the server had handed to the OS survives it. Power loss
//! is not simulated here (see docs/durability.md).

use std::{collections::BTreeSet, time::Duration};

use anyhow::{Context, ensure};
use cucumber::{then, when};
use cucumber_tests::model::Article;
use serde::Deserialize;

use crate::{http, world::LithairWorld};

/// Writers during a crash: each has at most one request in flight.
const WRITERS: usize = 16;

/// Run writers at full speed against the server, and after `delay` do `interrupt` to it
/// (SIGKILL or SIGTERM); every acknowledged creation is remembered.
async fn interrupt_under_load(
    world: &mut LithairWorld,
    delay: Duration,
    kill: bool,
) -> anyhow::Result<()> {
    let (workload, writers) = world.start_writers(WRITERS)?;
    tokio::time::sleep(delay).await;
    let server = world.server.take()?;
    let stopped = if kill { server.kill().await.map(|_| ()) } else { stop_cleanly(server).await };
    writers.abort();
    let _ = writers.await;
    workload.acknowledged_articles().into_iter().for_each(|a| world.expected.remember_created(a));
    world.crashes.in_flight += WRITERS;
    world.record_crash(if kill { "crash (SIGKILL)" } else { "clean stop (SIGTERM)" });
    stopped
}

async fn stop_cleanly(server: cucumber_tests::process::ServerProcess) -> anyhow::Result<()> {
    let status = server.stop().await?;
    ensure!(status.success(), "the server did not exit cleanly under load: {status}");
    Ok(())
}

/// Delays between 100 and 1000 ms, drawn from the run's seed: the same seed kills at the same
/// moments.
fn random_delays(world: &LithairWorld, count: usize) -> anyhow::Result<Vec<Duration>> {
    let mut random = world.seeded("kill delays")?;
    let range = Duration::from_millis(100)..Duration::from_millis(1000);
    Ok((0..count).map(|_| random.duration(range.clone())).collect())
}

#[when(expr = "the server is killed at a random moment under full write load, {int} times over")]
async fn killed_under_load(world: &mut LithairWorld, times: usize) -> anyhow::Result<()> {
    let delays = random_delays(world, times)?;
    for (round, delay) in delays.into_iter().enumerate() {
        interrupt_under_load(world, delay, true)
            .await
            .with_context(|| format!("crash {}", round + 1))?;
        // The server must come back on its own log every time: a torn tail is cut, not fatal.
        world.server.start().await.with_context(|| format!("restart after crash {}", round + 1))?;
    }
    Ok(())
}

#[when("the server is stopped while clients write at full speed")]
async fn stopped_under_load(world: &mut LithairWorld) -> anyhow::Result<()> {
    interrupt_under_load(world, Duration::from_millis(500), false).await
}

/// Every acknowledged article is served and in the log, exactly as acknowledged.
#[then("every acknowledged write is present")]
async fn every_acknowledged_present(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no write was acknowledged");
    let served = http::all_articles(world).await?;
    world.count_survivors(|id| served.contains_key(&id));
    let missing: Vec<u64> =
        world.expected.articles.keys().filter(|id| !served.contains_key(id)).copied().collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged articles are gone, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    for (id, expected) in &world.expected.articles {
        ensure!(&served[id] == expected, "article {id} is not as acknowledged");
    }
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let replay = log.replay();
    for id in world.expected.articles.keys() {
        ensure!(
            replay.articles.contains_key(id),
            "acknowledged article {id} is served but not in the log"
        );
    }
    println!("    {} acknowledged writes, all present", world.expected.articles.len());
    Ok(())
}

/// A write in flight when the server died may or may not have made it; more survivors than
/// requests in flight would mean writes that no client sent.
#[then("only writes in flight at a crash can be unaccounted for")]
async fn only_in_flight_unaccounted(world: &mut LithairWorld) -> anyhow::Result<()> {
    let served: BTreeSet<u64> = http::all_articles(world).await?.into_keys().collect();
    let acknowledged: BTreeSet<u64> = world.expected.articles.keys().copied().collect();
    let unacknowledged = served.difference(&acknowledged).count();
    println!(
        "    {unacknowledged} articles survived without their acknowledgement reaching a client"
    );
    ensure!(
        unacknowledged <= world.crashes.in_flight,
        "{unacknowledged} unacknowledged articles survived, but at most {} requests were in flight",
        world.crashes.in_flight
    );
    Ok(())
}

/// `async` acknowledges a group before writing it, so a crash can lose that one group, and a
/// group holds at most one write per client connection (each client waits for its answer).
/// More lost than that means the writer held groups back, or dropped one.
#[then("at most one group of acknowledged writes was lost at each crash")]
async fn at_most_one_group_lost(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no write was acknowledged");
    let served = http::all_articles(world).await?;
    world.count_survivors(|id| served.contains_key(&id));
    let lost = world.expected.articles.keys().filter(|id| !served.contains_key(id)).count();
    // Writers of the kill-under-load step, or the clients of the last load before a crash.
    let clients = world.perf.loads.last().map_or(0, |load| load.connections);
    let bound = world.crashes.in_flight.max(clients);
    println!(
        "    {lost} of {} acknowledged writes lost (at most {bound} could be)",
        world.expected.articles.len()
    );
    world.perf.entries.push(serde_json::json!({
        "label": "async crash survival",
        "acknowledged": world.expected.articles.len(),
        "lost": lost,
        "bound": bound,
    }));
    ensure!(lost <= bound, "{lost} acknowledged writes were lost; one group holds at most {bound}");
    Ok(())
}

/// Record by record: each acknowledged creation has exactly one `ArticleCreated` record, whose
/// payload is what the client sent; every other creation record is one of the writes still in
/// flight at a crash, and there are no more of those than there were.
#[then("the events.raftlog file holds each acknowledged write once, exactly as sent")]
async fn log_holds_each_once(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let mut seen = BTreeSet::new();
    let mut unacknowledged = 0;
    for record in log.records().iter().filter(|r| r.event_type == "ArticleCreated") {
        let id = record.data["id"]
            .as_u64()
            .with_context(|| format!("record {} has no id", record.seq))?;
        ensure!(seen.insert(id), "article {id} is created twice (again at seq {})", record.seq);
        let Some(sent) = world.expected.articles.get(&id) else {
            unacknowledged += 1;
            continue;
        };
        let logged = Article::deserialize(&record.data);
        ensure!(
            logged.as_ref().is_ok_and(|logged| logged == sent),
            "record {} (article {id}) is not what the client sent: {}",
            record.seq,
            record.data
        );
    }
    let missing: Vec<u64> =
        world.expected.articles.keys().filter(|id| !seen.contains(id)).copied().collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged articles have no record, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    ensure!(
        unacknowledged <= world.crashes.in_flight,
        "{unacknowledged} creation records no client saw acknowledged, {} in flight at most",
        world.crashes.in_flight
    );
    println!(
        "    {} acknowledged creations, one record each, as sent",
        seen.len() - unacknowledged
    );
    Ok(())
}

/// Whether at least `percent` of the acknowledged writes are served.
async fn share_survived(world: &mut LithairWorld, percent: u64) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no write was acknowledged");
    let served = http::all_articles(world).await?;
    world.count_survivors(|id| served.contains_key(&id));
    let kept = world.expected.articles.keys().filter(|id| served.contains_key(id)).count();
    let share = kept as f64 * 100.0 / world.expected.articles.len() as f64;
    println!(
        "    {kept} of {} acknowledged writes survived ({share:.2}%)",
        world.expected.articles.len()
    );
    world.perf.entries.push(
        serde_json::json!({"label": "async crash survival", "acknowledged": world.expected.articles.len(), "survived": kept}),
    );
    ensure!(share >= percent as f64, "only {share:.2}% of the acknowledged writes survived");
    Ok(())
}

/// Crash the server (SIGKILL), start it again on the same data, and count the acknowledged
/// articles it still serves as acknowledged.
#[then(expr = "at least {int}% of articles must be recoverable after crash")]
async fn recoverable_after_crash(world: &mut LithairWorld, percent: u64) -> anyhow::Result<()> {
    world.server.take()?.kill().await?;
    world.server.start().await?;
    share_survived(world, percent).await
}
