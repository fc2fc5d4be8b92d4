//! What a run measured, in the forms its readers want: numbers for a scenario's assertions,
//! one line for a log, JSON for perf.json and the benchmark's results.
//!
//! A report is also the unit of aggregation: each worker fills its own (no lock on the
//! request path), and reports of one load, or of loads that ran side by side, add up with
//! [`LoadReport::merge`].

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;

/// How many error messages a report keeps: enough to diagnose, bounded however many fail.
pub(crate) const MAX_ERROR_SAMPLES: usize = 10;

/// What a run (or several, merged) measured. Counts and latencies cover the measured run;
/// the warm-up has its own counts, and its acknowledgements are in `acknowledged`.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub label: String,
    pub connections: usize,
    /// The open loop's intended rate; `None` for a closed loop.
    pub target_rate: Option<f64>,
    /// Measured requests sent, whatever became of them.
    pub requests: u64,
    /// Measured requests that got no complete response: connect failures, broken
    /// connections, timeouts.
    pub transport_errors: u64,
    /// Measured responses that the workload's checker rejected.
    pub rejected: u64,
    /// Measured responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    pub warmup_requests: u64,
    /// Warm-up requests that failed, either way.
    pub warmup_errors: u64,
    /// The first few error messages, warm-up included.
    pub error_samples: Vec<String>,
    /// From the start of the measured run to its last response.
    pub elapsed: Duration,
    /// Latency in microseconds of every measured request that got a complete response.
    pub latency: Histogram<u64>,
    /// Every id a checker acknowledged, warm-up included.
    pub acknowledged: Vec<u64>,
}

impl LoadReport {
    pub(crate) fn empty(label: &str) -> anyhow::Result<Self> {
        Ok(Self {
            label: label.to_owned(),
            connections: 0,
            target_rate: None,
            requests: 0,
            transport_errors: 0,
            rejected: 0,
            statuses: BTreeMap::new(),
            warmup_requests: 0,
            warmup_errors: 0,
            error_samples: Vec::new(),
            elapsed: Duration::ZERO,
            latency: Histogram::new(3).context("creating a latency histogram")?,
            acknowledged: Vec::new(),
        })
    }

    /// Adds up reports of loads that ran at the same time: counts, latencies and
    /// acknowledgements are summed, the elapsed time is the longest.
    pub fn merge(label: &str, reports: &[LoadReport]) -> anyhow::Result<Self> {
        let mut total = Self::empty(label)?;
        for report in reports {
            total.add(report)?;
        }
        Ok(total)
    }

    fn add(&mut self, other: &LoadReport) -> anyhow::Result<()> {
        self.connections += other.connections;
        self.target_rate = match (self.target_rate, other.target_rate) {
            (Some(mine), Some(theirs)) => Some(mine + theirs),
            (mine, theirs) => mine.or(theirs),
        };
        self.requests += other.requests;
        self.transport_errors += other.transport_errors;
        self.rejected += other.rejected;
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        self.warmup_requests += other.warmup_requests;
        self.warmup_errors += other.warmup_errors;
        let room = MAX_ERROR_SAMPLES.saturating_sub(self.error_samples.len());
        self.error_samples.extend(other.error_samples.iter().take(room).cloned());
        self.elapsed = self.elapsed.max(other.elapsed);
        self.latency.add(&other.latency).context("merging latency histograms")?;
        self.acknowledged.extend_from_slice(&other.acknowledged);
        Ok(())
    }

    /// Measured requests that failed, in transport or by the checker.
    pub fn errors(&self) -> u64 {
        self.transport_errors + self.rejected
    }

    /// Measured requests per second of measured time.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.requests as f64 / seconds } else { 0.0 }
    }

    /// The share of measured requests that failed, from 0 to 1.
    pub fn error_rate(&self) -> f64 {
        if self.requests > 0 { self.errors() as f64 / self.requests as f64 } else { 0.0 }
    }

    /// The latency below which `percentile` percent (0 to 100) of the responses came, in ms.
    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        micros_to_ms(self.latency.value_at_percentile(percentile))
    }

    pub fn mean_ms(&self) -> f64 {
        self.latency.mean() / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        micros_to_ms(self.latency.max())
    }

    /// One line for logs: requests, errors, req/s and latency percentiles.
    pub fn summary_line(&self) -> String {
        let warmup = match self.warmup_requests {
            0 => String::new(),
            warmup => format!(" (+{warmup} warm-up)"),
        };
        format!(
            "{}: {} requests{warmup}, {} errors ({:.2}%), {:.0} req/s, \
             latency ms p50 {:.3} p95 {:.3} p99 {:.3} max {:.3}",
            self.label,
            self.requests,
            self.errors(),
            self.error_rate() * 100.0,
            self.throughput(),
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0),
            self.max_ms(),
        )
    }

    /// The report as perf.json and the benchmark's results.json record it. Acknowledged ids
    /// are counted, not listed.
    pub fn to_json(&self) -> serde_json::Value {
        let statuses: serde_json::Map<String, serde_json::Value> = self
            .statuses
            .iter()
            .map(|(status, count)| (status.to_string(), json!(count)))
            .collect();
        json!({
            "label": self.label,
            "connections": self.connections,
            "target_rate": self.target_rate,
            "requests": self.requests,
            "errors": self.errors(),
            "transport_errors": self.transport_errors,
            "rejected": self.rejected,
            "error_rate": self.error_rate(),
            "statuses": statuses,
            "warmup_requests": self.warmup_requests,
            "warmup_errors": self.warmup_errors,
            "acknowledged": self.acknowledged.len(),
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "throughput": self.throughput(),
            "latency_ms": {
                "mean": self.mean_ms(),
                "p50": self.percentile_ms(50.0),
                "p90": self.percentile_ms(90.0),
                "p95": self.percentile_ms(95.0),
                "p99": self.percentile_ms(99.0),
                "p99_9": self.percentile_ms(99.9),
                "max": self.max_ms(),
            },
            "error_samples": self.error_samples,
        })
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}
