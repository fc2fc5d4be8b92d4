//! Load: many clients at once, measured by the harness's load generator (raw keep-alive
//! HTTP/1.1, latencies in an HDR histogram). Each load step prints one line and adds its
//! report to `target/cucumber/perf.json`; `service_level_steps.rs` judges the loads, the Then
//! steps here check what they wrote.
//!
//! The steps in `steps/load_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use cucumber::gherkin::Step;
use cucumber_tests::{
    model::Article,
    workloads::{CreateArticles, DeleteArticles, ModifyArticles, ReadArticles},
};
use loadgen::{self, LoadConfig, LoadReport, Workload};
use reqwest::Method;
use serde::Deserialize;

use crate::{explain::Explain, http, world::LithairWorld};

/// Content of articles created by load steps, unless a step says otherwise.
const ARTICLE_BYTES: usize = 200;

/// Left out of the measurements of duration-bound loads: connections, caches and the
/// allocator settle first.
const WARMUP: Duration = Duration::from_secs(1);

/// Clients of the load phrases that name no count of their own ("I create 1000 articles
/// quickly", "I measure write performance for 10 seconds").
const CLIENTS: usize = 50;

/// Upstream's mixed test names shares and connections but no rate: it is offered at this rate,
/// open loop, as features/performance.feature does, so its latencies count from each
/// request's intended send time.
const MIXED_RATE: u64 = 2500;

/// Articles created before the mixed test, so that its reads have something to read.
const MIXED_SEED: u64 = 5000;

/// What each workload sends, as the run report names it.
const CREATE: &str = "POST /api/articles";

const READ: &str = "GET /api/articles/{id}";

const MODIFY: &str = "PUT /api/articles/{id}";

const DELETE: &str = "DELETE /api/articles/{id}";

/// Run `config` with `workload` against the scenario's server.
async fn run(
    world: &LithairWorld,
    config: LoadConfig,
    workload: Arc<dyn Workload>,
) -> anyhow::Result<LoadReport> {
    loadgen::run(world.server.running()?.addr(), &config, workload).await
}

/// Create articles through the load generator, and remember each acknowledged one exactly
/// as it was sent.
async fn create_with_load(
    world: &mut LithairWorld,
    config: LoadConfig,
    content_bytes: usize,
) -> anyhow::Result<LoadReport> {
    let workload = Arc::new(CreateArticles::new(content_bytes));
    let report = run(world, config, workload.clone()).await?;
    workload.acknowledged_articles().into_iter().for_each(|a| world.expected.remember_created(a));
    Ok(report)
}

pub async fn articles_exist(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    let report =
        create_with_load(world, LoadConfig::closed_requests(50, count), ARTICLE_BYTES).await?;
    ensure!(report.errors() == 0, "creating the articles failed: {:?}", report.error_samples);
    Ok(())
}

/// Upstream's "quickly": through the load generator, every answer checked; it must all succeed.
pub async fn create_quickly(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    let config = LoadConfig::closed_requests(CLIENTS, count).with_label("create quickly");
    let report = create_with_load(world, config, ARTICLE_BYTES).await?;
    let errors = (report.errors(), report.error_samples.clone());
    world.record_load(report, CREATE);
    ensure!(errors.0 == 0, "{} creations failed, e.g. {:?}", errors.0, errors.1);
    Ok(())
}

/// "Persisted" is checked, not assumed: every acknowledged article is in the log as sent.
pub async fn created_and_persisted(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    articles_exist(world, count).await?;
    acknowledged_writes_in_log(world).await
}

pub async fn launch_posts(
    world: &mut LithairWorld,
    count: u64,
    threads: usize,
) -> anyhow::Result<()> {
    clients_create(world, threads, count).await
}

pub async fn modify_existing(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    clients_modify(world, CLIENTS, count).await?;
    let report = world.perf.last_load()?;
    ensure!(
        report.errors() == 0,
        "{} changes failed, e.g. {:?}",
        report.errors(),
        report.error_samples
    );
    Ok(())
}

pub async fn measure_writes(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    clients_create_for(world, CLIENTS, seconds).await
}

pub async fn measure_reads(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    clients_read_for(world, CLIENTS, seconds).await
}

/// Upstream's mixed test: `Type | Percentage | Concurrency`, at [`MIXED_RATE`] requests per
/// second over [`MIXED_SEED`] articles created first.
pub async fn mixed_test(world: &mut LithairWorld, seconds: u64, step: &Step) -> anyhow::Result<()> {
    articles_exist(world, MIXED_SEED).await?;
    traffic_mix(world, seconds, MIXED_RATE, step).await
}

pub async fn create_in_n_batches(
    world: &mut LithairWorld,
    count: u64,
    batches: u64,
    batch: u64,
) -> anyhow::Result<()> {
    ensure!(batches * batch == count, "{batches} batches of {batch} are not {count} articles");
    create_in_batches(world, count, batch).await
}

/// Sets the content size for the next "I create N of these articles".
pub async fn articles_of_size(world: &mut LithairWorld, kilobytes: usize) -> anyhow::Result<()> {
    ensure!(kilobytes > 0, "articles need some content");
    world.perf.article_bytes = Some(kilobytes * 1024);
    Ok(())
}

pub async fn create_these(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    let bytes = world.perf.article_bytes.context("no article size was given before")?;
    let config = LoadConfig::closed_requests(20, count).with_label(format!("create {bytes} B"));
    let report = create_with_load(world, config, bytes).await?;
    let errors = report.errors();
    world.record_load(report, &format!("{CREATE}, {bytes} B each"));
    ensure!(errors == 0, "{errors} creations failed");
    Ok(())
}

pub async fn clients_create(
    world: &mut LithairWorld,
    clients: usize,
    count: u64,
) -> anyhow::Result<()> {
    let config = LoadConfig::closed_requests(clients, count).with_label("create");
    let report = create_with_load(world, config, ARTICLE_BYTES).await?;
    world.record_load(report, CREATE);
    Ok(())
}

pub async fn clients_create_for(
    world: &mut LithairWorld,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let config = LoadConfig::closed_duration(clients, Duration::from_secs(seconds))
        .with_warmup(WARMUP)
        .with_label("create for a while");
    let report = create_with_load(world, config, ARTICLE_BYTES).await?;
    world.record_load(report, CREATE);
    Ok(())
}

pub async fn clients_read_for(
    world: &mut LithairWorld,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let ids: Vec<u64> = world.expected.articles.keys().copied().collect();
    ensure!(!ids.is_empty(), "there are no articles to read");
    let config = LoadConfig::closed_duration(clients, Duration::from_secs(seconds))
        .with_warmup(WARMUP)
        .with_label("read");
    let report = run(world, config, Arc::new(ReadArticles::new(ids))).await?;
    world.record_load(report, READ);
    Ok(())
}

pub async fn clients_modify(
    world: &mut LithairWorld,
    clients: usize,
    count: usize,
) -> anyhow::Result<()> {
    let ids: Vec<u64> = world.expected.articles.keys().copied().take(count).collect();
    ensure!(ids.len() == count, "only {} live articles to modify", ids.len());
    let config = LoadConfig::closed_requests(clients, count as u64).with_label("modify");
    let report = run(world, config, Arc::new(ModifyArticles::new(ids.clone()))).await?;
    if report.errors() == 0 {
        for id in ids {
            world.expected.remember_updated(ModifyArticles::input(id).with_id(id));
        }
    }
    world.record_load(report, MODIFY);
    Ok(())
}

pub async fn clients_delete(
    world: &mut LithairWorld,
    clients: usize,
    count: usize,
) -> anyhow::Result<()> {
    let ids: Vec<u64> = world.expected.articles.keys().rev().copied().take(count).collect();
    ensure!(ids.len() == count, "only {} live articles to delete", ids.len());
    let config = LoadConfig::closed_requests(clients, count as u64).with_label("delete");
    let report = run(world, config, Arc::new(DeleteArticles::new(ids.clone()))).await?;
    if report.errors() == 0 {
        for id in ids {
            world.expected.remember_deleted(id);
        }
    }
    world.record_load(report, DELETE);
    Ok(())
}

pub async fn steady_creation(
    world: &mut LithairWorld,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    let config =
        LoadConfig::open(20, rate as f64, Duration::from_secs(seconds)).with_label("steady create");
    let report = create_with_load(world, config, ARTICLE_BYTES).await?;
    world.record_load(report, CREATE);
    Ok(())
}

pub async fn create_in_batches(
    world: &mut LithairWorld,
    count: u64,
    batch: u64,
) -> anyhow::Result<()> {
    ensure!(
        batch > 0 && count.is_multiple_of(batch),
        "{count} articles do not split into batches of {batch}"
    );
    for n in 0..count / batch {
        let config = LoadConfig::closed_requests(50, batch).with_label(format!("batch {}", n + 1));
        let report = create_with_load(world, config, ARTICLE_BYTES).await?;
        world.record_load(report, CREATE);
    }
    Ok(())
}

pub async fn create_large(
    world: &mut LithairWorld,
    count: u64,
    kilobytes: usize,
) -> anyhow::Result<()> {
    let config =
        LoadConfig::closed_requests(20, count).with_label(format!("create {kilobytes} KB"));
    let report = create_with_load(world, config, kilobytes * 1024).await?;
    world.record_load(report, &format!("{CREATE}, {kilobytes} KB each"));
    Ok(())
}

/// A traffic mix, given as `type | percentage | concurrency`: an open loop at the given total
/// rate, each type getting its share of the rate and its own connections. The mix is exact by
/// construction, and latencies count from each request's intended send time.
pub async fn traffic_mix(
    world: &mut LithairWorld,
    seconds: u64,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    let table =
        step.table.as_ref().context("the step needs a table: type | percentage | concurrency")?;
    let duration = Duration::from_secs(seconds);
    let writes = Arc::new(CreateArticles::new(ARTICLE_BYTES));
    let mut loads: Vec<(LoadConfig, Arc<dyn Workload>)> = Vec::new();
    let mut total_share = 0.0;
    let mut mix = Vec::new();
    for row in &table.rows[1..] {
        let [kind, share, concurrency] = row.as_slice() else {
            bail!("each row needs type | percentage | concurrency")
        };
        let share: f64 =
            share.trim_end_matches('%').trim().parse().context("a percentage like 80%")?;
        let connections: usize = concurrency.trim().parse().context("a number of clients")?;
        total_share += share;
        let config = LoadConfig::open(connections, rate as f64 * share / 100.0, duration)
            .with_label(kind.as_str());
        let (workload, endpoint): (Arc<dyn Workload>, _) = match kind.to_lowercase().as_str() {
            "read" => (
                Arc::new(ReadArticles::new(world.expected.articles.keys().copied().collect())),
                READ,
            ),
            "write" => (writes.clone(), CREATE),
            other => bail!("unknown traffic type {other:?}: Read or Write"),
        };
        mix.push(format!("{share}% {endpoint}"));
        loads.push((config, workload));
    }
    ensure!(
        (total_share - 100.0).abs() < 0.01,
        "the percentages add up to {total_share}%, not 100%"
    );
    let reports = loadgen::run_many(world.server.running()?.addr(), &loads).await?;
    writes.acknowledged_articles().into_iter().for_each(|a| world.expected.remember_created(a));
    for report in &reports {
        println!("    load: {}", report.summary_line());
    }
    world.record_load(LoadReport::merge("mixed traffic", &reports)?, &mix.join(", "));
    Ok(())
}

/// Every acknowledged creation and change is in the log as acknowledged, and every
/// acknowledged deletion too.
pub async fn acknowledged_writes_in_log(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let replay = log.replay();
    for (id, expected) in &world.expected.articles {
        let Some(logged) = replay.articles.get(id) else {
            bail!("acknowledged article {id} is not in the log")
        };
        ensure!(
            logged == expected,
            "article {id} in the log is not as acknowledged:\n  acknowledged {expected:?}\n  in the log   {logged:?}"
        );
    }
    for id in &world.expected.deleted_ids {
        ensure!(
            !replay.articles.contains_key(id),
            "article {id} was deleted, but the log still has it"
        );
    }
    Ok(())
}

pub async fn one_event_per_creation(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let logged = log.count("ArticleCreated");
    ensure!(
        logged == world.expected.created_ids.len(),
        "{logged} ArticleCreated events for {} acknowledged creations",
        world.expected.created_ids.len()
    );
    Ok(())
}

pub async fn no_error_logged(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.log();
    let errors: Vec<&str> =
        log.lines().filter(|line| line.contains(" ERROR ") || line.contains("panicked")).collect();
    ensure!(errors.is_empty(), "the server logged errors:\n{}", errors.join("\n"));
    Ok(())
}

pub async fn log_at_least(world: &mut LithairWorld, megabytes: u64) -> anyhow::Result<()> {
    let size = std::fs::metadata(world.server.log_path())?.len();
    ensure!(size >= megabytes * 1_000_000, "the log is {:.1} MB", size as f64 / 1e6);
    Ok(())
}

pub async fn probe_within(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let id = *world.expected.articles.keys().next_back().context("no article to read")?;
    let started = Instant::now();
    http::expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
    let took = started.elapsed();
    ensure!(took < Duration::from_millis(ms), "the request took {took:?}");
    Ok(())
}

pub async fn read_back_exactly(world: &mut LithairWorld) -> anyhow::Result<()> {
    for (id, expected) in &world.expected.articles {
        let served =
            http::expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
        let served = Article::deserialize(&served).explain(format!("article {id} as served"))?;
        ensure!(&served == expected, "article {id} does not read back as written");
    }
    Ok(())
}

/// Every acknowledged write is in the log as acknowledged, with one creation event each.
pub async fn all_writes_persisted(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.created_ids.is_empty(), "no write was acknowledged");
    acknowledged_writes_in_log(world).await?;
    one_event_per_creation(world).await
}

/// Exactly `count` events in the log, and they are the acknowledged writes.
pub async fn exactly_persisted(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let logged = world.server.raftlog().await?.records().len();
    ensure!(logged == count, "the log holds {logged} events, expected {count}");
    ensure!(
        world.expected.created_ids.len() == count,
        "{} writes were acknowledged, expected {count}",
        world.expected.created_ids.len()
    );
    all_writes_persisted(world).await
}

/// Every article the scenario knows is served, byte for byte, and no other.
pub async fn all_retrievable(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no article was acknowledged");
    read_back_exactly(world).await?;
    let served = http::all_articles(world).await?.len();
    ensure!(served == world.expected.articles.len(), "the server lists {served} articles");
    Ok(())
}

/// Each article the scenario knows, read one by one: the slowest read is below `ms`.
pub async fn reads_stay_fast(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no article to read");
    let mut slowest = Duration::ZERO;
    for id in world.expected.articles.keys() {
        let started = Instant::now();
        http::expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
        slowest = slowest.max(started.elapsed());
    }
    ensure!(slowest < Duration::from_millis(ms), "the slowest read took {slowest:?}");
    Ok(())
}
