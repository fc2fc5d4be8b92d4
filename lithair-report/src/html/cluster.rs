//! Cluster: for every scenario that ran a cluster under faults, what its history checks found
//! (first, since that is what a failure is about), then the timeline — operations by latency
//! and outcome, the faults' windows, each node's role — and the same facts as text.

use maud::{Markup, html};

use crate::{
    charts::timeline,
    format,
    model::Run,
    run_info::{ClusterOp, ClusterRun},
};

use super::features::badge;

pub fn section(run: &Run) -> Markup {
    let scenarios: Vec<_> = run
        .scenarios()
        .filter_map(|(f, s)| s.info.as_ref().and_then(|i| i.cluster.as_ref()).map(|c| (f, s, c)))
        .collect();
    html! {
        section id="cluster" {
            h2 { "Cluster" }
            @if scenarios.is_empty() { p class="note" { "No cluster scenario ran." } }
            @for (feature, scenario, cluster) in scenarios {
                article class="cluster" {
                    h3 { (badge(scenario.outcome)) (scenario.name) }
                    p class="note" { (feature.path) ", line " (scenario.line) }
                    @for finding in &cluster.findings {
                        div class="finding" {
                            h4 { "✗ The check failed: " (finding.check) }
                            pre class="error" { (finding.report) }
                        }
                    }
                    (timeline_figure(cluster, &scenario.name))
                    (facts(cluster))
                }
            }
        }
    }
}

fn timeline_figure(cluster: &ClusterRun, name: &str) -> Markup {
    if cluster.ops.is_empty() && cluster.roles.is_empty() {
        return html! { p class="note" { "No operation or role was recorded." } };
    }
    html! {
        figure class="chart timeline" {
            figcaption {
                "Operations over time (latency by outcome), fault windows shaded, and each \
                 node's role, on one time axis (seconds since the scenario started)"
            }
            (timeline::draw(cluster, name))
        }
    }
}

/// What the chart shows, as text a reader can search and a screen reader can read.
fn facts(cluster: &ClusterRun) -> Markup {
    let tally = |read: bool| {
        let ops = cluster.ops.iter().filter(|o| timeline::is_read(&o.kind) == read);
        let mut counts = [0u64; 3];
        for op in ops {
            counts[outcome_index(op)] += 1;
        }
        counts
    };
    let (reads, writes) = (tally(true), tally(false));
    html! {
        table class="ops" {
            thead { tr {
                th { "Operations" } th class="num" { "ok" } th class="num" { "failed" }
                th class="num" { "no answer (unknown)" }
            } }
            tbody {
                @for (what, counts) in [("reads", reads), ("writes", writes)] {
                    tr {
                        td { (what) }
                        @for n in counts { td class="num" { (format::count(n)) } }
                    }
                }
            }
        }
        @if cluster.faults.is_empty() {
            p class="note" { "No fault was injected." }
        } @else {
            p class="note" {
                "Faults: "
                @for (i, fault) in cluster.faults.iter().enumerate() {
                    @if i > 0 { "; " }
                    (timeline::fault_text(fault))
                }
                "."
            }
        }
    }
}

/// ok, failed, or without an answer: an operation that never completed is unknown whatever
/// its outcome says.
fn outcome_index(op: &ClusterOp) -> usize {
    match (op.outcome.as_str(), op.complete_ms) {
        ("ok", Some(_)) => 0,
        ("fail", Some(_)) => 1,
        _ => 2,
    }
}
