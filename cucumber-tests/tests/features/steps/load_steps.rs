//! Load: many clients at once, measured by the harness's load generator (raw keep-alive
//! HTTP/1.1, latencies in an HDR histogram). Each load step prints one line and adds its
//! report to `target/cucumber/perf.json`; `service_level_steps.rs` judges the loads, the Then
//! steps here check what they wrote.
//!
//! The work is in `load.rs`, which every wording of these steps calls.

use cucumber::{gherkin::Step, given, then, when};

use crate::{load, world::LithairWorld};

#[given(expr = "{int} articles already exist")]
async fn articles_exist(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    load::articles_exist(world, count).await
}

#[when(expr = "I create {int} articles quickly")]
async fn create_quickly(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    load::create_quickly(world, count).await
}

#[when(expr = "I launch {int} concurrent POST requests with {int} threads")]
async fn launch_posts(world: &mut LithairWorld, count: u64, threads: usize) -> anyhow::Result<()> {
    load::launch_posts(world, count, threads).await
}

#[when(expr = "I modify {int} existing articles")]
async fn modify_existing(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    load::modify_existing(world, count).await
}

#[when(expr = "I measure write performance for {int} seconds")]
async fn measure_writes(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    load::measure_writes(world, seconds).await
}

#[when(expr = "I measure read performance for {int} seconds")]
async fn measure_reads(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    load::measure_reads(world, seconds).await
}

#[when(expr = "I run a mixed test for {int} seconds with:")]
async fn mixed_test(world: &mut LithairWorld, seconds: u64, step: &Step) -> anyhow::Result<()> {
    load::mixed_test(world, seconds, step).await
}

#[when(expr = "I create {int} articles in {int} batches of {int}")]
async fn create_in_n_batches(
    world: &mut LithairWorld,
    count: u64,
    batches: u64,
    batch: u64,
) -> anyhow::Result<()> {
    load::create_in_n_batches(world, count, batches, batch).await
}

#[when(expr = "I create articles with {int}KB content each")]
async fn articles_of_size(world: &mut LithairWorld, kilobytes: usize) -> anyhow::Result<()> {
    load::articles_of_size(world, kilobytes).await
}

#[when(expr = "I create {int} of these articles")]
async fn create_these(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    load::create_these(world, count).await
}

#[when(expr = "{int} clients create {int} articles")]
async fn clients_create(
    world: &mut LithairWorld,
    clients: usize,
    count: u64,
) -> anyhow::Result<()> {
    load::clients_create(world, clients, count).await
}

#[when(expr = "{int} clients create articles for {int} seconds")]
async fn clients_create_for(
    world: &mut LithairWorld,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    load::clients_create_for(world, clients, seconds).await
}

#[when(expr = "{int} clients read existing articles for {int} seconds")]
async fn clients_read_for(
    world: &mut LithairWorld,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    load::clients_read_for(world, clients, seconds).await
}

#[when(expr = "{int} clients modify {int} articles")]
async fn clients_modify(
    world: &mut LithairWorld,
    clients: usize,
    count: usize,
) -> anyhow::Result<()> {
    load::clients_modify(world, clients, count).await
}

#[when(expr = "{int} clients delete {int} articles")]
async fn clients_delete(
    world: &mut LithairWorld,
    clients: usize,
    count: usize,
) -> anyhow::Result<()> {
    load::clients_delete(world, clients, count).await
}

#[when(expr = "articles are created at a steady {int} per second for {int} seconds")]
async fn steady_creation(world: &mut LithairWorld, rate: u64, seconds: u64) -> anyhow::Result<()> {
    load::steady_creation(world, rate, seconds).await
}

#[when(expr = "I create {int} articles in batches of {int}")]
async fn create_in_batches(world: &mut LithairWorld, count: u64, batch: u64) -> anyhow::Result<()> {
    load::create_in_batches(world, count, batch).await
}

#[when(expr = "I create {int} articles of {int} KB")]
async fn create_large(
    world: &mut LithairWorld,
    count: u64,
    kilobytes: usize,
) -> anyhow::Result<()> {
    load::create_large(world, count, kilobytes).await
}

#[when(expr = "this traffic runs for {int} seconds at {int} requests per second:")]
async fn traffic_mix(
    world: &mut LithairWorld,
    seconds: u64,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    load::traffic_mix(world, seconds, rate, step).await
}

#[then("every acknowledged write is in the events.raftlog file")]
async fn acknowledged_writes_in_log(world: &mut LithairWorld) -> anyhow::Result<()> {
    load::acknowledged_writes_in_log(world).await
}

#[then("the events.raftlog file holds one ArticleCreated event per acknowledged creation")]
async fn one_event_per_creation(world: &mut LithairWorld) -> anyhow::Result<()> {
    load::one_event_per_creation(world).await
}

#[then("the server log shows no error")]
async fn no_error_logged(world: &mut LithairWorld) -> anyhow::Result<()> {
    load::no_error_logged(world).await
}

#[then(expr = "the events.raftlog file is at least {int} MB")]
async fn log_at_least(world: &mut LithairWorld, megabytes: u64) -> anyhow::Result<()> {
    load::log_at_least(world, megabytes).await
}

#[then(expr = "a request right after is answered within {int} ms")]
async fn probe_within(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    load::probe_within(world, ms).await
}

#[then("every article reads back byte for byte")]
async fn read_back_exactly(world: &mut LithairWorld) -> anyhow::Result<()> {
    load::read_back_exactly(world).await
}

#[then(expr = "exactly {int} events must be persisted")]
async fn exactly_persisted(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    load::exactly_persisted(world, count).await
}

#[then(regex = r"^the read time must not degrade \(< (\d+)ms\)$")]
async fn reads_stay_fast(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    load::reads_stay_fast(world, ms).await
}
