//! Graceful shutdown with requests in flight: every acknowledged write survives, the server
//! returns cleanly, and the data directory is free for the next start.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::*;
use lithair_core::Durability;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_loses_no_acknowledged_write() {
    let server = TestServer::start().await;
    let url = server.url("/api/articles");
    let stop_writing = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..32)
        .map(|writer| {
            let (url, stop_writing) = (url.clone(), Arc::clone(&stop_writing));
            tokio::spawn(async move {
                let client = client();
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if stop_writing.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({"title": format!("w{writer}-{i}"), "content": "c"});
                    match client.post(&url).json(&body).send().await {
                        Ok(response) if response.status() == 201 => {
                            let article: serde_json::Value = response.json().await.unwrap();
                            acknowledged.push(article["id"].as_u64().unwrap());
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        // Once shutdown starts, new requests find the door closed.
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = server.stop().await;
    stop_writing.store(true, Ordering::Relaxed);

    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(acknowledged.len() > 50, "only {} writes before shutdown", acknowledged.len());

    let config = lithair_server::ServerConfig {
        durability: Durability::Fsync,
        ..lithair_server::ServerConfig::new(dir.path())
    };
    let server = TestServer::start_in(dir, config).await;
    for id in &acknowledged {
        assert_eq!(
            get_json(&server.url(&format!("/api/articles/{id}"))).await.0,
            200,
            "article {id}"
        );
    }
    assert!(health(&server).await["events"].as_u64().unwrap() >= acknowledged.len() as u64);
}
