//! One proxied connection: two pumps (one per direction) and a supervisor watching the modes.
//!
//! All three run in one task, so that the task owns both sockets and can reset them when the
//! supervisor says so, and so that a mode change and a pump never interleave inside one poll:
//! a chunk is judged by the mode in force when it was read, then again when it is due.

use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::stats::Counters;
use crate::{Direction, Mode, Modes};

/// Bytes read at once; one chunk is one unit of delay.
const CHUNK: usize = 16 * 1024;
/// Chunks waiting for their delay per direction; past that the reader stops reading, so a
/// delayed link pushes back on the sender through TCP flow control instead of buffering.
const QUEUE: usize = 64;

/// Closes `socket` with an RST rather than a FIN, so the peer sees a reset at once.
pub(crate) fn reset(socket: &TcpStream) {
    if let Err(error) = socket.set_zero_linger() {
        tracing::debug!(%error, "could not set SO_LINGER 0; the peer will see a FIN");
    }
}

pub(crate) async fn serve(
    mut client: TcpStream,
    upstream_addr: SocketAddr,
    mut modes: watch::Receiver<Modes>,
    counters: std::sync::Arc<Counters>,
) {
    let mut upstream = match TcpStream::connect(upstream_addr).await {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%error, %upstream_addr, "proxy could not reach the upstream");
            Counters::bump(&counters.upstream_failures);
            reset(&client);
            return;
        }
    };
    // Raft messages are small and latency-bound; the proxy must not add Nagle's delay.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    counters.active.fetch_add(1, Relaxed);

    let lost = [AtomicBool::new(false), AtomicBool::new(false)];
    let kill = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let request =
            pump(Direction::Request, client_read, upstream_write, modes.clone(), &lost, &counters);
        let response =
            pump(Direction::Response, upstream_read, client_write, modes.clone(), &lost, &counters);
        tokio::select! {
            // An error on either side ends both: a real TCP path would break for both too.
            ended = async { tokio::try_join!(request, response) } => ended.is_err(),
            () = supervise(&mut modes, &lost) => true,
        }
    };
    if kill {
        Counters::bump(&counters.killed);
        reset(&client);
        reset(&upstream);
    }
    counters.active.fetch_sub(1, Relaxed);
}

/// Returns when the connection must be reset: a direction became `Drop`, a direction that lost
/// bytes left `Blackhole`, or the proxy went away.
async fn supervise(modes: &mut watch::Receiver<Modes>, lost: &[AtomicBool; 2]) {
    let mut before = *modes.borrow_and_update();
    loop {
        if before.drops() || modes.changed().await.is_err() {
            return;
        }
        let now = *modes.borrow_and_update();
        for direction in Direction::BOTH {
            let left_blackhole =
                before.get(direction) == Mode::Blackhole && now.get(direction) != Mode::Blackhole;
            if left_blackhole && lost[direction.index()].load(Relaxed) {
                return;
            }
        }
        before = now;
    }
}

/// A chunk read and when it is due; `None` is the end of the stream.
struct Due<'a> {
    at: Instant,
    chunk: Option<Vec<u8>>,
    _pending: Pending<'a>,
}

/// Counts a chunk's bytes as pending for as long as it exists, whichever way it leaves:
/// written, thrown away, or dropped with its queue when the connection is reset.
struct Pending<'a> {
    counters: &'a Counters,
    direction: Direction,
    bytes: usize,
}

impl<'a> Pending<'a> {
    fn new(counters: &'a Counters, direction: Direction, bytes: usize) -> Pending<'a> {
        counters.queued(direction, bytes);
        Pending { counters, direction, bytes }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.counters.unqueued(self.direction, self.bytes);
    }
}

/// Moves one direction's bytes, `Ok` once the end of the stream has been passed on. A
/// black-holed end of stream never returns: the connection is held open, as the crate promises.
async fn pump(
    direction: Direction,
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    modes: watch::Receiver<Modes>,
    lost: &[AtomicBool; 2],
    counters: &Counters,
) -> io::Result<()> {
    let lose = |bytes: usize| {
        lost[direction.index()].store(true, Relaxed);
        counters.discarded(direction, bytes);
    };
    let (queue, mut due) = mpsc::channel::<Due>(QUEUE);

    let read = async {
        let mut buf = vec![0; CHUNK];
        loop {
            let n = from.read(&mut buf).await?;
            let mode = modes.borrow().get(direction);
            let at = match mode {
                Mode::Pass => Instant::now(),
                Mode::Delay(delay) => Instant::now() + delay,
                // `Drop`: the supervisor is about to reset the connection.
                Mode::Blackhole | Mode::Drop => {
                    lose(n);
                    if n == 0 {
                        return pending().await;
                    }
                    continue;
                }
            };
            let chunk = (n > 0).then(|| buf[..n].to_vec());
            let pending = Pending::new(counters, direction, n);
            if queue.send(Due { at, chunk, _pending: pending }).await.is_err() {
                return Ok(()); // the writer failed and has said so
            }
            if n == 0 {
                return Ok(());
            }
        }
    };

    let write = async {
        while let Some(Due { at, chunk, _pending }) = due.recv().await {
            sleep_until(at).await;
            // The mode may have changed while the chunk waited out its delay.
            let mode = modes.borrow().get(direction);
            if matches!(mode, Mode::Blackhole | Mode::Drop) {
                lose(chunk.as_ref().map_or(0, Vec::len));
                if chunk.is_none() {
                    return pending().await;
                }
                continue;
            }
            match chunk {
                Some(chunk) => {
                    to.write_all(&chunk).await?;
                    counters.forwarded(direction, chunk.len());
                }
                None => {
                    to.shutdown().await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    };

    tokio::try_join!(read, write).map(|_| ())
}
