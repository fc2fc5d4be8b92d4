//! The faults a cluster scenario inflicts (Jepsen's nemesis): crashes, pauses and partitions,
//! each recorded as a window on the scenario's clock (`ClusterWorld`, `cluster_world.rs`).

use cucumber::when;

use crate::world::LithairWorld;

#[when("the leader is killed")]
async fn kill_leader(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.kill_leader().await
}

/// Then waits until the nodes left agree on a leader (a new one if the leader was hit), so
/// that the next step's writes have somewhere to go: unlike "the leader is killed", no Then
/// about the election follows, since a follower's death elects no one.
#[when("a random node is killed")]
async fn kill_random(world: &mut LithairWorld) -> anyhow::Result<()> {
    let mut choice = world.seeded("random node")?;
    world.cluster.kill_random(&mut choice).await?;
    world.cluster.running()?.wait_for_leader(None).await.map(drop)
}

#[when("the killed node is restarted")]
async fn restart_killed(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.restart_downed().await
}

#[when("the leader is paused")]
async fn pause_leader(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.pause_leader().await
}

#[when("the paused node is resumed")]
async fn resume_paused(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.resume_paused()
}

#[when("the leader is cut off from the other nodes")]
async fn cut_off_leader(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.cut_off_leader().await
}

#[when("the network heals")]
async fn heal(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.heal()
}
