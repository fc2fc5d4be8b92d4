//! The preflight: before any server is built or any scenario starts, every step line of the
//! selected scenarios is bound to its step definition, the way the runner will bind it.
//!
//! cucumber-rs finds out that a step has no definition only when the scenario reaches it —
//! after the servers it booted and the loads it ran — and says nothing about what was meant.
//! Here a run with an undefined or ambiguous step stops within a second, lists every such line
//! with its file:line, the three nearest defined phrases and a definition to paste
//! ([`report`]); a selection that keeps no scenario stops too, naming the filter ([`select`]).
//! `--dry-run` does only this and prints which definition each line runs.
//!
//! The features read here are the ones handed to cucumber ([`Checked`]), so what runs is
//! exactly what was checked. With `--shard I/N` they are this machine's share ([`shard`]).

mod bind;
mod report;
mod select;
mod shard;

use std::{fmt::Debug, io, path::PathBuf, time::Instant};

use cucumber::{
    World,
    cli::{Args, Opts},
    codegen::WorldInventory,
    gherkin::Feature,
    parser,
};
use cucumber_tests::binary;
use futures::stream;

/// `-i`: what to run. Replaces cucumber's own `-i`, which only globs below the working
/// directory.
#[derive(Args, Clone, Debug, Default)]
#[group(skip)]
pub struct Input {
    /// A .feature file or a folder of them, anywhere (relative paths start at the workspace
    /// root), or a glob such as 'features/*.feature'; repeat -i for several. Default: features/
    #[arg(id = "input", long = "input", short = 'i', value_name = "path|glob", global = true)]
    pub inputs: Vec<String>,
}

/// The harness's own options.
#[derive(Args, Clone, Debug, Default)]
#[group(skip)]
pub struct Flags {
    /// Only check that every step line of the selection binds to exactly one step definition,
    /// and list which; no server is built or started
    #[arg(long, env = "LITHAIR_DRY_RUN", value_parser = clap::builder::BoolishValueParser::new())]
    pub dry_run: bool,

    /// Where junit.xml, cucumber.json and perf.json go. Default: target/cucumber, or
    /// target/cucumber/shard-I-of-N with --shard
    #[arg(long, value_name = "dir")]
    pub reports: Option<PathBuf>,

    /// Run only share I of N of the selected scenarios (one CI machine of N), balanced by the
    /// durations in target/cucumber/history/ when known; merge the N reports with
    /// `lithair-report --merge target/cucumber/shard-*-of-N`
    #[arg(long, value_name = "I/N")]
    pub shard: Option<cucumber_tests::shard::Shard>,
}

impl Flags {
    /// Where this run's reports go.
    pub fn reports_dir(&self) -> PathBuf {
        let base = binary::target_dir().join("cucumber");
        match (&self.reports, self.shard) {
            (Some(dir), _) => dir.clone(),
            (None, Some(shard)) => base.join(shard.name()),
            (None, None) => base,
        }
    }
}

/// Where previous runs recorded their scenarios' durations, which `--shard` balances by.
fn history_dir() -> PathBuf {
    binary::target_dir().join("cucumber").join(lithair_report::HISTORY_DIR)
}

/// Checks the selection of `cli` against the step definitions of `W` and prints the outcome.
/// `Ok(Some(features))`: all bound, run these; `Ok(None)`: a dry run that passed; `Err`:
/// nothing may run (the details are printed).
pub fn check<W, R, Wr>(cli: &Opts<Input, R, Wr, Flags>) -> io::Result<Option<Vec<Feature>>>
where
    W: World + Debug + WorldInventory,
    R: Args,
    Wr: Args,
{
    let (outcome, report) = match verify::<W, R, Wr>(cli) {
        Ok((features, report)) => (Ok(features), report),
        Err(report) => (Err(io::Error::other(report.summary.clone())), report),
    };
    if cli.custom.dry_run {
        print!("{}", report.bindings);
    }
    eprint!("{}", report.problems);
    let features = outcome?;
    println!("harness: {}", report.summary);
    Ok((!cli.custom.dry_run).then_some(features))
}

/// What the preflight found, as text.
#[derive(Debug, Default)]
pub struct Report {
    /// Every step line and the definition it runs (what a dry run prints).
    pub bindings: String,
    /// Every undefined or ambiguous line, with suggestions.
    pub problems: String,
    /// One sentence: how many lines were checked, or why nothing may run.
    pub summary: String,
}

/// Binds every step line of the selection: the features to run and the report when each binds
/// to exactly one definition, the report of what does not otherwise.
pub fn verify<W, R, Wr>(cli: &Opts<Input, R, Wr, Flags>) -> Result<(Vec<Feature>, Report), Report>
where
    W: World + Debug + WorldInventory,
    R: Args,
    Wr: Args,
{
    let refused = |summary: String| Report { summary, ..Report::default() };
    let started = Instant::now();
    let root = binary::workspace_root();
    let files = select::feature_files(&cli.parser.inputs, &root, &root.join("features"))
        .map_err(refused)?;
    let features = select::parse(&files).map_err(refused)?;
    let filter = select::Filter { name: cli.re_filter.as_ref(), tags: cli.tags_filter.as_ref() };
    filter.ensure_selects_some(&features).map_err(refused)?;

    let lines = bind::bind_all::<W>(&features, &filter, &root);
    let world = std::any::type_name::<W>().rsplit("::").next().unwrap_or("World");
    let mut report = Report {
        bindings: report::bindings(&lines),
        problems: report::problems(&lines, &bind::definitions::<W>(), world),
        summary: String::new(),
    };
    let wrong = lines.iter().filter(|line| !matches!(line.binding, bind::Binding::Bound(_)));
    let wrong = wrong.count();
    if wrong > 0 {
        report.summary = format!(
            "{wrong} of {} step lines have no single definition (see above); no scenario was run",
            lines.len()
        );
        return Err(report);
    }
    report.summary = format!(
        "{} step lines in {} feature file(s), each bound to one definition ({:.0?})",
        lines.len(),
        files.len(),
        started.elapsed()
    );
    let Some(shard) = cli.custom.shard else { return Ok((features, report)) };
    let (features, split) = shard::keep(features, &filter, shard, &root, &history_dir());
    report.summary = format!("{}; {split}", report.summary);
    // What a dry run lists: this shard's scenarios.
    for (feature, rule, scenario) in select::scenarios(&features) {
        if filter.keeps(feature, rule, scenario) {
            let file = feature.path.as_deref().unwrap_or(std::path::Path::new(""));
            let file = file.strip_prefix(&root).unwrap_or(file).display();
            let line =
                format!("shard {shard}: {file}:{} {}\n", scenario.position.line, scenario.name);
            report.bindings.push_str(&line);
        }
    }
    Ok((features, report))
}

/// Hands cucumber the features [`check`] read, instead of letting it read them again.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checked;

impl cucumber::Parser<Vec<Feature>> for Checked {
    type Cli = Input;
    type Output = stream::Iter<std::vec::IntoIter<parser::Result<Feature>>>;

    fn parse(self, features: Vec<Feature>, _: Input) -> Self::Output {
        stream::iter(features.into_iter().map(Ok).collect::<Vec<_>>())
    }
}
