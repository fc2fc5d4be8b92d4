//! Service levels: the Then steps that judge the scenario's loads (errors, throughput,
//! latencies) against the limits the feature states. Each limit and what was measured go to
//! the run report (`World::record_threshold`), so a product owner sees the margin, not only
//! the verdict. The loads themselves are driven by `load_steps.rs`.
//!
//! The steps in `steps/service_level_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use anyhow::{Context, ensure};
use cucumber::gherkin::Step;
use lithair_report::Metric;

use crate::world::LithairWorld;

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

/// The last load's `metric`, noted with the step's limit for the run report.
fn judge_last_load(
    world: &mut LithairWorld,
    step: &Step,
    metric: Metric,
    limit: f64,
) -> anyhow::Result<f64> {
    let report = world.perf.last_load()?;
    let measured = match metric {
        Metric::Throughput => report.throughput(),
        Metric::MeanLatencyMs => report.mean_ms(),
        Metric::PercentileLatencyMs { percentile } => report.percentile_ms(percentile),
        Metric::ErrorPercent => report.error_rate() * 100.0,
    };
    let label = report.label.clone();
    world.record_threshold(step, metric, limit, measured, Some(&label));
    Ok(measured)
}

pub async fn error_rate_below(
    world: &mut LithairWorld,
    percent: f64,
    step: &Step,
) -> anyhow::Result<()> {
    let failed = judge_last_load(world, step, Metric::ErrorPercent, percent)?;
    ensure!(
        failed < percent,
        "{failed:.3}% failed, e.g. {:?}",
        world.perf.last_load()?.error_samples
    );
    Ok(())
}

pub async fn throughput_at_least(
    world: &mut LithairWorld,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let handled = judge_last_load(world, step, Metric::Throughput, rate as f64)?;
    ensure!(handled >= rate as f64, "{handled:.0} requests per second, below {rate}");
    Ok(())
}

pub async fn mean_latency_below(
    world: &mut LithairWorld,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let mean = judge_last_load(world, step, Metric::MeanLatencyMs, ms as f64)?;
    ensure!(mean < ms as f64, "the average latency was {mean:.2} ms");
    Ok(())
}

pub async fn percentile_within(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let metric = Metric::PercentileLatencyMs { percentile: percent as f64 };
    let latency = judge_last_load(world, step, metric, ms as f64)?;
    ensure!(latency <= ms as f64, "{percent}% of the requests took up to {latency:.2} ms");
    Ok(())
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

pub async fn percentile_below(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
) -> anyhow::Result<()> {
    let report = world.perf.last_load()?;
    let latency = report.percentile_ms(percent as f64);
    ensure!(latency < ms as f64, "p{percent} latency is {latency:.2} ms");
    Ok(())
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
