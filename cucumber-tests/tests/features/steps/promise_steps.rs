//! Steps for promises of the documentation that no other step checked (docs/promises.md):
//! HEAD wherever GET is, `/health` once the log cannot be written, the default durability, and
//! a damaged snapshot passed over.

use anyhow::{Context, ensure};
use bytes::Bytes;
use cucumber::{gherkin::Step, then, when};
use cucumber_tests::snapfile;
use reqwest::{
    Method,
    header::{CONTENT_TYPE, HeaderValue},
};

use crate::{explain::Explain, steps::parameters::Durability, world::LithairWorld};

/// docs/api.md: "`HEAD` is accepted wherever `GET` is." Each path is asked both ways: the same
/// status and content type, and no body after the HEAD's head.
#[then("a HEAD of each of these paths is answered like its GET, with no body:")]
async fn head_like_get(world: &mut LithairWorld, step: &Step) -> anyhow::Result<()> {
    let table = step.table.as_ref().context("the step needs a table: path")?;
    let mut wrong = Vec::new();
    for row in &table.rows[1..] {
        let path = row.first().context("each row needs a path")?;
        let (get_status, get_media, _) = ask(world, Method::GET, path).await?;
        let (head_status, head_media, head_body) = ask(world, Method::HEAD, path).await?;
        if (head_status, &head_media) != (get_status, &get_media) || !head_body.is_empty() {
            wrong.push(format!(
                "{path}: GET {get_status} {get_media:?}, HEAD {head_status} {head_media:?} with \
                 {} body bytes",
                head_body.len()
            ));
        }
    }
    ensure!(wrong.is_empty(), "HEAD is not answered like GET:\n  {}", wrong.join("\n  "));
    Ok(())
}

/// The status, content type and body of `method path`.
async fn ask(
    world: &LithairWorld,
    method: Method,
    path: &str,
) -> anyhow::Result<(u16, Option<HeaderValue>, Bytes)> {
    let request = world.http.request(method.clone(), world.server.url(path)?);
    let response = request.send().await.explain(format!("{method} {path}"))?;
    let status = response.status().as_u16();
    let media = response.headers().get(CONTENT_TYPE).cloned();
    let body = response.bytes().await.explain(format!("reading the answer to {method} {path}"))?;
    Ok((status, media, body))
}

/// docs/api.md and docs/durability.md: once the log cannot be written, `/health` answers 503
/// with `"status":"unavailable"` and an `"error"`, until the server is restarted.
#[then("the health check answers 503 unavailable")]
async fn health_unavailable(world: &mut LithairWorld) -> anyhow::Result<()> {
    let reply = crate::http::send(world, Method::GET, "/health", None).await?;
    ensure!(
        reply.status == 503
            && reply.body["status"] == "unavailable"
            && reply.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "/health answered {} {} after the log failed; expected 503 unavailable with an error",
        reply.status,
        reply.body
    );
    Ok(())
}

/// README and docs/api.md: `--durability` defaults to `fsync`. The scenario starts its server
/// without the flag; `/health` says which mode the server runs in.
#[then(expr = "the server says it runs in {durability} durability")]
async fn runs_in(world: &mut LithairWorld, mode: Durability) -> anyhow::Result<()> {
    let reply = crate::http::send(world, Method::GET, "/health", None).await?;
    ensure!(
        reply.status == 200 && reply.body["durability"] == mode.0.as_str(),
        "/health answered {} {}; expected {} durability",
        reply.status,
        reply.body,
        mode.0
    );
    Ok(())
}

/// Flips the last byte of the newest snapshot's body: its header still reads, its CRC does not
/// match. The server must be stopped.
#[when("the newest snapshot file is damaged")]
async fn damage_newest_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    ensure!(world.server.process.is_none(), "stop the server first");
    let snapshots = snapfile::list(&world.server.data_dir)?;
    let (_, newest) = snapshots.iter().max_by_key(|(seq, _)| *seq).context("no snapshot")?;
    let mut bytes = std::fs::read(newest)?;
    let last = bytes.last_mut().context("an empty snapshot file")?;
    *last ^= 0xff;
    std::fs::write(newest, bytes)?;
    Ok(())
}

/// docs/snapshots.md: a snapshot failing its checks is skipped with a warning naming the file,
/// and the next older one is tried. The server must have started from the newest snapshot the
/// harness's own reader finds sound, and have named each damaged one in its log.
#[then("the server started from the newest sound snapshot and named the damaged one")]
async fn started_from_sound_snapshot(world: &mut LithairWorld) -> anyhow::Result<()> {
    let log = world.server.raftlog().await?;
    let mut sound = None;
    let mut damaged = Vec::new();
    for (seq, path) in snapfile::list(&world.server.data_dir)? {
        match snapfile::verify(&path, &log) {
            Ok(_) => sound = sound.max(Some(seq)),
            Err(_) => damaged.push(path),
        }
    }
    ensure!(!damaged.is_empty(), "no snapshot is damaged");
    let health = crate::http::expect(world, Method::GET, "/health", None, 200).await?;
    ensure!(
        health["startup"]["snapshot"].as_u64() == sound,
        "the server started from snapshot {}, the newest sound one is {sound:?}",
        health["startup"]["snapshot"]
    );
    let server_log = world.server.log();
    for path in damaged {
        let name = path.file_name().context("a file name")?.to_string_lossy().into_owned();
        ensure!(
            server_log
                .lines()
                .any(|line| line.contains("skipping snapshot") && line.contains(&name)),
            "the server log does not say it skipped {name}"
        );
    }
    Ok(())
}
