//! Well-behaved clients beside badly-behaved ones (features/hostile_http.feature): the same
//! keep-alive clients run alone, then beside slow clients or a flood of idle connections, and
//! the Then steps compare what they saw. Their latencies are taken on raw connections, so
//! they are the server's, not a client pool's.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, ensure};
use cucumber::{then, when};
use tokio::{net::TcpStream, time::Instant};

use crate::{
    hostile::{WAIT, begin, slow_body_client},
    world::LithairWorld,
};

/// Rounds of "alone, then beside the others": a slow spell of the machine spoils one round,
/// not three.
const ROUNDS: usize = 3;

#[when(
    expr = "{int} normal clients make {int} requests each, alone and then beside {int} slow clients"
)]
async fn normal_beside_slow(
    world: &mut LithairWorld,
    clients: usize,
    requests: usize,
    slow: usize,
) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let mut normal = NormalClients::default();
    for round in 0..ROUNDS {
        let alone = normal_load(addr, clients, requests, &mut normal.errors).await;
        let slow_clients: Vec<_> = (0..slow)
            .map(|i| {
                tokio::spawn(async move {
                    let pause = Duration::from_millis(50);
                    if i % 2 == 0 {
                        let head =
                            b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: 1234567890abcdef\r\n\r\n";
                        Ok(rawhttp::trickle(addr, head, 1, pause, WAIT).await?)
                    } else {
                        slow_body_client(addr, pause).await
                    }
                })
            })
            .collect();
        // Let the slow clients get their connections in first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let beside = normal_load(addr, clients, requests, &mut normal.errors).await;
        normal.rounds.push((alone, beside));
        for (i, client) in slow_clients.into_iter().enumerate() {
            let what = format!("slow client {i} (round {})", round + 1);
            world.answers.hostile.push((what, client.await??));
        }
    }
    *world.part::<Option<NormalClients>>() = Some(normal);
    Ok(())
}

#[when(
    expr = "{int} idle connections are open while {int} normal clients make {int} requests each"
)]
async fn normal_beside_idle(
    world: &mut LithairWorld,
    idle: usize,
    clients: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let addr = begin(world)?;
    let mut normal = NormalClients::default();
    for _ in 0..ROUNDS {
        let alone = normal_load(addr, clients, requests, &mut normal.errors).await;
        let mut flood = Vec::with_capacity(idle);
        for i in 0..idle {
            let connection = TcpStream::connect(addr).await;
            flood.push(connection.with_context(|| format!("idle connection {i}"))?);
        }
        // The kernel completes a connection before the server accepts it; once one opened
        // after the flood is answered, the server has taken in every connection before it.
        let mut last = TcpStream::connect(addr).await?;
        rawhttp::exchange(&mut last, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n", WAIT).await?;
        let beside = normal_load(addr, clients, requests, &mut normal.errors).await;
        normal.rounds.push((alone, beside));
    }
    *world.part::<Option<NormalClients>>() = Some(normal);
    Ok(())
}

/// `clients` keep-alive connections, each alternating GET /health and a new article,
/// `requests` times; the latency of every answer, and what went wrong instead.
async fn normal_load(
    addr: SocketAddr,
    clients: usize,
    requests: usize,
    errors: &mut Vec<String>,
) -> Vec<Duration> {
    let tasks: Vec<_> =
        (0..clients).map(|client| tokio::spawn(normal_client(addr, client, requests))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await {
            Ok((times, error)) => {
                latencies.extend(times);
                errors.extend(error);
            }
            Err(err) => errors.push(format!("a normal client failed: {err}")),
        }
    }
    latencies
}

async fn normal_client(
    addr: SocketAddr,
    client: usize,
    requests: usize,
) -> (Vec<Duration>, Option<String>) {
    let mut latencies = Vec::new();
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) => return (latencies, Some(format!("normal client {client} connects: {err}"))),
    };
    for i in 0..requests {
        let (request, ok) = if i % 2 == 0 {
            (b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 200)
        } else {
            let body = format!(r#"{{"title":"normal {client} {i}","content":"c"}}"#);
            let head = format!("content-length: {}\r\n", body.len());
            (rawhttp::post("/api/articles", &head, body.as_bytes()), 201)
        };
        let started = Instant::now();
        match rawhttp::exchange(&mut stream, &request, WAIT).await {
            Ok(response) if response.status == ok => latencies.push(started.elapsed()),
            Ok(response) => {
                let body = String::from_utf8_lossy(&response.body).into_owned();
                return (
                    latencies,
                    Some(format!("normal client {client}: {} {body}", response.status)),
                );
            }
            Err(err) => {
                return (latencies, Some(format!("normal client {client}, request {i}: {err}")));
            }
        }
    }
    (latencies, None)
}

#[then("the normal clients saw no error")]
async fn normal_no_error(world: &mut LithairWorld) -> anyhow::Result<()> {
    let normal =
        world.part::<Option<NormalClients>>().as_ref().context("no normal clients were run")?;
    ensure!(
        normal.errors.is_empty(),
        "the normal clients saw errors:\n{}",
        normal.errors.join("\n")
    );
    Ok(())
}

/// Twice a p99 of a few milliseconds is within the scheduling noise of a shared 2-core
/// machine: a fixed 10 ms is allowed on top of the factor. No more: the p99s measured here
/// are 2–10 ms, and a server whose idle connections each wake up every millisecond has a
/// p99 beside 5,000 of them of ~55 ms, which a 50 ms allowance let through.
///
/// A shared machine also has slow spells of about a second (one made a p99 of 34 ms beside
/// idle connections against 1.4 ms alone in a CI run): so the When steps measure both sides
/// [`ROUNDS`] times, each "beside" right after its own "alone", and one round within the limit
/// passes. A server that is really slowed by the others fails every round.
#[then(expr = "the p99 latency of the normal clients stayed within {int} times the one alone")]
async fn p99_within(world: &mut LithairWorld, factor: u32) -> anyhow::Result<()> {
    let normal =
        world.part::<Option<NormalClients>>().as_ref().context("no normal clients were run")?;
    let mut seen = Vec::new();
    for (alone, beside) in &normal.rounds {
        let (alone, beside) = (p99(alone)?, p99(beside)?);
        let limit = alone * factor + Duration::from_millis(10);
        println!("    p99 of the normal clients: {alone:?} alone, {beside:?} beside the others");
        if beside <= limit {
            return Ok(());
        }
        seen.push(format!("p99 {beside:?} beside the others, {alone:?} alone (limit {limit:?})"));
    }
    ensure!(!seen.is_empty(), "no normal clients were measured");
    anyhow::bail!("in every round: {}", seen.join("; "))
}

fn p99(latencies: &[Duration]) -> anyhow::Result<Duration> {
    ensure!(!latencies.is_empty(), "no normal request was answered");
    let mut sorted = latencies.to_vec();
    sorted.sort();
    Ok(sorted[(sorted.len() * 99).div_ceil(100) - 1])
}

/// What well-behaved clients saw, alone and then beside badly-behaved ones.
#[derive(Debug, Default)]
struct NormalClients {
    /// Each round's latencies: alone, then beside the others.
    rounds: Vec<(Vec<Duration>, Vec<Duration>)>,
    errors: Vec<String>,
}
