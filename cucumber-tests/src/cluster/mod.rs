//! A Lithair cluster made of real `lithair-server` processes on loopback, and the faults the
//! harness can inflict on it (Jepsen calls that part the *nemesis*).
//!
//! Every node gets its own data directory, server log, API port and peer port, all fixed for
//! the cluster's life: a node's addresses are in the cluster's membership, so a restarted node
//! must come back where it was. Peers never talk to each other directly: every directed link
//! (node i → node j) goes through its own [`netproxy`] proxy, configured with `--peer-route`,
//! so that the harness can cut, black-hole or delay any direction of any link while the
//! processes keep running. The cluster shares one secret (`--cluster-secret-file`), which the
//! harness also uses for the admin endpoints. A cluster prepared with [`Links::Direct`] has no
//! proxies: its peers connect to each other's listeners, as in production, for measurements a
//! proxy would skew (the benchmark's cluster figures); it cannot be partitioned.
//!
//! What happened to the cluster is kept as [`Fault`] windows on the same monotonic clock as
//! the clients' history ([`Cluster::clock`]), for the checkers and the run report.

mod client;
mod finals;
mod node;
mod roles;
pub mod workload;

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU16, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

pub use client::{ClusterClient, Fate};
pub use node::{ClusterNode, NodeState};
pub use roles::{RoleSampler, Roles};

/// How long a cluster may go without a leader before a step waiting for one fails. Election
/// timeouts are about a second (docs/cluster.md); a few rounds of split votes fit in this.
pub const LEADER_DEADLINE: Duration = Duration::from_secs(20);

/// A fault the harness inflicted, and when (on [`Cluster::clock`]).
#[derive(Debug, Clone)]
pub struct Fault {
    /// What was done, e.g. `kill`, `pause`, `isolate`, `split`, `bridge`.
    pub kind: String,
    /// The nodes it was done to; for a split, the minority side; for a bridge, the bridge.
    pub nodes: Vec<u64>,
    pub start: Duration,
    /// `None` while it lasts.
    pub end: Option<Duration>,
}

/// How the nodes reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Each directed link through its own proxy, which the harness can cut or delay.
    Proxied,
    /// Straight to the peer listener, no proxy: no partitions, nothing added to a round trip.
    Direct,
}

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    secret: String,
    pub nodes: Vec<ClusterNode>,
    /// `None` with [`Links::Direct`].
    mesh: Option<netproxy::Mesh>,
    http: reqwest::Client,
    origin: Instant,
    pub faults: Vec<Fault>,
}

impl Cluster {
    /// Start `size` nodes under `dir`, form the cluster from node 1 and wait for a leader.
    pub async fn start(dir: &Path, size: usize, origin: Instant) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster::prepare(dir, size, origin).await?;
        cluster.launch().await?;
        Ok(cluster)
    }

    /// Everything but the processes: directories, ports, proxies and each node's command
    /// line, for a caller that adds to a node's start (e.g. the power-loss interposer's
    /// environment) before [`Cluster::launch`].
    pub async fn prepare(dir: &Path, size: usize, origin: Instant) -> anyhow::Result<Cluster> {
        Cluster::prepare_links(dir, size, origin, Links::Proxied).await
    }

    /// [`Cluster::prepare`], with the nodes linked as `links` says.
    pub async fn prepare_links(
        dir: &Path,
        size: usize,
        origin: Instant,
        links: Links,
    ) -> anyhow::Result<Cluster> {
        ensure!((1..=7).contains(&size), "a cluster has 1 to 7 nodes, not {size}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let secret = format!("harness-secret-{}", std::process::id());
        let secret_file = dir.join("cluster.secret");
        std::fs::write(&secret_file, &secret)?;
        let ports = free_ports(2 * size)?;
        let peers: Vec<SocketAddr> = ports[size..].to_vec();
        let mesh = match links {
            Links::Proxied => {
                Some(netproxy::Mesh::start(&peers).await.context("cannot start the proxies")?)
            }
            Links::Direct => None,
        };
        let mut nodes = Vec::with_capacity(size);
        for (index, (&api, &peer)) in ports[..size].iter().zip(&peers).enumerate() {
            let id = index as u64 + 1;
            let routes = match &mesh {
                Some(mesh) => (0..size)
                    .filter(|&to| to != index)
                    .map(|to| (to as u64 + 1, mesh.addr(index, to)))
                    .collect(),
                None => Vec::new(),
            };
            nodes.push(ClusterNode::new(dir, id, api, peer, &secret_file, routes)?);
        }
        Ok(Cluster { dir: dir.to_path_buf(), secret, nodes, mesh, http, origin, faults: vec![] })
    }

    /// Start every node, form the cluster from node 1 and wait for a leader.
    pub async fn launch(&mut self) -> anyhow::Result<()> {
        self.launch_members(self.nodes.len()).await
    }

    /// Start the first `members` nodes and form the cluster of them; the others stay spare,
    /// down and outside the membership, until [`Cluster::join`].
    pub async fn launch_members(&mut self, members: usize) -> anyhow::Result<()> {
        for node in &mut self.nodes[..members] {
            node.start().await?;
        }
        self.initialise(members).await?;
        self.wait_for_leader(None).await.map(drop)
    }

    /// Start spare node `id`, add it to the cluster as a learner (the leader answers once it
    /// has caught up, by snapshot or log) and then make it a voter, beside every voter so far.
    pub async fn join(&mut self, id: u64) -> anyhow::Result<()> {
        self.node_mut(id)?.start().await?;
        let node = self.node(id)?;
        let joining = json!({"id": id, "peer": node.peer.to_string(), "api": node.api.to_string()});
        self.admin("/cluster/learners", &joining).await?;
        let leader = self.wait_for_leader(None).await?;
        let members = &self.status(leader).await?["members"];
        let mut voters: Vec<u64> = members
            .as_object()
            .context("the leader's status lists no members")?
            .iter()
            .filter(|(_, member)| member["voter"] == true)
            .filter_map(|(id, _)| id.parse().ok())
            .collect();
        voters.push(id);
        self.admin("/cluster/voters", &json!({ "ids": voters })).await
    }

    /// An admin request to the leader's peer listener, with the secret.
    async fn admin(&self, path: &str, body: &Value) -> anyhow::Result<()> {
        let leader = self.wait_for_leader(None).await?;
        let url = format!("http://{}{path}", self.node(leader)?.peer);
        let response = self.http.post(&url).bearer_auth(&self.secret).json(body).send().await;
        let response = response.with_context(|| format!("POST {url}"))?;
        let status = response.status();
        ensure!(status.is_success(), "POST {url} answered {status}: {}", response.text().await?);
        Ok(())
    }

    /// A request to node `id`'s own peer listener, with the secret, as a peer would send it:
    /// the status and the JSON answer.
    pub async fn peer_request(&self, id: u64, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("http://{}{path}", self.node(id)?.peer);
        let response = self.http.post(&url).bearer_auth(&self.secret).json(body).send().await;
        let response = response.with_context(|| format!("POST {url}"))?;
        let status = response.status();
        ensure!(status.is_success(), "POST {url} answered {status}: {}", response.text().await?);
        Ok(response.json().await?)
    }

    /// The harness's monotonic clock: time since the scenario's origin.
    pub fn clock(&self) -> Duration {
        self.origin.elapsed()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shared secret, for an admin request the caller sends itself (e.g. with its own
    /// timeout).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn node(&self, id: u64) -> anyhow::Result<&ClusterNode> {
        self.nodes.iter().find(|node| node.id == id).with_context(|| format!("no node {id}"))
    }

    pub fn node_mut(&mut self, id: u64) -> anyhow::Result<&mut ClusterNode> {
        self.nodes.iter_mut().find(|node| node.id == id).with_context(|| format!("no node {id}"))
    }

    /// Node 1 proposes the initial membership: the first `members` nodes, with their real
    /// addresses.
    async fn initialise(&self, members: usize) -> anyhow::Result<()> {
        let members: serde_json::Map<String, Value> = self.nodes[..members]
            .iter()
            .map(|node| {
                let addresses = json!({"peer": node.peer.to_string(), "api": node.api.to_string()});
                (node.id.to_string(), addresses)
            })
            .collect();
        let first = &self.nodes[0];
        let response = self
            .http
            .post(format!("http://{}/cluster/init", first.peer))
            .bearer_auth(&self.secret)
            .json(&json!({ "members": members }))
            .send()
            .await
            .context("POST /cluster/init")?;
        let status = response.status();
        ensure!(status.is_success(), "/cluster/init answered {status}: {}", response.text().await?);
        Ok(())
    }

    /// `GET /cluster/status` of one node.
    pub async fn status(&self, id: u64) -> anyhow::Result<Value> {
        let url = format!("http://{}/cluster/status", self.node(id)?.api);
        let response = self.http.get(&url).send().await.with_context(|| format!("GET {url}"))?;
        ensure!(response.status().is_success(), "GET {url} answered {}", response.status());
        Ok(response.json().await?)
    }

    /// The leader the reachable nodes agree on: the one named by the node with the highest
    /// term that names a leader, which must itself say it leads. `None` while there is none.
    pub async fn current_leader(&self) -> Option<u64> {
        let mut best: Option<(u64, u64)> = None; // (term, leader)
        for node in self.nodes.iter().filter(|node| node.is_serving()) {
            let Ok(status) = self.status(node.id).await else { continue };
            let (Some(term), Some(leader)) =
                (status["term"].as_u64(), status["leader"]["id"].as_u64())
            else {
                continue;
            };
            if best.is_none_or(|(best_term, _)| term > best_term) {
                best = Some((term, leader));
            }
        }
        let (term, leader) = best?;
        let status = self.status(leader).await.ok()?;
        (status["role"] == "leader" && status["term"].as_u64() == Some(term)).then_some(leader)
    }

    /// Wait until there is a leader (other than `not`, if given).
    pub async fn wait_for_leader(&self, not: Option<u64>) -> anyhow::Result<u64> {
        let deadline = Instant::now() + LEADER_DEADLINE;
        loop {
            match self.current_leader().await {
                Some(leader) if Some(leader) != not => return Ok(leader),
                _ if Instant::now() > deadline => {
                    bail!("no leader elected within {LEADER_DEADLINE:?}{}", self.describe().await)
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The index everything acknowledged so far is at or below: the leader's last applied
    /// entry (a write is acknowledged once applied on the leader, and only committed entries
    /// are applied).
    pub async fn applied_by_leader(&self) -> anyhow::Result<u64> {
        let leader = self.wait_for_leader(None).await?;
        self.status(leader).await?["applied"]
            .as_u64()
            .context("the leader's status has no applied index")
    }

    /// Every node's view, for error messages.
    pub async fn describe(&self) -> String {
        let mut text = String::new();
        for node in &self.nodes {
            let view = match self.status(node.id).await {
                Ok(status) => status.to_string(),
                Err(err) => format!("{err:#}"),
            };
            text.push_str(&format!("\n  node {} ({}): {view}", node.id, node.state()));
        }
        text
    }

    fn begin(&mut self, kind: &str, nodes: Vec<u64>) {
        let start = self.clock();
        self.faults.push(Fault { kind: kind.into(), nodes, start, end: None });
    }

    /// Close the open faults for which `which` holds.
    fn end(&mut self, which: impl Fn(&Fault) -> bool) {
        let now = self.clock();
        for fault in self.faults.iter_mut().filter(|fault| fault.end.is_none() && which(fault)) {
            fault.end = Some(now);
        }
    }

    /// SIGKILL one node.
    pub async fn kill(&mut self, id: u64) -> anyhow::Result<()> {
        self.kill_as(id, "kill").await
    }

    /// SIGKILL one node, as the first half of the fault `kind` (e.g. a power cut, whose
    /// second half, the loss of what the disk had not synced, is the caller's).
    pub async fn kill_as(&mut self, id: u64, kind: &str) -> anyhow::Result<()> {
        self.node_mut(id)?.kill().await?;
        self.begin(kind, vec![id]);
        Ok(())
    }

    /// Start a killed node again from its data directory.
    pub async fn restart(&mut self, id: u64) -> anyhow::Result<()> {
        self.node_mut(id)?.start().await?;
        self.end(|fault| {
            (fault.kind == "kill" || fault.kind == "power cut") && fault.nodes == [id]
        });
        Ok(())
    }

    pub fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        self.node_mut(id)?.pause()?;
        self.begin("pause", vec![id]);
        Ok(())
    }

    pub fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        self.node_mut(id)?.resume()?;
        self.end(|fault| fault.kind == "pause" && fault.nodes == [id]);
        Ok(())
    }

    /// Cut every link between `minority` and the other nodes, both ways.
    pub fn split(&mut self, minority: &[u64]) -> anyhow::Result<()> {
        let cut = minority.iter().map(|id| self.index(*id)).collect::<anyhow::Result<Vec<_>>>()?;
        let rest: Vec<usize> = (0..self.nodes.len()).filter(|i| !cut.contains(i)).collect();
        self.mesh()?.split(&cut, &rest).map_err(|err| anyhow::anyhow!("{err}"))?;
        let kind = if minority.len() == 1 { "isolate" } else { "split" };
        self.begin(kind, minority.to_vec());
        Ok(())
    }

    /// Jepsen's bridge: `a` and `b` cannot reach each other, and both reach `bridge`, so
    /// each side plus the bridge is a majority and no node is cut off from every other.
    pub fn bridge(&mut self, a: &[u64], bridge: u64, b: &[u64]) -> anyhow::Result<()> {
        let indices =
            |ids: &[u64]| ids.iter().map(|id| self.index(*id)).collect::<Result<Vec<_>, _>>();
        let (a_side, b_side) = (indices(a)?, indices(b)?);
        self.mesh()?
            .bridge(&a_side, self.index(bridge)?, &b_side)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        self.begin("bridge", vec![bridge]);
        Ok(())
    }

    /// Every link passes again.
    pub fn heal(&mut self) {
        if let Some(mesh) = &self.mesh {
            mesh.heal();
        }
        self.end(|fault| matches!(fault.kind.as_str(), "isolate" | "split" | "bridge"));
    }

    fn mesh(&self) -> anyhow::Result<&netproxy::Mesh> {
        self.mesh.as_ref().context("this cluster's links are direct: there is no proxy to cut")
    }

    fn index(&self, id: u64) -> anyhow::Result<usize> {
        self.nodes.iter().position(|node| node.id == id).with_context(|| format!("no node {id}"))
    }

    /// Stop every node (killing those that do not stop), and close the proxies.
    pub async fn stop(&mut self) {
        self.heal();
        for node in &mut self.nodes {
            if let Err(err) = node.stop().await {
                eprintln!("harness: node {} did not stop cleanly: {err:#}", node.id);
            }
        }
    }
}

/// `count` distinct free ports on 127.0.0.1, below the kernel's ephemeral range.
///
/// A cluster's ports are chosen before its nodes start and must stay free until then, but a
/// port the kernel handed out for `:0` and that was given back can be handed out again at once
/// — to one of the cluster's own proxies, or to any client's outgoing connection — and a node
/// then fails with "address already in use". Ports below the ephemeral range are never handed
/// out that way; only something asking for that very port can take one, and cluster scenarios
/// run one at a time (`@serial`). The scan starts at a place that depends on the process, so
/// two harnesses on one machine start apart.
fn free_ports(count: usize) -> anyhow::Result<Vec<SocketAddr>> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let (low, high) = (10_000u16, ephemeral_start().saturating_sub(1).max(10_001));
    let span = high - low;
    let start = (std::process::id() % u32::from(span)) as u16;
    let mut chosen = Vec::with_capacity(count);
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed) % span) % span;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", low + offset)) {
            chosen.push(listener); // held until every port is chosen
            if chosen.len() == count {
                return Ok(chosen.iter().map(TcpListener::local_addr).collect::<Result<_, _>>()?);
            }
        }
    }
    bail!("cannot find {count} free ports between {low} and {high}")
}

/// The first port of the kernel's ephemeral range (Linux: 32768 unless configured).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}
