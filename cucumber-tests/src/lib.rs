//! Lithair's test harness: what the feature steps and the benchmark need to drive a real
//! `lithair-server` and to check what it wrote.
//!
//! - [`binary`]: the `lithair-server` executable under test, built by cargo if needed;
//! - [`cluster`]: a cluster of real servers on loopback, its clients, and the faults done to it;
//! - [`process`]: that server as a child process (start, health, SIGTERM, SIGKILL);
//! - [`model`]: articles (and their checksum), users and comments, as the harness expects them;
//! - [`raftlog`]: the harness's own reader of `events.raftlog`, written from docs/raftlog.md;
//! - [`seed`]: the run's one seed (`LITHAIR_SEED`) and the random streams derived from it;
//! - [`shard`]: which scenarios machine I of N runs (`--shard I/N`), balanced by past durations;
//! - [`snapfile`]: its own check of snapshot files, written from docs/snapshots.md;
//! - [`suggest`]: the nearest defined steps and a pasteable definition for a step line that
//!   matches none;
//! - [`workloads`]: what the [`loadgen`] crate sends to Lithair, and how answers are judged.

pub mod binary;
pub mod cluster;
pub mod model;
pub mod process;
pub mod raftlog;
pub mod seed;
pub mod shard;
pub mod snapfile;
pub mod suggest;
pub mod workloads;
