//! The `lithair-server` binary: command line, logging, signals around `lithair_server`.

#![forbid(unsafe_code)]

mod cli;

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use clap::Parser;
use lithair_server::{Server, shutdown};
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
    let server = Server::open(cli.server_config()).await?;
    // Listening for SIGTERM before the announcement: whoever reads it may stop us at once.
    let shutdown = shutdown::signal_received();
    announce(address)?;
    server.serve(listener, shutdown).await?;
    Ok(())
}

/// The first line on stdout is a contract (README.md, docs/api.md): scripts and the test
/// harness read the real address from it, and it appears only once the data is loaded.
fn announce(address: std::net::SocketAddr) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "lithair-server listening on http://{address}")?;
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
