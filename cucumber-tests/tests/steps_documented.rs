//! docs/steps.md is the step library's catalogue: every step definition must be listed there
//! (so developers find the step before writing a near-copy), and everything listed must exist.

use std::{collections::BTreeSet, fs, path::Path};

const STEP_ATTRIBUTES: [&str; 3] = ["#[given(", "#[when(", "#[then("];

/// The phrase of every `#[given]`, `#[when]` and `#[then]` in the step files.
fn defined_steps() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/features/steps");
    let mut steps = BTreeSet::new();
    for entry in fs::read_dir(&dir).expect("the steps directory") {
        let source = fs::read_to_string(entry.unwrap().path()).unwrap();
        for attribute in STEP_ATTRIBUTES {
            for (start, _) in source.match_indices(attribute) {
                let rest = &source[start + attribute.len()..];
                let phrase = rest.split('"').nth(1).expect("a step attribute holds a string");
                steps.insert(phrase.to_string());
            }
        }
    }
    steps
}

/// The first backquoted cell of each table row of docs/steps.md.
fn documented_steps() -> BTreeSet<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/steps.md");
    let doc = fs::read_to_string(doc).expect("docs/steps.md");
    doc.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` |").map(|(phrase, _)| phrase.to_string()))
        .collect()
}

#[test]
fn every_step_is_documented() {
    let missing: Vec<_> = defined_steps().difference(&documented_steps()).cloned().collect();
    assert!(missing.is_empty(), "steps missing from docs/steps.md:\n  {}", missing.join("\n  "));
}

#[test]
fn every_documented_step_exists() {
    let unknown: Vec<_> = documented_steps().difference(&defined_steps()).cloned().collect();
    assert!(
        unknown.is_empty(),
        "docs/steps.md lists steps that do not exist:\n  {}",
        unknown.join("\n  ")
    );
}

#[test]
fn the_parsers_find_steps() {
    // Guards the two tests above against passing vacuously.
    assert!(defined_steps().contains("a running Lithair server"));
    assert!(documented_steps().len() > 20);
}
