//! What the harness knows about a run that Cucumber JSON and perf.json do not say: the commit
//! and machine, the durability modes, and per scenario its directory, server log tail,
//! thresholds and crash cycles. The harness writes it as `run-info.json` next to
//! cucumber.json, so that `lithair-report --report-only` can rebuild the same report later.

use std::{path::Path, process::Command, time::Duration};

use serde::{Deserialize, Serialize};

/// The run as a whole, and the scenarios the harness has more to say about.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// The commit under test, e.g. `caa19ff` or `caa19ff-dirty`.
    pub commit: String,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// Wall-clock duration of the whole run.
    pub duration_secs: f64,
    pub machine: Machine,
    /// Every durability mode a server of the run was started in (`fsync`, `flush`, `async`).
    pub durability_modes: Vec<String>,
    /// The arguments the run was given (`--tags @crud`), empty for the whole suite.
    pub arguments: String,
    /// The seed every random choice of the run came from, as the line that replays it
    /// (`LITHAIR_SEED=…`); empty when unknown.
    pub seed: String,
    /// The repository root, against which relative feature paths are resolved.
    pub workspace_root: Option<String>,
    /// Scenarios the harness has something to add about; others may be left out.
    pub scenarios: Vec<ScenarioInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    /// Cores available to the run.
    pub cores: usize,
    /// e.g. `linux x86_64, Debian GNU/Linux 12 (bookworm)`.
    pub os: String,
}

/// One scenario, found in cucumber.json by its feature file and line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScenarioInfo {
    /// The `.feature` file, as cucumber.json names it or any path ending the same way.
    pub feature: String,
    /// The scenario's line in that file.
    pub line: usize,
    pub name: String,
    /// The scenario's own data directory; perf.json's `scenario_dir` points at it too.
    pub dir: Option<String>,
    /// True when the directory was kept for a post-mortem (the scenario failed).
    pub kept: bool,
    /// The last lines of the server's log, for a failed scenario.
    pub log_tail: Option<String>,
    /// The durability mode of the scenario's server.
    pub durability_mode: Option<String>,
    /// What each load of the scenario (perf.json entry, by label) measured.
    pub loads: Vec<LoadInfo>,
    /// The service levels the scenario's Then steps hold its loads to.
    pub thresholds: Vec<Threshold>,
    /// Crash or power-loss cycles, in order.
    pub cycles: Vec<Cycle>,
    /// What happened in a cluster scenario: its clients' operations, the faults, each node's
    /// role over time, and the history checks' verdicts.
    pub cluster: Option<ClusterRun>,
}

/// One cluster scenario over time, on the scenario's monotonic clock (ms since its origin), as
/// Jepsen's plots show a test: operations by latency and outcome, fault windows, roles.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterRun {
    pub ops: Vec<ClusterOp>,
    pub faults: Vec<FaultWindow>,
    /// Each node's role as sampled over the scenario, by node id.
    pub roles: Vec<NodeRoles>,
    /// Each history check of the scenario that did not pass: the check's name and what it
    /// said, with the smallest part of the history that proves it.
    pub findings: Vec<Finding>,
}

/// One client operation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterOp {
    /// `create`, `read`, `update`, `delete`, `append`, `read_comments`.
    pub kind: String,
    /// `ok`, `fail` or `unknown`.
    pub outcome: String,
    pub invoke_ms: f64,
    /// `None` for an unknown operation: it never completed.
    pub complete_ms: Option<f64>,
    /// The node that answered, when one did.
    pub node: Option<u64>,
}

/// A fault and how long it lasted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultWindow {
    /// `kill`, `pause`, `isolate`, `split`, …
    pub kind: String,
    pub nodes: Vec<u64>,
    pub start_ms: f64,
    /// `None`: it lasted until the end of the scenario.
    pub end_ms: Option<f64>,
}

/// One node's role over time: `(ms, role)` samples, role one of `leader`, `follower`,
/// `candidate`, `learner`, `down` (no answer).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeRoles {
    pub node: u64,
    pub samples: Vec<(f64, String)>,
}

/// A history check that failed, for the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Finding {
    /// The Then step, e.g. `the history is linearizable`.
    pub check: String,
    /// The checker's report: the verdict and the operations that prove it.
    pub report: String,
}

/// What one load measured, beyond what perf.json records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadInfo {
    /// The perf.json entry's `label`.
    pub label: String,
    /// e.g. `POST /api/articles`, or `80% GET /api/articles/{id}, 20% POST /api/articles`.
    pub endpoint: String,
}

/// A scenario's own limit, as its Then step states it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Threshold {
    /// The step text, e.g. `the server handled at least 1000 requests per second`.
    pub step: String,
    pub metric: Metric,
    /// The limit, in the metric's unit.
    pub limit: f64,
    /// The value the step judged, when it is not one load's own figure (e.g. the sum of
    /// concurrent loads).
    #[serde(default)]
    pub measured: Option<f64>,
    /// The label of the one load the step judged (perf.json's `label`); `None` when it judged
    /// the scenario's loads together. Its ceilings are drawn on that load's chart only.
    #[serde(default)]
    pub load: Option<String>,
}

impl Threshold {
    /// Whether this threshold holds `label`'s load to its limit.
    pub fn applies_to(&self, label: &str) -> bool {
        self.load.as_deref().is_none_or(|judged| judged == label)
    }
}

/// What a threshold limits, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metric {
    /// Requests per second, a floor.
    Throughput,
    /// Mean latency in ms, a ceiling.
    MeanLatencyMs,
    /// The latency `percentile` percent of requests were answered within, in ms, a ceiling.
    PercentileLatencyMs { percentile: f64 },
    /// Failed requests in percent, a ceiling.
    ErrorPercent,
}

impl Metric {
    pub fn is_floor(self) -> bool {
        matches!(self, Metric::Throughput)
    }
}

/// One crash or power-loss cycle: what the clients were told, and what the restarted server
/// still had.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cycle {
    /// 1-based.
    pub cycle: u32,
    /// e.g. `SIGKILL`, `power loss`.
    pub event: String,
    /// Writes acknowledged to clients before the event.
    pub acknowledged: u64,
    /// Acknowledged writes found after the restart.
    pub present: u64,
    /// Acknowledged writes missing after the restart.
    pub lost: u64,
}

impl RunInfo {
    /// A run-info with what this process can find out by itself: the commit of
    /// `workspace_root` (by asking git), this machine, and now as the start. Make it when the
    /// run starts; add the duration, modes and scenarios as the run goes.
    pub fn for_this_machine(workspace_root: &Path) -> Self {
        Self {
            commit: git_commit(workspace_root).unwrap_or_else(|| "unknown".into()),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            machine: Machine::current(),
            workspace_root: Some(workspace_root.display().to_string()),
            ..Self::default()
        }
    }

    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration_secs = duration.as_secs_f64();
        self
    }

    /// The harness's note on the scenario at `line` of `uri` (a cucumber.json feature uri).
    pub fn scenario(&self, uri: &str, line: usize) -> Option<&ScenarioInfo> {
        self.scenarios.iter().find(|s| s.line == line && same_file(&s.feature, uri))
    }

    /// The scenario whose data directory is `dir`.
    pub fn scenario_in_dir(&self, dir: &str) -> Option<&ScenarioInfo> {
        self.scenarios.iter().find(|s| s.dir.as_deref() == Some(dir))
    }
}

/// Two spellings of one feature file: one may be absolute and the other relative.
fn same_file(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
}

impl Machine {
    pub fn current() -> Self {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let mut os = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
        if let Some(name) = os_release_name() {
            os = format!("{os}, {name}");
        }
        Self { cores, os }
    }
}

fn os_release_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    Some(line.trim_matches('"').to_string())
}

fn git_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let mut commit = String::from_utf8(head.stdout).ok()?.trim().to_string();
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty())
    {
        commit.push_str("-dirty");
    }
    Some(commit)
}
