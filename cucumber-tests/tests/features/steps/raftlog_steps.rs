//! What the log file says, read by the harness's own reader (`cucumber_tests::raftlog`),
//! never by the engine's: a bug in one must not hide in the other.
//!
//! The work is in `log_checks.rs`, which every wording of these steps calls.

use cucumber::{gherkin::Step, then};

use crate::{log_checks, world::LithairWorld};

#[then("the events.raftlog file exists")]
async fn log_exists(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::log_exists(world).await
}

#[then(expr = "the events.raftlog file contains exactly {int} events")]
async fn log_holds_events(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    log_checks::log_holds_events(world, count).await
}

#[then(expr = "the events.raftlog file contains exactly {int} {word} events")]
async fn log_holds_events_of_type(
    world: &mut LithairWorld,
    count: usize,
    event_type: String,
) -> anyhow::Result<()> {
    log_checks::log_holds_events_of_type(world, count, event_type).await
}

#[then("the events are in chronological order")]
async fn chronological(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::chronological(world).await
}

#[then("every record of the events.raftlog file is valid")]
async fn every_record_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::every_record_valid(world).await
}

#[then("no article is missing from the events.raftlog file")]
async fn no_article_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::no_article_missing(world).await
}

#[then("every article checksum in the events.raftlog file is valid")]
async fn checksums_valid_in_log(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::checksums_valid_in_log(world).await
}

#[then("no event is duplicated")]
async fn no_duplicates(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::no_duplicates(world).await
}

#[then(expr = "replaying the events.raftlog file gives {int} active articles")]
async fn replay_gives(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    log_checks::replay_gives(world, count).await
}

#[then("the events.raftlog file holds what was sent")]
async fn log_holds_what_was_sent(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::log_holds_what_was_sent(world).await
}

#[then("the articles served match a replay of the events.raftlog file")]
async fn served_matches_replay(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::served_matches_replay(world).await
}

#[then("the events.raftlog file holds these events in this order:")]
async fn events_in_order(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    log_checks::events_in_order(world, step).await
}

#[then("the comment refers to its article and its author")]
async fn comment_references(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::comment_references(world).await
}

#[then("the events.raftlog file has a torn last record")]
async fn has_torn_tail(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::has_torn_tail(world).await
}

#[then("no event must be missing")]
async fn no_event_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::no_event_missing(world).await
}

#[then("the events must be in the file in the same order")]
async fn events_in_sent_order(world: &mut LithairWorld) -> anyhow::Result<()> {
    log_checks::events_in_sent_order(world).await
}
