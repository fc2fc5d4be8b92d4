//! Lithair's HTTP server: the articles, users and comments API on top of `lithair-core`.
//!
//! [`Server::open`] loads the data (replaying the log), then [`Server::serve`] serves an
//! already-bound listener until a shutdown future resolves: callers (the tests, the binary with
//! `--bind 127.0.0.1:0`) choose the address and know it before the data is loaded, and can
//! announce it only once it is. [`run`] does both steps at once. The binary (`main.rs`) adds
//! the command line, logging and signals. docs/architecture.md follows a request and a restart
//! through these modules.

#![forbid(unsafe_code)]

pub mod api;
mod chunked;
pub mod cluster;
mod cmd;
mod config;
mod error;
pub mod events;
mod framing;
mod lookup;
pub mod model;
mod request;
mod response;
mod router;
mod server;
pub mod shutdown;
pub mod store;

pub use config::ServerConfig;
pub use error::ApiError;
pub use server::{Server, ServerError, run};
