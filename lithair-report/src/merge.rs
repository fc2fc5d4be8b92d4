//! One report from the reports of a sharded run (`--shard I/N` on N machines, each writing its
//! own `target/cucumber/shard-I-of-N/`).
//!
//! The shards' files are joined at the JSON level, so nothing a shard wrote is lost to a
//! field this crate does not model: cucumber.json's features are joined by file (a feature
//! split over shards becomes one again, its scenarios together), perf.json's entries are
//! concatenated, and run-info.json's scenarios are concatenated. The merged run started when
//! the first shard started and lasted as long as the longest one (the shards run side by side).
//! The result is written like any run's: cucumber.json, perf.json, run-info.json, a history
//! entry (so the next sharded run is balanced by this one's durations) and report.html.

use std::{fs, path::Path};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::{CUCUMBER_JSON, PERF_JSON, RUN_INFO_JSON, Report, RunInfo, write_report};

/// Merges the reports directories `shards` into `out` (created if needed) and writes its
/// report.html. `out` may be the folder the shards' directories are in.
pub fn merge(shards: &[impl AsRef<Path>], out: &Path) -> anyhow::Result<Report> {
    if shards.is_empty() {
        bail!("no shard reports to merge");
    }
    let mut features: Vec<Value> = Vec::new();
    let mut perf: Vec<Value> = Vec::new();
    let mut infos: Vec<RunInfo> = Vec::new();
    for dir in shards {
        let dir = dir.as_ref();
        let cucumber = dir.join(CUCUMBER_JSON);
        if !cucumber.is_file() {
            bail!("{}: no {CUCUMBER_JSON}; is it a shard's reports directory?", dir.display());
        }
        for feature in read_array(&cucumber)? {
            join_feature(&mut features, feature);
        }
        let perf_json = dir.join(PERF_JSON);
        if perf_json.is_file() {
            perf.extend(read_array(&perf_json)?);
        }
        let info = dir.join(RUN_INFO_JSON);
        if info.is_file() {
            let text = read(&info)?;
            infos.push(
                serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", info.display()))?,
            );
        }
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    fs::write(out.join(CUCUMBER_JSON), serde_json::to_vec_pretty(&features)?)?;
    fs::write(out.join(PERF_JSON), serde_json::to_vec_pretty(&perf)?)?;
    write_report(out, &merge_infos(infos, shards.len()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn read_array(path: &Path) -> anyhow::Result<Vec<Value>> {
    match serde_json::from_str(&read(path)?)
        .with_context(|| format!("parsing {}", path.display()))?
    {
        Value::Array(items) => Ok(items),
        _ => bail!("{}: expected a JSON array", path.display()),
    }
}

/// Adds a shard's feature to the merged ones: its elements join those of the same file.
fn join_feature(features: &mut Vec<Value>, mut feature: Value) {
    let uri = feature.get("uri").cloned();
    let same = features.iter_mut().find(|known| uri.is_some() && known.get("uri") == uri.as_ref());
    let Some(known) = same else {
        features.push(feature);
        return;
    };
    let elements = feature.get_mut("elements").and_then(Value::as_array_mut).map(std::mem::take);
    if let Some(Value::Array(into)) = known.get_mut("elements") {
        into.extend(elements.unwrap_or_default());
    } else if let Some(elements) = elements {
        known["elements"] = Value::Array(elements);
    }
}

/// The run the shards make together.
fn merge_infos(infos: Vec<RunInfo>, shards: usize) -> RunInfo {
    let mut infos = infos.into_iter();
    let Some(mut merged) = infos.next() else { return RunInfo::default() };
    let mut seeds = vec![merged.seed.clone()];
    for info in infos {
        if !info.started_at.is_empty()
            && (merged.started_at.is_empty() || info.started_at < merged.started_at)
        {
            merged.started_at = info.started_at;
        }
        merged.duration_secs = merged.duration_secs.max(info.duration_secs);
        if merged.commit != info.commit {
            merged.commit = format!("{} + {}", merged.commit, info.commit);
        }
        for mode in info.durability_modes {
            if !merged.durability_modes.contains(&mode) {
                merged.durability_modes.push(mode);
            }
        }
        if !seeds.contains(&info.seed) {
            seeds.push(info.seed);
        }
        merged.scenarios.extend(info.scenarios);
    }
    merged.durability_modes.sort();
    merged.seed = seeds.join("; ");
    merged.arguments = format!("{} (merged from {shards} shards)", merged.arguments);
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_feature_split_over_shards_is_one_again() {
        let mut features = Vec::new();
        join_feature(&mut features, json!({"uri": "a", "elements": [{"line": 3}]}));
        join_feature(&mut features, json!({"uri": "b", "elements": [{"line": 1}]}));
        join_feature(&mut features, json!({"uri": "a", "elements": [{"line": 9}]}));
        assert_eq!(
            features,
            vec![
                json!({"uri": "a", "elements": [{"line": 3}, {"line": 9}]}),
                json!({"uri": "b", "elements": [{"line": 1}]}),
            ]
        );
    }

    #[test]
    fn the_merged_run_spans_its_shards() {
        let shard = |started: &str, secs: f64, seed: &str, mode: &str| RunInfo {
            commit: "abc".into(),
            started_at: started.into(),
            duration_secs: secs,
            seed: seed.into(),
            durability_modes: vec![mode.into()],
            arguments: "--shard x/2".into(),
            ..RunInfo::default()
        };
        let merged = merge_infos(
            vec![
                shard("2026-01-01T10:00:05Z", 30.0, "LITHAIR_SEED=1", "fsync"),
                shard("2026-01-01T10:00:01Z", 50.0, "LITHAIR_SEED=2", "async"),
            ],
            2,
        );
        assert_eq!(merged.started_at, "2026-01-01T10:00:01Z");
        assert_eq!(merged.duration_secs, 50.0);
        assert_eq!(merged.commit, "abc");
        assert_eq!(merged.seed, "LITHAIR_SEED=1; LITHAIR_SEED=2");
        assert_eq!(merged.durability_modes, ["async", "fsync"]);
    }
}
