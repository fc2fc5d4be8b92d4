//! What the hostile-client steps share (`hostile_steps.rs` runs the badly-behaved clients,
//! `bystander_steps.rs` the well-behaved ones beside them): how long a client waits, where a
//! step's clients start from, and the slow-body client both kinds use.

use std::{net::SocketAddr, time::Duration};

use cucumber_tests::model::ArticleInput;
use rawhttp::Outcome;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::world::LithairWorld;

/// How long a hostile client waits for the server to answer or close.
pub const WAIT: Duration = Duration::from_secs(10);

/// The wait of a client whose connection may rightly stay open after its answer (a request
/// within the limits, a 400 the server may keep the connection after): long enough for the
/// close the scenarios require (within 3 s), without holding every such client for [`WAIT`].
pub const SHORT_WAIT: Duration = Duration::from_secs(3);

/// A whole head at once, then an article's body a byte at a time.
pub async fn slow_body_client(addr: SocketAddr, pause: Duration) -> anyhow::Result<Outcome> {
    let body = serde_json::to_vec(&ArticleInput::new("slow body", "c".repeat(60)))?;
    let head = rawhttp::post("/api/articles", &format!("content-length: {}\r\n", body.len()), b"");
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&head).await?;
    Ok(rawhttp::trickle_on(stream, &body, 1, pause, WAIT).await)
}

/// The server's address, after saving the log (the first time) for `no event was written`
/// and forgetting the previous step's clients.
pub fn begin(world: &mut LithairWorld) -> anyhow::Result<SocketAddr> {
    if world.crashes.saved_log.is_none() {
        world.crashes.saved_log = Some(std::fs::read(world.server.log_path()).unwrap_or_default());
    }
    world.answers.hostile.clear();
    Ok(world.server.running()?.addr())
}
