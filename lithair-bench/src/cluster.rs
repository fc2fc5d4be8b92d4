//! The 3-node Lithair cluster the cluster figures are measured on, and its write throughput.
//!
//! It is the harness's [`Cluster`] (real `lithair-server` processes, the release binary of
//! `LITHAIR_SERVER_BIN`), with [`Links::Direct`]: the peers connect to each other's listeners
//! as in production. The harness's fault-injection proxies would add a copy of every append RPC
//! to each round trip, and their own CPU to the 2 cores, which is the harness's business, not
//! the server's. Every node runs `--durability fsync`: an acknowledged write is synced on a
//! majority.
//!
//! Throughput: wrk with the single server's POST script ([`Request::CreateArticle`]) at the
//! run's concurrency, against the leader's API (a follower would answer `307`, which wrk counts
//! as an error).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cucumber_tests::cluster::{Cluster, Links};

use crate::{figures::Figures, lithair::Request, options::Options, wrk::Wrk};

/// Voters in the measured cluster.
pub const NODES: usize = 3;

/// How long a restarted node may take to be back and caught up.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(60);

/// `size` nodes under `work/label`, linked directly, each `--durability fsync`; none started
/// yet.
pub async fn prepare(work: &Path, label: &str, size: usize) -> anyhow::Result<Cluster> {
    let dir = work.join(label);
    std::fs::create_dir_all(&dir)?;
    let mut cluster = Cluster::prepare_links(&dir, size, Instant::now(), Links::Direct).await?;
    for node in &mut cluster.nodes {
        node.spec.args.extend(["--durability", "fsync", "--log-level", "warn"].map(String::from));
    }
    Ok(cluster)
}

/// A started [`NODES`]-node cluster with a leader.
pub async fn start(work: &Path) -> anyhow::Result<Cluster> {
    let mut cluster = prepare(work, "cluster", NODES).await?;
    cluster.launch().await?;
    Ok(cluster)
}

/// The leader's API URL for `path`.
pub async fn leader_url(cluster: &Cluster, path: &str) -> anyhow::Result<String> {
    let leader = cluster.wait_for_leader(None).await?;
    Ok(cluster.node(leader)?.url(path))
}

/// wrk's POSTs against the leader: `cluster.post.rps`, `.p99_ms`…
pub async fn measure_throughput(
    cluster: &Cluster,
    options: &Options,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let url = leader_url(cluster, "/api/articles").await?;
    let wrk = Wrk::new(options.connections, options.seconds);
    let script = Request::CreateArticle.script();
    let result = tokio::task::spawn_blocking(move || wrk.run(&url, script.as_deref())).await??;
    println!("  cluster of {NODES} post (wrk -c{}): {}", wrk.connections, result.summary());
    result.record(figures, "cluster.post");
    Ok(())
}

/// Wait until the cluster has a leader and every node runs and has applied at least what the
/// leader had applied: all of them up and caught up.
pub async fn wait_caught_up(cluster: &Cluster) -> anyhow::Result<()> {
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    loop {
        if caught_up(cluster).await.unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the cluster did not catch up within {CATCH_UP_DEADLINE:?}{}", {
                cluster.describe().await
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn caught_up(cluster: &Cluster) -> anyhow::Result<bool> {
    let Some(leader) = cluster.current_leader().await else { return Ok(false) };
    let applied = |status: serde_json::Value| status["applied"].as_u64().context("no applied");
    let target = applied(cluster.status(leader).await?)?;
    for node in &cluster.nodes {
        if !node.is_serving() || applied(cluster.status(node.id).await?)? < target {
            return Ok(false);
        }
    }
    Ok(true)
}
