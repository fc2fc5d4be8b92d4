//! Damaging the log the way disks and crashes do, and checking how the server reacts: a torn
//! last record is cut off with a warning; damage in the middle stops start-up, untouched.

use anyhow::{Context, ensure};
use cucumber::{then, when};
use cucumber_tests::raftlog::{Health, RaftLog};

use crate::{explain::Explain, world::LithairWorld};

fn read_log_bytes(world: &LithairWorld) -> anyhow::Result<Vec<u8>> {
    std::fs::read(world.server.log_path())
        .explain(format!("cannot read {}", world.server.log_path().display()))
}

#[when("a byte in the middle of the events.raftlog file is damaged")]
async fn damage_middle_byte(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server before damaging its log");
    let mut bytes = read_log_bytes(world)?;
    let log = RaftLog::parse(&bytes);
    let middle = &log.records()[log.records().len() / 2];
    // Inside the record's text, away from its line feed: a flipped bit, as a bad sector would.
    let position = (middle.offset + middle.len / 2) as usize;
    bytes[position] ^= 0x01;
    std::fs::write(world.server.log_path(), &bytes)?;
    world.crashes.saved_log = Some(bytes);
    world.crashes.damaged_at = Some((middle.offset, middle.seq - 1));
    Ok(())
}

#[when("the last record of the events.raftlog file is cut in half")]
async fn cut_last_record(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server before damaging its log");
    let bytes = read_log_bytes(world)?;
    let log = RaftLog::parse(&bytes);
    let last = log.records().last().context("the log is empty")?;
    let cut = (last.offset + last.len / 2) as usize;
    std::fs::write(world.server.log_path(), &bytes[..cut])?;
    // The acknowledged article in that record is expected to be gone after the repair.
    if last.event_type == "ArticleCreated"
        && let Some(id) = last.data["id"].as_u64()
    {
        world.expected.articles.remove(&id);
    }
    Ok(())
}

#[then("the error names the file, the byte offset of the damage and the last good sequence number")]
async fn error_names_offset(world: &mut LithairWorld) -> anyhow::Result<()> {
    let (status, log) = world.crashes.refusal.as_ref().context("the server was not refused")?;
    let (offset, last_good) =
        world.crashes.damaged_at.context("no damage was made in this scenario")?;
    let file = world.server.log_path().display().to_string();
    let message = log.lines().rev().find(|line| line.contains("corrupt")).with_context(|| {
        format!("the server ({status}) logged no corruption message; its log:\n{log}")
    })?;
    ensure!(message.contains(&file), "the message does not name {file}: {message}");
    ensure!(
        message.contains(&format!("byte offset {offset}")),
        "the message does not name byte offset {offset}: {message}"
    );
    ensure!(
        message.contains(&format!("last good sequence number {last_good}")),
        "the message does not name the last good sequence number {last_good}: {message}"
    );
    Ok(())
}

#[then("the events.raftlog file is unchanged")]
async fn log_unchanged(world: &mut LithairWorld) -> anyhow::Result<()> {
    let saved = world.crashes.saved_log.as_ref().context("no copy of the log was saved")?;
    ensure!(&read_log_bytes(world)? == saved, "the log file was modified");
    Ok(())
}

#[then("the server log warns that a torn record was cut off")]
async fn warns_torn_record(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.log();
    ensure!(
        log.lines().any(|line| line.contains("WARN") && line.contains("torn tail")),
        "no warning about a torn record in the server log:\n{log}"
    );
    let health = world.server.raftlog().await?.health();
    ensure!(health == Health::Clean, "after the repair the log should be clean, found: {health}");
    Ok(())
}
