//! Each mode of one link, checked with real sockets on 127.0.0.1.

mod common;

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use common::{Echo, PROMPT, assert_reset, assert_silent, eventually, round_trip};
use netproxy::{Direction, Mode, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn echo_behind_proxy() -> (Echo, Proxy) {
    let echo = Echo::start(None).await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    (echo, proxy)
}

#[tokio::test]
async fn pass_forwards_both_ways_and_counts() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"hello", 0).await, b"hello");
    assert_eq!(echo.received(), 5);
    let stats = proxy.stats();
    assert_eq!((stats.request.forwarded, stats.response.forwarded), (5, 5));
    assert_eq!((stats.accepted, stats.active, stats.killed), (1, 1, 0));
}

#[tokio::test]
async fn pass_carries_the_end_of_stream() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"bye", 0).await, b"bye");
    client.shutdown().await.unwrap();
    // The echo server closes its side when it sees ours closed; that FIN must come back.
    let mut buf = [0; 8];
    let n = tokio::time::timeout(PROMPT, client.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0);
    assert_eq!(echo.eofs.load(SeqCst), 1);
    eventually("the connection to end", || proxy.stats().active == 0).await;
    assert_eq!(proxy.stats().killed, 0, "an orderly close is not a kill");
}

#[tokio::test]
async fn drop_resets_new_connections_without_reaching_the_upstream() {
    for direction in Direction::BOTH {
        let (echo, proxy) = echo_behind_proxy().await;
        proxy.set(direction, Mode::Drop);
        let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
        let _ = client.write_all(b"anyone?").await;
        assert_reset(&mut client).await;
        assert_eq!(echo.connections(), 0, "{direction:?}");
        assert_eq!(proxy.stats().refused, 1, "{direction:?}");
    }
}

#[tokio::test]
async fn drop_resets_open_connections() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"one", 0).await, b"one");
    proxy.set(Direction::Response, Mode::Drop);
    assert_reset(&mut client).await;
    eventually("the kill to be counted", || proxy.stats().killed == 1).await;
    assert_eq!(echo.received(), 3);
    assert_eq!((proxy.stats().active, proxy.stats().request.pending), (0, 0));
}

#[tokio::test]
async fn blackholed_request_delivers_nothing_and_closes_nothing() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"warm", 0).await, b"warm");
    proxy.set(Direction::Request, Mode::Blackhole);
    client.write_all(b"lost").await.unwrap();
    assert_silent(&mut client).await;
    assert_eq!(echo.received(), 4, "only the bytes sent before the black hole arrived");
    assert_eq!(proxy.stats().request.discarded, 4);
    // The end of the stream vanishes too: the upstream never hears of it.
    client.shutdown().await.unwrap();
    assert_silent(&mut client).await;
    assert_eq!(echo.eofs.load(SeqCst), 0);
    assert_eq!(proxy.stats().active, 1);
}

#[tokio::test]
async fn blackholed_response_lets_the_request_through() {
    let (echo, proxy) = echo_behind_proxy().await;
    proxy.set(Direction::Response, Mode::Blackhole);
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"ping").await.unwrap();
    assert_silent(&mut client).await;
    assert_eq!(echo.received(), 4);
    let stats = proxy.stats();
    assert_eq!((stats.request.forwarded, stats.response.discarded), (4, 4));
}

#[tokio::test]
async fn leaving_a_blackhole_resets_connections_that_lost_bytes() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    proxy.set(Direction::Request, Mode::Blackhole);
    client.write_all(b"lost").await.unwrap();
    eventually("the bytes to be swallowed", || proxy.stats().request.discarded == 4).await;
    proxy.heal();
    assert_reset(&mut client).await;
    // A fresh connection goes through: the peer reconnects and carries on.
    let mut again = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut again, b"again", 0).await, b"again");
    assert_eq!(echo.received(), 5);
}

#[tokio::test]
async fn leaving_a_blackhole_keeps_connections_that_lost_nothing() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"before", 0).await, b"before");
    proxy.set_both(Mode::Blackhole);
    assert_silent(&mut client).await;
    proxy.heal();
    assert_eq!(round_trip(&mut client, b"after", 0).await, b"after");
    assert_eq!(proxy.stats().killed, 0);
}

#[tokio::test]
async fn delay_holds_each_chunk_back_and_keeps_the_order() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let delay = Duration::from_millis(250);
    proxy.set(Direction::Request, Mode::Delay(delay));
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(round_trip(&mut client, b"slow", 0).await, b"slow");
    assert!(started.elapsed() >= delay, "answered after {:?}", started.elapsed());

    // Both directions delayed: one round trip pays both delays. Chunks written at different
    // times come back whole and in order.
    proxy.set(Direction::Response, Mode::Delay(delay));
    let started = Instant::now();
    for word in [b"a1", b"b2", b"c3"] {
        client.write_all(word).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reply = [0; 6];
    tokio::time::timeout(PROMPT, client.read_exact(&mut reply)).await.unwrap().unwrap();
    assert_eq!(&reply, b"a1b2c3");
    assert!(started.elapsed() >= 2 * delay, "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_blackhole_stops_a_stream_midway() {
    let (echo, proxy) = echo_behind_proxy().await;
    let client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (mut read, mut write) = client.into_split();
    // Drain the echoes so that the echo server never blocks on a full socket.
    tokio::spawn(async move {
        let mut buf = vec![0; 64 * 1024];
        while matches!(read.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    let writer = tokio::spawn(async move {
        loop {
            if write.write_all(&[7; 1024]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    eventually("the stream to flow", || echo.received() > 20 * 1024).await;
    proxy.set(Direction::Request, Mode::Blackhole);
    let at_cut = proxy.stats().request.forwarded;
    eventually("bytes to be swallowed", || proxy.stats().request.discarded > 20 * 1024).await;
    assert_eq!(proxy.stats().request.forwarded, at_cut, "bytes went through a black hole");
    eventually("the echo server to have all that was forwarded", || echo.received() == at_cut)
        .await;
    writer.abort();
}

#[tokio::test]
async fn chunks_waiting_out_a_delay_are_lost_if_the_link_is_cut_meanwhile() {
    let (echo, proxy) = echo_behind_proxy().await;
    proxy.set(Direction::Request, Mode::Delay(Duration::from_millis(200)));
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"queued").await.unwrap();
    eventually("the chunk to wait out its delay", || proxy.stats().request.pending == 6).await;
    proxy.set(Direction::Request, Mode::Blackhole);
    assert_silent(&mut client).await;
    assert_eq!(echo.received(), 0);
    let stats = proxy.stats();
    assert_eq!((stats.request.discarded, stats.request.pending), (6, 0));
}

#[tokio::test]
async fn heal_puts_every_direction_back_to_pass() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let delay = Duration::from_secs(60);
    proxy.set(Direction::Request, Mode::Delay(delay));
    proxy.set(Direction::Response, Mode::Drop);
    proxy.heal();
    assert_eq!(proxy.modes(), Default::default());
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(round_trip(&mut client, b"fine", 0).await, b"fine");
    assert!(started.elapsed() < delay);
}

#[tokio::test]
async fn an_unreachable_upstream_resets_the_client() {
    // A port that was just free: bind, note it, release it.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let proxy = Proxy::start(gone).await.unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_reset(&mut client).await;
    assert_eq!(proxy.stats().upstream_failures, 1);
}

#[tokio::test]
async fn dropping_the_proxy_resets_its_connections() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"x", 0).await, b"x");
    let addr = proxy.local_addr();
    drop(proxy);
    assert_reset(&mut client).await;
    eventually("the listener to close", || std::net::TcpStream::connect(addr).is_err()).await;
}

#[tokio::test]
async fn a_reset_connection_forgets_the_chunks_it_was_delaying() {
    let (echo, proxy) = echo_behind_proxy().await;
    proxy.set(Direction::Request, Mode::Delay(Duration::from_secs(60)));
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"late").await.unwrap();
    eventually("the chunk to be held", || proxy.stats().request.pending == 4).await;
    proxy.set(Direction::Request, Mode::Drop);
    assert_reset(&mut client).await;
    eventually("the held chunk to be let go", || proxy.stats().request.pending == 0).await;
    assert_eq!((echo.received(), proxy.stats().request.forwarded), (0, 0));
}
