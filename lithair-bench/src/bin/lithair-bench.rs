//! Lithair's benchmark: how close does Lithair come to the limits of this machine?
//!
//! Everything is measured in the same run, on loopback, against the release server, so the
//! ratios compare like with like:
//!
//! - `POST /api/articles` in each durability mode, and `GET /api/articles/{id}`, each right
//!   after `GET /health` on the same server: the HTTP stack's own ceiling (a request that
//!   touches almost nothing), the reference the ratios are taken against;
//! - each of those again with `wrk`, if installed, to see whether the load generator is the
//!   bottleneck (loadgen / wrk);
//! - a restart on a 1,000,000-event log, with the server's own measure of its start-up.
//!
//! Run it with `scripts/bench.sh` (which builds the release binaries first). It prints a table
//! and writes `target/bench/results.json`. Not part of `cargo test`: it never fails on a
//! missed target, it reports it. Answers are checked for their status only, since the client
//! shares the CPUs with the server; the features check the bodies.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, bail};
use cucumber_tests::{
    binary,
    model::ArticleInput,
    process::{ServerProcess, ServerSpec},
    raftlog::encode,
    workloads::{CreateArticles, Health, ReadArticles},
};
use loadgen::{LoadConfig, LoadReport, Workload};
use serde_json::{Value, json};

struct Options {
    seconds: u64,
    connections: usize,
    restart_events: u64,
    wrk: bool,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options =
            Options { seconds: 5, connections: 100, restart_events: 1_000_000, wrk: true };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--seconds" => options.seconds = value()?.parse()?,
                "--connections" => options.connections = value()?.parse()?,
                "--restart-events" => options.restart_events = value()?.parse()?,
                "--no-wrk" => options.wrk = false,
                "--help" | "-h" => {
                    println!(
                        "lithair-bench [--seconds 5] [--connections 100] [--restart-events 1000000] [--no-wrk]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown option {other}; see --help"),
            }
        }
        Ok(options)
    }
}

/// One measured endpoint, with `/health` measured just before it on the same server: the
/// reference its ratio is taken against, so that both see the same machine and the same data.
struct Row {
    name: String,
    health: LoadReport,
    loadgen: LoadReport,
    wrk: Option<WrkResult>,
    /// Target ratio to the `/health` rate, if the issue sets one.
    target: Option<f64>,
}

#[derive(Debug, Clone)]
struct WrkResult {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let work = tempfile::Builder::new().prefix("lithair-bench-").tempdir()?;
    let wrk = options.wrk && Command::new("wrk").arg("--version").output().is_ok();
    println!(
        "lithair-bench: {} s per measurement after 1 s of warm-up, {} connections, wrk {}",
        options.seconds,
        options.connections,
        if wrk { "found" } else { "not used" }
    );

    let mut rows = Vec::new();
    let mut article_ids = Vec::new();
    for mode in ["fsync", "flush", "async"] {
        let server = start(work.path(), mode, &[]).await?;
        if mode == "fsync" {
            // Against its own reference: the ratio shows how much two runs differ here.
            let health = WrkRequest::Get("/health".into());
            rows.push(
                measure(&server, &options, wrk, "GET /health", Arc::new(Health), None, health)
                    .await?,
            );
        }
        let creates = Arc::new(CreateArticles::new(200));
        let target = match mode {
            "fsync" => Some(0.6),
            "flush" => Some(0.8),
            _ => None,
        };
        let name = format!("POST /api/articles ({mode})");
        rows.push(
            measure(&server, &options, wrk, &name, creates.clone(), target, WrkRequest::Post)
                .await?,
        );
        if mode == "fsync" {
            article_ids = creates.acknowledged().into_iter().map(|(id, _)| id).collect();
            let reads = Arc::new(ReadArticles::status_only(article_ids.clone()));
            let wrk_reads = WrkRequest::RandomGet { ids: article_ids.len() as u64 };
            rows.push(
                measure(
                    &server,
                    &options,
                    wrk,
                    "GET /api/articles/{id}",
                    reads,
                    Some(0.9),
                    wrk_reads,
                )
                .await?,
            );
        }
        server.stop().await?;
    }
    let restart = measure_restart(work.path(), options.restart_events).await?;

    print_table(&rows, &restart);
    let results = json!({
        "machine": machine(),
        "seconds": options.seconds,
        "connections": options.connections,
        "articles_read": article_ids.len(),
        "endpoints": rows.iter().map(row_json).collect::<Vec<_>>(),
        "restart": restart,
    });
    let out = binary::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    let path = out.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)?;
    println!("\nresults written to {}", path.display());
    Ok(())
}

async fn start(root: &Path, label: &str, args: &[&str]) -> anyhow::Result<ServerProcess> {
    let data_dir = root.join(label);
    let mut all = vec![
        "--durability".to_string(),
        if label.starts_with("restart") { "fsync" } else { label }.to_string(),
    ];
    all.extend(["--log-level".to_string(), "warn".to_string()]);
    all.extend(args.iter().map(|arg| arg.to_string()));
    let spec = ServerSpec {
        data_dir,
        log_file: root.join(format!("{label}.log")),
        args: all,
        env: Vec::new(),
    };
    Ok(ServerProcess::start(&spec).await?)
}

enum WrkRequest {
    Get(String),
    Post,
    RandomGet { ids: u64 },
}

async fn measure(
    server: &ServerProcess,
    options: &Options,
    wrk: bool,
    name: &str,
    workload: Arc<dyn Workload>,
    target: Option<f64>,
    wrk_request: WrkRequest,
) -> anyhow::Result<Row> {
    let config = |label: &str| {
        LoadConfig::closed_duration(options.connections, Duration::from_secs(options.seconds))
            .with_warmup(Duration::from_secs(1))
            .with_label(label)
    };
    let health =
        loadgen::run(server.addr(), &config("GET /health (reference)"), Arc::new(Health)).await?;
    println!("  {}", health.summary_line());
    let loadgen = loadgen::run(server.addr(), &config(name), workload).await?;
    println!("  {}", loadgen.summary_line());
    let wrk = if wrk { Some(run_wrk(server, options, &wrk_request)?) } else { None };
    if let Some(wrk) = &wrk {
        println!(
            "  {name} with wrk: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms",
            wrk.requests_per_sec, wrk.p50_ms, wrk.p99_ms
        );
    }
    Ok(Row { name: name.to_string(), health, loadgen, wrk, target })
}

fn run_wrk(
    server: &ServerProcess,
    options: &Options,
    request: &WrkRequest,
) -> anyhow::Result<WrkResult> {
    let script = match request {
        WrkRequest::Get(_) => None,
        WrkRequest::Post => Some(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             counter = 0\nrequest = function()\n  counter = counter + 1\n  \
             return wrk.format(nil, nil, nil, '{\"title\":\"wrk article ' .. counter .. '\",\"content\":\"' .. string.rep('x', 200) .. '\"}')\nend\n"
                .to_string(),
        ),
        WrkRequest::RandomGet { ids } => Some(format!(
            "request = function()\n  return wrk.format(\"GET\", \"/api/articles/\" .. math.random(0, {}))\nend\n",
            ids - 1
        )),
    };
    let path = match request {
        WrkRequest::Get(path) => path.clone(),
        WrkRequest::Post => "/api/articles".into(),
        WrkRequest::RandomGet { .. } => "/".into(),
    };
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{}", options.connections),
        &format!("-d{}s", options.seconds),
        "--latency",
    ]);
    let script_file = tempfile::NamedTempFile::new()?;
    if let Some(script) = script {
        std::fs::write(script_file.path(), script)?;
        command.arg("-s").arg(script_file.path());
    }
    let output = command.arg(server.url(&path)).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk got error answers:\n{text}");
    }
    let field = |label: &str| -> anyhow::Result<f64> {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .with_context(|| format!("no {label:?} in wrk's output:\n{text}"))?;
        parse_wrk_value(line.trim_start()[label.len()..].trim())
    };
    Ok(WrkResult {
        requests_per_sec: field("Requests/sec:")?,
        p50_ms: field("50%")?,
        p99_ms: field("99%")?,
    })
}

/// wrk prints `12.34k`, `1.23ms`, `456.78us`, `1.2s`.
fn parse_wrk_value(text: &str) -> anyhow::Result<f64> {
    let text = text.split_whitespace().next().unwrap_or_default();
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('k') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('M') {
        (n, 1_000_000.0)
    } else {
        (text, 1.0)
    };
    Ok(number.parse::<f64>().with_context(|| format!("not a wrk number: {text:?}"))? * scale)
}

/// Write a log of `events` ArticleCreated records (per docs/raftlog.md) and time three
/// restarts on it, by the server's own measure and from spawn to healthy.
async fn measure_restart(root: &Path, events: u64) -> anyhow::Result<Value> {
    let dir = root.join("restart");
    std::fs::create_dir_all(&dir)?;
    let bytes = write_log(&dir.join("events.raftlog"), events)?;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let server = start(root, "restart", &[]).await?;
        let wall = started.elapsed().as_secs_f64();
        let health: Value = reqwest::get(server.url("/health")).await?.json().await?;
        server.stop().await?;
        let replayed = health["startup"]["events_replayed"].as_u64().unwrap_or_default();
        if replayed != events {
            bail!("the server replayed {replayed} events, not {events}");
        }
        runs.push((health["startup"]["millis"].as_f64().unwrap_or(f64::NAN) / 1000.0, wall));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (load, wall) = runs[1];
    println!(
        "  restart on {events} events ({:.0} MiB): loaded in {load:.3} s ({:.0} events/s), healthy {wall:.3} s after spawn",
        bytes as f64 / (1 << 20) as f64,
        events as f64 / load
    );
    Ok(json!({
        "events": events,
        "log_bytes": bytes,
        "load_seconds_median": load,
        "events_per_second": events as f64 / load,
        "spawn_to_healthy_seconds": wall,
        "target_events_per_second": 1_000_000,
    }))
}

fn write_log(path: &PathBuf, events: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = 0u64;
    let start_ts = 1_795_780_800_000_000u64;
    let content = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.";
    for seq in 1..=events {
        let article = ArticleInput::new(format!("Restart article {}", seq - 1), content);
        let line = encode::record(seq, start_ts + seq, "ArticleCreated", &article.with_id(seq - 1));
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

fn print_table(rows: &[Row], restart: &Value) {
    println!(
        "\n{:<30} {:>9} {:>8} {:>8} {:>10} {:>7} {:>9} {:>9}  target",
        "endpoint", "req/s", "p50 ms", "p99 ms", "wrk req/s", "lg/wrk", "/health", "÷/health",
    );
    for row in rows {
        let (report, health) = (&row.loadgen, row.health.throughput());
        let (wrk, ratio) = match &row.wrk {
            Some(w) => (
                format!("{:.0}", w.requests_per_sec),
                format!("{:.2}", report.throughput() / w.requests_per_sec),
            ),
            None => ("-".into(), "-".into()),
        };
        let to_health = report.throughput() / health;
        let target = match row.target {
            Some(t) => format!("≥{t} {}", if to_health >= t { "ok" } else { "MISSED" }),
            None => String::new(),
        };
        println!(
            "{:<30} {:>9.0} {:>8.3} {:>8.3} {:>10} {:>7} {:>9.0} {:>9.2}  {}",
            row.name,
            report.throughput(),
            report.percentile_ms(50.0),
            report.percentile_ms(99.0),
            wrk,
            ratio,
            health,
            to_health,
            target
        );
    }
    let rate = restart["events_per_second"].as_f64().unwrap_or_default();
    println!(
        "restart: {:.0} events/s (target ≥ 1000000: {}); loadgen/wrk target ≥ 0.8",
        rate,
        if rate >= 1_000_000.0 { "ok" } else { "MISSED" }
    );
}

fn row_json(row: &Row) -> Value {
    let health = row.health.throughput();
    json!({
        "endpoint": row.name,
        "health_reference": row.health.to_json(),
        "loadgen": row.loadgen.to_json(),
        "wrk": row.wrk.as_ref().map(|w| json!({"requests_per_sec": w.requests_per_sec, "p50_ms": w.p50_ms, "p99_ms": w.p99_ms})),
        "loadgen_over_wrk": row.wrk.as_ref().map(|w| row.loadgen.throughput() / w.requests_per_sec),
        "over_health": row.loadgen.throughput() / health,
        "target_over_health": row.target,
    })
}

fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    json!({"cpus": cpus, "cpu_model": model})
}
