//! Every step phrase is used by some feature: a phrase no feature says is vocabulary nobody
//! reads, kept compiling and documented for nothing, and the near-copy of a phrase that is used
//! (issue 25). The features are ours (`features/**/*.feature`, the French ones included) and,
//! when the shared folder is there, upstream's (`../shared/upstream/*.feature`), which run
//! unmodified.
//!
//! A phrase is used when a step line of its kind (Given, When or Then, `And`/`But` taking the
//! kind before them) matches it the way cucumber matches it: a Cucumber expression compiled with
//! the harness's own parameter types (`steps/parameters.rs`), or a `regex = "^…$"` as written.
//! A Scenario Outline's lines are matched once per Examples row, placeholders filled in.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use cucumber::gherkin::{Feature, GherkinEnv, Scenario, Step, StepType};
use cucumber_expressions::Expression;
use regex::Regex;

/// How a step attribute spells its phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    /// `#[given("…")]`: the text itself.
    Literal,
    /// `#[given(expr = "…")]`: a Cucumber expression.
    Expression,
    /// `#[given(regex = "…")]`: a regular expression.
    Regex,
}

/// Given, When or Then: the kind of definition a step line needs, whatever its keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Given,
    When,
    Then,
}

impl From<StepType> for Kind {
    fn from(ty: StepType) -> Self {
        match ty {
            StepType::Given => Kind::Given,
            StepType::When => Kind::When,
            StepType::Then => Kind::Then,
        }
    }
}

/// One `#[given]`, `#[when]` or `#[then]` of the step files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Phrase {
    kind: Kind,
    form: Form,
    text: String,
    /// `crud_steps.rs:23`
    place: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Reads the string literal at the start of `source` (`"…"`, `r"…"` or `r#"…"#`).
fn string_literal(source: &str) -> String {
    let source = source.trim_start();
    if let Some(raw) = source.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let closing = format!("\"{}", "#".repeat(hashes));
        let body = &raw[hashes + 1..];
        return body[..body.find(&closing).expect("a closed raw string")].to_string();
    }
    let mut text = String::new();
    let mut chars = source.strip_prefix('"').expect("a string literal").chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return text,
            '\\' => match chars.next().expect("an escape") {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                other => text.push(other),
            },
            c => text.push(c),
        }
    }
    panic!("an unclosed string literal: {source:.40}")
}

/// Every step phrase of the step files, with its kind and form.
fn defined_phrases() -> Vec<Phrase> {
    let dir = manifest_dir().join("tests/features/steps");
    let mut phrases = Vec::new();
    let mut files: Vec<PathBuf> =
        fs::read_dir(&dir).expect("the steps directory").map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files {
        let source = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for (attribute, kind) in
            [("#[given(", Kind::Given), ("#[when(", Kind::When), ("#[then(", Kind::Then)]
        {
            for (start, _) in source.match_indices(attribute) {
                let rest = source[start + attribute.len()..].trim_start();
                let (form, rest) = if let Some(rest) = rest.strip_prefix("expr") {
                    (Form::Expression, rest.trim_start().strip_prefix('=').expect("expr ="))
                } else if let Some(rest) = rest.strip_prefix("regex") {
                    (Form::Regex, rest.trim_start().strip_prefix('=').expect("regex ="))
                } else {
                    (Form::Literal, rest)
                };
                let line = source[..start].lines().count() + 1;
                let place = format!("{name}:{line}");
                phrases.push(Phrase { kind, form, text: string_literal(rest), place });
            }
        }
    }
    phrases
}

/// The harness's own parameter types, name to regex, as `steps/parameters.rs` declares them.
fn custom_parameters() -> BTreeMap<String, String> {
    let path = manifest_dir().join("tests/features/steps/parameters.rs");
    let source = fs::read_to_string(path).expect("steps/parameters.rs");
    let mut parameters = BTreeMap::new();
    for (start, _) in source.match_indices("#[param(") {
        let attribute = &source[start..];
        let value = |key: &str| {
            let at = attribute.find(&format!("{key} = ")).expect("a param key") + key.len() + 3;
            string_literal(&attribute[at..])
        };
        parameters.insert(value("name"), value("regex"));
    }
    parameters
}

/// The regex cucumber matches a step line's text against for this phrase.
fn matcher(phrase: &Phrase, parameters: &BTreeMap<String, String>) -> Regex {
    match phrase.form {
        Form::Literal => Regex::new(&format!("^{}$", regex::escape(&phrase.text))).unwrap(),
        Form::Regex => Regex::new(&phrase.text).unwrap(),
        Form::Expression => {
            let parameters: std::collections::HashMap<&str, &str> =
                parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Expression::regex_with_parameters(&phrase.text, &parameters)
                .unwrap_or_else(|err| panic!("{}: `{}`: {err}", phrase.place, phrase.text))
        }
    }
}

/// The feature files the phrases serve: ours, and upstream's when the shared folder is there.
fn feature_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "feature") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&manifest_dir().join("../features"), &mut files);
    let upstream = manifest_dir().join("../../shared/upstream");
    if let Ok(entries) = fs::read_dir(upstream) {
        files.extend(
            entries
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "feature")),
        );
    }
    files.sort();
    files
}

/// Every step line of a feature, by kind, an outline's once per Examples row.
fn step_lines(feature: &Feature) -> Vec<(Kind, String)> {
    fn of_scenario(scenario: &Scenario, lines: &mut Vec<(Kind, String)>) {
        let rows: Vec<(&Vec<String>, &Vec<String>)> = scenario
            .examples
            .iter()
            .filter_map(|examples| examples.table.as_ref())
            .flat_map(|table| table.rows.iter().skip(1).map(|row| (&table.rows[0], row)))
            .collect();
        for step in &scenario.steps {
            if rows.is_empty() {
                lines.push((step.ty.into(), step.value.clone()));
            }
            for (header, row) in &rows {
                let mut text = step.value.clone();
                for (name, value) in header.iter().zip(row.iter()) {
                    text = text.replace(&format!("<{name}>"), value);
                }
                lines.push((step.ty.into(), text));
            }
        }
    }
    let plain = |steps: &[Step], lines: &mut Vec<(Kind, String)>| {
        lines.extend(steps.iter().map(|step| (step.ty.into(), step.value.clone())));
    };
    let mut lines = Vec::new();
    if let Some(background) = &feature.background {
        plain(&background.steps, &mut lines);
    }
    for scenario in &feature.scenarios {
        of_scenario(scenario, &mut lines);
    }
    for rule in &feature.rules {
        if let Some(background) = &rule.background {
            plain(&background.steps, &mut lines);
        }
        for scenario in &rule.scenarios {
            of_scenario(scenario, &mut lines);
        }
    }
    lines
}

/// Every step line of every feature file, deduplicated.
fn all_step_lines() -> BTreeSet<(Kind, String)> {
    let mut lines = BTreeSet::new();
    for path in feature_files() {
        let feature = Feature::parse_path(&path, GherkinEnv::default())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        lines.extend(step_lines(&feature));
    }
    lines
}

#[test]
fn every_phrase_is_used_by_a_feature() {
    let parameters = custom_parameters();
    let lines = all_step_lines();
    let unused: Vec<String> = defined_phrases()
        .iter()
        .filter(|phrase| {
            let matcher = matcher(phrase, &parameters);
            !lines.iter().any(|(kind, text)| *kind == phrase.kind && matcher.is_match(text))
        })
        .map(|phrase| format!("{} {:?} `{}`", phrase.place, phrase.kind, phrase.text))
        .collect();
    assert!(
        unused.is_empty(),
        "step phrases no feature uses (remove them, or use them in a feature):\n  {}",
        unused.join("\n  ")
    );
}

#[test]
fn the_parsers_find_phrases_and_lines() {
    // Guards the test above against passing vacuously: the parsers see what is there.
    let phrases = defined_phrases();
    assert!(phrases.iter().any(|p| p.text == "a running Lithair server"));
    assert!(phrases.iter().any(|p| p.form == Form::Regex));
    assert!(custom_parameters().contains_key("durability"));
    let lines = all_step_lines();
    assert!(lines.contains(&(Kind::Given, "a running Lithair server".to_string())));
    // An outline's line, filled in from its Examples.
    assert!(lines.iter().any(|(_, text)| text == "a running Lithair server with async durability"));
    // A French line, parsed with `# language: fr`.
    assert!(lines.iter().any(|(_, text)| text.starts_with("je crée")));
}
