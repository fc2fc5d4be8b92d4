//! What the log file says, read by the harness's own reader (`cucumber_tests::raftlog`),
//! never by the engine's: a bug in one must not hide in the other.
//!
//! The steps in `steps/raftlog_steps.rs` and their French and upstream wordings
//! (`steps/fr_steps.rs`, `steps/upstream_steps.rs`) are one-line calls to the functions here,
//! so every wording of a step runs the same code.

use std::collections::BTreeSet;

use anyhow::{Context, bail, ensure};
use cucumber::gherkin::Step;
use cucumber_tests::raftlog::{Health, RaftLog};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{http, world::LithairWorld};

/// Read the log and insist that every record verifies.
async fn verified_log(world: &LithairWorld) -> anyhow::Result<RaftLog> {
    let log = world.server.raftlog().await?;
    log.verify().map_err(anyhow::Error::msg)?;
    Ok(log)
}

pub async fn log_exists(world: &mut LithairWorld) -> anyhow::Result<()> {
    let path = world.server.log_path();
    ensure!(path.is_file(), "{} does not exist", path.display());
    Ok(())
}

pub async fn log_holds_events(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    ensure!(
        log.records().len() == count,
        "the log holds {} events, expected {count}",
        log.records().len()
    );
    Ok(())
}

pub async fn log_holds_events_of_type(
    world: &mut LithairWorld,
    count: usize,
    event_type: String,
) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    let found = log.count(&event_type);
    ensure!(
        found == count,
        "the log holds {found} {event_type} events, expected {count}; all: {:?}",
        log.counts_by_type()
    );
    Ok(())
}

/// Its own check, not left to the reader: seq 1, 2, 3… with no gap or repeat, and every `ts`
/// strictly after the one before (docs/raftlog.md), over every record in the file.
pub async fn chronological(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    ensure!(!log.records().is_empty(), "the log holds no event");
    let mut previous: Option<(u64, u64)> = None;
    for record in log.records() {
        let due = previous.map_or(1, |(seq, _)| seq + 1);
        ensure!(
            record.seq == due,
            "seq {} at byte {}: seq {due} was due",
            record.seq,
            record.offset
        );
        if let Some((_, ts)) = previous {
            ensure!(
                record.ts > ts,
                "seq {} at byte {} has ts {}, not after the previous record's {ts}",
                record.seq,
                record.offset,
                record.ts
            );
        }
        previous = Some((record.seq, record.ts));
    }
    log.verify().map_err(anyhow::Error::msg)
}

pub async fn every_record_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    // Checksums, gapless sequence numbers and strictly increasing timestamps.
    let log = verified_log(world).await?;
    let sizes: u64 = log.records().iter().map(|record| record.len).sum();
    ensure!(
        sizes == log.file_len(),
        "the records add up to {sizes} bytes, the file has {}",
        log.file_len()
    );
    Ok(())
}

pub async fn no_article_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    let replay = verified_log(world).await?.replay();
    let missing: Vec<u64> = world
        .expected
        .articles
        .keys()
        .filter(|id| !replay.articles.contains_key(id))
        .copied()
        .collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged articles are not in the log, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    Ok(())
}

pub async fn checksums_valid_in_log(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    let replay = log.replay();
    let bad: Vec<u64> =
        replay.articles.values().filter(|a| !a.checksum_is_valid()).map(|a| a.id).collect();
    ensure!(bad.is_empty(), "articles with a wrong checksum in the log: {bad:?}");
    ensure!(replay.problems.is_empty(), "the log's events do not add up: {:?}", replay.problems);
    Ok(())
}

pub async fn no_duplicates(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    let mut created = BTreeSet::new();
    for record in log.records().iter().filter(|r| r.event_type == "ArticleCreated") {
        let id = record.data["id"].as_u64().context("ArticleCreated without an id")?;
        ensure!(created.insert(id), "article {id} is created twice (seq {})", record.seq);
    }
    let replay = log.replay();
    ensure!(replay.problems.is_empty(), "the log's events do not add up: {:?}", replay.problems);
    Ok(())
}

pub async fn replay_gives(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    let replay = verified_log(world).await?.replay();
    ensure!(replay.problems.is_empty(), "the log's events do not add up: {:?}", replay.problems);
    ensure!(
        replay.articles.len() == count,
        "replaying the log gives {} articles, expected {count}",
        replay.articles.len()
    );
    Ok(())
}

/// The log replayed by the harness gives exactly what the client sent: the live articles, the
/// users and the comments, and each `ArticleUpdated` carries the update as it was sent.
pub async fn log_holds_what_was_sent(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    let replay = log.replay();
    ensure!(replay.problems.is_empty(), "the log's events do not add up: {:?}", replay.problems);
    let expected = &world.expected;
    for (id, sent) in &expected.articles {
        let logged = replay.articles.get(id).with_context(|| format!("article {id} not in log"))?;
        ensure!(logged == sent, "article {id}:\n  sent   {sent:?}\n  logged {logged:?}");
    }
    ensure!(
        replay.articles.len() == expected.articles.len(),
        "the log replays to {} live articles, the client left {}",
        replay.articles.len(),
        expected.articles.len()
    );
    ensure!(
        replay.users == expected.users,
        "users: sent {:?}, logged {:?}",
        expected.users,
        replay.users
    );
    ensure!(
        replay.comments == expected.comments,
        "comments: sent {:?}, logged {:?}",
        expected.comments,
        replay.comments
    );
    // Per article, the updates in the order they were made (a stable sort keeps that order).
    let mut logged: Vec<&Value> = log
        .records()
        .iter()
        .filter(|r| r.event_type == "ArticleUpdated")
        .map(|r| &r.data)
        .collect();
    let mut sent: Vec<Value> = expected.updates.iter().map(|a| json!(a)).collect();
    logged.sort_by_key(|data| data["id"].as_u64());
    sent.sort_by_key(|data| data["id"].as_u64());
    if let Some((s, l)) = sent.iter().zip(&logged).find(|(s, l)| !carries(l, s)) {
        bail!("an ArticleUpdated differs from the update sent:\n  sent   {s}\n  logged {l}");
    }
    ensure!(
        logged.len() == sent.len(),
        "{} updates logged, {} acknowledged",
        logged.len(),
        sent.len()
    );
    Ok(())
}

/// Whether a record's `data` carries every field the client's write put there (a record may
/// carry more: readers ignore fields they do not know).
fn carries(data: &Value, expected: &Value) -> bool {
    expected.as_object().is_some_and(|fields| fields.iter().all(|(k, v)| data.get(k) == Some(v)))
}

pub async fn served_matches_replay(world: &mut LithairWorld) -> anyhow::Result<()> {
    let replay = verified_log(world).await?.replay();
    ensure!(replay.problems.is_empty(), "the log's events do not add up: {:?}", replay.problems);
    let served = http::all_articles(world).await?;
    ensure!(
        served.len() == replay.articles.len(),
        "the server serves {} articles, the log replays to {}",
        served.len(),
        replay.articles.len()
    );
    if let Some(difference) = replay.articles_differ_from(&served) {
        bail!(difference);
    }
    for (id, user) in &replay.users {
        let served =
            http::expect(world, Method::GET, &format!("/api/users/{id}"), None, 200).await?;
        ensure!(
            served == json!(user),
            "user {id} differs:\n  served   {served}\n  from log {user:?}"
        );
    }
    for article_id in replay.articles.keys() {
        let logged: Vec<Value> = replay
            .comments
            .values()
            .filter(|c| c.article_id == *article_id)
            .map(|c| json!(c))
            .collect();
        if logged.is_empty() {
            continue;
        }
        let path = format!("/api/articles/{article_id}/comments");
        let served = http::expect(world, Method::GET, &path, None, 200).await?;
        ensure!(
            served["items"] == json!(logged),
            "comments of article {article_id} differ:\n  served   {served}\n  from log {logged:?}"
        );
    }
    Ok(())
}

pub async fn events_in_order(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table of event types")?;
    let expected: Vec<&str> =
        table.rows.iter().skip(1).filter_map(|row| row.first()).map(String::as_str).collect();
    let log = verified_log(world).await?;
    let actual: Vec<&str> = log.records().iter().map(|r| r.event_type.as_str()).collect();
    ensure!(actual == expected, "events in the log: {actual:?}, expected {expected:?}");
    // And each record is the write the client made at that point: same type, same data.
    holds_the_writes_sent(&log, &world.expected.events)
}

pub async fn comment_references(world: &mut LithairWorld) -> anyhow::Result<()> {
    let comment = world.expected.last_comment.clone().context("no comment was made")?;
    let log = verified_log(world).await?;
    let record = log
        .records()
        .iter()
        .find(|r| r.event_type == "CommentAdded")
        .context("no CommentAdded in the log")?;
    let article_id = record.data["article_id"].as_u64().context("no article_id")?;
    let user_id = record.data["user_id"].as_u64().context("no user_id")?;
    ensure!(
        article_id == comment.article_id && user_id == comment.user_id,
        "the logged comment {} is not the one acknowledged {comment:?}",
        record.data
    );
    let created_before = |event_type: &str, id: u64| {
        log.records()
            .iter()
            .any(|r| r.seq < record.seq && r.event_type == event_type && r.data["id"] == id)
    };
    ensure!(
        created_before("ArticleCreated", article_id),
        "the comment refers to article {article_id}, not created before it"
    );
    ensure!(
        created_before("UserCreated", user_id),
        "the comment refers to user {user_id}, not created before it"
    );
    Ok(())
}

pub async fn has_torn_tail(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    ensure!(
        matches!(log.health(), Health::TornTail { .. }),
        "expected a torn last record, found: {}",
        log.health()
    );
    Ok(())
}

/// Every acknowledged creation and deletion has its event in the log (whose sequence numbers
/// have no gap), and every live article is there as acknowledged.
pub async fn no_event_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = verified_log(world).await?;
    let ids = |event_type: &str| -> BTreeSet<u64> {
        log.records()
            .iter()
            .filter(|r| r.event_type == event_type)
            .filter_map(|r| r.data["id"].as_u64())
            .collect()
    };
    let (created, deleted) = (ids("ArticleCreated"), ids("ArticleDeleted"));
    let missing: Vec<u64> =
        world.expected.created_ids.iter().filter(|id| !created.contains(id)).copied().collect();
    ensure!(missing.is_empty(), "no ArticleCreated for acknowledged articles {missing:?}");
    let missing: Vec<u64> =
        world.expected.deleted_ids.iter().filter(|id| !deleted.contains(id)).copied().collect();
    ensure!(missing.is_empty(), "no ArticleDeleted for acknowledged deletions {missing:?}");
    no_article_missing(world).await
}

/// The log holds exactly the events the scenario's acknowledged requests made, in the order it
/// made them: same type, and the payload it sent under the id the server assigned.
pub async fn events_in_sent_order(world: &mut LithairWorld) -> anyhow::Result<()> {
    let sent = &world.expected.events;
    ensure!(!sent.is_empty(), "the scenario made no events");
    let log = verified_log(world).await?;
    holds_the_writes_sent(&log, sent)
}

/// Record for record, the log is the client's acknowledged writes in the order it made them:
/// the same event type, carrying the payload sent under the id the server assigned.
fn holds_the_writes_sent(log: &RaftLog, sent: &[(&'static str, Value)]) -> anyhow::Result<()> {
    ensure!(
        sent.len() == log.records().len(),
        "{} writes acknowledged, {} logged",
        sent.len(),
        log.records().len()
    );
    for (record, (event_type, data)) in log.records().iter().zip(sent) {
        ensure!(
            record.event_type == *event_type && carries(&record.data, data),
            "seq {} is {} {}, but the client's write there was {event_type} {data}",
            record.seq,
            record.event_type,
            record.data
        );
    }
    Ok(())
}
