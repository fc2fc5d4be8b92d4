//! Raft RPCs to the other nodes, over HTTP/1.1 (openraft's `RaftNetworkFactory`/`RaftNetwork`).
//!
//! Like openraft's raft-kv-memstore example, an RPC is a `POST` of the request as JSON to the
//! peer listener (`/raft/append`, `/raft/vote`), whose answer is the JSON of
//! `Result<response, RaftError>`. Two differences:
//!
//! - one `hyper-util` client for the whole node, which keeps a pool of kept-alive connections per
//!   peer address (the example builds a client per RPC: a TCP handshake per heartbeat);
//! - snapshot chunks go as raw bytes (`/raft/snapshot`, see [`crate::wire`]), not as a JSON array
//!   of numbers, 3.5× larger.
//!
//! Every RPC is bounded by openraft's `RPCOption::hard_ttl`. A refused or failed connection is
//! [`Unreachable`] (openraft backs off), a peer that refuses our secret too, so that a node with
//! the wrong secret does not spin; a missed deadline is [`Timeout`].
//!
//! `--peer-route <id>=<host:port>` overrides where node `<id>` is reached: membership keeps the
//! advertised address, while the test harness's proxy (or a NAT) sits in between.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use openraft::{
    error::{
        InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
    },
    network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{Node, NodeId, TypeConfig, auth::ClusterSecret, wire};

/// The largest answer read from a peer; answers are small (a vote, an append's outcome).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How long an idle kept-alive connection to a peer stays open: longer than the heartbeat
/// interval, so that a connection is reused rather than rebuilt.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// What every connection to a peer shares.
struct Shared {
    my_id: NodeId,
    secret: ClusterSecret,
    /// `--peer-route`: where to connect to reach a node, instead of its advertised address.
    routes: HashMap<NodeId, String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// openraft's factory: one [`PeerClient`] per target node, all sharing one connection pool.
#[derive(Clone)]
pub struct Network {
    shared: Arc<Shared>,
}

impl Network {
    /// `local_ip`: the address outgoing connections bind to (the advertised peer address's IP),
    /// so that a peer, or the harness's proxy, can tell which node a connection comes from.
    pub fn new(
        my_id: NodeId,
        secret: ClusterSecret,
        routes: HashMap<NodeId, String>,
        local_ip: Option<IpAddr>,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(1)));
        connector.set_local_address(local_ip.filter(|ip| !ip.is_unspecified()));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(8)
            .build(connector);
        Network { shared: Arc::new(Shared { my_id, secret, routes, client }) }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        let address = self.shared.routes.get(&target).cloned().unwrap_or_else(|| node.peer.clone());
        PeerClient { target, address, shared: Arc::clone(&self.shared) }
    }
}

/// RPCs to one peer.
pub struct PeerClient {
    target: NodeId,
    /// `host:port` connected to: the advertised peer address, or its `--peer-route`.
    address: String,
    shared: Arc<Shared>,
}

/// Why an RPC got no answer from the peer's Raft.
enum Failure {
    Unreachable(Unreachable),
    Network(NetworkError),
    Timeout,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

impl PeerClient {
    /// POST `body` to `path` and read the answer, within `ttl`.
    async fn post(
        &self,
        path: &str,
        content_type: &'static str,
        body: Bytes,
        ttl: Duration,
    ) -> Result<Bytes, Failure> {
        let uri = format!("http://{}{path}", self.address);
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, self.shared.secret.header_value())
            .body(Full::new(body))
            .map_err(|err| Failure::Network(NetworkError::new(&err)))?;
        let exchange = async {
            let response = self.shared.client.request(request).await.map_err(|err| {
                if err.is_connect() {
                    Failure::Unreachable(Unreachable::new(&err))
                } else {
                    Failure::Network(NetworkError::new(&err))
                }
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|err| Failure::Network(NetworkError::new(&Message(err.to_string()))))?
                .to_bytes();
            match status {
                StatusCode::OK => Ok(body),
                StatusCode::UNAUTHORIZED => {
                    tracing::error!(
                        target_node = self.target,
                        address = %self.address,
                        "the peer refused our cluster secret; is it started with another one?"
                    );
                    Err(Failure::Unreachable(Unreachable::new(&Message(format!(
                        "node {} at {} refused our cluster secret",
                        self.target, self.address
                    )))))
                }
                status => Err(Failure::Network(NetworkError::new(&Message(format!(
                    "node {} at {} answered {status}: {}",
                    self.target,
                    self.address,
                    String::from_utf8_lossy(&body)
                ))))),
            }
        };
        tokio::time::timeout(ttl, exchange).await.unwrap_or(Err(Failure::Timeout))
    }

    /// A JSON RPC whose answer is `Result<Resp, RaftError<E>>`.
    async fn json_rpc<Req, Resp, E>(
        &self,
        action: RPCTypes,
        path: &str,
        rpc: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body =
            serde_json::to_vec(rpc).map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        let answer = self
            .post(path, "application/json", body.into(), option.hard_ttl())
            .await
            .map_err(|failure| self.rpc_error(action, failure, option))?;
        let result: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&answer)
            .map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        result.map_err(|err| RPCError::RemoteError(RemoteError::new(self.target, err)))
    }

    fn rpc_error<E: std::error::Error>(
        &self,
        action: RPCTypes,
        failure: Failure,
        option: &RPCOption,
    ) -> RPCError<NodeId, Node, E> {
        match failure {
            Failure::Unreachable(err) => RPCError::Unreachable(err),
            Failure::Network(err) => RPCError::Network(err),
            Failure::Timeout => RPCError::Timeout(Timeout {
                action,
                id: self.shared.my_id,
                target: self.target,
                timeout: option.hard_ttl(),
            }),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.json_rpc(RPCTypes::AppendEntries, "/raft/append", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.json_rpc(RPCTypes::Vote, "/raft/vote", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let body = wire::encode_snapshot_chunk(&rpc)
            .map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        let answer = self
            .post("/raft/snapshot", "application/octet-stream", body, option.hard_ttl())
            .await
            .map_err(|failure| self.rpc_error(RPCTypes::InstallSnapshot, failure, &option))?;
        let result: Result<
            InstallSnapshotResponse<NodeId>,
            RaftError<NodeId, InstallSnapshotError>,
        > = serde_json::from_slice(&answer)
            .map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        result.map_err(|err| RPCError::RemoteError(RemoteError::new(self.target, err)))
    }
}

/// Parse `--peer-route` values, `<id>=<host:port>`.
pub fn parse_route(text: &str) -> Result<(NodeId, String), String> {
    let (id, address) =
        text.split_once('=').ok_or_else(|| format!("{text:?} is not <node id>=<host:port>"))?;
    let id: NodeId = id.trim().parse().map_err(|_| format!("{id:?} is not a node id"))?;
    let address = address.trim();
    if address.parse::<SocketAddr>().is_err() && !address.contains(':') {
        return Err(format!("{address:?} is not a host:port"));
    }
    Ok((id, address.to_string()))
}
