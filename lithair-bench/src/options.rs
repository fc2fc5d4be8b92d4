//! The command line of `lithair-bench` (and so of `scripts/bench.sh`).

use anyhow::{Context, bail};

pub const USAGE: &str = "lithair-bench [--seconds 5] [--tail-seconds 10] [--connections 50] \
[--runs 1] [--restart-events 1000000] [--no-wrk] [--no-peers]";

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
        Ok(options)
    }
}
