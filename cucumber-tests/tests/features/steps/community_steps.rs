//! Users and their comments on articles: registering, commenting, and reading both back as
//! they were sent.

use anyhow::{Context, ensure};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::json;

use cucumber_tests::model::{Comment, User};

use crate::{explain::Explain, http::expect, world::LithairWorld};

#[when(expr = "I register {int} user(s)")]
#[given(expr = "I have registered {int} user(s)")]
async fn register_users(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    for _ in 0..count {
        let n = world.expected.users.len();
        let (name, email) = (format!("User number {n}"), format!("user{n}@example.org"));
        let body = json!({"name": name, "email": email});
        let answer = expect(world, Method::POST, "/api/users", Some(&body), 201).await?;
        let id = answer["id"].as_u64().with_context(|| format!("no integer id in {answer}"))?;
        world.expected.remember_user(User { id, name, email });
    }
    Ok(())
}

/// Comments go round the live articles and the users in turn, so that each comment has its own
/// article, author and text, and a server that mixes any of them up is caught.
#[when(expr = "I add {int} comment(s)")]
async fn add_comments(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let articles: Vec<u64> = world.expected.articles.keys().copied().collect();
    let users: Vec<u64> = world.expected.users.keys().copied().collect();
    ensure!(!articles.is_empty() && !users.is_empty(), "comments need an article and a user");
    for i in 0..count {
        let n = world.expected.comments.len();
        let (article_id, user_id) = (articles[i % articles.len()], users[(i + 1) % users.len()]);
        let body = format!("Comment number {n} by user {user_id} on article {article_id}");
        let sent = json!({"user_id": user_id, "body": body});
        let path = format!("/api/articles/{article_id}/comments");
        let answer = expect(world, Method::POST, &path, Some(&sent), 201).await?;
        let id = answer["id"].as_u64().with_context(|| format!("no integer id in {answer}"))?;
        world.expected.remember_comment(Comment { id, article_id, user_id, body });
    }
    Ok(())
}

/// Every user by id, and every live article's comments in creation order, exactly as sent.
#[then("every user and comment reads back as it was sent")]
async fn users_and_comments_read_back(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.users.is_empty(), "this scenario registered no user");
    for (id, expected) in &world.expected.users {
        let served = expect(world, Method::GET, &format!("/api/users/{id}"), None, 200).await?;
        let served: User = serde_json::from_value(served.clone())
            .explain(format!("GET /api/users/{id} is not a user: {served}"))?;
        ensure!(&served == expected, "user {id}: sent {expected:?}, served {served:?}");
    }
    for article_id in world.expected.articles.keys() {
        let expected: Vec<&Comment> =
            world.expected.comments.values().filter(|c| c.article_id == *article_id).collect();
        let path = format!("/api/articles/{article_id}/comments");
        let page = expect(world, Method::GET, &path, None, 200).await?;
        let served: Vec<Comment> = serde_json::from_value(page["items"].clone())
            .explain(format!("GET {path} does not list comments: {page}"))?;
        ensure!(
            served.iter().collect::<Vec<_>>() == expected && page["total"] == expected.len(),
            "comments of article {article_id}:\n  sent   {expected:?}\n  served {page}"
        );
    }
    Ok(())
}
