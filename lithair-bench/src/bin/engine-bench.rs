//! Engine benchmark: commits per second with 64 concurrent committers in each durability mode,
//! and replay speed of a 1,000,000-event log.
//!
//! ```text
//! cargo run --release -p lithair-bench --bin engine-bench [-- --events 1000000 --committers 64]
//! ```
//!
//! Not a test: it prints numbers (and the targets from the engine's issue) and never fails.
//! Events look like the server's `ArticleCreated`, about 200 bytes per record.

#![forbid(unsafe_code)]

use std::{
    sync::Arc,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use lithair_core::{Durability, EngineConfig, Event, StateEngine};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum BenchEvent {
    ArticleCreated {
        id: u64,
        title: Arc<str>,
        content: Arc<str>,
        author_id: Option<u64>,
        checksum: String,
    },
}

/// Shaped like the server's store: articles indexed by their dense ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Articles {
    by_id: Vec<Option<(Arc<str>, Arc<str>)>>,
}

impl Event for BenchEvent {
    type State = Articles;
    fn event_type(&self) -> &'static str {
        "ArticleCreated"
    }
    fn apply(&self, state: &mut Articles) {
        let BenchEvent::ArticleCreated { id, title, content, .. } = self;
        let index = *id as usize;
        if state.by_id.len() <= index {
            state.by_id.resize(index + 1, None);
        }
        state.by_id[index] = Some((Arc::clone(title), Arc::clone(content)));
    }
}

type Engine = StateEngine<BenchEvent>;

fn article(id: u64) -> BenchEvent {
    let title = format!("Benchmark article number {id}");
    let content = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."
        .to_string();
    let checksum = cucumber_tests::model::article_checksum(&title, &content);
    BenchEvent::ArticleCreated {
        id,
        title: title.into(),
        content: content.into(),
        author_id: Some(id % 100),
        checksum,
    }
}

struct Options {
    replay_events: u64,
    committers: u64,
    duration: Duration,
    commits: bool,
    replay: bool,
    modes: Vec<Durability>,
}

fn options() -> Options {
    let mut options = Options {
        replay_events: 1_000_000,
        committers: 64,
        duration: Duration::from_secs(3),
        commits: true,
        replay: true,
        modes: Durability::ALL.to_vec(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--events" => options.replay_events = value.parse().expect("--events N"),
            "--committers" => options.committers = value.parse().expect("--committers N"),
            "--seconds" => {
                options.duration = Duration::from_secs_f64(value.parse().expect("--seconds S"))
            }
            "--mode" => options.modes = vec![value.parse().expect("--mode fsync|flush|async")],
            "--only" => (options.commits, options.replay) = (value == "commits", value == "replay"),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// `committers` tasks commit as fast as they can for `duration`; returns commits/s and stats.
async fn commit_rate(engine: &Engine, committers: u64, duration: Duration) -> f64 {
    let started = Instant::now();
    let next_id = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..committers)
        .map(|_| {
            let engine = engine.clone();
            let next_id = Arc::clone(&next_id);
            tokio::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < duration {
                    engine
                        .commit(article(next_id.fetch_add(1, Ordering::Relaxed)))
                        .await
                        .expect("commit");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if options.commits {
        measure_commits(&runtime, &options);
    }
    if options.replay {
        measure_replay(&runtime, &options);
    }
}

fn measure_commits(runtime: &tokio::runtime::Runtime, options: &Options) {
    let targets =
        [(Durability::Fsync, 50_000.0), (Durability::Flush, 0.0), (Durability::Async, 500_000.0)];
    println!(
        "commits/s with {} concurrent committers, {:?} per mode",
        options.committers, options.duration
    );
    for (mode, target) in targets.into_iter().filter(|(mode, _)| options.modes.contains(mode)) {
        let dir = tempfile::tempdir().unwrap();
        let engine: Engine =
            StateEngine::open(EngineConfig::new(dir.path()).durability(mode)).unwrap();
        let rate = runtime.block_on(commit_rate(&engine, options.committers, options.duration));
        runtime.block_on(engine.close()).unwrap();
        let stats = engine.stats();
        let per_group = stats.events as f64 / stats.groups.max(1) as f64;
        let verdict = if target > 0.0 {
            format!("target {target:>9.0}  {}", pass(rate >= target))
        } else {
            String::new()
        };
        println!(
            "  {mode:<5}  {rate:>10.0} commits/s  {:>8} events  {:>7} syncs  {per_group:>5.1} events/group  {verdict}",
            stats.events, stats.syncs
        );
    }
}

/// Write a log of `replay_events` events (untimed), then time opening it.
fn measure_replay(runtime: &tokio::runtime::Runtime, options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let engine: Engine =
        StateEngine::open(EngineConfig::new(dir.path()).durability(Durability::Async)).unwrap();
    runtime.block_on(async {
        let per_task = options.replay_events.div_ceil(options.committers);
        let tasks: Vec<_> = (0..options.committers)
            .map(|task| {
                let engine = engine.clone();
                let ids = task * per_task..((task + 1) * per_task).min(options.replay_events);
                tokio::spawn(async move {
                    for id in ids {
                        engine.commit(article(id)).await.expect("commit");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        engine.close().await.unwrap();
    });
    let log_bytes = engine.stats().log_bytes;
    drop(engine);

    // Let the kernel write the dirty pages back first, then time three restarts: the median
    // is the number reported.
    let _ = std::process::Command::new("sync").status();
    let mut runs: Vec<(f64, u64)> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let reopened: Engine = StateEngine::open(EngineConfig::new(dir.path())).unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            (elapsed, reopened.recovery().events_replayed)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (elapsed, replayed) = runs[1];
    let rate = replayed as f64 / elapsed;
    println!(
        "replay: {replayed} events ({:.0} MiB) in {elapsed:.3} s (median of 3; best {:.3} s) = {rate:.0} events/s  target 1000000  {}",
        log_bytes as f64 / (1 << 20) as f64,
        runs[0].0,
        pass(rate >= 1_000_000.0)
    );
}

fn pass(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}
