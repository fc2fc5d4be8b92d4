//! The upstream Lithair team's cluster phrases (`../shared/upstream/openraft_consensus.feature`
//! and `distribution_clustering.feature`, run unmodified), each bound to the check or action
//! of our own vocabulary that keeps its promise. docs/steps.md gives each phrase's reading.

use std::time::Duration;

use cucumber::{given, then, when};

use crate::world::LithairWorld;

/// How long "the remaining majority accepts writes" waits: an election or two.
const MAJORITY_PATIENCE: Duration = Duration::from_secs(10);

#[given("three authenticated OpenRaft processes with durable logs")]
async fn three_processes(world: &mut LithairWorld) -> anyhow::Result<()> {
    let dir = world.server.dir().join("cluster");
    world.cluster.start(&dir, 3).await
}

#[when("the leader acknowledges a command and is killed")]
async fn leader_acknowledges_and_dies(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.create_through_leader(1).await?;
    world.cluster.kill_leader().await
}

#[then("the remaining majority accepts writes")]
async fn majority_accepts_writes(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_majority_accepts_writes(MAJORITY_PATIENCE).await
}

#[when("the old leader restarts from its existing log")]
async fn old_leader_restarts(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.restart_downed().await
}

#[then("all three processes recover the acknowledged commands")]
async fn all_recover(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_all_nodes_recovered().await
}

#[when("the leader is isolated by cutting its TCP connections")]
async fn leader_isolated(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.cut_off_leader().await
}

#[then("the isolated process rejects writes and read barriers")]
async fn isolated_rejects(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_cut_off_refuses().await
}

#[when("the TCP partition is healed")]
async fn partition_healed(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.heal()
}

#[when("all three processes are killed after an acknowledged command and restarted")]
async fn cold_restart(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.create_through_leader(1).await?;
    world.cluster.restart_all().await
}
