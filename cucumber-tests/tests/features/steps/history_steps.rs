//! Clients racing on a cluster while faults strike at moments the scenario's seed decides, and
//! the checks of the history they recorded: linearizable, no acknowledged write lost, no
//! acknowledgement from a minority, no comment lost, duplicated or reordered. The race itself
//! is `race.rs`'s.

use cucumber::{then, when};

use super::parameters::{FaultSchedule, Workload};
use crate::{race, world::LithairWorld};

/// The one race step: its workload and its fault schedule are parameters
/// (`parameters.rs`), so "while the leader is killed twice" and "while the network is
/// bridged" are the same step with other words.
#[when(expr = "{int} clients {workload} {int} articles for {int} seconds while {fault}")]
async fn clients_race(
    world: &mut LithairWorld,
    clients: u64,
    workload: Workload,
    articles: usize,
    seconds: u64,
    fault: FaultSchedule,
) -> anyhow::Result<()> {
    race::race(world, workload.0, clients, articles, seconds, Some(fault)).await
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
