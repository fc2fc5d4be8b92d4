//! Failover, for Lithair's cluster and etcd's alike: SIGKILL the leader, and measure the time
//! from the kill to the first write a survivor acknowledges. Then restart the killed node and
//! wait until there is a leader and all three are up and caught up, before the next kill.
//!
//! The client is one that wants its write through as soon as the cluster can take it: from the
//! kill on, it starts a new attempt every `ATTEMPT_EVERY`, each to the next survivor in turn,
//! each on its own connection budget (`ATTEMPT_TIMEOUT`), without waiting for the attempts
//! still under way: a survivor that hangs (a follower forwarding to the dead leader) delays
//! nothing. Lithair's `307` to a leader is followed once; `503 no_leader` and refused
//! connections are failures, retried by the next attempt. The first `2xx` stops the clock;
//! attempts still under way are then dropped.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use anyhow::bail;
use base64::{Engine, engine::general_purpose::STANDARD};
use cucumber_tests::cluster::Cluster;
use reqwest::{StatusCode, header::LOCATION};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::{cluster, etcd_cluster::EtcdCluster, figures::Figures};

/// A new attempt this often.
const ATTEMPT_EVERY: Duration = Duration::from_millis(20);
/// One attempt's budget, connection and answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// A kill after which nothing was acknowledged for this long fails the figure.
const GIVE_UP: Duration = Duration::from_secs(30);

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// From `killed` until one `attempt(n)` (n = 0, 1, 2…) answers true.
async fn first_ack<F, Fut>(killed: Instant, attempt: F) -> anyhow::Result<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let mut attempts = JoinSet::new();
    let mut tick = tokio::time::interval(ATTEMPT_EVERY);
    for n in 0.. {
        tokio::select! {
            Some(Ok(Some(acknowledged))) = attempts.join_next() => return Ok(acknowledged - killed),
            _ = tick.tick() => {
                if killed.elapsed() > GIVE_UP {
                    bail!("no write acknowledged within {GIVE_UP:?} of the kill");
                }
                let attempt = attempt(n);
                attempts.spawn(async move { attempt.await.then(Instant::now) });
            }
        }
    }
    unreachable!("the attempts are numbered without end")
}

/// Median and maximum of the kills' times, under `{prefix}.median_ms` and `{prefix}.max_ms`.
fn record(figures: &mut Figures, prefix: &str, name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let (median, min, max) = (median(&ms), ms[0], ms[ms.len() - 1]);
    println!(
        "  {name} failover over {} kills, kill → first acknowledged write: median {median:.0} ms, min {min:.0} ms, max {max:.0} ms",
        ms.len()
    );
    figures.set(format!("{prefix}.median_ms"), median);
    figures.set(format!("{prefix}.min_ms"), min);
    figures.set(format!("{prefix}.max_ms"), max);
    figures.detail(prefix, json!({ "kill_to_first_ack_ms": ms }));
}

/// The median of sorted values: the middle one, or the mean of the middle two.
fn median(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// `kills` times: the Lithair leader SIGKILLed, a create retried on the survivors.
pub async fn lithair(
    cluster: &mut Cluster,
    kills: usize,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let http = client()?;
    let mut times = Vec::with_capacity(kills);
    for kill in 0..kills {
        cluster::wait_caught_up(cluster).await?;
        let leader = cluster.wait_for_leader(None).await?;
        let survivors: Vec<String> = cluster
            .nodes
            .iter()
            .filter(|node| node.id != leader)
            .map(|node| node.url("/api/articles"))
            .collect();
        let killed = Instant::now();
        cluster.kill(leader).await?;
        let took = first_ack(killed, |n| {
            let url = survivors[n % survivors.len()].clone();
            let body = json!({"title": format!("failover {kill} attempt {n}"), "content": "x"});
            create(http.clone(), url, body)
        })
        .await?;
        times.push(took.as_secs_f64() * 1000.0);
        cluster.restart(leader).await?;
    }
    cluster::wait_caught_up(cluster).await?;
    record(figures, "cluster.failover", "cluster", times);
    Ok(())
}

/// POST a create, following one `307`; whether it was acknowledged.
async fn create(http: reqwest::Client, url: String, body: Value) -> bool {
    let Ok(response) = http.post(&url).json(&body).send().await else { return false };
    if response.status() != StatusCode::TEMPORARY_REDIRECT {
        return response.status().is_success();
    }
    let Some(location) = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()) else {
        return false;
    };
    http.post(location).json(&body).send().await.is_ok_and(|r| r.status().is_success())
}

/// `kills` times: etcd's leader SIGKILLed, a PUT retried on the survivors.
pub async fn etcd(
    cluster: &mut EtcdCluster,
    kills: usize,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let http = client()?;
    let mut times = Vec::with_capacity(kills);
    for kill in 0..kills {
        let leader = cluster.settle().await?;
        let survivors: Vec<String> = (0..crate::etcd_cluster::MEMBERS)
            .filter(|&index| index != leader)
            .map(|index| cluster.url(index, "/v3/kv/put"))
            .collect();
        let killed = Instant::now();
        cluster.kill(leader);
        let took = first_ack(killed, |n| {
            let url = survivors[n % survivors.len()].clone();
            let key = STANDARD.encode(format!("failover-{kill}"));
            let body = json!({"key": key, "value": STANDARD.encode(format!("attempt {n}"))});
            let http = http.clone();
            async move {
                http.post(&url).json(&body).send().await.is_ok_and(|r| r.status().is_success())
            }
        })
        .await?;
        times.push(took.as_secs_f64() * 1000.0);
        cluster.restart(leader)?;
    }
    cluster.settle().await?;
    record(figures, "etcd3.failover", "etcd", times);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_clock_stops_at_the_first_acknowledged_attempt() {
        let killed = Instant::now();
        // Attempts 0 to 4 fail at once: the 6th attempt starts 5 periods after the kill.
        let took = first_ack(killed, |n| async move { n >= 5 }).await.unwrap();
        assert!(took >= 5 * ATTEMPT_EVERY, "{took:?}");
        assert!(took < 5 * ATTEMPT_EVERY + Duration::from_millis(500), "{took:?}");
    }

    #[tokio::test]
    async fn an_attempt_that_hangs_delays_nothing() {
        let killed = Instant::now();
        // Attempt 0 hangs (a survivor forwarding to the dead leader); attempt 1 goes through.
        let took = first_ack(killed, |n| async move {
            if n == 0 {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            n <= 1
        })
        .await
        .unwrap();
        assert!(took >= ATTEMPT_EVERY && took < Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
    }
}
