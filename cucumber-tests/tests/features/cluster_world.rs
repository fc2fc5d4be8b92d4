//! The part of a scenario's world that a cluster scenario uses: the cluster, its clients, and
//! the history of every operation they made.
//!
//! The truth a cluster scenario checks against is the history: what each client asked, with
//! the ids the servers assigned, and what it was told (ok, failed, or unknown). Never what the
//! nodes say they hold. The history is written to the scenario's directory (`history.jsonl`)
//! when the scenario fails, beside each node's data and server log.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use cucumber_tests::{
    cluster::{Cluster, ClusterClient, Fault, RoleSampler},
    process,
    seed::Stream,
};
use lincheck::{History, Op, Outcome, Recorder};
use lithair_report::{ClusterOp, ClusterRun, FaultWindow, Finding, NodeRoles};
use powercut::{CutOptions, PowerCut};
use serde_json::Value;

/// How long a client waits for an answer before it counts the operation as unknown: above
/// the server's own 5 s for learning a proposal's fate, so that the server says it first.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(8);

/// Lines of each node's server log a failed scenario shows.
const NODE_LOG_LINES: usize = 15;

#[derive(Debug)]
pub struct ClusterWorld {
    pub cluster: Option<Cluster>,
    /// The scenario's clients' way in; set with the cluster.
    pub client: Option<ClusterClient>,
    /// The scenario's monotonic clock: the history and the faults are timed from here.
    pub origin: Instant,
    pub history: Recorder,
    /// The node cut off by the last partition, and the one killed or paused last, for the
    /// steps that name them.
    pub cut_off: Vec<u64>,
    pub downed: Option<u64>,
    /// What a rogue process without the secret sent, and what it was answered.
    pub rogue: Option<RogueAttempts>,
    /// The node that was cut off and reconnected last, for the checks of its return.
    pub rejoined: Option<u64>,
    /// What each node answered the last GET sent to every node: (node, status, body).
    pub fetched: Vec<(u64, u16, Value)>,
    /// Each node's role over the scenario, for the run report.
    roles: Option<RoleSampler>,
    /// The history checks that failed, with what proves it, for the run report.
    findings: Mutex<Vec<Finding>>,
    /// Each node's disk that can lose power (the `powercut` interposer), when the scenario
    /// asked for them.
    power: BTreeMap<u64, PowerCut>,
}

/// What the rogue sent, and what each node answered: (node, request, status).
#[derive(Debug, Default)]
pub struct RogueAttempts {
    pub before: Vec<(u64, Value)>,
    pub answers: Vec<(u64, &'static str, u16)>,
}

impl ClusterWorld {
    pub fn new() -> ClusterWorld {
        let origin = Instant::now();
        ClusterWorld {
            cluster: None,
            client: None,
            origin,
            history: Recorder::with_origin(origin),
            cut_off: Vec::new(),
            downed: None,
            rogue: None,
            rejoined: None,
            fetched: Vec::new(),
            roles: None,
            findings: Mutex::default(),
            power: BTreeMap::new(),
        }
    }

    pub fn running(&self) -> anyhow::Result<&Cluster> {
        self.cluster.as_ref().context("no cluster is running in this scenario")
    }

    pub fn client(&self) -> anyhow::Result<&ClusterClient> {
        self.client.as_ref().context("no cluster is running in this scenario")
    }

    /// Start a cluster of `size` nodes under `dir`, and the clients' way into it.
    pub async fn start(&mut self, dir: &Path, size: usize) -> anyhow::Result<()> {
        self.start_on(dir, size, false).await
    }

    /// A cluster of `size` nodes, and one more node, prepared but down and outside the
    /// membership until [`Self::join_spare`]; every node snapshots every `snapshot_every`
    /// entries, so that a node far behind catches up by snapshot.
    pub async fn start_with_spare(
        &mut self,
        dir: &Path,
        size: usize,
        snapshot_every: u64,
    ) -> anyhow::Result<()> {
        ensure!(self.cluster.is_none(), "this scenario already has a cluster");
        std::fs::create_dir_all(dir)?;
        let mut cluster = Cluster::prepare(dir, size + 1, self.origin).await?;
        for node in &mut cluster.nodes {
            node.spec.args.extend(["--snapshot-every".to_string(), snapshot_every.to_string()]);
        }
        cluster.launch_members(size).await?;
        self.adopt(cluster)
    }

    /// The spare node joins: started, caught up as a learner, made a voter.
    pub async fn join_spare(&mut self) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let spare = cluster.nodes.last().context("no node")?.id;
        cluster.join(spare).await
    }

    /// [`Self::start`], each node on a disk that can lose power: the `powercut` interposer
    /// journals what each node's disk would hold (docs/powercut.md).
    pub async fn start_on_powercut_disks(&mut self, dir: &Path, size: usize) -> anyhow::Result<()> {
        self.start_on(dir, size, true).await
    }

    async fn start_on(&mut self, dir: &Path, size: usize, powercut: bool) -> anyhow::Result<()> {
        ensure!(self.cluster.is_none(), "this scenario already has a cluster");
        std::fs::create_dir_all(dir)?;
        let mut cluster = Cluster::prepare(dir, size, self.origin).await?;
        if powercut {
            for node in &mut cluster.nodes {
                let (data, journal) =
                    (node.spec.data_dir.clone(), node.home().join("powercut.journal"));
                let cut = tokio::task::spawn_blocking(move || PowerCut::new(&data, &journal))
                    .await?
                    .map_err(|err| anyhow::anyhow!("cannot load the powercut interposer: {err}"))?;
                node.spec.env = cut.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                self.power.insert(node.id, cut);
            }
        }
        cluster.launch().await?;
        self.adopt(cluster)
    }

    /// Take a launched cluster: the role sampler and the clients' way in.
    fn adopt(&mut self, cluster: Cluster) -> anyhow::Result<()> {
        let nodes: Vec<_> = cluster.nodes.iter().map(|node| (node.id, node.api)).collect();
        self.roles = Some(RoleSampler::start(nodes.clone(), self.origin)?);
        self.client = Some(ClusterClient::new(CLIENT_TIMEOUT, self.history.clone(), nodes)?);
        self.cluster = Some(cluster);
        Ok(())
    }

    pub fn running_mut(&mut self) -> anyhow::Result<&mut Cluster> {
        self.cluster.as_mut().context("no cluster is running in this scenario")
    }

    /// The history so far.
    pub fn history(&self) -> History {
        self.history.history()
    }

    /// `count` articles created one after the other through node `id`, each acknowledged.
    pub async fn create_through(&self, id: u64, count: usize) -> anyhow::Result<()> {
        let node = self.running()?.node(id)?.api;
        let client = self.client()?;
        for _ in 0..count {
            let fate =
                client.perform(0, node, Op::Create { title: client.unique("article") }).await;
            ensure!(
                fate.acknowledged(),
                "a create through node {id} was not acknowledged: {fate:?}"
            );
        }
        Ok(())
    }

    /// `count` articles created through the first node that is serving and not cut off, each
    /// acknowledged.
    pub async fn create_through_any(&self, count: usize) -> anyhow::Result<()> {
        let cluster = self.running()?;
        let node = cluster
            .nodes
            .iter()
            .find(|node| node.is_serving() && !self.cut_off.contains(&node.id))
            .context("no node is up")?;
        self.create_through(node.id, count).await
    }

    /// `count` articles created through the current leader, each acknowledged.
    pub async fn create_through_leader(&self, count: usize) -> anyhow::Result<()> {
        let leader = self.running()?.wait_for_leader(None).await?;
        self.create_through(leader, count).await
    }

    /// Kill every node, then start them all again from their data directories.
    pub async fn restart_all(&mut self) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let ids: Vec<u64> = cluster.nodes.iter().map(|node| node.id).collect();
        for id in &ids {
            cluster.kill(*id).await?;
        }
        for id in &ids {
            cluster.restart(*id).await?;
        }
        cluster.wait_for_leader(None).await.map(drop)
    }

    pub async fn kill_leader(&mut self) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let leader = cluster.wait_for_leader(None).await?;
        cluster.kill(leader).await?;
        self.downed = Some(leader);
        Ok(())
    }

    pub async fn pause_leader(&mut self) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let leader = cluster.wait_for_leader(None).await?;
        cluster.pause(leader)?;
        self.downed = Some(leader);
        Ok(())
    }

    /// Restart the node the last kill took down.
    pub async fn restart_downed(&mut self) -> anyhow::Result<()> {
        let id = self.downed.take().context("no node was killed in this scenario")?;
        self.running_mut()?.restart(id).await
    }

    pub fn resume_paused(&mut self) -> anyhow::Result<()> {
        let id = self.downed.take().context("no node was paused in this scenario")?;
        self.running_mut()?.resume(id)
    }

    /// Cut every link between the leader and the other nodes, both ways.
    pub async fn cut_off_leader(&mut self) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let leader = cluster.wait_for_leader(None).await?;
        cluster.split(&[leader])?;
        self.cut_off = vec![leader];
        Ok(())
    }

    pub fn heal(&mut self) -> anyhow::Result<()> {
        self.running_mut()?.heal();
        Ok(())
    }

    /// Cut the power of every node in `ids` at once: all are SIGKILLed, then each one's data
    /// directory becomes what its disk had synced (with a torn last page when `torn` holds a
    /// seed), as when they share a power line. Restart them with [`Cluster::restart`].
    pub async fn cut_power_of(&mut self, ids: &[u64], torn: Option<u64>) -> anyhow::Result<()> {
        let mut disks = Vec::with_capacity(ids.len());
        for id in ids {
            let cut = self.power.get(id).context(
                "the nodes' disks cannot lose power; start the cluster with a step that says so",
            )?;
            disks.push((*id, cut.journal.clone(), cut.dir.clone()));
        }
        for id in ids {
            self.running_mut()?.kill_as(*id, "power cut").await?;
        }
        for (id, journal, data_dir) in disks {
            let report = tokio::task::spawn_blocking(move || {
                powercut::cut_power(&journal, &data_dir, CutOptions { torn })
            })
            .await?
            .context("cannot cut the power")?;
            println!("    node {id} lost power: {} unsynced bytes lost", report.lost_bytes());
        }
        Ok(())
    }

    /// SIGKILL a node the seed chooses among the serving ones, leader or not; restart it with
    /// [`Self::restart_downed`]. Says which, so that the run can be read and replayed.
    pub async fn kill_random(&mut self, choice: &mut Stream) -> anyhow::Result<u64> {
        let cluster = self.running_mut()?;
        let leader = cluster.wait_for_leader(None).await?;
        let up: Vec<u64> =
            cluster.nodes.iter().filter(|node| node.is_serving()).map(|node| node.id).collect();
        let id = *choice.pick(&up).context("no node is up")?;
        let role = if id == leader { "the leader" } else { "a follower" };
        println!("    node {id} ({role}) chosen among {up:?} and killed");
        cluster.kill(id).await?;
        self.downed = Some(id);
        Ok(id)
    }

    /// A history check failed: keep what proves it for the run report.
    pub fn found(&self, check: &str, report: &str) {
        let finding = Finding { check: check.to_string(), report: report.to_string() };
        self.findings.lock().unwrap_or_else(|p| p.into_inner()).push(finding);
    }

    /// Stop the cluster. Returns what the run report shows of it and, on failure, the end of
    /// each node's server log; the history is then kept beside the nodes' files.
    pub async fn finish(
        &mut self,
        passed: bool,
        dir: &Path,
    ) -> Option<(ClusterRun, Option<String>)> {
        let mut cluster = self.cluster.take()?;
        let roles = self.roles.take().map(RoleSampler::stop).unwrap_or_default();
        cluster.stop().await;
        let history = self.history();
        let run = ClusterRun {
            ops: history.entries().iter().map(report_op).collect(),
            faults: cluster.faults.iter().map(report_fault).collect(),
            roles: roles.into_iter().map(|(node, samples)| NodeRoles { node, samples }).collect(),
            findings: std::mem::take(&mut *self.findings.lock().unwrap_or_else(|p| p.into_inner())),
        };
        if passed {
            return Some((run, None));
        }
        let path = dir.join("history.jsonl");
        if let Err(err) = history.write_jsonl(&path) {
            eprintln!("harness: cannot keep the history in {}: {err:#}", path.display());
        }
        let tails = cluster.nodes.iter().map(|node| {
            let tail = process::log_tail(&node.spec.log_file, NODE_LOG_LINES);
            format!(
                "--- node {}: last {NODE_LOG_LINES} lines of {} ---\n{tail}",
                node.id,
                node.spec.log_file.display()
            )
        });
        Some((run, Some(tails.collect::<Vec<_>>().join("\n"))))
    }
}

fn millis(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn report_op(entry: &lincheck::Entry) -> ClusterOp {
    let outcome = match entry.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Unknown => "unknown",
    };
    // The op's kind, as history.jsonl names it.
    let kind =
        serde_json::to_value(&entry.op).ok().and_then(|op| op["op"].as_str().map(str::to_string));
    ClusterOp {
        kind: kind.unwrap_or_default(),
        outcome: outcome.to_string(),
        invoke_ms: millis(entry.invoke),
        complete_ms: entry.complete.map(millis),
        node: entry.node,
    }
}

fn report_fault(fault: &Fault) -> FaultWindow {
    FaultWindow {
        kind: fault.kind.clone(),
        nodes: fault.nodes.clone(),
        start_ms: fault.start.as_secs_f64() * 1000.0,
        end_ms: fault.end.map(|end| end.as_secs_f64() * 1000.0),
    }
}

/// The actions upstream's `distribution_clustering.feature` asks for that our own phrases do
/// not (`upstream_distribution_steps.rs`); docs/steps.md gives each one's reading.
impl ClusterWorld {
    /// "A 3-node cluster starts": a cluster of `size` nodes started under `dir`; when one runs
    /// already (a Background started it), every node of it is killed and started again from
    /// its data, so that the leader the next steps see was elected without help.
    pub async fn start_or_restart(&mut self, dir: &Path, size: usize) -> anyhow::Result<()> {
        if self.cluster.is_none() {
            return self.start(dir, size).await;
        }
        self.ensure_size(size)?;
        self.restart_all().await
    }

    /// "A running 3-node cluster": the scenario's cluster, which must have `size` nodes, all
    /// serving; started under `dir` when there is none yet.
    pub async fn ensure_running(&mut self, dir: &Path, size: usize) -> anyhow::Result<()> {
        if self.cluster.is_none() {
            return self.start(dir, size).await;
        }
        self.ensure_size(size)?;
        let down: Vec<u64> =
            self.running()?.nodes.iter().filter(|n| !n.is_serving()).map(|n| n.id).collect();
        ensure!(down.is_empty(), "nodes {down:?} of the running cluster are not serving");
        Ok(())
    }

    fn ensure_size(&self, size: usize) -> anyhow::Result<()> {
        let nodes = self.running()?.nodes.len();
        ensure!(nodes == size, "the scenario's cluster has {nodes} nodes, not {size}");
        Ok(())
    }

    /// Split the network in `groups` groups: the leader alone on one side, the others on
    /// the other, so that the side that led is the one that must stop. Only two groups are
    /// built (a majority and a minority); a bridge is `the network is bridged`.
    pub async fn partition_into(&mut self, groups: usize) -> anyhow::Result<()> {
        ensure!(groups == 2, "only a partition into 2 groups is built, not {groups}");
        self.cut_off_leader().await
    }

    /// A follower is cut off from every other node, `count` articles are acknowledged
    /// through the leader without it, and the network heals: the follower reconnects with
    /// state to catch up on. Which follower is [`Self::rejoined`].
    pub async fn reconnect_follower(&mut self, count: usize) -> anyhow::Result<()> {
        let cluster = self.running_mut()?;
        let leader = cluster.wait_for_leader(None).await?;
        let follower = cluster
            .nodes
            .iter()
            .find(|node| node.id != leader && node.is_serving())
            .context("no follower is up")?
            .id;
        cluster.split(&[follower])?;
        self.create_through_leader(count).await?;
        self.heal()?;
        println!("    node {follower} was cut off during {count} writes and reconnected");
        self.rejoined = Some(follower);
        Ok(())
    }

    /// The spare node joins; a cluster started without one has no node to add.
    pub async fn join_new_node(&mut self) -> anyhow::Result<()> {
        let spare = self.running()?.nodes.last().context("no node")?;
        ensure!(
            !spare.spec.data_dir.exists(),
            "this cluster has no spare node to join: start it with `a {{int}}-node Lithair \
             cluster with a spare node, taking a snapshot every {{int}} entries`"
        );
        self.join_spare().await
    }

    /// GET `path` on every serving node; the answers are kept in [`Self::fetched`].
    pub async fn get_on_every_node(&mut self, path: &str) -> anyhow::Result<()> {
        let mut fetched = Vec::new();
        for node in self.running()?.nodes.iter().filter(|node| node.is_serving()) {
            let url = node.url(path);
            let response = reqwest::get(&url).await.with_context(|| format!("GET {url}"))?;
            let status = response.status().as_u16();
            let body = response.json().await.with_context(|| format!("GET {url}: not JSON"))?;
            fetched.push((node.id, status, body));
        }
        self.fetched = fetched;
        Ok(())
    }
}
