//! Runs every checker on the hand-written histories in `tests/corpus/`.
//!
//! Each file is a history in the `history.jsonl` format preceded by one header line naming the
//! checker, the expected verdict (`pass`, `inconclusive` or a violation kind) and, for a
//! violation, optionally the exact operations it must name; the lost-write and list checkers
//! also take `finals` (each node's final state) and the minority checker `windows`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use lincheck::{FinalState, History, PartitionWindow, Verdict};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    check: String,
    expect: String,
    #[serde(default)]
    ops: Option<Vec<usize>>,
    #[serde(default)]
    finals: Vec<FinalState>,
    #[serde(default)]
    windows: Vec<PartitionWindow>,
}

fn run(path: &Path) -> anyhow::Result<(Header, History, Verdict)> {
    let text = std::fs::read_to_string(path)?;
    let (first, rest) = text.split_once('\n').context("empty case")?;
    let header: Header = serde_json::from_str(first).context("header")?;
    let history = History::from_jsonl(rest)?;
    let verdict = match header.check.as_str() {
        "linearizable" => lincheck::check_linearizable(&history, Duration::from_secs(10)),
        "no_lost_writes" => lincheck::check_no_lost_writes(&history, &header.finals),
        "no_minority_ack" => lincheck::check_no_minority_ack(&history, &header.windows),
        "list_append" => lincheck::check_list_append(&history, &header.finals),
        other => bail!("unknown check {other:?}"),
    };
    Ok((header, history, verdict))
}

fn outcome(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Inconclusive(_) => "inconclusive".into(),
        Verdict::Violation(x) => {
            serde_json::to_value(x.kind).unwrap().as_str().unwrap().to_string()
        }
    }
}

#[test]
fn corpus_cases_get_their_expected_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    paths.sort();
    let mut failures = Vec::new();
    let (mut pass, mut fail) = (0, 0);
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (header, history, verdict) = match run(path) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: {e:#}"));
                continue;
            }
        };
        if header.expect == "pass" {
            pass += 1
        } else {
            fail += 1
        }
        let got = outcome(&verdict);
        if got != header.expect {
            failures.push(format!(
                "{name}: expected {}, got {}",
                header.expect,
                verdict.report(&history)
            ));
            continue;
        }
        if let (Some(want), Verdict::Violation(v)) = (&header.ops, &verdict)
            && *want != v.ops
        {
            failures
                .push(format!("{name}: expected ops {want:?}, got {}", verdict.report(&history)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
    // The corpus must hold both kinds, and enough of each to mean something.
    assert!(pass >= 12 && fail >= 12, "{pass} passing and {fail} violating cases");
    eprintln!("{} corpus cases: {pass} expected to pass, {fail} expected to fail", paths.len());
}
