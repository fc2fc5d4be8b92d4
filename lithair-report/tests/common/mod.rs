//! The fixture run (tests/fixtures/run: two features, one failed scenario, a `<script>`
//! scenario name, a data table, two loads, a crash cycle, two earlier runs), copied to a
//! temporary directory and reported on through the harness's own call.

use std::path::{Path, PathBuf};

use lithair_report::{REPORT_HTML, RUN_INFO_JSON, RunInfo, write_report};

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
