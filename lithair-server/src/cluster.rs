//! The server as a cluster node (`--node-id`): how writes and reads map onto `lithair-cluster`,
//! and the API listener's `/cluster/status` and `/cluster/leader`. docs/cluster.md is the
//! reference; without `--node-id` nothing here runs.

use std::collections::HashMap;

use http::{HeaderValue, StatusCode, Uri, header};
use lithair_cluster::{
    NodeId,
    auth::ClusterSecret,
    proposer::WriteError,
    read_barrier::ReadError,
    status::{ClusterStatus, LeaderInfo},
};

use crate::{
    error::ApiError,
    events::StoreEvent,
    response::{self, HttpResponse},
    store::Store,
};

pub type Node = lithair_cluster::ClusterNode<StoreEvent>;

/// What `--node-id` and its companion flags say.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub node_id: NodeId,
    /// `host:port` the other nodes reach this node's peer listener at.
    pub peer_advertise: String,
    /// `host:port` clients reach this node's API at (the address the API listener got).
    pub api_advertise: String,
    pub secret: ClusterSecret,
    /// `--peer-route`: where to connect to reach a node, instead of its advertised address.
    pub routes: HashMap<NodeId, String>,
}

/// Re-checked as each committed event is applied, on every node: a decision a leader made on a
/// state that a leader change made stale becomes a no-op, the same everywhere (the proposer
/// then answers `conflict_retry`). The same checks as the commands' `decide`.
pub fn precondition(event: &StoreEvent, store: &Store) -> bool {
    match event {
        StoreEvent::ArticleCreated(article) => article.id == store.articles().next_id(),
        StoreEvent::ArticleUpdated(article) => store.articles().get(article.id).is_some(),
        StoreEvent::ArticleDeleted { id } => store.articles().get(*id).is_some(),
        StoreEvent::UserCreated(user) => user.id == store.users().next_id(),
        StoreEvent::CommentAdded(comment) => {
            comment.id == store.comments().next_id()
                && store.articles().get(comment.article_id).is_some()
                && store.users().get(comment.user_id).is_some()
        }
    }
}

/// `307` to the same path and query on the leader's API, or `503 no_leader`.
pub fn to_leader(leader: Option<LeaderInfo>, uri: &Uri) -> HttpResponse {
    let target = leader.filter(|leader| !leader.api.is_empty()).and_then(|leader| {
        let path = uri.path_and_query().map_or("/", |path| path.as_str());
        HeaderValue::try_from(format!("http://{}{path}", leader.api)).ok().map(|url| (leader, url))
    });
    let Some((leader, location)) = target else { return ApiError::no_leader().into_response() };
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: Detail<'a>,
    }
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        code: &'a str,
        message: String,
        leader: &'a LeaderInfo,
    }
    let message = format!("node {} leads; this request goes to http://{}", leader.id, leader.api);
    let body = Body { error: Detail { code: "not_leader", message, leader: &leader } };
    let mut response = response::json(StatusCode::TEMPORARY_REDIRECT, &body);
    response.headers_mut().insert(header::LOCATION, location);
    response
}

/// A write that was not acknowledged, as a response.
pub fn write_failed(err: WriteError<ApiError>, uri: &Uri) -> HttpResponse {
    match err {
        WriteError::Rejected(rejection) => rejection.into_response(),
        WriteError::NotLeader(leader) => to_leader(leader, uri),
        WriteError::Conflict => ApiError::conflict_retry().into_response(),
        WriteError::OutcomeUnknown(reason) => ApiError::outcome_unknown(&reason).into_response(),
        WriteError::Encode(reason) => {
            tracing::error!(%reason, "an event could not be encoded");
            ApiError::internal().into_response()
        }
    }
}

/// A linearizable read that could not be served, as a response.
pub fn read_failed(err: ReadError, uri: &Uri) -> HttpResponse {
    match err {
        ReadError::NotLeader(leader) => to_leader(leader, uri),
        ReadError::NoQuorum => ApiError::no_quorum().into_response(),
        ReadError::Stopped => ApiError::no_leader().into_response(),
    }
}

/// Does the query ask for `consistency=local`? Any other value than `local` or `linearizable`
/// is an error.
pub fn wants_local(query: Option<&str>) -> Result<bool, ApiError> {
    let value = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(name, value)| (name == "consistency").then_some(value));
    match value {
        None | Some("linearizable") => Ok(false),
        Some("local") => Ok(true),
        Some(other) => Err(ApiError::invalid_query(format!(
            "consistency must be local or linearizable, not {other:?}"
        ))),
    }
}

/// Mark a response served from this node's applied state, without asking the leader.
pub fn mark_local(response: &mut HttpResponse, applied: Option<u64>) {
    let headers = response.headers_mut();
    headers.insert("lithair-consistency", HeaderValue::from_static("local"));
    let applied = applied.map_or_else(|| "none".to_string(), |index| index.to_string());
    if let Ok(value) = HeaderValue::try_from(applied) {
        headers.insert("lithair-applied", value);
    }
}

/// `GET /cluster/status`.
pub fn status(node: &Node) -> HttpResponse {
    response::json(StatusCode::OK, &node.status())
}

/// `GET /cluster/leader`: `{"id":..,"api":..}`, or 503 `no_leader`.
pub fn leader(node: &Node) -> HttpResponse {
    match node.leader() {
        Some(leader) => response::json(StatusCode::OK, &leader),
        None => ApiError::no_leader().into_response(),
    }
}

/// `/health`'s `cluster` section.
pub fn health(node: &Node) -> ClusterStatus {
    node.status()
}

#[cfg(test)]
mod tests {
    use lithair_core::Event;

    use super::*;

    #[test]
    fn a_stale_decision_fails_its_precondition() {
        use crate::model::{Article, Checksum};
        let article = |id| Article {
            id,
            title: "t".into(),
            content: "c".into(),
            author_id: None,
            checksum: Checksum::of_article("t", "c"),
        };
        let mut store = Store::default();
        assert!(precondition(&StoreEvent::ArticleCreated(article(0)), &store));
        assert!(!precondition(&StoreEvent::ArticleCreated(article(1)), &store), "id 0 is next");
        assert!(!precondition(&StoreEvent::ArticleDeleted { id: 0 }, &store), "no article 0");
        StoreEvent::ArticleCreated(article(0)).apply(&mut store);
        assert!(!precondition(&StoreEvent::ArticleCreated(article(0)), &store), "id 0 taken");
        assert!(precondition(&StoreEvent::ArticleUpdated(article(0)), &store));
        assert!(precondition(&StoreEvent::ArticleDeleted { id: 0 }, &store));
    }

    #[test]
    fn consistency_parameter() {
        assert!(!wants_local(None).unwrap());
        assert!(!wants_local(Some("offset=3&limit=2")).unwrap());
        assert!(wants_local(Some("limit=2&consistency=local")).unwrap());
        assert!(!wants_local(Some("consistency=linearizable")).unwrap());
        assert_eq!(wants_local(Some("consistency=eventual")).unwrap_err().code, "invalid_query");
    }

    #[test]
    fn a_redirect_keeps_path_and_query() {
        let leader = LeaderInfo { id: 2, api: "127.0.0.1:8002".into() };
        let uri: Uri = "/api/articles?limit=3".parse().unwrap();
        let response = to_leader(Some(leader), &uri);
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            response.headers()[header::LOCATION],
            "http://127.0.0.1:8002/api/articles?limit=3"
        );
        let response = to_leader(None, &uri);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
