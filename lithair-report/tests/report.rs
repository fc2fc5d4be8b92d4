//! The report of a fixture run, checked as HTML text: counts, order, escaping, charts, the
//! failure's details, history, and that nothing is fetched from anywhere.

mod common;

use common::{fixture_report, scenario_names};

fn html() -> String {
    let (_dir, path) = fixture_report();
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_verdict_and_counts_are_at_the_top() {
    let html = html();
    assert!(
        html.contains(
            r#"<p class="verdict failed" id="verdict">FAILED: 1 of 5 scenarios failed</p>"#
        )
    );
    let row = |what: &str, cells: &str| format!(r#"<th scope="row">{what}</th>{cells}"#);
    let cells = |p: usize, f: usize, s: usize| {
        let class = |n: usize, c: &str| if n > 0 { format!("num {c}") } else { "num ".into() };
        format!(
            r#"<td class="{}">{p}</td><td class="{}">{f}</td><td class="{}">{s}</td><td class="num">{}</td>"#,
            class(p, "passed"),
            class(f, "failed"),
            class(s, "skipped"),
            p + f + s
        )
    };
    assert!(html.contains(&row("Features", &cells(1, 1, 0))), "feature counts");
    assert!(html.contains(&row("Scenarios", &cells(4, 1, 0))), "scenario counts");
    // 5 scenarios × their steps, the background step counted in each: 17, one failed, one skipped.
    assert!(html.contains(&row("Steps", &cells(15, 1, 1))), "step counts");
    for fact in ["caa19ff-dirty", "2 cores", "fsync, async", "2026-11-28T05:30:00Z", "42.5 s"] {
        assert!(html.contains(fact), "{fact} is in the header");
    }
}

#[test]
fn text_from_features_errors_and_logs_is_escaped() {
    let html = html();
    assert!(
        !html.to_lowercase().contains("<script"),
        "no script element, from a name or otherwise"
    );
    assert!(html.contains("Scenario: &lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;"));
    assert!(html.contains("ids [17, 42] &lt;lost&gt;"), "the error message");
    assert!(html.contains("group commit took 12 ms &lt;slow disk&gt;"), "the log tail");
    assert!(!html.contains('\u{1b}'), "console colours are stripped");
}

#[test]
fn features_come_in_file_order_with_descriptions_and_tables() {
    let html = html();
    let health = html.find("Feature: Health").unwrap();
    let sample = html.find("Feature: Articles survive everything").unwrap();
    assert!(health < sample, "health.feature sorts before sample.feature");
    assert!(html.contains(r#"<div class="path">features/sample.feature</div>"#));
    assert!(html.contains(r#"<span class="tag">@serial</span>"#), "tags as written, with their @");
    assert!(html.contains(
        "A fixture run for the report's own tests: one failure, a hostile\nscenario name"
    ));
    assert!(html.contains(r#"<table class="data"><thead><tr><th>type</th><th>percentage</th><th>concurrency</th></tr></thead>"#));
    assert!(html.contains("<td>Write</td><td>20%</td><td>5</td>"));
    for name in scenario_names() {
        assert!(html.contains(&maud_escaped(&name)), "scenario {name:?} is in the report");
    }
}

#[test]
fn a_failed_scenario_is_open_with_its_error_directory_and_log() {
    let html = html();
    let start = html
        .find(r#"<details class="scenario failed" open>"#)
        .expect("the failed scenario is open");
    let failed = &html[start..start + html[start..].find("</details>").unwrap()];
    assert!(failed.contains("a crash loses nothing acknowledged"));
    assert!(failed.contains(r#"<pre class="error">"#));
    assert!(failed.contains("2 acknowledged writes are missing"));
    assert!(failed.contains("/tmp/lithair-scenario-crash-5678"), "the kept directory");
    assert!(failed.contains("listening on 127.0.0.1:41234"), "the log tail");
    assert_eq!(html.matches("<details").count(), html.matches("<details class=\"scenario").count());
    assert_eq!(html.matches(" open>").count(), 1, "passed scenarios stay folded");
}

#[test]
fn the_console_recap_names_the_failed_scenario_step_error_and_directory() {
    let (dir, _) = fixture_report();
    let report = lithair_report::Report::load(&lithair_report::Inputs::in_dir(dir.path()), &[])
        .expect("the fixture loads");
    let recap = lithair_report::recap::failures(&report.run);
    let lines: Vec<&str> = recap.lines().collect();
    assert!(lines[0].starts_with("✘ features/sample.feature:"), "{recap}");
    assert!(lines[0].ends_with("a crash loses nothing acknowledged"), "{recap}");
    assert!(
        recap.contains("Then every acknowledged write is present after a restart"),
        "the failed step: {recap}"
    );
    assert!(recap.contains("2 acknowledged writes are missing"), "its error: {recap}");
    assert!(recap.contains("files kept in /tmp/lithair-scenario-crash-5678"), "{recap}");
    assert_eq!(recap.matches('✘').count(), 1, "passed scenarios are not recapped: {recap}");
}

#[test]
fn performance_durability_and_trend_are_drawn_and_labelled() {
    let html = html();
    let svgs = html.matches("<svg ").count();
    // One throughput chart, a latency chart per load, a trend per figure (3 + 2 throughputs).
    assert_eq!(svgs, 1 + 2 + 5, "charts");
    assert!(html.contains(
        "reads: latency by percentile — GET /api/articles/{id}, fsync, 10 connections, 3.0 s"
    ));
    assert!(html.contains("floor 400 req/s"), "the scenario's threshold is drawn");
    assert!(html.contains(
        "measured <strong>499 req/s</strong> against a floor of 400 req/s (1.25× margin)"
    ));
    assert!(html.contains("latency (ms, log scale)"));
    assert!(
        html.contains(
            r#"<td class="num">100</td><td class="num">98</td><td class="num lost">2</td>"#
        ),
        "the crash cycle"
    );
    assert!(html.contains("Trend over the last 3 runs"), "two earlier runs and this one");
}

#[test]
fn the_page_is_self_contained_and_small() {
    let (dir, path) = fixture_report();
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    for outside in ["http://", "https://", "<link", "@import", "url(", "<img", "<iframe"] {
        let found = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!found.contains(outside), "the page refers outside itself: {outside}");
    }
    assert!(dir.path().join("history").read_dir().unwrap().count() == 3, "this run was recorded");
}

#[test]
fn reporting_the_same_run_again_does_not_add_to_the_history() {
    let (dir, _) = fixture_report();
    let info: lithair_report::RunInfo =
        serde_json::from_slice(&std::fs::read(dir.path().join("run-info.json")).unwrap()).unwrap();
    lithair_report::write_report(dir.path(), &info).unwrap();
    assert_eq!(dir.path().join("history").read_dir().unwrap().count(), 3);
}

#[test]
fn the_binary_regenerates_the_report_from_saved_files() {
    let (dir, first) = fixture_report();
    let out = dir.path().join("again.html");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_lithair-report"))
        .arg("--report-only")
        .args(
            ["cucumber.json", "perf.json", "run-info.json", "history"].map(|f| dir.path().join(f)),
        )
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(out).unwrap(), std::fs::read_to_string(first).unwrap());
}

fn maud_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
