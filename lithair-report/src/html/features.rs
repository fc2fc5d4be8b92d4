//! Features in file order; each scenario folded (`<details>`) unless it failed, its steps with
//! data tables and doc strings, and for a failed one the error, kept directory and log tail.

use maud::{Markup, html};

use crate::{
    format,
    model::{Feature, Outcome, Run, Scenario, Step},
};

pub fn section(run: &Run) -> Markup {
    html! {
        section id="features" {
            h2 { "Features" }
            @if run.features.is_empty() { p class="note" { "No feature ran." } }
            @for feature in &run.features { (feature_block(feature)) }
        }
    }
}

fn feature_block(feature: &Feature) -> Markup {
    html! {
        article class={ "feature " (feature.outcome.css()) } {
            h3 {
                (badge(feature.outcome))
                (feature.keyword) ": " (feature.name)
                @for tag in &feature.tags { span class="tag" { (tag) } }
            }
            div class="path" { (feature.path) }
            @if let Some(text) = &feature.description { p class="description" { (text) } }
            @for scenario in &feature.scenarios { (scenario_block(scenario)) }
        }
    }
}

fn scenario_block(scenario: &Scenario) -> Markup {
    let failed = scenario.outcome == Outcome::Failed;
    html! {
        details class={ "scenario " (scenario.outcome.css()) } open[failed] {
            summary {
                (badge(scenario.outcome))
                span class="name" { (scenario.keyword) ": " (scenario.name) }
                @for tag in &scenario.tags { span class="tag" { (tag) } }
                span class="duration" { "line " (scenario.line) ", " (format::nanos(scenario.duration_ns)) }
            }
            @if let Some(text) = &scenario.description { p class="description" { (text) } }
            ol class="steps" { @for step in &scenario.steps { (step_item(step)) } }
            @for error in &scenario.hook_errors {
                pre class="error" { "A hook failed: " (error) }
            }
            @if failed { (postmortem(scenario)) }
        }
    }
}

fn step_item(step: &Step) -> Markup {
    let mark = match step.outcome {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Skipped => "–",
    };
    let class = if step.background { "background" } else { "" };
    html! {
        li class={ (step.outcome.css()) " " (class) } {
            span class="mark" title=(format!("{:?}", step.status).to_lowercase()) { (mark) }
            span class="keyword" { (step.keyword) } " " (step.text)
            span class="duration" { (format::nanos(step.duration_ns)) }
            @if step.background { span class="duration" { "(background)" } }
            @if let Some(rows) = &step.table { (data_table(rows)) }
            @if let Some(doc) = &step.docstring { pre { (doc) } }
            @if let Some(error) = &step.error { pre class="error" { (error) } }
        }
    }
}

/// A step's data table; the first row is a header, as Gherkin tables are written.
fn data_table(rows: &[Vec<String>]) -> Markup {
    let (head, body) = rows.split_first().map_or((&[][..], &[][..]), |(h, b)| (&h[..], b));
    html! {
        table class="data" {
            thead { tr { @for cell in head { th { (cell) } } } }
            tbody { @for row in body { tr { @for cell in row { td { (cell) } } } } }
        }
    }
}

/// What the console prints for a failed scenario: where its files are, and how its server ended.
fn postmortem(scenario: &Scenario) -> Markup {
    let Some(info) = &scenario.info else { return html! {} };
    html! {
        div class="postmortem" {
            @if let Some(dir) = &info.dir {
                h4 { "Scenario directory" @if info.kept { " (kept for inspection)" } }
                pre { (dir) }
            }
            @if let Some(tail) = &info.log_tail {
                h4 { "Server log (last lines)" }
                pre { (format::strip_ansi(tail)) }
            }
        }
    }
}

pub fn badge(outcome: Outcome) -> Markup {
    html! { span class={ "badge " (outcome.css()) } { (outcome.css()) } }
}
