//! What Cucumber JSON leaves out and a reader needs: feature and scenario descriptions, step
//! data tables and doc strings, read from the `.feature` files with the same Gherkin parser
//! cucumber-rs uses. A file that is gone or no longer parses only costs those details.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

/// The details of one `.feature` file, by line.
#[derive(Debug, Default)]
pub struct FeatureSource {
    pub description: Option<String>,
    /// Scenario descriptions by the scenario's line.
    pub scenario_descriptions: HashMap<usize, String>,
    /// Data tables by the step's line.
    pub tables: HashMap<usize, Vec<Vec<String>>>,
    /// Doc strings by the step's line.
    pub docstrings: HashMap<usize, String>,
}

impl FeatureSource {
    /// Reads `uri` (absolute, or relative to one of `roots`); `None` if no such file parses.
    pub fn read(uri: &str, roots: &[PathBuf]) -> Option<Self> {
        let path = locate(uri, roots)?;
        let feature = gherkin::Feature::parse_path(&path, gherkin::GherkinEnv::default()).ok()?;
        let mut source =
            FeatureSource { description: clean(feature.description.as_deref()), ..Self::default() };
        let rules = feature.rules.iter();
        let backgrounds = feature
            .background
            .iter()
            .chain(rules.clone().filter_map(|r| r.background.as_ref()))
            .flat_map(|b| &b.steps);
        let scenarios: Vec<&gherkin::Scenario> =
            feature.scenarios.iter().chain(rules.flat_map(|r| &r.scenarios)).collect();
        for scenario in &scenarios {
            if let Some(text) = clean(scenario.description.as_deref()) {
                source.scenario_descriptions.insert(scenario.position.line, text);
            }
        }
        for step in backgrounds.chain(scenarios.iter().flat_map(|s| &s.steps)) {
            if let Some(table) = &step.table {
                source.tables.insert(step.position.line, table.rows.clone());
            }
            if let Some(doc) = &step.docstring {
                source.docstrings.insert(step.position.line, doc.clone());
            }
        }
        Some(source)
    }
}

fn locate(uri: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(uri);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    roots.iter().map(|root| root.join(path)).find(|p| p.is_file())
}

/// Gherkin keeps a description's indentation; a report wants its words.
fn clean(text: Option<&str>) -> Option<String> {
    let lines: Vec<&str> = text?.lines().map(str::trim).collect();
    let joined = lines.join("\n").trim().to_string();
    (!joined.is_empty()).then_some(joined)
}
