//! The run's failures in a few plain-text lines, for the end of the console output. The
//! console prints each failure where its scenario finished, among thousands of lines of
//! concurrent scenarios; a CI log excerpt is often only the tail. The recap puts, last, what
//! is needed to start looking: where the scenario is, the step that failed, the first lines
//! of its error, and the directory kept for the post-mortem.

use std::fmt::Write as _;

use crate::{
    cucumber_json::Status,
    model::{Outcome, Run},
};

/// Lines of a step's error shown; the whole error is in the console above and in the page.
const ERROR_LINES: usize = 8;
/// Characters of one error line shown.
const LINE_CHARS: usize = 240;

/// Empty when nothing failed.
pub fn failures(run: &Run) -> String {
    let mut out = String::new();
    let failed = run.scenarios().filter(|(_, s)| s.outcome == Outcome::Failed);
    for (feature, scenario) in failed {
        let _ = writeln!(out, "✘ {}:{}  {}", feature.path, scenario.line, scenario.name);
        for error in &scenario.hook_errors {
            let _ = writeln!(out, "    a hook failed:");
            excerpt(&mut out, error);
        }
        for step in scenario.steps.iter().filter(|s| s.outcome == Outcome::Failed) {
            // "Failed" goes without saying; undefined or ambiguous does not.
            let status = match step.status {
                Status::Failed => String::new(),
                other => format!("  ({})", format!("{other:?}").to_lowercase()),
            };
            let _ = writeln!(out, "    {} {}{status}", step.keyword, step.text);
            excerpt(&mut out, step.error.as_deref().unwrap_or(""));
        }
        if let Some(dir) = scenario.info.as_ref().filter(|i| i.kept).and_then(|i| i.dir.as_ref()) {
            let _ = writeln!(out, "    files kept in {dir}");
        }
    }
    out
}

fn excerpt(out: &mut String, error: &str) {
    let lines: Vec<&str> = error.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in lines.iter().take(ERROR_LINES) {
        let shown: String = line.chars().take(LINE_CHARS).collect();
        let cut = if shown.len() < line.len() { " …" } else { "" };
        let _ = writeln!(out, "      {}{cut}", shown.trim_end());
    }
    if lines.len() > ERROR_LINES {
        let _ = writeln!(out, "      … {} more lines above", lines.len() - ERROR_LINES);
    }
}
