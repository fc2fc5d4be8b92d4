//! The Cucumber JSON that cucumber-rs 0.23's `writer::Json` writes (`target/cucumber/cucumber.json`).
//!
//! Read leniently: every field the report does not need may be missing, so a file written by
//! another Cucumber implementation, or a truncated run, still gives a report. The format has
//! no feature descriptions and no data tables; `source.rs` takes those from the
//! `.feature` files themselves.

use serde::Deserialize;

/// One `.feature` file of the run, in the order the run first touched it.
#[derive(Debug, Clone, Deserialize)]
pub struct Feature {
    /// The file, absolute or relative to the workspace, as cucumber-rs trimmed it.
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub keyword: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub elements: Vec<Element>,
}

/// A scenario, or the background steps run for one scenario (`type` = `background`).
#[derive(Debug, Clone, Deserialize)]
pub struct Element {
    #[serde(default)]
    pub keyword: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub before: Vec<Hook>,
    #[serde(default)]
    pub after: Vec<Hook>,
}

impl Element {
    pub fn is_background(&self) -> bool {
        self.kind == "background"
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub keyword: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub name: String,
    pub result: RunResult,
}

/// A before or after hook; only its failure matters to the report.
#[derive(Debug, Clone, Deserialize)]
pub struct Hook {
    pub result: RunResult,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RunResult {
    pub status: Status,
    /// Nanoseconds, as cucumber-jvm and cucumber-rs write it.
    #[serde(default)]
    pub duration: u64,
    #[serde(default)]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
    Ambiguous,
    Undefined,
    Pending,
}

impl Status {
    /// Undefined and ambiguous steps fail the run like a failed one.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Ambiguous | Status::Undefined)
    }
}

/// Parses the whole file: a JSON array of features.
pub fn parse(json: &str) -> serde_json::Result<Vec<Feature>> {
    serde_json::from_str(json)
}
