//! HTTP/1.1 behaviour: keep-alive, pipelining, `Connection: close`, chunked bodies, timeouts.
//! These go through raw sockets or a single hyper connection, so that "one connection" is a
//! fact of the test rather than of a client's pool.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn post_article(title: &str, extra_headers: &str) -> String {
    let body = format!(r#"{{"title":"{title}","content":"c"}}"#);
    format!(
        "POST /api/articles HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

fn get(path: &str, extra_headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: x\r\n{extra_headers}\r\n")
}

#[tokio::test]
async fn several_requests_share_one_keep_alive_connection_post_then_get() {
    let server = TestServer::start().await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);

    for i in 0..10 {
        let body = format!(r#"{{"title":"keep-alive {i}","content":"c"}}"#);
        let post = Request::post("/api/articles")
            .header("host", "x")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(post).await.expect("POST on the shared connection");
        assert_eq!(response.status(), 201);
        let created = response.into_body().collect().await.unwrap().to_bytes();
        let id = serde_json::from_slice::<serde_json::Value>(&created).unwrap()["id"].clone();

        let get = Request::get(format!("/api/articles/{id}"))
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .unwrap();
        sender.ready().await.unwrap();
        let response =
            sender.send_request(get).await.expect("GET after POST on the same connection");
        assert_eq!(response.status(), 200);
        let read = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(read, created);
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let pipeline = [
        post_article("first", ""),
        get("/api/articles/0", ""),
        post_article("second", ""),
        get("/api/nothing", ""),
        get("/api/articles/1", ""),
    ]
    .concat();
    stream.write_all(pipeline.as_bytes()).await.unwrap();

    let responses = read_responses(&mut stream, 5).await;
    let statuses: Vec<u16> = responses.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [201, 200, 201, 404, 200]);
    assert!(responses[1].1.contains("\"title\":\"first\""));
    assert!(responses[4].1.contains("\"title\":\"second\""));
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(get("/health", "connection: close\r\n").as_bytes()).await.unwrap();
    let mut everything = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut everything))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let text = String::from_utf8_lossy(&everything);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
}

#[tokio::test]
async fn a_chunked_request_body_is_read() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (first, second) = (r#"{"title":"chun"#, r#"ked","content":"c"}"#);
    let request = format!(
        "POST /api/articles HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let responses = read_responses(&mut stream, 1).await;
    assert_eq!(responses[0].0, 201, "{}", responses[0].1);
    assert!(responses[0].1.contains("\"title\":\"chunked\""));
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let server = TestServer::start_with(|config| lithair_server::ServerConfig {
        header_read_timeout: Duration::from_millis(500),
        ..config
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n").await.unwrap(); // never finished
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a slow client must not hold the connection forever");

    // The server still serves others.
    assert_eq!(health(&server).await["status"], "ok");
}
