//! A peer database (Redis, etcd) as a child process of the benchmark: found on the `PATH`,
//! started on a free loopback port with its own data dir, killed when dropped, so that an
//! error half-way never leaves one running.

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// Whether `program` is an executable file in a `PATH` directory.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A port nothing listens on right now. The peer binds it a moment later; another process
/// taking it in between makes the peer fail to start, which is reported.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// The command as a shell line, for the output and results.json: anyone can rerun it.
pub fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = part.to_string_lossy();
            if part.is_empty() || part.contains([' ', '"', '\'']) {
                format!("'{part}'")
            } else {
                part.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a client (`wrk`, `redis-benchmark`) to its end; its standard output, or an error
/// with everything it printed.
pub fn run(command: &mut Command) -> anyhow::Result<String> {
    let line = command_line(command);
    let output = command.output().with_context(|| format!("running {line}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        let errors = String::from_utf8_lossy(&output.stderr);
        bail!("{line} failed ({}):\n{text}{errors}", output.status);
    }
    Ok(text)
}

pub struct Peer {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Peer {
    /// Starts `command` with its output in `log`, and waits until `port` accepts connections.
    pub fn start(name: &str, mut command: Command, log: &Path, port: u16) -> anyhow::Result<Peer> {
        println!("  $ {}", command_line(&command));
        let out = std::fs::File::create(log)?;
        command.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let child = command.spawn().with_context(|| format!("starting {name}"))?;
        let mut peer = Peer { name: name.to_string(), child, log: log.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = peer.child.try_wait()? {
                bail!("{name} exited ({status}) before listening:\n{}", peer.log_tail());
            }
            if Instant::now() > deadline {
                bail!("{name} did not listen on port {port} within 20 s:\n{}", peer.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(peer)
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Err(error) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
            eprintln!("could not stop {}: {error}", self.name);
        }
    }
}
