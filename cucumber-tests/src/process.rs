//! The real `lithair-server` as a child process: started on an ephemeral port, found through
//! the first line it prints, waited for until healthy, stopped with SIGTERM or killed with
//! SIGKILL.
//!
//! Every wait has a deadline, so a server that hangs fails its scenario instead of the whole
//! run. The child is killed if the harness drops it or dies (`PR_SET_PDEATHSIG`), so no server
//! outlives the run.

use std::{
    fmt,
    fs::{File, OpenOptions},
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::binary::server_binary;

/// Loading a large log can take seconds; a server that has not announced itself by then is stuck.
pub const START_DEADLINE: Duration = Duration::from_secs(60);
pub const HEALTH_DEADLINE: Duration = Duration::from_secs(10);
/// The server's own shutdown grace is 10 s; past that it is not stopping cleanly.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

const ANNOUNCEMENT: &str = "lithair-server listening on http://";

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// `--bind` for the client API; `None` picks a free port. A cluster node needs a fixed
    /// one: its address is in the cluster's membership, where followers redirect clients.
    pub bind: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// The server's stderr (its logs) is appended here, across restarts.
    pub log_file: PathBuf,
    /// Further command-line arguments, e.g. `["--durability", "async"]`.
    pub args: Vec<String>,
    /// Extra environment variables, e.g. the power-loss interposer's `LD_PRELOAD`.
    pub env: Vec<(String, String)>,
}

/// A running server.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartFailure {
    /// Set when the process exited (as opposed to hanging).
    pub status: Option<ExitStatus>,
    pub reason: String,
    /// The end of the server's log: what it said about the failure.
    pub log_tail: String,
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lithair-server did not start: {}", self.reason)?;
        if let Some(status) = self.status {
            write!(f, " ({status})")?;
        }
        write!(f, "\n--- end of the server log ---\n{}", self.log_tail)
    }
}

impl std::error::Error for StartFailure {}

impl ServerProcess {
    /// Start a server and wait until `/health` answers 200.
    pub async fn start(spec: &ServerSpec) -> Result<ServerProcess, StartFailure> {
        Self::start_until(spec, "/health").await
    }

    /// Start a cluster node and wait until `/cluster/status` answers 200: a node is ready
    /// before the cluster has a leader, when its `/health` cannot promise writes yet.
    pub async fn start_node(spec: &ServerSpec) -> Result<ServerProcess, StartFailure> {
        Self::start_until(spec, "/cluster/status").await
    }

    async fn start_until(spec: &ServerSpec, ready: &str) -> Result<ServerProcess, StartFailure> {
        let failure = |status, reason: String| StartFailure {
            status,
            reason,
            log_tail: log_tail(&spec.log_file, 40),
        };
        let mut child = spawn(spec).map_err(|err| failure(None, format!("{err:#}")))?;
        let addr = match read_address(&mut child).await {
            Ok(addr) => addr,
            Err(reason) => {
                let status = exit_status_soon(&mut child).await;
                return Err(failure(status, reason));
            }
        };
        let mut server = ServerProcess { child, addr };
        if let Err(reason) = server.wait_ready(ready).await {
            let status = server.child.try_wait().ok().flatten();
            return Err(failure(status, reason));
        }
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The exit status, if the process has died.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    async fn wait_ready(&mut self, path: &str) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|err| err.to_string())?;
        let deadline = Instant::now() + HEALTH_DEADLINE;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("exited while waiting for {path} ({status})"));
            }
            let last = match client.get(self.url(path)).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => format!("{path} answered {}", response.status()),
                Err(err) => format!("{path} failed: {err}"),
            };
            if Instant::now() > deadline {
                return Err(format!("not healthy within {HEALTH_DEADLINE:?}; last: {last}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop cleanly with SIGTERM; fails unless the server exits within the deadline.
    pub async fn stop(mut self) -> anyhow::Result<ExitStatus> {
        self.signal(libc::SIGTERM)?;
        match tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("the server did not stop within {STOP_DEADLINE:?} of SIGTERM; killed it")
            }
        }
    }

    /// Crash the server: SIGKILL, no chance to flush anything.
    pub async fn kill(mut self) -> anyhow::Result<ExitStatus> {
        self.signal(libc::SIGKILL)?;
        let status = tokio::time::timeout(STOP_DEADLINE, self.child.wait())
            .await
            .context("the server did not die after SIGKILL")??;
        Ok(status)
    }

    /// Freeze the process (SIGSTOP): to its peers and clients it looks dead, but its sockets
    /// stay open and it resumes where it stopped.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGSTOP)
    }

    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGCONT)
    }

    fn signal(&self, signal: libc::c_int) -> anyhow::Result<()> {
        let pid = self.child.id().context("the server has already exited")?;
        // SAFETY: kill(2) on our own child's pid; it has not been reaped, so the pid is its.
        if unsafe { libc::kill(pid as libc::pid_t, signal) } != 0 {
            bail!("cannot signal the server: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Start a server that is expected to refuse to start; returns its exit status and log.
pub async fn start_expecting_refusal(spec: &ServerSpec) -> anyhow::Result<(ExitStatus, String)> {
    match ServerProcess::start(spec).await {
        Ok(server) => {
            server.stop().await?;
            bail!("the server started, but it was expected to refuse")
        }
        Err(StartFailure { status: Some(status), .. }) => Ok((status, read_log(&spec.log_file))),
        Err(failure) => bail!("the server neither started nor exited: {failure}"),
    }
}

fn spawn(spec: &ServerSpec) -> anyhow::Result<Child> {
    let binary = server_binary()?;
    let bind = spec.bind.map_or_else(|| "127.0.0.1:0".to_string(), |addr| addr.to_string());
    let args =
        ["--bind".to_string(), bind, "--data-dir".to_string(), spec.data_dir.display().to_string()]
            .into_iter()
            .chain(spec.args.iter().cloned())
            .collect::<Vec<_>>();
    let mut log = OpenOptions::new().create(true).append(true).open(&spec.log_file)?;
    writeln!(log, "--- harness: starting lithair-server {} ---", args.join(" "))?;

    let mut command = Command::new(&binary);
    command
        .args(&args)
        .envs(spec.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe and touches only the child being created.
    unsafe {
        command.pre_exec(|| {
            // Die with the harness, even if it is killed before it can clean up.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().with_context(|| format!("cannot start {}", binary.display()))
}

/// Read the announcement line; keep draining stdout afterwards so the server never blocks
/// on a full pipe.
async fn read_address(child: &mut Child) -> Result<SocketAddr, String> {
    let stdout = child.stdout.take().ok_or("the server's stdout is not captured")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(START_DEADLINE, lines.next_line())
        .await
        .map_err(|_| format!("no address announced within {START_DEADLINE:?}"))?
        .map_err(|err| format!("cannot read the server's stdout: {err}"))?
        .ok_or("exited before announcing its address")?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    parse_announcement(&first)
}

fn parse_announcement(line: &str) -> Result<SocketAddr, String> {
    let address = line.strip_prefix(ANNOUNCEMENT).ok_or_else(|| {
        format!("unexpected first line {line:?}; expected \"{ANNOUNCEMENT}ADDR\"")
    })?;
    address.trim().parse().map_err(|err| format!("bad address in {line:?}: {err}"))
}

/// Give a process that closed its stdout a moment to exit, and report how it did.
async fn exit_status_soon(child: &mut Child) -> Option<ExitStatus> {
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    }
}

pub fn read_log(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The last `lines` lines of a log file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let log = read_log(path);
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Create an empty log file, so that a failure before the first start still has one to show.
pub fn create_log(path: &Path) -> std::io::Result<()> {
    File::create(path).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_announced_address() {
        assert_eq!(
            parse_announcement("lithair-server listening on http://127.0.0.1:4321"),
            Ok("127.0.0.1:4321".parse().unwrap())
        );
        assert!(parse_announcement("listening on 127.0.0.1:4321").is_err());
        assert!(parse_announcement("lithair-server listening on http://localhost").is_err());
    }
}
