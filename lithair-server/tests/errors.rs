//! Bad input gets a clear JSON error with the right status, writes nothing, and the server
//! keeps serving.

mod common;

use common::*;
use serde_json::Value;

struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn case(
    what: &'static str,
    method: &'static str,
    path: &'static str,
    body: &[u8],
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        content_type: Some("application/json"),
        body: body.to_vec(),
        status,
        code,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "malformed JSON",
            "POST",
            "/api/articles",
            b"{\"title\": \"x\", ",
            400,
            "malformed_json",
        ),
        case("not JSON at all", "POST", "/api/articles", b"hello", 400, "malformed_json"),
        case("empty body", "POST", "/api/articles", b"", 400, "malformed_json"),
        case("a JSON array", "POST", "/api/articles", b"[1,2]", 400, "invalid_field"),
        case(
            "wrong type",
            "POST",
            "/api/articles",
            br#"{"title": 42, "content": "c"}"#,
            400,
            "invalid_field",
        ),
        case(
            "missing title",
            "POST",
            "/api/articles",
            br#"{"content": "c"}"#,
            400,
            "invalid_field",
        ),
        case(
            "empty title",
            "POST",
            "/api/articles",
            br#"{"title": "  ", "content": "c"}"#,
            400,
            "invalid_field",
        ),
        case(
            "unknown field",
            "POST",
            "/api/articles",
            br#"{"title": "t", "content": "c", "x": 1}"#,
            400,
            "invalid_field",
        ),
        case(
            "negative author",
            "POST",
            "/api/articles",
            br#"{"title": "t", "content": "c", "author_id": -1}"#,
            400,
            "invalid_field",
        ),
        case(
            "not UTF-8",
            "POST",
            "/api/articles",
            b"{\"title\": \"\xc3\x28\", \"content\": \"c\"}",
            400,
            "invalid_utf8",
        ),
        case(
            "bad email",
            "POST",
            "/api/users",
            br#"{"name": "n", "email": "nope"}"#,
            400,
            "invalid_field",
        ),
        case(
            "update a missing article",
            "PUT",
            "/api/articles/404",
            br#"{"title": "t", "content": "c"}"#,
            404,
            "not_found",
        ),
        case("delete a missing article", "DELETE", "/api/articles/404", b"", 404, "not_found"),
        case("get a missing article", "GET", "/api/articles/404", b"", 404, "not_found"),
        case("non-numeric id", "GET", "/api/articles/abc", b"", 404, "not_found"),
        case("unknown route", "GET", "/api/nothing", b"", 404, "not_found"),
        case("wrong method", "PATCH", "/api/articles/0", b"{}", 405, "method_not_allowed"),
        case(
            "wrong method on a collection",
            "DELETE",
            "/api/articles",
            b"",
            405,
            "method_not_allowed",
        ),
        case("bad paging", "GET", "/api/articles?limit=abc", b"", 400, "invalid_query"),
        Case {
            content_type: Some("text/plain"),
            ..case(
                "wrong content type",
                "POST",
                "/api/articles",
                br#"{"title": "t", "content": "c"}"#,
                415,
                "unsupported_media_type",
            )
        },
        Case {
            content_type: None,
            ..case(
                "no content type",
                "POST",
                "/api/articles",
                br#"{"title": "t", "content": "c"}"#,
                415,
                "unsupported_media_type",
            )
        },
        case("huge body", "POST", "/api/articles", &huge_article(), 413, "payload_too_large"),
    ]
}

fn huge_article() -> Vec<u8> {
    format!(r#"{{"title": "t", "content": "{}"}}"#, "x".repeat(2 << 20)).into_bytes()
}

#[tokio::test]
async fn every_bad_request_gets_its_status_and_code_and_writes_nothing() {
    let server = TestServer::start().await;
    let article = create_article(&server, "Keep", "me").await;
    let client = client();

    for case in cases() {
        let mut request = client
            .request(case.method.parse().unwrap(), server.url(case.path))
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let allow = response.headers().get("allow").cloned();
        assert_eq!(response.headers()["content-type"], "application/json", "{}", case.what);
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, case.status, "{}: {body}", case.what);
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.what);
        assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{}", case.what);
        if case.status == 405 {
            assert!(allow.is_some(), "{}: 405 names the allowed methods", case.what);
        }
    }

    let health = health(&server).await;
    assert_eq!(health["events"], 1, "no rejected request wrote an event");
    assert_eq!(get_json(&server.url("/api/articles/0")).await, (200, article));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_even_without_content_length() {
    use tokio::io::AsyncWriteExt;
    let server =
        TestServer::start_with(|c| lithair_server::ServerConfig { max_body_bytes: 1024, ..c })
            .await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // Two chunks of 1000 bytes: no Content-Length to check up front, so the limit must hold
    // while the body streams in.
    let chunk = "x".repeat(1000);
    let request = format!(
        "POST /api/articles HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n{len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
        len = chunk.len(),
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let responses = read_responses(&mut stream, 1).await;
    assert_eq!(responses[0].0, 413, "{}", responses[0].1);
    assert!(responses[0].1.contains("payload_too_large"), "{}", responses[0].1);
    assert_eq!(health(&server).await["events"], 0);
}
