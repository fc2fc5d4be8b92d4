//! Badly-behaved clients (features/hostile_http.feature): each gets a clear answer or a clean
//! close, nothing they send is half-applied, and the well-behaved clients beside them do not
//! notice.
//!
//! Every hostile client is a raw socket (the `rawhttp` crate): the When steps keep what
//! each one saw in `world.answers.hostile`, and the Then steps judge all of them. Normal
//! clients are raw keep-alive connections too, so their latencies are the server's, not a
//! client pool's.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use cucumber::{gherkin::Step, given, then, when};
use cucumber_tests::{model::ArticleInput, seed::Stream};
use rawhttp::{End, Outcome, RawResponse};
use tokio::{io::AsyncWriteExt, net::TcpStream, time::Instant};

use crate::{
    hostile::{SHORT_WAIT, WAIT, begin, slow_body_client},
    http,
    world::LithairWorld,
};

#[given(expr = "a running Lithair server started with {string}")]
async fn a_server_started_with(world: &mut LithairWorld, args: String) -> anyhow::Result<()> {
    world.server.args.extend(args.split_whitespace().map(str::to_owned));
    world.server.start().await
}

// What the hostile clients do -------------------------------------------------------------

#[when(
    expr = "{int} clients each send a {int} MiB article in full before reading, half with Content-Length and half chunked"
)]
async fn oversized_in_full(
    world: &mut LithairWorld,
    clients: usize,
    mib: usize,
) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let body = vec![b'x'; mib << 20];
    let by_length =
        rawhttp::post("/api/articles", &format!("content-length: {}\r\n", body.len()), &body);
    let by_chunks = rawhttp::post(
        "/api/articles",
        "transfer-encoding: chunked\r\n",
        &rawhttp::chunked(&body, 8192),
    );
    for client in 0..clients {
        let (what, request) =
            if client % 2 == 0 { ("Content-Length", &by_length) } else { ("chunked", &by_chunks) };
        // The head and a first part of the body, a pause in which the server answers (as on
        // a real network), then the rest: the 413 is written before the client reads.
        let (start, rest) = request.split_at((request.len() / 2).min(1 << 20));
        let pause = Duration::from_millis(20);
        let outcome = rawhttp::send_pieces_then_read(addr, &[start, rest], pause, WAIT).await?;
        world.answers.hostile.push((format!("client {client} ({what})"), outcome));
    }
    Ok(())
}

#[when(expr = "a client announces a {int} MiB article with Expect: 100-continue")]
async fn expect_continue(world: &mut LithairWorld, mib: usize) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let head = format!("content-length: {}\r\nexpect: 100-continue\r\n", mib << 20);
    let outcome =
        rawhttp::send_then_read(addr, &rawhttp::post("/api/articles", &head, b""), WAIT).await?;
    world.answers.hostile.push(("Expect: 100-continue, no body sent".into(), outcome));
    Ok(())
}

/// A valid article with a padding header of `bytes`; one the server accepts is remembered
/// under the id it assigned.
#[when(expr = "a client sends an article with a {int}-byte header")]
async fn big_header(world: &mut LithairWorld, bytes: usize) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let sent = ArticleInput::new(format!("behind a {bytes}-byte header"), "c");
    let body = serde_json::to_vec(&sent)?;
    let head = format!("x-padding: {}\r\ncontent-length: {}\r\n", "a".repeat(bytes), body.len());
    let outcome =
        rawhttp::send_then_read(addr, &rawhttp::post("/api/articles", &head, &body), SHORT_WAIT)
            .await?;
    if let Some(id) = outcome.response().filter(|r| r.status == 201).and_then(|r| created_id(&r)) {
        world.expected.remember_created(sent.with_id(id));
    }
    world.answers.hostile.push((format!("a {bytes}-byte header"), outcome));
    Ok(())
}

#[when(expr = "a client sends a GET with a {int}-byte URI")]
async fn long_uri(world: &mut LithairWorld, bytes: usize) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let request = format!("GET /health?{} HTTP/1.1\r\nhost: x\r\n\r\n", "q".repeat(bytes));
    let outcome = rawhttp::send_then_read(addr, request.as_bytes(), SHORT_WAIT).await?;
    world.answers.hostile.push((format!("a {bytes}-byte URI"), outcome));
    Ok(())
}

/// One client per row, each on its own connection; the `request` column names the shape
/// (see [`shape`]).
#[when("clients send these raw requests:")]
async fn raw_requests(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let table = step.table.as_ref().context("the step needs a table with a request column")?;
    ensure!(
        table.rows.first().is_some_and(|h| h == &["request"]),
        "the table's column is `request`"
    );
    // Garbage from the run's seed: the same run replays the same bytes.
    let mut random = world.seeded("raw requests")?;
    for row in &table.rows[1..] {
        let bytes = shape(&row[0], &mut random)?;
        let outcome = rawhttp::send_then_read(addr, &bytes, SHORT_WAIT).await?;
        world.answers.hostile.push((row[0].clone(), outcome));
    }
    Ok(())
}

/// The bytes of a named abusive request.
fn shape(name: &str, random: &mut Stream) -> anyhow::Result<Vec<u8>> {
    let article = br#"{"title":"smuggled","content":"c"}"#;
    Ok(match name {
        // Chunked, the body is a valid article; by the Content-Length, the body is its first
        // four bytes and the rest reads as a second request. A proxy and the server could
        // each pick a different framing, so the server must refuse the pair, apply nothing.
        "Content-Length and Transfer-Encoding" => {
            let mut both = rawhttp::post(
                "/api/articles",
                "content-length: 4\r\ntransfer-encoding: chunked\r\n",
                &rawhttp::chunked(article, 16),
            );
            let head = format!("content-length: {}\r\n", article.len());
            both.extend_from_slice(&rawhttp::post("/api/articles", &head, article));
            both
        }
        "two different Content-Lengths" => {
            let head = format!("content-length: {}\r\ncontent-length: 4\r\n", article.len());
            rawhttp::post("/api/articles", &head, article)
        }
        "an invalid chunk size" => rawhttp::post(
            "/api/articles",
            "transfer-encoding: chunked\r\n",
            b"zz\r\n{}\r\n0\r\n\r\n",
        ),
        "random bytes" => random.bytes(4096),
        "a TLS ClientHello" => {
            let mut hello = vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03];
            hello.extend_from_slice(&random.bytes(160));
            hello
        }
        "the HTTP/2 preface" => {
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00".to_vec()
        }
        "a GET with a body" => {
            b"GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello".to_vec()
        }
        other => bail!(
            "unknown request shape {other:?}: Content-Length and Transfer-Encoding, two different Content-Lengths, an invalid chunk size, random bytes, a TLS ClientHello, the HTTP/2 preface, a GET with a body"
        ),
    })
}

#[when(expr = "a client sends its request head one byte every {int} ms")]
async fn slow_head(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let request = b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let outcome = rawhttp::trickle(addr, request, 1, Duration::from_millis(ms), WAIT).await?;
    world.answers.hostile.push(("a head sent slowly".into(), outcome));
    Ok(())
}

#[when(expr = "a client sends its body one byte every {int} ms")]
async fn slow_body(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let outcome = slow_body_client(addr, Duration::from_millis(ms)).await?;
    world.answers.hostile.push(("a body sent slowly".into(), outcome));
    Ok(())
}

#[when(expr = "{int} clients hold a connection open")]
async fn hold_connections(world: &mut LithairWorld, clients: usize) -> anyhow::Result<()> {
    let addr = begin(world)?;
    for client in 0..clients {
        let mut stream = TcpStream::connect(addr).await?;
        let request = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";
        let response = rawhttp::exchange(&mut stream, request, WAIT).await?;
        ensure!(response.status == 200, "holding client {client} was answered {}", response.status);
        world.part::<Held>().0.push(stream);
    }
    Ok(())
}

#[when("one more client sends a request")]
async fn one_more(world: &mut LithairWorld) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let outcome =
        rawhttp::send_then_read(addr, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n", WAIT).await?;
    world.answers.hostile.push(("one client too many".into(), outcome));
    Ok(())
}

#[when("the clients holding connections leave")]
async fn holders_leave(world: &mut LithairWorld) {
    world.part::<Held>().0.clear();
}

/// Writers send whole articles one after another on keep-alive connections and remember each
/// acknowledged one; vandals each open a connection per article and reset it (SO_LINGER 0)
/// either after half the body (never to be applied) or after the whole request, before the
/// answer (may be applied, but only whole).
#[when(
    expr = "{int} clients write {int} articles each while {int} others disconnect abruptly mid-request and mid-response"
)]
async fn abrupt_disconnects(
    world: &mut LithairWorld,
    writers: usize,
    articles: usize,
    vandals: usize,
) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let writer_tasks: Vec<_> = (0..writers)
        .map(|writer| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let mut acknowledged = Vec::new();
                for i in 0..articles {
                    let sent = whole_article(&format!("kept {writer}-{i}"));
                    let body = serde_json::to_vec(&sent)?;
                    let head = format!("content-length: {}\r\n", body.len());
                    let request = rawhttp::post("/api/articles", &head, &body);
                    let response = rawhttp::exchange(&mut stream, &request, WAIT).await?;
                    let id = created_id(&response).with_context(|| {
                        format!("writer {writer} was answered {}", response.status)
                    })?;
                    acknowledged.push(sent.with_id(id));
                }
                anyhow::Ok(acknowledged)
            })
        })
        .collect();
    let mut never_applied = Vec::new();
    let mut vandal_tasks = Vec::new();
    for vandal in 0..vandals {
        let requests: Vec<(Vec<u8>, usize)> = (0..articles)
            .map(|i| {
                let sent = whole_article(&format!("vandal {vandal}-{i}"));
                // Padding after the JSON: a server that took the half it got as the whole body
                // would find valid JSON there.
                let mut body = serde_json::to_vec(&sent).expect("an article is JSON");
                body.extend_from_slice(&[b' '; 200]);
                let head = format!("content-length: {}\r\n", body.len());
                let request = rawhttp::post("/api/articles", &head, &body);
                let cut = if i % 2 == 0 {
                    never_applied.push(sent.title.clone());
                    request.len() - 100
                } else {
                    request.len()
                };
                (request, cut)
            })
            .collect();
        vandal_tasks.push(tokio::spawn(async move {
            for (request, cut) in requests {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_zero_linger()?;
                // The server may already have given up on us: a failed send is the point.
                let _ = stream.write_all(&request[..cut]).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(stream);
            }
            anyhow::Ok(())
        }));
    }
    for task in writer_tasks {
        for article in task.await?? {
            world.expected.remember_created(article);
        }
    }
    for task in vandal_tasks {
        task.await??;
    }
    world.expected.never_applied.extend(never_applied);
    Ok(())
}

/// An article whose content says which title it belongs with, so a mixed-up or half-applied
/// article shows.
fn whole_article(title: &str) -> ArticleInput {
    ArticleInput::new(title, format!("content of {title} ").repeat(20))
}

fn created_id(response: &RawResponse) -> Option<u64> {
    let body: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    (response.status == 201).then(|| body["id"].as_u64()).flatten()
}

// What they must have seen ----------------------------------------------------------------

/// Each hostile client of the last step, or a failure when there was none.
fn clients(world: &LithairWorld) -> anyhow::Result<&[(String, Outcome)]> {
    ensure!(!world.answers.hostile.is_empty(), "no hostile client was run before this step");
    Ok(&world.answers.hostile)
}

fn describe(outcome: &Outcome) -> String {
    let shown = &outcome.bytes[..outcome.bytes.len().min(300)];
    format!(
        "connection {:?} after {:?}, send error {:?}, read {:?}",
        outcome.end,
        outcome.elapsed,
        outcome.send_error,
        String::from_utf8_lossy(shown)
    )
}

#[then("every client sent its whole request")]
async fn sent_whole(world: &mut LithairWorld) -> anyhow::Result<()> {
    for (what, outcome) in clients(world)? {
        // http.client and many SDKs give up at a send error, never reading the answer.
        ensure!(outcome.send_error.is_none(), "{what}: sending failed: {}", describe(outcome));
    }
    Ok(())
}

#[then(expr = "every client was answered {int}")]
async fn answered(world: &mut LithairWorld, status: u16) -> anyhow::Result<()> {
    answered_with(world, status, None)
}

#[then(expr = "every client was answered {int} {word}")]
async fn answered_code(world: &mut LithairWorld, status: u16, code: String) -> anyhow::Result<()> {
    answered_with(world, status, Some(&code))
}

fn answered_with(world: &LithairWorld, status: u16, code: Option<&str>) -> anyhow::Result<()> {
    for (what, outcome) in clients(world)? {
        let response = outcome
            .response()
            .with_context(|| format!("{what}: no answer: {}", describe(outcome)))?;
        ensure!(
            response.status == status,
            "{what}: answered {}: {}",
            response.status,
            describe(outcome)
        );
        if let Some(code) = code {
            ensure!(
                response.error_code().as_deref() == Some(code),
                "{what}: the error code is not {code}: {}",
                describe(outcome)
            );
        }
    }
    Ok(())
}

/// Exactly one response, and not a byte after it: no `100 Continue` before it, no answer to
/// a smuggled request, nothing stray behind it.
#[then("every client got one answer only")]
async fn one_answer(world: &mut LithairWorld) -> anyhow::Result<()> {
    for (what, outcome) in clients(world)? {
        let (responses, rest) = outcome.responses_and_rest();
        ensure!(
            responses.len() == 1 && rest.is_empty(),
            "{what}: {} answers, then {} more bytes: {}",
            responses.len(),
            rest.len(),
            describe(outcome)
        );
    }
    Ok(())
}

#[then(expr = "every connection was closed by the server within {int} second(s)")]
async fn closed_within(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    for (what, outcome) in clients(world)? {
        // A reset destroys whatever answer the client had not read yet: only a FIN will do.
        ensure!(outcome.end == End::Closed, "{what}: not closed cleanly: {}", describe(outcome));
        ensure!(
            outcome.elapsed < Duration::from_secs(seconds),
            "{what}: closed only after {:?}",
            outcome.elapsed
        );
    }
    Ok(())
}

#[then(expr = "every client got a 400 or a close within {int} second(s)")]
async fn bad_request_or_close(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    for (what, outcome) in clients(world)? {
        let status = outcome.response().map(|r| r.status);
        ensure!(
            matches!(status, None | Some(400)),
            "{what}: answered {status:?}: {}",
            describe(outcome)
        );
        // A 400 counts from when it arrived; otherwise the close must come in time.
        let took = match status {
            Some(_) => outcome.answered_after,
            None => Some(outcome.elapsed).filter(|_| outcome.end != End::StillOpen),
        };
        ensure!(
            took.is_some_and(|took| took < Duration::from_secs(seconds)),
            "{what}: neither a 400 nor a close in time: {}",
            describe(outcome)
        );
    }
    Ok(())
}

#[then(expr = "a new client is served again within {int} seconds")]
async fn served_again(world: &mut LithairWorld, seconds: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let got = http::send(world, reqwest::Method::GET, "/health", None).await;
        match got {
            Ok(reply) if reply.status == 200 => return Ok(()),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(reply) => bail!("still answered {}: {}", reply.status, reply.body),
            Err(err) => return Err(err.context("still not served")),
        }
    }
}

/// Served or in the log, an article is one the client sent whole; never one cut off halfway.
#[then("no half-sent article was applied")]
async fn no_half_applied(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(!world.expected.never_applied.is_empty(), "no article was cut off halfway");
    let served = http::all_articles(world).await?;
    let replay = world.server.raftlog().await?.replay();
    for article in served.values().chain(replay.articles.values()) {
        ensure!(
            !world.expected.never_applied.contains(&article.title),
            "{:?} was applied, but its body was cut off halfway",
            article.title
        );
        let whole = whole_article(&article.title);
        let own = article.title.starts_with("kept ") || article.title.starts_with("vandal ");
        ensure!(!own || article.content == whole.content, "article {} is not whole", article.id);
    }
    Ok(())
}

/// Connections held open by clients, until they leave ([`LithairWorld::part`]).
#[derive(Debug, Default)]
struct Held(Vec<TcpStream>);
