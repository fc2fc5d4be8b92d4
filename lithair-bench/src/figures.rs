//! One run's raw numbers, each under a name (`fsync.post.rps`, `redis.set_always.p99_ms`), so
//! that the table can take any ratio of them, repeated runs can be compared figure by figure,
//! and results.json holds every number the table was computed from.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub values: BTreeMap<String, f64>,
    /// What the numbers came from: full reports, command lines, versions.
    pub details: BTreeMap<String, Value>,
}

impl Figures {
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied().filter(|value| value.is_finite())
    }

    pub fn detail(&mut self, name: impl Into<String>, value: Value) {
        self.details.insert(name.into(), value);
    }

    /// A rate and its latency percentiles, under `prefix.rps`, `prefix.p50_ms`…
    pub fn set_latency(&mut self, prefix: &str, rps: f64, p50_ms: f64, p99_ms: f64) {
        self.set(format!("{prefix}.rps"), rps);
        self.set(format!("{prefix}.p50_ms"), p50_ms);
        self.set(format!("{prefix}.p99_ms"), p99_ms);
    }
}
