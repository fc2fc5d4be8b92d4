//! Starting, stopping, crashing and restarting the real server.
//!
//! The steps in `steps/server_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::time::Duration;

use anyhow::{Context, bail, ensure};

use crate::retake::{self, Took};
use crate::steps::parameters::Durability;
use crate::world::LithairWorld;

pub async fn a_running_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.server.start().await
}

pub async fn a_running_server_with(
    world: &mut LithairWorld,
    mode: Durability,
) -> anyhow::Result<()> {
    world.server.durability = Some(mode.0);
    world.server.start().await
}

/// The original scenarios' form. The port is only a label: the server still binds an
/// ephemeral port, so that scenarios can run concurrently. The persistence path is a label
/// too, mapped into the scenario's own directory (an absolute one under `persistence/`), so
/// scenarios never share data.
pub async fn a_server_on_port_with_persistence(
    world: &mut LithairWorld,
    _port_label: u16,
    path: String,
) -> anyhow::Result<()> {
    world.server.use_data_label(&path)?;
    world.server.start().await
}

/// Upstream's durability phrases; the port is a label, as above.
pub async fn a_server_with_fsync(world: &mut LithairWorld, _port_label: u16) -> anyhow::Result<()> {
    world.server.durability = Some("fsync".into());
    world.server.start().await
}

/// "Without fsync" is the `flush` mode: each group is still written to the OS before it is
/// acknowledged, only the `fdatasync` is left out (docs/durability.md). `async` would change
/// more than the sentence says: it acknowledges before writing.
pub async fn a_server_without_fsync(
    world: &mut LithairWorld,
    _port_label: u16,
) -> anyhow::Result<()> {
    world.server.durability = Some("flush".into());
    world.server.start().await
}

/// The server is started without choosing a durability mode, and that default must be the
/// durable one: checked on the running server as soon as it is up.
pub async fn persistence_by_default(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.server.durability = None;
    world.server.start().await?;
    let health = crate::http::expect(world, reqwest::Method::GET, "/health", None, 200).await?;
    ensure!(health["durability"] == "fsync", "the default durability is {}", health["durability"]);
    let server = world.server.take()?;
    ensure!(server.stop().await?.success(), "the server did not stop cleanly");
    Ok(())
}

pub async fn stop_the_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    let status = world.server.take()?.stop().await?;
    ensure!(status.success(), "the server did not exit cleanly after SIGTERM: {status}");
    Ok(())
}

pub async fn kill_the_server(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.server.take()?.kill().await?;
    world.record_crash("crash (SIGKILL)");
    Ok(())
}

pub async fn start_again(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.server.start().await
}

/// A clean stop first, unless the server is already down (killed by an earlier step).
pub async fn restart(world: &mut LithairWorld) -> anyhow::Result<()> {
    if world.server.process.is_some() {
        stop_the_server(world).await?;
    }
    world.server.start().await
}

pub async fn server_is_healthy(world: &mut LithairWorld) -> anyhow::Result<()> {
    let health = crate::http::expect(world, reqwest::Method::GET, "/health", None, 200).await?;
    ensure!(health["status"] == "ok", "health: {health}");
    Ok(())
}

pub async fn refuses_to_start(world: &mut LithairWorld) -> anyhow::Result<()> {
    if world.server.process.is_some() {
        bail!("a server is running; stop it before checking that it refuses to start");
    }
    let (status, log) =
        cucumber_tests::process::start_expecting_refusal(&world.server.spec()).await?;
    ensure!(!status.success(), "the server exited with {status} but should report a failure");
    world.crashes.refusal = Some((status, log));
    Ok(())
}

/// The last start took less than `seconds`; when it did not, the server is restarted and the
/// start timed again (`retake.rs`).
pub async fn started_within(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    let Some(first) = world.server.last_start else { bail!("no server was started") };
    let limit = Duration::from_secs(seconds);
    let retake = async |world: &mut LithairWorld| {
        restart(world).await?;
        world.server.last_start.map(Took).context("the server did not time its start")
    };
    retake::until_within(world, "starting", Took(first), retake, |took| took.0 < limit)
        .await
        .map(drop)
}

/// Every counter of `/health` against the client's own tally of acknowledged writes and the
/// size of the log file on disk, never against another number the server reports.
pub async fn health_counters(world: &mut LithairWorld) -> anyhow::Result<()> {
    let health = crate::http::expect(world, reqwest::Method::GET, "/health", None, 200).await?;
    let expected = &world.expected;
    let log_bytes = std::fs::metadata(world.server.log_path())?.len();
    let tally = [
        ("events", expected.events.len() as u64),
        ("articles", expected.articles.len() as u64),
        ("users", expected.users.len() as u64),
        ("comments", expected.comments.len() as u64),
        ("log_bytes", log_bytes),
    ];
    for (counter, count) in tally {
        ensure!(
            health[counter] == count,
            "/health says {counter} {}, expected {count}: {health}",
            health[counter]
        );
    }
    Ok(())
}

/// Stop, start again on the same data and time the start; then every article the scenario
/// knows must be served exactly as acknowledged, and nothing else.
pub async fn reloadable_within(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    restart(world).await?;
    started_within(world, seconds).await?;
    let served = crate::http::all_articles(world).await?;
    ensure!(
        served == world.expected.articles,
        "after reloading, the server serves {} articles, {} acknowledged; first difference: {:?}",
        served.len(),
        world.expected.articles.len(),
        world.expected.articles.iter().find(|(id, a)| served.get(id) != Some(a)).map(|(id, _)| id)
    );
    Ok(())
}
