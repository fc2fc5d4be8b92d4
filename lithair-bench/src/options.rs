//! The command line of `lithair-bench` (and so of `scripts/bench.sh`).

use anyhow::{Context, bail};

pub const USAGE: &str = "lithair-bench [--seconds 5] [--tail-seconds 10] [--connections 50] \
[--runs 1] [--restart-events 1000000] [--no-wrk] [--no-peers] [--no-cluster] [--only-cluster] \
[--failover-kills 20] [--steady-seconds 60] [--join-events 1000000] \
[--results target/bench/results.json]";

#[derive(Debug, Clone, serde::Serialize)]
pub struct Options {
    /// Length of each throughput measurement.
    pub seconds: u64,
    /// Length of the tail-latency measurements: fsync POST and Redis `always` SET at
    /// `connections`, whose p99 is compared over 10 s.
    pub tail_seconds: u64,
    /// Concurrent connections of the throughput and tail measurements (`-c50` by default).
    pub connections: usize,
    /// How many times the whole measurement is repeated; the table gives the spread.
    pub runs: usize,
    /// Size of the log the restart is measured on; 0 skips the restart.
    pub restart_events: u64,
    pub wrk: bool,
    pub peers: bool,
    /// The cluster's figures (a 3-node Lithair cluster, and a 3-member etcd cluster).
    pub cluster: bool,
    /// Only the cluster's figures, and the single server's fsync POSTs they are divided by.
    pub only_cluster: bool,
    /// Leader kills of the failover figure (Lithair's and etcd's); 0 skips it.
    pub failover_kills: usize,
    /// Length of the steady load on the cluster; 0 skips it.
    pub steady_seconds: u64,
    /// Events in the cluster a node joins; 0 skips the join.
    pub join_events: u64,
    /// Where every raw number is written; `None`: `target/bench/results.json`.
    pub results: Option<std::path::PathBuf>,
}

impl Options {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Options {
            seconds: 5,
            tail_seconds: 10,
            connections: 50,
            runs: 1,
            restart_events: 1_000_000,
            wrk: true,
            peers: true,
            cluster: true,
            only_cluster: false,
            failover_kills: 20,
            steady_seconds: 60,
            join_events: 1_000_000,
            results: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--seconds" => options.seconds = value()?.parse()?,
                "--tail-seconds" => options.tail_seconds = value()?.parse()?,
                "--connections" => options.connections = value()?.parse()?,
                "--runs" => options.runs = value()?.parse()?,
                "--restart-events" => options.restart_events = value()?.parse()?,
                "--no-wrk" => options.wrk = false,
                "--no-peers" => options.peers = false,
                "--no-cluster" => options.cluster = false,
                "--only-cluster" => options.only_cluster = true,
                "--failover-kills" => options.failover_kills = value()?.parse()?,
                "--steady-seconds" => options.steady_seconds = value()?.parse()?,
                "--join-events" => options.join_events = value()?.parse()?,
                "--results" => options.results = Some(value()?.into()),
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown option {other}; usage: {USAGE}"),
            }
        }
        if options.seconds == 0 || options.tail_seconds == 0 || options.runs == 0 {
            bail!("--seconds, --tail-seconds and --runs must be at least 1");
        }
        if options.only_cluster && !options.cluster {
            bail!("--only-cluster and --no-cluster leave nothing to measure");
        }
        Ok(options)
    }
}
