//! API errors: every failure a client can cause or see, as a status and a JSON body.
//!
//! ```json
//! {"error": {"code": "malformed_json", "message": "expected `,` or `}` at line 1 column 12"}}
//! ```
//!
//! `code` is stable and meant for programs; `message` is for people. docs/api.md lists them.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;
use hyper::Response;
use lithair_core::{CommitError, EngineError};
use serde::Serialize;

use crate::response;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For 405: the methods the route does allow.
    pub allow: Option<&'static str>,
    /// For 503s worth retrying: `Retry-After`, in seconds.
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), allow: None, retry_after: None }
    }

    pub fn malformed_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
    }

    pub fn invalid_utf8() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_utf8", "the request body is not valid UTF-8")
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    pub fn unreadable_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unreadable_body", message)
    }

    /// A GET or HEAD that carries a body: its meaning is undefined (RFC 9110 §9.3.1), and a
    /// body nobody reads is a classic way to desynchronise a proxy in front of the server.
    pub fn unexpected_body(method: &http::Method) -> Self {
        let message = format!("a {method} request must not have a body");
        Self::new(StatusCode::BAD_REQUEST, "unexpected_body", message)
    }

    /// Both `Content-Length` and `Transfer-Encoding`: a proxy may have framed the body one
    /// way and we the other, so whatever we did with it could be a smuggled request
    /// (RFC 9112 §6.1). The connection is closed after this answer.
    pub fn ambiguous_framing() -> Self {
        let message = "the request has both Content-Length and Transfer-Encoding; send one";
        Self::new(StatusCode::BAD_REQUEST, "ambiguous_framing", message)
    }

    /// A request line plus headers beyond `--max-header-bytes` (or more header lines than
    /// the parser takes). The connection is closed after this answer.
    pub fn request_head_too_large(limit: usize) -> Self {
        let message = format!("the request line and headers exceed the limit of {limit} bytes");
        Self::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request_head_too_large", message)
    }

    /// Bytes that are not an HTTP/1 request head. The connection is closed after this answer.
    pub fn malformed_request() -> Self {
        let message = "this is not an HTTP/1.1 request";
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        let message = format!("the request body was not received within {timeout:?}");
        Self::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", message)
    }

    pub fn too_many_connections(limit: usize) -> Self {
        let message = format!("the server already serves its limit of {limit} connections");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_connections", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(method: &http::Method, allow: &'static str) -> Self {
        let message = format!("{method} is not allowed here; allowed: {allow}");
        ApiError {
            allow: Some(allow),
            ..Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message)
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        let message = format!("the request body is larger than the limit of {limit} bytes");
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn unsupported_media_type(found: Option<&str>) -> Self {
        let message = match found {
            Some(found) => format!("the body must be application/json, not {found}"),
            None => "the body must be application/json (set the Content-Type header)".to_string(),
        };
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
    }

    pub fn storage_unavailable(err: &EngineError) -> Self {
        let message = format!("the change was not saved: {err}");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", message)
    }

    /// A cluster node that knows no leader: nothing was done; retry shortly (docs/cluster.md).
    pub fn no_leader() -> Self {
        let message = "this node knows no leader (an election is under way, or it is cut off \
                       from the majority); nothing was done, retry shortly";
        Self::retry_after(Self::new(StatusCode::SERVICE_UNAVAILABLE, "no_leader", message), 1)
    }

    /// The leader could not confirm with a majority that it still leads, so a read could be
    /// stale: nothing is served.
    pub fn no_quorum() -> Self {
        let message = "the leader could not reach a majority of the cluster to confirm this read";
        Self::retry_after(Self::new(StatusCode::SERVICE_UNAVAILABLE, "no_quorum", message), 1)
    }

    /// A write was proposed, but whether it is committed could not be learnt (timeout, lost
    /// leadership, shutdown): it may or may not have happened. Never a 4xx.
    pub fn outcome_unknown(reason: &str) -> Self {
        let message = format!(
            "the write was proposed but its outcome is unknown ({reason}); it may or may not \
             have happened: read before retrying"
        );
        Self::retry_after(Self::new(StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown", message), 1)
    }

    /// The write was decided on a state a leader change made stale, and committed as a no-op:
    /// it definitely did not happen, and can be retried as it is.
    pub fn conflict_retry() -> Self {
        let message = "the write was decided on a stale state and did not happen; retry it";
        Self::retry_after(Self::new(StatusCode::SERVICE_UNAVAILABLE, "conflict_retry", message), 1)
    }

    fn retry_after(self, seconds: u32) -> Self {
        ApiError { retry_after: Some(seconds), ..self }
    }

    pub fn internal() -> Self {
        let message = "the server failed to handle this request; it has been logged";
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// A failed `commit_with`: the decision's own rejection, or the engine's failure.
    pub fn from_commit(err: CommitError<ApiError>) -> Self {
        match err {
            CommitError::Rejected(rejection) => rejection,
            CommitError::Engine(EngineError::Encode(reason)) => {
                tracing::error!(%reason, "an event could not be encoded");
                Self::internal()
            }
            CommitError::Engine(err) => Self::storage_unavailable(&err),
        }
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Detail<'a>,
        }
        #[derive(Serialize)]
        struct Detail<'a> {
            code: &'a str,
            message: &'a str,
        }
        let body = Body { error: Detail { code: self.code, message: &self.message } };
        let mut response = response::json(self.status, &body);
        if let Some(allow) = self.allow {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
