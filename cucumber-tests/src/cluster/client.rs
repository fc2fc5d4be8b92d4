//! A cluster's client as an application sees it: it sends a request to any node, follows a
//! follower's `307` to the leader, and says what it learnt of the operation's fate.
//!
//! The fate is what a history needs ([`Fate`]): an operation that *definitely did not happen*
//! (`no_leader`, a refused request) is failed; one whose fate the client cannot know (a
//! timeout, a lost connection, `outcome_unknown`) is unknown and may still take effect later.
//! Only an answer from the server makes an operation ok.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use lincheck::{Op, Recorder, Ret};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Redirects followed before the client gives up: a leader change during a request can move
/// the leader once or twice, not more.
const MAX_REDIRECTS: usize = 3;

/// What the client learnt of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// The server answered: the status, the JSON body (`Null` when empty) and which node.
    Answered { status: u16, body: Value, node: SocketAddr },
    /// It did not happen: the reason.
    Failed(String),
    /// It may or may not have happened: the reason.
    Unknown(String),
}

impl Fate {
    /// The server answered with a success.
    pub fn acknowledged(&self) -> bool {
        matches!(self, Fate::Answered { status: 200..=299, .. })
    }

    /// The node that answered, if one did.
    pub fn answered_by(&self) -> Option<SocketAddr> {
        match self {
            Fate::Answered { node, .. } => Some(*node),
            _ => None,
        }
    }

    /// The answer's status and body, if the server answered with `status`.
    pub fn answered(&self, status: u16) -> Option<&Value> {
        match self {
            Fate::Answered { status: got, body, .. } if *got == status => Some(body),
            _ => None,
        }
    }
}

/// An HTTP client for a cluster: no automatic redirects (it follows them itself, to know which
/// node answered), a timeout after which a write's fate is unknown, and the history every
/// operation it performs is recorded in. Clones share the history.
#[derive(Debug, Clone)]
pub struct ClusterClient {
    http: reqwest::Client,
    history: Recorder,
    /// Each node's id and API address, to name the node that answered.
    nodes: Arc<Vec<(u64, SocketAddr)>>,
    /// Written titles and comments are unique in a history: that is how a read names the
    /// write it saw.
    written: Arc<AtomicU64>,
}

impl ClusterClient {
    pub fn new(
        timeout: Duration,
        history: Recorder,
        nodes: Vec<(u64, SocketAddr)>,
    ) -> anyhow::Result<ClusterClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(5))
            .build()?;
        Ok(ClusterClient { http, history, nodes: Arc::new(nodes), written: Arc::default() })
    }

    pub fn history(&self) -> &Recorder {
        &self.history
    }

    /// A title or comment never written before in this history, e.g. `probe-17`.
    pub fn unique(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.written.fetch_add(1, Ordering::Relaxed))
    }

    /// The node with this API address.
    pub fn node_id(&self, api: SocketAddr) -> Option<u64> {
        self.nodes.iter().find(|(_, addr)| *addr == api).map(|(id, _)| *id)
    }

    /// Perform `op` as client `process` through `node`, and record it: invoked now, completed
    /// with what the answer says. Returns what the client learnt.
    pub async fn perform(&self, process: u64, node: SocketAddr, op: Op) -> Fate {
        self.perform_avoiding(process, node, op, &[]).await
    }

    /// [`Self::perform`], but a redirect to one of `avoid` is not followed: the operation
    /// then failed (it was never sent there). For probes that must not wait out a client
    /// timeout on a node the harness knows it killed or paused.
    pub async fn perform_avoiding(
        &self,
        process: u64,
        node: SocketAddr,
        op: Op,
        avoid: &[SocketAddr],
    ) -> Fate {
        let (method, path, body) = request(&op);
        let pending = self.history.invoke(process, op.clone());
        let fate = self.send_avoiding(method, node, &path, body.as_ref(), avoid).await;
        match &fate {
            Fate::Answered { status, body, node } => {
                let by = self.node_id(*node);
                match answer(&op, *status, body) {
                    Some(ret) => pending.ok(by, ret),
                    None => pending.fail(by),
                }
            }
            Fate::Failed(_) => pending.fail(None),
            Fate::Unknown(_) => pending.unknown(None),
        }
        fate
    }

    /// Send `method path` with an optional JSON body to `node`, following redirects.
    pub async fn send(
        &self,
        method: Method,
        node: SocketAddr,
        path: &str,
        body: Option<&Value>,
    ) -> Fate {
        self.send_avoiding(method, node, path, body, &[]).await
    }

    async fn send_avoiding(
        &self,
        method: Method,
        node: SocketAddr,
        path: &str,
        body: Option<&Value>,
        avoid: &[SocketAddr],
    ) -> Fate {
        let writes = method != Method::GET && method != Method::HEAD;
        let mut node = node;
        let mut path = path.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.http.request(method.clone(), format!("http://{node}{path}"));
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                // A write that may have reached the server before the failure may have happened;
                // a refused connection never carried it.
                Err(err) if writes && !err.is_connect() => return Fate::Unknown(err.to_string()),
                Err(err) => return Fate::Failed(err.to_string()),
            };
            let status = response.status();
            if status == StatusCode::TEMPORARY_REDIRECT {
                match redirect_target(response.headers()) {
                    Ok((to, _)) if avoid.contains(&to) => {
                        return Fate::Failed(format!("redirected to {to}, which is down"));
                    }
                    Ok((to, to_path)) => {
                        (node, path) = (to, to_path);
                        continue;
                    }
                    Err(err) => {
                        return Fate::Failed(format!("a 307 without a usable Location: {err:#}"));
                    }
                }
            }
            let text = match response.text().await {
                Ok(text) => text,
                Err(err) if writes => return Fate::Unknown(format!("answer cut off: {err}")),
                Err(err) => return Fate::Failed(format!("answer cut off: {err}")),
            };
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            return classify(status, body, node, writes);
        }
        Fate::Failed(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

/// The request that performs `op`. Comments are written by user 0, which the comment
/// workloads create first.
fn request(op: &Op) -> (Method, String, Option<Value>) {
    let article = |title: &str| json!({"title": title, "content": format!("content of {title}")});
    match op {
        Op::Create { title } => (Method::POST, "/api/articles".into(), Some(article(title))),
        Op::Read { article } => (Method::GET, format!("/api/articles/{article}"), None),
        Op::Update { article: id, title } => {
            (Method::PUT, format!("/api/articles/{id}"), Some(article(title)))
        }
        Op::Delete { article } => (Method::DELETE, format!("/api/articles/{article}"), None),
        Op::Append { article, comment } => (
            Method::POST,
            format!("/api/articles/{article}/comments"),
            Some(json!({"user_id": 0, "body": comment})),
        ),
        Op::ReadComments { article } => {
            (Method::GET, format!("/api/articles/{article}/comments"), None)
        }
    }
}

/// What an answer returned, for the history; `None` when the answer says the operation was
/// refused (a 4xx other than a 404 the model knows), which means it did not happen.
fn answer(op: &Op, status: u16, body: &Value) -> Option<Ret> {
    let text = |field: &str| body[field].as_str().map(str::to_string);
    match (op, status) {
        (Op::Create { .. }, 201) => body["id"].as_u64().map(Ret::Created),
        (Op::Read { .. }, 200) => text("title").map(Ret::Value),
        (Op::Update { .. }, 200) | (Op::Delete { .. }, 204) | (Op::Append { .. }, 201) => {
            Some(Ret::Done)
        }
        (Op::ReadComments { .. }, 200) => {
            let items = body.as_array().or_else(|| body["items"].as_array())?;
            items
                .iter()
                .map(|c| c["body"].as_str().map(str::to_string))
                .collect::<Option<_>>()
                .map(Ret::Comments)
        }
        (Op::Create { .. }, _) => None,
        (_, 404) => Some(Ret::Absent),
        _ => None,
    }
}

/// What a status means for the operation's fate.
fn classify(status: StatusCode, body: Value, node: SocketAddr, writes: bool) -> Fate {
    let code = body["error"]["code"].as_str().unwrap_or_default().to_string();
    match status.as_u16() {
        // A 503 either says the write was never proposed (no leader, not leading) or that its
        // fate is unknown; docs/cluster.md names the codes.
        503 if code == "outcome_unknown" && writes => Fate::Unknown(code),
        503 => Fate::Failed(format!(
            "503 {code}: {}",
            body["error"]["message"].as_str().unwrap_or_default()
        )),
        // Any other server error after a write may have been applied.
        500..=599 if writes => Fate::Unknown(format!("{status}")),
        500..=599 => Fate::Failed(format!("{status}")),
        status => Fate::Answered { status, body, node },
    }
}

fn redirect_target(headers: &reqwest::header::HeaderMap) -> anyhow::Result<(SocketAddr, String)> {
    let location = headers.get("location").context("no Location header")?.to_str()?;
    let url = reqwest::Url::parse(location).with_context(|| format!("Location {location:?}"))?;
    let host = url.host_str().context("no host")?;
    let port = url.port().context("no port")?;
    let node =
        format!("{host}:{port}").parse().with_context(|| format!("Location {location:?}"))?;
    let mut path = url.path().to_string();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    Ok((node, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap()
    }

    #[test]
    fn a_write_whose_fate_is_unknown_is_never_called_failed() {
        let unknown = serde_json::json!({"error": {"code": "outcome_unknown"}});
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, unknown, node(), true),
            Fate::Unknown(_)
        ));
        assert!(matches!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, node(), true),
            Fate::Unknown(_)
        ));
        let no_leader = serde_json::json!({"error": {"code": "no_leader"}});
        assert!(
            matches!(classify(StatusCode::SERVICE_UNAVAILABLE, no_leader, node(), true), Fate::Failed(why) if why.starts_with("503 no_leader"))
        );
    }

    #[test]
    fn answers_are_kept_with_the_node_that_gave_them() {
        let fate = classify(StatusCode::NOT_FOUND, Value::Null, node(), true);
        assert_eq!(fate, Fate::Answered { status: 404, body: Value::Null, node: node() });
    }

    #[test]
    fn a_redirect_names_the_leader_and_keeps_the_path() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("location", "http://127.0.0.1:8002/api/articles/3?x=1".parse().unwrap());
        let (to, path) = redirect_target(&headers).unwrap();
        assert_eq!(
            (to.to_string(), path.as_str()),
            ("127.0.0.1:8002".into(), "/api/articles/3?x=1")
        );
    }
}
