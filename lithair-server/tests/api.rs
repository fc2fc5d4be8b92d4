//! Every route of the API against a real server on port 0.

mod common;

use common::*;
use lithair_core::Durability;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_reports_counts() {
    let server = TestServer::start().await;
    let health = health(&server).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["events"], 0);
    assert_eq!(health["articles"], 0);
    assert_eq!(health["durability"], "fsync");

    create_article(&server, "One", "1").await;
    assert_eq!(common::health(&server).await["events"], 1);
    assert_eq!(common::health(&server).await["articles"], 1);
}

#[tokio::test]
async fn create_read_update_delete_an_article() {
    let server = TestServer::start().await;

    let response = client()
        .post(server.url("/api/articles"))
        .json(&json!({"title": "Hello", "content": "World", "author_id": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/api/articles/0");
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        created,
        json!({"id": 0, "title": "Hello", "content": "World", "author_id": 7, "checksum": "ec209706"})
    );

    assert_eq!(get_json(&server.url("/api/articles/0")).await, (200, created));

    let (status, updated) = send_json(
        Method::PUT,
        &server.url("/api/articles/0"),
        &json!({"title": "Hello again", "content": "World"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["title"], "Hello again");
    assert_eq!(updated["author_id"], serde_json::Value::Null, "PUT replaces the whole article");
    assert_ne!(updated["checksum"], "ec209706");
    assert_eq!(get_json(&server.url("/api/articles/0")).await, (200, updated));

    let response = client().delete(server.url("/api/articles/0")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(get_json(&server.url("/api/articles/0")).await.0, 404);
    assert_eq!(client().delete(server.url("/api/articles/0")).send().await.unwrap().status(), 404);

    let log = server.log();
    let types: Vec<&str> = log
        .lines()
        .map(|line| line.split("\"type\":\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(types, ["ArticleCreated", "ArticleUpdated", "ArticleDeleted"]);
}

#[tokio::test]
async fn ids_are_dense_never_reused_and_continue_after_a_restart() {
    let server = TestServer::start().await;
    for expected in 0..5 {
        assert_eq!(create_article(&server, "t", "c").await["id"], expected);
    }
    client().delete(server.url("/api/articles/4")).send().await.unwrap();
    assert_eq!(create_article(&server, "t", "c").await["id"], 5, "a deleted id is not reused");

    let server = server.restart(Durability::Fsync).await;
    assert_eq!(create_article(&server, "t", "c").await["id"], 6);
    assert_eq!(get_json(&server.url("/api/articles/4")).await.0, 404, "deleted stays deleted");
    assert_eq!(get_json(&server.url("/api/articles/3")).await.0, 200);
}

#[tokio::test]
async fn listing_pages_through_live_articles() {
    let server = TestServer::start().await;
    for i in 0..12 {
        create_article(&server, &format!("Article {i}"), "text").await;
    }
    client().delete(server.url("/api/articles/1")).send().await.unwrap();

    let (status, page) = get_json(&server.url("/api/articles?offset=2&limit=3")).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 11);
    let ids: Vec<u64> =
        page["items"].as_array().unwrap().iter().map(|a| a["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [3, 4, 5]);

    let (_, all) = get_json(&server.url("/api/articles")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 11);
    assert_eq!(all["limit"], 100);
    assert_eq!(get_json(&server.url("/api/articles?limit=5000")).await.0, 400);
}

#[tokio::test]
async fn users_and_comments() {
    let server = TestServer::start().await;
    let article = create_article(&server, "Post", "Body").await;
    let (status, user) = send_json(
        Method::POST,
        &server.url("/api/users"),
        &json!({"name": "Ann", "email": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user, json!({"id": 0, "name": "Ann", "email": "ann@example.com"}));
    assert_eq!(get_json(&server.url("/api/users/0")).await, (200, user));

    let comments = server.url(&format!("/api/articles/{}/comments", article["id"]));
    let (status, comment) =
        send_json(Method::POST, &comments, &json!({"user_id": 0, "body": "Nice"})).await;
    assert_eq!(status, 201, "{comment}");
    assert_eq!(comment, json!({"id": 0, "article_id": 0, "user_id": 0, "body": "Nice"}));
    let (_, listed) = get_json(&comments).await;
    assert_eq!(listed, json!({"total": 1, "items": [comment]}));

    let (status, error) =
        send_json(Method::POST, &comments, &json!({"user_id": 9, "body": "x"})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = send_json(
        Method::POST,
        &server.url("/api/articles/9/comments"),
        &json!({"user_id": 0, "body": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(get_json(&server.url("/api/articles/9/comments")).await.0, 404);
    assert_eq!(get_json(&server.url("/api/users/9")).await.0, 404);
    assert_eq!(common::health(&server).await["events"], 3, "rejected comments wrote nothing");
}

#[tokio::test]
async fn concurrent_creates_get_unique_dense_ids() {
    let server = TestServer::start_with(|c| lithair_server::ServerConfig {
        durability: Durability::Flush,
        ..c
    })
    .await;
    let url = server.url("/api/articles");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let (status, article) = send_json(
                    Method::POST,
                    &url,
                    &json!({"title": format!("t{i}"), "content": "c"}),
                )
                .await;
                assert_eq!(status, 201);
                article["id"].as_u64().unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort();
    assert_eq!(ids, (0..200).collect::<Vec<_>>());
}
