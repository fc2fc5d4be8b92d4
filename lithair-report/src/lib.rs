//! The one-file HTML report of a Lithair BDD run.
//!
//! After every run the harness calls [`write_report`]; it reads what the run left in
//! `target/cucumber/` — `cucumber.json` (cucumber-rs's JSON writer), `perf.json` (the load
//! steps' measurements) — plus the [`RunInfo`] the harness gives it, records the run in
//! `history/`, and writes `report.html`: one self-contained page (inline CSS and SVG, no
//! JavaScript, nothing fetched) that a product owner opens offline and CI keeps as an artifact.
//! The `lithair-report` binary rebuilds the same page from saved files ([`regenerate`]), or
//! makes one report of a sharded run's per-shard reports ([`merge::merge`]).
//!
//! Pages are `maud` templates, so every text that comes from a feature file, an error or a
//! log is HTML-escaped; charts are `plotters` SVG, and a cluster scenario's timeline hand-drawn
//! SVG (see [`charts`]).

#![forbid(unsafe_code)]

pub mod charts;
pub mod cucumber_json;
mod format;
pub mod history;
mod html;
pub mod merge;
pub mod model;
pub mod perf;
pub mod recap;
pub mod run_info;
mod source;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::Context as _;

pub use run_info::{
    ClusterOp, ClusterRun, Cycle, FaultWindow, Finding, LoadInfo, Machine, Metric, NodeRoles,
    RunInfo, ScenarioInfo, Threshold,
};

use crate::{model::Run, perf::Perf};

/// File names inside a reports directory.
pub const CUCUMBER_JSON: &str = "cucumber.json";
pub const PERF_JSON: &str = "perf.json";
pub const RUN_INFO_JSON: &str = "run-info.json";
pub const HISTORY_DIR: &str = "history";
pub const REPORT_HTML: &str = "report.html";

/// Everything the page is drawn from.
pub struct Report {
    pub run: Run,
    pub perf: Perf,
    pub info: RunInfo,
    /// The last runs, oldest first, this one last.
    pub history: Vec<history::Entry>,
}

/// Where a report's inputs are; only cucumber.json is required.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub cucumber: PathBuf,
    pub perf: Option<PathBuf>,
    pub run_info: Option<PathBuf>,
    pub history: Option<PathBuf>,
}

impl Inputs {
    /// The files a run leaves in `dir`, those that exist.
    pub fn in_dir(dir: &Path) -> Self {
        let existing = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
        Inputs {
            cucumber: dir.join(CUCUMBER_JSON),
            perf: existing(PERF_JSON),
            run_info: existing(RUN_INFO_JSON),
            history: existing(HISTORY_DIR),
        }
    }
}

/// The harness's one call after a run: saves `info` as `run-info.json` in `reports_dir`,
/// records the run in `history/`, and writes `report.html` there. Returns what the page was
/// drawn from; the page is `reports_dir/report.html`.
pub fn write_report(reports_dir: &Path, info: &RunInfo) -> anyhow::Result<Report> {
    fs::write(reports_dir.join(RUN_INFO_JSON), serde_json::to_vec_pretty(info)?)
        .with_context(|| format!("writing {RUN_INFO_JSON} in {}", reports_dir.display()))?;
    let history_dir = reports_dir.join(HISTORY_DIR);
    let report = Report::load(&Inputs::in_dir(reports_dir), &[])?;
    history::record(&history_dir, report.history.last().expect("this run is in its history"))?;
    write_html(&report, &reports_dir.join(REPORT_HTML))?;
    Ok(report)
}

/// Rebuilds a report from saved files into `out`, without touching the history. `roots` are
/// extra places to look for the `.feature` files named by relative paths.
pub fn regenerate(inputs: &Inputs, roots: &[PathBuf], out: &Path) -> anyhow::Result<PathBuf> {
    write_html(&Report::load(inputs, roots)?, out)
}

impl Report {
    pub fn load(inputs: &Inputs, roots: &[PathBuf]) -> anyhow::Result<Self> {
        let read = |path: &Path| {
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        };
        let features = cucumber_json::parse(&read(&inputs.cucumber)?)
            .with_context(|| format!("parsing {}", inputs.cucumber.display()))?;
        let perf = match &inputs.perf {
            Some(path) => {
                Perf::parse(&read(path)?).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Perf::default(),
        };
        let info: RunInfo = match &inputs.run_info {
            Some(path) => serde_json::from_str(&read(path)?)
                .with_context(|| format!("parsing {}", path.display()))?,
            None => RunInfo::default(),
        };
        let mut search: Vec<PathBuf> = roots.to_vec();
        search.extend(info.workspace_root.as_ref().map(PathBuf::from));
        search.extend(std::env::current_dir().ok());
        let run = Run::build(features, &info, &search);
        let this_run = history::Entry::new(&info, &run, &perf);
        let mut history = inputs.history.as_deref().map(history::last_runs).unwrap_or_default();
        history.retain(|e| e.started_at != this_run.started_at || this_run.started_at.is_empty());
        history.push(this_run);
        let excess = history.len().saturating_sub(history::RUNS_SHOWN);
        history.drain(..excess);
        Ok(Report { run, perf, info, history })
    }

    /// The page, as one HTML string.
    pub fn render(&self) -> String {
        html::page(self)
    }
}

fn write_html(report: &Report, out: &Path) -> anyhow::Result<PathBuf> {
    fs::write(out, report.render()).with_context(|| format!("writing {}", out.display()))?;
    Ok(out.to_path_buf())
}
