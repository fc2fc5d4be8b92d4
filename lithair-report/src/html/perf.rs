//! Performance: per scenario, its loads in a table, their throughput against the scenario's
//! floors, and each load's latency percentiles against its ceilings; then the other
//! measurements steps noted.

use maud::{Markup, html};

use crate::{
    Report, charts, format,
    perf::Load,
    run_info::{Metric, ScenarioInfo, Threshold},
};

use super::chart;

/// The loads of one scenario, in the order they ran.
struct Group<'a> {
    info: Option<&'a ScenarioInfo>,
    dir: Option<&'a str>,
    loads: Vec<&'a Load>,
}

pub fn section(report: &Report) -> Markup {
    let mut groups: Vec<Group> = Vec::new();
    for load in &report.perf.loads {
        let dir = load.scenario_dir.as_deref();
        match groups.iter_mut().find(|g| g.dir.is_some() && g.dir == dir) {
            Some(group) => group.loads.push(load),
            None => groups.push(Group {
                info: dir.and_then(|d| report.info.scenario_in_dir(d)),
                dir,
                loads: vec![load],
            }),
        }
    }
    html! {
        section id="performance" {
            h2 { "Performance" }
            @if groups.is_empty() && report.perf.notes.is_empty() {
                p class="note" { "No load ran in this run (no entries in perf.json)." }
            }
            @for group in &groups { (group_block(group)) }
            @if !report.perf.notes.is_empty() { (notes(report)) }
        }
    }
}

fn group_block(group: &Group) -> Markup {
    let title = match (group.info, group.dir) {
        (Some(info), _) => info.name.clone(),
        (None, Some(dir)) => format!("Loads of the scenario in {dir}"),
        (None, None) => "Loads of an unnamed scenario".to_string(),
    };
    let thresholds = group.info.map_or(&[][..], |i| &i.thresholds[..]);
    let mode = group.info.and_then(|i| i.durability_mode.clone()).unwrap_or("unknown".into());
    html! {
        h3 { (title) }
        p class="note" { "Server durability mode: " strong { (mode) } }
        @if !thresholds.is_empty() {
            ul { @for t in thresholds { li { (threshold_line(t, &group.loads)) } } }
        }
        table class="loads" {
            thead { tr {
                th { "Load" } th { "Endpoint" } th class="num" { "Connections" }
                th class="num" { "Measured for" } th class="num" { "Requests" }
                th class="num" { "Errors" } th class="num" { "Throughput (req/s)" }
                th class="num" { "Mean (ms)" } th class="num" { "p50 (ms)" }
                th class="num" { "p95 (ms)" } th class="num" { "p99 (ms)" } th class="num" { "Max (ms)" }
            } }
            tbody { @for load in &group.loads { (load_row(load, endpoint(group, load))) } }
        }
        (throughput_chart(&group.loads, thresholds))
        @for load in &group.loads { (latency_chart(load, endpoint(group, load), &mode, thresholds)) }
    }
}

fn endpoint<'a>(group: &Group<'a>, load: &Load) -> &'a str {
    group
        .info
        .and_then(|i| i.loads.iter().find(|l| l.label == load.label))
        .map_or("endpoint not recorded", |l| l.endpoint.as_str())
}

fn load_row(load: &Load, endpoint: &str) -> Markup {
    let lat = &load.latency_ms;
    html! {
        tr {
            td { (load.label) } td { (endpoint) }
            td class="num" { (load.connections) }
            td class="num" { (format::seconds(load.elapsed_secs)) }
            td class="num" { (format::count(load.requests))
                @if load.warmup_requests > 0 { " (+" (format::count(load.warmup_requests)) " warm-up)" } }
            td class={ "num" @if load.errors > 0 { " failed" } } {
                (format::count(load.errors)) " (" (format!("{:.2}", load.error_rate * 100.0)) "%)" }
            td class="num" { (format::rate(load.throughput))
                @if let Some(rate) = load.target_rate { " (paced at " (format::rate(rate)) ")" } }
            td class="num" { (format::ms(lat.mean)) }
            td class="num" { (format::ms(lat.p50)) }
            td class="num" { (format::ms(lat.p95)) }
            td class="num" { (format::ms(lat.p99)) }
            td class="num" { (format::ms(lat.max)) }
        }
    }
}

/// "the server handled at least 1000 requests per second: measured 4,321 req/s, 4.3× the floor".
fn threshold_line(t: &Threshold, loads: &[&Load]) -> Markup {
    let measured = t.measured.or_else(|| match (t.metric, loads) {
        (Metric::Throughput, [load]) => Some(load.throughput),
        (Metric::MeanLatencyMs, [load]) => Some(load.latency_ms.mean),
        (Metric::ErrorPercent, [load]) => Some(load.error_rate * 100.0),
        (Metric::PercentileLatencyMs { percentile }, [load]) => load.latency_ms.at(percentile),
        _ => None,
    });
    let unit = match t.metric {
        Metric::Throughput => "req/s",
        Metric::ErrorPercent => "%",
        _ => "ms",
    };
    let value = |v: f64| if unit == "ms" { format::ms(v) } else { format::rate(v) };
    html! {
        "“" (t.step) "”"
        @if let Some(m) = measured {
            ": measured " strong { (value(m)) " " (unit) } " against a "
            (if t.metric.is_floor() { "floor" } else { "ceiling" }) " of " (value(t.limit)) " " (unit)
            @if m > 0.0 && t.limit > 0.0 {
                " (" (format!("{:.2}", if t.metric.is_floor() { m / t.limit } else { t.limit / m })) "× margin)"
            }
        }
    }
}

fn throughput_chart(loads: &[&Load], thresholds: &[Threshold]) -> Markup {
    let mut bars: Vec<(String, f64)> =
        loads.iter().map(|l| (l.label.clone(), l.throughput)).collect();
    let floors: Vec<(f64, String)> = thresholds
        .iter()
        .filter(|t| t.metric == Metric::Throughput)
        .map(|t| (t.limit, format!("floor {} req/s", format::rate(t.limit))))
        .collect();
    for t in thresholds.iter().filter(|t| t.metric == Metric::Throughput) {
        if let Some(judged) = t.measured.filter(|_| loads.len() > 1) {
            bars.push(("judged (all loads)".to_string(), judged));
        }
    }
    let title = "Throughput per load (requests per second)";
    chart(charts::throughput(&bars, &floors), title)
}

fn latency_chart(load: &Load, endpoint: &str, mode: &str, thresholds: &[Threshold]) -> Markup {
    let ceilings: Vec<(f64, String)> = thresholds
        .iter()
        .filter_map(|t| match t.metric {
            Metric::MeanLatencyMs => Some((t.limit, format!("mean ≤ {} ms", format::ms(t.limit)))),
            Metric::PercentileLatencyMs { percentile } => {
                Some((t.limit, format!("p{percentile} ≤ {} ms", format::ms(t.limit))))
            }
            _ => None,
        })
        .collect();
    let title = format!(
        "{}: latency by percentile — {endpoint}, {mode}, {} connections, {}",
        load.label,
        load.connections,
        format::seconds(load.elapsed_secs)
    );
    chart(charts::latency(&load.latency_ms.percentiles(), &ceilings), &title)
}

fn notes(report: &Report) -> Markup {
    html! {
        h3 { "Other measurements" }
        table {
            thead { tr { th { "Measurement" } th { "Values" } } }
            tbody {
                @for (label, fields) in &report.perf.notes {
                    tr {
                        td { (label) }
                        td { @for (key, value) in fields {
                            span class="tag" { (key.replace('_', " ")) ": " (value_text(value)) }
                        } }
                    }
                }
            }
        }
    }
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Number(n) => n.as_f64().map_or(n.to_string(), |f| {
            if f.fract() == 0.0 { format::rate(f) } else { format::ms(f) }
        }),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
