//! Clients racing on a cluster while faults strike at moments the scenario's seed decides, and
//! the checks of the history they recorded: linearizable, no acknowledged write lost, no
//! acknowledgement from a minority, no comment lost, duplicated or reordered.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, ensure};
use cucumber::{then, when};
use cucumber_tests::cluster::workload::{self, Kind, Plan};
use lincheck::Op;

use super::parameters::Times;
use crate::world::LithairWorld;

/// Pause between a client's operations: a few clients then leave the two cores to the nodes.
const THINK: Duration = Duration::from_millis(5);

/// What strikes while the clients run.
#[derive(Debug, Clone, Copy)]
enum Nemesis {
    KillLeader,
    CutOffLeader,
    /// The leader loses power: what its disk had not synced is lost, a torn last page too.
    PowerCutLeader,
    /// The spare node joins the cluster (not a fault, but a change the clients must not see).
    JoinSpare,
}

#[when(
    expr = "{int} clients read and write {int} articles for {int} seconds while the leader is killed {times}"
)]
async fn registers_with_kills(
    world: &mut LithairWorld,
    clients: u64,
    articles: usize,
    seconds: u64,
    times: Times,
) -> anyhow::Result<()> {
    race(world, Kind::Register, clients, articles, seconds, Nemesis::KillLeader, times.0).await
}

#[when(
    expr = "{int} clients read and write {int} articles for {int} seconds while the leader is cut off {times}"
)]
async fn registers_with_partitions(
    world: &mut LithairWorld,
    clients: u64,
    articles: usize,
    seconds: u64,
    times: Times,
) -> anyhow::Result<()> {
    race(world, Kind::Register, clients, articles, seconds, Nemesis::CutOffLeader, times.0).await
}

#[when(
    expr = "{int} clients read and write {int} articles for {int} seconds while the leader loses power {times}"
)]
async fn registers_with_power_cuts(
    world: &mut LithairWorld,
    clients: u64,
    articles: usize,
    seconds: u64,
    times: Times,
) -> anyhow::Result<()> {
    race(world, Kind::Register, clients, articles, seconds, Nemesis::PowerCutLeader, times.0).await
}

#[when(
    expr = "{int} clients read and write {int} articles for {int} seconds while the spare node joins"
)]
async fn registers_while_joining(
    world: &mut LithairWorld,
    clients: u64,
    articles: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    race(world, Kind::Register, clients, articles, seconds, Nemesis::JoinSpare, 1).await
}

#[when(
    expr = "{int} clients append comments to {int} articles for {int} seconds while the leader is killed {times}"
)]
async fn appends_with_kills(
    world: &mut LithairWorld,
    clients: u64,
    articles: usize,
    seconds: u64,
    times: Times,
) -> anyhow::Result<()> {
    race(world, Kind::ListAppend, clients, articles, seconds, Nemesis::KillLeader, times.0).await
}

/// Create the articles (and, for comments, their author), start the clients, and strike
/// `faults` times at seeded moments spread over the run; every fault is healed before the
/// clients stop, so that the end of the run shows the cluster recovered.
async fn race(
    world: &mut LithairWorld,
    kind: Kind,
    clients: u64,
    articles: usize,
    seconds: u64,
    nemesis: Nemesis,
    faults: usize,
) -> anyhow::Result<()> {
    let cluster = world.cluster.running()?;
    let client = world.cluster.client()?.clone();
    let nodes: Vec<_> = cluster.nodes.iter().map(|node| node.api).collect();
    let leader = cluster.wait_for_leader(None).await?;
    let leader_api = cluster.node(leader)?.api;
    if kind == Kind::ListAppend {
        let user = serde_json::json!({"name": "writer", "email": "writer@example.org"});
        let made = client.send(reqwest::Method::POST, leader_api, "/api/users", Some(&user)).await;
        ensure!(made.answered(201).is_some(), "cannot create the comments' author: {made:?}");
    }
    let mut ids = Vec::new();
    for _ in 0..articles {
        let fate =
            client.perform(0, leader_api, Op::Create { title: client.unique("title") }).await;
        let id = fate.answered(201).and_then(|body| body["id"].as_u64());
        ids.push(id.with_context(|| format!("cannot create the articles: {fate:?}"))?);
    }
    let duration = Duration::from_secs(seconds);
    let rng = world.seeded("clients")?;
    let pool = Arc::new(Mutex::new(ids));
    // The clients, then (for registers) one reader pinned to each node; process ids are
    // numbered over all of them, so that none is ever reused.
    let readers = if kind == Kind::Register { nodes.len() as u64 } else { 0 };
    let everyone = clients + readers;
    let mut tasks = Vec::new();
    for number in 1..=everyone {
        let (role, targets) = match number.checked_sub(clients + 1) {
            None => (kind, nodes.clone()),
            Some(reader) => (Kind::Reader, vec![nodes[reader as usize]]),
        };
        let plan = Plan {
            client: number,
            clients: everyone,
            articles: Arc::clone(&pool),
            nodes: targets,
            duration,
            think: THINK,
        };
        let client = client.clone();
        let mut stream = rng.fork(number);
        tasks.push(tokio::spawn(async move {
            workload::run(&client, &plan, role, move |n| stream.below(n)).await
        }));
    }
    let mut schedule = world.seeded("nemesis")?;
    let slot = duration / (faults as u32 + 1);
    // Each fault lasts 60% of its slot: long enough for the majority to elect a new leader
    // and move on while the old one is still cut off or down, which is when stale reads and
    // minority acknowledgements can happen at all.
    let hold = slot.mul_f64(0.6);
    for _ in 0..faults {
        // Strike somewhere in the first 30% of each slot; heal before its end.
        let wait = slot.mul_f64(schedule.below(30) as f64 / 100.0);
        tokio::time::sleep(wait).await;
        strike(world, nemesis).await?;
        tokio::time::sleep(hold).await;
        heal(world, nemesis).await?;
        tokio::time::sleep(slot.saturating_sub(wait + hold)).await;
    }
    let mut performed = 0;
    for task in tasks {
        performed += task.await.context("a client task panicked")?;
    }
    ensure!(performed > 0, "the clients performed no operation");
    println!(
        "    {performed} operations by {clients} clients and {readers} pinned readers, {faults} faults"
    );
    Ok(())
}

async fn strike(world: &mut LithairWorld, nemesis: Nemesis) -> anyhow::Result<()> {
    let torn = world.seeded("torn pages")?.below(u64::MAX);
    let cluster = world.cluster.running_mut()?;
    let leader = cluster.wait_for_leader(None).await?;
    match nemesis {
        Nemesis::KillLeader => cluster.kill(leader).await?,
        Nemesis::CutOffLeader => cluster.split(&[leader])?,
        Nemesis::PowerCutLeader => world.cluster.cut_power(leader, Some(torn)).await?,
        Nemesis::JoinSpare => return world.cluster.join_spare().await,
    }
    world.cluster.downed = Some(leader);
    world.cluster.cut_off = vec![leader];
    Ok(())
}

async fn heal(world: &mut LithairWorld, nemesis: Nemesis) -> anyhow::Result<()> {
    if let Nemesis::JoinSpare = nemesis {
        return Ok(()); // a join has nothing to undo
    }
    let id = world.cluster.downed.take().context("nothing to heal")?;
    let cluster = world.cluster.running_mut()?;
    match nemesis {
        Nemesis::KillLeader | Nemesis::PowerCutLeader => cluster.restart(id).await,
        Nemesis::CutOffLeader => {
            cluster.heal();
            Ok(())
        }
        Nemesis::JoinSpare => unreachable!("handled above: a join has nothing to undo"),
    }
}

#[then("the history is linearizable")]
async fn linearizable(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_linearizable().await
}

#[then("no write was acknowledged on the minority side")]
async fn no_minority_ack(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_no_minority_ack()
}

#[then("no acknowledged comment was lost, duplicated or reordered on any node")]
async fn comments_intact(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_comment_lists().await
}
