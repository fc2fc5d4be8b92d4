//! `lithair-bench`: runs the whole measurement `--runs` times, prints the benchmark's table (with
//! the spread over the runs) and writes every raw number to `target/bench/results.json`. Run it
//! with `scripts/bench.sh`, which builds the release binaries first. Not part of `cargo test`: it
//! never fails on a missed goal, it reports it.

#![forbid(unsafe_code)]

use std::time::Duration;

use cucumber_tests::binary;
use lithair_bench::{
    cluster, disk, etcd, etcd_cluster::EtcdCluster, failover, figures::Figures, join, lithair,
    options::Options, peer, redis, restart, steady, table, wrk::Wrk,
};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let use_wrk = options.wrk && peer::installed("wrk");
    if options.wrk && !use_wrk {
        println!(
            "wrk is not installed (apt-get install wrk): the benchmark's figures need it; measuring with the harness's load generator only"
        );
    }
    println!(
        "lithair-bench: {} run(s), {} s per measurement ({} s for the tail), {} connections",
        options.runs, options.seconds, options.tail_seconds, options.connections
    );
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        println!("run {run} of {}", options.runs);
        runs.push(measure_once(&options, use_wrk).await?);
    }
    let groups = table::groups(&options);
    table::print(&groups, &runs);

    let results = json!({
        "machine": machine(),
        "options": options,
        "table": table::to_json(&groups, &runs),
        "runs": runs,
    });
    let path = match &options.results {
        Some(path) => path.clone(),
        None => binary::target_dir().join("bench").join("results.json"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
    println!("\nresults written to {}", path.display());
    Ok(())
}

/// One run: the disk first (nothing else running), then Lithair, the peers, the restart, the
/// cluster. With `--only-cluster`, of the single server only the fsync POSTs.
async fn measure_once(options: &Options, use_wrk: bool) -> anyhow::Result<Figures> {
    let work = tempfile::Builder::new().prefix("lithair-bench-").tempdir()?;
    let mut figures = Figures::default();
    let sync = disk::fdatasync_latency(work.path(), 3000, Duration::from_secs(3))?;
    println!(
        "  fdatasync of 300 bytes ({} samples): p50 {:.3} ms, p99 {:.3} ms",
        sync.samples, sync.p50_ms, sync.p99_ms
    );
    sync.record(&mut figures);

    if options.only_cluster {
        if use_wrk {
            lithair::measure_fsync_post(work.path(), options, &mut figures).await?;
        }
        if options.cluster {
            measure_cluster(work.path(), options, use_wrk, &mut figures).await;
        }
        return Ok(figures);
    }
    lithair::measure(work.path(), options, use_wrk, &mut figures).await?;

    let seconds = Duration::from_secs(options.seconds);
    if !options.peers {
        println!("  peers skipped (--no-peers)");
    } else {
        if redis::installed() {
            let tail = Duration::from_secs(options.tail_seconds);
            redis::measure(work.path(), options.connections, seconds, tail, &mut figures)?;
        } else {
            println!(
                "  Redis skipped: redis-server or redis-benchmark not installed (apt-get install redis-server redis-tools)"
            );
        }
        if !etcd::installed() {
            println!("  etcd skipped: not installed (apt-get install etcd-server)");
        } else if !use_wrk {
            println!("  etcd skipped: its PUTs are measured with wrk");
        } else {
            etcd::measure(
                work.path(),
                Wrk::new(options.connections, options.seconds),
                &mut figures,
            )?;
        }
    }

    if options.restart_events > 0 {
        restart::measure(work.path(), options.restart_events, &mut figures).await?;
    }
    if options.cluster {
        measure_cluster(work.path(), options, use_wrk, &mut figures).await;
    } else {
        println!("  cluster skipped (--no-cluster)");
    }
    Ok(figures)
}

/// The cluster's figures, each on its own: one that fails is reported (and missing from the
/// table), and the others are still measured.
async fn measure_cluster(
    work: &std::path::Path,
    options: &Options,
    use_wrk: bool,
    figures: &mut Figures,
) {
    let mut errors = Vec::new();
    let mut note = |what: &str, result: anyhow::Result<()>| {
        if let Err(error) = result {
            println!("  {what} FAILED: {error:#}");
            errors.push(format!("{what}: {error:#}"));
        }
    };
    match cluster::start(work).await {
        Err(error) => note("cluster start", Err(error)),
        Ok(mut lithair) => {
            if use_wrk {
                note(
                    "cluster throughput",
                    cluster::measure_throughput(&lithair, options, figures).await,
                );
                if options.steady_seconds > 0 {
                    note("cluster steady load", steady::measure(&lithair, options, figures).await);
                }
            }
            if options.failover_kills > 0 {
                let kills = options.failover_kills;
                note("cluster failover", failover::lithair(&mut lithair, kills, figures).await);
            }
            lithair.stop().await;
        }
    }
    if !etcd::installed() {
        println!("  etcd cluster skipped: not installed (apt-get install etcd-server)");
    } else {
        match EtcdCluster::start(work).await {
            Err(error) => note("etcd cluster start", Err(error)),
            Ok(mut etcd) => {
                if use_wrk {
                    note(
                        "etcd cluster throughput",
                        etcd.measure_throughput(options, figures).await,
                    );
                }
                if options.failover_kills > 0 {
                    let kills = options.failover_kills;
                    note("etcd failover", failover::etcd(&mut etcd, kills, figures).await);
                }
            }
        }
    }
    if options.join_events > 0 {
        note("join", join::measure(work, options.join_events, figures).await);
    }
    if !errors.is_empty() {
        figures.detail("cluster.errors", json!(errors));
    }
}

fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    json!({"cpus": cpus, "cpu_model": model})
}
