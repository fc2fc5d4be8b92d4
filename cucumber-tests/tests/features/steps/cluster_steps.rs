//! Forming a cluster, writing to it through any node, and checking that every node holds
//! what was acknowledged — by each node's answers and by each node's own log file, read with
//! the harness's reader. The work is `ClusterWorld`'s (`cluster_world.rs`, `cluster_checks.rs`).

use std::time::Duration;

use cucumber::{given, then, when};

use crate::world::LithairWorld;

#[given(expr = "a {int}-node Lithair cluster")]
async fn a_cluster(world: &mut LithairWorld, size: usize) -> anyhow::Result<()> {
    let dir = world.server.dir().join("cluster");
    world.cluster.start(&dir, size).await
}

#[given(expr = "a {int}-node Lithair cluster whose disks can lose power")]
async fn a_cluster_on_powercut_disks(world: &mut LithairWorld, size: usize) -> anyhow::Result<()> {
    let dir = world.server.dir().join("cluster");
    world.cluster.start_on_powercut_disks(&dir, size).await
}

#[given(
    expr = "a {int}-node Lithair cluster with a spare node, taking a snapshot every {int} entries"
)]
async fn a_cluster_with_spare(
    world: &mut LithairWorld,
    size: usize,
    every: u64,
) -> anyhow::Result<()> {
    let dir = world.server.dir().join("cluster");
    world.cluster.start_with_spare(&dir, size, every).await
}

#[then(expr = "the cluster has {int} voters")]
async fn voters(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    world.cluster.check_voters(count).await
}

#[then("one node leads and the others follow it")]
async fn one_leader(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_one_leader().await
}

#[when(expr = "{int} articles are created through node {int}")]
async fn create_through(world: &mut LithairWorld, count: usize, id: u64) -> anyhow::Result<()> {
    world.cluster.create_through(id, count).await
}

#[when(expr = "{int} articles are created through a node that is up")]
async fn create_through_any(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    world.cluster.create_through_any(count).await
}

#[then("a follower answers a write with a redirect to the leader")]
async fn followers_redirect(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_followers_redirect().await
}

#[then("every acknowledged write is present on every node")]
async fn every_write_everywhere(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_every_write_everywhere().await
}

#[then("the nodes' logs agree up to the commit index")]
async fn logs_agree(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_logs_agree().await
}

#[then(expr = "a new leader acknowledges a write within {int} ms")]
async fn new_leader_within(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    world.cluster.check_new_leader_within(Duration::from_millis(ms)).await
}

#[then("the cut-off node acknowledges no write and refuses consistent reads")]
async fn cut_off_refuses(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_cut_off_refuses().await
}
