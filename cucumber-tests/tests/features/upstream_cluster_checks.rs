//! The checks upstream's `distribution_clustering.feature` asks for that our own phrases do not
//! (`steps/upstream_distribution_steps.rs` calls them); docs/steps.md gives each one's reading.
//! Kept apart from `cluster_checks.rs`, whose checks are our own features' vocabulary.

use anyhow::{Context, bail, ensure};
use cucumber::gherkin::Step;
use lincheck::Op;

use crate::cluster_world::ClusterWorld;

/// Where a promise of upstream's `distribution_clustering.feature` cannot be kept, the step
/// fails with why, never passes unchecked.
pub fn unmet(reason: &str) -> anyhow::Result<()> {
    bail!("{reason} (docs/steps.md, \"Upstream cluster scenarios not run\")")
}

/// The checks upstream's `distribution_clustering.feature` asks for that our own phrases do
/// not (`upstream_distribution_steps.rs`); docs/steps.md gives each one's reading.
impl ClusterWorld {
    /// [`Self::check_one_leader`], and exactly `count` serving nodes follow the leader.
    pub async fn check_followers(&self, count: usize) -> anyhow::Result<()> {
        self.check_one_leader().await?;
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let followers = cluster.nodes.iter().filter(|n| n.is_serving() && n.id != leader).count();
        ensure!(followers == count, "{followers} nodes follow node {leader}, not {count}");
        Ok(())
    }

    /// After the leader's death, the nodes left agree on a leader that is not the dead one:
    /// Raft has one leader per term, so a new leader is a new term, won by an election.
    pub async fn check_new_leader_elected(&self) -> anyhow::Result<()> {
        let old = self.downed.context("no leader was killed in this scenario")?;
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(Some(old)).await?;
        ensure!(!cluster.node(old)?.is_serving(), "node {old}, the old leader, still serves");
        self.check_one_leader().await?;
        println!("    node {leader} leads in place of node {old}");
        Ok(())
    }

    /// After a fault took a node down: it comes back from its data directory, then every
    /// acknowledged write is on every node, all serving ([`Self::check_all_nodes_recovered`]).
    /// The node that was down cannot hold what was written without it until it returns.
    pub async fn check_no_data_lost(&mut self) -> anyhow::Result<()> {
        if self.downed.is_some() {
            self.restart_downed().await?;
        }
        self.check_all_nodes_recovered().await
    }

    /// A leader cut off from every follower cannot confirm a write alone: it neither
    /// acknowledges one nor answers a linearizable read ([`Self::check_cut_off_refuses`]);
    /// then the network heals.
    pub async fn check_leader_waits_for_quorum(&mut self) -> anyhow::Result<()> {
        self.cut_off_leader().await?;
        let refused = self.check_cut_off_refuses().await;
        self.heal()?;
        self.cut_off.clear();
        refused
    }

    /// At least `count` creates were acknowledged, and every acknowledged write is on every
    /// node ([`Self::check_every_write_everywhere`]).
    pub async fn check_replicated(&self, count: usize) -> anyhow::Result<()> {
        let history = self.history();
        let acknowledged = history
            .entries()
            .iter()
            .filter(|entry| matches!(entry.op, Op::Create { .. }))
            .filter(|entry| matches!(entry.outcome, lincheck::Outcome::Ok))
            .count();
        ensure!(
            acknowledged >= count,
            "only {acknowledged} creates were acknowledged, not {count}"
        );
        self.check_every_write_everywhere().await
    }

    /// Every serving node serves the same articles and comments, once each applied what the
    /// leader committed.
    pub async fn check_same_final_state(&self) -> anyhow::Result<()> {
        let states = self.running()?.served_states().await?;
        let (first, others) = states.split_first().context("no node serves")?;
        for state in others {
            let ids = first.articles.keys().chain(state.articles.keys());
            let differ: std::collections::BTreeSet<_> = ids
                .chain(first.comments.keys().chain(state.comments.keys()))
                .filter(|id| {
                    first.articles.get(id) != state.articles.get(id)
                        || first.comments.get(id) != state.comments.get(id)
                })
                .collect();
            let Some(id) = differ.first() else { continue };
            bail!(
                "nodes {} and {} serve different articles {differ:?}; article {id}: node {} \
                 serves {:?} with comments {:?}, node {} serves {:?} with comments {:?}",
                first.node,
                state.node,
                first.node,
                first.articles.get(id),
                first.comments.get(id),
                state.node,
                state.articles.get(id),
                state.comments.get(id)
            );
        }
        Ok(())
    }

    /// The node that reconnected last follows the leader, like every other serving node.
    pub async fn check_rejoined_follows(&self) -> anyhow::Result<()> {
        let id = self.rejoined.context("no node reconnected in this scenario")?;
        self.check_one_leader().await?;
        let status = self.running()?.status(id).await?;
        ensure!(
            status["role"] == "follower",
            "node {id}, reconnected, is not a follower: {status}"
        );
        Ok(())
    }

    /// Every node of the cluster, the one that joined too, is a voter.
    pub async fn check_all_voters(&self) -> anyhow::Result<()> {
        self.check_voters(self.running()?.nodes.len()).await
    }

    /// Every node answered the last GET of `/cluster/status` with each field of the step's
    /// `field` column, named as upstream names them and read as Lithair serves them
    /// (docs/steps.md): `node_id` its own id, `is_leader` its `role`, `leader_port` the
    /// leader's API address, `peers` its `members`, every node of the cluster.
    pub async fn check_status_fields(&self, step: &Step) -> anyhow::Result<()> {
        let table = step.table.as_ref().context("the step needs a table with a field column")?;
        let (header, rows) = table.rows.split_first().context("the table is empty")?;
        let column = header.iter().position(|name| name == "field").context("no field column")?;
        let fields: Vec<&String> = rows.iter().filter_map(|row| row.get(column)).collect();
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let leader_api = cluster.node(leader)?.api.to_string();
        ensure!(!self.fetched.is_empty(), "no node was asked for its status");
        for (id, code, status) in &self.fetched {
            ensure!(*code == 200, "node {id} answered {code}: {status}");
            for field in &fields {
                let kept = match field.as_str() {
                    "node_id" => status["node_id"] == *id,
                    "is_leader" => {
                        status["role"] == if *id == leader { "leader" } else { "follower" }
                    }
                    "leader_port" => status["leader"]["api"] == leader_api.as_str(),
                    "peers" => status["members"].as_object().is_some_and(|members| {
                        members.len() == cluster.nodes.len()
                            && members.contains_key(&id.to_string())
                    }),
                    other => bail!("no reading of a status field {other:?} is written"),
                };
                ensure!(kept, "node {id}'s status does not say {field} right: {status}");
            }
        }
        Ok(())
    }

    /// Every node answered the last GET of `/cluster/leader` with the leader's id and API
    /// address.
    pub async fn check_leader_answers(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let expected =
            serde_json::json!({"id": leader, "api": cluster.node(leader)?.api.to_string()});
        ensure!(!self.fetched.is_empty(), "no node was asked for the leader");
        for (id, code, answer) in &self.fetched {
            ensure!(
                *code == 200 && *answer == expected,
                "node {id} answered {code} {answer}, not the leader {expected}"
            );
        }
        Ok(())
    }

    /// Every node gave the same answer to the last GET.
    pub fn check_answers_agree(&self) -> anyhow::Result<()> {
        let (first, others) = self.fetched.split_first().context("no node was asked")?;
        for other in others {
            ensure!(
                (other.1, &other.2) == (first.1, &first.2),
                "node {} answered {} {}, node {} answered {} {}",
                first.0,
                first.1,
                first.2,
                other.0,
                other.1,
                other.2
            );
        }
        Ok(())
    }
}
