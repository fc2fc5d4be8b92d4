//! The machine's own durable-write latency: append a record-sized line to a file and `fdatasync`
//! it, a few thousand times, in the directory the servers keep their data in (so on the same
//! filesystem and disk). No server can acknowledge a durable write faster than this; the
//! benchmark's goal is a 1-connection fsync POST within 1.5× (this + a round trip).

use std::{
    fs::OpenOptions,
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::figures::Figures;

/// About the size of one `ArticleCreated` record of the benchmark's POSTs.
const RECORD_BYTES: usize = 300;

pub struct SyncLatency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Times `write + fdatasync` of a 300-byte line, up to `max_samples` times or for `budget`,
/// whichever comes first.
pub fn fdatasync_latency(
    dir: &Path,
    max_samples: usize,
    budget: Duration,
) -> std::io::Result<SyncLatency> {
    let path = dir.join("fdatasync-probe.log");
    let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
    let mut line = vec![b'x'; RECORD_BYTES - 1];
    line.push(b'\n');
    let started = Instant::now();
    let mut samples = Vec::with_capacity(max_samples);
    while samples.len() < max_samples && started.elapsed() < budget {
        let before = Instant::now();
        file.write_all(&line)?;
        file.sync_data()?;
        samples.push(before.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    samples.sort();
    let at = |quantile: f64| {
        let index = ((samples.len() as f64 * quantile).ceil() as usize).clamp(1, samples.len());
        samples[index - 1].as_secs_f64() * 1000.0
    };
    Ok(SyncLatency { samples: samples.len(), p50_ms: at(0.50), p99_ms: at(0.99), max_ms: at(1.0) })
}

impl SyncLatency {
    pub fn record(&self, figures: &mut Figures) {
        figures.set("disk.fdatasync.p50_ms", self.p50_ms);
        figures.set("disk.fdatasync.p99_ms", self.p99_ms);
        figures.set("disk.fdatasync.max_ms", self.max_ms);
        figures.detail(
            "disk.fdatasync",
            json!({"samples": self.samples, "record_bytes": RECORD_BYTES}),
        );
    }
}
