//! Real servers on 127.0.0.1 for the proxy to stand in front of, and the checks the tests share.
#![allow(dead_code, reason = "each test file uses its own subset")]

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long "nothing arrives" is watched for. Long against loopback latency (microseconds),
/// short enough to keep the suite quick.
pub const SILENCE: Duration = Duration::from_millis(300);
/// How long a reset or an answer may take before the test calls it missing: generous, since
/// two cores are shared with whole builds; a passing test never waits for it.
pub const PROMPT: Duration = Duration::from_secs(5);

/// An echo server that answers each chunk with `tag` followed by the chunk, counts what it
/// received, and closes its side when the client closes its own.
pub struct Echo {
    pub addr: SocketAddr,
    pub received: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
    /// Ends of stream seen from clients.
    pub eofs: Arc<AtomicU64>,
}

impl Echo {
    pub async fn start(tag: Option<u8>) -> Echo {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let echo = Echo {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            connections: Arc::default(),
            eofs: Arc::default(),
        };
        let (received, connections, eofs) =
            (echo.received.clone(), echo.connections.clone(), echo.eofs.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                connections.fetch_add(1, SeqCst);
                let (received, eofs) = (received.clone(), eofs.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    loop {
                        let n = match socket.read(&mut buf).await {
                            Ok(0) => {
                                eofs.fetch_add(1, SeqCst);
                                let _ = socket.shutdown().await;
                                return;
                            }
                            Ok(n) => n,
                            Err(_) => return,
                        };
                        received.fetch_add(n as u64, SeqCst);
                        let mut reply = Vec::with_capacity(n + 1);
                        reply.extend(tag);
                        reply.extend_from_slice(&buf[..n]);
                        if socket.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        echo
    }

    pub fn received(&self) -> u64 {
        self.received.load(SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(SeqCst)
    }
}

/// Writes `message` and reads back exactly as many bytes (plus `extra`), within `PROMPT`.
pub async fn round_trip(stream: &mut TcpStream, message: &[u8], extra: usize) -> Vec<u8> {
    stream.write_all(message).await.unwrap();
    let mut reply = vec![0; message.len() + extra];
    tokio::time::timeout(PROMPT, stream.read_exact(&mut reply))
        .await
        .expect("no answer through the proxy")
        .expect("the connection failed");
    reply
}

/// Asserts that nothing — no byte, no end of stream, no error — arrives for `SILENCE`.
pub async fn assert_silent(stream: &mut TcpStream) {
    let mut buf = [0; 64];
    match tokio::time::timeout(SILENCE, stream.read(&mut buf)).await {
        Err(_) => {}
        Ok(Ok(0)) => panic!("the connection was closed"),
        Ok(Ok(n)) => panic!("{n} bytes arrived: {:?}", &buf[..n]),
        Ok(Err(e)) => panic!("the connection failed: {e}"),
    }
}

/// Asserts that the connection is reset (an RST, not a FIN) within `PROMPT`.
pub async fn assert_reset(stream: &mut TcpStream) {
    let mut buf = [0; 64];
    let outcome = tokio::time::timeout(PROMPT, stream.read(&mut buf)).await.expect("no reset came");
    assert_reset_error(outcome);
}

pub fn assert_reset_error(outcome: io::Result<usize>) {
    match outcome {
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected a reset, got {e}"),
        Ok(0) => panic!("expected a reset, got an orderly close"),
        Ok(n) => panic!("expected a reset, got {n} bytes"),
    }
}

/// Polls `condition` until it holds or `PROMPT` passes. Counters are updated by other tasks,
/// so a test waits for them to say what it expects instead of sleeping a guessed time.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PROMPT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
