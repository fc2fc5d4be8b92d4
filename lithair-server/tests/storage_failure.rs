//! When the log cannot be written, writes get 503, nothing unsaved is visible, and reads
//! keep working. The failure is real: the process's file-size limit makes the next append
//! fail with EFBIG, like a full disk. The limit is per process, hence this file of its own.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_log_that_cannot_be_written_gives_503_and_applies_nothing() {
    let server = TestServer::start().await;
    create_article(&server, "saved", "before the failure").await;
    let log_len = std::fs::metadata(server.data_dir().join("events.raftlog")).unwrap().len();
    powercut::limit_file_size(Some(log_len + 10));

    let (status, error) = send_json(
        Method::POST,
        &server.url("/api/articles"),
        &json!({"title": "lost", "content": "x".repeat(100)}),
    )
    .await;
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["error"]["code"], "storage_unavailable");
    assert_eq!(
        get_json(&server.url("/api/articles/1")).await.0,
        404,
        "the failed write is not visible"
    );
    assert_eq!(get_json(&server.url("/api/articles/0")).await.0, 200, "reads keep working");

    let (status, health) = get_json(&server.url("/health")).await;
    assert_eq!(status, 503);
    assert_eq!(health["status"], "unavailable");
    assert!(health["error"].as_str().is_some());

    let (status, _) = send_json(Method::DELETE, &server.url("/api/articles/0"), &json!({})).await;
    assert_eq!(status, 503, "later writes fail too instead of silently succeeding");
    powercut::limit_file_size(None);
}
