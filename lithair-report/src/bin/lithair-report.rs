//! Rebuilds a run's HTML report from the files the run saved, or merges the reports of a
//! sharded run (`--shard I/N`) into one.
//!
//! ```text
//! lithair-report --report-only target/cucumber
//! lithair-report --report-only saved/cucumber.json saved/perf.json saved/run-info.json -o r.html
//! lithair-report --merge target/cucumber/shard-*-of-3 --into target/cucumber
//! ```
//!
//! A directory stands for the files a run leaves in it; single files are told apart by their
//! content (a feature array, a perf array, a run-info object), so saved copies may be renamed.
//! The history is read, never written: regenerating a report does not count as a run. A merge
//! does count as one (the shards' run): it records the run, with every scenario's duration, in
//! the `history/` of `--into`, which the next sharded run is balanced by.

#![forbid(unsafe_code)]

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context as _, bail};
use clap::Parser;
use lithair_report::{Inputs, REPORT_HTML, regenerate};
use serde_json::Value;

#[derive(Parser)]
#[command(version, about = "Rebuild Lithair's one-file HTML run report from saved outputs")]
struct Args {
    /// A reports directory (target/cucumber) or the files: cucumber.json, perf.json,
    /// run-info.json, a history directory.
    #[arg(long = "report-only", value_name = "DIR_OR_FILES", num_args = 1..)]
    #[arg(required_unless_present = "merge", conflicts_with = "merge")]
    inputs: Vec<PathBuf>,
    /// The reports directories of a sharded run's shards (target/cucumber/shard-I-of-N),
    /// merged into one run: its files and report.html are written into --into.
    #[arg(long, value_name = "SHARD_DIRS", num_args = 1..)]
    merge: Vec<PathBuf>,
    /// Where a merged run's files go [default: the folder of the first shard's directory].
    #[arg(long, value_name = "DIR", requires = "merge")]
    into: Option<PathBuf>,
    /// Where to write the report [default: report.html next to cucumber.json].
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Where relative `.feature` paths of cucumber.json are found [default: the run's
    /// workspace, then the current directory].
    #[arg(long)]
    root: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(path) => {
            println!("report: {}", path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("lithair-report: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<PathBuf> {
    if !args.merge.is_empty() {
        let into = match args.into {
            Some(into) => into,
            None => args.merge[0].parent().map(PathBuf::from).unwrap_or_default(),
        };
        let report = lithair_report::merge::merge(&args.merge, &into)?;
        let tally = report.run.scenario_tally;
        println!(
            "merged {} shards: {} scenarios, {} failed",
            args.merge.len(),
            tally.total(),
            tally.failed
        );
        return Ok(into.join(REPORT_HTML));
    }
    let inputs = classify(&args.inputs)?;
    let out = match args.out {
        Some(out) => out,
        None => inputs.cucumber.with_file_name(REPORT_HTML),
    };
    regenerate(&inputs, &args.root, &out)
}

fn classify(paths: &[PathBuf]) -> anyhow::Result<Inputs> {
    if let [dir] = paths
        && dir.is_dir()
        && dir.join(lithair_report::CUCUMBER_JSON).is_file()
    {
        return Ok(Inputs::in_dir(dir));
    }
    let mut inputs = Inputs::default();
    let mut cucumber = None;
    for path in paths {
        if path.is_dir() {
            inputs.history = Some(path.clone());
            continue;
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let first = json.as_array().and_then(|a| a.first());
        match (&json, first) {
            (Value::Object(o), _) if o.contains_key("commit") || o.contains_key("scenarios") => {
                inputs.run_info = Some(path.clone())
            }
            (Value::Array(_), Some(f)) if f.get("elements").is_some() => {
                cucumber = Some(path.clone())
            }
            (Value::Array(_), Some(_)) => inputs.perf = Some(path.clone()),
            // An empty array: a run with no features, or with no loads; the name decides.
            (Value::Array(_), None) if path.to_string_lossy().contains("perf") => {
                inputs.perf = Some(path.clone())
            }
            (Value::Array(_), None) => cucumber = Some(path.clone()),
            _ => bail!("{}: neither cucumber.json, perf.json nor run-info.json", path.display()),
        }
    }
    inputs.cucumber = cucumber.context("no cucumber.json among the inputs")?;
    Ok(inputs)
}
