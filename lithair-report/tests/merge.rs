//! `lithair-report --merge`: the fixture run cut into two shards the way `--shard 1/2` and
//! `--shard 2/2` would leave it (each scenario, with its background, in one shard; a feature
//! split between both), merged back by the binary: the same scenarios, outcomes and loads as
//! the unsharded report, and a history entry that knows every scenario's duration.

mod common;

use std::{fs, path::Path};

use common::{FIXTURE, fixture_report};
use lithair_report::{RunInfo, history};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes shard `index` (0 or 1) of the fixture into `dir`: scenarios alternate by position.
fn write_shard(dir: &Path, index: usize, root: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mut features = json(&Path::new(FIXTURE).join("cucumber.json"));
    let mut position = 0;
    for feature in features.as_array_mut().unwrap() {
        let elements = feature["elements"].as_array_mut().unwrap();
        // A background element stands just before its scenario, with the same line.
        let mut keep = Vec::new();
        for element in elements.iter() {
            if element["type"] == "scenario" {
                if position % 2 == index {
                    let line = &element["line"];
                    keep.extend(elements.iter().filter(|e| &e["line"] == line).cloned());
                }
                position += 1;
            }
        }
        *elements = keep;
    }
    let features: Vec<Value> = features
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["elements"].as_array().unwrap().is_empty())
        .cloned()
        .collect();
    fs::write(dir.join("cucumber.json"), serde_json::to_vec(&features).unwrap()).unwrap();
    let perf = json(&Path::new(FIXTURE).join("perf.json"));
    let perf: Vec<&Value> = perf.as_array().unwrap().iter().skip(index).step_by(2).collect();
    fs::write(dir.join("perf.json"), serde_json::to_vec(&perf).unwrap()).unwrap();
    let mut info: RunInfo =
        serde_json::from_value(json(&Path::new(FIXTURE).join("run-info.json"))).unwrap();
    info.workspace_root = Some(root.display().to_string());
    info.scenarios = info.scenarios.into_iter().skip(index).step_by(2).collect();
    info.duration_secs = 10.0 * (index + 1) as f64;
    info.seed = format!("LITHAIR_SEED={index}");
    fs::write(dir.join("run-info.json"), serde_json::to_vec(&info).unwrap()).unwrap();
}

#[test]
fn two_shard_reports_merge_into_the_whole_run() {
    let (whole_dir, _) = fixture_report();
    let whole =
        lithair_report::Report::load(&lithair_report::Inputs::in_dir(whole_dir.path()), &[])
            .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(root.join("features")).unwrap();
    for file in ["health.feature", "sample.feature"] {
        fs::copy(Path::new(FIXTURE).join("features").join(file), root.join("features").join(file))
            .unwrap();
    }
    let reports = dir.path().join("cucumber");
    let shards = [reports.join("shard-1-of-2"), reports.join("shard-2-of-2")];
    for (index, shard) in shards.iter().enumerate() {
        write_shard(shard, index, &root);
    }
    // Each shard holds part of the run, and together all of it.
    let count = |dir: &Path| {
        json(&dir.join("cucumber.json"))
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["elements"].as_array().unwrap().clone())
            .filter(|e| e["type"] == "scenario")
            .count()
    };
    assert!(count(&shards[0]) > 0 && count(&shards[1]) > 0);
    assert_eq!(count(&shards[0]) + count(&shards[1]), whole.run.scenario_tally.total());

    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lithair-report"))
        .arg("--merge")
        .args(&shards)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let page = fs::read_to_string(reports.join("report.html")).unwrap();

    let merged =
        lithair_report::Report::load(&lithair_report::Inputs::in_dir(&reports), &[]).unwrap();
    assert_eq!(merged.run.scenario_tally, whole.run.scenario_tally);
    assert_eq!(merged.run.step_tally, whole.run.step_tally);
    let scenarios = |report: &lithair_report::Report| {
        report
            .run
            .scenarios()
            .map(|(f, s)| {
                (f.path.clone(), s.line, s.name.clone(), s.outcome.css(), s.info.is_some())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(scenarios(&merged), scenarios(&whole));
    assert_eq!(merged.perf.loads.len(), whole.perf.loads.len());
    assert_eq!(merged.info.duration_secs, 20.0, "the longest shard");
    assert_eq!(merged.info.seed, "LITHAIR_SEED=0; LITHAIR_SEED=1");
    for (_, scenario) in whole.run.scenarios() {
        let escaped = scenario.name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(page.contains(&escaped.replace('"', "&quot;")), "{} not shown", scenario.name);
    }

    // The merge is recorded as a run, with every scenario's duration, for the next split.
    let recorded = history::last_runs(&reports.join("history"));
    let last = recorded.last().expect("the merged run is in the history");
    let mut keys: Vec<String> =
        whole.run.scenarios().map(|(f, s)| history::scenario_key(&f.path, &s.name)).collect();
    keys.dedup();
    assert_eq!(last.scenario_secs.keys().cloned().collect::<Vec<_>>().len(), keys.len());
    for key in keys {
        assert!(last.scenario_secs.contains_key(&key), "{key} missing from {last:?}");
    }
}
