//! `lithair-log verify|dump|stats PATH`: what an operator runs on a suspicious `events.raftlog`.
//!
//! Built on the harness's own reader ([`cucumber_tests::raftlog`]), written from
//! docs/raftlog.md and sharing no code with the engine, so it is a second opinion rather than
//! the server's reader agreeing with itself. It reads the whole file from byte 0, even the
//! head a snapshot lets the server skip on start-up, and never changes it.
//!
//! Both versions of the format are read: a single server's log (version 1) and a cluster
//! node's Raft log (version 2), whose records also carry the `term` and `node` of the leader
//! that proposed them and include Raft's own `raft.*` entries.
//!
//! Every command ends with the file's health and exits with it: 0 clean, 1 corrupt (the
//! server would refuse to start), 3 torn tail (what a crash mid-append leaves; the server
//! would cut it), 2 the file could not be read or the command line is wrong.

#![forbid(unsafe_code)]

use std::{path::PathBuf, process::ExitCode};

use chrono::DateTime;
use clap::{Parser, Subcommand};
use cucumber_tests::raftlog::{Health, RaftLog, Record, Version};

#[derive(Parser)]
#[command(
    version,
    about = "Inspect a Lithair events.raftlog (exit 0 clean, 1 corrupt, 3 torn tail)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks every record from byte 0 and says where the first bad one is.
    Verify { path: PathBuf },
    /// Prints one line per valid record: offset, seq, (term and node,) time, event type, data.
    Dump { path: PathBuf },
    /// Counts records per event type and Raft entries, with bytes, the seq, term and time
    /// ranges, and the leaders.
    Stats { path: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Command::Verify { path } | Command::Dump { path } | Command::Stats { path }) =
        &cli.command;
    let log = match RaftLog::read(path) {
        Ok(log) => log,
        Err(err) => {
            eprintln!("lithair-log: cannot read {}: {err}", path.display());
            return ExitCode::from(2);
        }
    };
    let records = log.records();
    match cli.command {
        Command::Verify { .. } => {}
        Command::Dump { .. } => {
            for r in records {
                println!("{}", dump_line(r));
            }
        }
        Command::Stats { .. } => stats(&log),
    }
    let last_seq = records.last().map_or(0, |r| r.seq);
    let problems = log.replay().problems;
    for problem in &problems {
        println!("problem: {problem}");
    }
    let health = log.health();
    println!("{}: {} records, {health}", path.display(), records.len());
    match health {
        Health::Clean if problems.is_empty() => ExitCode::SUCCESS,
        Health::Clean | Health::Corrupt { .. } => ExitCode::from(1),
        Health::TornTail { offset, .. } => {
            println!("the valid prefix ends at byte {offset}, after seq {last_seq}");
            ExitCode::from(3)
        }
    }
}

/// One record as `dump` prints it. Raft's own entries have no time (`ts` 0) and a blank has
/// no data: both are left out rather than shown as 1970 and `null`.
fn dump_line(r: &Record) -> String {
    let mut line = format!("{:>10} seq {}", r.offset, r.seq);
    if let Some(leader) = r.leader {
        line.push_str(&format!(" term {} node {}", leader.term, leader.node));
    }
    if !r.is_raft() {
        line.push_str(&format!(" {}", time(r.ts)));
    }
    line.push_str(&format!(" {}", r.event_type));
    if !r.data.is_null() {
        line.push_str(&format!(" {}", r.data));
    }
    line
}

fn stats(log: &RaftLog) {
    let records = log.records();
    let valid_bytes: u64 = records.iter().map(|r| r.len).sum();
    let version = match log.version() {
        Some(Version::V1) => "1 (a single server's log)",
        Some(Version::V2) => "2 (a cluster's Raft log)",
        None => "none (no record)",
    };
    println!("version  {version}");
    println!("records  {}", records.len());
    println!("bytes    {} ({valid_bytes} in valid records)", log.file_len());
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        println!("seq      {} ..= {}", first.seq, last.seq);
    }
    // In version 2 `ts` is each leader's clock and may go back: show the range, not the ends.
    let events = log.events();
    let times = events.iter().filter(|r| !r.is_raft()).map(|r| r.ts);
    if let (Some(min), Some(max)) = (times.clone().min(), times.max()) {
        println!("time     {} ..= {}", time(min), time(max));
    }
    if log.version() == Some(Version::V2) {
        println!(
            "raft     {} entries, {} events",
            log.raft_entries(),
            events.len() - log.raft_entries()
        );
        let mut leaders =
            records.iter().filter_map(|r| Some((r.leader?, r.seq))).collect::<Vec<_>>();
        leaders.dedup_by_key(|(leader, _)| *leader);
        if let (Some((first, _)), Some((last, _))) = (leaders.first(), leaders.last()) {
            println!("terms    {} ..= {}", first.term, last.term);
        }
        for (leader, from) in leaders {
            println!("leader   {leader} from seq {from}");
        }
    }
    for (event_type, count) in log.counts_by_type() {
        println!("{count:>8} {event_type}");
    }
}

/// A record's commit time, readable: microseconds since the Unix epoch, in UTC.
fn time(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .map_or_else(|| format!("ts={ts}"), |t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}
