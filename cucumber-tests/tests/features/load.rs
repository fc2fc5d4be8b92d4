//! Load: many clients at once, measured by the harness's load generator (raw keep-alive
//! HTTP/1.1, latencies in an HDR histogram). Each load step prints one line and adds its
//! report to `target/cucumber/perf.json`; `service_level_steps.rs` judges the loads, the Then
//! steps here check what they wrote.
//!
//! The steps in `steps/load_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::{
    net::SocketAddr,
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

use crate::{
    explain::Explain,
    http,
    retake::{self, Took},
    world::LithairWorld,
};

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

/// How a load was made, kept so that a timing check can take its measurement again the same
/// way (`retake.rs`). Loads that change what they touch (modify, delete) have none: a second
/// run would not be the same load.
#[derive(Clone, Debug)]
pub enum Recipe {
    /// New articles with `bytes` of content each.
    Create { config: LoadConfig, bytes: usize },
    /// Reads of these articles.
    Read { config: LoadConfig, ids: Vec<u64> },
    /// An open-loop mix, each part with its own clients; `endpoints` names it for the report.
    Mix { parts: Vec<(LoadConfig, Part)>, endpoints: String },
}

/// One part of a traffic mix.
#[derive(Clone, Debug)]
pub enum Part {
    Read(Vec<u64>),
    Write,
}

/// The recipe of the scenario's last recorded load, if it has one (`recorded` is the load's
/// index in `world.perf.loads`, so a recipe never outlives its load).
#[derive(Debug, Default)]
struct LastRecipe(Option<(usize, Recipe)>);

/// Keep a load's report, and how to make it again.
fn record(world: &mut LithairWorld, report: LoadReport, endpoint: &str, recipe: Option<Recipe>) {
    world.record_load(report, endpoint);
    let recorded = world.perf.loads.len() - 1;
    world.part::<LastRecipe>().0 = recipe.map(|recipe| (recorded, recipe));
}

/// The last load made again, the same way, and recorded as a load of its own: what a timing
/// check measures again when the first measurement missed its limit. Fails when the last load
/// cannot be made again.
pub async fn retake_last_load(world: &mut LithairWorld) -> anyhow::Result<()> {
    let again = |label: &str| format!("{label} (again)");
    match last_recipe(world)? {
        Recipe::Create { config, bytes } => {
            let label = again(&config.label);
            let report = create_with_load(world, config.clone().with_label(label), bytes).await?;
            record(world, report, CREATE, Some(Recipe::Create { config, bytes }));
        }
        Recipe::Read { config, ids } => {
            let label = again(&config.label);
            let workload = Arc::new(ReadArticles::new(ids.clone()));
            let report = run(world, config.clone().with_label(label), workload).await?;
            record(world, report, READ, Some(Recipe::Read { config, ids }));
        }
        Recipe::Mix { parts, endpoints } => run_mix(world, parts, endpoints).await?,
    }
    Ok(())
}

/// The creations of the last load made again against a fresh server at `addr`, with nothing
/// remembered: a timing check's measurement taken again elsewhere (`snapshots.rs`).
pub async fn last_creations_against(
    world: &mut LithairWorld,
    addr: SocketAddr,
) -> anyhow::Result<LoadReport> {
    let Recipe::Create { config, bytes } = last_recipe(world)? else {
        bail!("the last load was not creations: it cannot be made again on a fresh server")
    };
    loadgen::run(addr, &config, Arc::new(CreateArticles::new(bytes))).await
}

fn last_recipe(world: &mut LithairWorld) -> anyhow::Result<Recipe> {
    let last = world.perf.loads.len().checked_sub(1).context("no load has run in this scenario")?;
    match &world.part::<LastRecipe>().0 {
        Some((recorded, recipe)) if *recorded == last => Ok(recipe.clone()),
        _ => bail!("the last load changed what it touched: it cannot be measured again"),
    }
}

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

/// [`create_with_load`], recorded with its recipe.
async fn create_and_record(
    world: &mut LithairWorld,
    config: LoadConfig,
    bytes: usize,
    endpoint: &str,
) -> anyhow::Result<()> {
    let report = create_with_load(world, config.clone(), bytes).await?;
    record(world, report, endpoint, Some(Recipe::Create { config, bytes }));
    Ok(())
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
    create_and_record(world, config, ARTICLE_BYTES, CREATE).await?;
    let report = world.perf.last_load()?;
    ensure!(
        report.errors() == 0,
        "{} creations failed, e.g. {:?}",
        report.errors(),
        report.error_samples
    );
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
    create_and_record(world, config, bytes, &format!("{CREATE}, {bytes} B each")).await?;
    let errors = world.perf.last_load()?.errors();
    ensure!(errors == 0, "{errors} creations failed");
    Ok(())
}

pub async fn clients_create(
    world: &mut LithairWorld,
    clients: usize,
    count: u64,
) -> anyhow::Result<()> {
    let config = LoadConfig::closed_requests(clients, count).with_label("create");
    create_and_record(world, config, ARTICLE_BYTES, CREATE).await
}

pub async fn clients_create_for(
    world: &mut LithairWorld,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let config = LoadConfig::closed_duration(clients, Duration::from_secs(seconds))
        .with_warmup(WARMUP)
        .with_label("create for a while");
    create_and_record(world, config, ARTICLE_BYTES, CREATE).await
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
    let report = run(world, config.clone(), Arc::new(ReadArticles::new(ids.clone()))).await?;
    record(world, report, READ, Some(Recipe::Read { config, ids }));
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
    record(world, report, MODIFY, None);
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
    record(world, report, DELETE, None);
    Ok(())
}

pub async fn steady_creation(
    world: &mut LithairWorld,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    let config =
        LoadConfig::open(20, rate as f64, Duration::from_secs(seconds)).with_label("steady create");
    create_and_record(world, config, ARTICLE_BYTES, CREATE).await
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
        create_and_record(world, config, ARTICLE_BYTES, CREATE).await?;
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
    create_and_record(world, config, kilobytes * 1024, &format!("{CREATE}, {kilobytes} KB each"))
        .await
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
    let mut parts = Vec::new();
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
        let (part, endpoint) = match kind.to_lowercase().as_str() {
            "read" => (Part::Read(world.expected.articles.keys().copied().collect()), READ),
            "write" => (Part::Write, CREATE),
            other => bail!("unknown traffic type {other:?}: Read or Write"),
        };
        mix.push(format!("{share}% {endpoint}"));
        parts.push((config, part));
    }
    ensure!(
        (total_share - 100.0).abs() < 0.01,
        "the percentages add up to {total_share}%, not 100%"
    );
    run_mix(world, parts, mix.join(", ")).await
}

/// Run the parts of a traffic mix at once, each with its own clients; recorded as one load.
async fn run_mix(
    world: &mut LithairWorld,
    parts: Vec<(LoadConfig, Part)>,
    endpoints: String,
) -> anyhow::Result<()> {
    let writes = Arc::new(CreateArticles::new(ARTICLE_BYTES));
    let loads: Vec<(LoadConfig, Arc<dyn Workload>)> = parts
        .iter()
        .map(|(config, part)| {
            let workload: Arc<dyn Workload> = match part {
                Part::Read(ids) => Arc::new(ReadArticles::new(ids.clone())),
                Part::Write => writes.clone(),
            };
            (config.clone(), workload)
        })
        .collect();
    let reports = loadgen::run_many(world.server.running()?.addr(), &loads).await?;
    writes.acknowledged_articles().into_iter().for_each(|a| world.expected.remember_created(a));
    for report in &reports {
        println!("    load: {}", report.summary_line());
    }
    let merged = LoadReport::merge("mixed traffic", &reports)?;
    record(world, merged, &endpoints.clone(), Some(Recipe::Mix { parts, endpoints }));
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

/// One request right after the load: the server is not left busy by it. Measured again, right
/// after the same load made again, when it misses the limit (`retake.rs`).
pub async fn probe_within(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let limit = Duration::from_millis(ms);
    let first = probe(world).await?;
    let retake = async |world: &mut LithairWorld| {
        retake_last_load(world).await?;
        probe(world).await
    };
    retake::until_within(world, "the request right after", first, retake, |took| took.0 < limit)
        .await
        .map(drop)
}

/// How long a read of the newest article took.
async fn probe(world: &mut LithairWorld) -> anyhow::Result<Took> {
    let id = *world.expected.articles.keys().next_back().context("no article to read")?;
    let started = Instant::now();
    http::expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
    Ok(Took(started.elapsed()))
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

/// Each article the scenario knows, read one by one: the slowest read is below `ms`. The
/// slowest of thousands is the one a busy machine spoils: all are read again when it misses
/// (`retake.rs`).
pub async fn reads_stay_fast(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    ensure!(!world.expected.articles.is_empty(), "no article to read");
    let limit = Duration::from_millis(ms);
    let first = slowest_read(world).await?;
    retake::until_within(world, "the slowest read", first, slowest_read, |took| took.0 < limit)
        .await
        .map(drop)
}

async fn slowest_read(world: &mut LithairWorld) -> anyhow::Result<Took> {
    let mut slowest = Duration::ZERO;
    for id in world.expected.articles.keys() {
        let started = Instant::now();
        http::expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
        slowest = slowest.max(started.elapsed());
    }
    Ok(Took(slowest))
}
