//! A TCP proxy for fault injection between cluster nodes.
//!
//! The harness gives every *directed* peer link (node i → node j) its own [`Proxy`]: a listener
//! on `127.0.0.1:<free port>` that forwards to node j's real peer address, and node i is told to
//! reach j through that port. A link is therefore identified by the listener a connection
//! arrived on — no source-address tricks, no root, no kernel features (this kernel has no netem).
//!
//! Each direction of a link has a [`Mode`]: the *request* direction carries i's bytes to j, the
//! *response* direction j's bytes back to i. Changing a mode takes effect on open connections as
//! well as new ones, which is what a partition in the middle of a Raft exchange needs. [`Mesh`]
//! builds the N×(N−1) links of a cluster and expresses Jepsen's partitions (isolate a node,
//! split into majority and minority, bridge) on top of them.
//!
//! What each mode means, and why:
//! - [`Mode::Pass`] forwards bytes as they come.
//! - [`Mode::Drop`] is a host that answers RST: open connections are reset (`SO_LINGER` 0, so
//!   the peer gets `ECONNRESET`, not a polite FIN) and new ones are reset as soon as they are
//!   accepted. The kernel completes the handshake before any `accept`, so the peer's `connect`
//!   succeeds and its first read or write fails; that is as close to "refused" as a listener
//!   that stays bound can get, and it stays bound so that healing never races for the port.
//!   A TCP connection cannot lose one direction and live, so `Drop` on either direction kills
//!   the whole connection.
//! - [`Mode::Blackhole`] is a cut cable with both TCP endpoints still up: the proxy keeps
//!   reading (so the sender is never blocked and believes its bytes left) and throws them
//!   away, end-of-stream included; nothing is closed. The peer sees timeouts, never errors.
//! - [`Mode::Delay`] forwards each chunk once the delay has passed since it was read, in order.
//!
//! Leaving `Blackhole`: a connection that lost bytes (or its end-of-stream) in a direction is
//! reset when that direction leaves `Blackhole`. Its two ends disagree about what was sent, and
//! delivering later bytes after a hole would hand the peer a corrupt stream (a half HTTP
//! request); a reset makes them reconnect, as they would after a real outage outlived their
//! connection. A connection that lost nothing carries on untouched.
#![forbid(unsafe_code)]

mod conn;
mod mesh;
mod mode;
mod proxy;
mod stats;

pub use mesh::{Mesh, PartitionError};
pub use mode::{Direction, Mode, Modes};
pub use proxy::Proxy;
pub use stats::{DirectionStats, Stats};
