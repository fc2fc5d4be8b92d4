//! The run as the report shows it: Cucumber JSON's features joined with their source files and
//! the harness's run info, in file order, with every count derived once.

use std::path::PathBuf;

use crate::{
    cucumber_json::{self, Status},
    format::strip_ansi,
    run_info::{RunInfo, ScenarioInfo},
    source::FeatureSource,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

impl Outcome {
    pub fn css(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }

    fn of_step(status: Status) -> Self {
        match status {
            Status::Passed => Outcome::Passed,
            s if s.is_failure() => Outcome::Failed,
            _ => Outcome::Skipped,
        }
    }

    /// A group failed if any member did, was skipped if all were, passed otherwise.
    fn of_all(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let (mut any, mut all_skipped) = (false, true);
        for outcome in outcomes {
            if outcome == Outcome::Failed {
                return Outcome::Failed;
            }
            any = true;
            all_skipped &= outcome == Outcome::Skipped;
        }
        if any && !all_skipped { Outcome::Passed } else { Outcome::Skipped }
    }
}

/// Passed / failed / skipped counts of one kind of thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

#[derive(Debug)]
pub struct Feature {
    pub keyword: String,
    pub name: String,
    /// The file, relative to the workspace when it is inside it.
    pub path: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub scenarios: Vec<Scenario>,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub struct Scenario {
    pub keyword: String,
    pub name: String,
    pub line: usize,
    pub description: Option<String>,
    /// The feature's tags and its own.
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
    /// Errors of failed before/after hooks.
    pub hook_errors: Vec<String>,
    pub outcome: Outcome,
    pub duration_ns: u64,
    pub info: Option<ScenarioInfo>,
}

#[derive(Debug)]
pub struct Step {
    pub keyword: String,
    pub text: String,
    pub outcome: Outcome,
    /// `undefined`, `ambiguous`… when that says more than the outcome.
    pub status: Status,
    pub duration_ns: u64,
    pub error: Option<String>,
    pub table: Option<Vec<Vec<String>>>,
    pub docstring: Option<String>,
    pub background: bool,
}

/// The whole run's verdict and counts.
#[derive(Debug)]
pub struct Run {
    pub features: Vec<Feature>,
    pub feature_tally: Tally,
    pub scenario_tally: Tally,
    pub step_tally: Tally,
}

impl Run {
    /// `roots` are where relative feature paths are looked for.
    pub fn build(json: Vec<cucumber_json::Feature>, info: &RunInfo, roots: &[PathBuf]) -> Self {
        let root = info.workspace_root.clone().unwrap_or_default();
        let mut features: Vec<Feature> =
            json.into_iter().map(|f| Feature::build(f, info, roots, &root)).collect();
        // File order: the runner finishes features in whatever order concurrency allows.
        features.sort_by(|a, b| a.path.cmp(&b.path));
        let (mut feature_tally, mut scenario_tally, mut step_tally) =
            (Tally::default(), Tally::default(), Tally::default());
        for feature in &features {
            feature_tally.add(feature.outcome);
            for scenario in &feature.scenarios {
                scenario_tally.add(scenario.outcome);
                scenario.steps.iter().for_each(|s| step_tally.add(s.outcome));
            }
        }
        Run { features, feature_tally, scenario_tally, step_tally }
    }

    /// Passed when something ran and nothing failed.
    pub fn passed(&self) -> bool {
        self.scenario_tally.failed == 0 && self.scenario_tally.passed > 0
    }

    pub fn scenarios(&self) -> impl Iterator<Item = (&Feature, &Scenario)> {
        self.features.iter().flat_map(|f| f.scenarios.iter().map(move |s| (f, s)))
    }
}

impl Feature {
    fn build(json: cucumber_json::Feature, info: &RunInfo, roots: &[PathBuf], root: &str) -> Self {
        let uri = json.uri.clone().unwrap_or_default();
        let source = FeatureSource::read(&uri, roots).unwrap_or_default();
        let feature_tags: Vec<String> = json.tags.iter().map(|t| tag(&t.name)).collect();
        // Cucumber JSON gives each scenario's background steps as a separate element.
        let (backgrounds, elements): (Vec<_>, Vec<_>) =
            json.elements.into_iter().partition(|e| e.is_background());
        let mut scenarios: Vec<Scenario> = elements
            .into_iter()
            .map(|element| {
                let background = backgrounds
                    .iter()
                    .find(|b| b.line == element.line && b.name == element.name)
                    .map_or(&[][..], |b| &b.steps[..]);
                let note = info.scenario(&uri, element.line).cloned();
                Scenario::build(element, background, &feature_tags, &source, note)
            })
            .collect();
        scenarios.sort_by_key(|s| s.line);
        let outcome = Outcome::of_all(scenarios.iter().map(|s| s.outcome));
        let path = uri.strip_prefix(root).map_or(uri.as_str(), |p| p.trim_start_matches('/'));
        let path = path.trim_start_matches("./");
        Feature {
            keyword: json.keyword,
            name: json.name,
            path: path.to_string(),
            description: source.description.clone(),
            tags: feature_tags,
            scenarios,
            outcome,
        }
    }
}

impl Scenario {
    fn build(
        json: cucumber_json::Element,
        background: &[cucumber_json::Step],
        feature_tags: &[String],
        source: &FeatureSource,
        info: Option<ScenarioInfo>,
    ) -> Self {
        let step = |s: &cucumber_json::Step, background: bool| Step {
            keyword: s.keyword.trim().to_string(),
            text: s.name.clone(),
            outcome: Outcome::of_step(s.result.status),
            status: s.result.status,
            duration_ns: s.result.duration,
            error: s.result.error_message.as_deref().map(strip_ansi),
            table: source.tables.get(&s.line).cloned(),
            docstring: source.docstrings.get(&s.line).cloned(),
            background,
        };
        let steps: Vec<Step> = background
            .iter()
            .map(|s| step(s, true))
            .chain(json.steps.iter().map(|s| step(s, false)))
            .collect();
        let hook_errors: Vec<String> = json
            .before
            .iter()
            .chain(&json.after)
            .filter(|h| h.result.status.is_failure())
            .map(|h| strip_ansi(h.result.error_message.as_deref().unwrap_or("hook failed")))
            .collect();
        let mut outcome = Outcome::of_all(steps.iter().map(|s| s.outcome));
        if !hook_errors.is_empty() {
            outcome = Outcome::Failed;
        }
        let mut tags = feature_tags.to_vec();
        tags.extend(json.tags.iter().map(|t| tag(&t.name)).filter(|t| !feature_tags.contains(t)));
        Scenario {
            keyword: json.keyword,
            name: json.name,
            line: json.line,
            description: source.scenario_descriptions.get(&json.line).cloned(),
            tags,
            duration_ns: steps.iter().map(|s| s.duration_ns).sum(),
            steps,
            hook_errors,
            outcome,
            info,
        }
    }
}

/// Gherkin keeps tags without their `@`; a reader knows them with it.
fn tag(name: &str) -> String {
    if name.starts_with('@') { name.to_string() } else { format!("@{name}") }
}
