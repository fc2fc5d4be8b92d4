//! Peers prove they belong: requests to a node's peer listener without the cluster's secret
//! are refused and change nothing. The rogue requests are ones a real node would honour with
//! the secret — a vote for a much higher term, log entries from a leader of that term, a new
//! member — so that a node that skipped the check would visibly change.

use anyhow::{Context, ensure};
use cucumber::{then, when};
use serde_json::{Value, json};

use crate::{cluster_world::RogueAttempts, world::LithairWorld};

/// A term far above any a scenario reaches: granting it would show in every node's status.
const ROGUE_TERM: u64 = 1_000;
const ROGUE_ID: u64 = 99;

#[when(
    "a rogue process sends every node a vote request, log entries and a membership change without the secret"
)]
async fn rogue_requests(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cluster = world.cluster.running()?;
    let mut attempts = RogueAttempts::default();
    for node in &cluster.nodes {
        attempts.before.push((node.id, cluster.status(node.id).await?));
    }
    let http = reqwest::Client::new();
    let leader_id = json!({"term": ROGUE_TERM, "node_id": ROGUE_ID});
    let vote = json!({"vote": {"leader_id": leader_id, "committed": false}, "last_log_id": null});
    let append = json!({
        "vote": {"leader_id": leader_id, "committed": true},
        "prev_log_id": null,
        "entries": [],
        "leader_commit": null,
    });
    let learner = json!({"id": ROGUE_ID, "peer": "127.0.0.1:9", "api": "127.0.0.1:9"});
    let requests: [(&'static str, &str, &Value); 3] = [
        ("vote", "/raft/vote", &vote),
        ("append", "/raft/append", &append),
        ("add learner", "/cluster/learners", &learner),
    ];
    for node in &cluster.nodes {
        for (name, path, body) in requests {
            // Once with no proof at all, once with a wrong secret.
            for secret in [None, Some("not-the-cluster-secret")] {
                let mut request = http.post(format!("http://{}{path}", node.peer)).json(body);
                if let Some(secret) = secret {
                    request = request.bearer_auth(secret);
                }
                let status = request
                    .send()
                    .await
                    .with_context(|| format!("{name} to node {}", node.id))?
                    .status();
                attempts.answers.push((node.id, name, status.as_u16()));
            }
        }
    }
    world.cluster.rogue = Some(attempts);
    Ok(())
}

#[then("every node refused them as unauthorised")]
async fn refused(world: &mut LithairWorld) -> anyhow::Result<()> {
    let attempts = world.cluster.rogue.as_ref().context("no rogue requests were sent")?;
    let accepted: Vec<String> = attempts
        .answers
        .iter()
        .filter(|(_, _, status)| *status != 401)
        .map(|(node, name, status)| format!("node {node} answered the rogue {name} with {status}"))
        .collect();
    ensure!(accepted.is_empty(), "not refused with 401:\n  {}", accepted.join("\n  "));
    let cluster = world.cluster.running()?;
    for node in &cluster.nodes {
        // The refusal is logged with the sender's address (the rogue's port on loopback).
        let log = cucumber_tests::process::read_log(&node.spec.log_file).to_lowercase();
        let logged = log.lines().any(|line| {
            line.contains("secret") && line.contains("refused") && line.contains("127.0.0.1:")
        });
        ensure!(
            logged,
            "node {} refused the rogue requests but did not log it with their sender",
            node.id
        );
    }
    Ok(())
}

#[then("the cluster's term, leader and members did not change")]
async fn unchanged(world: &mut LithairWorld) -> anyhow::Result<()> {
    let attempts = world.cluster.rogue.as_ref().context("no rogue requests were sent")?;
    let cluster = world.cluster.running()?;
    for (id, before) in &attempts.before {
        let now = cluster.status(*id).await?;
        for field in ["term", "leader", "members"] {
            ensure!(
                now[field] == before[field],
                "node {id}'s {field} changed from {} to {} after the rogue requests",
                before[field],
                now[field]
            );
        }
    }
    Ok(())
}
