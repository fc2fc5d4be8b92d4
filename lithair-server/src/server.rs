//! Accepting connections and serving HTTP/1.1 on them, until shutdown.
//!
//! hyper does all the HTTP: parsing, keep-alive, pipelining, chunked bodies, `Connection:
//! close`. This module owns the connection lifecycle around it: `TCP_NODELAY` on every socket
//! (responses are small and latency matters more than packet count), a header read timeout so
//! that idle or slow clients cannot hold connections forever, and graceful shutdown — stop
//! accepting, let in-flight requests finish (within a grace period), then close the engine,
//! which syncs the log.

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::net::{TcpListener, TcpStream};

use crate::{api::App, config::ServerConfig};

/// A server whose data is loaded, ready to serve.
pub struct Server {
    app: Arc<App>,
    config: ServerConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Open(#[from] lithair_core::OpenError),
    #[error("the event log could not be synced at shutdown: {0}")]
    Close(#[from] lithair_core::EngineError),
}

/// Open the data in `config`, then serve `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    Server::open(config).await?.serve(listener, shutdown).await
}

impl Server {
    /// Open the data directory and replay the log.
    pub async fn open(config: ServerConfig) -> Result<Server, ServerError> {
        let app = Arc::new(App::open(config.clone()).await?);
        Ok(Server { app, config })
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serve until `shutdown` resolves, then shut down gracefully.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(self.config.header_read_timeout);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);

        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.serve_connection(&http, &graceful, stream),
                    Err(err) => pause_after_accept_error(err).await,
                },
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        self.drain(graceful).await;
        self.app.engine().close().await?;
        tracing::info!("stopped");
        Ok(())
    }

    fn serve_connection(
        &self,
        http: &http1::Builder,
        graceful: &GracefulShutdown,
        stream: TcpStream,
    ) {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let app = Arc::clone(&self.app);
        let service = service_fn(move |request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(app.handle(request).await) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }

    /// Let in-flight requests finish; idle keep-alive connections close at once.
    async fn drain(&self, graceful: GracefulShutdown) {
        let open = graceful.count();
        tracing::info!(open_connections = open, "shutting down: finishing in-flight requests");
        if tokio::time::timeout(self.config.shutdown_grace, graceful.shutdown()).await.is_err() {
            tracing::warn!(
                grace = ?self.config.shutdown_grace,
                "connections still busy after the grace period; closing them"
            );
        }
    }
}

/// Accepting fails when the process is out of file descriptors, for instance: wait a little
/// rather than spin, and keep serving the connections already open.
async fn pause_after_accept_error(err: std::io::Error) {
    tracing::warn!(%err, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
