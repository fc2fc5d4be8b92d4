//! The checks of a cluster scenario, one method each: the Then steps — ours and the phrases of
//! upstream's and the French features — are one-line calls to these, so that every wording of
//! a promise is held to the same check.
//!
//! Some checks probe: a write sent to see who acknowledges it. The probes are recorded in the
//! history like every other operation, so the history checks judge them too.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use cucumber_tests::raftlog::{RaftLog, Record};
use lincheck::{History, Op, PartitionWindow, Verdict};

use crate::{
    cluster_world::ClusterWorld,
    retake::{self, Took},
};

/// How long followers get to learn of a new leader (its first heartbeats).
const FOLLOW_DEADLINE: Duration = Duration::from_secs(5);

/// The most a linearizability search may take before it gives up as inconclusive (a failure).
const CHECK_LIMIT: Duration = Duration::from_secs(60);

impl ClusterWorld {
    /// A checker's verdict: a pass, or a failed step whose error — and the run report — carry
    /// the verdict and the smallest part of the history that proves it. Inconclusive fails.
    fn judge(&self, check: &str, verdict: &Verdict, history: &History) -> anyhow::Result<()> {
        if verdict.is_pass() {
            return Ok(());
        }
        let report = verdict.report(history);
        self.found(check, &report);
        bail!("{check}: {report}")
    }

    /// The history is linearizable: each article a register that may be absent.
    pub async fn check_linearizable(&self) -> anyhow::Result<()> {
        let history = self.history();
        let searched = history.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            lincheck::check_linearizable(&searched, CHECK_LIMIT)
        })
        .await?;
        self.judge("the history is linearizable", &verdict, &history)
    }

    /// No write answered by a cut-off node itself succeeded inside its partition's window.
    pub fn check_no_minority_ack(&self) -> anyhow::Result<()> {
        let history = self.history();
        let cluster = self.running()?;
        let windows: Vec<PartitionWindow> = cluster
            .faults
            .iter()
            .filter(|fault| fault.kind == "isolate" || fault.kind == "split")
            .map(|fault| PartitionWindow {
                start: fault.start.as_nanos() as u64,
                end: fault.end.map_or(u64::MAX, |end| end.as_nanos() as u64),
                minority: fault.nodes.iter().copied().collect(),
            })
            .collect();
        ensure!(!windows.is_empty(), "no partition happened in this scenario");
        let verdict = lincheck::check_no_minority_ack(&history, &windows);
        self.judge("no write was acknowledged on the minority side", &verdict, &history)
    }

    /// Each article's comments, as served and as logged on every node, and as every read saw
    /// them: no acknowledged append lost, duplicated or reordered.
    pub async fn check_comment_lists(&self) -> anyhow::Result<()> {
        let history = self.history();
        let cluster = self.running()?;
        for finals in [cluster.served_states().await?, cluster.logged_states().await?] {
            let verdict = lincheck::check_list_append(&history, &finals);
            self.judge(
                "no acknowledged comment was lost, duplicated or reordered",
                &verdict,
                &history,
            )?;
        }
        Ok(())
    }

    /// Exactly one serving node leads, and every other serving node follows it, in its term.
    pub async fn check_one_leader(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let term = cluster.status(leader).await?["term"].clone();
        let deadline = Instant::now() + FOLLOW_DEADLINE;
        loop {
            let mut wrong = Vec::new();
            for node in cluster.nodes.iter().filter(|node| node.is_serving()) {
                let status = cluster.status(node.id).await?;
                let role = if node.id == leader { "leader" } else { "follower" };
                let agrees = status["leader"]["id"] == leader && status["term"] == term;
                if status["role"] != role || !agrees {
                    wrong.push(format!("node {}: {status}", node.id));
                }
            }
            if wrong.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("node {leader} leads in term {term}, but:\n  {}", wrong.join("\n  "));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every follower answers a write with `307` and `Location` on the leader's API. The
    /// redirect is not followed, so nothing is written.
    pub async fn check_followers_redirect(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let expected = format!("http://{}/api/articles", cluster.node(leader)?.api);
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let article = serde_json::json!({"title": "redirected", "content": "sent to a follower"});
        for node in cluster.nodes.iter().filter(|node| node.id != leader && node.is_serving()) {
            let response = http.post(node.url("/api/articles")).json(&article).send().await?;
            let status = response.status();
            let location = response.headers().get("location").and_then(|l| l.to_str().ok());
            ensure!(
                status == 307 && location == Some(expected.as_str()),
                "node {} (a follower) answered a write with {status} and Location {location:?}, \
                 not 307 to the leader's {expected}",
                node.id
            );
        }
        Ok(())
    }

    /// Every acknowledged write is on every serving node, as it serves its data and as its own
    /// log file replays (the harness's reader), and nothing is there that no client wrote.
    pub async fn check_every_write_everywhere(&self) -> anyhow::Result<()> {
        let history = self.history();
        let cluster = self.running()?;
        let served = cluster.served_states().await?;
        let verdict = lincheck::check_no_lost_writes(&history, &served);
        self.judge("every acknowledged write is on every node, as served", &verdict, &history)?;
        let logged = cluster.logged_states().await?;
        let verdict = lincheck::check_no_lost_writes(&history, &logged);
        self.judge("every acknowledged write is in every node's log", &verdict, &history)
    }

    /// [`Self::check_every_write_everywhere`], with every node of the cluster serving.
    pub async fn check_all_nodes_recovered(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let down: Vec<u64> =
            cluster.nodes.iter().filter(|node| !node.is_serving()).map(|node| node.id).collect();
        ensure!(down.is_empty(), "nodes {down:?} are not serving");
        self.check_every_write_everywhere().await
    }

    /// The leader's membership has `count` voters, and every serving node agrees.
    pub async fn check_voters(&self, count: usize) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let leader = cluster.wait_for_leader(None).await?;
        let expected = cluster.status(leader).await?["members"].clone();
        let voters = expected
            .as_object()
            .context("the leader's status lists no members")?
            .values()
            .filter(|member| member["voter"] == true)
            .count();
        ensure!(voters == count, "the leader counts {voters} voters, not {count}: {expected}");
        for node in cluster.nodes.iter().filter(|node| node.is_serving()) {
            let members = &cluster.status(node.id).await?["members"];
            ensure!(
                *members == expected,
                "node {} sees members {members}, the leader {expected}",
                node.id
            );
        }
        Ok(())
    }

    /// Every record up to the leader's applied index (all committed) is the same on every
    /// node, all but its place in the file.
    pub async fn check_logs_agree(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let committed = cluster.applied_by_leader().await?;
        cluster.served_states().await?; // waits until every node has applied as far
        let mut logs = Vec::new();
        // A spare node that never started has no log to compare.
        for node in cluster.nodes.iter().filter(|node| node.spec.data_dir.exists()) {
            let path = node.spec.data_dir.join("events.raftlog");
            let log = tokio::task::spawn_blocking(move || RaftLog::read(&path)).await??;
            logs.push((node.id, log));
        }
        // Every node holds every entry from its first record (0, or the index after the
        // snapshot it caught up from) to the commit index, and every node that holds an entry
        // holds the same one.
        let mut reference: std::collections::BTreeMap<u64, (u64, Record)> = Default::default();
        for (id, log) in &logs {
            let first = log.records().first().map_or(0, |record| record.seq);
            for seq in first..=committed {
                let record = same_fields(log, seq).with_context(|| {
                    format!("node {id}'s log lacks index {seq} (committed: {committed})")
                })?;
                match reference.get(&seq) {
                    Some((other, held)) => ensure!(
                        *held == record,
                        "at index {seq} (committed: {committed}), node {other} holds {held:?} \
                         and node {id} holds {record:?}"
                    ),
                    None => {
                        reference.insert(seq, (*id, record));
                    }
                }
            }
        }
        Ok(())
    }

    /// Probe writes, through the nodes the last fault spared, until one is acknowledged; it
    /// must be within `limit` of the fault's start. A failover beyond the limit is measured
    /// again (`retake.rs`) by [`Self::fail_over_again`].
    pub async fn check_new_leader_within(&mut self, limit: Duration) -> anyhow::Result<()> {
        let first = self.failover_time(limit).await?;
        let retake = async |world: &mut ClusterWorld| {
            world.fail_over_again().await?;
            world.failover_time(limit).await
        };
        retake::until_within(self, "the failover", first, retake, |took| took.0 <= limit)
            .await
            .map(drop)
    }

    /// From the start of the last fault to the first write acknowledged after it, through the
    /// nodes it spared; given up after three times `limit`.
    async fn failover_time(&self, limit: Duration) -> anyhow::Result<Took> {
        let cluster = self.running()?;
        let fault = cluster.faults.last().context("no fault happened in this scenario")?;
        let targets: Vec<_> = cluster
            .nodes
            .iter()
            .filter(|node| node.is_serving() && !fault.nodes.contains(&node.id))
            .map(|node| node.api)
            .collect();
        ensure!(!targets.is_empty(), "no node is left to write to");
        let gone: Vec<_> = fault
            .nodes
            .iter()
            .filter_map(|id| cluster.node(*id).ok())
            .map(|node| node.api)
            .collect();
        let took = self.probe_until_acknowledged(&targets, &gone, limit * 3).await?;
        Ok(Took(took.saturating_sub(fault.start)))
    }

    /// The last fault, undone and done again to the leader of the moment once the cluster has
    /// settled under one leader: the same failover, to measure again.
    async fn fail_over_again(&mut self) -> anyhow::Result<()> {
        let fault = self.running()?.faults.last().context("no fault happened")?.kind.clone();
        match fault.as_str() {
            "kill" => self.restart_downed().await?,
            "pause" => self.resume_paused()?,
            "isolate" => self.heal()?,
            other => bail!("a failover after a {other} cannot be measured again"),
        }
        self.check_one_leader().await?;
        match fault.as_str() {
            "kill" => self.kill_leader().await,
            "pause" => self.pause_leader().await,
            _ => self.cut_off_leader().await,
        }
    }

    /// The nodes that were not cut off or downed acknowledge a write within `patience`.
    pub async fn check_majority_accepts_writes(&self, patience: Duration) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let targets: Vec<_> = cluster
            .nodes
            .iter()
            .filter(|node| node.is_serving() && !self.cut_off.contains(&node.id))
            .map(|node| node.api)
            .collect();
        ensure!(!targets.is_empty(), "no node is left to write to");
        let gone: Vec<_> = cluster
            .nodes
            .iter()
            .filter(|node| !node.is_serving() || self.cut_off.contains(&node.id))
            .map(|node| node.api)
            .collect();
        self.probe_until_acknowledged(&targets, &gone, patience).await.map(drop)
    }

    /// Create articles through `targets` in turn until one is acknowledged; when it was, on the
    /// scenario's clock. A redirect to a node in `gone` is not followed: a real client would
    /// wait out its timeout there, which measures the client, not the cluster.
    async fn probe_until_acknowledged(
        &self,
        targets: &[SocketAddr],
        gone: &[SocketAddr],
        patience: Duration,
    ) -> anyhow::Result<Duration> {
        let client = self.client()?;
        let deadline = Instant::now() + patience;
        for attempt in 0.. {
            let node = targets[attempt % targets.len()];
            let title = client.unique("probe");
            let fate = client.perform_avoiding(0, node, Op::Create { title }, gone).await;
            if fate.acknowledged() {
                return Ok(self.origin.elapsed());
            }
            if Instant::now() > deadline {
                bail!("no write acknowledged within {patience:?}; last: {fate:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        unreachable!("the loop returns")
    }

    /// A write and a linearizable read sent to each cut-off node itself: it may neither
    /// acknowledge the one nor answer the other. A redirect the client followed to the
    /// majority's leader is not the cut-off node's answer; an answer it gives itself is.
    pub async fn check_cut_off_refuses(&self) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let client = self.client()?;
        ensure!(!self.cut_off.is_empty(), "no node is cut off in this scenario");
        for id in &self.cut_off {
            let node = cluster.node(*id)?.api;
            let fate =
                client.perform(0, node, Op::Create { title: client.unique("minority") }).await;
            ensure!(
                !(fate.acknowledged() && fate.answered_by() == Some(node)),
                "node {id}, cut off, acknowledged a write: {fate:?}"
            );
            let read = client.perform(0, node, Op::Read { article: 0 }).await;
            let answered = read.acknowledged() || read.answered(404).is_some();
            ensure!(
                !(answered && read.answered_by() == Some(node)),
                "node {id}, cut off, answered a linearizable read: {read:?}"
            );
        }
        Ok(())
    }
}

/// What must be the same of the record at `seq` on every node: all but its place in the file.
fn same_fields(log: &RaftLog, seq: u64) -> Option<Record> {
    let record = log.records().iter().find(|record| record.seq == seq)?;
    Some(Record { offset: 0, len: 0, ..record.clone() })
}
