//! Lithair's HTTP benchmark (its method and goals: docs/performance.md): how close Lithair comes to
//! the limits of this machine and to its peers, all measured in one run on loopback so that the
//! ratios compare like with like.
//!
//! One concept per module: [`wrk`] (the reference load generator), [`lithair`] (the server per
//! durability mode), [`disk`] (the machine's `fdatasync`), [`redis`] and [`etcd`] (the peers,
//! through [`peer`]), [`restart`], and [`table`] (what is reported, with the goals).
//! Every measured number lands in [`figures::Figures`]; the table is computed from them.

#![forbid(unsafe_code)]

pub mod disk;
pub mod etcd;
pub mod figures;
pub mod lithair;
pub mod options;
pub mod peer;
pub mod redis;
pub mod restart;
pub mod table;
pub mod wrk;
