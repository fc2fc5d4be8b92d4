//! Service levels: the Then steps that judge the scenario's loads (errors, throughput,
//! latencies) against the limits the feature states. Each limit and what was measured go to
//! the run report (`World::record_threshold`), so a product owner sees the margin, not only
//! the verdict. The loads themselves are driven by `load_steps.rs`.
//!
//! The steps in `steps/service_level_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::fmt;

use anyhow::{Context, ensure};
use cucumber::gherkin::Step;
use lithair_report::Metric;

use crate::{load, retake, world::LithairWorld};

pub async fn every_request_succeeded(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.perf.loads.is_empty(), "no load has run in this scenario");
    for report in &world.perf.loads {
        ensure!(
            report.errors() == 0 && report.warmup_errors == 0,
            "{}: {} errors (+{} in warm-up), e.g. {:?}",
            report.label,
            report.errors(),
            report.warmup_errors,
            report.error_samples
        );
    }
    Ok(())
}

/// The last load's `metric`, which must be `within` the step's `limit`. A measurement beyond it
/// is taken again by making the same load again (`retake.rs`): a busy machine spoils one
/// measurement, a slow server all of them. The measurement judged last is noted with the
/// limit for the run report.
async fn judge_last_load(
    world: &mut LithairWorld,
    step: &Step,
    metric: Metric,
    limit: f64,
    within: impl Fn(f64) -> bool,
) -> anyhow::Result<()> {
    let first = measure(world, metric)?;
    let judged = retake::until_within(
        world,
        &metric_name(metric),
        first,
        async |world: &mut LithairWorld| {
            load::retake_last_load(world).await?;
            measure(world, metric)
        },
        |figure| within(figure.0),
    )
    .await;
    let last = measure(world, metric)?;
    let label = world.perf.last_load()?.label.clone();
    world.record_threshold(step, metric, limit, last.0, Some(&label));
    judged.map(drop)
}

/// A load's figure and its unit, as a failure names it.
struct Figure(f64, &'static str);

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} {}", self.0, self.1)
    }
}

fn measure(world: &LithairWorld, metric: Metric) -> anyhow::Result<Figure> {
    let report = world.perf.last_load()?;
    Ok(match metric {
        Metric::Throughput => Figure(report.throughput(), "requests per second"),
        Metric::MeanLatencyMs => Figure(report.mean_ms(), "ms"),
        Metric::PercentileLatencyMs { percentile } => {
            Figure(report.percentile_ms(percentile), "ms")
        }
        Metric::ErrorPercent => Figure(report.error_rate() * 100.0, "%"),
    })
}

fn metric_name(metric: Metric) -> String {
    match metric {
        Metric::Throughput => "the throughput".into(),
        Metric::MeanLatencyMs => "the average latency".into(),
        Metric::PercentileLatencyMs { percentile } => format!("the p{percentile} latency"),
        Metric::ErrorPercent => "the share of failed requests".into(),
    }
}

pub async fn error_rate_below(
    world: &mut LithairWorld,
    percent: f64,
    step: &Step,
) -> anyhow::Result<()> {
    let report = world.perf.last_load()?;
    let failed = report.error_rate() * 100.0;
    let (label, samples) = (report.label.clone(), report.error_samples.clone());
    world.record_threshold(step, Metric::ErrorPercent, percent, failed, Some(&label));
    ensure!(failed < percent, "{failed:.3}% failed, e.g. {samples:?}");
    Ok(())
}

pub async fn throughput_at_least(
    world: &mut LithairWorld,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    judge_last_load(world, step, Metric::Throughput, rate as f64, |handled| handled >= rate as f64)
        .await
}

pub async fn mean_latency_below(
    world: &mut LithairWorld,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    judge_last_load(world, step, Metric::MeanLatencyMs, ms as f64, |mean| mean < ms as f64).await
}

pub async fn percentile_within(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let metric = Metric::PercentileLatencyMs { percentile: percent as f64 };
    judge_last_load(world, step, metric, ms as f64, |latency| latency <= ms as f64).await
}

/// Every request of the last load got an answer, and every answer was the right one.
pub async fn responded_to_all(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    let report = world.perf.last_load()?;
    let sent = report.requests + report.warmup_requests;
    let answered: u64 = report.statuses.values().sum();
    ensure!(sent == count, "{sent} requests were sent, not {count}");
    ensure!(answered + report.warmup_requests == count, "only {answered} of {count} got an answer");
    ensure!(
        report.errors() == 0 && report.warmup_errors == 0,
        "{} answers were wrong or missing, e.g. {:?}",
        report.errors() + report.warmup_errors,
        report.error_samples
    );
    Ok(())
}

/// The share of failed requests of the last load, warm-up included, is at most `percent`.
pub async fn error_rate_is(world: &mut LithairWorld, percent: f64) -> anyhow::Result<()> {
    let report = world.perf.last_load()?;
    let sent = report.requests + report.warmup_requests;
    let failed = report.errors() + report.warmup_errors;
    ensure!(sent > 0, "the last load sent nothing");
    let rate = failed as f64 * 100.0 / sent as f64;
    ensure!(
        rate <= percent,
        "{rate:.3}% of {sent} requests failed, e.g. {:?}",
        report.error_samples
    );
    Ok(())
}

/// Upstream's "must be less than": strictly below, unlike [`percentile_within`].
pub async fn percentile_below(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let metric = Metric::PercentileLatencyMs { percentile: percent as f64 };
    judge_last_load(world, step, metric, ms as f64, |latency| latency < ms as f64).await
}

/// The reads of the last load each came back as the article asked for, with a checksum that
/// matches its text (the read workload checks every body).
pub async fn reads_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    let report = world
        .perf
        .loads
        .iter()
        .rev()
        .find(|r| r.label == "read")
        .context("no read load has run in this scenario")?;
    ensure!(report.requests > 0, "no read was measured");
    ensure!(
        report.errors() == 0 && report.warmup_errors == 0,
        "{} reads were wrong or failed, e.g. {:?}",
        report.errors() + report.warmup_errors,
        report.error_samples
    );
    Ok(())
}
