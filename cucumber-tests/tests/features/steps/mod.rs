//! The step library, one file per domain. docs/steps.md lists every step with an example, and
//! `tests/steps_documented.rs` fails when one is missing there.

mod bystander_steps;
mod cluster_steps;
mod community_steps;
mod corruption_steps;
mod crud_steps;
mod durability_steps;
mod fr_cluster_steps;
mod fr_steps;
mod history_steps;
mod hostile_steps;
mod http_steps;
mod load_steps;
mod nemesis_steps;
pub(crate) mod parameters;
mod peer_auth_steps;
mod power_steps;
mod promise_steps;
mod raftlog_steps;
mod server_steps;
mod service_level_steps;
mod snapshot_steps;
mod upstream_cluster_steps;
mod upstream_distribution_steps;
mod upstream_steps;
mod vote_steps;
