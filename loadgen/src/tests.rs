//! The generator against a tiny in-process server whose routes exercise each of its paths:
//! exact counts, pacing, coordinated omission, rejections, broken and hung connections.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use crate::connection::APPLICATION_JSON;
use crate::report::MAX_ERROR_SAMPLES;
use crate::{Check, LoadConfig, LoadReport, Pace, Request, Workload, run, run_many};

/// A tiny server whose routes exercise each path of the generator.
struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
}

#[derive(Default)]
struct ServerState {
    answered: AtomicU64,
    stalled_once: AtomicBool,
}

impl TestServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a test port");
        let addr = listener.local_addr().expect("the test port");
        let state = Arc::new(ServerState::default());
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = accepting.clone();
                let service = service_fn(move |request| respond(state.clone(), request));
                tokio::spawn(async move {
                    let io = TokioIo::new(stream);
                    // Errors here are the connections the `/close` route breaks on purpose.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::Relaxed)
    }
}

/// Returning an error from the service makes hyper drop the connection unanswered.
async fn respond(
    state: Arc<ServerState>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let response = match (request.method().clone(), request.uri().path()) {
        (Method::GET, "/fast") => json_response(StatusCode::OK, r#"{"ok":true}"#.into()),
        (Method::POST, "/articles") => {
            let body = request.into_body().collect().await.map_err(std::io::Error::other)?;
            let sent: serde_json::Value =
                serde_json::from_slice(&body.to_bytes()).map_err(std::io::Error::other)?;
            json_response(StatusCode::CREATED, json!({ "id": sent["n"] }).to_string())
        }
        (Method::GET, "/stall") => {
            if !state.stalled_once.swap(true, Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            json_response(StatusCode::OK, "{}".into())
        }
        (Method::GET, "/hang") => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json_response(StatusCode::OK, "{}".into())
        }
        (Method::GET, "/close") => {
            return Err(std::io::Error::other("closing without an answer"));
        }
        _ => json_response(StatusCode::NOT_FOUND, "{}".into()),
    };
    state.answered.fetch_add(1, Ordering::Relaxed);
    Ok(response)
}

fn json_response(status: StatusCode, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header(CONTENT_TYPE, APPLICATION_JSON)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// GETs one path, over and over.
struct Get(&'static str);

impl Workload for Get {
    fn request(&self, _index: u64) -> Request {
        Request::get(self.0)
    }
}

/// GETs a path chosen by the request's index.
struct GetByIndex(fn(u64) -> &'static str);

impl Workload for GetByIndex {
    fn request(&self, index: u64) -> Request {
        Request::get((self.0)(index))
    }
}

/// Creates articles; the test server answers with the id it was sent, the index.
struct CreateArticles;

impl Workload for CreateArticles {
    fn request(&self, index: u64) -> Request {
        Request::json(Method::POST, "/articles", json!({ "n": index }).to_string())
    }

    fn check(&self, _request: &Request, status: StatusCode, body: &[u8]) -> Check {
        let id = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|created| created["id"].as_u64());
        match (status, id) {
            (StatusCode::CREATED, Some(id)) => Check::Acknowledged(id),
            _ => Check::Failed(format!("{status}: {}", String::from_utf8_lossy(body))),
        }
    }
}

fn sorted(ids: &[u64]) -> Vec<u64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_with_a_request_count_sends_exactly_that_many_and_keeps_every_ack() {
    let server = TestServer::start().await;
    let config = LoadConfig::closed_requests(8, 2000);

    let report = run(server.addr, &config, Arc::new(CreateArticles)).await.unwrap();

    assert_eq!(report.requests, 2000, "{}", report.summary_line());
    assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
    assert_eq!(report.statuses, BTreeMap::from([(201, 2000)]));
    assert_eq!(report.latency.len(), 2000);
    assert_eq!(sorted(&report.acknowledged), (0..2000).collect::<Vec<_>>());
    assert_eq!(server.answered(), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_with_a_duration_stops_on_time() {
    let server = TestServer::start().await;
    let config = LoadConfig::closed_duration(4, Duration::from_millis(300));

    let started = Instant::now();
    let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();
    let took = started.elapsed();

    assert!(report.requests > 0, "{}", report.summary_line());
    assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
    assert!(report.elapsed >= Duration::from_millis(300), "measured {:?}", report.elapsed);
    assert!(took < Duration::from_millis(600), "the run took {took:?}");
    assert_eq!(server.answered(), report.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_exactly_rate_times_duration() {
    let server = TestServer::start().await;
    // 400/s × 0.7495 s = 299.8, rounded to 300.
    let config = LoadConfig::open(4, 400.0, Duration::from_micros(749_500));

    let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();

    assert_eq!(report.requests, 300, "{}", report.summary_line());
    assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
    assert_eq!(server.answered(), 300);
    assert_eq!(report.target_rate, Some(400.0));
    let throughput = report.throughput();
    assert!((360.0..440.0).contains(&throughput), "{}", report.summary_line());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_times_requests_from_their_intended_send_time() {
    let server = TestServer::start().await;
    // Request 40 stalls the only connection for 200 ms; the ~40 requests due meanwhile
    // wait for it, and that wait is part of their latency.
    let stall_at_40 = GetByIndex(|index| if index == 40 { "/stall" } else { "/fast" });
    let config = LoadConfig::open(1, 200.0, Duration::from_secs(1));

    let report = run(server.addr, &config, Arc::new(stall_at_40)).await.unwrap();

    assert_eq!(report.requests, 200, "{}", report.summary_line());
    assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
    let held_up = report.latency.count_between(50_000, u64::MAX);
    assert!(held_up >= 20, "only {held_up} requests took 50 ms or more");
    assert!(report.percentile_ms(99.0) >= 150.0, "{}", report.summary_line());
    assert!(report.percentile_ms(50.0) < 20.0, "{}", report.summary_line());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_responses_and_broken_connections_are_errors_and_the_run_goes_on() {
    let server = TestServer::start().await;
    let flaky = GetByIndex(|index| match index % 10 {
        3 => "/close",
        7 => "/missing",
        _ => "/fast",
    });
    let config = LoadConfig::closed_requests(4, 200);

    let report = run(server.addr, &config, Arc::new(flaky)).await.unwrap();

    assert_eq!(report.requests, 200, "{}", report.summary_line());
    assert_eq!(report.transport_errors, 20, "{:?}", report.error_samples);
    assert_eq!(report.rejected, 20, "{:?}", report.error_samples);
    assert_eq!(report.statuses, BTreeMap::from([(200, 160), (404, 20)]));
    assert!((report.error_rate() - 0.2).abs() < 1e-9);
    assert_eq!(report.error_samples.len(), MAX_ERROR_SAMPLES);
    let samples = report.error_samples.join("\n");
    assert!(samples.contains("GET /close"), "{samples}");
    assert!(
        samples.contains("GET /missing: rejected 404 Not Found: expected a 2xx status"),
        "{samples}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_timeout_is_an_error_and_its_connection_is_replaced() {
    let server = TestServer::start().await;
    let hang_first = GetByIndex(|index| if index == 0 { "/hang" } else { "/fast" });
    let config =
        LoadConfig::closed_requests(1, 20).with_request_timeout(Duration::from_millis(150));

    let started = Instant::now();
    let report = run(server.addr, &config, Arc::new(hang_first)).await.unwrap();

    assert!(started.elapsed() < Duration::from_secs(2), "the hung request held the run");
    assert_eq!(report.requests, 20, "{}", report.summary_line());
    assert_eq!(report.transport_errors, 1);
    assert_eq!(report.statuses, BTreeMap::from([(200, 19)]));
    assert!(report.error_samples[0].contains("no complete response within 150ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_is_left_out_of_the_measurements_but_keeps_its_acknowledgements() {
    let server = TestServer::start().await;
    let config = LoadConfig::open(2, 200.0, Duration::from_millis(500))
        .with_warmup(Duration::from_millis(500));

    let report = run(server.addr, &config, Arc::new(CreateArticles)).await.unwrap();

    assert_eq!(report.warmup_requests, 100, "{}", report.summary_line());
    assert_eq!(report.requests, 100);
    assert_eq!(report.warmup_errors + report.errors(), 0, "{:?}", report.error_samples);
    assert_eq!(report.latency.len(), 100, "warm-up latencies were recorded");
    assert_eq!(report.statuses, BTreeMap::from([(201, 100)]));
    assert_eq!(sorted(&report.acknowledged), (0..200).collect::<Vec<_>>());
    let throughput = report.throughput();
    assert!((170.0..230.0).contains(&throughput), "{}", report.summary_line());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_many_reports_on_each_load_and_merges_them() {
    let server = TestServer::start().await;
    let loads: Vec<(LoadConfig, Arc<dyn Workload>)> = vec![
        (LoadConfig::closed_requests(4, 300).with_label("readers"), Arc::new(Get("/fast"))),
        (LoadConfig::closed_requests(2, 100).with_label("writers"), Arc::new(CreateArticles)),
    ];

    let reports = run_many(server.addr, &loads).await.unwrap();
    let total = LoadReport::merge("total", &reports).unwrap();

    let [readers, writers] = &reports[..] else { panic!("{} reports", reports.len()) };
    assert_eq!((readers.label.as_str(), readers.requests), ("readers", 300));
    assert_eq!((writers.label.as_str(), writers.requests), ("writers", 100));
    assert!(readers.acknowledged.is_empty());
    assert_eq!(sorted(&writers.acknowledged), (0..100).collect::<Vec<_>>());
    assert_eq!(total.requests, 400);
    assert_eq!(total.connections, 6);
    assert_eq!(total.statuses, BTreeMap::from([(200, 300), (201, 100)]));
    assert_eq!(total.latency.len(), 400);
    assert!(total.summary_line().starts_with("total: 400 requests, 0 errors"));
    let json = total.to_json();
    assert_eq!(json["requests"], 400);
    assert_eq!(json["statuses"]["201"], 100);
    assert_eq!(json["acknowledged"], 100);
    assert!(json["latency_ms"]["p99"].as_f64().is_some_and(|p99| p99 > 0.0), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_or_an_endless_config_fails_at_once() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let config = LoadConfig::closed_requests(2, 10);
    let error = run(closed_port, &config, Arc::new(Get("/fast"))).await.unwrap_err();
    assert!(format!("{error:#}").contains("connecting"), "{error:#}");

    let endless = LoadConfig::with_pace(1, Pace::Closed { requests: None, duration: None });
    let error = run(closed_port, &endless, Arc::new(Get("/fast"))).await.unwrap_err();
    assert!(format!("{error:#}").contains("never stops"), "{error:#}");
}

/// A rough figure, not a check: `cargo test -p loadgen --lib tests::throughput --
/// --ignored --nocapture`. The server is the trivial handler above, on the same CPUs.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a 2-second measurement, run by hand"]
async fn throughput_against_a_trivial_handler() {
    let server = TestServer::start().await;
    let config = LoadConfig::closed_duration(50, Duration::from_secs(2))
        .with_warmup(Duration::from_millis(300));

    let report = run(server.addr, &config, Arc::new(Get("/fast"))).await.unwrap();

    println!("{}", report.summary_line());
    assert_eq!(report.errors(), 0, "{:?}", report.error_samples);
}
