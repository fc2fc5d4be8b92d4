//! Cluster nodes as real `lithair-server` processes on 127.0.0.1 (docs/cluster.md): formation,
//! replication, redirects, the shared secret, unknown outcomes and a leader's death.
//!
//! Waiting here is always for an observable fact (a leader named, an entry applied), polled
//! with a deadline; never a sleep standing in for an acknowledgement.

use std::{
    net::TcpListener as StdListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode, redirect::Policy};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const SECRET: &str = "test-cluster-secret-0123456789";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A port free right now, for a peer listener: membership keeps peer addresses, so they are
/// fixed rather than ephemeral.
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct NodeProc {
    id: u64,
    child: Option<Child>,
    api: String,
    peer: String,
    dir: PathBuf,
}

struct Cluster {
    root: tempfile::TempDir,
    secret: PathBuf,
    nodes: Vec<NodeProc>,
    /// Extra flags every node gets.
    extra: Vec<&'static str>,
}

impl Cluster {
    /// `size` nodes started, not yet initialised.
    async fn start(size: u64) -> Cluster {
        Self::start_with(size, &[]).await
    }

    async fn start_with(size: u64, extra: &[&'static str]) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let secret = root.path().join("secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        let mut cluster = Cluster { root, secret, nodes: Vec::new(), extra: extra.to_vec() };
        for id in 1..=size {
            let dir = cluster.root.path().join(format!("node{id}"));
            let peer = format!("127.0.0.1:{}", free_port());
            let node = spawn(id, &dir, &peer, &cluster.secret, Some(&cluster.extra)).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    fn node(&self, id: u64) -> &NodeProc {
        &self.nodes[(id - 1) as usize]
    }

    fn members(&self) -> Value {
        let members: serde_json::Map<String, Value> = self
            .nodes
            .iter()
            .map(|n| (n.id.to_string(), json!({"peer": n.peer, "api": n.api})))
            .collect();
        json!({ "members": members })
    }

    /// Initialise through node 1 and wait for a leader every live node agrees on.
    async fn init(&self) -> u64 {
        let (status, body) =
            peer_post(&self.node(1).peer, "/cluster/init", Some(SECRET), &self.members()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.wait_leader(|_| true).await
    }

    /// Wait until every live node names the same leader, one that satisfies `accept`.
    async fn wait_leader(&self, accept: impl Fn(u64) -> bool) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut seen = Vec::new();
            for node in self.nodes.iter().filter(|n| n.child.is_some()) {
                // A node not yet in any membership knows no leader, rightly.
                if status_of(node).await["members"].as_object().is_none_or(|m| m.is_empty()) {
                    continue;
                }
                let (status, body) = get(&node.api, "/cluster/leader").await;
                seen.push((status == StatusCode::OK).then(|| body["id"].as_u64().unwrap()));
            }
            if let Some(Some(leader)) = seen.first()
                && seen.iter().all(|s| *s == Some(*leader))
                && accept(*leader)
            {
                return *leader;
            }
            assert!(Instant::now() < deadline, "no agreed leader within 15 s: {seen:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn kill(&mut self, id: u64) {
        let node = &mut self.nodes[(id - 1) as usize];
        let mut child = node.child.take().expect("running");
        child.kill().await.unwrap();
    }

    async fn restart(&mut self, id: u64) {
        let (dir, peer) = {
            let node = self.node(id);
            (node.dir.clone(), node.peer.clone())
        };
        let node = spawn(id, &dir, &peer, &self.secret, Some(&self.extra)).await;
        self.nodes[(id - 1) as usize] = node;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                let _ = child.start_kill();
            }
        }
    }
}

/// Start node `id` and read its two announcement lines.
async fn spawn(id: u64, dir: &Path, peer: &str, secret: &Path, extra: Option<&[&str]>) -> NodeProc {
    spawn_at(id, dir, "127.0.0.1:0", peer, secret, extra).await
}

/// [`spawn`], with the API listening on `bind`.
async fn spawn_at(
    id: u64,
    dir: &Path,
    bind: &str,
    peer: &str,
    secret: &Path,
    extra: Option<&[&str]>,
) -> NodeProc {
    std::fs::create_dir_all(dir).unwrap();
    let stderr = std::fs::File::create(dir.with_extension("log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lithair-server"))
        .args(["--node-id", &id.to_string(), "--bind", bind, "--peer-bind", peer])
        .arg("--cluster-secret-file")
        .arg(secret)
        .arg("--data-dir")
        .arg(dir)
        .args(["--durability", "flush"])
        .args(extra.unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("the API line");
    let second = lines.next_line().await.unwrap().expect("the peers line");
    let api = first.strip_prefix("lithair-server listening on http://").expect(&first).to_string();
    let peers = second.strip_prefix("lithair-server peers on http://").expect(&second);
    assert_eq!(peers, peer);
    NodeProc { id, child: Some(child), api, peer: peer.to_string(), dir: dir.to_owned() }
}

async fn get(address: &str, path: &str) -> (StatusCode, Value) {
    send(Method::GET, address, path, None).await.0
}

async fn send(
    method: Method,
    address: &str,
    path: &str,
    body: Option<&Value>,
) -> ((StatusCode, Value), reqwest::header::HeaderMap) {
    let mut request = client().request(method, format!("http://{address}{path}"));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    ((status, serde_json::from_str(&text).unwrap_or(Value::Null)), headers)
}

async fn peer_post(
    peer: &str,
    path: &str,
    secret: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = client().post(format!("http://{peer}{path}")).json(body);
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_of(node: &NodeProc) -> Value {
    let (status, body) = get(&node.api, "/cluster/status").await;
    assert_eq!(status, StatusCode::OK);
    body
}

/// Create an article through `address`, which must be the leader.
async fn create(address: &str, title: &str) -> Value {
    let article = json!({"title": title, "content": "replicated"});
    let ((status, body), _) = send(Method::POST, address, "/api/articles", Some(&article)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Wait until `node` has applied at least `index`, then read `path` from its local state.
async fn local_read(node: &NodeProc, index: u64, path: &str) -> (StatusCode, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ((status, body), headers) =
            send(Method::GET, &node.api, &format!("{path}?consistency=local"), None).await;
        assert_eq!(headers["lithair-consistency"], "local");
        let applied: u64 = headers["lithair-applied"].to_str().unwrap().parse().unwrap_or(0);
        if applied >= index {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "node {} stuck at {applied} < {index}", node.id);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn three_nodes_elect_replicate_and_redirect() {
    let cluster = Cluster::start(3).await;
    let leader_id = cluster.init().await;
    let leader = cluster.node(leader_id);
    let follower = cluster.nodes.iter().find(|n| n.id != leader_id).unwrap();

    let article = create(&leader.api, "Hello").await;
    let index = status_of(leader).await["applied"].as_u64().unwrap();
    for node in &cluster.nodes {
        let (status, body) = local_read(node, index, "/api/articles/0").await;
        assert_eq!((status, &body), (StatusCode::OK, &article), "node {}", node.id);
    }

    // A follower sends writes and linearizable reads to the leader's API.
    let body = json!({"title": "Elsewhere", "content": "x"});
    let ((status, _), headers) =
        send(Method::POST, &follower.api, "/api/articles", Some(&body)).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(headers["location"], format!("http://{}/api/articles", leader.api));
    let ((status, _), headers) =
        send(Method::GET, &follower.api, "/api/articles/0?x=1", None).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(headers["location"], format!("http://{}/api/articles/0?x=1", leader.api));

    // The leader serves linearizable reads itself.
    let (status, body) = get(&leader.api, "/api/articles/0").await;
    assert_eq!((status, body), (StatusCode::OK, article));

    // Every node says who leads, in /cluster/status and /health alike.
    for node in &cluster.nodes {
        let status = status_of(node).await;
        assert_eq!(status["leader"]["id"], leader_id);
        assert_eq!(status["leader"]["api"], leader.api.as_str());
        assert_eq!(status["members"].as_object().unwrap().len(), 3);
        let (code, health) = get(&node.api, "/health").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(health["cluster"]["leader"]["id"], leader_id);
    }
    assert_eq!(status_of(leader).await["role"], "leader");
    assert_eq!(status_of(follower).await["role"], "follower");
}

#[tokio::test]
async fn a_node_without_a_cluster_has_no_leader() {
    let cluster = Cluster::start(1).await;
    let node = cluster.node(1);
    let body = json!({"title": "Alone", "content": "x"});
    let ((status, body), headers) =
        send(Method::POST, &node.api, "/api/articles", Some(&body)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "no_leader");
    assert_eq!(headers["retry-after"], "1");
    let (status, body) = get(&node.api, "/cluster/leader").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("no_leader"))
    );
    let (status, body) = get(&node.api, "/api/articles").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("no_leader"))
    );
}

#[tokio::test]
async fn peers_without_the_secret_change_nothing() {
    let cluster = Cluster::start(1).await;
    let node = cluster.node(1);

    // Not even initialisation passes without the secret.
    for secret in [None, Some("wrong-secret-0123456789")] {
        let (status, body) =
            peer_post(&node.peer, "/cluster/init", secret, &cluster.members()).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
        );
    }
    let status = status_of(node).await;
    assert!(status["members"].as_object().unwrap().is_empty(), "{status}");

    let leader = cluster.init().await;
    assert_eq!(leader, 1);
    create(&node.api, "Before").await;
    let before = status_of(node).await;

    // A vote for a far higher term, and an append of an entry: both refused before being read.
    let vote = json!({"vote": {"leader_id": {"term": 99, "node_id": 7}, "committed": false},
                      "last_log_id": {"leader_id": {"term": 99, "node_id": 7}, "index": 99}});
    let append = json!({"vote": {"leader_id": {"term": 99, "node_id": 7}, "committed": true},
                        "prev_log_id": null, "leader_commit": null,
                        "entries": [{"log_id": {"leader_id": {"term": 99, "node_id": 7}, "index": 0},
                                     "payload": "Blank"}]});
    for secret in [None, Some("wrong-secret-0123456789")] {
        for (path, body) in [("/raft/vote", &vote), ("/raft/append", &append)] {
            let (status, answer) = peer_post(&node.peer, path, secret, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
        }
        let (status, _) = peer_post(
            &node.peer,
            "/cluster/learners",
            secret,
            &json!({"id": 9, "peer": "127.0.0.1:1", "api": "127.0.0.1:2"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let after = status_of(node).await;
    assert_eq!(after["term"], before["term"], "no term raised");
    assert_eq!(after["last_log"], before["last_log"], "no entry appended");
    assert_eq!(after["members"], before["members"], "no member added");
    assert_eq!(after["role"], "leader");
    let log = std::fs::read_to_string(node.dir.with_extension("log")).unwrap();
    assert!(log.contains("without a valid cluster secret"), "the refusal is logged");

    // With the secret, a vote from a node outside the membership is refused, and a malformed
    // body is a 400: neither changes anything.
    let (status, body) = peer_post(&node.peer, "/raft/vote", Some(SECRET), &vote).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::FORBIDDEN, &json!("unknown_node")));
    let (status, body) =
        peer_post(&node.peer, "/raft/vote", Some(SECRET), &json!({"nope": 1})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("malformed_json"))
    );
    assert_eq!(status_of(node).await["term"], before["term"]);
}

#[tokio::test]
async fn a_leader_that_loses_its_majority_answers_outcome_unknown() {
    let mut cluster = Cluster::start(3).await;
    let leader_id = cluster.init().await;
    let api = cluster.node(leader_id).api.clone();
    create(&api, "Acknowledged").await;
    for id in 1..=3 {
        if id != leader_id {
            cluster.kill(id).await;
        }
    }
    let body = json!({"title": "Unknown", "content": "x"});
    let ((status, body), _) = send(Method::POST, &api, "/api/articles", Some(&body)).await;
    // Either the write was proposed and its outcome is unknown, or the leader already knew it
    // had lost its majority and proposed nothing; never a 4xx, never a 201.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "outcome_unknown", "{body}");
    let (status, body) = get(&api, "/api/articles/0").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a linearizable read needs a majority");
    assert_eq!(body["error"]["code"], "no_quorum");
}

#[tokio::test]
async fn a_killed_leader_is_replaced_and_acknowledged_writes_survive() {
    let mut cluster = Cluster::start(3).await;
    let old = cluster.init().await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        acknowledged.push(create(&cluster.node(old).api, &format!("before {i}")).await);
    }
    cluster.kill(old).await;
    let new = cluster.wait_leader(|leader| leader != old).await;
    acknowledged.push(create(&cluster.node(new).api, "after").await);
    let index = status_of(cluster.node(new)).await["applied"].as_u64().unwrap();

    // The old leader comes back as a follower and catches up.
    cluster.restart(old).await;
    cluster.wait_leader(|_| true).await;
    for node in &cluster.nodes {
        let (status, page) = local_read(node, index, "/api/articles").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"], Value::Array(acknowledged.clone()), "node {}", node.id);
    }
}

#[tokio::test]
async fn a_data_directory_serves_only_its_own_node() {
    let mut cluster = Cluster::start(1).await;
    cluster.kill(1).await;
    let dir = cluster.node(1).dir.clone();
    let start = Command::new(env!("CARGO_BIN_EXE_lithair-server"))
        .args(["--node-id", "2", "--bind", "127.0.0.1:0", "--peer-bind", "127.0.0.1:0"])
        .arg("--cluster-secret-file")
        .arg(&cluster.secret)
        .arg("--data-dir")
        .arg(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), start)
        .await
        .expect("node 2 refuses node 1's data directory instead of serving it")
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "never announced");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("node.json") && stderr.contains("belongs to node 1"), "{stderr}");
}

#[tokio::test]
async fn a_learner_catches_up_and_becomes_a_voter() {
    let cluster = Cluster::start(4).await;
    let mut members = cluster.members();
    members["members"].as_object_mut().unwrap().remove("4");
    let (status, body) =
        peer_post(&cluster.node(1).peer, "/cluster/init", Some(SECRET), &members).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let leader = cluster.wait_leader(|_| true).await;
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        acknowledged.push(create(&cluster.node(leader).api, &format!("before joining {i}")).await);
    }

    let new = cluster.node(4);
    let learner = json!({"id": 4, "peer": new.peer, "api": new.api});
    let follower = cluster.nodes.iter().find(|n| n.id != leader && n.id != 4).unwrap();
    let (status, body) =
        peer_post(&follower.peer, "/cluster/learners", Some(SECRET), &learner).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::MISDIRECTED_REQUEST, &json!("not_leader"))
    );
    let leader_peer = &cluster.node(leader).peer;
    let (status, body) = peer_post(leader_peer, "/cluster/learners", Some(SECRET), &learner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["members"]["4"]["voter"], false);
    let (status, body) =
        peer_post(leader_peer, "/cluster/voters", Some(SECRET), &json!({"ids": [1, 2, 3, 4]}))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["members"]["4"]["voter"], true, "{body}");

    let index = status_of(cluster.node(leader)).await["applied"].as_u64().unwrap();
    let (status, page) = local_read(new, index, "/api/articles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"], Value::Array(acknowledged));
    assert_eq!(status_of(new).await["role"], "follower");
}

#[tokio::test]
async fn a_follower_far_behind_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start_with(3, &["--snapshot-every", "10"]).await;
    let leader = cluster.init().await;
    let behind = if leader == 1 { 2 } else { 1 };
    cluster.kill(behind).await;
    let mut acknowledged = Vec::new();
    for i in 0..40 {
        acknowledged.push(create(&cluster.node(leader).api, &format!("while away {i}")).await);
    }
    let index = status_of(cluster.node(leader)).await["applied"].as_u64().unwrap();
    cluster.restart(behind).await;
    let (status, page) = local_read(cluster.node(behind), index, "/api/articles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"], Value::Array(acknowledged));
    let log = std::fs::read_to_string(cluster.node(behind).dir.with_extension("log")).unwrap();
    assert!(
        log.contains("install_snapshot") || log.contains("InstallSnapshot"),
        "caught up from a snapshot"
    );
}

/// `lithair-server migrate` on `dir` for node 1 at `peer` and `api`.
async fn migrate(dir: &Path, peer: &str, api: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lithair-server"))
        .args(["migrate", "--node-id", "1", "--peer-advertise", peer, "--api-advertise", api])
        .arg("--data-dir")
        .arg(dir)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

/// Every file of `dir` and its content.
fn files_of(dir: &Path) -> Vec<(std::ffi::OsString, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| {
            let bytes = std::fs::read(entry.path()).unwrap();
            (entry.file_name(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    files.sort();
    files
}

/// A single server (no `--node-id`) on `dir` that has acknowledged `count` creates and an
/// update, still running; with what it serves at `/api/articles`.
async fn single_server_with_articles(dir: &Path, count: usize) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lithair-server"))
        .args(["--bind", "127.0.0.1:0", "--durability", "fsync"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("the API line");
    let api = first.strip_prefix("lithair-server listening on http://").expect(&first).to_string();
    for i in 0..count {
        create(&api, &format!("single {i}")).await;
    }
    let update = json!({"title": "single 0, updated", "content": "é ✓ \"quoted\"\nline"});
    let ((status, _), _) = send(Method::PUT, &api, "/api/articles/0", Some(&update)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, listing) = get(&api, "/api/articles?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    (child, listing)
}

#[tokio::test]
async fn a_single_servers_data_is_migrated_and_served_by_a_node() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("node1");
    let secret = root.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let (peer, api) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let (mut single, listing) = single_server_with_articles(&dir, 12).await;

    // Refused while the single server holds the directory, which is left as it was.
    let before = files_of(&dir);
    let output = migrate(&dir, &peer, &api).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("in use by another Lithair process"), "{stderr}");
    assert_eq!(files_of(&dir), before);
    single.kill().await.unwrap();
    let v1 = std::fs::read(dir.join("events.raftlog")).unwrap();

    // A node refuses the v1 directory, naming the file, the offset, why, and the command.
    let start = Command::new(env!("CARGO_BIN_EXE_lithair-server"))
        .args(["--node-id", "1", "--bind", &api, "--peer-bind", &peer])
        .arg("--cluster-secret-file")
        .arg(&secret)
        .arg("--data-dir")
        .arg(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), start).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && output.stdout.is_empty(), "{stderr}");
    let command = format!(
        "lithair-server migrate --data-dir {} --node-id 1 --peer-advertise {peer} \
         --api-advertise {api}",
        dir.display()
    );
    for part in [
        &format!("{}: the record at byte offset 0", dir.join("events.raftlog").display()),
        "is a version-1 record",
        &command,
    ] {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    assert_eq!(std::fs::read(dir.join("events.raftlog")).unwrap(), v1);

    let output = migrate(&dir, &peer, &api).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("migrated 13 events"), "{stdout}");
    assert_eq!(std::fs::read(dir.join("events.raftlog.v1")).unwrap(), v1, "the v1 log is kept");

    // Once is enough: a second migration is refused and changes nothing.
    let before = files_of(&dir);
    let output = migrate(&dir, &peer, &api).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("already version 2"), "{stderr}");
    assert_eq!(files_of(&dir), before);

    // The node leads a one-node cluster without `/cluster/init` and serves every article as
    // the single server did; the next create gets the next id.
    let node = spawn_at(1, &dir, &api, &peer, &secret, None).await;
    let mut cluster = Cluster { root, secret, nodes: vec![node], extra: Vec::new() };
    assert_eq!(cluster.wait_leader(|_| true).await, 1);
    assert_eq!(status_of(cluster.node(1)).await["leader"]["api"], api.as_str());
    let (status, served) = get(&api, "/api/articles?limit=1000").await;
    assert_eq!((status, &served), (StatusCode::OK, &listing));
    for article in listing["items"].as_array().unwrap() {
        let (status, body) = get(&api, &format!("/api/articles/{}", article["id"])).await;
        assert_eq!((status, &body), (StatusCode::OK, article));
    }
    let after = create(&api, "after the migration").await;
    assert_eq!(after["id"], 12);

    // Two empty nodes join it as learners, then voters, and serve the same articles.
    let leader_peer = cluster.node(1).peer.clone();
    for id in [2, 3] {
        let dir = cluster.root.path().join(format!("node{id}"));
        let peer = format!("127.0.0.1:{}", free_port());
        let node = spawn(id, &dir, &peer, &cluster.secret, None).await;
        let learner = json!({"id": id, "peer": node.peer, "api": node.api});
        let (status, body) =
            peer_post(&leader_peer, "/cluster/learners", Some(SECRET), &learner).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        cluster.nodes.push(node);
    }
    let (status, body) =
        peer_post(&leader_peer, "/cluster/voters", Some(SECRET), &json!({"ids": [1, 2, 3]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let index = status_of(cluster.node(1)).await["applied"].as_u64().unwrap();
    let mut items = listing["items"].as_array().unwrap().clone();
    items.push(after);
    for node in &cluster.nodes {
        let (status, page) = local_read(node, index, "/api/articles").await;
        assert_eq!((status, &page["items"]), (StatusCode::OK, &Value::Array(items.clone())));
    }
}

#[tokio::test]
async fn a_damaged_single_server_log_is_not_migrated() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let (mut single, _) = single_server_with_articles(&dir, 3).await;
    single.kill().await.unwrap();
    let path = dir.join("events.raftlog");
    let log = std::fs::read_to_string(&path).unwrap();
    let second = log.find('\n').unwrap() + 1;
    let damaged = log.replacen("single 1", "single X", 1);
    std::fs::write(&path, &damaged).unwrap();

    let before = files_of(&dir);
    let output = migrate(&dir, "127.0.0.1:7001", "127.0.0.1:8001").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(files_of(&dir), before, "nothing changed: {stderr}");
    for part in
        [&format!("{} is corrupt at byte offset {second}", path.display()), "checksum", "unchanged"]
    {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}
