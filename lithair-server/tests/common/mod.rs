//! A real server on an ephemeral port, in this process, with its own data directory.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::{net::SocketAddr, path::Path, time::Duration};

use lithair_core::Durability;
use lithair_server::{ServerConfig, ServerError};
use serde_json::{Value, json};
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|config| config).await
    }

    pub async fn start_with(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let config = configure(ServerConfig::new(dir.path()));
        Self::start_in(dir, config).await
    }

    /// Start on `dir`, which may hold data from an earlier server.
    pub async fn start_in(dir: tempfile::TempDir, config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = lithair_server::Server::open(config).await.expect("server opens");
        let task = tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        TestServer { addr, dir, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Shut down gracefully; returns the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.stop.take().unwrap().send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(20), self.task.take().unwrap())
            .await
            .expect("the server stops within 20 s")
            .unwrap();
        result.expect("the server stops cleanly");
        let TestServer { dir, .. } = self;
        dir
    }

    pub async fn restart(self, durability: Durability) -> TestServer {
        let dir = self.stop().await;
        let config = ServerConfig { durability, ..ServerConfig::new(dir.path()) };
        TestServer::start_in(dir, config).await
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("events.raftlog")).unwrap_or_default()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// POST/PUT `body` as JSON; returns the status and the JSON answer.
pub async fn send_json(method: reqwest::Method, url: &str, body: &Value) -> (u16, Value) {
    let response = client().request(method, url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn create_article(server: &TestServer, title: &str, content: &str) -> Value {
    let (status, article) = send_json(
        reqwest::Method::POST,
        &server.url("/api/articles"),
        &json!({"title": title, "content": content}),
    )
    .await;
    assert_eq!(status, 201, "{article}");
    article
}

pub async fn health(server: &TestServer) -> Value {
    let (status, health) = get_json(&server.url("/health")).await;
    assert_eq!(status, 200);
    health
}

/// Read from `stream` until `count` complete responses have arrived; returns (status, body).
pub async fn read_responses(stream: &mut TcpStream, count: usize) -> Vec<(u16, String)> {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(responses) = parse_responses(&buffer, count) {
            return responses;
        }
        let mut chunk = [0u8; 8192];
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("responses within 5 s")
            .unwrap();
        assert!(read > 0, "connection closed after {:?}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn parse_responses(mut buffer: &[u8], count: usize) -> Option<Vec<(u16, String)>> {
    let mut responses = Vec::new();
    while responses.len() < count {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(head_len) = response.parse(buffer).ok()? else {
            return None;
        };
        let length: usize = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map_or(0, |h| std::str::from_utf8(h.value).unwrap().parse().unwrap());
        if buffer.len() < head_len + length {
            return None;
        }
        let body = String::from_utf8(buffer[head_len..head_len + length].to_vec()).unwrap();
        responses.push((response.code.unwrap(), body));
        buffer = &buffer[head_len + length..];
    }
    Some(responses)
}
