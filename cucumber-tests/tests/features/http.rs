//! Talking to the server from steps: JSON over reqwest, answers kept for the Then steps.

use std::collections::BTreeMap;

use anyhow::{Context, bail, ensure};
use cucumber_tests::model::{Article, ArticleInput};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::{explain::Explain, world::LithairWorld};

/// An answer from the server.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// Send `body` (as JSON, when given) and read the JSON answer (`null` for an empty one).
pub async fn send(
    world: &LithairWorld,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Reply> {
    let mut request = world.http.request(method.clone(), world.server.url(path)?);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.explain(format!("{method} {path}"))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.explain(format!("reading the answer to {method} {path}"))?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).explain(format!(
            "{method} {path} answered {status} with a body that is not JSON: {bytes:?}"
        ))?
    };
    Ok(Reply { status, body })
}

/// Send and require `expected` status.
pub async fn expect(
    world: &LithairWorld,
    method: Method,
    path: &str,
    body: Option<&Value>,
    expected: u16,
) -> anyhow::Result<Value> {
    let reply = send(world, method.clone(), path, body).await?;
    if reply.status != expected {
        bail!("{method} {path}: expected {expected}, got {}: {}", reply.status, reply.body);
    }
    Ok(reply.body)
}

/// The article the CRUD steps send as their `n`th.
pub fn numbered_article(n: usize) -> ArticleInput {
    ArticleInput::new(
        format!("Article number {n}"),
        format!("Content of article {n}: Lithair keeps everything in memory and nothing is lost."),
    )
}

/// Every live article the server serves, by id, paging through the list. Each must be exactly
/// an article: a missing or unknown field fails.
pub async fn all_articles(world: &LithairWorld) -> anyhow::Result<BTreeMap<u64, Article>> {
    all_articles_at(&world.http, &world.server.url("")?).await
}

/// Every live article the server at `base` (`http://host:port`) serves, by id.
pub async fn all_articles_at(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<BTreeMap<u64, Article>> {
    let mut articles = BTreeMap::new();
    loop {
        let url = format!("{base}/api/articles?offset={}&limit=1000", articles.len());
        let response = client.get(&url).send().await.explain(format!("GET {url}"))?;
        ensure!(response.status() == 200, "GET {url} answered {}", response.status());
        let page: Value = response.json().await.explain(format!("reading {url}"))?;
        let items = page["items"].as_array().context("the list has no items")?;
        for item in items {
            let article = Article::deserialize(item)
                .explain(format!("the list holds something other than an article: {item}"))?;
            if let Some(twice) = articles.insert(article.id, article) {
                bail!("article {} is listed twice", twice.id);
            }
        }
        let total = page["total"].as_u64().context("the list has no total")? as usize;
        if items.is_empty() || articles.len() >= total {
            ensure!(
                articles.len() == total,
                "the list says {total} articles but served {}",
                articles.len()
            );
            return Ok(articles);
        }
    }
}
