//! `target/cucumber/perf.json`: what the load steps measured (`LoadReport::to_json` in the
//! harness, plus the scenario's directory), and other measurements steps noted (a restart
//! time, a crash survival share) as free-form objects.

use serde::Deserialize;
use serde_json::Value;

/// One load step's report.
#[derive(Debug, Clone, Deserialize)]
pub struct Load {
    pub label: String,
    #[serde(default)]
    pub connections: u64,
    /// Requests per second the load was paced at, if it was.
    #[serde(default)]
    pub target_rate: Option<f64>,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub errors: u64,
    /// 0 to 1.
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub warmup_requests: u64,
    /// The measured part of the load, warm-up excluded.
    #[serde(default)]
    pub elapsed_secs: f64,
    /// Requests per second over `elapsed_secs`.
    #[serde(default)]
    pub throughput: f64,
    pub latency_ms: Latency,
    #[serde(default)]
    pub scenario_dir: Option<String>,
}

/// Latency of the measured requests, in milliseconds.
#[derive(Debug, Clone, Deserialize)]
pub struct Latency {
    #[serde(default)]
    pub mean: f64,
    pub p50: f64,
    #[serde(default)]
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    #[serde(default)]
    pub p99_9: f64,
    pub max: f64,
}

impl Latency {
    /// The latency at one of the recorded percentiles (100 is the maximum).
    pub fn at(&self, percentile: f64) -> Option<f64> {
        let recorded = [50.0, 90.0, 95.0, 99.0, 99.9, 100.0];
        recorded.iter().zip(self.percentiles()).find(|(p, _)| **p == percentile).map(|(_, v)| v.1)
    }

    /// (percentile label, value) from the median to the maximum, for the percentile chart.
    pub fn percentiles(&self) -> [(&'static str, f64); 6] {
        [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("p99.9", self.p99_9),
            ("max", self.max),
        ]
    }
}

/// Everything in perf.json, loads apart from the other notes.
#[derive(Debug, Clone, Default)]
pub struct Perf {
    pub loads: Vec<Load>,
    /// Entries that are not load reports, as (label, other fields).
    pub notes: Vec<(String, serde_json::Map<String, Value>)>,
}

impl Perf {
    pub fn parse(json: &str) -> serde_json::Result<Self> {
        let entries: Vec<Value> = serde_json::from_str(json)?;
        let mut perf = Perf::default();
        for entry in entries {
            if entry.get("latency_ms").is_some() {
                perf.loads.push(serde_json::from_value(entry)?);
            } else if let Value::Object(mut fields) = entry {
                let label = match fields.remove("label") {
                    Some(Value::String(label)) => label,
                    _ => "measurement".to_string(),
                };
                perf.notes.push((label, fields));
            }
        }
        Ok(perf)
    }
}
