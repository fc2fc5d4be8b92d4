//! `--shard I/N` on the selection: the scenarios this machine runs, by the pure split of
//! `cucumber_tests::shard`, keyed and timed the way `lithair-report` records each run
//! (`history::scenario_key`, `Entry::scenario_secs`). Every shard binds the whole selection's
//! steps first, so a step error fails every shard alike.

use std::path::Path;

use cucumber::gherkin::{Feature, Rule, Scenario};
use cucumber_tests::shard::{self, Item, Shard};
use lithair_report::history;

use super::select::{Filter, scenarios};

/// Keeps in `features` only the selected scenarios that `shard` runs (features and rules left
/// empty are dropped). `history_dir` holds the previous runs' durations, if any. Returns the
/// features and one sentence on the split.
pub fn keep(
    mut features: Vec<Feature>,
    filter: &Filter<'_>,
    shard: Shard,
    root: &Path,
    history_dir: &Path,
) -> (Vec<Feature>, String) {
    let recorded = history::last_runs(history_dir);
    let durations = shard::latest_durations(recorded.iter().map(|entry| &entry.scenario_secs));
    let selected: Vec<(String, usize, bool)> = scenarios(&features)
        .filter(|(feature, rule, scenario)| filter.keeps(feature, *rule, scenario))
        .map(|(feature, rule, scenario)| {
            (
                key(feature, scenario, root),
                scenario.position.line,
                is_serial(feature, rule, scenario),
            )
        })
        .collect();
    let items: Vec<Item> = selected
        .iter()
        .map(|(key, _, serial)| Item {
            key: key.clone(),
            serial: *serial,
            secs: durations.get(key).copied(),
        })
        .collect();
    let timed = items.iter().filter(|item| item.secs.is_some()).count();
    let mine: Vec<&(String, usize, bool)> =
        shard::select(&items, shard).into_iter().map(|i| &selected[i]).collect();
    let runs = |feature: &Feature, scenario: &Scenario| {
        let key = key(feature, scenario, root);
        mine.iter().any(|(k, line, _)| *k == key && *line == scenario.position.line)
    };
    for feature in &mut features {
        let snapshot = feature.clone();
        feature.scenarios.retain(|scenario| runs(&snapshot, scenario));
        for rule in &mut feature.rules {
            rule.scenarios.retain(|scenario| runs(&snapshot, scenario));
        }
        feature.rules.retain(|rule| !rule.scenarios.is_empty());
    }
    features.retain(|feature| !feature.scenarios.is_empty() || !feature.rules.is_empty());
    let balance = if timed == 0 {
        "no durations recorded yet, split evenly by count".to_string()
    } else {
        let estimate: f64 = mine.iter().filter_map(|(k, ..)| durations.get(k)).sum();
        format!(
            "balanced by the durations of {timed} of them in {} (this shard: ~{estimate:.0} s \
             of scenario time)",
            history_dir.display()
        )
    };
    let summary = format!(
        "shard {shard} runs {} of the {} selected scenarios; {balance}",
        mine.len(),
        selected.len()
    );
    (features, summary)
}

fn key(feature: &Feature, scenario: &Scenario, root: &Path) -> String {
    let path = feature.path.as_deref().map_or(String::new(), |path| {
        path.strip_prefix(root).unwrap_or(path).display().to_string()
    });
    history::scenario_key(&path, &scenario.name)
}

/// `@serial` anywhere above the scenario, as cucumber's runner decides it.
fn is_serial(feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) -> bool {
    let rule_tags = rule.into_iter().flat_map(|rule| &rule.tags);
    scenario.tags.iter().chain(rule_tags).chain(&feature.tags).any(|tag| tag == "serial")
}
