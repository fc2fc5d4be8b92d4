//! Snapshots: taken as configured, valid by the document, and never a reason for a restored
//! server to answer differently from a full replay of the log.
//!
//! The work is in `snapshots.rs`, which every wording of these steps calls.

use cucumber::{given, then, when};

use crate::{snapshots, world::LithairWorld};

#[given(expr = "a running Lithair server taking a snapshot every {int} events")]
async fn server_with_snapshots(world: &mut LithairWorld, every: u64) -> anyhow::Result<()> {
    snapshots::server_with_snapshots(world, every).await
}

#[given(expr = "a running Lithair server taking a snapshot every {int} events and keeping {int}")]
async fn server_with_snapshots_kept(
    world: &mut LithairWorld,
    every: u64,
    keep: usize,
) -> anyhow::Result<()> {
    snapshots::server_with_snapshots_kept(world, every, keep).await
}

#[given(expr = "the snapshot configuration is enabled every {int} events")]
async fn enable_snapshots(world: &mut LithairWorld, every: u64) -> anyhow::Result<()> {
    snapshots::enable_snapshots(world, every).await
}

#[then(expr = "there are at least {int} snapshots")]
async fn at_least_snapshots(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    snapshots::at_least_snapshots(world, count).await
}

#[then("every snapshot is valid")]
async fn every_snapshot_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::every_snapshot_valid(world).await
}

#[then(expr = "writes paused less than {int} ms for each snapshot")]
async fn snapshot_pauses(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    snapshots::snapshot_pauses(world, ms).await
}

#[then(expr = "no write waited more than {int} ms while the snapshots were taken")]
async fn client_side_pauses(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    snapshots::client_side_pauses(world, ms).await
}

#[then(expr = "exactly the newest {int} snapshots remain")]
async fn newest_remain(world: &mut LithairWorld, keep: usize) -> anyhow::Result<()> {
    snapshots::newest_remain(world, keep).await
}

#[then("restoring from each snapshot alone gives the same articles as a full replay")]
async fn restore_each_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::restore_each_snapshot(world).await
}

#[when("I restart the server with and without its snapshots")]
async fn restart_with_and_without(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::restart_with_and_without(world).await
}

#[then("the restart with snapshots was faster than the one without")]
async fn snapshots_are_faster(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::snapshots_are_faster(world).await
}

#[then("I can restore from any snapshot")]
async fn can_restore_any(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::can_restore_any(world).await
}

#[then("the data after snapshot must be identical")]
async fn identical_after_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    snapshots::identical_after_snapshot(world).await
}

#[then(expr = "at least {int} snapshots must be created")]
async fn snapshots_created(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    snapshots::snapshots_created(world, count).await
}
