//! Starting, stopping, crashing and restarting the real server.
//!
//! The work is in `server_control.rs`, which every wording of these steps calls.

use cucumber::{given, then, when};

use super::parameters::Durability;
use crate::{server_control, world::LithairWorld};

#[given("a running Lithair server")]
async fn a_running_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::a_running_server(world).await
}

#[given(expr = "a running Lithair server with {durability} durability")]
async fn a_running_server_with(world: &mut LithairWorld, mode: Durability) -> anyhow::Result<()> {
    server_control::a_running_server_with(world, mode).await
}

#[given(expr = "a Lithair server on port {int} with fsync enabled")]
async fn a_server_with_fsync(world: &mut LithairWorld, _port_label: u16) -> anyhow::Result<()> {
    server_control::a_server_with_fsync(world, _port_label).await
}

#[given(expr = "a Lithair server on port {int} without fsync")]
async fn a_server_without_fsync(world: &mut LithairWorld, _port_label: u16) -> anyhow::Result<()> {
    server_control::a_server_without_fsync(world, _port_label).await
}

#[when("I stop the server")]
async fn stop_the_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::stop_the_server(world).await
}

#[when("the server crashes")]
async fn kill_the_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::kill_the_server(world).await
}

#[when("I start the server again")]
async fn start_again(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::start_again(world).await
}

#[when("I restart the server")]
async fn restart(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::restart(world).await
}

#[then("the server is still healthy")]
async fn server_is_healthy(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::server_is_healthy(world).await
}

#[then("the server refuses to start")]
async fn refuses_to_start(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::refuses_to_start(world).await
}

#[then(expr = "the server started in less than {int} seconds")]
async fn started_within(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    server_control::started_within(world, seconds).await
}

#[then("the health counters match what was written")]
async fn health_counters(world: &mut LithairWorld) -> anyhow::Result<()> {
    server_control::health_counters(world).await
}

#[then(expr = "the database must be reloadable in less than {int} seconds")]
async fn reloadable_within(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    server_control::reloadable_within(world, seconds).await
}
