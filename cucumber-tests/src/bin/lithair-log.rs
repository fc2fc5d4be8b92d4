//! `lithair-log verify|dump|stats PATH`: what an operator runs on a suspicious `events.raftlog`.
//!
//! Built on the harness's own reader ([`cucumber_tests::raftlog`]), written from
//! docs/raftlog.md and sharing no code with the engine, so it is a second opinion rather than
//! the server's reader agreeing with itself. It reads the whole file from byte 0, even the
//! head a snapshot lets the server skip on start-up, and never changes it.
//!
//! Every command ends with the file's health and exits with it: 0 clean, 1 corrupt (the
//! server would refuse to start), 3 torn tail (what a crash mid-append leaves; the server
//! would cut it), 2 the file could not be read or the command line is wrong.

#![forbid(unsafe_code)]

use std::{path::PathBuf, process::ExitCode};

use chrono::DateTime;
use clap::{Parser, Subcommand};
use cucumber_tests::raftlog::{Health, RaftLog};

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
    /// Prints one line per valid record: offset, seq, time, event type, data.
    Dump { path: PathBuf },
    /// Counts records per event type, with bytes and the seq and time ranges.
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
                println!(
                    "{:>10} seq {} {} {} {}",
                    r.offset,
                    r.seq,
                    time(r.ts),
                    r.event_type,
                    r.data
                );
            }
        }
        Command::Stats { .. } => {
            let valid_bytes: u64 = records.iter().map(|r| r.len).sum();
            println!("records  {}", records.len());
            println!("bytes    {} ({valid_bytes} in valid records)", log.file_len());
            if let (Some(first), Some(last)) = (records.first(), records.last()) {
                println!("seq      {} ..= {}", first.seq, last.seq);
                println!("time     {} ..= {}", time(first.ts), time(last.ts));
            }
            for (event_type, count) in log.counts_by_type() {
                println!("{count:>8} {event_type}");
            }
        }
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

/// A record's commit time, readable: microseconds since the Unix epoch, in UTC.
fn time(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .map_or_else(|| format!("ts={ts}"), |t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}
