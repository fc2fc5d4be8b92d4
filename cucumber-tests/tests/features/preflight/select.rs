//! Which scenarios a run selects: the feature files `-i` names, and those of their scenarios
//! that `--tags` or `--name` keep.
//!
//! cucumber's own `-i` is a glob matched while walking the working directory, so a path that
//! leaves it (`../drafts/x.feature`) or an absolute path to a file matches nothing, and the
//! run reports "0 scenarios" and passes. Here `-i` takes a file or a folder anywhere
//! (relative paths start at the workspace root), or a glob; anything that matches nothing is
//! an error that names it, and so is a filter that keeps no scenario.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use cucumber::{
    codegen::Regex,
    feature::Ext as _,
    gherkin::{Feature, GherkinEnv, Rule, Scenario, tagexpr::TagOperation},
    tag::Ext as _,
};
use cucumber_tests::suggest;

/// Feature files named by the `-i` inputs (all of `default` when there are none), each once,
/// in the order given; a folder or a glob contributes its `.feature` files sorted by path.
pub fn feature_files(
    inputs: &[String],
    root: &Path,
    default: &Path,
) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    if inputs.is_empty() {
        files.extend(features_under(default));
    }
    for input in inputs {
        let found = files_of(input, root)?;
        if found.is_empty() {
            return Err(format!("-i {input} matches no .feature file"));
        }
        files.extend(found);
    }
    let mut seen = BTreeSet::new();
    files.retain(|file| seen.insert(file.canonicalize().unwrap_or_else(|_| file.clone())));
    Ok(files)
}

fn files_of(input: &str, root: &Path) -> Result<Vec<PathBuf>, String> {
    let path = root.join(input);
    if path.is_file() {
        return Ok(vec![path]);
    }
    if path.is_dir() {
        return Ok(features_under(&path));
    }
    if input.contains(['*', '?', '[', '{']) {
        return glob(input, root);
    }
    let hint = nearest_feature_file(input, root)
        .map(|near| format!("; did you mean {near}?"))
        .unwrap_or_default();
    Err(format!(
        "-i {input}: no such file or folder (relative paths start at {}){hint}",
        root.display()
    ))
}

/// Every `.feature` file under `dir`, sorted by path.
fn features_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if is_feature_file(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_feature_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("feature"))
}

/// The `.feature` files a glob matches: `*` stays within a folder, `**` crosses folders. The
/// walk starts at the glob's longest literal folder, so `../drafts/*.feature` works.
fn glob(pattern: &str, root: &Path) -> Result<Vec<PathBuf>, String> {
    let absolute = root.join(pattern);
    let literal: PathBuf = absolute
        .components()
        .take_while(|part| !part.as_os_str().to_string_lossy().contains(['*', '?', '[', '{']))
        .collect();
    let matcher = globset::GlobBuilder::new(&absolute.to_string_lossy())
        .literal_separator(true)
        .build()
        .map_err(|err| format!("-i {pattern}: {err}"))?
        .compile_matcher();
    let mut files = features_under(&literal);
    files.retain(|file| matcher.is_match(file));
    Ok(files)
}

/// The feature file under `features/` whose path is nearest a mistyped one.
fn nearest_feature_file(input: &str, root: &Path) -> Option<String> {
    features_under(&root.join("features"))
        .iter()
        .filter_map(|file| file.strip_prefix(root).ok()?.to_str().map(str::to_string))
        .map(|file| (suggest::levenshtein(input, &file), file))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, file)| file)
}

/// Reads the feature files as cucumber would (scenario outlines expanded into scenarios).
pub fn parse(files: &[PathBuf]) -> Result<Vec<Feature>, String> {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Feature::parse_path(file, GherkinEnv::default()) {
            Ok(feature) => match feature.expand_examples() {
                Ok(feature) => features.push(feature),
                Err(err) => errors.push(format!("{}: {err}", file.display())),
            },
            Err(err) => errors.push(err.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(features)
    } else {
        Err(format!("cannot read the features:\n  {}", errors.join("\n  ")))
    }
}

/// The scenario filter of the command line, applied exactly as cucumber's `filter_run` does:
/// `--name` (a regex on the scenario's name) wins, else `--tags` over the feature's, rule's
/// and scenario's tags, else every scenario.
pub struct Filter<'a> {
    pub name: Option<&'a Regex>,
    pub tags: Option<&'a TagOperation>,
}

impl Filter<'_> {
    pub fn keeps(&self, feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) -> bool {
        if let Some(name) = self.name {
            return name.is_match(&scenario.name);
        }
        self.tags.is_none_or(|tags| {
            tags.eval(
                feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags),
            )
        })
    }

    /// An error naming the filter (or the files) when no scenario is selected.
    pub fn ensure_selects_some(&self, features: &[Feature]) -> Result<(), String> {
        let all = scenarios(features).count();
        if scenarios(features).any(|(feature, rule, scenario)| self.keeps(feature, rule, scenario))
        {
            return Ok(());
        }
        let files = features.len();
        let message = if all == 0 {
            format!("the {files} selected feature file(s) hold no scenario: nothing to run")
        } else if let Some(name) = self.name {
            format!(
                "--name '{name}' matched none of the {all} scenarios in {files} feature file(s)"
            )
        } else if let Some(tags) = self.tags {
            let in_use: BTreeSet<String> = scenarios(features)
                .flat_map(|(feature, rule, scenario)| {
                    let rule_tags = rule.into_iter().flat_map(|r| &r.tags);
                    feature.tags.iter().chain(rule_tags).chain(&scenario.tags)
                })
                .map(|tag| format!("@{tag}"))
                .collect();
            let in_use = in_use.into_iter().collect::<Vec<_>>().join(" ");
            format!(
                "--tags '{}' matched none of the {all} scenarios in {files} feature file(s) \
                 (tags in use: {in_use})",
                describe(tags)
            )
        } else {
            unreachable!("without a filter every scenario is kept")
        };
        Err(format!("{message}; no scenario was run"))
    }
}

/// Every scenario of the features, with its feature and rule.
pub fn scenarios(
    features: &[Feature],
) -> impl Iterator<Item = (&Feature, Option<&Rule>, &Scenario)> {
    features.iter().flat_map(|feature| {
        let direct = feature.scenarios.iter().map(move |s| (feature, None, s));
        let in_rules = feature
            .rules
            .iter()
            .flat_map(move |rule| rule.scenarios.iter().map(move |s| (feature, Some(rule), s)));
        direct.chain(in_rules)
    })
}

/// A tag expression as it is written on the command line.
fn describe(tags: &TagOperation) -> String {
    let nested = |op: &TagOperation| match op {
        TagOperation::And(..) | TagOperation::Or(..) => format!("({})", describe(op)),
        _ => describe(op),
    };
    match tags {
        TagOperation::Tag(tag) => format!("@{tag}"),
        TagOperation::Not(op) => format!("not {}", nested(op)),
        TagOperation::And(l, r) => format!("{} and {}", nested(l), nested(r)),
        TagOperation::Or(l, r) => format!("{} or {}", nested(l), nested(r)),
    }
}
