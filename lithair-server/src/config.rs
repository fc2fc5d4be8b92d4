//! The server's settings, whether they come from the command line or from a test.

use std::{path::PathBuf, time::Duration};

use lithair_core::Durability;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where `events.raftlog` (and the rest of the data) lives.
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection is kept open.
    pub header_read_timeout: Duration,
    /// Largest request line plus headers; larger ones get 431 and the connection is closed.
    pub max_header_bytes: usize,
    /// How long a client may take to send a request's body once the handler reads it; slower
    /// ones get 408 and the connection is closed.
    pub body_timeout: Duration,
    /// Connections served at once; further ones get 503 and are closed. 0: no limit (the
    /// process's file-descriptor limit still applies).
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take to finish before their connections
    /// are closed.
    pub shutdown_grace: Duration,
    /// Take a snapshot every this many events (0: never), keeping the newest `snapshot_keep`.
    pub snapshot_every: u64,
    pub snapshot_keep: usize,
}

impl ServerConfig {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 << 10;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            durability: Durability::default(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: Duration::from_secs(15),
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            body_timeout: Duration::from_secs(30),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: Duration::from_secs(10),
            snapshot_every: 0,
            snapshot_keep: lithair_core::EngineConfig::DEFAULT_SNAPSHOT_KEEP,
        }
    }
}
