//! The page: a header with the verdict and the run's facts, then features, performance,
//! durability, cluster and trend sections. maud escapes every interpolated string (the cluster
//! timelines are maud too); the only raw markup inserted is the SVG plotters draws (which
//! escapes its own text) and the stylesheet.

mod cluster;
mod durability;
mod features;
mod perf;
mod trend;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{Report, format, model::Tally};

const STYLE: &str = include_str!("report.css");

pub fn page(report: &Report) -> String {
    let verdict = verdict(report);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Lithair run report — " (verdict) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (header(report, &verdict))
                nav {
                    a href="#features" { "Features" }
                    a href="#performance" { "Performance" }
                    a href="#durability" { "Durability" }
                    a href="#cluster" { "Cluster" }
                    a href="#trend" { "Trend" }
                }
                main {
                    (features::section(&report.run))
                    (perf::section(report))
                    (durability::section(&report.run))
                    (cluster::section(&report.run))
                    (trend::section(&report.history))
                }
            }
        }
    }
    .into_string()
}

fn verdict(report: &Report) -> String {
    let scenarios = report.run.scenario_tally;
    if report.run.passed() {
        format!("PASSED: all {} scenarios passed", scenarios.passed)
    } else if scenarios.total() == 0 {
        "NOTHING RAN: the run has no scenarios".to_string()
    } else if scenarios.failed == 0 {
        format!("NOT PROVEN: all {} scenarios were skipped", scenarios.skipped)
    } else {
        format!("FAILED: {} of {} scenarios failed", scenarios.failed, scenarios.total())
    }
}

fn header(report: &Report, verdict: &str) -> Markup {
    let run = &report.run;
    let info = &report.info;
    let class = if run.passed() { "verdict passed" } else { "verdict failed" };
    let or_unknown = |s: &str| if s.is_empty() { "unknown".to_string() } else { s.to_string() };
    html! {
        header {
            h1 { "Lithair — run report" }
            p class=(class) id="verdict" { (verdict) }
            table class="counts" {
                thead { tr { th { "" } th { "passed" } th { "failed" } th { "skipped" } th { "total" } } }
                tbody {
                    (tally_row("Features", run.feature_tally))
                    (tally_row("Scenarios", run.scenario_tally))
                    (tally_row("Steps", run.step_tally))
                }
            }
            dl class="facts" {
                dt { "Duration of the run" } dd { (format::seconds(info.duration_secs)) }
                dt { "Commit" } dd { code { (or_unknown(&info.commit)) } }
                dt { "Machine" } dd {
                    @if info.machine.cores > 0 { (info.machine.cores) " cores, " }
                    (or_unknown(&info.machine.os))
                }
                dt { "Durability modes used" } dd {
                    @if info.durability_modes.is_empty() { "unknown" }
                    @else { (info.durability_modes.join(", ")) }
                }
                dt { "Started" } dd { (or_unknown(&info.started_at)) }
                @if !info.arguments.is_empty() {
                    dt { "Arguments" } dd { code { (info.arguments) } }
                }
                @if !info.seed.is_empty() {
                    dt { "Seed (replays every random choice)" } dd { code { (info.seed) } }
                }
            }
        }
    }
}

fn tally_row(what: &str, tally: Tally) -> Markup {
    let cell = |n: usize, class: &str| {
        html! { td class={ "num " (if n > 0 { class } else { "" }) } { (n) } }
    };
    html! {
        tr {
            th scope="row" { (what) }
            (cell(tally.passed, "passed"))
            (cell(tally.failed, "failed"))
            (cell(tally.skipped, "skipped"))
            td class="num" { (tally.total()) }
        }
    }
}

/// A chart under its caption, or the reason it could not be drawn.
fn chart(drawn: Result<String, String>, caption: &str) -> Markup {
    match drawn {
        Ok(svg) => html! {
            figure class="chart" {
                figcaption { (caption) }
                (PreEscaped(svg))
            }
        },
        Err(error) => html! { p class="note" { "Chart not drawn (" (caption) "): " (error) } },
    }
}
