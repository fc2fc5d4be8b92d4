//! Reading a request: its JSON body (within the size limit) and its query parameters.
//!
//! Every way a body can be wrong maps to its own error, checked in this order: the media
//! type, the size (from `Content-Length` when given, while streaming otherwise), UTF-8, JSON
//! syntax, and finally the fields (types, missing or unknown ones).

use std::time::Duration;

use http::{Method, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::{Request, body::Incoming};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// How long the body of this request may take to arrive. The connection layer
/// (`server.rs`) attaches it to every request as an extension, so that the handlers need not
/// carry it; without it, a body has no deadline.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Read and decode the JSON body of `request`, which may be at most `max_bytes` long.
pub async fn json_body<T: DeserializeOwned>(
    request: Request<Incoming>,
    max_bytes: usize,
) -> Result<T, ApiError> {
    check_content_type(&request)?;
    if declared_length(&request).is_some_and(|length| length > max_bytes as u64) {
        return Err(ApiError::payload_too_large(max_bytes));
    }
    let timeout = request.extensions().get::<BodyTimeout>().map(|timeout| timeout.0);
    let collect = Limited::new(request.into_body(), max_bytes).collect();
    let collected = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, collect)
            .await
            .map_err(|_| ApiError::body_timeout(timeout))?,
        None => collect.await,
    };
    let body = collected.map_err(|err| {
        if err.downcast_ref::<LengthLimitError>().is_some() {
            ApiError::payload_too_large(max_bytes)
        } else {
            ApiError::unreadable_body(format!("the request body could not be read: {err}"))
        }
    })?;
    decode_json(&body.to_bytes())
}

/// GET and HEAD must come without a body (`Content-Length: 0` is tolerated).
pub fn check_no_body(request: &Request<Incoming>) -> Result<(), ApiError> {
    let method = request.method();
    let reads = method == Method::GET || method == Method::HEAD;
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || declared_length(request).is_some_and(|length| length > 0);
    if reads && has_body { Err(ApiError::unexpected_body(method)) } else { Ok(()) }
}

fn check_content_type(request: &Request<Incoming>) -> Result<(), ApiError> {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return Err(ApiError::unsupported_media_type(None));
    };
    let value = value.to_str().unwrap_or("a non-ASCII media type");
    let media_type = value.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(Some(value)))
    }
}

fn declared_length(request: &Request<Incoming>) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid_utf8())?;
    serde_json::from_str(text).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => ApiError::invalid_field(err.to_string()),
        _ => ApiError::malformed_json(err.to_string()),
    })
}

/// `offset` and `limit` of a list request. Other parameters are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: usize,
    pub limit: usize,
}

impl Paging {
    pub const DEFAULT_LIMIT: usize = 100;
    pub const MAX_LIMIT: usize = 1000;

    pub fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let mut paging = Paging { offset: 0, limit: Self::DEFAULT_LIMIT };
        for pair in query.unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "offset" => paging.offset = parse_count(name, value)?,
                "limit" => paging.limit = parse_count(name, value)?,
                _ => {}
            }
        }
        if paging.limit == 0 || paging.limit > Self::MAX_LIMIT {
            return Err(ApiError::invalid_query(format!(
                "limit must be between 1 and {}, not {}",
                Self::MAX_LIMIT,
                paging.limit
            )));
        }
        Ok(paging)
    }
}

fn parse_count(name: &str, value: &str) -> Result<usize, ApiError> {
    value.parse().map_err(|_| {
        ApiError::invalid_query(format!("{name} must be a non-negative integer, not {value:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "the field is only there to be deserialised")]
    struct Input {
        title: String,
    }

    #[test]
    fn each_kind_of_bad_body_has_its_own_code() {
        let code = |body: &[u8]| decode_json::<Input>(body).unwrap_err().code;
        assert_eq!(code(b"{\"title\": "), "malformed_json");
        assert_eq!(code(b"not json"), "malformed_json");
        assert_eq!(code(b""), "malformed_json");
        assert_eq!(code(b"{\"title\": 5}"), "invalid_field");
        assert_eq!(code(b"{}"), "invalid_field");
        assert_eq!(code(b"{\"title\": \"a\", \"extra\": 1}"), "invalid_field");
        assert_eq!(code(b"{\"title\": \"\xff\"}"), "invalid_utf8");
    }

    #[test]
    fn paging_has_a_default_and_a_maximum() {
        assert_eq!(Paging::from_query(None).unwrap(), Paging { offset: 0, limit: 100 });
        assert_eq!(
            Paging::from_query(Some("offset=20&limit=5&x=1")).unwrap(),
            Paging { offset: 20, limit: 5 }
        );
        assert_eq!(Paging::from_query(Some("limit=1001")).unwrap_err().code, "invalid_query");
        assert_eq!(Paging::from_query(Some("offset=-1")).unwrap_err().code, "invalid_query");
    }
}
