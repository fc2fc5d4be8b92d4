//! Redis as the peer for durable writes: `SET` with `appendfsync always` (an `fdatasync` per
//! write batch before the answer, what Lithair's fsync mode promises) and `everysec` (what its
//! flush mode compares with), and `GET`, measured with `redis-benchmark` at the same
//! concurrency as Lithair, 100-byte values.
//!
//! `redis-benchmark` counts requests, not seconds: a short calibration run sizes each
//! measurement to last about as long as Lithair's.

use std::{path::Path, process::Command, time::Duration};

use anyhow::Context;
use serde_json::json;

use crate::{
    figures::Figures,
    peer::{self, Peer},
};

pub fn installed() -> bool {
    peer::installed("redis-server") && peer::installed("redis-benchmark")
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkLine {
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The slowest request: a stall of the disk shows here even when it is too rare for the
    /// p99 (it holds up every client at once, but only once).
    pub max_ms: Option<f64>,
}

/// SET (always) over `tail`, SET (everysec) and GET over `duration`, at `connections`.
pub fn measure(
    work: &Path,
    connections: usize,
    duration: Duration,
    tail: Duration,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let version = Command::new("redis-server").arg("--version").output()?;
    figures.detail("redis.version", json!(String::from_utf8_lossy(&version.stdout).trim()));
    let mut commands = Vec::new();
    for policy in ["always", "everysec"] {
        let (server, port) = start(work, policy, &mut commands)?;
        let span = if policy == "always" { tail } else { duration };
        let set = benchmark(port, connections, "set", span, &mut commands)?;
        record(figures, &format!("redis.set_{policy}"), &set);
        if policy == "everysec" {
            let get = benchmark(port, connections, "get", duration, &mut commands)?;
            record(figures, "redis.get", &get);
        }
        drop(server);
    }
    figures.detail("redis.commands", json!(commands));
    Ok(())
}

fn start(work: &Path, policy: &str, commands: &mut Vec<String>) -> anyhow::Result<(Peer, u16)> {
    let dir = work.join(format!("redis-{policy}"));
    std::fs::create_dir_all(&dir)?;
    let port = peer::free_port()?;
    let mut command = Command::new("redis-server");
    command
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .arg("--dir")
        .arg(&dir)
        .args(["--appendonly", "yes", "--appendfsync", policy, "--save", ""]);
    commands.push(peer::command_line(&command));
    let server = Peer::start("redis-server", command, &dir.join("redis.log"), port)?;
    Ok((server, port))
}

/// Runs `redis-benchmark -t {test}` sized to last about `span`.
fn benchmark(
    port: u16,
    connections: usize,
    test: &str,
    span: Duration,
    commands: &mut Vec<String>,
) -> anyhow::Result<BenchmarkLine> {
    let calibration = run(port, connections, test, 10_000)?.0;
    let requests = (calibration.rps * span.as_secs_f64()).clamp(10_000.0, 10_000_000.0) as u64;
    let (line, command) = run(port, connections, test, requests)?;
    println!("  $ {command}");
    println!(
        "  redis {test}: {:.0} req/s, p50 {} ms, p99 {} ms, max {} ms",
        line.rps,
        line.p50_ms.map_or("-".into(), |p| format!("{p:.3}")),
        line.p99_ms.map_or("-".into(), |p| format!("{p:.3}")),
        line.max_ms.map_or("-".into(), |p| format!("{p:.3}")),
    );
    commands.push(command);
    Ok(line)
}

fn run(
    port: u16,
    connections: usize,
    test: &str,
    requests: u64,
) -> anyhow::Result<(BenchmarkLine, String)> {
    let mut command = Command::new("redis-benchmark");
    command.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        "100",
        "-t",
        test,
        "-n",
        &requests.to_string(),
        "--csv",
    ]);
    let line = peer::command_line(&command);
    let text = peer::run(&mut command)?;
    Ok((parse_csv(&text, test)?, line))
}

/// Reads `redis-benchmark --csv`: a header, then one line per test. Redis 7 adds latency
/// percentiles; older versions print only `"test","rps"`.
pub fn parse_csv(text: &str, test: &str) -> anyhow::Result<BenchmarkLine> {
    let split = |line: &str| -> Vec<String> {
        line.split(',').map(|field| field.trim().trim_matches('"').to_string()).collect()
    };
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header = split(lines.next().with_context(|| "redis-benchmark printed nothing")?);
    let row = lines
        .map(split)
        .find(|row| row.first().is_some_and(|name| name.eq_ignore_ascii_case(test)))
        .with_context(|| format!("no {test} line in redis-benchmark's output:\n{text}"))?;
    let column = |name: &str| {
        let index = header.iter().position(|field| field == name)?;
        row.get(index)?.parse::<f64>().ok()
    };
    Ok(BenchmarkLine {
        rps: column("rps")
            .with_context(|| format!("no rate in redis-benchmark's output:\n{text}"))?,
        p50_ms: column("p50_latency_ms"),
        p99_ms: column("p99_latency_ms"),
        max_ms: column("max_latency_ms"),
    })
}

fn record(figures: &mut Figures, prefix: &str, line: &BenchmarkLine) {
    figures.set(format!("{prefix}.rps"), line.rps);
    if let Some(p50) = line.p50_ms {
        figures.set(format!("{prefix}.p50_ms"), p50);
    }
    if let Some(p99) = line.p99_ms {
        figures.set(format!("{prefix}.p99_ms"), p99);
    }
    if let Some(max) = line.max_ms {
        figures.set(format!("{prefix}.max_ms"), max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_7_csv_with_percentiles() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                    \"SET\",\"5350.46\",\"9.117\",\"0.328\",\"7.935\",\"17.471\",\"24.511\",\"55.679\"\n\
                    \"GET\",\"63492.06\",\"0.490\",\"0.104\",\"0.439\",\"0.775\",\"0.871\",\"6.239\"\n";
        let get = parse_csv(text, "get").unwrap();
        let expected = BenchmarkLine {
            rps: 63_492.06,
            p50_ms: Some(0.439),
            p99_ms: Some(0.871),
            max_ms: Some(6.239),
        };
        assert_eq!(get, expected);
        assert_eq!(parse_csv(text, "set").unwrap().p99_ms, Some(24.511));
    }

    #[test]
    fn older_csv_has_only_the_rate() {
        let line = parse_csv("\"test\",\"rps\"\n\"SET\",\"51000.00\"\n", "set").unwrap();
        let expected = BenchmarkLine { rps: 51_000.0, p50_ms: None, p99_ms: None, max_ms: None };
        assert_eq!(line, expected);
        assert!(parse_csv("\"test\",\"rps\"\n", "set").is_err());
    }
}
