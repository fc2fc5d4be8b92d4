//! The fixture run (tests/fixtures/run: two features, one failed scenario, a `<script>`
//! scenario name, a data table, two loads, a crash cycle, two earlier runs), copied to a
//! temporary directory and reported on through the harness's own call.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use std::path::{Path, PathBuf};

use lithair_report::{
    ClusterOp, ClusterRun, FaultWindow, Finding, NodeRoles, REPORT_HTML, RUN_INFO_JSON, RunInfo,
    write_report,
};

pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run");

/// Every scenario name of the fixture's cucumber.json.
pub fn scenario_names() -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURE).join("cucumber.json")).unwrap(),
    )
    .unwrap();
    let mut names: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["elements"].as_array().unwrap())
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    names.dedup();
    names
}

/// Reports on a copy of the fixture; returns the directory (kept alive) and the report.
pub fn fixture_report() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let mut info: RunInfo =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(RUN_INFO_JSON)).unwrap())
            .unwrap();
    info.workspace_root = Some(dir.path().display().to_string());
    write_report(dir.path(), &info).expect("the report is written");
    let page = dir.path().join(REPORT_HTML);
    (dir, page)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixture run with a synthetic cluster history on its failed scenario: `ops` operations
/// over 30 s from three nodes, node 1 killed from 8 s to 14 s (its operations meanwhile get no
/// answer), node 2 isolated from 20 s to the end, each node's role sampled every 250 ms, and
/// one failed linearizability check. Returns the directory (kept alive) and the report.
pub fn cluster_report(ops: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let mut info: RunInfo =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(RUN_INFO_JSON)).unwrap())
            .unwrap();
    info.workspace_root = Some(dir.path().display().to_string());
    let crash = info.scenarios.iter_mut().find(|s| s.line == 27).expect("the failed scenario");
    crash.cluster = Some(synthetic_cluster(ops));
    write_report(dir.path(), &info).expect("the report is written");
    let page = dir.path().join(REPORT_HTML);
    (dir, page)
}

pub const FINDING_CHECK: &str = "the history is linearizable";
pub const FINDING_REPORT: &str = "not linearizable: read of article 7 returned <stale> title\n  \
     op 812 write  7 := \"b\"   invoke 9.1 s  ok   at 9.4 s\n  \
     op 815 read   7 -> \"a\"   invoke 9.5 s  ok   at 9.6 s";

pub fn synthetic_cluster(ops: usize) -> ClusterRun {
    let span = 30_000.0;
    // A small linear congruential generator: the same history every time, no dependency.
    let mut state: u64 = 42;
    let mut random = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let killed = |t: f64| (8_000.0..14_000.0).contains(&t);
    let ops = (0..ops)
        .map(|i| {
            let invoke = i as f64 * span / ops as f64;
            let node = (i % 3) as u64 + 1;
            let kind = if random() < 0.6 { "read" } else { "create" };
            // Latencies from a fraction of a millisecond to a few seconds.
            let latency = 0.3 * 10f64.powf(random() * 3.0 + if killed(invoke) { 1.0 } else { 0.0 });
            let (outcome, complete) = if node == 1 && killed(invoke) {
                ("unknown", None)
            } else if random() < 0.05 {
                ("fail", Some(invoke + latency))
            } else {
                ("ok", Some(invoke + latency))
            };
            ClusterOp {
                kind: kind.into(),
                outcome: outcome.into(),
                invoke_ms: invoke,
                complete_ms: complete,
                node: complete.map(|_| node),
            }
        })
        .collect();
    let faults = vec![
        FaultWindow {
            kind: "kill".into(),
            nodes: vec![1],
            start_ms: 8_000.0,
            end_ms: Some(14_000.0),
        },
        FaultWindow { kind: "isolate".into(), nodes: vec![2], start_ms: 20_000.0, end_ms: None },
    ];
    let role = |node: u64, t: f64| -> &'static str {
        match node {
            1 if killed(t) => "down",
            1 if t < 8_000.0 => "leader",
            2 if (8_000.0..8_600.0).contains(&t) => "candidate",
            2 if (8_600.0..20_000.0).contains(&t) => "leader",
            2 if t >= 20_000.0 => "candidate",
            3 if t >= 20_300.0 => "leader",
            _ => "follower",
        }
    };
    let roles = (1..=3)
        .map(|node| NodeRoles {
            node,
            samples: (0..120)
                .map(|i| i as f64 * 250.0)
                .map(|t| (t, role(node, t).into()))
                .collect(),
        })
        .collect();
    let findings = vec![Finding { check: FINDING_CHECK.into(), report: FINDING_REPORT.into() }];
    ClusterRun { ops, faults, roles, findings }
}
