//! A cluster node: storage, network, openraft, the peer listener, the proposer and the read
//! barrier, started together and stopped together.
//!
//! The timeouts ([`raft_config`]) are chosen for 3–5 nodes sharing 2 cores with a load
//! generator: docs/cluster.md says why.

use std::{
    collections::HashMap,
    io::Write,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use lithair_core::{Durability, Event};
use openraft::{Config, Raft, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    NodeId, Precondition, StateReader, TypeConfig,
    auth::ClusterSecret,
    network::Network,
    peer_service::PeerService,
    proposer::Proposer,
    read_barrier::ReadBarrier,
    status::{ClusterStatus, LeaderInfo},
};

/// Leaders send a heartbeat this often (ms); it is also every append's RPC timeout in openraft.
pub const HEARTBEAT_MS: u64 = 150;
/// A follower that hears no leader for a random time in this range (ms) starts an election.
pub const ELECTION_TIMEOUT_MS: (u64, u64) = (400, 700);

/// Where a node's identity is kept in its data directory.
pub const IDENTITY_FILE: &str = "node.json";

/// How a node is started.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// `host:port` the other nodes reach this node's peer listener at (`--peer-advertise`).
    pub peer_advertise: String,
    /// `host:port` clients reach this node's API at.
    pub api_advertise: String,
    pub secret: ClusterSecret,
    /// `--peer-route`: where to connect to reach a node, instead of its advertised address.
    pub routes: HashMap<NodeId, String>,
    /// Largest peer request body; larger ones get 413.
    pub max_peer_body: usize,
    /// Take a snapshot every this many entries, keeping as many entries of log behind it for
    /// followers that lag (0: [`DEFAULT_SNAPSHOT_EVERY`]). A follower further behind is sent
    /// the snapshot.
    pub snapshot_every: u64,
}

/// Entries between snapshots, and entries of log kept behind the last one, by default.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 100_000;

impl NodeConfig {
    pub const DEFAULT_MAX_PEER_BODY: usize = 64 << 20;
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] crate::OpenError),
    #[error(
        "{path} says this data directory belongs to node {found}, not node {expected}: refusing \
         to start (another node's data would corrupt the cluster)"
    )]
    OtherNode { path: PathBuf, found: NodeId, expected: NodeId },
    #[error("{path} cannot be used: {reason}. Refusing to start; the file was not modified.")]
    BadIdentity { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("openraft could not start: {0}")]
    Raft(String),
    #[error(
        "{path}: the record at byte offset {offset} is a version-1 record (a single server's \
         log); a cluster node reads only version 2. Refusing to start; the file was not \
         modified. Convert the directory once, with no server running on it: {command}"
    )]
    V1Log { path: PathBuf, offset: u64, command: String },
}

/// openraft's configuration for Lithair (docs/cluster.md, "Timeouts"), with a snapshot every
/// `snapshot_every` entries (0: the default).
pub fn raft_config(snapshot_every: u64) -> Config {
    let snapshot_every = if snapshot_every == 0 { DEFAULT_SNAPSHOT_EVERY } else { snapshot_every };
    Config {
        cluster_name: "lithair".into(),
        heartbeat_interval: HEARTBEAT_MS,
        election_timeout_min: ELECTION_TIMEOUT_MS.0,
        election_timeout_max: ELECTION_TIMEOUT_MS.1,
        // Entries in one append: bounds an RPC's size and time (one heartbeat interval).
        max_payload_entries: 256,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_every),
        max_in_snapshot_log_to_keep: snapshot_every,
        ..Config::default()
    }
}

/// A running cluster node.
pub struct ClusterNode<E: Event> {
    id: NodeId,
    raft: Raft<TypeConfig>,
    reader: StateReader<E>,
    proposer: Proposer<E>,
    barrier: ReadBarrier,
    stop: watch::Sender<bool>,
    peer_task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl<E: Event> ClusterNode<E>
where
    E::State: Clone,
{
    /// Open the storage in `config.data_dir`, start openraft and serve `peer_listener`.
    /// `precondition` is re-checked on every event as it is applied (see `proposer.rs`).
    pub async fn start(
        config: NodeConfig,
        peer_listener: TcpListener,
        precondition: Option<Precondition<E>>,
    ) -> Result<Self, StartError> {
        let (log_store, state_machine) =
            crate::open_storage::<E>(&config.data_dir, config.durability).await.map_err(|err| {
                match err {
                    crate::OpenError::V1Log { path, offset } => {
                        StartError::V1Log { path, offset, command: migrate_command(&config) }
                    }
                    other => other.into(),
                }
            })?;
        // After the storage's lock on the directory is taken: nobody else writes it meanwhile.
        check_identity(&config.data_dir, config.id)?;
        let state_machine = match precondition {
            Some(precondition) => state_machine.with_precondition(precondition),
            None => state_machine,
        };
        let reader = state_machine.reader();
        let log_ts = log_store.max_ts();
        let local_ip = advertised_ip(&config.peer_advertise);
        let network =
            Network::new(config.id, config.secret.clone(), config.routes.clone(), local_ip);
        let raft_config = Arc::new(
            raft_config(config.snapshot_every)
                .validate()
                .map_err(|err| StartError::Raft(err.to_string()))?,
        );
        log_store.forget_leadership(config.id);
        let raft = Raft::new(config.id, raft_config, network, log_store, state_machine)
            .await
            .map_err(|err| StartError::Raft(err.to_string()))?;
        let (stop, stopped) = watch::channel(false);
        let service = Arc::new(PeerService {
            raft: raft.clone(),
            secret: config.secret,
            max_body: config.max_peer_body,
        });
        let peer_task = tokio::spawn(service.serve(peer_listener, stopped));
        tracing::info!(node_id = config.id, peer = %config.peer_advertise, api = %config.api_advertise, "cluster node started");
        Ok(ClusterNode {
            id: config.id,
            proposer: Proposer::spawn(raft.clone(), reader.clone(), config.id, log_ts),
            barrier: ReadBarrier::spawn(raft.clone()),
            raft,
            reader,
            stop,
            peer_task: std::sync::Mutex::new(Some(peer_task)),
        })
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The applied state (what `?consistency=local` reads).
    pub fn reader(&self) -> &StateReader<E> {
        &self.reader
    }

    pub fn proposer(&self) -> &Proposer<E> {
        &self.proposer
    }

    pub fn read_barrier(&self) -> &ReadBarrier {
        &self.barrier
    }

    pub fn status(&self) -> ClusterStatus {
        ClusterStatus::of(&self.raft.metrics().borrow())
    }

    /// The leader this node knows of, and its API address.
    pub fn leader(&self) -> Option<LeaderInfo> {
        self.status().leader
    }

    /// Stop serving peers and stop openraft (the storage syncs what it holds as it is dropped).
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = self.peer_task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        if let Err(err) = self.raft.shutdown().await {
            tracing::warn!(%err, "openraft did not stop cleanly");
        }
    }
}

/// The `lithair-server migrate` command that converts `config`'s data directory for it.
fn migrate_command(config: &NodeConfig) -> String {
    format!(
        "lithair-server migrate --data-dir {} --node-id {} --peer-advertise {} --api-advertise {}",
        config.data_dir.display(),
        config.id,
        config.peer_advertise,
        config.api_advertise
    )
}

fn advertised_ip(address: &str) -> Option<IpAddr> {
    address.parse::<std::net::SocketAddr>().ok().map(|address| address.ip())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    node_id: NodeId,
}

/// `node.json` names the node a data directory belongs to: written on first start, checked on
/// every later one, so that a node is never started on another node's data.
pub(crate) fn check_identity(dir: &Path, id: NodeId) -> Result<(), StartError> {
    if !check_identity_unchanged(dir, id)? {
        let path = dir.join(IDENTITY_FILE);
        write_identity(dir, &path, id).map_err(|source| StartError::Io { path, source })?;
    }
    Ok(())
}

/// [`check_identity`] without writing: `true` if `node.json` names `id`, `false` if there is
/// none, an error if it names another node or cannot be read.
pub(crate) fn check_identity_unchanged(dir: &Path, id: NodeId) -> Result<bool, StartError> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let identity: Identity = serde_json::from_slice(&bytes).map_err(|err| {
                StartError::BadIdentity { path: path.clone(), reason: err.to_string() }
            })?;
            if identity.node_id != id {
                return Err(StartError::OtherNode { path, found: identity.node_id, expected: id });
            }
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StartError::Io { path, source }),
    }
}

/// Temporary file, fsync, rename, fsync of the directory: the file is whole or absent.
fn write_identity(dir: &Path, path: &Path, id: NodeId) -> std::io::Result<()> {
    let temp = dir.join(format!("{IDENTITY_FILE}.tmp"));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&serde_json::to_vec(&Identity { node_id: id })?)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_belongs_to_one_node() {
        let dir = tempfile::tempdir().unwrap();
        check_identity(dir.path(), 2).unwrap();
        check_identity(dir.path(), 2).unwrap();
        let err = check_identity(dir.path(), 3).unwrap_err();
        assert!(matches!(err, StartError::OtherNode { found: 2, expected: 3, .. }), "{err}");
        std::fs::write(dir.path().join(IDENTITY_FILE), "garbage").unwrap();
        assert!(matches!(check_identity(dir.path(), 2), Err(StartError::BadIdentity { .. })));
    }

    #[test]
    fn the_raft_config_is_valid() {
        raft_config(0).validate().unwrap();
        raft_config(10).validate().unwrap();
    }
}
