//! One scenario's world: its own directory, the server it drives, and what it has seen.
//!
//! The world is grouped by what each part is for, so a step touches only the part it needs:
//!
//! - [`Server`]: the server under test — its files, how it is started, the running process;
//! - [`Expected`]: what the server must hold, built from what the scenario *sent* and the ids
//!   the server assigned (never from what the server answered);
//! - [`Perf`]: load reports and measurements, moved into `perf.json` when the scenario ends,
//!   and the thresholds the Then steps held them to, for the run report;
//! - [`Crashes`]: bookkeeping around crashes, refusals and deliberate damage to the log, and
//!   each crash cycle's acknowledged / present / lost counts for the run report;
//! - [`Answers`]: the last answers kept for the Then steps that judge them.
//!
//! Each scenario gets a fresh temporary directory holding the server's data and its log, so
//! scenarios never share state and can run concurrently. When the scenario ends, the after
//! hook (`main.rs`) calls [`LithairWorld::finish`]: the server is stopped, and the directory is
//! deleted if the scenario passed, or kept and its path printed with the end of the server log
//! if it failed; what the run report says about the scenario comes back from it.

use std::{
    any::{Any, TypeId},
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    ops::Range,
    path::{Path, PathBuf},
    process::ExitStatus,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cucumber::gherkin::Step;
use cucumber_tests::{
    model::{Article, Comment, User},
    process::{self, ServerProcess, ServerSpec},
    raftlog::{GrowingLog, RaftLog},
    seed::Stream,
    workloads::CreateArticles,
};
use lithair_report::{Cycle, LoadInfo, Metric, ScenarioInfo, Threshold};
use loadgen::{LoadConfig, LoadReport};
use rawhttp::Outcome;
use serde_json::{Value, json};

use crate::{cluster_world::ClusterWorld, explain::Explain, http::Reply};

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct LithairWorld {
    pub server: Server,
    pub http: reqwest::Client,
    pub expected: Expected,
    pub perf: Perf,
    pub crashes: Crashes,
    pub answers: Answers,
    /// The cluster of a cluster scenario, its clients and their history.
    pub cluster: ClusterWorld,
    /// This scenario's random stream, from the run's seed (`cucumber_tests::seed`); set before
    /// the first step.
    pub random: Option<Stream>,
    /// What one step module alone keeps between its steps, by the module's own type
    /// ([`LithairWorld::part`]), so the structs above hold only what steps share.
    pub parts: Parts,
}

/// Per-scenario state private to one step module: one value per type, made on first use.
#[derive(Default)]
pub struct Parts(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl fmt::Debug for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parts({} kept)", self.0.len())
    }
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
    /// Every durability mode the server was started in, for the run report.
    pub modes: BTreeSet<String>,
    /// Set when the server runs on a disk that can lose power: every start loads the
    /// `powercut` interposer, which journals what the disk would hold (docs/powercut.md).
    pub powercut: Option<powercut::PowerCut>,
}

/// The mode a server started without `--durability` runs in: lithair-core's default, which
/// the step "persistence is enabled by default" checks on the running server.
const SERVER_DEFAULT_MODE: &str = "fsync";

/// Lines of the server log a failed scenario shows, on the console and in the report.
const LOG_TAIL_LINES: usize = 40;

/// What the server must hold, as the scenario's own requests say.
#[derive(Debug, Default)]
pub struct Expected {
    /// Live articles as the scenario last sent them and had them acknowledged, by id.
    pub articles: BTreeMap<u64, Article>,
    /// Every article id the server acknowledged creating, in the order the answers came.
    pub created_ids: Vec<u64>,
    pub deleted_ids: Vec<u64>,
    /// Every acknowledged update, as sent, in the order the answers came.
    pub updates: Vec<Article>,
    pub users: BTreeMap<u64, User>,
    pub last_user_id: Option<u64>,
    /// Every acknowledged comment, as sent, by the id the server assigned.
    pub comments: BTreeMap<u64, Comment>,
    /// The last comment acknowledged, as sent, with the id the server assigned.
    pub last_comment: Option<Comment>,
    /// One entry per acknowledged write, in the order the answers came: the event type and the
    /// `data` its record must carry. Its length is the client's own tally of events.
    pub events: Vec<(&'static str, Value)>,
    /// Titles of articles the server must never hold: their request was cut off before its
    /// body was complete, or the server refused it.
    pub never_applied: Vec<String>,
    /// Symbolic ids a scenario names (`art1`, `usr1`), mapped to the ids the server assigned.
    pub symbols: BTreeMap<String, u64>,
}

/// Load reports and measurements of this scenario.
#[derive(Debug, Default)]
pub struct Perf {
    /// Reports of the load steps, in order, for the Then steps that judge them.
    pub loads: Vec<LoadReport>,
    /// Entries for `target/cucumber/perf.json`, in order; the after hook collects them.
    pub entries: Vec<Value>,
    /// The fastest start-up times (ms) with and without snapshots, as the server reports them.
    pub restart_comparison: Option<(f64, f64)>,
    /// The same starts by the client's clock: spawn to the first 200 (ms, fastest of each).
    pub restart_wall: Option<(f64, f64)>,
    /// Content size of the articles the next "of these articles" step creates.
    pub article_bytes: Option<usize>,
    /// What each recorded load sent, by label, for the run report.
    pub endpoints: Vec<LoadInfo>,
    /// The limits the Then steps held the loads to, and what they measured.
    pub thresholds: Vec<Threshold>,
}

impl Perf {
    /// The report of the scenario's last load, which the Then steps about a load judge.
    pub fn last_load(&self) -> anyhow::Result<&LoadReport> {
        self.loads.last().context("no load has run in this scenario")
    }
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
    /// Crash (or power-loss) cycles so far, in order.
    pub cycles: Vec<CrashCycle>,
    /// Every power cut of the scenario, in order, with what it cost.
    pub power_cuts: Vec<PowerCutOutcome>,
    /// Status of each attempted write, in order, when refusals are expected (a failing disk).
    pub attempts: Vec<u16>,
    /// The log as checked after the last power cut: the next check parses only what follows.
    pub checked_log: GrowingLog,
}

/// One crash and the writes acknowledged since the previous one.
#[derive(Debug)]
pub struct CrashCycle {
    /// What happened to the server, as the report names it (`crash (SIGKILL)`, …).
    pub event: String,
    /// The creations acknowledged in this cycle: a range of `Expected::created_ids`.
    pub created: Range<usize>,
    /// (acknowledged, present) as last checked after a restart; `None` until a step checks.
    pub counted: Option<(u64, u64)>,
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
    /// The snapshots the disk durably held after the cut and that agree with the log it
    /// held, oldest first; and the one the restart loaded.
    pub durable_snapshots: Vec<u64>,
    pub loaded_snapshot: Option<u64>,
    /// What was wrong with the snapshots the disk held after the cut (not synced, not agreeing
    /// with the log, or missing though the server had said it was written).
    pub snapshot_problems: Vec<String>,
    /// How the state served after a restart from a snapshot differs from a full replay of the
    /// log, if it does.
    pub state_error: Option<String>,
}

/// Answers kept for the Then steps.
#[derive(Debug, Default)]
pub struct Answers {
    pub last_reply: Option<Reply>,
    /// What each raw-socket client of the last hostile step saw, with what it did.
    pub hostile: Vec<(String, Outcome)>,
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
            cluster: ClusterWorld::new(),
            random: None,
            parts: Parts::default(),
        })
    }

    /// The state of type `T` a step module keeps for this scenario (its default at first).
    pub fn part<T: Any + Send + Sync + Default>(&mut self) -> &mut T {
        self.parts
            .0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("each part is kept under its own type")
    }

    /// A random stream for `label` (a step's purpose: "clients", "nemesis"…), derived from the
    /// scenario's stream alone, so that the same seed makes the same choices.
    pub fn seeded(&self, label: &str) -> anyhow::Result<Stream> {
        let stream = self.random.as_ref().context("the scenario's random stream is not set")?;
        Ok(stream.fork(label))
    }

    /// Keep a load step's report for the Then steps, and for perf.json; `endpoint` says what
    /// it sent (`POST /api/articles`), for the run report.
    pub fn record_load(&mut self, report: LoadReport, endpoint: &str) {
        println!("    load: {}", report.summary_line());
        let mut entry = report.to_json();
        entry["scenario_dir"] = json!(self.server.dir().display().to_string());
        self.perf.entries.push(entry);
        self.perf
            .endpoints
            .push(LoadInfo { label: report.label.clone(), endpoint: endpoint.to_string() });
        self.perf.loads.push(report);
    }

    /// A Then step held a load (`load`'s label, or `None` for all the scenario's loads together)
    /// to `limit`, and measured `measured`: the run report draws the margin.
    pub fn record_threshold(
        &mut self,
        step: &Step,
        metric: Metric,
        limit: f64,
        measured: f64,
        load: Option<&str>,
    ) {
        self.perf.thresholds.push(Threshold {
            step: step.value.clone(),
            metric,
            limit,
            measured: Some(measured),
            load: load.map(str::to_string),
        });
    }

    /// The server just crashed (or lost power, …): the creations acknowledged since the last
    /// such event make one cycle. Call it once the step has remembered what was acknowledged.
    pub fn record_crash(&mut self, event: &str) {
        let start = self.crashes.cycles.last().map_or(0, |c| c.created.end);
        let created = start..self.expected.created_ids.len();
        self.crashes.cycles.push(CrashCycle { event: event.to_string(), created, counted: None });
    }

    /// A step read what the restarted server holds: count, per crash cycle, the acknowledged
    /// articles still live in the scenario's own record that `is_present` finds.
    pub fn count_survivors(&mut self, is_present: impl Fn(u64) -> bool) {
        for cycle in &mut self.crashes.cycles {
            let live: Vec<u64> = self.expected.created_ids[cycle.created.clone()]
                .iter()
                .copied()
                .filter(|id| self.expected.articles.contains_key(id))
                .collect();
            let present = live.iter().filter(|id| is_present(**id)).count();
            cycle.counted = Some((live.len() as u64, present as u64));
        }
    }

    /// Writers creating articles at full speed in the background, for the steps that crash,
    /// stop or cut the power under load: the workload (its acknowledged articles) and the task
    /// (abort it once the server is gone).
    pub fn start_writers(
        &self,
        writers: usize,
    ) -> anyhow::Result<(
        std::sync::Arc<CreateArticles>,
        tokio::task::JoinHandle<anyhow::Result<LoadReport>>,
    )> {
        const ARTICLE_BYTES: usize = 200;
        let workload = std::sync::Arc::new(CreateArticles::new(ARTICLE_BYTES));
        let addr = self.server.running()?.addr();
        let config =
            LoadConfig::closed_duration(writers, Duration::from_secs(120)).with_label("writers");
        let task = {
            let workload = workload.clone();
            tokio::spawn(async move { loadgen::run(addr, &config, workload).await })
        };
        Ok((workload, task))
    }

    /// End of scenario: stop the server, then delete the directory or keep it for a look.
    /// Returns what the run report says about the scenario (its caller adds where it is).
    pub async fn finish(&mut self, passed: bool) -> ScenarioInfo {
        let dir = self.server.scenario_dir.as_ref().map(|d| d.path().display().to_string());
        // The cluster first: its files are inside the scenario's directory, kept or deleted next.
        let (cluster, nodes_tail) = match &self.server.scenario_dir {
            Some(scenario_dir) => match self.cluster.finish(passed, scenario_dir.path()).await {
                Some((run, tails)) => (Some(run), tails),
                None => (None, None),
            },
            None => (None, None),
        };
        if let Some(tails) = &nodes_tail {
            eprintln!("{tails}");
        }
        let log_tail = self.server.finish(passed).await;
        let log_tail = match (log_tail, nodes_tail) {
            (Some(tail), Some(nodes)) if tail.trim().is_empty() => Some(nodes),
            (tail, _) => tail,
        };
        let crashes = self.crashes.cycles.iter().filter_map(|c| {
            let (acknowledged, present) = c.counted?;
            Some((c.event.clone(), acknowledged, present))
        });
        // A power cut counts its own losses as it restarts the server.
        let power_cuts = self.crashes.power_cuts.iter().map(|cut| {
            let acknowledged = cut.acknowledged as u64;
            ("power loss".to_string(), acknowledged, acknowledged - cut.lost.len() as u64)
        });
        let cycles =
            crashes.chain(power_cuts).enumerate().map(|(n, (event, acknowledged, present))| {
                Cycle {
                    cycle: n as u32 + 1,
                    event,
                    acknowledged,
                    present,
                    lost: acknowledged - present,
                }
            });
        ScenarioInfo {
            dir,
            kept: log_tail.is_some(),
            log_tail,
            durability_mode: Some(self.server.modes.iter().cloned().collect::<Vec<_>>().join(", "))
                .filter(|m| !m.is_empty()),
            loads: std::mem::take(&mut self.perf.endpoints),
            thresholds: std::mem::take(&mut self.perf.thresholds),
            cycles: cycles.collect(),
            cluster,
            ..ScenarioInfo::default()
        }
    }
}

impl Expected {
    /// An article the server acknowledged creating: as the client sent it, under the id the
    /// server assigned.
    pub fn remember_created(&mut self, article: Article) {
        self.created_ids.push(article.id);
        self.events.push(("ArticleCreated", json!(article)));
        self.articles.insert(article.id, article);
    }

    /// An article the server acknowledged replacing, as the client sent it.
    pub fn remember_updated(&mut self, article: Article) {
        self.events.push(("ArticleUpdated", json!(article)));
        self.updates.push(article.clone());
        self.articles.insert(article.id, article);
    }

    /// An article the server acknowledged deleting.
    pub fn remember_deleted(&mut self, id: u64) {
        self.events.push(("ArticleDeleted", json!({ "id": id })));
        self.articles.remove(&id);
        self.deleted_ids.push(id);
    }

    /// A user the server acknowledged registering, as sent, under the id it assigned.
    pub fn remember_user(&mut self, user: User) {
        self.events.push(("UserCreated", json!(user)));
        self.last_user_id = Some(user.id);
        self.users.insert(user.id, user);
    }

    /// A comment the server acknowledged, as sent, under the id it assigned.
    pub fn remember_comment(&mut self, comment: Comment) {
        self.events.push(("CommentAdded", json!(comment)));
        self.last_comment = Some(comment.clone());
        self.comments.insert(comment.id, comment);
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
            modes: BTreeSet::new(),
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

    /// A persistence path as a label: upstream's scenarios write absolute paths such as
    /// `/tmp/lithair-crud-test` (and reuse them). The path is never used as it is; it names a
    /// directory under the scenario's own `persistence/`, so no scenario touches the real
    /// `/tmp/...` or another scenario's data. `..` is refused either way.
    pub fn use_data_label(&mut self, label: &str) -> anyhow::Result<()> {
        match label.strip_prefix('/') {
            Some(rest) => {
                self.use_data_path(&format!("persistence/{}", rest.trim_start_matches('/')))
            }
            None => self.use_data_path(label),
        }
    }

    pub fn spec(&self) -> ServerSpec {
        let mut args = Vec::new();
        if let Some(durability) = &self.durability {
            args.extend(["--durability".to_string(), durability.clone()]);
        }
        args.extend(self.args.iter().cloned());
        let env = self.powercut.iter().flat_map(|cut| cut.env()).map(|(k, v)| (k.into(), v));
        ServerSpec {
            bind: None,
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
        let mode = self.durability.as_deref().unwrap_or(SERVER_DEFAULT_MODE);
        self.modes.insert(mode.to_string());
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

    /// Stops the server; deletes the directory of a passed scenario, or keeps that of a failed
    /// one and returns the end of its server log.
    async fn finish(&mut self, passed: bool) -> Option<String> {
        if let Some(process) = self.process.take()
            && let Err(err) = process.stop().await
        {
            eprintln!("harness: the server did not stop cleanly: {err:#}");
        }
        let dir = self.scenario_dir.take()?;
        if passed {
            return None; // dropping the TempDir deletes it
        }
        let kept = dir.keep();
        let tail = process::log_tail(&self.log_file, LOG_TAIL_LINES);
        eprintln!(
            "harness: scenario failed; its files are kept in {}\n--- last {LOG_TAIL_LINES} lines of {} ---\n{tail}\n---",
            kept.display(),
            self.log_file.display(),
        );
        Some(tail)
    }
}
