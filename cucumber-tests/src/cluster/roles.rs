//! Each node's role over a scenario, sampled from its `/cluster/status`, for the run report's
//! role lanes (Jepsen's timeline): who led when, who was down, who was campaigning.
//!
//! A background task asks every node in turn every [`PERIOD`]; a node that does not answer
//! within [`ANSWER_WITHIN`] (killed, paused, or its API unreachable) is sampled as `down`.
//! Only changes are kept, so a long quiet scenario stays small.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;

const PERIOD: Duration = Duration::from_millis(200);
const ANSWER_WITHIN: Duration = Duration::from_millis(300);

/// Each node's `(ms since the origin, role)` changes, by node id.
pub type Roles = Vec<(u64, Vec<(f64, String)>)>;

/// The sampling task; [`RoleSampler::stop`] ends it and gives the samples.
#[derive(Debug)]
pub struct RoleSampler {
    roles: Arc<Mutex<Roles>>,
    task: JoinHandle<()>,
}

impl RoleSampler {
    pub fn start(nodes: Vec<(u64, SocketAddr)>, origin: Instant) -> anyhow::Result<RoleSampler> {
        let http = reqwest::Client::builder().timeout(ANSWER_WITHIN).build()?;
        let roles: Arc<Mutex<Roles>> =
            Arc::new(Mutex::new(nodes.iter().map(|(id, _)| (*id, Vec::new())).collect()));
        let shared = Arc::clone(&roles);
        let task = tokio::spawn(async move {
            loop {
                for (index, (_, api)) in nodes.iter().enumerate() {
                    let role = sample(&http, *api).await;
                    let at = origin.elapsed().as_secs_f64() * 1000.0;
                    let mut roles = shared.lock().unwrap_or_else(|p| p.into_inner());
                    let samples = &mut roles[index].1;
                    if samples.last().is_none_or(|(_, last)| *last != role) {
                        samples.push((at, role));
                    }
                }
                tokio::time::sleep(PERIOD).await;
            }
        });
        Ok(RoleSampler { roles, task })
    }

    pub fn stop(self) -> Roles {
        self.task.abort();
        std::mem::take(&mut *self.roles.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

async fn sample(http: &reqwest::Client, api: SocketAddr) -> String {
    let status = async {
        let response = http.get(format!("http://{api}/cluster/status")).send().await.ok()?;
        let status: serde_json::Value = response.json().await.ok()?;
        status["role"].as_str().map(str::to_string)
    };
    status.await.unwrap_or_else(|| "down".to_string())
}
