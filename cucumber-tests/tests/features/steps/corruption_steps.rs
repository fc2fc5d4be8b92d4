//! Damaging the log the way disks and crashes do, and checking how the server reacts: a torn
//! last record is cut off with a warning; damage in the middle stops start-up, untouched.

use anyhow::{Context, ensure};
use cucumber::{then, when};
use cucumber_tests::raftlog::{Health, RaftLog, encode};

use super::parameters::Reshaping;
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
    world.part::<Damage>().at = Some((middle.offset, middle.seq - 1));
    Ok(())
}

/// Damage that keeps every checksum valid: only the order of the records tells. Each shape is
/// what a buggy writer, a bad copy or a hand edit leaves behind. The record in the middle is
/// moved, dropped, repeated or re-stamped with the harness's own encoder, so that nothing but
/// the shape is wrong; the server must stop at the first record out of place.
#[when(expr = "a record in the middle of the events.raftlog file is {reshaping}")]
async fn reshape_middle(world: &mut LithairWorld, shape: Reshaping) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server before damaging its log");
    let bytes = read_log_bytes(world)?;
    let log = RaftLog::parse(&bytes);
    let records = log.records();
    ensure!(records.len() >= 4, "the log needs a few records to damage its middle");
    let i = records.len() / 2;
    let line = |r: &cucumber_tests::raftlog::Record| {
        bytes[r.offset as usize..(r.offset + r.len) as usize].to_vec()
    };
    let (before, middle, next) = (&records[i - 1], &records[i], &records[i + 1]);
    let mut lines: Vec<Vec<u8>> = records.iter().map(line).collect();
    // Where the server must stop, and the last sequence number it could accept before it.
    let damaged_at = match shape.0.as_str() {
        "removed" => {
            lines.remove(i);
            (middle.offset, before.seq)
        }
        "duplicated" => {
            lines.insert(i + 1, line(middle));
            (next.offset, middle.seq)
        }
        "swapped with the next one" => {
            lines.swap(i, i + 1);
            (middle.offset, before.seq)
        }
        _ => {
            lines[i] = encode::record(middle.seq, before.ts - 1, &middle.event_type, &middle.data);
            (middle.offset, before.seq)
        }
    };
    let damaged = lines.concat();
    ensure!(damaged.len() as u64 >= records.last().map_or(0, |r| r.offset), "lost the records");
    std::fs::write(world.server.log_path(), &damaged)?;
    world.crashes.saved_log = Some(damaged);
    world.part::<Damage>().at = Some(damaged_at);
    Ok(())
}

/// Whole records cut from the end, as a lost tail would leave the file: no torn record, so
/// only what else the data dir holds (a snapshot taken after them) can tell they are missing.
#[when(expr = "the events.raftlog file loses its last {int} records")]
async fn lose_last_records(world: &mut LithairWorld, count: usize) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server before damaging its log");
    let bytes = read_log_bytes(world)?;
    let log = RaftLog::parse(&bytes);
    let records = log.records();
    ensure!(count > 0 && count < records.len(), "the log has {} records", records.len());
    let first_lost = &records[records.len() - count];
    let kept = bytes[..first_lost.offset as usize].to_vec();
    std::fs::write(world.server.log_path(), &kept)?;
    world.crashes.saved_log = Some(kept);
    world.part::<Damage>().at = Some((first_lost.offset, first_lost.seq - 1));
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
    let (offset, last_good) =
        world.part::<Damage>().at.context("no damage was made in this scenario")?;
    let (status, log) = world.crashes.refusal.as_ref().context("the server was not refused")?;
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

/// Where the log was damaged: byte offset of the record, and the sequence number before it
/// ([`LithairWorld::part`]).
#[derive(Debug, Default)]
struct Damage {
    at: Option<(u64, u64)>,
}
