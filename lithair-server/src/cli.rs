//! The command line of the `lithair-server` binary.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{
    Parser,
    builder::{PossibleValuesParser, TypedValueParser},
};
use lithair_core::Durability;
use lithair_server::ServerConfig;

/// Lithair: a memory-first, event-sourced data server.
///
/// Serves the articles, users and comments API over HTTP/1.1. Every change is appended to
/// <DATA_DIR>/events.raftlog before it is acknowledged; a restart replays that log. The first
/// line on stdout is `lithair-server listening on http://ADDR` once the data is loaded; logs go
/// to stderr. SIGTERM or Ctrl-C stops the server cleanly.
#[derive(Debug, Parser)]
#[command(name = "lithair-server", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on; port 0 picks a free port (the first stdout line names it).
    #[arg(long, env = "LITHAIR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory holding the data; created if missing.
    #[arg(long, env = "LITHAIR_DATA_DIR", default_value = "./lithair-data")]
    pub data_dir: PathBuf,

    /// When a write is acknowledged: fsync (after fdatasync, survives power loss), flush
    /// (after write(2), survives a process crash) or async (just before its write(2)).
    #[arg(
        long,
        env = "LITHAIR_DURABILITY",
        default_value = "fsync",
        value_parser = PossibleValuesParser::new(["fsync", "flush", "async"])
            .try_map(|mode| mode.parse::<Durability>()),
    )]
    pub durability: Durability,

    /// Largest request body accepted, in bytes (suffixes KiB and MiB accepted).
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_body: usize,

    /// Seconds a client may take to send request headers; also the idle keep-alive timeout.
    #[arg(long, default_value_t = 15)]
    pub header_timeout: u64,

    /// Seconds a client may take to send a request body; slower ones get 408 and are closed.
    #[arg(long, default_value_t = 30)]
    pub body_timeout: u64,

    /// Largest request line plus headers, in bytes (suffixes KiB and MiB accepted); larger
    /// ones get 431 and the connection is closed.
    #[arg(long, default_value = "16KiB", value_parser = parse_size)]
    pub max_header_bytes: usize,

    /// Connections served at once; further ones get 503 and are closed. 0: no limit.
    #[arg(long, default_value_t = ServerConfig::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace: u64,

    /// Take a snapshot of the state every N events, so that a restart replays only the log
    /// after it; 0 turns snapshots off (existing ones are still used at start-up). On a cluster
    /// node: a snapshot every N entries (0: every 100000), keeping N entries of log behind it.
    #[arg(long, env = "LITHAIR_SNAPSHOT_EVERY", default_value_t = 0)]
    pub snapshot_every: u64,

    /// How many snapshots to keep (the newest).
    #[arg(long, default_value_t = lithair_core::EngineConfig::DEFAULT_SNAPSHOT_KEEP)]
    pub snapshot_keep: usize,

    /// Run as node <ID> of a cluster (docs/cluster.md): writes and reads go through the
    /// cluster's leader, replicated with Raft. Without it, a single server.
    #[arg(long, value_name = "ID", requires_all = ["peer_bind", "cluster_secret_file"])]
    pub node_id: Option<u64>,

    /// Cluster nodes: where the peer listener (Raft RPCs and the cluster admin endpoints)
    /// listens. Give it a fixed port: the other nodes keep this address in the membership.
    #[arg(long, value_name = "HOST:PORT", requires = "node_id")]
    pub peer_bind: Option<SocketAddr>,

    /// Cluster nodes: the peer address the other nodes are told to use (default: --peer-bind).
    #[arg(long, value_name = "HOST:PORT", requires = "node_id")]
    pub peer_advertise: Option<String>,

    /// Cluster nodes: a file holding the cluster's shared secret (at least 16 printable ASCII
    /// characters); every peer request must carry it. Never on the command line, where `ps`
    /// would show it.
    #[arg(long, value_name = "PATH", requires = "node_id")]
    pub cluster_secret_file: Option<PathBuf>,

    /// Cluster nodes: to reach node <ID>, connect to HOST:PORT instead of its advertised peer
    /// address (a proxy, a NAT). Repeatable.
    #[arg(long, value_name = "ID=HOST:PORT", requires = "node_id", value_parser = lithair_cluster::network::parse_route)]
    pub peer_route: Vec<(u64, String)>,

    /// Log filter, e.g. `info`, `debug`, or `lithair_server=debug,info`.
    #[arg(long, env = "LITHAIR_LOG", default_value = "info")]
    pub log_level: String,
}

/// What the binary does instead of serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Convert a single server's data directory (log version 1) into the data directory of a
    /// one-node cluster (log version 2), so that `lithair-server --node-id ...` starts on it
    /// with every event; other nodes then join it (docs/cluster.md, "Migrating").
    ///
    /// Stop the server first: a directory in use is refused. The old log is kept, unchanged,
    /// as <DATA_DIR>/events.raftlog.v1, and the switch to the new one is a single rename. A
    /// directory already converted, or whose log is damaged, is refused and left unchanged.
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The single server's data directory.
    #[arg(long, env = "LITHAIR_DATA_DIR")]
    pub data_dir: PathBuf,

    /// The node id the directory will belong to (start the node with the same --node-id).
    #[arg(long, value_name = "ID", default_value_t = 1)]
    pub node_id: u64,

    /// The peer address the node will advertise (its --peer-advertise, or --peer-bind);
    /// written into the cluster's first membership.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub peer_advertise: String,

    /// The address clients will reach the node's API at (its --bind); written into the
    /// cluster's first membership, for redirects to the leader.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub api_advertise: String,
}

impl Cli {
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            durability: self.durability,
            max_body_bytes: self.max_body,
            header_read_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            snapshot_every: self.snapshot_every,
            snapshot_keep: self.snapshot_keep,
            ..ServerConfig::new(&self.data_dir)
        }
    }
}

fn parse_host_port(text: &str) -> Result<String, String> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(text.to_owned())
        }
        _ => Err(format!("not HOST:PORT with a port from 1 to 65535: {text:?}")),
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.trim() {
        t if t.ends_with("MiB") => (&t[..t.len() - 3], 1 << 20),
        t if t.ends_with("KiB") => (&t[..t.len() - 3], 1 << 10),
        t => (t, 1),
    };
    let value: usize = digits.trim().parse().map_err(|_| format!("not a size: {text:?}"))?;
    value.checked_mul(unit).filter(|&bytes| bytes > 0).ok_or_else(|| format!("bad size: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1GB").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
