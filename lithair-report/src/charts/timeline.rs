//! A cluster scenario over time, as Jepsen's plots show a test: every client operation by
//! invoke time and latency, coloured by outcome; the faults' windows shaded across the chart;
//! under it one lane per node with its role; one time axis for all of them.
//!
//! Drawn by hand (maud) rather than by plotters: plotters writes one SVG element per point,
//! about 80 bytes each, so a scenario's 10,000 operations would weigh a megabyte. Here each
//! kind of mark is one `<path>` of short `M x y h2` segments on whole pixels, and marks that
//! land on the same pixel are written once, so the chart stays tens of kilobytes.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::{
    format::{ms, seconds},
    run_info::{ClusterRun, FaultWindow},
};

/// The chart's frame, in SVG pixels.
const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
/// Height of one row of fault labels above the chart.
const LABEL_ROW: f64 = 13.0;
/// The band above the latency plot where operations that never got an answer are marked.
const NO_ANSWER: f64 = 16.0;
const PLOT_H: f64 = 240.0;
const LANE_H: f64 = 16.0;
const LANE_GAP: f64 = 5.0;

const INK: &str = "#333";
const GRID: &str = "#e4e4e4";
const OK: &str = "#3b6ea8";
const FAIL: &str = "#c0392b";
const UNKNOWN: &str = "#e67e22";
const FONT: &str = "font-family:sans-serif;font-size:11px";

/// Role colours, in the legend's order; any other role is drawn grey.
const ROLES: [(&str, &str); 5] = [
    ("leader", "#1e7d32"),
    ("follower", "#a9cce3"),
    ("candidate", "#f1c40f"),
    ("learner", "#b39ddb"),
    ("down", "#444"),
];
const OTHER_ROLE: &str = "#bbb";

/// A fault's colour by its kind: crashes red, pauses purple, network faults amber.
fn fault_colour(kind: &str) -> &'static str {
    match kind {
        k if k.contains("kill") || k.contains("crash") || k.contains("power") => "#c0392b",
        k if k.contains("pause") || k.contains("stop") => "#8e44ad",
        k if k.contains("isolat") || k.contains("split") || k.contains("partition") => "#d68910",
        _ => "#7f8c8d",
    }
}

fn role_colour(role: &str) -> &'static str {
    ROLES.iter().find(|r| r.0 == role).map_or(OTHER_ROLE, |r| r.1)
}

/// `kill 1`, `isolate 2`, `split 1,2`.
pub fn fault_label(fault: &FaultWindow) -> String {
    let nodes: Vec<String> = fault.nodes.iter().map(u64::to_string).collect();
    if nodes.is_empty() {
        fault.kind.clone()
    } else {
        format!("{} {}", fault.kind, nodes.join(","))
    }
}

/// Reads are squares, writes are upright ticks: the kinds that read are named so.
pub fn is_read(kind: &str) -> bool {
    kind.starts_with("read")
}

/// The scenario's time span in ms: from its origin to the last thing it recorded.
pub fn end_ms(run: &ClusterRun) -> f64 {
    let ops = run.ops.iter().flat_map(|o| [Some(o.invoke_ms), o.complete_ms]).flatten();
    let faults = run.faults.iter().flat_map(|f| [Some(f.start_ms), f.end_ms]).flatten();
    let roles = run.roles.iter().flat_map(|r| r.samples.iter().map(|s| s.0));
    ops.chain(faults).chain(roles).filter(|t| t.is_finite()).fold(1.0, f64::max)
}

/// The latency axis: log when the latencies span more than a factor of 20.
struct LatencyAxis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl LatencyAxis {
    fn new(latencies: impl Iterator<Item = f64>) -> Self {
        let (lo, hi) = latencies.fold((f64::MAX, 0.0_f64), |(lo, hi), v| {
            (if v > 0.0 { lo.min(v) } else { lo }, hi.max(v))
        });
        let lo = if lo == f64::MAX { hi.max(1.0) } else { lo.max(0.01) };
        let hi = hi.max(lo);
        if hi / lo > 20.0 {
            let (lo, mut hi) = (lo.log10().floor(), hi.log10().ceil());
            if hi <= lo {
                hi = lo + 1.0;
            }
            LatencyAxis { log: true, lo: 10f64.powf(lo), hi: 10f64.powf(hi) }
        } else {
            let step = nice_step(hi * 1.05, 5);
            LatencyAxis { log: false, lo: 0.0, hi: (hi * 1.05 / step).ceil().max(1.0) * step }
        }
    }

    /// Height above the plot's bottom, 0..=PLOT_H.
    fn height(&self, latency: f64) -> f64 {
        let share = if self.log {
            (latency.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            latency / self.hi
        };
        share.clamp(0.0, 1.0) * PLOT_H
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let decades = (self.hi / self.lo).log10().round() as i32;
            let mults: &[f64] = if decades <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
            (0..=decades)
                .flat_map(|d| mults.iter().map(move |m| self.lo * 10f64.powi(d) * m))
                .filter(|v| *v <= self.hi * 1.0001)
                .collect()
        } else {
            let step = nice_step(self.hi, 5);
            (0..).map(|i| i as f64 * step).take_while(|v| *v <= self.hi * 1.0001).collect()
        }
    }
}

/// A round step (1, 2 or 5 × 10ⁿ) that cuts `range` into about `target` parts.
fn nice_step(range: f64, target: usize) -> f64 {
    let raw = (range / target as f64).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().find(|m| m * magnitude >= raw).unwrap_or(10.0);
    step * magnitude
}

/// One kind of mark: its pixels, deduplicated and in drawing order.
#[derive(Default)]
struct Marks(BTreeSet<(i32, i32)>);

impl Marks {
    /// `M x y h2` per mark, whole pixels, a 2-pixel stroke: a small square.
    fn path(&self, mark: &str) -> String {
        let mut d = String::with_capacity(self.0.len() * 10);
        for (x, y) in &self.0 {
            d.push_str(&format!("M{x} {y}{mark}"));
        }
        d
    }
}

/// The chart of `run`, `title` naming the scenario for screen readers.
pub fn draw(run: &ClusterRun, title: &str) -> Markup {
    let end = end_ms(run);
    let x = |t: f64| LEFT + t.clamp(0.0, end) / end * PLOT_W;
    let labels = place_labels(&run.faults, &x);
    let rows = labels.iter().map(|l| l.1 + 1).max().unwrap_or(0) as f64;
    let band_top = rows * LABEL_ROW + 4.0;
    let plot_top = band_top + NO_ANSWER;
    let plot_bottom = plot_top + PLOT_H;
    let lanes_top = plot_bottom + 34.0;
    let lanes_bottom = lanes_top + run.roles.len() as f64 * (LANE_H + LANE_GAP);
    let axis_title_y = lanes_bottom + 16.0;
    let legend_y = axis_title_y + 22.0;
    let height = legend_y + 22.0;

    let latencies = run
        .ops
        .iter()
        .filter_map(|o| o.complete_ms.map(|c| (c - o.invoke_ms).max(0.0)))
        .filter(|l| l.is_finite());
    let axis = LatencyAxis::new(latencies);
    // ok/fail × read/write, then unknown: the order they are drawn, unknown last, on top.
    let mut marks: [Marks; 5] = Default::default();
    for op in run.ops.iter().filter(|o| o.invoke_ms.is_finite()) {
        let px = x(op.invoke_ms).round() as i32;
        let read = usize::from(!is_read(&op.kind));
        match (op.outcome.as_str(), op.complete_ms) {
            ("ok" | "fail", Some(c)) if c.is_finite() => {
                let y = plot_bottom - axis.height((c - op.invoke_ms).max(0.0));
                let class = if op.outcome == "ok" { 0 } else { 2 } + read;
                marks[class].0.insert((px, y.round() as i32));
            }
            _ => {
                marks[4].0.insert((px, (band_top + 3.0) as i32));
            }
        }
    }
    let count = |pred: &dyn Fn(&crate::run_info::ClusterOp) -> bool| {
        run.ops.iter().filter(|o| pred(o)).count()
    };
    let ok = count(&|o| o.outcome == "ok" && o.complete_ms.is_some());
    let failed = count(&|o| o.outcome == "fail" && o.complete_ms.is_some());
    let unknown = run.ops.len() - ok - failed;
    let summary = format!(
        "{title}: {} operations over {} ({ok} ok, {failed} failed, {unknown} without an answer), \
         {} faults, the roles of {} nodes",
        run.ops.len(),
        seconds(end / 1000.0),
        run.faults.len(),
        run.roles.len()
    );
    let time_step = nice_step(end / 1000.0, 10);
    let time_ticks: Vec<f64> =
        (0..).map(|i| i as f64 * time_step).take_while(|t| *t * 1000.0 <= end * 1.0001).collect();
    let seconds_label = |t: f64| {
        if time_step >= 1.0 { format!("{t:.0}") } else { format!("{t:.1}") }
    };

    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img"
            width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } {
            title { (summary) }
            rect x="0" y="0" width=(WIDTH) height=(height) fill="#fff" {}
            // Grid and axes.
            @for t in &time_ticks {
                line x1=(f1(x(t * 1000.0))) x2=(f1(x(t * 1000.0))) y1=(plot_top) y2=(plot_bottom) stroke=(GRID) {}
                text x=(f1(x(t * 1000.0))) y=(plot_bottom + 14.0) text-anchor="middle" style=(FONT) fill=(INK) { (seconds_label(*t)) }
            }
            @for v in axis.ticks() {
                @let y = plot_bottom - axis.height(v);
                line x1=(LEFT) x2=(LEFT + PLOT_W) y1=(f1(y)) y2=(f1(y)) stroke=(GRID) {}
                text x=(LEFT - 4.0) y=(f1(y + 4.0)) text-anchor="end" style=(FONT) fill=(INK) { (tick_ms(v)) }
            }
            rect x=(LEFT) y=(plot_top) width=(PLOT_W) height=(PLOT_H) fill="none" stroke="#999" {}
            text x="12" y=(f1(plot_top + PLOT_H / 2.0)) text-anchor="middle" style=(FONT) fill=(INK)
                transform={ "rotate(-90 12 " (f1(plot_top + PLOT_H / 2.0)) ")" } {
                "latency (ms" @if axis.log { ", log scale" } ")"
            }
            text x=(LEFT - 4.0) y=(band_top + 11.0) text-anchor="end" style=(FONT) fill=(UNKNOWN) { "no answer" }
            text x=(LEFT + PLOT_W / 2.0) y=(plot_bottom + 14.0 + 12.0) text-anchor="middle" style=(FONT) fill=(INK) {
                "operations by invoke time (s) and latency"
            }
            // Fault windows, across the operations and the lanes, labelled above.
            @for (fault, (label_x, row)) in run.faults.iter().zip(&labels) {
                @let (x0, x1) = (x(fault.start_ms), x(fault.end_ms.unwrap_or(end)));
                @let colour = fault_colour(&fault.kind);
                g class="fault" {
                    title { (fault_text(fault)) }
                    rect x=(f1(x0)) y=(band_top) width=(f1((x1 - x0).max(1.0))) height=(f1(lanes_bottom - band_top))
                        fill=(colour) fill-opacity="0.13" stroke=(colour) stroke-opacity="0.6" stroke-dasharray="3 2" {}
                    text x=(f1(*label_x)) y=(f1(*row as f64 * LABEL_ROW + 11.0)) style=(FONT) fill=(colour) font-weight="bold" {
                        (fault_label(fault))
                    }
                }
            }
            // The operations: one path per outcome and kind.
            @for (i, (colour, mark, what)) in [
                (OK, "h2", "ok reads"), (OK, "v5", "ok writes"),
                (FAIL, "h2", "failed reads"), (FAIL, "v5", "failed writes"),
            ].into_iter().enumerate() {
                @if !marks[i].0.is_empty() {
                    // Centred on the mark's pixel: a 2×2 square, or a 5-pixel upright tick.
                    path class={ "ops " (what.replace(' ', "-")) } d=(marks[i].path(mark)) stroke=(colour)
                        stroke-width=(if mark == "h2" { "2" } else { "1.4" })
                        transform=(if mark == "h2" { "translate(-1 0)" } else { "translate(0 -2.5)" }) {
                        title { (what) }
                    }
                }
            }
            @if !marks[4].0.is_empty() {
                path class="ops no-answer" d=(marks[4].path("l-3-3h6z")) fill=(UNKNOWN) stroke=(UNKNOWN) stroke-width="1" transform="translate(0 6)" {
                    title { "operations without an answer (unknown outcome), at their invoke time" }
                }
            }
            // Roles: one lane per node.
            @for (i, node) in run.roles.iter().enumerate() {
                @let y = lanes_top + i as f64 * (LANE_H + LANE_GAP);
                text x=(LEFT - 4.0) y=(f1(y + 12.0)) text-anchor="end" style=(FONT) fill=(INK) { "node " (node.node) }
                rect x=(LEFT) y=(f1(y)) width=(PLOT_W) height=(LANE_H) fill="#f4f4f4" {}
                @for (from, to, role) in role_spans(&node.samples, end) {
                    rect class="role" x=(f1(x(from))) y=(f1(y)) width=(f1((x(to) - x(from)).max(0.5))) height=(LANE_H) fill=(role_colour(&role)) {
                        title { "node " (node.node) ": " (role) " from " (seconds(from / 1000.0).replace('—', "0 s")) " to " (seconds(to / 1000.0)) }
                    }
                }
            }
            @if !run.roles.is_empty() {
                text x=(LEFT + PLOT_W / 2.0) y=(f1(axis_title_y)) text-anchor="middle" style=(FONT) fill=(INK) {
                    "each node's role over the same time"
                }
            }
            (legend(legend_y, &run.faults))
        }
    }
}

/// `kill node 1 from 2.0 s to 5.0 s`, or `… to the end`.
pub fn fault_text(fault: &FaultWindow) -> String {
    let end = fault.end_ms.map_or("the end".to_string(), seconds_or_zero);
    format!("{} from {} to {end}", fault_label(fault), seconds_or_zero(fault.start_ms))
}

fn seconds_or_zero(ms: f64) -> String {
    if ms <= 0.0 { "0 s".to_string() } else { seconds(ms / 1000.0) }
}

/// A node's samples as `(from, to, role)` spans: a role lasts until the next sample that
/// differs, the last until the scenario's end.
pub fn role_spans(samples: &[(f64, String)], end: f64) -> Vec<(f64, f64, String)> {
    let mut sorted: Vec<&(f64, String)> = samples.iter().filter(|s| s.0.is_finite()).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut spans: Vec<(f64, f64, String)> = Vec::new();
    for (t, role) in sorted {
        match spans.last_mut() {
            Some(last) if &last.2 == role => {}
            Some(last) => {
                last.1 = *t;
                spans.push((*t, end, role.clone()));
            }
            None => spans.push((*t, end, role.clone())),
        }
    }
    spans
}

/// Where each fault's label goes: its window's start, on the first row where it does not
/// run into the label before it (about 6.5 px a character at 11 px).
fn place_labels(faults: &[FaultWindow], x: &dyn Fn(f64) -> f64) -> Vec<(f64, usize)> {
    let mut row_ends: Vec<f64> = Vec::new();
    faults
        .iter()
        .map(|f| {
            let start = x(f.start_ms).min(WIDTH - 60.0);
            let width = fault_label(f).chars().count() as f64 * 6.5 + 6.0;
            let row = row_ends.iter().position(|end| *end <= start).unwrap_or_else(|| {
                row_ends.push(0.0);
                row_ends.len() - 1
            });
            row_ends[row] = start + width;
            (start + 2.0, row)
        })
        .collect()
}

fn legend(y: f64, faults: &[FaultWindow]) -> Markup {
    let mut kinds: Vec<&str> = faults.iter().map(|f| f.kind.as_str()).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    let mut at = LEFT;
    let mut item = |width: f64| {
        let x = at;
        at += width;
        x
    };
    html! {
        g class="legend" style=(FONT) fill=(INK) {
            @let x = item(34.0);
            text x=(x) y=(y) { "ops:" }
            @let x = item(30.0);
            rect x=(x) y=(y - 8.0) width="8" height="8" fill=(OK) {}
            text x=(x + 11.0) y=(y) { "ok" }
            @let x = item(52.0);
            rect x=(x) y=(y - 8.0) width="8" height="8" fill=(FAIL) {}
            text x=(x + 11.0) y=(y) { "failed" }
            @let x = item(80.0);
            path d={ "M" (x + 1.0) " " (y - 8.0) "h8l-4 7z" } fill=(UNKNOWN) {}
            text x=(x + 12.0) y=(y) { "no answer" }
            @let x = item(44.0);
            rect x=(x) y=(y - 6.0) width="3" height="3" fill=(INK) {}
            text x=(x + 6.0) y=(y) { "read" }
            @let x = item(58.0);
            rect x=(x) y=(y - 9.0) width="1.5" height="8" fill=(INK) {}
            text x=(x + 5.0) y=(y) { "write" }
            @let x = item(42.0);
            text x=(x) y=(y) { "roles:" }
            @for (role, colour) in ROLES {
                @let x = item(24.0 + role.len() as f64 * 7.0);
                rect x=(x) y=(y - 9.0) width="12" height="10" fill=(colour) {}
                text x=(x + 15.0) y=(y) { (role) }
            }
            @if !kinds.is_empty() {
                @let x = item(50.0);
                text x=(x + 6.0) y=(y) { "faults:" }
                @for kind in kinds {
                    @let x = item(24.0 + kind.len() as f64 * 7.0);
                    rect x=(x) y=(y - 9.0) width="12" height="10" fill=(fault_colour(kind)) fill-opacity="0.25" stroke=(fault_colour(kind)) stroke-dasharray="3 2" {}
                    text x=(x + 15.0) y=(y) { (kind) }
                }
            }
        }
    }
}

/// A round tick as it is written by hand: `0.1`, `10`, `1,000`, not `0.100` or `10.0`.
fn tick_ms(v: f64) -> String {
    let text = ms(v);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// One decimal: pixels finer than that mean nothing.
fn f1(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(60.0, 10), 10.0);
        assert_eq!(nice_step(7.3, 10), 1.0);
        assert_eq!(nice_step(0.9, 10), 0.1);
    }

    #[test]
    fn a_role_lasts_until_the_next_different_sample() {
        let samples = [(0.0, "follower"), (1.0, "follower"), (2.0, "leader"), (5.0, "down")]
            .map(|(t, r)| (t, r.to_string()));
        let spans = role_spans(&samples, 9.0);
        let expected = [(0.0, 2.0, "follower"), (2.0, 5.0, "leader"), (5.0, 9.0, "down")]
            .map(|(a, b, r)| (a, b, r.to_string()));
        assert_eq!(spans, expected);
    }

    #[test]
    fn latencies_spanning_decades_are_on_a_log_scale() {
        assert!(LatencyAxis::new([0.5, 3.0, 900.0].into_iter()).log);
        let linear = LatencyAxis::new([2.0, 3.0, 9.0].into_iter());
        assert!(!linear.log);
        assert_eq!(linear.ticks().first(), Some(&0.0));
        assert_eq!([0.1, 10.0, 1000.0, 2.5].map(tick_ms), ["0.1", "10", "1,000", "2.5"]);
    }
}
