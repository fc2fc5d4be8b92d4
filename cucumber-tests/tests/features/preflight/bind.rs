//! Which step definition each step line of the selection runs: exactly the lookup the runner
//! makes (`step::Collection::find` over the registered steps), done before anything runs.

use std::{
    collections::BTreeSet,
    fmt::{self, Debug},
    path::Path,
};

use cucumber::{
    World,
    codegen::{StepConstructor, WorldInventory, inventory},
    gherkin::{Feature, Step, StepType},
    step::Location,
};
use cucumber_tests::suggest;

use super::select::{Filter, scenarios};

/// A registered step definition, as a developer wrote it.
pub struct Definition {
    pub kind: StepType,
    /// Its Cucumber expression, recovered from the regex it was compiled to.
    pub phrase: String,
    pub location: Location,
}

/// Every step definition registered for the world `W` (`#[given]`, `#[when]`, `#[then]`).
pub fn definitions<W: WorldInventory>() -> Vec<Definition> {
    fn of<W, T>(kind: StepType) -> impl Iterator<Item = Definition>
    where
        T: inventory::Collect + StepConstructor<W>,
    {
        inventory::iter::<T>.into_iter().map(move |item| {
            let (location, regex, _) = item.inner();
            Definition { kind, phrase: suggest::phrase_of_regex(regex().as_str()), location }
        })
    }
    let mut all: Vec<Definition> = of::<W, W::Given>(StepType::Given)
        .chain(of::<W, W::When>(StepType::When))
        .chain(of::<W, W::Then>(StepType::Then))
        .collect();
    all.sort_by_key(|definition| definition.location);
    all
}

/// What a step line binds to.
pub enum Binding {
    Bound(Option<Location>),
    Undefined,
    /// Every definition it matches: phrase and place.
    Ambiguous(Vec<(String, Option<Location>)>),
}

/// One step line of a selected scenario (or of its background).
pub struct StepLine<'a> {
    /// The feature file, relative to the workspace root when inside it.
    pub file: String,
    pub step: &'a Step,
    pub binding: Binding,
}

impl StepLine<'_> {
    /// `features/crud.feature:12`
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.step.position.line)
    }
}

/// Binds every step line the filter selects, each line once (a background once per feature
/// or rule; an outline's step once per distinct text), in file order.
pub fn bind_all<'a, W>(
    features: &'a [Feature],
    filter: &Filter<'_>,
    root: &Path,
) -> Vec<StepLine<'a>>
where
    W: World + Debug + WorldInventory,
{
    let collection = W::collection();
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    for (feature, rule, scenario) in scenarios(features) {
        if !filter.keeps(feature, rule, scenario) {
            continue;
        }
        let backgrounds = [feature.background.as_ref(), rule.and_then(|r| r.background.as_ref())];
        let steps = backgrounds.into_iter().flatten().flat_map(|b| &b.steps).chain(&scenario.steps);
        let file = display_path(feature.path.as_deref(), root);
        for step in steps {
            if !seen.insert((file.clone(), step.position.line, step.value.clone())) {
                continue;
            }
            let binding = match collection.find(step) {
                Ok(Some((_, _, location, _))) => Binding::Bound(location),
                Ok(None) => Binding::Undefined,
                Err(ambiguous) => Binding::Ambiguous(
                    ambiguous
                        .possible_matches
                        .iter()
                        .map(|(regex, location)| {
                            (suggest::phrase_of_regex(regex.as_str()), *location)
                        })
                        .collect(),
                ),
            };
            lines.push(StepLine { file: file.clone(), step, binding });
        }
    }
    lines
}

fn display_path(path: Option<&Path>, root: &Path) -> String {
    let Some(path) = path else { return "<unnamed feature>".to_string() };
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// A place in the step library: `cucumber-tests/tests/features/steps/crud_steps.rs:18`.
pub struct Place(pub Option<Location>);

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, "{}:{}", location.path, location.line),
            None => write!(f, "(no location)"),
        }
    }
}

/// `Given`, `When` or `Then`: the kind of definition a line needs, whatever its keyword
/// (`And`, `But`, `Soit`, …).
pub fn kind_name(kind: StepType) -> &'static str {
    match kind {
        StepType::Given => "Given",
        StepType::When => "When",
        StepType::Then => "Then",
    }
}
