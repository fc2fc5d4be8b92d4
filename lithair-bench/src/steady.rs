//! Steady load: `--steady-seconds` of wrk's POSTs at the run's concurrency on the cluster's
//! leader, no fault, while a sampler asks every node's `/health` every `PERIOD` for its
//! `cluster.term` and `cluster.leader.id`. Leader changes are the terms seen after the first
//! (an election any node noticed, even one the old leader won again), or the leaders seen after
//! the first if more: a new term cannot hide between two samples, since terms only grow.
//!
//! wrk fails on any non-2xx answer (a `307` after a leader change, a `503`): that failure is
//! reported and counted, the sampler's count is the figure.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use cucumber_tests::cluster::Cluster;
use serde_json::{Value, json};

use crate::{cluster, figures::Figures, lithair::Request, options::Options, wrk::Wrk};

/// How often each node is asked.
const PERIOD: Duration = Duration::from_millis(100);
/// A node that does not answer within this is a missed sample (it is busy, not down).
const ANSWER_WITHIN: Duration = Duration::from_millis(500);

/// What the sampler saw: every term (with when it was first seen, in seconds since the load
/// started) and leader id, and how many samples were missed.
#[derive(Default)]
struct Seen {
    terms: BTreeMap<u64, f64>,
    leaders: BTreeSet<u64>,
    samples: u64,
    missed: u64,
}

pub async fn measure(
    cluster: &Cluster,
    options: &Options,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let url = cluster::leader_url(cluster, "/api/articles").await?;
    let apis: Vec<String> = cluster.nodes.iter().map(|node| node.url("/health")).collect();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sampler = tokio::spawn(sample(apis, Arc::clone(&seen)));

    let wrk = Wrk::new(options.connections, options.steady_seconds);
    let script = Request::CreateArticle.script();
    let load = tokio::task::spawn_blocking(move || wrk.run(&url, script.as_deref())).await?;
    sampler.abort();
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));

    let changes = seen.terms.len().max(seen.leaders.len()).saturating_sub(1);
    match &load {
        Ok(result) => {
            println!("  cluster steady load, {} s: {}", options.steady_seconds, result.summary());
            result.record(figures, "cluster.steady");
        }
        Err(error) => println!("  cluster steady load: wrk failed: {error:#}"),
    }
    println!(
        "  cluster steady load: {changes} leader change(s) seen in {} samples of every node's /health ({} unanswered); terms first seen (s into the load) {:?}, leaders seen {:?}",
        seen.samples, seen.missed, seen.terms, seen.leaders
    );
    anyhow::ensure!(seen.samples > seen.missed, "no node answered the sampler");
    figures.set("cluster.steady.leader_changes", changes as f64);
    figures.set("cluster.steady.wrk_failed", f64::from(u8::from(load.is_err())));
    figures.detail(
        "cluster.steady",
        json!({"terms_first_seen_s": seen.terms, "leaders": seen.leaders, "samples": seen.samples,
               "missed": seen.missed}),
    );
    Ok(())
}

/// Every `PERIOD`, each node's `/health` in turn, until aborted.
async fn sample(urls: Vec<String>, seen: Arc<Mutex<Seen>>) {
    let Ok(http) = reqwest::Client::builder().timeout(ANSWER_WITHIN).build() else { return };
    let started = Instant::now();
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tick.tick().await;
        for url in &urls {
            let pair = async {
                let health: Value = http.get(url).send().await.ok()?.json().await.ok()?;
                let cluster = &health["cluster"];
                Some((cluster["term"].as_u64()?, cluster["leader"]["id"].as_u64()))
            }
            .await;
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.samples += 1;
            match pair {
                Some((term, leader)) => {
                    seen.terms.entry(term).or_insert(started.elapsed().as_secs_f64());
                    seen.leaders.extend(leader);
                }
                None => seen.missed += 1,
            }
        }
    }
}
