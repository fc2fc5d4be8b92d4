//! Trend: the last runs' results and key throughputs, one small line chart per figure, and a
//! table of the runs so every point has a date and a commit.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::{charts, format, history::Entry};

use super::chart;

pub fn section(history: &[Entry]) -> Markup {
    let series = |f: &dyn Fn(&Entry) -> Option<f64>| history.iter().map(f).collect::<Vec<_>>();
    let mut figures: Vec<(String, Vec<Option<f64>>, &str)> = vec![
        ("Scenarios passed".into(), series(&|e| Some(e.scenarios.passed as f64)), ""),
        ("Scenarios failed".into(), series(&|e| Some(e.scenarios.failed as f64)), ""),
        ("Duration of the run (s)".into(), series(&|e| Some(e.duration_secs)), "s"),
    ];
    // The throughputs this run measured: a figure the current run lacks is history.
    let keys: BTreeSet<&String> =
        history.last().map(|e| e.throughputs.keys().collect()).unwrap_or_default();
    for key in keys {
        let values = series(&|e| e.throughputs.get(key).copied());
        figures.push((format!("{key} (req/s)"), values, ""));
    }
    html! {
        section id="trend" {
            h2 { "Trend over the last " (history.len()) " runs" }
            p class="note" { "Run #1 is the oldest; #" (history.len()) " is this run." }
            @for (title, values, unit) in &figures {
                div class="trend" {
                    (chart(charts::trend(values, unit), &format!("{title}: {}", values.last().copied().flatten().map_or("—".into(), format::rate))))
                }
            }
            table {
                thead { tr {
                    th class="num" { "Run" } th { "Started" } th { "Commit" } th { "Result" }
                    th class="num" { "Scenarios passed" } th class="num" { "Failed" }
                    th class="num" { "Skipped" } th class="num" { "Duration" }
                } }
                tbody { @for (i, e) in history.iter().enumerate() { tr {
                    td class="num" { "#" (i + 1) } td { (e.started_at) } td { code { (e.commit) } }
                    td class=(if e.passed { "passed" } else { "failed" }) {
                        (if e.passed { "passed" } else { "failed" }) }
                    td class="num" { (e.scenarios.passed) } td class="num" { (e.scenarios.failed) }
                    td class="num" { (e.scenarios.skipped) }
                    td class="num" { (format::seconds(e.duration_secs)) }
                } } }
            }
        }
    }
}
