//! What each node of a cluster holds at the end of a scenario, in the form the checkers take
//! ([`FinalState`]): as the node serves it, and as its own log file replays with the harness's
//! reader (never the engine's).

use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context, bail, ensure};
use lincheck::FinalState;
use serde_json::Value;

use super::Cluster;
use crate::raftlog::RaftLog;

/// How long followers get to apply what the leader committed before a check reads them.
const CONVERGENCE_DEADLINE: Duration = Duration::from_secs(15);

impl Cluster {
    /// What each serving node holds, as it serves it from its own applied state
    /// (`?consistency=local`), once it has applied all that the leader had applied when the
    /// check began.
    pub async fn served_states(&self) -> anyhow::Result<Vec<FinalState>> {
        let cluster = self;
        let target = cluster.applied_by_leader().await?;
        let deadline = tokio::time::Instant::now() + CONVERGENCE_DEADLINE;
        for node in cluster.nodes.iter().filter(|node| node.is_serving()) {
            loop {
                let applied = cluster.status(node.id).await?["applied"].as_u64().unwrap_or(0);
                if applied >= target {
                    break;
                }
                let late = format!("node {} applied {applied} of {target} committed", node.id);
                if tokio::time::Instant::now() > deadline {
                    bail!("{late}{}", cluster.describe().await);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let http = reqwest::Client::new();
        let mut states = Vec::new();
        for node in cluster.nodes.iter().filter(|node| node.is_serving()) {
            let articles = local_articles(&http, &node.url("")).await?;
            let mut comments = BTreeMap::new();
            for id in articles.keys() {
                let url = node.url(&format!("/api/articles/{id}/comments?consistency=local"));
                let list: Value = http.get(&url).send().await?.json().await?;
                let items =
                    list.as_array().or_else(|| list["items"].as_array()).context("not a list")?;
                let bodies = items.iter().filter_map(|c| c["body"].as_str().map(str::to_string));
                comments.insert(*id, bodies.collect());
            }
            states.push(FinalState { node: node.id, articles, comments });
        }
        Ok(states)
    }

    /// What each node holds as its own log file says, replayed by the harness's reader.
    ///
    /// Only a log that holds the whole history replays to a node's state: a node that caught
    /// up from a snapshot keeps only the log after it (the harness does not read the cluster's
    /// snapshot files). Such nodes are left out here, and named on the console; what they
    /// serve is still checked, and so is their log's agreement with the others'.
    pub async fn logged_states(&self) -> anyhow::Result<Vec<FinalState>> {
        let cluster = self;
        let mut states = Vec::new();
        // A spare node that never started has no log to read.
        for node in cluster.nodes.iter().filter(|node| node.spec.data_dir.exists()) {
            let path = node.spec.data_dir.join("events.raftlog");
            let log = tokio::task::spawn_blocking(move || RaftLog::read(&path)).await??;
            if let Some(first) = log.records().first().filter(|record| record.seq > 0) {
                println!(
                    "    node {}'s log starts at index {} (after a snapshot): judged by what it serves",
                    node.id, first.seq
                );
                continue;
            }
            let replay = log.replay();
            let articles = replay.articles.iter().map(|(id, a)| (*id, a.title.clone())).collect();
            let mut comments: BTreeMap<u64, Vec<String>> = BTreeMap::new();
            // Comment ids grow in the order they were applied.
            for comment in replay.comments.values() {
                comments.entry(comment.article_id).or_default().push(comment.body.clone());
            }
            states.push(FinalState { node: node.id, articles, comments });
        }
        Ok(states)
    }
}

/// Every article a node serves from its own applied state, page by page: id → title.
async fn local_articles(
    http: &reqwest::Client,
    base: &str,
) -> anyhow::Result<BTreeMap<u64, String>> {
    const PAGE: usize = 1000; // the API's largest page
    let mut articles = BTreeMap::new();
    let mut offset = 0;
    loop {
        let url = format!("{base}/api/articles?consistency=local&offset={offset}&limit={PAGE}");
        let response = http.get(&url).send().await?;
        ensure!(response.status() == 200, "GET {url} answered {}", response.status());
        let page: Value = response.json().await?;
        let items = page["items"].as_array().context("a page without items")?;
        for item in items {
            let id = item["id"].as_u64().context("an article without id")?;
            articles.insert(id, item["title"].as_str().unwrap_or_default().to_string());
        }
        if items.len() < PAGE {
            return Ok(articles);
        }
        offset += items.len();
    }
}
