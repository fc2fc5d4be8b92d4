//! One directed link: a listener on 127.0.0.1 that forwards to a node's real peer address.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::conn;
use crate::stats::Counters;
use crate::{Direction, Mode, Modes, Stats};

/// A running link. Dropping it stops the listener and resets every connection it carries.
#[derive(Debug)]
pub struct Proxy {
    local_addr: SocketAddr,
    upstream: SocketAddr,
    // Every connection task holds a receiver: a mode change reaches open connections at once,
    // and dropping the sender (dropping the proxy) tells them all to end.
    modes: watch::Sender<Modes>,
    counters: Arc<Counters>,
}

impl Proxy {
    /// Binds `127.0.0.1:0` and starts forwarding to `upstream`, every direction in `Pass`.
    /// Needs a running tokio runtime.
    pub async fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = listener.local_addr()?;
        let (modes, rx) = watch::channel(Modes::default());
        let counters = Arc::new(Counters::default());
        tokio::spawn(accept_loop(listener, upstream, rx, counters.clone()));
        tracing::debug!(%local_addr, %upstream, "proxy started");
        Ok(Proxy { local_addr, upstream, modes, counters })
    }

    /// The address a node must connect to in order to reach the upstream through this link.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Sets one direction's mode; open connections follow it at once.
    pub fn set(&self, direction: Direction, mode: Mode) {
        self.modes.send_modify(|modes| modes.set(direction, mode));
    }

    /// Sets both directions' modes in one change (connections see no state in between).
    pub fn set_both(&self, mode: Mode) {
        self.modes.send_replace(Modes { request: mode, response: mode });
    }

    /// Back to `Pass` both ways.
    pub fn heal(&self) {
        self.set_both(Mode::Pass);
    }

    pub fn modes(&self) -> Modes {
        *self.modes.borrow()
    }

    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    mut modes: watch::Receiver<Modes>,
    counters: Arc<Counters>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            changed = modes.changed() => match changed {
                Ok(()) => continue,
                Err(_) => break, // the Proxy was dropped
            },
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(error) => {
                // Out of file descriptors and the like: the listener itself is fine, so wait a
                // little rather than spin on the same error.
                tracing::warn!(%error, "proxy accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if modes.borrow().drops() {
            Counters::bump(&counters.refused);
            conn::reset(&client);
            continue;
        }
        Counters::bump(&counters.accepted);
        tokio::spawn(conn::serve(client, upstream, modes.clone(), counters.clone()));
    }
    tracing::debug!(local_addr = ?listener.local_addr().ok(), "proxy stopped");
}
