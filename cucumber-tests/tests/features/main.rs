//! Lithair's BDD suite: every feature under `features/`, run against the real `lithair-server`.
//!
//! ```text
//! cargo test -p cucumber-tests --test features                         # everything
//! cargo test -p cucumber-tests --test features -- --tags @crud         # one tag
//! cargo test -p cucumber-tests --test features -- --tags 'not @slow'   # skip the long ones
//! cargo test -p cucumber-tests --test features -- -i features/crud.feature # one feature
//! cargo test -p cucumber-tests --test features -- --dry-run                # check the steps only
//! cargo test -p cucumber-tests --test features -- --shard 2/3   # one CI machine's third
//! ```
//!
//! Reports: the console, plus in `target/cucumber/`: `junit.xml`, `cucumber.json`, `perf.json`
//! and `report.html`, the one-file page a product owner reads (docs/report.md), written after
//! every run that ran scenarios, passed or failed.
//! Before anything starts, the preflight (`preflight/`) binds every step line: a step that
//! matches no definition, or more than one, or a selection with no scenario, fails the run at
//! once; so does any failed step.

mod articles;
mod cluster_checks;
mod cluster_world;
mod explain;
mod hostile;
mod http;
mod load;
mod log_checks;
mod preflight;
mod race;
mod retake;
mod run_report;
mod server_control;
mod service_checks;
mod snapshots;
mod steps;
mod upstream_cluster_checks;
mod world;

use std::{
    fs::File,
    io,
    process::ExitCode,
    sync::{Arc, Mutex, OnceLock},
};

use cucumber::{
    World as _, WriterExt as _, cli, event::ScenarioFinished, writer, writer::Coloring,
    writer::Stats as _,
};
use cucumber_tests::{binary, seed::RunSeed};

use crate::{run_report::RunReport, world::LithairWorld};

/// Scenarios without `@serial` run this many at a time: enough to overlap their waits on
/// 2 cores without turning timing into noise.
const CONCURRENT_SCENARIOS: usize = 4;

fn main() -> ExitCode {
    raise_open_file_limit();
    // cucumber names feature files relative to CARGO_WORKSPACE_DIR (else CARGO_MANIFEST_DIR,
    // the crate's folder, which names them `work/…/features/x.feature`); point it at the
    // workspace so the console, cucumber.json and the report say `features/x.feature`.
    // SAFETY: nothing else runs yet; no other thread reads the environment.
    unsafe { std::env::set_var("CARGO_WORKSPACE_DIR", binary::workspace_root()) };
    // `--input` globs are relative to the working directory: make it the repository's root,
    // so `-i features/crud.feature` means what it says wherever cargo runs the test from.
    if let Err(err) = std::env::set_current_dir(binary::workspace_root()) {
        eprintln!("harness: cannot enter the workspace: {err}");
        return ExitCode::FAILURE;
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("harness: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> io::Result<()> {
    let cli = cli::Opts::<preflight::Input, _, _, preflight::Flags>::parsed();
    // First, so that a run that fails at once still says how to replay it.
    let seed = RunSeed::from_env().map_err(io::Error::other)?;
    println!("harness: {seed} (set it to replay this run's random choices)");
    SEED.set(seed).expect("the seed is set once");
    let report = Arc::new(RunReport::start(&binary::workspace_root(), seed));
    let Some(features) = preflight::check::<LithairWorld, _, _>(&cli)? else {
        return Ok(()); // a dry run: checked, nothing to run
    };
    // Build (or find) the server before any scenario starts its clock.
    binary::server_binary().map_err(|err| {
        io::Error::other(format!("cannot get the lithair-server binary: {err:#}"))
    })?;
    let reports = cli.custom.reports_dir();
    std::fs::create_dir_all(&reports)?;
    let junit = File::create(reports.join("junit.xml"))?;
    let json = File::create(reports.join("cucumber.json"))?;

    // Each scenario keeps its own perf entries; the after hook moves them here.
    let perf = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&perf);
    let noted = Arc::clone(&report);
    // `&str`: the input of the default parser, replaced by the one that runs what was checked.
    let outcome = LithairWorld::cucumber::<&str>()
        .with_parser(preflight::Checked)
        .max_concurrent_scenarios(CONCURRENT_SCENARIOS)
        .with_writer(
            writer::Basic::raw(io::stdout(), Coloring::Auto, 0)
                .summarized()
                .tee::<LithairWorld, _>(writer::JUnit::for_tee(junit, 0))
                .tee::<LithairWorld, _>(writer::Json::for_tee(json))
                .normalized(),
        )
        .fail_on_skipped()
        .before(|feature, _rule, scenario, world| {
            // Each scenario's own stream, by its feature and name: concurrent scenarios never
            // shift each other's choices.
            let name = format!("{}: {}", feature.name, scenario.name);
            world.random = Some(run_seed().stream(&name));
            Box::pin(async {})
        })
        .after(move |feature, _rule, scenario, finished, world| {
            let perf = Arc::clone(&collected);
            let report = Arc::clone(&noted);
            Box::pin(async move {
                if let Some(world) = world {
                    let entries = std::mem::take(&mut world.perf.entries);
                    perf.lock().unwrap_or_else(|p| p.into_inner()).extend(entries);
                    let note = world.finish(matches!(finished, ScenarioFinished::StepPassed)).await;
                    report.scenario_finished(feature, scenario, note);
                }
            })
        })
        .with_cli(cli)
        .run(features)
        .await;
    let failed = outcome.execution_has_failed();
    drop(outcome); // closes cucumber.json, which the report reads
    let perf = std::mem::take(&mut *perf.lock().unwrap_or_else(|p| p.into_inner()));
    let perf = serde_json::to_vec_pretty(&perf).map_err(io::Error::other)?;
    std::fs::write(reports.join("perf.json"), perf)?;
    // A run whose report cannot be written fails: CI keeps the page as the run's record.
    let (page, failures) = report
        .write(&reports)
        .map_err(|err| io::Error::other(format!("cannot write the run report: {err:#}")))?;
    println!("harness: reports in {}; open {}", reports.display(), page.display());
    if failed {
        // Last, where a log excerpt's tail shows it, not only among the scenarios' output.
        if !failures.is_empty() {
            eprint!("harness: failed:\n{failures}");
        }
        return Err(io::Error::other("some scenarios failed (recap above, details further up)"));
    }
    Ok(())
}

/// The run's seed, set once at the start of [`run`].
static SEED: OnceLock<RunSeed> = OnceLock::new();

pub fn run_seed() -> RunSeed {
    *SEED.get().expect("the run's seed is set before any scenario starts")
}

/// Scenarios open up to a thousand connections at once; lift the soft limit to the hard one.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
