//! The peer listener: Raft RPCs from the other nodes, and the cluster's admin endpoints.
//!
//! | method and path          | body                                             | does                 |
//! |--------------------------|--------------------------------------------------|----------------------|
//! | `POST /raft/append`      | openraft's `AppendEntriesRequest`, JSON          | `Raft::append_entries` |
//! | `POST /raft/vote`        | `VoteRequest`, JSON                              | `Raft::vote`         |
//! | `POST /raft/snapshot`    | a snapshot chunk ([`crate::wire`])               | `Raft::install_snapshot` |
//! | `POST /cluster/init`     | `{"members":{"1":{"peer":..,"api":..},..}}`      | `Raft::initialize`   |
//! | `POST /cluster/learners` | `{"id":4,"peer":..,"api":..}`                    | `Raft::add_learner`  |
//! | `POST /cluster/voters`   | `{"ids":[1,2,3,4]}`                              | `Raft::change_membership` |
//! | `GET /cluster`           |                                                  | membership and metrics |
//!
//! Every request must carry the cluster secret ([`crate::auth`]); it is checked first, before the
//! body is read, so an unauthenticated request changes nothing and costs little. Bodies are
//! limited (413), malformed JSON is a 400, and an RPC from a candidate this node does not know
//! (not in its membership) is refused with 403: refusing a vote is always safe in Raft.

use std::{
    collections::{BTreeMap, BTreeSet},
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use openraft::{
    Raft,
    error::{ChangeMembershipError, ClientWriteError, InitializeError, RaftError},
    raft::{AppendEntriesRequest, VoteRequest},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::{net::TcpListener, sync::watch};

use crate::{Node, NodeId, TypeConfig, auth::ClusterSecret, status::ClusterStatus, wire};

pub type HttpResponse = Response<Full<Bytes>>;

/// How long a peer may take to send a request's head, and how long an idle connection stays.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a membership change may take before the admin gets a 503 (it may still complete).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long adding a learner may take: the answer waits until it has caught up, which for a
/// large state is a snapshot build, transfer and install (about 7 s for 1M articles here).
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// What the peer listener's handlers share.
pub struct PeerService {
    pub(crate) raft: Raft<TypeConfig>,
    pub(crate) secret: ClusterSecret,
    /// Largest request body; larger ones get 413.
    pub(crate) max_body: usize,
}

/// `{"error":{"code":..,"message":..}}`: the same shape as the client API's errors.
pub fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    #[derive(Serialize)]
    struct Body<'a> {
        error: Detail<'a>,
    }
    #[derive(Serialize)]
    struct Detail<'a> {
        code: &'a str,
        message: String,
    }
    json(status, &Body { error: Detail { code, message: message.into() } })
}

pub fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    let body = serde_json::to_vec(body).expect("our answers serialise");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitBody {
    members: BTreeMap<NodeId, Node>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnerBody {
    id: NodeId,
    peer: String,
    api: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VotersBody {
    ids: BTreeSet<NodeId>,
}

impl PeerService {
    /// Serve `listener` until `shutdown` turns true.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!(%err, "peer listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = stopped(&mut shutdown) => return,
            };
            let _ = stream.set_nodelay(true);
            let service = Arc::clone(&self);
            let handler = service_fn(move |request: Request<Incoming>| {
                let service = Arc::clone(&service);
                async move { Ok::<_, Infallible>(service.handle(remote, request).await) }
            });
            let connection = http.serve_connection(TokioIo::new(stream), handler);
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(%err, %remote, "peer connection ended with an error");
                }
            });
        }
    }

    async fn handle(&self, remote: SocketAddr, request: Request<Incoming>) -> HttpResponse {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        // First of all, before the body is read: does the sender know the secret?
        if !self.secret.admits(request.headers()) {
            tracing::warn!(%remote, %method, %path, "peer request without a valid cluster secret; refused");
            return json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the peer listener needs `Authorization: Bearer <cluster secret>`",
            );
        }
        match (method.clone(), path.as_str()) {
            (Method::POST, "/raft/append") => self.append(request).await,
            (Method::POST, "/raft/vote") => self.vote(request).await,
            (Method::POST, "/raft/snapshot") => self.snapshot(request).await,
            (Method::POST, "/cluster/init") => self.init(request).await,
            (Method::POST, "/cluster/learners") => self.add_learner(request).await,
            (Method::POST, "/cluster/voters") => self.change_voters(request).await,
            (Method::GET, "/cluster") => {
                json(StatusCode::OK, &ClusterStatus::of(&self.raft.metrics().borrow()))
            }
            (
                _,
                "/raft/append" | "/raft/vote" | "/raft/snapshot" | "/cluster/init"
                | "/cluster/learners" | "/cluster/voters" | "/cluster",
            ) => json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed on {path}"),
            ),
            _ => json_error(StatusCode::NOT_FOUND, "not_found", format!("no route {path}")),
        }
    }

    async fn append(&self, request: Request<Incoming>) -> HttpResponse {
        let rpc: AppendEntriesRequest<TypeConfig> = match self.json_body(request).await {
            Ok(rpc) => rpc,
            Err(response) => return response,
        };
        raft_answer(self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<Incoming>) -> HttpResponse {
        let rpc: VoteRequest<NodeId> = match self.json_body(request).await {
            Ok(rpc) => rpc,
            Err(response) => return response,
        };
        let candidate = rpc.vote.leader_id().voted_for();
        if let Some(candidate) = candidate
            && !self.knows(candidate)
        {
            tracing::warn!(candidate, "vote request from a node outside the membership; refused");
            return json_error(
                StatusCode::FORBIDDEN,
                "unknown_node",
                format!("node {candidate} is not a member of this node's cluster"),
            );
        }
        raft_answer(self.raft.vote(rpc).await)
    }

    /// Is `id` in this node's membership? A node that has none yet (never initialised, not yet
    /// added) knows nobody and refuses nothing.
    fn knows(&self, id: NodeId) -> bool {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let membership = metrics.membership_config.membership();
        let mut nodes = membership.nodes().peekable();
        nodes.peek().is_none() || membership.get_node(&id).is_some()
    }

    async fn snapshot(&self, request: Request<Incoming>) -> HttpResponse {
        let body = match self.body_bytes(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        match wire::decode_snapshot_chunk(&body) {
            Ok(rpc) => raft_answer(self.raft.install_snapshot(rpc).await),
            Err(err) => {
                json_error(StatusCode::BAD_REQUEST, "malformed_snapshot_chunk", err.to_string())
            }
        }
    }

    async fn init(&self, request: Request<Incoming>) -> HttpResponse {
        let body: InitBody = match self.json_body(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        if body.members.is_empty() {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "members must not be empty",
            );
        }
        tracing::info!(members = ?body.members, "initialising the cluster");
        match self.raft.initialize(body.members).await {
            Ok(()) => json(StatusCode::OK, &ClusterStatus::of(&self.raft.metrics().borrow())),
            Err(RaftError::APIError(InitializeError::NotAllowed(err))) => {
                json_error(StatusCode::CONFLICT, "already_initialized", err.to_string())
            }
            Err(RaftError::APIError(InitializeError::NotInMembers(err))) => {
                json_error(StatusCode::BAD_REQUEST, "not_in_members", err.to_string())
            }
            Err(RaftError::Fatal(err)) => fatal(err),
        }
    }

    async fn add_learner(&self, request: Request<Incoming>) -> HttpResponse {
        let body: LearnerBody = match self.json_body(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        tracing::info!(id = body.id, peer = %body.peer, api = %body.api, "adding a learner");
        let node = Node { peer: body.peer, api: body.api };
        let change = self.raft.add_learner(body.id, node, true);
        let result = tokio::time::timeout(CATCH_UP_TIMEOUT, change).await;
        membership_answer(result, CATCH_UP_TIMEOUT, &self.raft)
    }

    async fn change_voters(&self, request: Request<Incoming>) -> HttpResponse {
        let body: VotersBody = match self.json_body(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        tracing::info!(voters = ?body.ids, "changing the voters");
        let change = self.raft.change_membership(body.ids, false);
        membership_answer(
            tokio::time::timeout(ADMIN_TIMEOUT, change).await,
            ADMIN_TIMEOUT,
            &self.raft,
        )
    }

    async fn json_body<T: DeserializeOwned>(
        &self,
        request: Request<Incoming>,
    ) -> Result<T, HttpResponse> {
        let body = self.body_bytes(request).await?;
        serde_json::from_slice(&body).map_err(|err| {
            json_error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid: {err}"),
            )
        })
    }

    async fn body_bytes(&self, request: Request<Incoming>) -> Result<Bytes, HttpResponse> {
        let too_large = || {
            json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("peer request bodies are limited to {} bytes", self.max_body),
            )
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body as u64) {
            return Err(too_large());
        }
        let collect = Limited::new(request.into_body(), self.max_body).collect();
        match tokio::time::timeout(HEADER_TIMEOUT, collect).await {
            Ok(Ok(body)) => Ok(body.to_bytes()),
            Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
            Ok(Err(err)) => {
                Err(json_error(StatusCode::BAD_REQUEST, "unreadable_body", err.to_string()))
            }
            Err(_) => Err(json_error(StatusCode::REQUEST_TIMEOUT, "body_timeout", "body too slow")),
        }
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// An RPC's answer, in raft-kv-memstore's shape: 200 with the JSON of `Result<T, RaftError>`,
/// which the sender hands to openraft as it is.
fn raft_answer<T: Serialize, E: Serialize>(result: Result<T, E>) -> HttpResponse {
    json(StatusCode::OK, &result)
}

fn fatal(err: openraft::error::Fatal<NodeId>) -> HttpResponse {
    json_error(StatusCode::SERVICE_UNAVAILABLE, "raft_stopped", err.to_string())
}

type MembershipResult = Result<
    Result<
        openraft::raft::ClientWriteResponse<TypeConfig>,
        RaftError<NodeId, ClientWriteError<NodeId, Node>>,
    >,
    tokio::time::error::Elapsed,
>;

fn membership_answer(
    result: MembershipResult,
    timeout: Duration,
    raft: &Raft<TypeConfig>,
) -> HttpResponse {
    match result {
        Ok(Ok(_)) => json(StatusCode::OK, &ClusterStatus::of(&raft.metrics().borrow())),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))) => {
            let leader = forward.leader_node.map(|node| node.peer);
            json_error(
                StatusCode::MISDIRECTED_REQUEST,
                "not_leader",
                format!(
                    "membership changes go to the leader (node {:?}, peer address {:?})",
                    forward.leader_id, leader
                ),
            )
        }
        Ok(Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(err)))) => {
            let code = match err {
                ChangeMembershipError::InProgress(_) => "membership_change_in_progress",
                ChangeMembershipError::EmptyMembership(_) => "empty_membership",
                ChangeMembershipError::LearnerNotFound(_) => "learner_not_found",
            };
            json_error(StatusCode::CONFLICT, code, err.to_string())
        }
        Ok(Err(RaftError::Fatal(err))) => fatal(err),
        Err(_) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "outcome_unknown",
            format!("the membership change did not complete within {timeout:?}; it may still"),
        ),
    }
}
