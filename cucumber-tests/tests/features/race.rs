//! Clients racing on a cluster while faults strike at moments the scenario's seed decides:
//! the work behind the race step (`history_steps.rs`) and upstream's "concurrent writes are
//! performed" (`upstream_distribution_steps.rs`), so that both record the same kind of history.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, ensure};
use cucumber_tests::cluster::workload::{self, Kind, Plan};
use cucumber_tests::seed::Stream;
use lincheck::Op;

use crate::{
    steps::parameters::{FaultSchedule, Nemesis},
    world::LithairWorld,
};

/// Pause between a client's operations: a few clients then leave the two cores to the nodes.
const THINK: Duration = Duration::from_millis(5);

/// Create the articles (and, for comments, their author), start the clients, and strike
/// as `schedule` says at seeded moments spread over the run; every fault is healed before the
/// clients stop, so that the end of the run shows the cluster recovered. Without a schedule
/// the clients race on a healthy cluster.
pub async fn race(
    world: &mut LithairWorld,
    kind: Kind,
    clients: u64,
    articles: usize,
    seconds: u64,
    schedule: Option<FaultSchedule>,
) -> anyhow::Result<()> {
    let strikes = schedule.map_or(vec![], |s| vec![s.nemesis; s.times]);
    let faults = strikes.len();
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
    // Which nodes a fault hits, and how a torn page tears: streams of their own, so that the
    // moments stay the same whatever the victims drew.
    let mut victims = world.seeded("victims")?;
    let mut tears = world.seeded("torn pages")?;
    let slot = duration / (faults as u32 + 1);
    // Each fault lasts 60% of its slot: long enough for the majority to elect a new leader
    // and move on while the old one is still cut off or down, which is when stale reads and
    // minority acknowledgements can happen at all.
    let hold = slot.mul_f64(0.6);
    for (number, nemesis) in (1..).zip(strikes) {
        // Strike somewhere in the first 30% of each slot; heal before its end.
        let wait = slot.mul_f64(schedule.below(30) as f64 / 100.0);
        tokio::time::sleep(wait).await;
        let at = world.cluster.running()?.clock();
        let torn = tears.below(u64::MAX);
        let struck = strike(world, nemesis, &mut victims, torn).await?;
        println!(
            "    fault {number}/{faults} at {:.2} s: {nemesis:?} on {struck:?}",
            at.as_secs_f64()
        );
        tokio::time::sleep(hold).await;
        heal(world, nemesis, &struck).await?;
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

/// Inflict one fault; returns the nodes it took down or cut off (for a bridge, the bridge),
/// for [`heal`].
async fn strike(
    world: &mut LithairWorld,
    nemesis: Nemesis,
    victims: &mut Stream,
    torn: u64,
) -> anyhow::Result<Vec<u64>> {
    let cluster = world.cluster.running_mut()?;
    let leader = cluster.wait_for_leader(None).await?;
    let mut up: Vec<u64> =
        cluster.nodes.iter().filter(|node| node.is_serving()).map(|node| node.id).collect();
    match nemesis {
        Nemesis::KillLeader => cluster.kill(leader).await?,
        Nemesis::CutOffLeader => {
            cluster.split(&[leader])?;
            world.cluster.cut_off = vec![leader];
        }
        Nemesis::PowerCutLeader => world.cluster.cut_power_of(&[leader], Some(torn)).await?,
        Nemesis::KillRandom => return Ok(vec![world.cluster.kill_random(victims).await?]),
        Nemesis::PowerCutMinority => {
            let size = (up.len() - 1) / 2;
            let minority = draw(victims, &mut up, size);
            world.cluster.cut_power_of(&minority, Some(torn)).await?;
            return Ok(minority);
        }
        Nemesis::Bridge => {
            // In the seed's order: the bridge, then one side, then the other.
            let size = up.len();
            let mut order = draw(victims, &mut up, size);
            let bridge = order.remove(0);
            let b = order.split_off(order.len() / 2);
            println!("    bridge: {order:?} <-> node {bridge} <-> {b:?}");
            cluster.bridge(&order, bridge, &b)?;
            return Ok(vec![bridge]);
        }
        Nemesis::JoinSpare => {
            world.cluster.join_spare().await?;
            return Ok(vec![]);
        }
    }
    Ok(vec![leader])
}

/// `count` of `ids`, chosen one after another by the seed (taken out of `ids`).
fn draw(stream: &mut Stream, ids: &mut Vec<u64>, count: usize) -> Vec<u64> {
    (0..count.min(ids.len())).map(|_| ids.remove(stream.below(ids.len() as u64) as usize)).collect()
}

/// Undo what [`strike`] did to `struck`: restart the nodes it took down, or heal the network.
async fn heal(world: &mut LithairWorld, nemesis: Nemesis, struck: &[u64]) -> anyhow::Result<()> {
    let cluster = world.cluster.running_mut()?;
    match nemesis {
        Nemesis::KillLeader
        | Nemesis::PowerCutLeader
        | Nemesis::KillRandom
        | Nemesis::PowerCutMinority => {
            for id in struck {
                cluster.restart(*id).await?;
            }
            world.cluster.downed = None;
        }
        Nemesis::CutOffLeader | Nemesis::Bridge => cluster.heal(),
        Nemesis::JoinSpare => {} // a join has nothing to undo
    }
    Ok(())
}
