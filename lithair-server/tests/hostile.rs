//! Badly-behaved clients (features/hostile_http.feature): each gets a clear answer or a clean
//! close, nothing they send is half-applied, and the well-behaved clients beside them do not
//! notice.
//!
//! Every client here is a raw socket (the `rawhttp` crate), so that "sends its whole body
//! before reading" or "one byte per second" is a fact of the test, not of a client library.

mod common;

use std::{
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::*;
use lithair_server::ServerConfig;
use rawhttp::*;
use serde_json::Value;
use tokio::{io::AsyncWriteExt, net::TcpStream};

const TWO_MIB: usize = 2 << 20;

/// Panics anywhere in this process, server tasks included (tokio catches them, the hook
/// still sees them).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// Short limits, so that the tests are quick.
fn short_limits(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..config
    }
}

fn assert_nothing_written(server: &TestServer) {
    assert_eq!(server.log(), "", "a refused request must write nothing");
}

async fn assert_healthy(server: &TestServer) {
    assert_eq!(health(server).await["status"], "ok");
}

fn assert_error(outcome: &Outcome, status: u16, code: Option<&str>) {
    let response = outcome.response().unwrap_or_else(|| {
        panic!(
            "no response (end {:?}, send error {:?}) after {:?}: {:?}",
            outcome.end,
            outcome.send_error,
            outcome.elapsed,
            String::from_utf8_lossy(&outcome.bytes)
        )
    });
    assert_eq!(response.status, status, "{:?}", String::from_utf8_lossy(&outcome.bytes));
    if let Some(code) = code {
        assert_eq!(response.error_code().as_deref(), Some(code));
    }
}

// 1. Oversized bodies ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_sent_before_reading_always_gets_its_413() {
    let server = TestServer::start().await;
    let body = vec![b'x'; TWO_MIB];
    let by_length = post("/api/articles", &format!("content-length: {TWO_MIB}\r\n"), &body);
    let by_chunks = post("/api/articles", "transfer-encoding: chunked\r\n", &chunked(&body, 8192));
    for attempt in 0..20 {
        let request = if attempt % 2 == 0 { &by_length } else { &by_chunks };
        // The head and the start of the body, a pause (the server answers meanwhile), the rest.
        let (start, rest) = request.split_at(1 << 20 | 4096);
        let pause = Duration::from_millis(20);
        let outcome =
            send_pieces_then_read(server.addr, &[start, rest], pause, Duration::from_secs(10))
                .await
                .unwrap();
        // http.client and many SDKs give up at a send error, never reading the answer.
        assert_eq!(outcome.send_error, None, "attempt {attempt}: the whole request was sent");
        assert_error(&outcome, 413, Some("payload_too_large"));
        assert_eq!(outcome.end, End::Closed, "attempt {attempt}: closed cleanly, not reset");
    }
    assert_nothing_written(&server);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn expect_100_continue_with_an_oversized_length_gets_413_without_the_body() {
    let server = TestServer::start().await;
    let head = post(
        "/api/articles",
        &format!("content-length: {TWO_MIB}\r\nexpect: 100-continue\r\n"),
        b"",
    );
    let outcome = send_then_read(server.addr, &head, Duration::from_secs(5)).await.unwrap();
    assert_error(&outcome, 413, Some("payload_too_large"));
    assert_eq!(outcome.responses().len(), 1, "no 100 Continue before the 413");
    assert_eq!(outcome.end, End::Closed);
    assert_nothing_written(&server);
}

// 2. Request smuggling shapes ------------------------------------------------------------

#[tokio::test]
async fn smuggling_shapes_get_400_and_a_closed_connection() {
    let server = TestServer::start().await;
    let article = br#"{"title":"s","content":"mug"}"#;
    let smuggled = post("/api/articles", "content-length: 29\r\n", article);
    // Both framings, in either order: the chunked body is a valid article, which hyper alone
    // would apply; the Content-Length would make its tail a second request.
    let both =
        |headers: &str| [post("/api/articles", headers, &chunked(article, 8)), smuggled.clone()];
    let length_first = both("content-length: 4\r\ntransfer-encoding: chunked\r\n").concat();
    let chunked_first = both("transfer-encoding: chunked\r\ncontent-length: 4\r\n").concat();
    let two_lengths = post("/api/articles", "content-length: 5\r\ncontent-length: 6\r\n", b"{}");
    let bad_chunk =
        post("/api/articles", "transfer-encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n");
    for (what, request, code) in [
        ("Content-Length, then Transfer-Encoding", &length_first, Some("ambiguous_framing")),
        ("Transfer-Encoding, then Content-Length", &chunked_first, Some("ambiguous_framing")),
        ("two different Content-Lengths", &two_lengths, None),
        ("an invalid chunk size", &bad_chunk, Some("unreadable_body")),
    ] {
        let outcome = send_then_read(server.addr, request, Duration::from_secs(3)).await.unwrap();
        assert_error(&outcome, 400, code);
        assert_eq!(outcome.responses().len(), 1, "{what}: one answer only");
        assert_eq!(outcome.end, End::Closed, "{what}: the connection is closed");
    }
    assert_nothing_written(&server);
    assert_healthy(&server).await;
}

/// The framing inspector follows pipelined requests of every framing: the ones before the
/// ambiguous request are served, the ambiguous one is refused, nothing after it is read.
#[tokio::test]
async fn pipelined_requests_before_an_ambiguous_one_are_served() {
    let server = TestServer::start().await;
    let article = |title: &str| format!(r#"{{"title":"{title}","content":"c"}}"#).into_bytes();
    let by_length = |title: &str| {
        let body = article(title);
        post("/api/articles", &format!("content-length: {}\r\n", body.len()), &body)
    };
    let by_chunks = |title: &str, extra: &str| {
        let headers = format!("transfer-encoding: chunked\r\n{extra}");
        post("/api/articles", &headers, &chunked(&article(title), 5))
    };
    let pipeline = [
        by_chunks("one", ""),
        by_length("two"),
        b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        by_chunks("smuggled", "content-length: 9\r\n"),
        by_length("never read"),
    ]
    .concat();
    let outcome = send_then_read(server.addr, &pipeline, Duration::from_secs(3)).await.unwrap();
    let statuses: Vec<u16> = outcome.responses().iter().map(|response| response.status).collect();
    assert_eq!(statuses, [201, 201, 200, 400], "{:?}", String::from_utf8_lossy(&outcome.bytes));
    assert_eq!(outcome.end, End::Closed);
    let log = server.log();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.contains("\"one\"") && log.contains("\"two\""), "{log}");
}

// 3. Oversized request heads -------------------------------------------------------------

#[tokio::test]
async fn an_oversized_head_gets_431_and_others_are_unaffected() {
    let server = TestServer::start().await;
    let body = br#"{"title":"big head","content":"c"}"#;
    let with_header = |size: usize| {
        let header =
            format!("x-padding: {}\r\ncontent-length: {}\r\n", "a".repeat(size), body.len());
        post("/api/articles", &header, body)
    };
    for size in [70_000, 20_000] {
        let outcome =
            send_then_read(server.addr, &with_header(size), Duration::from_secs(3)).await.unwrap();
        assert_error(&outcome, 431, Some("request_head_too_large"));
        assert_eq!(outcome.end, End::Closed, "{size}-byte header");
        assert_healthy(&server).await;
    }
    let long_uri = format!("GET /health?{} HTTP/1.1\r\nhost: x\r\n\r\n", "q".repeat(20_000));
    let outcome =
        send_then_read(server.addr, long_uri.as_bytes(), Duration::from_secs(3)).await.unwrap();
    assert_error(&outcome, 431, Some("request_head_too_large"));
    assert_nothing_written(&server);

    let outcome =
        send_then_read(server.addr, &with_header(10_000), Duration::from_secs(3)).await.unwrap();
    assert_eq!(outcome.response().map(|r| r.status), Some(201), "within the limit");
}

// 4. Slow clients ------------------------------------------------------------------------

#[tokio::test]
async fn a_client_sending_its_headers_slowly_is_cut_off() {
    let server = TestServer::start_with(short_limits).await;
    let request =
        b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let outcome =
        trickle(server.addr, request, 1, Duration::from_millis(100), Duration::from_secs(5))
            .await
            .unwrap();
    assert_ne!(outcome.end, End::StillOpen, "the slow client must be cut off");
    assert!(outcome.response().is_none(), "{outcome:?}");
    assert!(outcome.elapsed < Duration::from_secs(3), "cut off after {:?}", outcome.elapsed);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_client_sending_its_body_slowly_gets_408() {
    let server = TestServer::start_with(short_limits).await;
    let body = br#"{"title":"slow body","content":"cccccccccccccccccccccccccccccccccccccccccccc"}"#;
    let request = post("/api/articles", &format!("content-length: {}\r\n", body.len()), body);
    let head_len = request.len() - body.len();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&request[..head_len]).await.unwrap();
    let pause = Duration::from_millis(100);
    let outcome = trickle_on(stream, &request[head_len..], 1, pause, Duration::from_secs(5)).await;
    assert_error(&outcome, 408, Some("body_timeout"));
    assert_eq!(outcome.end, End::Closed);
    assert_nothing_written(&server);
    assert_healthy(&server).await;
}

/// 50 clients, each `requests` GETs and POSTs on its own keep-alive connection; returns the
/// latencies, and fails on any error.
async fn normal_load(server: &TestServer, clients: usize, requests: usize) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("a normal client connects");
            let mut latencies = Vec::new();
            for i in 0..requests {
                let request = if i % 2 == 0 {
                    b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n".to_vec()
                } else {
                    let body = format!(r#"{{"title":"normal {client} {i}","content":"c"}}"#);
                    post(
                        "/api/articles",
                        &format!("content-length: {}\r\n", body.len()),
                        body.as_bytes(),
                    )
                };
                let started = std::time::Instant::now();
                stream.write_all(&request).await.expect("a normal client sends");
                let responses = read_responses(&mut stream, 1).await;
                latencies.push(started.elapsed());
                assert!(matches!(responses[0].0, 200 | 201), "{responses:?}");
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("no normal client fails"));
    }
    all
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[(latencies.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_disturb_normal_ones() {
    let server = TestServer::start_with(|config| ServerConfig {
        durability: lithair_core::Durability::Flush,
        ..short_limits(config)
    })
    .await;
    let quiet = p99(normal_load(&server, 50, 20).await);
    let mut slow = Vec::new();
    for i in 0..40 {
        let addr = server.addr;
        slow.push(tokio::spawn(async move {
            let body = br#"{"title":"slow","content":"c"}"#;
            let request = if i % 2 == 0 {
                b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: 1234567890\r\n\r\n".to_vec()
            } else {
                post("/api/articles", &format!("content-length: {}\r\n", body.len() + 10), body)
            };
            trickle(addr, &request, 1, Duration::from_millis(50), Duration::from_secs(5))
                .await
                .unwrap()
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let disturbed = p99(normal_load(&server, 50, 20).await);
    for task in slow {
        assert_ne!(task.await.unwrap().end, End::StillOpen, "every slow client is cut off");
    }
    println!("p99 of 50 normal clients: {quiet:?} alone, {disturbed:?} beside 40 slow ones");
    // The 2x limit is the feature's (features/hostile_http.feature), measured on an optimised
    // build; here, on a shared machine, only a gross regression is caught.
    assert!(disturbed < quiet * 10 + Duration::from_millis(100), "{disturbed:?} vs {quiet:?}");
    assert_healthy(&server).await;
}

// 5. Connection floods -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_idle_connections_do_not_stop_the_server() {
    let server = TestServer::start_with(|config| ServerConfig {
        durability: lithair_core::Durability::Flush,
        ..config
    })
    .await;
    let quiet = p99(normal_load(&server, 20, 10).await);
    let mut idle = Vec::new();
    for _ in 0..5000 {
        idle.push(TcpStream::connect(server.addr).await.expect("an idle client connects"));
    }
    let flooded = p99(normal_load(&server, 20, 10).await);
    println!("p99 of 20 normal clients: {quiet:?} alone, {flooded:?} beside 5000 idle connections");
    assert!(flooded < quiet * 10 + Duration::from_millis(200), "{flooded:?} vs {quiet:?}");
    drop(idle);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn beyond_max_connections_a_client_gets_503_and_a_close() {
    let server =
        TestServer::start_with(|config| ServerConfig { max_connections: 10, ..config }).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        assert_eq!(read_responses(&mut stream, 1).await[0].0, 200);
        held.push(stream);
    }
    let request = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";
    let outcome = send_then_read(server.addr, request, Duration::from_secs(3)).await.unwrap();
    assert_error(&outcome, 503, Some("too_many_connections"));
    assert_eq!(outcome.end, End::Closed);

    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let outcome = send_then_read(server.addr, request, Duration::from_secs(3)).await.unwrap();
        if outcome.response().is_some_and(|r| r.status == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "served again once the others left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// 6. Abrupt disconnects under write load --------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_disconnects_lose_no_acknowledged_write_and_apply_no_half() {
    count_panics();
    let server = TestServer::start_with(|config| ServerConfig {
        durability: lithair_core::Durability::Flush,
        ..config
    })
    .await;

    let mut writers = Vec::new();
    for writer in 0..8 {
        let addr = server.addr;
        writers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut acknowledged = Vec::new();
            for i in 0..25 {
                let title = format!("kept {writer}-{i}");
                let body = article(&title);
                let request = post(
                    "/api/articles",
                    &format!("content-length: {}\r\n", body.len()),
                    body.as_bytes(),
                );
                stream.write_all(&request).await.unwrap();
                let (status, answer) = read_responses(&mut stream, 1).await.remove(0);
                assert_eq!(status, 201, "{answer}");
                acknowledged.push(title);
            }
            acknowledged
        }));
    }
    let mut vandals = Vec::new();
    for vandal in 0..8 {
        let addr = server.addr;
        vandals.push(tokio::spawn(async move {
            for i in 0..25 {
                let title = format!("vandal {vandal}-{i}");
                let body = article(&title);
                let request = post(
                    "/api/articles",
                    &format!("content-length: {}\r\n", body.len()),
                    body.as_bytes(),
                );
                let mut stream = TcpStream::connect(addr).await.unwrap();
                // A reset rather than a FIN: SO_LINGER 0.
                stream.set_zero_linger().unwrap();
                if i % 2 == 0 {
                    // Mid-request: half the body, then gone.
                    let _ = stream.write_all(&request[..request.len() - body.len() / 2]).await;
                } else {
                    // Mid-response: the whole request, gone before the answer is read.
                    let _ = stream.write_all(&request).await;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(stream);
            }
        }));
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    for vandal in vandals {
        vandal.await.unwrap();
    }

    let check = |articles: &[Value]| {
        for title in &acknowledged {
            assert!(articles.iter().any(|a| a["title"] == title.as_str()), "{title} was lost");
        }
        for a in articles {
            let title = a["title"].as_str().unwrap();
            assert_eq!(a["content"], content(title), "{title} is whole");
            assert!(
                !title.starts_with("vandal") || odd(title),
                "{title}: a half-sent body was applied"
            );
        }
    };
    check(&all_articles(&server).await);
    let server = server.restart(lithair_core::Durability::Flush).await;
    check(&all_articles(&server).await);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}

fn content(title: &str) -> String {
    format!("content of {title} ").repeat(20)
}

fn article(title: &str) -> String {
    format!(r#"{{"title":"{title}","content":"{}"}}"#, content(title))
}

/// Vandals with an odd request number sent their whole request: it may have been applied.
fn odd(title: &str) -> bool {
    title.rsplit('-').next().and_then(|i| i.parse::<u32>().ok()).is_some_and(|i| i % 2 == 1)
}

async fn all_articles(server: &TestServer) -> Vec<Value> {
    let (status, page) = get_json(&server.url("/api/articles?limit=1000")).await;
    assert_eq!(status, 200);
    page["items"].as_array().unwrap().clone()
}

// 7. Garbage on the socket ---------------------------------------------------------------

#[tokio::test]
async fn garbage_gets_400_or_a_close_within_a_second() {
    count_panics();
    let server = TestServer::start().await;
    let mut random = vec![0u8; 4096];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for byte in &mut random {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = (state >> 24) as u8;
    }
    let mut client_hello = vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03];
    client_hello.extend_from_slice(&random[..160]);
    let h2_preface =
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00".to_vec();
    let get_with_body =
        b"GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello".to_vec();
    for (what, bytes) in [
        ("random bytes", random),
        ("a TLS ClientHello", client_hello),
        ("the HTTP/2 preface", h2_preface),
        ("GET with a body", get_with_body),
    ] {
        let outcome = send_then_read(server.addr, &bytes, Duration::from_secs(1)).await.unwrap();
        let answered_400 = outcome.response().is_some_and(|r| r.status == 400);
        assert!(
            answered_400 || outcome.end != End::StillOpen,
            "{what}: neither a 400 nor a close within 1 s: {outcome:?}"
        );
        if let Some(response) = outcome.response() {
            assert_eq!(response.status, 400, "{what}");
        }
        assert_healthy(&server).await;
    }
    assert_nothing_written(&server);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}
