//! HTTP/1.1 as clients really use it: several requests on one connection, pipelining,
//! `Connection: close`, and bad input of every kind.
//!
//! The connection steps use one raw socket (or one hyper connection) so that "the same
//! connection" is a fact of the test, not of a client's pool.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use cucumber::{gherkin::Step, then, when};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rawhttp::RawResponse;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{explain::Explain, http::numbered_article, world::LithairWorld};

const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

/// What these steps keep for their Then steps ([`LithairWorld::part`]).
#[derive(Debug, Default)]
struct Exchanges {
    /// Answers (status, body) read off a raw connection, in order.
    raw: Vec<(u16, String)>,
    /// One per row of the bad-requests table.
    bad: Vec<BadAnswer>,
    /// Each creation and what its `Location` header led to.
    located: Vec<Located>,
}

/// A 201 and the resource its `Location` header names, read back.
#[derive(Debug, Clone)]
struct Located {
    what: String,
    /// What the client sent, with the id the server assigned.
    sent: Value,
    location: Option<String>,
    /// The status and body of a GET on the location.
    read_back: Option<(u16, Value)>,
}

/// The answer to one row of the bad-requests table, beside what the row expected.
#[derive(Debug, Clone)]
struct BadAnswer {
    case: String,
    method: String,
    /// (status, error code)
    expected: (String, String),
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    body: String,
    /// Status of a good request sent right after this one.
    next_good: u16,
}

#[when(expr = "I create and read back {int} articles over a single connection")]
async fn create_and_read_on_one_connection(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(world.server.running()?.addr()).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    for n in 0..count {
        let sent = numbered_article(n);
        let body = serde_json::to_vec(&sent)?;
        let post = hyper::Request::post("/api/articles")
            .header("host", "lithair")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let (status, created) =
            exchange(&mut sender, post).await.explain("POST on the shared connection")?;
        ensure!(status == 201, "POST answered {status}: {created}");
        let id = created["id"].as_u64().context("no id")?;
        let get = hyper::Request::get(format!("/api/articles/{id}"))
            .header("host", "lithair")
            .body(Full::new(Bytes::new()))?;
        let (status, read) =
            exchange(&mut sender, get).await.explain("GET after POST on the same connection")?;
        ensure!(
            status == 200 && read == created,
            "reading article {id} back gave {status}: {read}"
        );
        world.expected.remember_created(sent.with_id(id));
    }
    drop(sender);
    // The connection task ends cleanly only if the server kept it open for every request.
    tokio::time::timeout(ANSWER_DEADLINE, connection).await??.explain("the connection failed")?;
    Ok(())
}

async fn exchange(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(u16, Value)> {
    // The previous exchange may still be finishing on the connection: wait until it can take
    // the next request, as hyper requires.
    sender.ready().await?;
    let response = tokio::time::timeout(ANSWER_DEADLINE, sender.send_request(request)).await??;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&body)?))
}

/// Requests written back to back before any answer is read.
#[when("I send these requests pipelined on one connection:")]
async fn pipelined(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table: method | path | body")?;
    let mut wire = String::new();
    for row in table.rows.iter().skip(1) {
        let [method, path, body] = row.as_slice() else {
            bail!("each row needs method | path | body")
        };
        wire.push_str(&raw_request(method, path, Some("application/json"), body.as_bytes(), "")?);
        wire.push_str(body);
    }
    let mut stream = TcpStream::connect(world.server.running()?.addr()).await?;
    stream.write_all(wire.as_bytes()).await?;
    world.part::<Exchanges>().raw = read_responses(&mut stream, table.rows.len() - 1).await?;
    Ok(())
}

#[then("the answers come back in the same order:")]
async fn answers_in_order(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table: status | contains")?;
    let expected = &table.rows[1..];
    ensure!(
        world.part::<Exchanges>().raw.len() == expected.len(),
        "{} answers for {} expected",
        world.part::<Exchanges>().raw.len(),
        expected.len()
    );
    for (i, ((status, body), row)) in world.part::<Exchanges>().raw.iter().zip(expected).enumerate()
    {
        let [want_status, want_text] = row.as_slice() else {
            bail!("each row needs status | contains")
        };
        ensure!(
            status.to_string() == *want_status,
            "answer {}: status {status}, expected {want_status}: {body}",
            i + 1
        );
        ensure!(
            body.contains(want_text.as_str()),
            "answer {}: {body} does not contain {want_text:?}",
            i + 1
        );
    }
    Ok(())
}

#[when("I send a request asking the server to close the connection")]
async fn connection_close(world: &mut LithairWorld) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(world.server.running()?.addr()).await?;
    stream
        .write_all(raw_request("GET", "/health", None, b"", "connection: close\r\n")?.as_bytes())
        .await?;
    let mut everything = Vec::new();
    let closed = tokio::time::timeout(ANSWER_DEADLINE, stream.read_to_end(&mut everything)).await;
    ensure!(closed.is_ok(), "the server kept the connection open after `Connection: close`");
    world.part::<Exchanges>().raw =
        parse_responses(&everything, 1).context("no complete answer before the close")?;
    Ok(())
}

#[then("the server answers and closes the connection")]
async fn answered_and_closed(world: &mut LithairWorld) -> anyhow::Result<()> {
    let (status, _) = world.part::<Exchanges>().raw.first().context("no answer")?;
    ensure!(*status == 200, "the answer was {status}");
    Ok(())
}

/// The bad-input table: one request per row, on its own connection. `<2 MiB of text>` and
/// `<invalid UTF-8>` stand for bodies a table cannot hold.
#[when("I send these bad requests:")]
async fn bad_requests(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table")?;
    let header = &table.rows[0];
    let column = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| format!("no {name:?} column"))
    };
    let columns = [
        column("case")?,
        column("method")?,
        column("path")?,
        column("content type")?,
        column("body")?,
        column("status")?,
        column("error code")?,
    ];
    world.crashes.saved_log = Some(std::fs::read(world.server.log_path()).unwrap_or_default());
    world.part::<Exchanges>().bad.clear();
    for row in &table.rows[1..] {
        let [case, method, path, media, body, status, code] = columns.map(|c| row[c].as_str());
        let media = Some(media).filter(|m| !m.is_empty() && *m != "none");
        let answer = send_raw(world, method, path, media, &expand_body(body)).await?;
        // The next well-behaved client must not pay for this one: read article 0, which the
        // scenario created, on a fresh connection.
        let next =
            send_raw(world, "GET", "/api/articles/0", None, &Body::Plain(Vec::new())).await?;
        world.part::<Exchanges>().bad.push(BadAnswer {
            case: case.to_owned(),
            method: method.to_owned(),
            expected: (status.to_owned(), code.to_owned()),
            status: answer.status,
            content_type: answer.header("content-type").map(str::to_owned),
            allow: answer.header("allow").map(str::to_owned),
            body: String::from_utf8_lossy(&answer.body).into_owned(),
            next_good: next.status,
        });
    }
    Ok(())
}

/// Each refusal: its status, its error code in a JSON body labelled `application/json`, an
/// `Allow` header on a 405 that does not offer the refused method, and a good request served
/// right after it.
#[then("each bad request was rejected with its status and error code")]
async fn each_rejected(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.part::<Exchanges>().bad.is_empty(), "no bad request was sent");
    let wrong: Vec<String> = world
        .part::<Exchanges>()
        .bad
        .iter()
        .filter_map(|a| refusal_problem(a).map(|problem| format!("{}: {problem}", a.case)))
        .collect();
    ensure!(wrong.is_empty(), "bad requests not rejected as expected:\n  {}", wrong.join("\n  "));
    Ok(())
}

fn refusal_problem(a: &BadAnswer) -> Option<String> {
    let (status, code) = (&a.expected.0, a.expected.1.as_str());
    let got_code = serde_json::from_str::<Value>(&a.body)
        .ok()
        .and_then(|body| body["error"]["code"].as_str().map(str::to_owned));
    if a.status.to_string() != *status || got_code.as_deref() != Some(code) {
        return Some(format!("got {} {}, expected {status} {code}", a.status, a.body));
    }
    let media = a.content_type.as_deref().unwrap_or("none");
    if !media.starts_with("application/json") {
        return Some(format!("the error is labelled {media}, not application/json"));
    }
    if a.status == 405 {
        let allow = a.allow.as_deref().unwrap_or_default();
        let offered: Vec<&str> = allow.split(',').map(str::trim).collect();
        if allow.is_empty() || offered.contains(&a.method.as_str()) {
            return Some(format!("405 with Allow {allow:?} for a refused {}", a.method));
        }
    }
    (a.next_good != 200)
        .then(|| format!("the good request right after it was answered {}", a.next_good))
}

/// An article, a user and a comment by that user on that article, each created and then read
/// back at the `Location` its 201 named.
#[when("I create an article, a user and a comment, and follow each Location")]
async fn create_and_follow(world: &mut LithairWorld) -> anyhow::Result<()> {
    let article = serde_json::json!({"title": "Located", "content": "Found where it was said"});
    let article = follow(world, "article", "/api/articles", article).await?;
    let user = serde_json::json!({"name": "Grace Hopper", "email": "grace@example.org"});
    let user = follow(world, "user", "/api/users", user).await?;
    let comment = serde_json::json!({"user_id": user, "body": "Well placed"});
    follow(world, "comment", &format!("/api/articles/{article}/comments"), comment).await?;
    Ok(())
}

/// POST `sent`, then GET what `Location` names; returns the id the server assigned.
async fn follow(
    world: &mut LithairWorld,
    what: &str,
    path: &str,
    sent: Value,
) -> anyhow::Result<u64> {
    let response = world.http.post(world.server.url(path)?).json(&sent).send().await?;
    ensure!(response.status() == 201, "creating a {what} answered {}", response.status());
    let location =
        response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
    let created: Value = response.json().await?;
    let id = created["id"].as_u64().with_context(|| format!("the {what} has no id: {created}"))?;
    let mut sent = sent;
    sent["id"] = id.into();
    let read_back = match &location {
        Some(location) => {
            let response = world.http.get(world.server.url(location)?).send().await?;
            let status = response.status().as_u16();
            Some((status, response.json().await.unwrap_or(Value::Null)))
        }
        None => None,
    };
    world.part::<Exchanges>().located.push(Located {
        what: what.to_owned(),
        sent,
        location,
        read_back,
    });
    Ok(id)
}

/// The location of each creation serves what the client sent, under the id it was given (a
/// comment's location is its article's comment list, which must hold it).
#[then("each Location serves what was created")]
async fn each_location_serves(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.part::<Exchanges>().located.is_empty(), "nothing was created");
    for created in &world.part::<Exchanges>().located {
        let what = &created.what;
        let location = created
            .location
            .as_deref()
            .with_context(|| format!("the {what}'s 201 has no Location"))?;
        let (status, body) = created.read_back.as_ref().context("not read back")?;
        ensure!(*status == 200, "GET {location} (the new {what}) answered {status}");
        let found = match body["items"].as_array() {
            Some(items) => items.iter().find(|i| i["id"] == created.sent["id"]),
            None => Some(body),
        };
        let found =
            found.with_context(|| format!("{location} does not list the new {what}: {body}"))?;
        let sent = created.sent.as_object().context("sent an object")?;
        for (field, value) in sent {
            ensure!(
                &found[field] == value,
                "{location} serves {field} = {}, but the new {what} has {value}",
                found[field]
            );
        }
    }
    Ok(())
}

/// One request on a fresh connection. The body is written while the answer is read, because
/// the server may answer (413) and close before reading a large body.
async fn send_raw(
    world: &LithairWorld,
    method: &str,
    path: &str,
    media: Option<&str>,
    body: &Body,
) -> anyhow::Result<RawResponse> {
    let stream = TcpStream::connect(world.server.running()?.addr()).await?;
    let (mut reader, mut writer) = stream.into_split();
    let wire = match body {
        Body::Plain(body) => {
            let mut wire = raw_request(method, path, media, body, "")?.into_bytes();
            wire.extend_from_slice(body);
            wire
        }
        Body::Chunked(body) => chunked_request(method, path, media, body),
    };
    let write = tokio::spawn(async move { writer.write_all(&wire).await.map(|()| writer) });
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + ANSWER_DEADLINE;
    let answer = loop {
        if let Some((answer, _)) = rawhttp::parse_response(&buffer) {
            break answer;
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = tokio::time::timeout_at(deadline, reader.read(&mut chunk))
            .await
            .context("no answer within the deadline")??;
        ensure!(read > 0, "the connection closed without an answer");
        buffer.extend_from_slice(&chunk[..read]);
    };
    write.abort();
    Ok(answer)
}

#[then("no event was written")]
async fn no_event_written(world: &mut LithairWorld) -> anyhow::Result<()> {
    let before =
        world.crashes.saved_log.as_ref().context("the log was not saved before the requests")?;
    let after = std::fs::read(world.server.log_path()).unwrap_or_default();
    ensure!(&after == before, "the log grew from {} to {} bytes", before.len(), after.len());
    Ok(())
}

/// A request body, sent with `content-length` or in chunks (no length announced up front).
enum Body {
    Plain(Vec<u8>),
    Chunked(Vec<u8>),
}

fn expand_body(cell: &str) -> Body {
    let huge = || format!(r#"{{"title":"t","content":"{}"}}"#, "x".repeat(2 << 20)).into_bytes();
    match cell {
        "<2 MiB of text>" => Body::Plain(huge()),
        "<2 MiB of text, chunked>" => Body::Chunked(huge()),
        "<invalid UTF-8>" => Body::Plain(b"{\"title\":\"\xc3\x28\",\"content\":\"c\"}".to_vec()),
        other => Body::Plain(other.as_bytes().to_vec()),
    }
}

/// A whole request with `transfer-encoding: chunked`: the server learns the size only as it
/// reads, so `--max-body` must be enforced while reading, not from a header.
fn chunked_request(method: &str, path: &str, media: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut wire = format!("{method} {path} HTTP/1.1\r\nhost: lithair\r\n");
    if let Some(media) = media {
        wire.push_str(&format!("content-type: {media}\r\n"));
    }
    wire.push_str("transfer-encoding: chunked\r\n\r\n");
    let mut wire = wire.into_bytes();
    for chunk in body.chunks(64 * 1024) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// The head of a request; the body follows it on the wire.
fn raw_request(
    method: &str,
    path: &str,
    media: Option<&str>,
    body: &[u8],
    extra: &str,
) -> anyhow::Result<String> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: lithair\r\n{extra}");
    if let Some(media) = media.filter(|_| !body.is_empty()) {
        head.push_str(&format!("content-type: {media}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    Ok(head)
}

async fn read_responses(
    stream: &mut TcpStream,
    count: usize,
) -> anyhow::Result<Vec<(u16, String)>> {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + ANSWER_DEADLINE;
    loop {
        if let Some(responses) = parse_responses(&buffer, count) {
            return Ok(responses);
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .context("no complete answer within the deadline")??;
        ensure!(read > 0, "the connection closed after {:?}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// `count` complete responses from the start of `buffer`, or `None` if more bytes are needed.
fn parse_responses(mut buffer: &[u8], count: usize) -> Option<Vec<(u16, String)>> {
    let mut responses = Vec::new();
    while responses.len() < count {
        let (response, used) = rawhttp::parse_response(buffer)?;
        responses.push((response.status, String::from_utf8_lossy(&response.body).into_owned()));
        buffer = &buffer[used..];
    }
    Some(responses)
}
