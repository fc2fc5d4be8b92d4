//! `wrk`, the benchmark's reference load generator: runs it with a Lua script and reads its
//! `--latency` output. Its figures are the server's own (`wrk` is C and opens its own
//! connections), against which the harness's load generator is compared.
//!
//! `wrk` does not count a request that timed out (2 s) in its latency: a stall that long would
//! hide from the percentiles, so the timeouts are reported next to them.

use std::process::Command;

use anyhow::{Context, bail};

use crate::figures::Figures;

/// One `wrk` invocation: `-t{threads} -c{connections} -d{seconds}s --latency`.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    pub threads: usize,
    pub connections: usize,
    pub seconds: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

impl Wrk {
    /// `-t2` (the benchmark's setting, docs/performance.md; at most one thread per connection).
    pub fn new(connections: usize, seconds: u64) -> Self {
        Wrk { threads: connections.min(2), connections, seconds }
    }

    /// Runs wrk against `url`, with `script` (Lua) if given. Any answer other than 2xx/3xx is
    /// an error: a benchmark of failing requests measures nothing.
    pub fn run(&self, url: &str, script: Option<&str>) -> anyhow::Result<WrkResult> {
        let mut command = Command::new("wrk");
        command.args([
            format!("-t{}", self.threads),
            format!("-c{}", self.connections),
            format!("-d{}s", self.seconds),
            "--latency".to_string(),
        ]);
        let script_file = tempfile::Builder::new().suffix(".lua").tempfile()?;
        if let Some(script) = script {
            std::fs::write(script_file.path(), script)?;
            command.arg("-s").arg(script_file.path());
        }
        let text = crate::peer::run(command.arg(url))?;
        if text.contains("Non-2xx") {
            bail!("wrk got error answers from {url}:\n{text}");
        }
        let result = parse(&text)?;
        if result.socket_errors > 0 {
            println!("    wrk: {} socket errors or timeouts on {url}", result.socket_errors);
        }
        Ok(result)
    }
}

impl WrkResult {
    pub fn record(&self, figures: &mut Figures, prefix: &str) {
        figures.set_latency(prefix, self.requests_per_sec, self.p50_ms, self.p99_ms);
        figures.set(format!("{prefix}.max_ms"), self.max_ms);
        figures.set(format!("{prefix}.requests"), self.requests as f64);
        figures.set(format!("{prefix}.socket_errors"), self.socket_errors as f64);
    }

    pub fn summary(&self) -> String {
        format!(
            "{:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.requests_per_sec, self.p50_ms, self.p99_ms, self.max_ms
        )
    }
}

/// Reads wrk's `--latency` report.
pub fn parse(text: &str) -> anyhow::Result<WrkResult> {
    let line_after = |label: &str| {
        text.lines()
            .map(str::trim_start)
            .find_map(|line| line.strip_prefix(label))
            .with_context(|| format!("no {label:?} in wrk's output:\n{text}"))
    };
    let field = |label: &str| parse_value(line_after(label)?);
    // "    Latency   1.23ms  456.00us  12.34ms   89.00%": average, deviation, maximum.
    let max_ms = text
        .lines()
        .map(str::split_whitespace)
        .find_map(|mut words| (words.next() == Some("Latency")).then(|| words.nth(2)).flatten())
        .map(parse_value)
        .transpose()?
        .with_context(|| format!("no latency maximum in wrk's output:\n{text}"))?;
    // "  123456 requests in 5.00s, 12.34MB read"
    let requests = text
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .with_context(|| format!("no request count in wrk's output:\n{text}"))?;
    // "  Socket errors: connect 0, read 2, write 0, timeout 12"
    let socket_errors = line_after("Socket errors:").map_or(0, |line| {
        line.split(',').filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok()).sum()
    });
    Ok(WrkResult {
        requests,
        requests_per_sec: field("Requests/sec:")?,
        p50_ms: field("50%")?,
        p99_ms: field("99%")?,
        max_ms,
        socket_errors,
    })
}

/// wrk prints `12.34k`, `1.23ms`, `456.78us`, `1.20s`, `2.00m`; durations become ms.
fn parse_value(text: &str) -> anyhow::Result<f64> {
    let text = text.split_whitespace().next().unwrap_or_default();
    let units =
        [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0), ("k", 1e3), ("M", 1e6)];
    let (number, scale) = units
        .iter()
        .find_map(|(unit, scale)| Some((text.strip_suffix(unit)?, *scale)))
        .unwrap_or((text, 1.0));
    Ok(number.parse::<f64>().with_context(|| format!("not a wrk number: {text:?}"))? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 5s test @ http://127.0.0.1:4000/api/articles
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms    2.31ms 114.20ms   97.10%
    Req/Sec    25.10k     1.20k   28.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.01ms
     90%    1.33ms
     99%   15.02ms
  249876 requests in 5.00s, 40.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 12
Requests/sec:  49975.20
Transfer/sec:      8.00MB
";

    #[test]
    fn reads_rate_percentiles_maximum_and_errors() {
        let result = parse(OUTPUT).unwrap();
        assert_eq!(result.requests, 249_876);
        assert_eq!(result.requests_per_sec, 49_975.2);
        assert!((result.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(result.p99_ms, 15.02);
        assert_eq!(result.max_ms, 114.2);
        assert_eq!(result.socket_errors, 14);
    }

    #[test]
    fn seconds_and_minutes_become_milliseconds() {
        assert_eq!(parse_value("1.50s").unwrap(), 1500.0);
        assert_eq!(parse_value("2.00m").unwrap(), 120_000.0);
        assert_eq!(parse_value("12.5k").unwrap(), 12_500.0);
        assert!(parse_value("fast").is_err());
    }
}
