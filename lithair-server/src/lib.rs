//! Lithair's HTTP server: the articles, users and comments API on top of `lithair-core`.
//!
//! [`run`] takes an already-bound listener, so that callers (tests, the binary with
//! `--bind 127.0.0.1:0`) choose the address and know it before the server starts. The binary
//! (`main.rs`) adds the command line, logging and signals.

pub mod api;
mod chunked;
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
