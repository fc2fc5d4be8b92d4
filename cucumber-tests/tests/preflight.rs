//! The runner's step check (tests/features/preflight/), end to end: the real `features` binary
//! on the fixture features of tests/fixtures/, and the ambiguity report in-process, on a world
//! whose two steps overlap on purpose (no step of the real library does).
//!
//! The `features` runner is a test target, and cargo hands other tests only the path of
//! binaries (`CARGO_BIN_EXE_*`). So these tests ask cargo for it once (`cargo test --workspace
//! --test features --no-run`: the workspace's feature resolution, the same as `cargo test
//! --workspace`, so there is nothing to build after it; with `--package` cargo resolved other
//! features and rebuilt 20 crates, 1m46s of CI) and then run the executable directly: the time
//! a refusal takes is the runner's own, and no cargo lock is held while it runs. The harness
//! already calls cargo the same way to build the server.

#[allow(dead_code, reason = "the runner's half (check, Checked) serves tests/features/main.rs")]
#[path = "features/preflight/mod.rs"]
mod preflight;

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use cucumber::{cli, given};

/// How long a refused run may take, from start to exit.
const FAIL_FAST: Duration = Duration::from_secs(2);
/// What the harness prints when it is about to build the server.
const SERVER_BUILD: &str = "making sure lithair-server is built";

/// The runner on a fixture that misspells "articles": refused at once, the step it meant first.
#[test]
fn a_typo_fails_fast_with_the_right_suggestion_first() {
    let (run, took) = features(&["-i", "cucumber-tests/tests/fixtures/typo.feature"]);
    let err = stderr(&run);
    assert!(!run.status.success(), "a typo must fail the run:\n{err}");
    assert!(took < FAIL_FAST, "refusing took {took:?}");
    assert!(!err.contains(SERVER_BUILD) && !stdout(&run).contains(SERVER_BUILD), "{err}");
    assert!(err.contains("cucumber-tests/tests/fixtures/typo.feature:6: undefined step"), "{err}");
    let first_suggestion = err.lines().skip_while(|l| !l.contains("did you mean")).nth(1);
    let first_suggestion = first_suggestion.unwrap_or_else(|| panic!("no suggestion:\n{err}"));
    assert!(
        first_suggestion.trim().starts_with("When I create {int} article(s)")
            && first_suggestion.contains("crud_steps.rs:"),
        "{err}"
    );
    assert!(err.contains("#[when(expr = \"I create {int} artcles\")]"), "{err}");
    assert!(err.contains("async fn i_create_artcles(world: &mut LithairWorld, artcles: usize)"));
    assert!(err.contains("no scenario was run"), "{err}");
}

#[test]
fn an_empty_selection_fails_and_names_its_filter() {
    for (args, expected) in [
        (&["--tags", "@nosuchtag"][..], "--tags '@nosuchtag' matched none of the"),
        (&["--name", "no such scenario"], "--name 'no such scenario' matched none of the"),
        (&["-i", "features/crudd.feature"], "did you mean features/crud.feature?"),
        (&["-i", "features/crud.feature", "--tags", "@slow"], "--tags '@slow' matched none"),
        (&["-i", "cucumber-tests/tests/fixtures/*.nothing"], "matches no .feature file"),
    ] {
        let (run, took) = features(args);
        let err = stderr(&run);
        assert!(!run.status.success(), "{args:?} must fail:\n{err}");
        assert!(err.contains(expected), "{args:?}: expected {expected:?} in:\n{err}");
        assert!(took < FAIL_FAST && !err.contains(SERVER_BUILD), "{args:?} took {took:?}");
    }
}

/// A product owner's draft, kept outside `features/` and named by an absolute path, runs.
#[test]
fn a_feature_outside_features_runs() {
    let draft = workspace().join("cucumber-tests/tests/fixtures/draft/outside.feature");
    // Its reports go aside, so the suite's own reports in target/cucumber stay as they were.
    let reports = tempfile::tempdir().unwrap();
    let reports = reports.path().to_str().unwrap();
    let (run, _) = features(&["-i", draft.to_str().unwrap(), "--reports", reports]);
    let out = stdout(&run);
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert!(out.contains("1 scenario (1 passed)"), "{out}");
}

#[test]
fn a_dry_run_lists_the_definition_of_every_line_and_runs_nothing() {
    let (run, took) = features(&["--dry-run", "-i", "cucumber-tests/tests/fixtures/draft"]);
    let out = stdout(&run);
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert!(took < FAIL_FAST && !out.contains(SERVER_BUILD), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("cucumber-tests/tests/fixtures/draft/outside.feature:7"));
    let line = line.unwrap_or_else(|| panic!("line 7 not listed:\n{out}"));
    assert!(line.contains("Then the server is still healthy") && line.contains("server_steps.rs:"));

    let (run, _) = features(&["--dry-run", "-i", "cucumber-tests/tests/fixtures/typo.feature"]);
    assert!(!run.status.success());
    assert!(stdout(&run).contains("When I create 3 artcles"), "{}", stdout(&run));
    assert!(stdout(&run).contains("UNDEFINED"), "{}", stdout(&run));
}

/// Every step line of the specification binds to exactly one definition.
#[test]
fn the_whole_specification_binds() {
    let (run, _) = features(&["--dry-run"]);
    assert!(run.status.success(), "{}", stderr(&run));
}

/// The world of the ambiguity test: two phrases that both match "3 articles exist".
#[derive(Debug, Default, cucumber::World)]
struct OverlappingWorld;

#[given(expr = "{int} articles exist")]
async fn counted_articles(_: &mut OverlappingWorld, _count: usize) {
    unreachable!("the preflight refuses an ambiguous line before any step runs")
}

#[given(expr = "{word} articles exist")]
async fn named_articles(_: &mut OverlappingWorld, _name: String) {
    unreachable!("the preflight refuses an ambiguous line before any step runs")
}

/// `--shard I/N` on the real specification, as N CI machines would run it: the shards are
/// disjoint, together exactly the whole selection (`--shard 1/1`), and the same on every call.
#[test]
fn the_shards_of_the_specification_partition_it() {
    let listed = |shard: &str| {
        let (run, _) = features(&["--dry-run", "--shard", shard]);
        assert!(run.status.success(), "--shard {shard}:\n{}", stderr(&run));
        let prefix = format!("shard {shard}: ");
        let out = stdout(&run);
        out.lines().filter_map(|l| l.strip_prefix(&prefix).map(str::to_string)).collect::<Vec<_>>()
    };
    let whole = listed("1/1");
    assert!(whole.len() > 50, "the specification has more scenarios: {whole:?}");
    let shards: Vec<Vec<String>> = (1..=3).map(|i| listed(&format!("{i}/3"))).collect();
    assert_eq!(listed("2/3"), shards[1], "the split is not deterministic");
    let mut union: Vec<String> = shards.concat();
    assert!(shards.iter().all(|shard| !shard.is_empty() && shard.len() < whole.len()));
    union.sort();
    let mut expected = whole.clone();
    expected.sort();
    assert_eq!(union, expected, "the shards are not disjoint or miss a scenario");
}

#[test]
fn an_ambiguous_step_lists_every_candidate() {
    let fixture = workspace().join("cucumber-tests/tests/fixtures/ambiguous.feature");
    let opts = cli::Opts {
        re_filter: None,
        tags_filter: None,
        parser: preflight::Input { inputs: vec![fixture.to_str().unwrap().to_string()] },
        runner: cli::Empty,
        writer: cli::Empty,
        custom: preflight::Flags::default(),
    };
    let report = preflight::verify::<OverlappingWorld, _, _>(&opts).unwrap_err();
    let problems = &report.problems;
    assert!(
        problems.contains("ambiguous.feature:5: ambiguous step, 2 definitions match it"),
        "{problems}"
    );
    let source = include_str!("preflight.rs");
    for phrase in ["{int} articles exist", "{word} articles exist"] {
        let attribute = format!("#[given(expr = \"{phrase}\")]");
        let line = source.lines().position(|l| l == attribute).unwrap() + 1;
        let candidate = problems.lines().find(|l| l.trim_start().starts_with(phrase));
        let candidate = candidate.unwrap_or_else(|| panic!("{phrase} not listed:\n{problems}"));
        assert!(
            candidate.ends_with(&format!("cucumber-tests/tests/preflight.rs:{line}")),
            "{candidate}"
        );
    }
    assert!(report.summary.contains("1 of 1 step lines have no single definition"));
}

/// Runs the feature runner with `args`, from the workspace root.
fn features(args: &[&str]) -> (Output, Duration) {
    let binary = features_binary();
    let started = Instant::now();
    let output = Command::new(binary)
        .args(args)
        .current_dir(workspace())
        .env_remove("LITHAIR_DRY_RUN")
        .env_remove("CUCUMBER_FILTER_TAGS")
        .stdin(Stdio::null())
        .output()
        .expect("run the features binary");
    (output, started.elapsed())
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The `features` test executable, built by cargo with this test's profile if needed.
fn features_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // Tests live in `<target>/<profile dir>/deps/`; `debug` is `cargo test`'s default.
        let exe = env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).and_then(Path::file_name);
        let profile = profile_dir.and_then(|dir| dir.to_str()).filter(|dir| *dir != "debug");
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(workspace())
            .args(["test", "--workspace", "--test", "features", "--no-run"])
            .args(profile.into_iter().flat_map(|profile| ["--profile", profile]))
            .args(["--message-format", "json-render-diagnostics"])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo");
        assert!(output.status.success(), "cargo could not build the features runner");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "features")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the features executable")
    })
}
