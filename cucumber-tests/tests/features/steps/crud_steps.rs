//! Creating, reading, modifying and deleting articles (and users and comments) over HTTP,
//! checking every answer on the way.
//!
//! The work is in `articles.rs`, which every wording of these steps calls.

use cucumber::{gherkin::Step, given, then, when};

use crate::{articles, world::LithairWorld};

#[when(expr = "I create {int} article(s)")]
#[given(expr = "I have created {int} article(s)")]
async fn create_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    articles::create_articles(world, count).await
}

#[when(expr = "{int} workers each create {int} articles at the same time")]
async fn workers_each_create(
    world: &mut LithairWorld,
    workers: usize,
    each: usize,
) -> anyhow::Result<()> {
    articles::workers_each_create(world, workers, each).await
}

#[when(expr = "I modify {int} article(s)")]
async fn modify_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    articles::modify_articles(world, count).await
}

#[when(expr = "I delete {int} article(s)")]
#[given(expr = "I have deleted {int} article(s)")]
async fn delete_articles(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    articles::delete_articles(world, count).await
}

#[when("I try to modify an article that does not exist")]
async fn modify_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::modify_missing(world).await
}

#[when("I try to modify the deleted article")]
async fn modify_deleted(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::modify_deleted(world).await
}

#[when("I try to delete the deleted article again")]
async fn delete_deleted(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::delete_deleted(world).await
}

#[then("the request is refused as not found")]
async fn refused_as_not_found(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::refused_as_not_found(world).await
}

#[then(expr = "the server reports {int} active article(s)")]
async fn server_reports_active(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    articles::server_reports_active(world, count).await
}

#[then(expr = "all {int} articles are present with identical content")]
async fn all_present(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    articles::all_present(world, count).await
}

#[then("every article reads back as it was sent")]
async fn every_article_reads_back(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::every_article_reads_back(world).await
}

#[then(expr = "the article ids run from {int} to {int} without gaps")]
async fn ids_without_gaps(world: &mut LithairWorld, first: u64, last: u64) -> anyhow::Result<()> {
    articles::ids_without_gaps(world, first, last).await
}

#[then("the article ids are unique")]
async fn ids_unique(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::ids_unique(world).await
}

#[then("every article's checksum is valid over HTTP")]
async fn checksums_valid_over_http(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::checksums_valid_over_http(world).await
}

#[when("I perform these actions in order:")]
async fn perform_actions(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    articles::perform_actions(world, step).await
}

#[then("no concurrency conflict must be detected")]
async fn no_concurrency_conflict(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::no_concurrency_conflict(world).await
}

#[then("the total sum of checksums must match")]
async fn checksum_sums_match(world: &mut LithairWorld) -> anyhow::Result<()> {
    articles::checksum_sums_match(world).await
}

#[when("I create events in this order:")]
async fn create_events(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    articles::create_events(world, step).await
}
