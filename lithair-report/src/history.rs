//! One small JSON per run in `target/cucumber/history/`, so the report can draw the last runs'
//! results and key throughputs as trends. Files are named by start time, so their names sort
//! in run order, and a regenerated report rewrites its own run's file rather than adding one.
//! Each entry also keeps every scenario's duration, which `--shard` balances the next run by.

use std::{collections::BTreeMap, fs, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    model::{Run, Tally},
    perf::Perf,
    run_info::RunInfo,
};

/// How many runs the trend shows, this one included.
pub const RUNS_SHOWN: usize = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Entry {
    pub started_at: String,
    pub commit: String,
    pub passed: bool,
    pub scenarios: Tally,
    pub steps: Tally,
    pub duration_secs: f64,
    /// Requests per second by "scenario · load label".
    pub throughputs: BTreeMap<String, f64>,
    /// Seconds each scenario's steps took, by [`scenario_key`].
    pub scenario_secs: BTreeMap<String, f64>,
}

impl Entry {
    pub fn new(info: &RunInfo, run: &Run, perf: &Perf) -> Self {
        let throughputs = perf
            .loads
            .iter()
            .map(|load| {
                let scenario = load
                    .scenario_dir
                    .as_deref()
                    .and_then(|dir| info.scenario_in_dir(dir))
                    .map_or("", |s| s.name.as_str());
                (throughput_key(scenario, &load.label), load.throughput)
            })
            .collect();
        let mut scenario_secs = BTreeMap::new();
        for (feature, scenario) in run.scenarios() {
            // An outline's examples share a key: their longest stands for each.
            let secs = scenario.duration_ns as f64 / 1e9;
            let known = scenario_secs.entry(scenario_key(&feature.path, &scenario.name));
            let known = known.or_insert(secs);
            *known = f64::max(*known, secs);
        }
        Entry {
            started_at: info.started_at.clone(),
            commit: info.commit.clone(),
            passed: run.passed(),
            scenarios: run.scenario_tally,
            steps: run.step_tally,
            duration_secs: info.duration_secs,
            throughputs,
            scenario_secs,
        }
    }

    fn file_name(&self) -> String {
        let stamp: String = self
            .started_at
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        format!("{stamp}.json")
    }
}

pub fn throughput_key(scenario: &str, label: &str) -> String {
    if scenario.is_empty() { label.to_string() } else { format!("{scenario} · {label}") }
}

/// A scenario's key among [`Entry::scenario_secs`]: its feature file, relative to the workspace
/// (`features/crud.feature`), and its name. Not its line, so that an edit above it keeps its
/// record.
pub fn scenario_key(feature_path: &str, scenario_name: &str) -> String {
    format!("{feature_path}: {scenario_name}")
}

/// Writes `entry` into `dir` (created if needed), replacing a file for the same start time.
pub fn record(dir: &Path, entry: &Entry) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(entry.file_name()), serde_json::to_vec_pretty(entry)?)?;
    Ok(())
}

/// The last `RUNS_SHOWN` entries of `dir`, oldest first; unreadable files are passed over,
/// since an old format must not cost the report of a new run.
pub fn last_runs(dir: &Path) -> Vec<Entry> {
    let Ok(read) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let start = files.len().saturating_sub(RUNS_SHOWN);
    files[start..].iter().filter_map(|p| serde_json::from_slice(&fs::read(p).ok()?).ok()).collect()
}
