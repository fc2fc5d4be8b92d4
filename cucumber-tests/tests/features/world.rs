//! One scenario's world: its own directory, the server it drives, and what it has seen.
//!
//! The world is grouped by what each part is for, so a step touches only the part it needs:
//!
//! - [`Server`]: the server under test — its files, how it is started, the running process;
//! - [`Expected`]: what the server must hold, built from what the scenario *sent* and the ids
//!   the server assigned (never from what the server answered);
//! - [`Perf`]: load reports and measurements, moved into `perf.json` when the scenario ends;
//! - [`Crashes`]: bookkeeping around crashes, refusals and deliberate damage to the log;
//! - [`Answers`]: the last answers kept for the Then steps that judge them.
//!
//! Each scenario gets a fresh temporary directory holding the server's data and its log, so
//! scenarios never share state and can run concurrently. When the scenario ends, the after
//! hook (`main.rs`) calls [`LithairWorld::finish`]: the server is stopped, and the directory is
//! deleted if the scenario passed, or kept and its path printed with the end of the server log
//! if it failed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::ExitStatus,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cucumber_tests::{
    loadgen::LoadReport,
    model::{Article, Comment},
    process::{self, ServerProcess, ServerSpec},
    raftlog::RaftLog,
};
use serde_json::{Value, json};

use crate::{explain::Explain, http::Reply};

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct LithairWorld {
    pub server: Server,
    pub http: reqwest::Client,
    pub expected: Expected,
    pub perf: Perf,
    pub crashes: Crashes,
    pub answers: Answers,
}

/// The server under test: where its files are, how the next start looks, and the process.
#[derive(Debug)]
pub struct Server {
    /// `None` once the scenario is finished (deleted, or kept for inspection).
    scenario_dir: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    /// The server's stderr, appended across restarts.
    pub log_file: PathBuf,
    /// `--durability` for the next start; `None` leaves the server's default.
    pub durability: Option<String>,
    /// Further arguments for the next start (snapshots, …).
    pub args: Vec<String>,
    pub process: Option<ServerProcess>,
    /// Wall-clock time of the last start, from spawn to healthy.
    pub last_start: Option<Duration>,
    /// Set when the server runs on a disk that can lose power: every start loads the
    /// `powercut` interposer, which journals what the disk would hold (docs/powercut.md).
    pub powercut: Option<powercut::PowerCut>,
}

/// What the server must hold, as the scenario's own requests say.
#[derive(Debug, Default)]
pub struct Expected {
    /// Live articles as the scenario last sent them and had them acknowledged, by id.
    pub articles: BTreeMap<u64, Article>,
    /// Every article id the server acknowledged creating, in the order the answers came.
    pub created_ids: Vec<u64>,
    pub deleted_ids: Vec<u64>,
    pub last_user_id: Option<u64>,
    /// The last comment acknowledged, as sent, with the id the server assigned.
    pub last_comment: Option<Comment>,
}

/// Load reports and measurements of this scenario.
#[derive(Debug, Default)]
pub struct Perf {
    /// Reports of the load steps, in order, for the Then steps that judge them.
    pub loads: Vec<LoadReport>,
    /// Entries for `target/cucumber/perf.json`, in order; the after hook collects them.
    pub entries: Vec<Value>,
    /// Median start-up times (ms) with and without snapshots.
    pub restart_comparison: Option<(f64, f64)>,
}

/// Crashes, refusals and damage done to the log on purpose.
#[derive(Debug, Default)]
pub struct Crashes {
    /// Most writes that can have been in flight, unacknowledged, across the crashes so far.
    pub in_flight: usize,
    /// How a server that refused to start exited, and what it logged.
    pub refusal: Option<(ExitStatus, String)>,
    /// A copy of the log taken before damaging it, or before a step that must not write.
    pub saved_log: Option<Vec<u8>>,
    /// Where the log was damaged: byte offset of the record, and the sequence number before it.
    pub damaged_at: Option<(u64, u64)>,
    /// Every power cut of the scenario, in order, with what it cost.
    pub power_cuts: Vec<PowerCutOutcome>,
    /// Status of each attempted write, in order, when refusals are expected (a failing disk).
    pub attempts: Vec<u16>,
}

/// One power cut: what was acknowledged before it and what the restarted server still had.
#[derive(Debug, Default, Clone)]
pub struct PowerCutOutcome {
    /// Acknowledged articles the server should hold at the moment of the cut.
    pub acknowledged: usize,
    /// Of those, the ids the restarted server no longer has (checked when the cut step
    /// restarts the server itself).
    pub lost: Vec<u64>,
    /// Ids the restarted server still serves: to check that only the newest writes were lost.
    pub kept_max: Option<u64>,
    /// What the harness's reader said about the log after the restart, if it was not valid.
    pub log_error: Option<String>,
    /// The snapshots the disk durably held after the cut, and the one the restart loaded.
    pub durable_snapshots: Vec<u64>,
    pub loaded_snapshot: Option<u64>,
}

/// Answers kept for the Then steps.
#[derive(Debug, Default)]
pub struct Answers {
    pub last_reply: Option<Reply>,
    /// Answers (status, body) read off a raw connection, in order.
    pub raw: Vec<(u16, String)>,
    /// One per row of the bad-requests table.
    pub bad: Vec<BadAnswer>,
}

/// The answer to one row of the bad-requests table, beside what the row expected.
#[derive(Debug, Clone)]
pub struct BadAnswer {
    pub case: String,
    /// (status, error code)
    pub expected: (String, String),
    pub status: u16,
    pub body: String,
}

impl LithairWorld {
    fn new() -> anyhow::Result<Self> {
        Ok(LithairWorld {
            server: Server::new()?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Below the server's idle timeout, so a pooled connection is never reused just
                // as the server closes it.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()?,
            expected: Expected::default(),
            perf: Perf::default(),
            crashes: Crashes::default(),
            answers: Answers::default(),
        })
    }

    /// Keep a load step's report for the Then steps, and for perf.json.
    pub fn record_load(&mut self, report: LoadReport) {
        println!("    load: {}", report.summary_line());
        let mut entry = report.to_json();
        entry["scenario_dir"] = json!(self.server.dir().display().to_string());
        self.perf.entries.push(entry);
        self.perf.loads.push(report);
    }

    /// End of scenario: stop the server, then delete the directory or keep it for a look.
    pub async fn finish(&mut self, passed: bool) {
        self.server.finish(passed).await;
    }
}

impl Expected {
    /// An article the server acknowledged creating: as the client sent it, under the id the
    /// server assigned.
    pub fn remember_created(&mut self, article: Article) {
        self.created_ids.push(article.id);
        self.articles.insert(article.id, article);
    }

    /// An article the server acknowledged replacing, as the client sent it.
    pub fn remember_updated(&mut self, article: Article) {
        self.articles.insert(article.id, article);
    }

    /// An article the server acknowledged deleting.
    pub fn remember_deleted(&mut self, id: u64) {
        self.articles.remove(&id);
        self.deleted_ids.push(id);
    }
}

impl Server {
    fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("lithair-scenario-").tempdir()?;
        let log_file = dir.path().join("server.log");
        process::create_log(&log_file)?;
        Ok(Server {
            data_dir: dir.path().join("data"),
            log_file,
            scenario_dir: Some(dir),
            durability: None,
            args: Vec::new(),
            process: None,
            last_start: None,
            powercut: None,
        })
    }

    /// The scenario's own directory.
    pub fn dir(&self) -> &Path {
        self.scenario_dir.as_ref().expect("the scenario is running").path()
    }

    /// Put the data somewhere else inside the scenario's directory (the legacy steps name a
    /// path); it must stay inside, so scenarios can never touch each other's data.
    pub fn use_data_path(&mut self, relative: &str) -> anyhow::Result<()> {
        let path = Path::new(relative);
        let escapes = path.is_absolute()
            || path.components().any(|c| !matches!(c, std::path::Component::Normal(_)));
        if escapes || relative.is_empty() {
            bail!("the data path {relative:?} must be a relative path inside the scenario");
        }
        self.data_dir = self.dir().join(path);
        Ok(())
    }

    pub fn spec(&self) -> ServerSpec {
        let mut args = Vec::new();
        if let Some(durability) = &self.durability {
            args.extend(["--durability".to_string(), durability.clone()]);
        }
        args.extend(self.args.iter().cloned());
        let env = self.powercut.iter().flat_map(|cut| cut.env()).map(|(k, v)| (k.into(), v));
        ServerSpec {
            data_dir: self.data_dir.clone(),
            log_file: self.log_file.clone(),
            args,
            env: env.collect(),
        }
    }

    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.process.is_some() {
            bail!("a server is already running in this scenario");
        }
        let started = Instant::now();
        let process = ServerProcess::start(&self.spec()).await?;
        self.last_start = Some(started.elapsed());
        self.process = Some(process);
        Ok(())
    }

    pub fn running(&self) -> anyhow::Result<&ServerProcess> {
        self.process.as_ref().context("no server is running in this scenario")
    }

    /// The running server, handed over to be stopped or killed.
    pub fn take(&mut self) -> anyhow::Result<ServerProcess> {
        self.process.take().context("no server is running in this scenario")
    }

    pub fn url(&self, path: &str) -> anyhow::Result<String> {
        Ok(self.running()?.url(path))
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("events.raftlog")
    }

    /// Read and check the log with the harness's own reader (never the engine's).
    pub async fn raftlog(&self) -> anyhow::Result<RaftLog> {
        let path = self.log_path();
        tokio::task::spawn_blocking(move || RaftLog::read(&path))
            .await?
            .explain(format!("cannot read {}", self.log_path().display()))
    }

    /// What the server logged so far, across restarts.
    pub fn log(&self) -> String {
        process::read_log(&self.log_file)
    }

    async fn finish(&mut self, passed: bool) {
        if let Some(process) = self.process.take()
            && let Err(err) = process.stop().await
        {
            eprintln!("harness: the server did not stop cleanly: {err:#}");
        }
        let Some(dir) = self.scenario_dir.take() else { return };
        if passed {
            return; // dropping the TempDir deletes it
        }
        let kept = dir.keep();
        eprintln!(
            "harness: scenario failed; its files are kept in {}\n--- last 40 lines of {} ---\n{}\n---",
            kept.display(),
            self.log_file.display(),
            process::log_tail(&self.log_file, 40)
        );
    }
}
