//! The report's charts, drawn by plotters into SVG strings that the page inlines.
//!
//! plotters is built without a font feature: its SVG backend writes text as `<text>` elements
//! (escaped) for the browser to set, and lays labels out with a width estimate, so no font file
//! or font library is needed. Every chart says what it measures in its caption and axis names.
//! A cluster scenario's timeline, with thousands of marks, is drawn by hand ([`timeline`]).

pub mod timeline;

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use crate::format::{ms, rate};

const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const BAR: RGBColor = RGBColor(0x3b, 0x6e, 0xa8);
const LIMIT: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const FONT: &str = "sans-serif";

/// A drawing error of plotters, as text: charts are built from validated numbers, so this only
/// happens on a bug, and the page shows it in the chart's place rather than failing.
type Drawn = Result<String, String>;

fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Drawn {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Latency by percentile, from p50 to max, on a log scale (tails are orders of magnitude
/// above medians), with the scenario's latency ceilings as dashed lines across the chart.
pub fn latency(points: &[(&str, f64)], ceilings: &[(f64, String)]) -> Drawn {
    if points.is_empty() {
        return Err("no latency figures".into());
    }
    let values = points.iter().map(|p| p.1).chain(ceilings.iter().map(|c| c.0));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = ((lo.max(0.001) / 2.0), (hi.max(0.002) * 2.0));
    let n = points.len();
    svg((460, 250), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n - 1).into_segmented(), (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .x_desc("percentile of requests")
            .y_desc("latency (ms, log scale)")
            .y_labels(5)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => points.get(*i).map_or(String::new(), |p| p.0.into()),
                _ => String::new(),
            })
            .y_label_formatter(&|v| ms(*v))
            .label_style((FONT, 11).into_font().color(&INK))
            .axis_desc_style((FONT, 11).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        let centre = |i: usize| SegmentValue::CenterOf(i);
        chart
            .draw_series(LineSeries::new(
                points.iter().enumerate().map(|(i, p)| (centre(i), p.1)),
                BAR.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Circle::new((centre(i), p.1), 3, BAR.filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(points.iter().enumerate().map(|(i, p)| {
                Text::new(
                    ms(p.1),
                    (centre(i), p.1),
                    (FONT, 10).into_font().color(&INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(err)?;
        for (limit, text) in ceilings {
            let span = [(SegmentValue::Exact(0), *limit), (SegmentValue::Exact(n), *limit)];
            chart
                .draw_series(DashedLineSeries::new(span, 4, 3, LIMIT.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series([Text::new(
                    text.clone(),
                    (SegmentValue::Exact(0), *limit),
                    (FONT, 10).into_font().color(&LIMIT).pos(Pos::new(HPos::Left, VPos::Bottom)),
                )])
                .map_err(err)?;
        }
        Ok(())
    })
}

/// Throughput of each load of a scenario as horizontal bars, with the scenario's floors
/// ("at least 1000 requests per second") as vertical lines: the margin is the gap.
pub fn throughput(bars: &[(String, f64)], floors: &[(f64, String)]) -> Drawn {
    if bars.is_empty() {
        return Err("no load".into());
    }
    let top = bars.iter().map(|b| b.1).chain(floors.iter().map(|f| f.0)).fold(1.0, f64::max) * 1.2;
    let n = bars.len();
    let height = 70 + 34 * n as u32;
    svg((640, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(150)
            // One segment per bar, plus one above them for the floors' labels.
            .build_cartesian_2d(0.0..top, (0..n).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .disable_y_mesh()
            .x_desc("throughput (requests per second)")
            .x_label_formatter(&|v| rate(*v))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    bars.get(*i).map_or(String::new(), |b| shorten(&b.0, 24))
                }
                _ => String::new(),
            })
            .label_style((FONT, 11).into_font().color(&INK))
            .axis_desc_style((FONT, 11).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(i)), (b.1, SegmentValue::Exact(i + 1))],
                    BAR.filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }))
            .map_err(err)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                Text::new(
                    format!(" {} req/s", rate(b.1)),
                    (b.1, SegmentValue::CenterOf(i)),
                    (FONT, 11).into_font().color(&INK).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(err)?;
        for (limit, text) in floors {
            let span = [(*limit, SegmentValue::Exact(0)), (*limit, SegmentValue::Exact(n))];
            chart
                .draw_series(DashedLineSeries::new(span, 5, 3, LIMIT.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series([Text::new(
                    text.clone(),
                    (*limit, SegmentValue::Exact(n)),
                    (FONT, 10).into_font().color(&LIMIT).pos(Pos::new(HPos::Left, VPos::Top)),
                )])
                .map_err(err)?;
        }
        Ok(())
    })
}

/// One figure over the last runs, oldest first; a run that lacks the figure leaves a gap.
pub fn trend(values: &[Option<f64>], unit: &str) -> Drawn {
    let known: Vec<(usize, f64)> =
        values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
    let hi = known.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.15;
    let n = values.len().max(2);
    svg((300, 110), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .x_label_area_size(18)
            .y_label_area_size(50)
            .build_cartesian_2d(0..n - 1, 0.0..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .disable_x_mesh()
            .x_labels(n)
            .y_labels(3)
            .x_label_formatter(&|i| format!("#{}", i + 1))
            .y_label_formatter(&|v| format!("{} {unit}", rate(*v)))
            .label_style((FONT, 10).into_font().color(&INK))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(known.iter().copied(), BAR.stroke_width(2)))
            .map_err(err)?;
        chart.draw_series(known.iter().map(|p| Circle::new(*p, 3, BAR.filled()))).map_err(err)?;
        Ok(())
    })
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}
