//! Votes survive a crash. Raft's safety rests on each node voting at most once per term: a node
//! that forgot, after a restart, whom it voted for could vote for a second candidate in the same
//! term, and two leaders of one term can each commit a different entry at the same index.
//!
//! A black-box run rarely hits that window (the restarted node must be asked again in the very
//! term it voted in, before it hears from the leader), so these steps make it happen: the node
//! is cut off before it is killed, so that no heartbeat reminds it of the leader, and as soon as
//! it is back it is asked, with the cluster's secret, for a vote in that term for another node.

use anyhow::{Context, ensure};
use cucumber::{then, when};
use serde_json::json;

use crate::world::LithairWorld;

/// A follower, killed and restarted while cut off, and what it had promised before.
#[derive(Debug, Default)]
struct Restarted(Option<Promise>);

#[derive(Debug)]
struct Promise {
    node: u64,
    term: u64,
    /// The leader it followed in that term: the vote it holds.
    leader: u64,
    /// The leader's last log index then, so that the rival candidate's log is never behind.
    last_log: u64,
}

#[when("a follower is cut off, killed and restarted")]
async fn restart_cut_off_follower(world: &mut LithairWorld) -> anyhow::Result<()> {
    let cluster = world.cluster.running_mut()?;
    let leader = cluster.wait_for_leader(None).await?;
    let node = cluster.nodes.iter().map(|n| n.id).find(|id| *id != leader).context("a follower")?;
    let status = cluster.status(node).await?;
    let term = status["term"].as_u64().context("the follower's term")?;
    ensure!(status["leader"]["id"] == leader, "node {node} does not follow {leader}: {status}");
    let last_log = cluster.status(leader).await?["last_log"].as_u64().unwrap_or(0);
    cluster.split(&[node])?;
    cluster.kill(node).await?;
    cluster.restart(node).await?;
    println!("    node {node} (term {term}, following node {leader}) restarted, cut off");
    world.part::<Restarted>().0 = Some(Promise { node, term, leader, last_log });
    Ok(())
}

/// Asked for its vote in the term it already voted in, for a candidate other than the one it
/// voted for, with a log at least as long as any: a node that kept its vote refuses. The
/// network is healed after, and the cluster must settle under one leader again.
#[then("asked for a second vote in the same term, the restarted follower refuses")]
async fn refuses_second_vote(world: &mut LithairWorld) -> anyhow::Result<()> {
    let promise = world.part::<Restarted>().0.take().context("no follower was restarted")?;
    let cluster = world.cluster.running()?;
    let rival = cluster
        .nodes
        .iter()
        .map(|n| n.id)
        .find(|id| *id != promise.node && *id != promise.leader)
        .context("a third node to stand as the rival candidate")?;
    let index = promise.last_log + 1_000;
    let request = json!({
        "vote": {"leader_id": {"term": promise.term, "node_id": rival}, "committed": false},
        "last_log_id": {"leader_id": {"term": promise.term, "node_id": promise.leader}, "index": index},
    });
    let answer = cluster.peer_request(promise.node, "/raft/vote", &request).await?;
    println!(
        "    node {} answered the vote for node {rival} in term {}: {answer}",
        promise.node, promise.term
    );
    world.cluster.heal()?;
    // openraft's answer is a `Result`: `{"Ok": VoteResponse}`, or `{"Err": …}` when it could not
    // handle the request, which is no refusal either.
    let granted = &answer["Ok"]["vote_granted"];
    ensure!(granted.is_boolean(), "node {} did not answer the vote: {answer}", promise.node);
    ensure!(
        granted == false,
        "node {} voted for node {rival} in term {}, though it had voted for node {} in that term \
         before its restart: {answer}",
        promise.node,
        promise.term,
        promise.leader
    );
    world.cluster.check_one_leader().await
}
