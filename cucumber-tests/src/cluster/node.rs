//! One node of a harness cluster: where it lives and listens, and its process if it runs.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use crate::process::{self, ServerProcess, ServerSpec};

/// A node and what it is doing now.
#[derive(Debug)]
pub struct ClusterNode {
    pub id: u64,
    /// Its client API, fixed for the cluster's life.
    pub api: SocketAddr,
    /// Its peer listener, as the membership names it (the proxies forward to it).
    pub peer: SocketAddr,
    pub spec: ServerSpec,
    process: Option<ServerProcess>,
    paused: bool,
}

/// What a node is doing, as the harness made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Running,
    Paused,
    Down,
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeState::Running => "running",
            NodeState::Paused => "paused",
            NodeState::Down => "down",
        })
    }
}

impl ClusterNode {
    /// A node that is not started yet. `routes` says through which address (its proxy) this
    /// node reaches each other node.
    pub fn new(
        dir: &Path,
        id: u64,
        api: SocketAddr,
        peer: SocketAddr,
        secret_file: &Path,
        routes: Vec<(u64, SocketAddr)>,
    ) -> anyhow::Result<ClusterNode> {
        let home = dir.join(format!("node{id}"));
        std::fs::create_dir_all(&home)?;
        let log_file = home.join("server.log");
        process::create_log(&log_file)?;
        let mut args = vec![
            "--node-id".to_string(),
            id.to_string(),
            "--peer-bind".to_string(),
            peer.to_string(),
            "--cluster-secret-file".to_string(),
            secret_file.display().to_string(),
        ];
        for (to, via) in routes {
            args.extend(["--peer-route".to_string(), format!("{to}={via}")]);
        }
        let spec = ServerSpec {
            bind: Some(api),
            data_dir: home.join("data"),
            log_file,
            args,
            env: vec![],
        };
        Ok(ClusterNode { id, api, peer, spec, process: None, paused: false })
    }

    pub fn home(&self) -> PathBuf {
        self.spec.log_file.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    pub fn state(&self) -> NodeState {
        match (&self.process, self.paused) {
            (None, _) => NodeState::Down,
            (Some(_), true) => NodeState::Paused,
            (Some(_), false) => NodeState::Running,
        }
    }

    /// Running and not paused: it can answer.
    pub fn is_serving(&self) -> bool {
        self.state() == NodeState::Running
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.process.is_some() {
            bail!("node {} is already running", self.id);
        }
        // The start failure's own text names the cause and the end of the node's log.
        let process = ServerProcess::start_node(&self.spec)
            .await
            .map_err(|failure| anyhow::anyhow!("node {}: {failure}", self.id))?;
        self.process = Some(process);
        Ok(())
    }

    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let process = self.process.take().with_context(|| format!("node {} is down", self.id))?;
        self.paused = false;
        process.kill().await?;
        Ok(())
    }

    pub fn pause(&mut self) -> anyhow::Result<()> {
        if self.paused {
            bail!("node {} is already paused", self.id);
        }
        self.running()?.pause()?;
        self.paused = true;
        Ok(())
    }

    pub fn resume(&mut self) -> anyhow::Result<()> {
        if !self.paused {
            bail!("node {} is not paused", self.id);
        }
        self.running()?.resume()?;
        self.paused = false;
        Ok(())
    }

    /// Stop cleanly (resuming it first if paused); a node already down is fine.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if self.paused {
            self.resume()?;
        }
        match self.process.take() {
            Some(process) => process.stop().await.map(drop),
            None => Ok(()),
        }
    }

    fn running(&self) -> anyhow::Result<&ServerProcess> {
        self.process.as_ref().with_context(|| format!("node {} is down", self.id))
    }
}
