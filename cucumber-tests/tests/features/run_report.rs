//! The run report (`target/cucumber/report.html`, built by `lithair-report`): what the harness
//! adds to Cucumber JSON and perf.json. The run's facts are taken when it starts; each scenario
//! adds its note as it finishes (its directory, log tail, thresholds, crash cycles); the page is
//! written once the run is over, whatever its verdict.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Instant,
};

use cucumber::gherkin;
use cucumber_tests::seed::RunSeed;
use lithair_report::{RunInfo, ScenarioInfo};

pub struct RunReport {
    started: Instant,
    info: Mutex<RunInfo>,
}

impl RunReport {
    /// The run starts now, from `workspace_root` (for its commit and feature paths).
    pub fn start(workspace_root: &Path, seed: RunSeed) -> Self {
        let mut info = RunInfo::for_this_machine(workspace_root);
        info.arguments = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        info.seed = seed.to_string();
        RunReport { started: Instant::now(), info: Mutex::new(info) }
    }

    /// A scenario finished; `note` is what its world said about it. The feature's path and the
    /// scenario's line are the ones the JSON writer records, so the report can join them.
    pub fn scenario_finished(
        &self,
        feature: &gherkin::Feature,
        scenario: &gherkin::Scenario,
        note: ScenarioInfo,
    ) {
        let note = ScenarioInfo {
            feature: feature.path.as_deref().map_or(String::new(), |p| p.display().to_string()),
            line: scenario.position.line,
            name: scenario.name.clone(),
            ..note
        };
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        for mode in note.durability_mode.iter().flat_map(|m| m.split(", ")) {
            if !info.durability_modes.iter().any(|known| known == mode) {
                info.durability_modes.push(mode.to_string());
            }
        }
        info.scenarios.push(note);
    }

    /// Writes `report.html` (and run-info.json, and the run's history entry) into
    /// `reports_dir`, which must already hold this run's cucumber.json and perf.json. Returns
    /// the page's path and the recap of the run's failures (empty when none failed).
    pub fn write(&self, reports_dir: &Path) -> anyhow::Result<(PathBuf, String)> {
        let mut info = self.info.lock().unwrap_or_else(|p| p.into_inner()).clone();
        info.durability_modes.sort();
        let report =
            lithair_report::write_report(reports_dir, &info.with_duration(self.started.elapsed()))?;
        Ok((
            reports_dir.join(lithair_report::REPORT_HTML),
            lithair_report::recap::failures(&report.run),
        ))
    }
}
