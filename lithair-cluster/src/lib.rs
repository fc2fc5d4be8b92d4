//! Lithair on openraft: 3–5 nodes replicating one `events.raftlog`.
//!
//! Consensus is openraft's (election, votes, replication, commit, truncation of a conflicting
//! suffix, membership, snapshot transfer, the read index); nothing here decides who leads or what
//! is committed. This crate is the glue openraft asks an application for, kept thin so that the
//! next openraft release is a small change:
//!
//! - the types openraft is configured with (`types.rs`);
//! - storage on Lithair's own log format, version 2 (docs/raftlog.md);
//! - the peer network, over HTTP/1.1 with one kept-alive connection pool per peer;
//! - the node that ties them to an application's [`lithair_core::Event`]s.
//!
//! `lithair-core` knows nothing of openraft: a single server never pays for a cluster.

pub mod auth;
pub mod network;
pub mod node;
pub mod peer_service;
pub mod proposer;
pub mod read_barrier;
pub mod status;
pub mod types;

mod durable;
pub mod log_store;
pub mod migrate;
pub mod record;
mod scan;
mod snapshot;
pub mod state_machine;
pub mod storage;
pub mod wire;
mod writer;

pub use log_store::LogStore;
pub use migrate::{MigrateError, Migrated, migrate_v1};
pub use node::{ClusterNode, NodeConfig, StartError};
pub use state_machine::{Precondition, StateMachine, StateReader};
pub use storage::{OpenError, open_storage};
pub use types::{Applied, Events, Node, NodeId, RaftEvent, TypeConfig};
pub use writer::WriterStats;
