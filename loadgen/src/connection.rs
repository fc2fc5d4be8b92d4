//! One keep-alive HTTP/1.1 connection, and what can go wrong on it.
//!
//! It speaks HTTP through hyper's low-level client connection rather than a pooled client
//! such as reqwest: a load generator is compared with `wrk` on machines where client and
//! server share the CPUs, so every microsecond the client spends per request is one the
//! server does not get. The connection is driven from the worker's own task rather than
//! spawned, so that dropping a timed-out connection closes its socket at once.

use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::workload::Request;

pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The HTTP request for a workload request, to the server named by `host`.
pub(crate) fn to_http(
    request: &Request,
    host: &HeaderValue,
) -> Result<http::Request<Full<Bytes>>, http::uri::InvalidUri> {
    let uri = Uri::try_from(request.path.as_str())?;
    let mut http_request = http::Request::new(Full::new(request.body.clone().unwrap_or_default()));
    *http_request.method_mut() = request.method.clone();
    *http_request.uri_mut() = uri;
    let headers = http_request.headers_mut();
    headers.insert(HOST, host.clone());
    if request.body.is_some() {
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    }
    Ok(http_request)
}

type ClientConnection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection. Its connection half is polled by the worker's own
/// task while a request is in flight, rather than spawned as hyper's examples do: dropping
/// the link then closes the socket, where a spawned task would linger as long as a hung
/// server kept the response back.
pub(crate) struct Link {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has finished, e.g. the server closed it.
    connection: Option<ClientConnection>,
}

impl Link {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Self, TransportError> {
        let stream = TcpStream::connect(addr).await.map_err(TransportError::Connect)?;
        // Requests are small writes waiting for an answer: Nagle's algorithm would hold them.
        stream.set_nodelay(true).map_err(TransportError::Connect)?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(TransportError::Http)?;
        Ok(Self { sender, connection: Some(connection) })
    }

    pub(crate) fn is_usable(&self) -> bool {
        self.connection.is_some() && !self.sender.is_closed()
    }

    pub(crate) async fn round_trip(
        &mut self,
        request: http::Request<Full<Bytes>>,
        body: &mut Vec<u8>,
    ) -> Result<StatusCode, hyper::Error> {
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            read_body_into(response.into_body(), body).await?;
            Ok(status)
        };
        drive_alongside(&mut self.connection, exchange).await
    }
}

/// Polls `work` together with the connection it is waiting on, from the calling task.
async fn drive_alongside<T>(
    connection: &mut Option<ClientConnection>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Some(open) = connection.as_mut()
            && Pin::new(open).poll(cx).is_ready()
        {
            // Dropping the finished connection closes its channels, so `work` ends with the
            // response it already has or with an error, instead of waiting forever.
            *connection = None;
        }
        work.as_mut().poll(cx)
    })
    .await
}

async fn read_body_into(mut body: Incoming, buffer: &mut Vec<u8>) -> Result<(), hyper::Error> {
    buffer.clear();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
    }
    Ok(())
}

/// Why a request got no complete response.
#[derive(Debug)]
pub(crate) enum TransportError {
    InvalidRequest(http::uri::InvalidUri),
    Connect(std::io::Error),
    Http(hyper::Error),
    Timeout(Duration),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(error) => write!(f, "invalid request: {error}"),
            Self::Connect(error) => write!(f, "connecting: {error}"),
            Self::Http(error) => match std::error::Error::source(error) {
                Some(cause) => write!(f, "{error}: {cause}"),
                None => write!(f, "{error}"),
            },
            Self::Timeout(limit) => write!(f, "no complete response within {limit:?}"),
        }
    }
}

impl std::error::Error for TransportError {}
