//! Durability: for every crash or power-loss scenario, what the clients were told was stored
//! and what the restarted server still had, cycle by cycle.

use maud::{Markup, html};

use crate::{format, model::Run};

use super::features::badge;

pub fn section(run: &Run) -> Markup {
    let scenarios: Vec<_> = run
        .scenarios()
        .filter_map(|(f, s)| s.info.as_ref().filter(|i| !i.cycles.is_empty()).map(|i| (f, s, i)))
        .collect();
    html! {
        section id="durability" {
            h2 { "Durability" }
            @if scenarios.is_empty() { p class="note" { "No crash or power-loss scenario ran." } }
            @for (feature, scenario, info) in scenarios {
                h3 { (badge(scenario.outcome)) (scenario.name) }
                p class="note" {
                    (feature.path) ", line " (scenario.line) "; server durability mode: "
                    strong { (info.durability_mode.as_deref().unwrap_or("unknown")) }
                }
                table {
                    thead { tr {
                        th class="num" { "Cycle" } th { "Event" }
                        th class="num" { "Writes acknowledged" }
                        th class="num" { "Present after restart" }
                        th class="num" { "Lost" }
                    } }
                    tbody { @for c in &info.cycles { tr {
                        td class="num" { (c.cycle) } td { (c.event) }
                        td class="num" { (format::count(c.acknowledged)) }
                        td class="num" { (format::count(c.present)) }
                        td class={ "num" @if c.lost > 0 { " lost" } } { (format::count(c.lost)) }
                    } } }
                }
            }
        }
    }
}
