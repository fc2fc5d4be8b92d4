//! A node joining a cluster that holds `--join-events` events: how long from the leader being
//! asked to add it (`POST /cluster/learners`) until it serves local reads of all of them.
//!
//! The cluster is made the cheapest honest way, as a user with a big single server would make
//! it: the harness writes a v1 log of that many `ArticleCreated` records with its own encoder
//! ([`restart::write_log`]), `lithair-server migrate` converts it (docs/cluster.md,
//! "Migrating"), and node 1 starts on it, a one-node cluster that has committed every event.
//! Before the join, node 1 settles as a cluster that has been running would be: it has written
//! its first snapshot (`raft-snapshot.json`, docs/raftlog.md), which openraft starts building as
//! soon as a log longer than `--snapshot-every` is applied; that time is reported beside.
//! Node 2 starts empty, then is added as a learner (it stays one: a learner serves local reads,
//! and making it a voter is a second, quick step that adds no data). It is caught up when its
//! `?consistency=local` listing counts every article, the last article answers `200`, and its
//! `/health` has applied at least what node 1 had before the join.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use cucumber_tests::{binary, cluster::Cluster};
use serde_json::{Value, json};

use crate::{cluster, figures::Figures, restart};

/// Beyond this the join failed rather than was slow.
const JOIN_DEADLINE: Duration = Duration::from_secs(300);

pub async fn measure(
    work: &std::path::Path,
    events: u64,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let mut cluster = cluster::prepare(work, "join", 2).await?;
    let result = join(&mut cluster, events, figures).await;
    cluster.stop().await;
    result
}

async fn join(cluster: &mut Cluster, events: u64, figures: &mut Figures) -> anyhow::Result<()> {
    let first = cluster.node(1)?;
    std::fs::create_dir_all(&first.spec.data_dir)?;
    let bytes = restart::write_log(&first.spec.data_dir.join("events.raftlog"), events)?;
    let migrate = Command::new(binary::server_binary()?)
        .arg("migrate")
        .arg("--data-dir")
        .arg(&first.spec.data_dir)
        .args(["--node-id", "1", "--peer-advertise", &first.peer.to_string()])
        .args(["--api-advertise", &first.api.to_string()])
        .output()?;
    ensure!(
        migrate.status.success(),
        "lithair-server migrate failed ({}): {}",
        migrate.status,
        String::from_utf8_lossy(&migrate.stderr)
    );
    let spawned = Instant::now();
    cluster.node_mut(1)?.start().await?;
    ensure!(cluster.wait_for_leader(None).await? == 1, "node 1 does not lead its own cluster");
    let applied = cluster.status(1).await?["applied"].as_u64().context("no applied index")?;
    let snapshot = cluster.node(1)?.spec.data_dir.join("raft-snapshot.json");
    while !snapshot.exists() {
        ensure!(spawned.elapsed() < JOIN_DEADLINE, "node 1 wrote no snapshot in {JOIN_DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first_snapshot = spawned.elapsed().as_secs_f64();
    println!(
        "  join: node 1 leads {events} events, its first snapshot written {first_snapshot:.3} s after spawn"
    );
    figures.set("join.first_snapshot_seconds", first_snapshot);
    cluster.node_mut(2)?.start().await?;

    let second = cluster.node(2)?;
    let joining = json!({"id": 2, "peer": second.peer.to_string(), "api": second.api.to_string()});
    let admin = reqwest::Client::builder().timeout(JOIN_DEADLINE).build()?;
    let learners = admin
        .post(format!("http://{}/cluster/learners", cluster.node(1)?.peer))
        .bearer_auth(cluster.secret())
        .json(&joining)
        .send();
    let started = Instant::now();
    let learners = tokio::spawn(async move {
        let response = learners.await?;
        let status = response.status();
        let answered = started.elapsed();
        anyhow::Ok((status, answered, response.text().await?))
    });

    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let base = second.url("");
    while !serves_all(&http, &base, events, applied).await {
        if started.elapsed() > JOIN_DEADLINE {
            bail!("node 2 did not serve {events} events within {JOIN_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    // The node serves everything: that is the figure. The leader's answer is reported beside
    // it (a `503 outcome_unknown` means the change outlasted the server's 10 s deadline, and
    // openraft may still complete it).
    let (status, answered, body) = learners.await??;
    println!(
        "  join: node 2 serves all {events} events ({:.0} MiB of log) {took:.3} s after POST /cluster/learners, which answered {status} after {:.3} s",
        bytes as f64 / (1 << 20) as f64,
        answered.as_secs_f64()
    );
    if !status.is_success() {
        println!("    POST /cluster/learners: {body}");
    }
    figures.set("join.seconds", took);
    figures.set("join.learners_answer_seconds", answered.as_secs_f64());
    figures.detail(
        "join",
        json!({"events": events, "log_bytes": bytes, "applied_before": applied,
               "learners_answer": {"status": status.as_u16(), "body": body}}),
    );
    Ok(())
}

/// Whether the node at `base` serves every article from its own state.
async fn serves_all(http: &reqwest::Client, base: &str, events: u64, applied: u64) -> bool {
    let get = |path: String| async move {
        let response = http.get(format!("{base}{path}")).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<Value>().await.ok()
    };
    let Some(listing) = get("/api/articles?limit=1&consistency=local".into()).await else {
        return false;
    };
    if listing["total"].as_u64() != Some(events) {
        return false;
    }
    let last = format!("/api/articles/{}?consistency=local", events - 1);
    let (Some(_), Some(health)) = (get(last).await, get("/health".into()).await) else {
        return false;
    };
    health["cluster"]["applied"].as_u64().is_some_and(|index| index >= applied)
}
