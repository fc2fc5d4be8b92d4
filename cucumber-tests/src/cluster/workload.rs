//! What the clients of a cluster scenario do: many clients racing on a few articles, each
//! article a register (read, overwrite, delete), or each article's comments an append-only
//! list. Every operation is recorded in the history by [`ClusterClient::perform`].
//!
//! Which operation, on which article, through which node is decided by a random source the
//! caller gives (the scenario's seeded stream, `crate::seed`), so the same seed replays the
//! same operations in the same order per client.
//!
//! A client whose operation ended unknown carries on under a new process id, as in Jepsen: a
//! process never has two operations open at once, which the linearizability search relies on.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use lincheck::Op;

use super::{ClusterClient, Fate};

/// What one client does, and for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Client number: its process ids are `client`, `client + clients`, `client + 2 × clients`…
    pub client: u64,
    pub clients: u64,
    /// The articles the clients work on, by id, shared by all of them: register clients
    /// create new ones and delete old ones, so that the pool neither dies out nor grows stale.
    pub articles: Arc<Mutex<Vec<u64>>>,
    /// The nodes it sends requests to, one chosen per operation.
    pub nodes: Vec<SocketAddr>,
    pub duration: Duration,
    /// Pause between operations, so that a handful of clients leave the two cores to the nodes.
    pub think: Duration,
}

/// Which kind of workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads (45%), overwrites (40%), creates (10%) and deletes (5%). A deleted article never
    /// comes back (ids are not reused), so creates keep live articles in the pool.
    Register,
    /// Comment appends and comment-list reads, half each.
    ListAppend,
    /// Reads only, of the register articles. A reader pinned to one node is what catches a
    /// deposed leader serving stale reads: writers soon all wait on the cut-off node, so
    /// without readers that stay on it, hardly a read reaches it after the majority moved on.
    Reader,
}

/// Run one client's plan; `random(n)` gives a number below `n`. Returns how many operations
/// it performed.
pub async fn run(
    client: &ClusterClient,
    plan: &Plan,
    kind: Kind,
    mut random: impl FnMut(u64) -> u64 + Send,
) -> usize {
    let deadline = Instant::now() + plan.duration;
    let mut process = plan.client;
    let mut performed = 0;
    while Instant::now() < deadline && !plan.nodes.is_empty() {
        let node = plan.nodes[random(plan.nodes.len() as u64) as usize];
        let dice = random(100);
        let pool: Vec<u64> = plan.articles.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let op = match (kind, pool.is_empty()) {
            (Kind::Register, true) => Op::Create { title: client.unique("title") },
            (Kind::ListAppend | Kind::Reader, true) => break,
            (_, false) => {
                let article = pool[random(pool.len() as u64) as usize];
                match kind {
                    Kind::Register if dice < 45 => Op::Read { article },
                    Kind::Register if dice < 85 => {
                        Op::Update { article, title: client.unique("title") }
                    }
                    Kind::Register if dice < 95 => Op::Create { title: client.unique("title") },
                    Kind::Register => Op::Delete { article },
                    Kind::Reader => Op::Read { article },
                    Kind::ListAppend if dice < 50 => Op::ReadComments { article },
                    Kind::ListAppend => Op::Append { article, comment: client.unique("comment") },
                }
            }
        };
        let fate = client.perform(process, node, op.clone()).await;
        performed += 1;
        match (&op, &fate) {
            (Op::Create { .. }, _) => {
                if let Some(id) = fate.answered(201).and_then(|body| body["id"].as_u64()) {
                    plan.articles.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                }
            }
            (Op::Delete { article }, _) if fate.acknowledged() => {
                plan.articles.lock().unwrap_or_else(|p| p.into_inner()).retain(|id| id != article);
            }
            _ => {}
        }
        if matches!(fate, Fate::Unknown(_)) {
            process += plan.clients;
        }
        tokio::time::sleep(plan.think).await;
    }
    performed
}
