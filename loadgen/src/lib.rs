//! A load generator for HTTP/1.1 servers: drives a server over keep-alive connections at a
//! fixed concurrency (closed loop) or a fixed arrival rate (open loop), and reports what came
//! back — every status, every transport error, every response the workload's checker rejects,
//! a latency histogram, and the ids the server acknowledged.
//!
//! Nothing in it knows which server it drives: a [`Workload`] says what to send and judges
//! each answer. Lithair's harness and its benchmark both use it, with Lithair's workloads.
//!
//! The modules follow a run from start to end:
//! - `config`: how big the load is and how it is paced ([`LoadConfig`], [`Pace`]);
//! - `workload`: what to send and what counts as success;
//! - `schedule`: the tickets workers share (which request next, and when it is due);
//! - `connection`: one keep-alive connection and its transport errors;
//! - `worker`: one connection's loop, tallying what comes back;
//! - `report`: what a run measured ([`LoadReport`]).
//!
//! Acknowledgements from warm-up requests are kept, so that a caller can later prove every
//! acknowledged write durable, though warm-up requests are left out of the latency histogram
//! and the throughput.

#![forbid(unsafe_code)]

mod config;
mod connection;
mod report;
mod schedule;
mod worker;
mod workload;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::try_join_all;
use http::HeaderValue;
use tokio::task::JoinSet;
use tokio::time::timeout;

pub use crate::config::{LoadConfig, Pace};
pub use crate::report::LoadReport;
pub use crate::workload::{Check, Request, Workload};
use crate::{
    connection::{Link, TransportError},
    schedule::Plan,
    worker::Worker,
};

/// Runs one load against `addr` and reports on it. Fails only if the config is invalid, the
/// server cannot be reached before the run starts, or a workload panics; everything that
/// goes wrong during the run is counted in the report.
pub async fn run(
    addr: SocketAddr,
    config: &LoadConfig,
    workload: Arc<dyn Workload>,
) -> anyhow::Result<LoadReport> {
    Prepared::connect(addr, config, workload).await?.execute().await
}

/// Runs several loads at the same time, each with its own connections and pace (e.g. readers
/// and writers of a mixed scenario), and reports on each; [`LoadReport::merge`] gives the total.
/// All connections are open before any load starts.
pub async fn run_many(
    addr: SocketAddr,
    loads: &[(LoadConfig, Arc<dyn Workload>)],
) -> anyhow::Result<Vec<LoadReport>> {
    let prepared = try_join_all(
        loads.iter().map(|(config, workload)| Prepared::connect(addr, config, workload.clone())),
    )
    .await?;
    try_join_all(prepared.into_iter().map(Prepared::execute)).await
}

/// A load whose connections are open, so that connecting is neither timed nor paced.
struct Prepared {
    addr: SocketAddr,
    config: LoadConfig,
    workload: Arc<dyn Workload>,
    links: Vec<Link>,
}

impl Prepared {
    async fn connect(
        addr: SocketAddr,
        config: &LoadConfig,
        workload: Arc<dyn Workload>,
    ) -> anyhow::Result<Self> {
        config.validate().with_context(|| format!("invalid load config {:?}", config.label))?;
        let connect_one = || async {
            timeout(config.request_timeout, Link::connect(addr))
                .await
                .unwrap_or(Err(TransportError::Timeout(config.request_timeout)))
        };
        let links = try_join_all((0..config.connections).map(|_| connect_one()))
            .await
            .with_context(|| format!("opening {} connections to {addr}", config.connections))?;
        Ok(Self { addr, config: config.clone(), workload, links })
    }

    async fn execute(self) -> anyhow::Result<LoadReport> {
        let Self { addr, config, workload, links } = self;
        let plan = Arc::new(Plan::new(&config.pace, config.warmup, Instant::now()));
        let host = HeaderValue::try_from(addr.to_string()).context("a socket address as Host")?;
        // A set, so that a caller who gives up on the run (drops it) stops its workers too.
        let mut workers = JoinSet::new();
        for link in links {
            let worker =
                Worker::new(addr, host.clone(), &config, plan.clone(), workload.clone(), link)?;
            workers.spawn(worker.run());
        }
        let mut tallies = Vec::with_capacity(config.connections);
        while let Some(tally) = workers.join_next().await {
            tallies.push(tally.context("a load worker panicked")?);
        }

        let last_response = tallies.iter().filter_map(|tally| tally.last_measured_response).max();
        let reports: Vec<LoadReport> = tallies.into_iter().map(|tally| tally.report).collect();
        let mut report = LoadReport::merge(&config.label, &reports)?;
        report.connections = config.connections;
        report.target_rate = plan.target_rate();
        report.elapsed = last_response
            .map_or(Duration::ZERO, |last| last.saturating_duration_since(plan.measured_from()));
        Ok(report)
    }
}
