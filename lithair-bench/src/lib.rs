//! Lithair's HTTP benchmark (its method and goals: docs/performance.md): how close Lithair comes to
//! the limits of this machine and to its peers, all measured in one run on loopback so that the
//! ratios compare like with like.
//!
//! One concept per module: [`wrk`] (the reference load generator), [`lithair`] (the server per
//! durability mode), [`disk`] (the machine's `fdatasync`), [`redis`] and [`etcd`] (the peers,
//! through [`peer`]), [`restart`], and [`table`] (what is reported, with the goals). The cluster's
//! figures: [`cluster`] (a 3-node Lithair cluster, its throughput), [`etcd_cluster`] (3 etcd
//! members), [`failover`] (leader kills, both), [`steady`] (leader changes under load), [`join`]
//! (a node joining a big cluster).
//! Every measured number lands in [`figures::Figures`]; the table is computed from them.

#![forbid(unsafe_code)]

pub mod cluster;
pub mod disk;
pub mod etcd;
pub mod etcd_cluster;
pub mod failover;
pub mod figures;
pub mod join;
pub mod lithair;
pub mod options;
pub mod peer;
pub mod redis;
pub mod restart;
pub mod steady;
pub mod table;
pub mod wrk;
