//! The `lithair-server` binary: command line, logging, signals around `lithair_server`.

#![forbid(unsafe_code)]

mod cli;
mod migrate;

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use clap::Parser;
use lithair_cluster::auth::ClusterSecret;
use lithair_server::{Server, cluster::ClusterOptions, shutdown};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// glibc's allocator spends a tenth of a write request's CPU in its arena locks, because
/// buffers allocated on a worker thread are freed on the log writer's thread and back;
/// mimalloc's thread-free lists are made for that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(&cli.log_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(%err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    if let Some(cli::Command::Migrate(args)) = &cli.command {
        return runtime.block_on(migrate::run(args));
    }
    match runtime.block_on(serve(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: &cli::Cli) -> anyhow::Result<()> {
    use anyhow::Context;
    let listener = TcpListener::bind(cli.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cli.bind))?;
    let address = listener.local_addr()?;
    let (server, peers) = match cli.node_id {
        None => (Server::open(cli.server_config()).await?, None),
        Some(node_id) => {
            let (options, peer_listener) = cluster_options(cli, node_id, address).await?;
            let peers = peer_listener.local_addr()?;
            (Server::open_cluster(cli.server_config(), options, peer_listener).await?, Some(peers))
        }
    };
    // Listening for SIGTERM before the announcement: whoever reads it may stop us at once.
    let shutdown = shutdown::signal_received();
    announce(address, peers)?;
    server.serve(listener, shutdown).await?;
    Ok(())
}

/// What the cluster flags say, and the bound peer listener.
async fn cluster_options(
    cli: &cli::Cli,
    node_id: u64,
    api: std::net::SocketAddr,
) -> anyhow::Result<(ClusterOptions, TcpListener)> {
    use anyhow::Context;
    let secret_file =
        cli.cluster_secret_file.as_ref().context("--node-id needs --cluster-secret-file")?;
    let secret = ClusterSecret::from_file(secret_file)?;
    let peer_bind = cli.peer_bind.context("--node-id needs --peer-bind")?;
    let peer_listener = TcpListener::bind(peer_bind)
        .await
        .with_context(|| format!("cannot listen for peers on {peer_bind}"))?;
    let peer_advertise = match &cli.peer_advertise {
        Some(address) => address.clone(),
        None => peer_listener.local_addr()?.to_string(),
    };
    let options = ClusterOptions {
        node_id,
        peer_advertise,
        api_advertise: api.to_string(),
        secret,
        routes: cli.peer_route.iter().cloned().collect(),
    };
    Ok((options, peer_listener))
}

/// The first line on stdout is a contract (README.md, docs/api.md): scripts and the test
/// harness read the real address from it, and it appears only once the data is loaded.
/// A cluster node adds a second line with its peer listener's address.
fn announce(
    address: std::net::SocketAddr,
    peers: Option<std::net::SocketAddr>,
) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "lithair-server listening on http://{address}")?;
    if let Some(peers) = peers {
        writeln!(stdout, "lithair-server peers on http://{peers}")?;
    }
    stdout.flush()
}

fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|err| {
        eprintln!("invalid --log-level {filter:?} ({err}); using info");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
