//! Building responses: JSON bodies with the right headers.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;
use hyper::Response;
use serde::Serialize;

pub type HttpResponse = Response<Full<Bytes>>;

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

pub fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    // Serialising plain data structures cannot fail; if it ever did, say so rather than panic.
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(err) => {
            tracing::error!(%err, "response could not be serialised");
            json_bytes(
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"error":{"code":"internal","message":"response could not be serialised"}}"#
                    .to_vec(),
            )
        }
    }
}

pub fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, APPLICATION_JSON);
    response
}

pub fn created(location: String, body: &impl Serialize) -> HttpResponse {
    let mut response = json(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::try_from(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub fn no_content() -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
