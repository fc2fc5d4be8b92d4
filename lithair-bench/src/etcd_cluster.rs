//! A 3-member etcd cluster on loopback, the peer of Lithair's cluster figures: each member its
//! own data dir, client and peer port, formed with `--initial-cluster`, etcd's default timeouts
//! (heartbeat 100 ms, election 1000 ms). Its PUTs are measured as [`crate::etcd`] measures one
//! node's (wrk through the JSON gateway, the same script), sent to the leader, which a
//! follower would otherwise forward to.
//!
//! The leader is found with `POST /v3/maintenance/status` on each member (`leader` against
//! `header.member_id`); a member is killed with SIGKILL and restarted on its data dir with
//! the same command line (etcd ignores `--initial-cluster` once it has a WAL).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{
    etcd,
    figures::Figures,
    options::Options,
    peer::{self, Peer},
    wrk::Wrk,
};

pub const MEMBERS: usize = 3;

/// How long the cluster may take to have a leader and every member caught up.
const SETTLE_DEADLINE: Duration = Duration::from_secs(60);

struct Member {
    name: String,
    client: u16,
    peer: u16,
    process: Option<Peer>,
}

pub struct EtcdCluster {
    dir: PathBuf,
    members: Vec<Member>,
    initial_cluster: String,
    http: reqwest::Client,
}

impl EtcdCluster {
    /// Start every member and wait for a leader.
    pub async fn start(work: &Path) -> anyhow::Result<EtcdCluster> {
        let dir = work.join("etcd-cluster");
        std::fs::create_dir_all(&dir)?;
        let mut members = Vec::new();
        for index in 1..=MEMBERS {
            let (client, peer) = (peer::free_port()?, peer::free_port()?);
            members.push(Member { name: format!("m{index}"), client, peer, process: None });
        }
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let mut cluster = EtcdCluster { dir, members, initial_cluster, http };
        for index in 0..MEMBERS {
            cluster.launch(index)?;
        }
        cluster.settle().await?;
        Ok(cluster)
    }

    /// The member's command line, the same at every start.
    fn command(&self, index: usize) -> Command {
        let member = &self.members[index];
        let client_url = format!("http://127.0.0.1:{}", member.client);
        let peer_url = format!("http://127.0.0.1:{}", member.peer);
        let mut command = Command::new("etcd");
        command
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(self.dir.join(&member.name))
            .args(["--listen-client-urls", &client_url, "--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-state", "new", "--initial-cluster-token", "lithair-bench"]);
        command
    }

    fn launch(&mut self, index: usize) -> anyhow::Result<()> {
        let command = self.command(index);
        let log = self.dir.join(format!("{}.log", self.members[index].name));
        let name = format!("etcd {}", self.members[index].name);
        self.members[index].process =
            Some(Peer::start(&name, command, &log, self.members[index].client)?);
        Ok(())
    }

    /// The client URL of member `index`.
    pub fn url(&self, index: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.members[index].client)
    }

    async fn status(&self, index: usize) -> anyhow::Result<Value> {
        let url = self.url(index, "/v3/maintenance/status");
        let response = self.http.post(&url).json(&json!({})).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// The index of the member every running member names as leader, once they agree and the
    /// leader's data revision is everywhere (all up, all caught up).
    async fn settled_leader(&self) -> anyhow::Result<usize> {
        let mut statuses = Vec::new();
        for index in 0..MEMBERS {
            statuses.push(self.status(index).await?);
        }
        let leader = statuses[0]["leader"].as_str().context("no leader")?;
        let revision = |status: &Value| status["header"]["revision"].as_str().map(str::to_string);
        let index = statuses
            .iter()
            .position(|status| status["header"]["member_id"].as_str() == Some(leader))
            .context("no member is the leader")?;
        let agreed = statuses.iter().all(|status| {
            status["leader"].as_str() == Some(leader)
                && revision(status) == revision(&statuses[index])
        });
        anyhow::ensure!(agreed, "the members do not agree yet");
        Ok(index)
    }

    /// Wait until every member runs, one leads and all have its revision; the leader's index.
    pub async fn settle(&self) -> anyhow::Result<usize> {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            match self.settled_leader().await {
                Ok(index) => return Ok(index),
                Err(error) if Instant::now() > deadline => {
                    bail!("etcd's cluster did not settle within {SETTLE_DEADLINE:?}: {error:#}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// SIGKILL member `index`.
    pub fn kill(&mut self, index: usize) {
        drop(self.members[index].process.take());
    }

    /// Start member `index` again on its data dir.
    pub fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        self.launch(index)
    }

    /// wrk's PUTs against the leader: `etcd3.put.rps`, `.p99_ms`…
    pub async fn measure_throughput(
        &self,
        options: &Options,
        figures: &mut Figures,
    ) -> anyhow::Result<()> {
        let leader = self.settle().await?;
        let url = self.url(leader, "/v3/kv/put");
        let wrk = Wrk::new(options.connections, options.seconds);
        let script = etcd::put_script();
        let result = tokio::task::spawn_blocking(move || wrk.run(&url, Some(&script))).await??;
        println!(
            "  etcd {MEMBERS} members PUT to the leader (wrk -c{}): {}",
            wrk.connections,
            result.summary()
        );
        result.record(figures, "etcd3.put");
        figures.detail("etcd3.command", json!(peer::command_line(&self.command(leader))));
        Ok(())
    }
}
