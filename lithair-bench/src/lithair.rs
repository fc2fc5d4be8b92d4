//! Lithair's own figures, one server per durability mode, each fresh on its own data dir:
//!
//! - `GET /health` then `POST /api/articles` with wrk at the run's concurrency: the write's
//!   rate against the HTTP stack's own ceiling on the same server, just before (`/health`
//!   touches almost nothing);
//! - the same POSTs with the harness's load generator, to see how far it is from wrk;
//! - on the fsync server also `GET /api/articles/{id}` (and again taking turns with `/health`),
//!   the latency at 1 connection (`/health` and POST) and at 100 connections (POST and GET: where
//!   writes once stalled for ~100 ms, docs/performance.md);
//! - on the flush server, POST at 100 connections;
//! - then a flush and an async server side by side, taking turns, for `async ÷ flush`.
//!
//! Answers are checked for their status only (wrk fails on any non-2xx, loadgen counts
//! errors), since the client shares the CPUs with the server; the features check the bodies.

use std::{path::Path, sync::Arc, time::Duration};

use cucumber_tests::{
    process::{ServerProcess, ServerSpec},
    workloads::{CreateArticles, Health, ReadArticles},
};
use loadgen::{LoadConfig, LoadReport, Workload};

use crate::{figures::Figures, options::Options, wrk::Wrk};

/// The concurrency at which writes were seen to stall for ~100 ms (docs/performance.md).
pub const STALL_CONNECTIONS: usize = 100;

pub const MODES: [&str; 3] = ["fsync", "flush", "async"];

/// What wrk sends: a path, or a Lua script that builds each request.
pub enum Request {
    Health,
    CreateArticle,
    /// A random id below `ids`: the server numbers articles from 0.
    ReadArticle {
        ids: u64,
    },
}

impl Request {
    pub fn path(&self) -> &'static str {
        match self {
            Request::Health => "/health",
            Request::CreateArticle => "/api/articles",
            Request::ReadArticle { .. } => "/",
        }
    }

    pub fn script(&self) -> Option<String> {
        match self {
            Request::Health => None,
            // Same shape as CreateArticles' bodies: a numbered title and 200 bytes of content.
            Request::CreateArticle => Some(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
                 counter = 0\nrequest = function()\n  counter = counter + 1\n  \
                 return wrk.format(nil, nil, nil, '{\"title\":\"wrk article ' .. counter .. '\",\"content\":\"' .. string.rep('x', 200) .. '\"}')\nend\n"
                    .to_string(),
            ),
            Request::ReadArticle { ids } => Some(format!(
                "request = function()\n  return wrk.format(\"GET\", \"/api/articles/\" .. math.random(0, {}))\nend\n",
                ids - 1
            )),
        }
    }
}

/// Measures every mode; wrk's figures only if `use_wrk`.
pub async fn measure(
    work: &Path,
    options: &Options,
    use_wrk: bool,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    for mode in MODES {
        let server = start(work, mode, mode).await?;
        let bench = ServerBench { server: &server, options, use_wrk, mode };
        bench.wrk(
            figures,
            "health",
            &Request::Health,
            Wrk::new(options.connections, options.seconds),
        )?;
        // fsync's POSTs at full concurrency run for the tail's length: their p99 is the one
        // the benchmark compares with Redis, and a rate over 10 s is as good as over 5.
        let post_seconds = if mode == "fsync" { options.tail_seconds } else { options.seconds };
        let post = Wrk::new(options.connections, post_seconds);
        bench.wrk(figures, "post", &Request::CreateArticle, post)?;
        let creates = Arc::new(CreateArticles::new(200));
        bench.loadgen(figures, "post.loadgen", creates.clone()).await?;
        if mode == "fsync" {
            bench.loadgen(figures, "health.loadgen", Arc::new(Health)).await?;
            let ids: Vec<u64> = creates.acknowledged().into_iter().map(|(id, _)| id).collect();
            anyhow::ensure!(!ids.is_empty(), "no article was created: nothing to read");
            let read = Request::ReadArticle { ids: ids.len() as u64 };
            bench.wrk(figures, "get", &read, Wrk::new(options.connections, options.seconds))?;
            if use_wrk {
                let turns = [(&server, &read), (&server, &Request::Health)];
                let [get, health] = take_turns(turns, options.connections)?;
                println!("  fsync get / health, taking turns: {get:.0} / {health:.0} req/s");
                figures.set("turns.get.rps", get);
                figures.set("turns.health.rps", health);
            }
            bench.loadgen(figures, "get.loadgen", Arc::new(ReadArticles::status_only(ids))).await?;
            let single = Wrk::new(1, options.seconds);
            bench.wrk(figures, "health.1conn", &Request::Health, single)?;
            bench.wrk(figures, "post.1conn", &Request::CreateArticle, single)?;
            let crowd = Wrk::new(STALL_CONNECTIONS, options.seconds);
            bench.wrk(figures, "post.100conn", &Request::CreateArticle, crowd)?;
            bench.wrk(figures, "get.100conn", &read, crowd)?;
        }
        if mode == "flush" {
            let crowd = Wrk::new(STALL_CONNECTIONS, options.seconds);
            bench.wrk(figures, "post.100conn", &Request::CreateArticle, crowd)?;
        }
        server.stop().await?;
    }
    if use_wrk {
        async_against_flush(work, options, figures).await?;
    }
    Ok(())
}

/// Only what the cluster's figures are divided by (`--only-cluster`): the fsync server's POSTs
/// at the run's concurrency, for as long as in [`measure`].
pub async fn measure_fsync_post(
    work: &Path,
    options: &Options,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let server = start(work, "fsync", "fsync").await?;
    let bench = ServerBench { server: &server, options, use_wrk: true, mode: "fsync" };
    let post = Wrk::new(options.connections, options.tail_seconds);
    bench.wrk(figures, "post", &Request::CreateArticle, post)?;
    server.stop().await?;
    Ok(())
}

/// `async` against `flush` POSTs: two servers, so both run at once and take turns.
async fn async_against_flush(
    work: &Path,
    options: &Options,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let flush = start(work, "turns-flush", "flush").await?;
    let asynk = start(work, "turns-async", "async").await?;
    let create = Request::CreateArticle;
    let rates = take_turns([(&flush, &create), (&asynk, &create)], options.connections)?;
    for (mode, rate) in ["flush", "async"].into_iter().zip(rates) {
        println!("  {mode} post, taking turns: {rate:.0} req/s");
        figures.set(format!("turns.{mode}.post.rps"), rate);
    }
    flush.stop().await?;
    asynk.stop().await?;
    Ok(())
}

/// For the goals that compare two loads: measured minutes apart, their ratio is decided by the
/// drift of a shared machine, which moves a 5 s figure by ±15% from one minute to the next. So
/// the two take 2 s turns with wrk, in the order a, b, b, a, a, b, and each gets its mean rate.
fn take_turns(
    loads: [(&ServerProcess, &Request); 2],
    connections: usize,
) -> anyhow::Result<[f64; 2]> {
    let turn = Wrk::new(connections, 2);
    let mut sums = [0.0; 2];
    for index in [0, 1, 1, 0, 0, 1] {
        let (server, request) = loads[index];
        let url = server.url(request.path());
        sums[index] += turn.run(&url, request.script().as_deref())?.requests_per_sec;
    }
    Ok(sums.map(|sum| sum / 3.0))
}

/// A fresh server in `mode`, named `label` (its data dir and log under `work`).
pub async fn start(work: &Path, label: &str, mode: &str) -> anyhow::Result<ServerProcess> {
    let spec = ServerSpec {
        bind: None,
        data_dir: work.join(label),
        log_file: work.join(format!("{label}.log")),
        args: ["--durability", mode, "--log-level", "warn"].map(String::from).to_vec(),
        env: Vec::new(),
    };
    Ok(ServerProcess::start(&spec).await?)
}

struct ServerBench<'a> {
    server: &'a ServerProcess,
    options: &'a Options,
    use_wrk: bool,
    mode: &'a str,
}

impl ServerBench<'_> {
    fn wrk(
        &self,
        figures: &mut Figures,
        name: &str,
        request: &Request,
        wrk: Wrk,
    ) -> anyhow::Result<()> {
        if !self.use_wrk {
            return Ok(());
        }
        let result = wrk.run(&self.server.url(request.path()), request.script().as_deref())?;
        println!("  {} {name} (wrk -c{}): {}", self.mode, wrk.connections, result.summary());
        result.record(figures, &format!("{}.{name}", self.mode));
        Ok(())
    }

    async fn loadgen(
        &self,
        figures: &mut Figures,
        name: &str,
        workload: Arc<dyn Workload>,
    ) -> anyhow::Result<()> {
        let label = format!("{}.{name}", self.mode);
        let config = LoadConfig::closed_duration(
            self.options.connections,
            Duration::from_secs(self.options.seconds),
        )
        .with_warmup(Duration::from_secs(1))
        .with_label(&label);
        let report = loadgen::run(self.server.addr(), &config, workload).await?;
        println!("  {}", report.summary_line());
        record_loadgen(figures, &label, &report);
        Ok(())
    }
}

fn record_loadgen(figures: &mut Figures, prefix: &str, report: &LoadReport) {
    figures.set_latency(
        prefix,
        report.throughput(),
        report.percentile_ms(50.0),
        report.percentile_ms(99.0),
    );
    figures.set(format!("{prefix}.max_ms"), report.max_ms());
    figures.set(format!("{prefix}.errors"), report.errors() as f64);
    figures.detail(prefix, report.to_json());
}
