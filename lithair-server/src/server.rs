//! Accepting connections and serving HTTP/1.1 on them, until shutdown.
//!
//! hyper does all the HTTP: parsing, keep-alive, pipelining, chunked bodies, `Connection:
//! close`. Request heads that are too large or not HTTP never reach it: the framing
//! inspector keeps them back and [`answer_refused`] answers them with the JSON error shape
//! (hyper's own automatic answers have an empty body). This
//! module owns the connection lifecycle around it, which is where badly-behaved clients are
//! dealt with (docs/api.md, "Limits and timeouts"):
//!
//! - `TCP_NODELAY` on every socket: responses are small and latency matters more than packets;
//! - limits on the request head (`max_header_bytes`) and the time to send it
//!   (`header_read_timeout`), both hyper's own; the body's deadline is attached to each request
//!   for the body reader ([`BodyTimeout`]);
//! - at most `max_connections` at once; the next ones get a 503 and are closed;
//! - requests framed both by `Content-Length` and `Transfer-Encoding` refused with 400: hyper
//!   hides the pair from the service, so the connection's bytes are read through the
//!   [`framing`](crate::framing) inspector, which tells the service which request it was;
//! - a *lingering close* ([`linger`]): a connection is never closed while the client may
//!   still be sending, because closing a socket with unread data makes the kernel send a
//!   reset, which destroys the response the client has not read yet (a 413 to a client that
//!   sends its whole body before reading, for instance);
//! - graceful shutdown: stop accepting, let in-flight requests finish (within a grace
//!   period), then close the engine, which syncs the log.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Response,
    body::Incoming,
    server::conn::http1,
    service::{HttpService, service_fn},
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::{
    api::App,
    config::ServerConfig,
    error::ApiError,
    framing::{Framing, Inspected, Refused},
    request,
};

/// How long a closing connection keeps reading (and discarding) what the client still sends,
/// in all and without a pause. nginx's `lingering_time` and `lingering_timeout` are 30 s and
/// 5 s; ours are shorter because our bodies are small (the largest one a client can have
/// started sending is `--max-body`, which loopback and LAN deliver well within these).
const LINGER_TOTAL: Duration = Duration::from_secs(5);
const LINGER_IDLE: Duration = Duration::from_secs(1);

/// hyper's own read buffer: at least this, so that reading bodies stays efficient when
/// `max_header_bytes` is small. A head larger than `max_header_bytes` is refused either way,
/// when it is complete (hyper's `max_header_size`) or when it overflows this buffer.
const MIN_READ_BUFFER: usize = 64 << 10;

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
    #[error(transparent)]
    Cluster(#[from] lithair_cluster::StartError),
}

/// Open the data in `config`, then serve `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    Server::open(config).await?.serve(listener, shutdown).await
}

type BoxedResponse =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

/// A served connection's socket: its bytes go through the framing inspector.
type Io = TokioIo<Inspected<TcpStream>>;

impl Server {
    /// Open the data directory and replay the log.
    pub async fn open(config: ServerConfig) -> Result<Server, ServerError> {
        let app = Arc::new(App::open(config.clone()).await?);
        Ok(Server { app, config })
    }

    /// Start a cluster node on the data directory (docs/cluster.md), serving its peers on
    /// `peer_listener`.
    pub async fn open_cluster(
        config: ServerConfig,
        options: crate::cluster::ClusterOptions,
        peer_listener: TcpListener,
    ) -> Result<Server, ServerError> {
        let app = Arc::new(App::open_cluster(config.clone(), options, peer_listener).await?);
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
        let http = self.http_builder();
        // Every served connection holds a receiver: their number is the number of open
        // connections, `true` asks them to finish, and `closed()` says they all have.
        let (closing, _) = watch::channel(false);
        let mut shutdown = std::pin::pin!(shutdown);

        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let limit = self.config.max_connections;
                        if limit > 0 && closing.receiver_count() >= limit {
                            refuse(&http, self.inspected(stream, Framing::new()), limit);
                        } else {
                            self.serve_connection(&http, closing.subscribe(), stream);
                        }
                    }
                    Err(err) => pause_after_accept_error(err).await,
                },
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        self.drain(closing).await;
        self.app.close().await?;
        tracing::info!("stopped");
        Ok(())
    }

    fn http_builder(&self) -> http1::Builder {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout)
            .max_header_size(self.config.max_header_bytes)
            .max_buf_size(self.config.max_header_bytes.max(MIN_READ_BUFFER));
        http
    }

    fn serve_connection(
        &self,
        http: &http1::Builder,
        closing: watch::Receiver<bool>,
        stream: TcpStream,
    ) {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let app = Arc::clone(&self.app);
        let body_timeout = request::BodyTimeout(self.config.body_timeout);
        let framing = Framing::new();
        let io = self.inspected(stream, Arc::clone(&framing));
        let service = service_fn(move |mut request: Request<Incoming>| -> BoxedResponse {
            let app = Arc::clone(&app);
            let ambiguous = framing.next_is_ambiguous();
            request.extensions_mut().insert(body_timeout);
            Box::pin(async move {
                let checked = if ambiguous {
                    Err(ApiError::ambiguous_framing())
                } else {
                    request::check_no_body(&request)
                };
                Ok(match checked {
                    Ok(()) => app.handle(request).await,
                    Err(error) => error.into_response(),
                })
            })
        });
        let connection = http.serve_connection(io, service);
        tokio::spawn(run_connection(connection, Some(closing)));
    }

    fn inspected(&self, stream: TcpStream, framing: Arc<Framing>) -> Io {
        TokioIo::new(Inspected::new(stream, framing, self.config.max_header_bytes))
    }

    /// Let in-flight requests finish; idle keep-alive connections close at once.
    async fn drain(&self, closing: watch::Sender<bool>) {
        let open = closing.receiver_count();
        tracing::info!(open_connections = open, "shutting down: finishing in-flight requests");
        closing.send_replace(true);
        if tokio::time::timeout(self.config.shutdown_grace, closing.closed()).await.is_err() {
            tracing::warn!(
                grace = ?self.config.shutdown_grace,
                "connections still busy after the grace period; closing them"
            );
        }
    }
}

/// Answer every request on `stream` with 503 `too_many_connections`, then close it. The
/// refusal goes through hyper, like any answer, so that the client reads a well-formed
/// response whenever it sends its request; it is bounded by the header timeout.
fn refuse(http: &http1::Builder, io: Io, limit: usize) {
    tracing::debug!(limit, "connection limit reached; refusing a connection");
    let service = service_fn(move |_request: Request<Incoming>| {
        std::future::ready(Ok::<_, Infallible>(
            ApiError::too_many_connections(limit).into_response(),
        ))
    });
    let mut http = http.clone();
    let connection = http.keep_alive(false).serve_connection(io, service);
    tokio::spawn(run_connection(connection, None));
}

/// Drive one connection until hyper is done with it, finishing early (after the request in
/// flight) once `closing` turns true, then close it with [`linger`].
///
/// `poll_without_shutdown` rather than awaiting the connection: hyper would otherwise close
/// the socket itself, at once, and a client still sending would get a reset.
async fn run_connection<S>(
    mut connection: http1::Connection<Io, S>,
    mut closing: Option<watch::Receiver<bool>>,
) where
    S: HttpService<Incoming, ResBody = Full<Bytes>> + Unpin,
    S::Future: Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // The receiver stays alive until the request in flight is answered: that is what
    // shutdown waits for.
    let mut finishing = closing.is_none();
    let result = loop {
        let shutdown_asked = async {
            if let Some(closing) = closing.as_mut() {
                let _ = closing.wait_for(|closing| *closing).await;
            }
        };
        tokio::select! {
            result = std::future::poll_fn(|cx| connection.poll_without_shutdown(cx)) => break result,
            () = shutdown_asked, if !finishing => {
                Pin::new(&mut connection).graceful_shutdown();
                finishing = true;
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "connection ended with an error");
    }
    // No longer counted as open: shutdown need not wait for the lingering below.
    drop(closing);
    let inspected = connection.into_parts().io.into_inner();
    let refused = inspected.refused();
    let mut stream = inspected.into_inner();
    if let Some((refused, limit)) = refused {
        answer_refused(&mut stream, refused, limit).await;
    }
    linger(stream).await;
}

/// Answer the request head the framing inspector kept from hyper, with the JSON error shape
/// (hyper's own answer to such a head has an empty body). It is written on the socket once
/// hyper has answered every request before it, and the connection then closes.
async fn answer_refused(stream: &mut TcpStream, refused: Refused, limit: usize) {
    let error = match refused {
        Refused::HeadTooLarge => ApiError::request_head_too_large(limit),
        Refused::Malformed => ApiError::malformed_request(),
    };
    let response = error.into_response();
    let status = response.status();
    let Ok(body) = response.into_body().collect().await.map(|body| body.to_bytes());
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await
    };
    // A client that does not read gets no more of our time than a lingering close gives it.
    if let Ok(Err(err)) = tokio::time::timeout(LINGER_IDLE, write).await {
        tracing::debug!(%err, "could not answer a refused request head");
    }
}

/// Close `stream` the way nginx's lingering close does: send our FIN first (the client reads
/// every response byte, then end-of-file), then read and discard whatever the client still
/// sends until it closes too, goes quiet for [`LINGER_IDLE`], or [`LINGER_TOTAL`] has passed.
/// Only then is the socket closed, with nothing unread in it, hence no reset.
async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return; // the client is gone already
    }
    let deadline = Instant::now() + LINGER_TOTAL;
    let mut discard = vec![0u8; 16 << 10];
    loop {
        let idle = LINGER_IDLE.min(deadline.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(idle, stream.read(&mut discard)).await {
            Ok(Ok(read)) if read > 0 => continue,
            _ => return,
        }
    }
}

/// Accepting fails when the process is out of file descriptors, for instance: wait a little
/// rather than spin, and keep serving the connections already open.
async fn pause_after_accept_error(err: std::io::Error) {
    tracing::warn!(%err, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
