//! Creating, reading, modifying and deleting articles (and users and comments) over HTTP,
//! checking every answer on the way.
//!
//! The steps in `steps/crud_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::{collections::BTreeSet, sync::Arc};

use anyhow::{Context, bail, ensure};
use cucumber::gherkin::Step;
use cucumber_tests::{
    model::{Article, ArticleInput, Comment, User, article_checksum},
    workloads::ModifyArticles,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    explain::Explain,
    http::{self, expect, numbered_article, send},
    world::LithairWorld,
};

pub async fn create_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    for _ in 0..count {
        let sent = numbered_article(world.expected.created_ids.len());
        let answer = expect(world, Method::POST, "/api/articles", Some(&json!(sent)), 201).await?;
        world.expected.remember_created(sent.with_id(assigned_id(&answer)?));
    }
    Ok(())
}

pub async fn create_in_parallel(
    world: &mut LithairWorld,
    count: usize,
    workers: usize,
) -> anyhow::Result<()> {
    let per_worker = count.div_ceil(workers.max(1));
    let plan: Vec<usize> =
        (0..workers).map(|w| per_worker.min(count.saturating_sub(w * per_worker))).collect();
    create_concurrently(world, &plan).await
}

pub async fn workers_each_create(
    world: &mut LithairWorld,
    workers: usize,
    each: usize,
) -> anyhow::Result<()> {
    create_concurrently(world, &vec![each; workers]).await
}

/// One task per entry of `plan`, each creating that many articles, all at once; every answer
/// is checked and every acknowledged article remembered as it was sent.
async fn create_concurrently(world: &mut LithairWorld, plan: &[usize]) -> anyhow::Result<()> {
    let url = world.server.url("/api/articles")?;
    let created = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = plan
        .iter()
        .enumerate()
        .map(|(worker, &count)| {
            let (client, url, created) = (world.http.clone(), url.clone(), Arc::clone(&created));
            tokio::spawn(async move {
                for i in 0..count {
                    let sent = numbered_article(worker * 1_000_000 + i);
                    let response = client.post(&url).json(&sent).send().await?;
                    let status = response.status();
                    let answer: Value = response.json().await?;
                    ensure!(status == 201, "worker {worker}: expected 201, got {status}: {answer}");
                    created.lock().await.push(sent.with_id(assigned_id(&answer)?));
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let created = std::mem::take(&mut *created.lock().await);
    for article in created {
        world.expected.remember_created(article);
    }
    Ok(())
}

/// The id the server gave to what it acknowledged creating.
fn assigned_id(answer: &Value) -> anyhow::Result<u64> {
    answer["id"].as_u64().with_context(|| format!("no integer id in {answer}"))
}

pub async fn modify_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let ids: Vec<u64> = world.expected.articles.keys().copied().take(count).collect();
    ensure!(ids.len() == count, "only {} live articles to modify", ids.len());
    for id in ids {
        let sent = ModifyArticles::input(id);
        let path = format!("/api/articles/{id}");
        let answer = expect(world, Method::PUT, &path, Some(&json!(sent)), 200).await?;
        ensure!(answer["title"] == sent.title, "the answer does not show the change: {answer}");
        world.expected.remember_updated(sent.with_id(id));
    }
    Ok(())
}

pub async fn delete_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    // Delete from the end, so that "modify then delete" touches overlapping and distinct ones.
    let ids: Vec<u64> = world.expected.articles.keys().rev().copied().take(count).collect();
    ensure!(ids.len() == count, "only {} live articles to delete", ids.len());
    for id in ids {
        let reply = send(world, Method::DELETE, &format!("/api/articles/{id}"), None).await?;
        ensure!(
            reply.status == 204,
            "DELETE article {id}: expected 204, got {}: {}",
            reply.status,
            reply.body
        );
        world.expected.remember_deleted(id);
    }
    Ok(())
}

pub async fn modify_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    let id = world.expected.created_ids.iter().max().map_or(0, |max| max + 1000);
    let body = json!({"title": "Ghost", "content": "Nobody home"});
    world.answers.last_reply =
        Some(send(world, Method::PUT, &format!("/api/articles/{id}"), Some(&body)).await?);
    Ok(())
}

pub async fn modify_deleted(world: &mut LithairWorld) -> anyhow::Result<()> {
    let id =
        *world.expected.deleted_ids.last().context("no article was deleted in this scenario")?;
    let body = json!({"title": "Back", "content": "From the dead"});
    world.answers.last_reply =
        Some(send(world, Method::PUT, &format!("/api/articles/{id}"), Some(&body)).await?);
    Ok(())
}

pub async fn delete_deleted(world: &mut LithairWorld) -> anyhow::Result<()> {
    let id =
        *world.expected.deleted_ids.last().context("no article was deleted in this scenario")?;
    world.answers.last_reply =
        Some(send(world, Method::DELETE, &format!("/api/articles/{id}"), None).await?);
    Ok(())
}

pub async fn refused_as_not_found(world: &mut LithairWorld) -> anyhow::Result<()> {
    let reply = world.answers.last_reply.as_ref().context("no request was sent")?;
    ensure!(
        reply.status == 404 && reply.error_code() == Some("not_found"),
        "expected 404 not_found, got {}: {}",
        reply.status,
        reply.body
    );
    Ok(())
}

pub async fn server_reports_active(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let served = http::all_articles(world).await?;
    ensure!(served.len() == count, "the server serves {} articles, expected {count}", served.len());
    let health = expect(world, Method::GET, "/health", None, 200).await?;
    ensure!(health["articles"] == count, "/health counts {} articles", health["articles"]);
    Ok(())
}

pub async fn all_present(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    ensure!(
        world.expected.articles.len() == count,
        "this scenario knows {} articles, not {count}",
        world.expected.articles.len()
    );
    let served = http::all_articles(world).await?;
    world.count_survivors(|id| served.contains_key(&id));
    for (id, expected) in &world.expected.articles {
        let Some(actual) = served.get(id) else { bail!("article {id} is missing") };
        ensure!(
            actual == expected,
            "article {id} changed:\n  expected {expected:?}\n  served   {actual:?}"
        );
    }
    ensure!(served.len() == count, "the server serves {} articles, expected {count}", served.len());
    Ok(())
}

/// Each article one by one, as a client would fetch it: the live ones exactly as last sent, and
/// every deleted one gone (404 `not_found`), so an update or a delete the server only pretended
/// to make shows up.
pub async fn every_article_reads_back(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.created_ids.is_empty(), "this scenario created no article");
    for (id, expected) in &world.expected.articles {
        let served = expect(world, Method::GET, &format!("/api/articles/{id}"), None, 200).await?;
        let served: Article = serde_json::from_value(served.clone())
            .explain(format!("GET /api/articles/{id} is not an article: {served}"))?;
        ensure!(
            &served == expected,
            "article {id} does not read back as sent:\n  sent   {expected:?}\n  served {served:?}"
        );
    }
    for id in &world.expected.deleted_ids {
        let reply = send(world, Method::GET, &format!("/api/articles/{id}"), None).await?;
        ensure!(
            reply.status == 404 && reply.error_code() == Some("not_found"),
            "deleted article {id} still answers {}: {}",
            reply.status,
            reply.body
        );
    }
    Ok(())
}

pub async fn ids_without_gaps(
    world: &mut LithairWorld,
    first: u64,
    last: u64,
) -> anyhow::Result<()> {
    let ids: Vec<u64> =
        world.expected.created_ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let expected: Vec<u64> = (first..=last).collect();
    ensure!(
        ids == expected,
        "acknowledged ids are not {first}..={last}: {} ids, first {:?}, last {:?}",
        ids.len(),
        ids.first(),
        ids.last()
    );
    let served: Vec<u64> = http::all_articles(world).await?.into_keys().collect();
    ensure!(
        served == expected,
        "the server serves {} ids, not exactly {first}..={last}",
        served.len()
    );
    Ok(())
}

pub async fn ids_unique(world: &mut LithairWorld) -> anyhow::Result<()> {
    let unique: BTreeSet<u64> = world.expected.created_ids.iter().copied().collect();
    ensure!(
        unique.len() == world.expected.created_ids.len(),
        "{} ids were given out more than once",
        world.expected.created_ids.len() - unique.len()
    );
    Ok(())
}

pub async fn checksums_valid_over_http(world: &mut LithairWorld) -> anyhow::Result<()> {
    for (id, article) in http::all_articles(world).await? {
        ensure!(
            article.checksum_is_valid(),
            "article {id}: checksum {} != {}",
            article.checksum,
            article_checksum(&article.title, &article.content)
        );
    }
    Ok(())
}

/// The actions a product owner lists, in order, for the event-order scenario.
pub async fn perform_actions(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table of actions")?;
    for row in table.rows.iter().skip(1) {
        let action = row.first().context("an empty row")?.as_str();
        perform(world, action).await.explain(format!("action {action:?}"))?;
    }
    Ok(())
}

async fn perform(world: &mut LithairWorld, action: &str) -> anyhow::Result<()> {
    let last_article =
        || world.expected.created_ids.last().copied().context("no article created yet");
    match action {
        "create an article" => create_articles(world, 1).await,
        "register a user" => {
            let body = json!({"name": "Ada Lovelace", "email": "ada@example.org"});
            let user = expect(world, Method::POST, "/api/users", Some(&body), 201).await?;
            let id = assigned_id(&user)?;
            world.expected.remember_user(User {
                id,
                name: "Ada Lovelace".into(),
                email: "ada@example.org".into(),
            });
            Ok(())
        }
        "modify the article" => {
            let id = last_article()?;
            let sent = ArticleInput::new("Modified", "Changed");
            expect(world, Method::PUT, &format!("/api/articles/{id}"), Some(&json!(sent)), 200)
                .await?;
            world.expected.remember_updated(sent.with_id(id));
            Ok(())
        }
        "comment on the article" => {
            let article_id = last_article()?;
            let user_id = world.expected.last_user_id.context("no user registered yet")?;
            let body = "A thoughtful comment";
            let sent = json!({"user_id": user_id, "body": body});
            let path = format!("/api/articles/{article_id}/comments");
            let answer = expect(world, Method::POST, &path, Some(&sent), 201).await?;
            let id = assigned_id(&answer)?;
            world.expected.remember_comment(Comment {
                id,
                article_id,
                user_id,
                body: body.to_owned(),
            });
            Ok(())
        }
        "delete the article" => {
            let id = last_article()?;
            expect(world, Method::DELETE, &format!("/api/articles/{id}"), None, 204).await?;
            world.expected.remember_deleted(id);
            Ok(())
        }
        other => bail!(
            "unknown action {other:?}; known: create an article, register a user, modify the \
             article, comment on the article, delete the article"
        ),
    }
}

/// Served as acknowledged (see [`all_present`]), and in the log as acknowledged too.
pub async fn articles_persisted(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    all_present(world, count).await?;
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let replay = log.replay();
    ensure!(
        replay.articles == world.expected.articles,
        "the log replays to {} articles, {} were acknowledged; first difference at id {:?}",
        replay.articles.len(),
        world.expected.articles.len(),
        world
            .expected
            .articles
            .iter()
            .find(|(id, a)| replay.articles.get(id) != Some(a))
            .map(|(id, _)| id)
    );
    Ok(())
}

/// No id given out twice, no conflict or server error answered to any writer (the creating
/// steps fail on any answer but 201; loads are checked here), and every acknowledged creation
/// is in the log exactly once and served as sent.
pub async fn no_concurrency_conflict(world: &mut LithairWorld) -> anyhow::Result<()> {
    ids_unique(world).await?;
    for report in &world.perf.loads {
        let bad: Vec<_> = report.statuses.keys().filter(|s| **s == 409 || **s >= 500).collect();
        ensure!(bad.is_empty(), "{}: answered {bad:?}", report.label);
    }
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    let mut logged = std::collections::BTreeMap::<u64, usize>::new();
    for record in log.records().iter().filter(|r| r.event_type == "ArticleCreated") {
        *logged
            .entry(record.data["id"].as_u64().context("ArticleCreated without an id")?)
            .or_default() += 1;
    }
    for id in &world.expected.created_ids {
        let times = logged.remove(id).unwrap_or(0);
        ensure!(times == 1, "acknowledged article {id} is created {times} times in the log");
    }
    ensure!(
        logged.is_empty(),
        "the log creates articles nobody acknowledged: {:?}",
        logged.keys().take(10).collect::<Vec<_>>()
    );
    all_present(world, world.expected.articles.len()).await
}

/// The CRC-32s of what the scenario sent, summed, equal the sum of the checksums served and
/// the sum of those in the log.
pub async fn checksum_sums_match(world: &mut LithairWorld) -> anyhow::Result<()> {
    fn sum<'a>(checksums: impl Iterator<Item = &'a String>) -> anyhow::Result<u64> {
        checksums.map(|c| u32::from_str_radix(c, 16).map(u64::from).context("a hex checksum")).sum()
    }
    ensure!(!world.expected.articles.is_empty(), "no article was acknowledged");
    let sent = sum(world.expected.articles.values().map(|a| &a.checksum))?;
    let served = http::all_articles(world).await?;
    let served = sum(served.values().map(|a| &a.checksum))?;
    let replay = world.server.raftlog().await?.replay();
    let logged = sum(replay.articles.values().map(|a| &a.checksum))?;
    ensure!(sent == served, "the checksums sent add up to {sent}, those served to {served}");
    ensure!(sent == logged, "the checksums sent add up to {sent}, those in the log to {logged}");
    Ok(())
}

/// Rows of `Type | ID`: each event type is made by the request that writes it, and the
/// symbolic id (`art1`) names what the server assigned. A comment goes on the last article
/// created, by the last user created.
pub async fn create_events(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table: Type | ID")?;
    for row in table.rows.iter().skip(1) {
        let [event_type, symbol] = row.as_slice() else { bail!("each row needs Type | ID") };
        // Each request's remember_* adds the write to the client's tally of events.
        create_event(world, event_type, symbol).await.explain(format!("{event_type} {symbol}"))?;
    }
    Ok(())
}

async fn create_event(
    world: &mut LithairWorld,
    event_type: &str,
    symbol: &str,
) -> anyhow::Result<u64> {
    let known = |world: &LithairWorld| {
        world
            .expected
            .symbols
            .get(symbol)
            .copied()
            .with_context(|| format!("{symbol} was not created"))
    };
    let id = match event_type {
        "ArticleCreated" => {
            create_articles(world, 1).await?;
            *world.expected.created_ids.last().context("no article created")?
        }
        "UserCreated" => {
            let (name, email) = (format!("User {symbol}"), format!("{symbol}@example.org"));
            let body = json!({"name": name, "email": email});
            let id =
                assigned_id(&expect(world, Method::POST, "/api/users", Some(&body), 201).await?)?;
            world.expected.remember_user(User { id, name, email });
            id
        }
        "ArticleUpdated" => {
            let id = known(world)?;
            let sent = ArticleInput::new(format!("{symbol} modified"), "Changed");
            expect(world, Method::PUT, &format!("/api/articles/{id}"), Some(&json!(sent)), 200)
                .await?;
            world.expected.remember_updated(sent.with_id(id));
            return Ok(id);
        }
        "ArticleDeleted" => {
            let id = known(world)?;
            expect(world, Method::DELETE, &format!("/api/articles/{id}"), None, 204).await?;
            world.expected.remember_deleted(id);
            return Ok(id);
        }
        "CommentAdded" => {
            let article_id =
                *world.expected.created_ids.last().context("no article created yet")?;
            let user_id = world.expected.last_user_id.context("no user created yet")?;
            let body = format!("Comment {symbol}");
            let sent = json!({"user_id": user_id, "body": body});
            let path = format!("/api/articles/{article_id}/comments");
            let id = assigned_id(&expect(world, Method::POST, &path, Some(&sent), 201).await?)?;
            world.expected.remember_comment(Comment { id, article_id, user_id, body });
            id
        }
        other => bail!(
            "unknown event type {other:?}; known: ArticleCreated, UserCreated, ArticleUpdated, \
             ArticleDeleted, CommentAdded"
        ),
    };
    ensure!(
        world.expected.symbols.insert(symbol.to_owned(), id).is_none(),
        "{symbol} is created twice"
    );
    Ok(id)
}
