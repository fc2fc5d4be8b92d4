//! One scenario's world: its own directory, the server it drives, and what it has seen.
//!
//! Each scenario gets a fresh temporary directory holding the server's data and its log, so
//! scenarios never share state and can run concurrently. When the scenario ends, the after
//! hook (`main.rs`) calls [`LithairWorld::finish`]: the server is stopped, and the directory is
//! deleted if the scenario passed, or kept and its path printed with the end of the server log
//! if it failed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use cucumber_tests::{
    loadgen::LoadReport,
    process::{self, ServerProcess, ServerSpec},
    raftlog::RaftLog,
};
use serde_json::Value;

use crate::{explain::Explain, http::Reply};

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct LithairWorld {
    /// `None` once the scenario is finished (deleted, or kept for inspection).
    scenario_dir: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
    /// `--durability` for the next start; `None` leaves the server's default.
    pub durability: Option<String>,
    /// Further arguments for the next start (snapshots, …).
    pub server_args: Vec<String>,
    pub server: Option<ServerProcess>,
    pub http: reqwest::Client,
    /// Articles as this scenario last saw them acknowledged, by id; deleted ones are removed.
    pub articles: BTreeMap<u64, Value>,
    /// Every article id the server acknowledged creating, in the order the answers came.
    pub created_ids: Vec<u64>,
    pub deleted_ids: Vec<u64>,
    pub last_user_id: Option<u64>,
    pub last_comment: Option<Value>,
    pub last_reply: Option<Reply>,
    /// A copy of the log taken before damaging it, or before a step that must not write.
    pub saved_log: Option<Vec<u8>>,
    /// Where the log was damaged: byte offset of the record, and the sequence number before it.
    pub damaged_at: Option<(u64, u64)>,
    /// Answers (status, body) read off a raw connection, in order.
    pub pipelined: Vec<(u16, String)>,
    pub bad_answers: Vec<crate::steps::BadAnswer>,
    /// How a server that refused to start exited, and what it logged.
    pub refusal: Option<(std::process::ExitStatus, String)>,
    /// Median start-up times (ms) with and without snapshots.
    pub restart_comparison: Option<(f64, f64)>,
    /// Most writes that can have been in flight, unacknowledged, across the crashes so far.
    pub in_flight_at_crashes: usize,
    /// Reports of the load steps, in order.
    pub loads: Vec<LoadReport>,
    /// Wall-clock time of the last start, from spawn to healthy.
    pub last_start: Option<Duration>,
}

impl LithairWorld {
    fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("lithair-scenario-").tempdir()?;
        let log_file = dir.path().join("server.log");
        process::create_log(&log_file)?;
        Ok(LithairWorld {
            data_dir: dir.path().join("data"),
            log_file,
            scenario_dir: Some(dir),
            durability: None,
            server_args: Vec::new(),
            server: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                // Below the server's idle timeout, so a pooled connection is never reused just
                // as the server closes it.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()?,
            articles: BTreeMap::new(),
            created_ids: Vec::new(),
            deleted_ids: Vec::new(),
            last_user_id: None,
            last_comment: None,
            last_reply: None,
            saved_log: None,
            damaged_at: None,
            pipelined: Vec::new(),
            bad_answers: Vec::new(),
            refusal: None,
            restart_comparison: None,
            in_flight_at_crashes: 0,
            loads: Vec::new(),
            last_start: None,
        })
    }

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
        args.extend(self.server_args.iter().cloned());
        ServerSpec { data_dir: self.data_dir.clone(), log_file: self.log_file.clone(), args }
    }

    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        if self.server.is_some() {
            bail!("a server is already running in this scenario");
        }
        let started = std::time::Instant::now();
        let server = ServerProcess::start(&self.spec()).await?;
        self.last_start = Some(started.elapsed());
        self.server = Some(server);
        Ok(())
    }

    pub fn server(&self) -> anyhow::Result<&ServerProcess> {
        self.server.as_ref().context("no server is running in this scenario")
    }

    pub fn url(&self, path: &str) -> anyhow::Result<String> {
        Ok(self.server()?.url(path))
    }

    pub fn take_server(&mut self) -> anyhow::Result<ServerProcess> {
        self.server.take().context("no server is running in this scenario")
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

    pub fn server_log(&self) -> String {
        process::read_log(&self.log_file)
    }

    /// End of scenario: stop the server, then delete the directory or keep it for a look.
    pub async fn finish(&mut self, passed: bool) {
        if let Some(server) = self.server.take()
            && let Err(err) = server.stop().await
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
