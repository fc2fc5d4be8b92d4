//! What a load sends and what counts as success: the one thing a user of this crate writes.
//!
//! The generator knows nothing about the server it drives. A [`Workload`] turns a request
//! index into a [`Request`] and judges each answer with a [`Check`], so that a fast wrong
//! answer is counted as an error, and an acknowledged id (e.g. of a created record) is kept
//! for the caller to prove later that every acknowledged write survived.

use bytes::Bytes;
use http::{Method, StatusCode};

/// One HTTP request of a workload. A body is sent as `application/json`.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None }
    }

    pub fn json(method: Method, path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self { method, path: path.into(), body: Some(body.into()) }
    }
}

/// A workload's verdict on one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Ok,
    /// A success that the server acknowledged with this id (e.g. of a created article).
    Acknowledged(u64),
    /// The response is wrong: counted as an error, the reason kept among the samples.
    Failed(String),
}

/// What to send and what counts as success. Shared by all workers of a run.
pub trait Workload: Send + Sync + 'static {
    /// The request with this index; indexes run from 0 across all workers and are never reused.
    fn request(&self, index: u64) -> Request;

    /// Judges a complete response. By default any 2xx status is a success.
    fn check(&self, request: &Request, status: StatusCode, body: &[u8]) -> Check {
        let _ = (request, body);
        if status.is_success() {
            Check::Ok
        } else {
            Check::Failed("expected a 2xx status".to_owned())
        }
    }
}
