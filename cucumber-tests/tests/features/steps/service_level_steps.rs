//! Service levels: the Then steps that judge the scenario's loads (errors, throughput,
//! latencies) against the limits the feature states. Each limit and what was measured go to
//! the run report (`World::record_threshold`), so a product owner sees the margin, not only
//! the verdict. The loads themselves are driven by `load_steps.rs`.
//!
//! The work is in `service_checks.rs`, which every wording of these steps calls.

use cucumber::{gherkin::Step, then};

use crate::{service_checks, world::LithairWorld};

#[then("every request succeeded")]
async fn every_request_succeeded(world: &mut LithairWorld) -> anyhow::Result<()> {
    service_checks::every_request_succeeded(world).await
}

#[then(expr = "less than {float}% of the requests failed")]
async fn error_rate_below(
    world: &mut LithairWorld,
    percent: f64,
    step: &Step,
) -> anyhow::Result<()> {
    service_checks::error_rate_below(world, percent, step).await
}

#[then(expr = "the server handled at least {int} requests per second")]
async fn throughput_at_least(
    world: &mut LithairWorld,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    service_checks::throughput_at_least(world, rate, step).await
}

#[then(expr = "the average latency was below {int} ms")]
async fn mean_latency_below(world: &mut LithairWorld, ms: u64, step: &Step) -> anyhow::Result<()> {
    service_checks::mean_latency_below(world, ms, step).await
}

#[then(expr = "{int}% of the requests were answered within {int} ms")]
async fn percentile_within(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    service_checks::percentile_within(world, percent, ms, step).await
}

#[then(expr = "the server must have responded to all {int} requests")]
async fn responded_to_all(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    service_checks::responded_to_all(world, count).await
}

#[then(expr = "the error rate must be {float}%")]
async fn error_rate_is(world: &mut LithairWorld, percent: f64) -> anyhow::Result<()> {
    service_checks::error_rate_is(world, percent).await
}

#[then(expr = "the p{int} latency must be less than {int}ms")]
async fn percentile_below(
    world: &mut LithairWorld,
    percent: u64,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    service_checks::percentile_below(world, percent, ms, step).await
}

#[then("all reads must return valid data")]
async fn reads_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    service_checks::reads_valid(world).await
}
