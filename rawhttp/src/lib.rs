//! A raw-socket HTTP client that can misbehave: send whatever bytes, as slowly as it likes,
//! without reading, and then say exactly what came back — a response, a clean close, a reset,
//! or nothing in time. With it, "sends its whole body before reading" or "one byte per
//! second" is a fact of the test, not of a client library.
//!
//! Its own crate, with nothing of Lithair in it, because two users that must not depend on
//! each other need it: the harness's hostile-HTTP steps (features/hostile_http.feature) and
//! lithair-server's own tests of badly-behaved clients.

#![forbid(unsafe_code)]

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

/// What a client saw after it sent its bytes.
#[derive(Debug)]
pub struct Outcome {
    /// Everything read before the end.
    pub bytes: Vec<u8>,
    /// How reading ended.
    pub end: End,
    /// Whether sending failed (broken pipe, reset) before everything was sent.
    pub send_error: Option<std::io::ErrorKind>,
    /// From the first byte sent to the end.
    pub elapsed: Duration,
    /// From the first byte sent to the first byte of the answer, if one came.
    pub answered_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection cleanly (FIN).
    Closed,
    /// The connection was reset: whatever the server sent after the last byte read is lost.
    Reset,
    /// Nothing more arrived, and the connection stayed open, for the whole wait.
    StillOpen,
}

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `code` of a JSON error body, if it is one.
    pub fn error_code(&self) -> Option<String> {
        let json: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        json["error"]["code"].as_str().map(str::to_owned)
    }
}

impl Outcome {
    /// The first complete response read, if any.
    pub fn response(&self) -> Option<RawResponse> {
        parse_response(&self.bytes).map(|(response, _)| response)
    }

    /// Every complete response read, in order.
    pub fn responses(&self) -> Vec<RawResponse> {
        self.responses_and_rest().0
    }

    /// Every complete response read, in order, and the bytes after the last one: a response
    /// cut short, or bytes that are no response at all (a stray byte after an answer).
    pub fn responses_and_rest(&self) -> (Vec<RawResponse>, &[u8]) {
        let mut rest = &self.bytes[..];
        let mut responses = Vec::new();
        while let Some((response, used)) = parse_response(rest) {
            responses.push(response);
            rest = &rest[used..];
        }
        (responses, rest)
    }
}

/// Connect, send `request` in full without reading anything, then read until the server
/// closes the connection or `wait` passes. This is how many SDKs and Python's `http.client`
/// behave: the whole body goes out before the first byte of the answer is read.
pub async fn send_then_read(
    addr: SocketAddr,
    request: &[u8],
    wait: Duration,
) -> std::io::Result<Outcome> {
    send_pieces_then_read(addr, &[request], Duration::ZERO, wait).await
}

/// Like [`send_then_read`], with a pause between `pieces`, as a client on a real network
/// has: the server sees a gap in the data and may act on what it has.
pub async fn send_pieces_then_read(
    addr: SocketAddr,
    pieces: &[&[u8]],
    pause: Duration,
    wait: Duration,
) -> std::io::Result<Outcome> {
    let mut stream = TcpStream::connect(addr).await?;
    let started = Instant::now();
    let mut send_error = None;
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        if let Err(err) = stream.write_all(piece).await {
            send_error = Some(err.kind());
            break;
        }
    }
    Ok(read_outcome(stream, started, send_error, wait).await)
}

/// Send `request` a piece at a time, `piece` bytes every `pause`, stopping early if the server
/// answers or closes; then read what came back, waiting at most `wait`.
pub async fn trickle(
    addr: SocketAddr,
    request: &[u8],
    piece: usize,
    pause: Duration,
    wait: Duration,
) -> std::io::Result<Outcome> {
    let stream = TcpStream::connect(addr).await?;
    Ok(trickle_on(stream, request, piece, pause, wait).await)
}

/// [`trickle`] on a connection already open (and perhaps already used).
pub async fn trickle_on(
    mut stream: TcpStream,
    bytes: &[u8],
    piece: usize,
    pause: Duration,
    wait: Duration,
) -> Outcome {
    let started = Instant::now();
    let mut send_error = None;
    for chunk in bytes.chunks(piece) {
        if let Err(err) = stream.write_all(chunk).await {
            send_error = Some(err.kind());
            break;
        }
        // Stop sending once the server has answered or closed.
        let mut probe = [0u8; 1];
        if tokio::time::timeout(pause, stream.peek(&mut probe)).await.is_ok() {
            break;
        }
    }
    read_outcome(stream, started, send_error, wait).await
}

/// Send one request on an open keep-alive connection and read its one response: a
/// well-behaved client, beside the badly-behaved ones.
pub async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    wait: Duration,
) -> std::io::Result<RawResponse> {
    stream.write_all(request).await?;
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        if let Some((response, _)) = parse_response(&bytes) {
            return Ok(response);
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&chunk[..read]);
    }
}

/// Read until end-of-file, a reset, or `wait` without the connection closing; the times are
/// counted from `started`.
async fn read_outcome(
    mut stream: TcpStream,
    started: Instant,
    send_error: Option<std::io::ErrorKind>,
    wait: Duration,
) -> Outcome {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut answered_after = None;
    let mut chunk = vec![0u8; 64 << 10];
    let end = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => break End::StillOpen,
            Ok(Ok(0)) => break End::Closed,
            Ok(Ok(read)) => {
                answered_after.get_or_insert_with(|| started.elapsed());
                bytes.extend_from_slice(&chunk[..read]);
            }
            Ok(Err(_)) => break End::Reset,
        }
    };
    Outcome { bytes, end, send_error, elapsed: started.elapsed(), answered_after }
}

/// Parse one response (`Content-Length` framed, as all of Lithair's are) at the start of
/// `bytes`; returns it and the number of bytes it took.
pub fn parse_response(bytes: &[u8]) -> Option<(RawResponse, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(bytes).ok()? else {
        return None;
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(Some(0), |(_, value)| value.parse().ok())?;
    let body = bytes.get(head_len..head_len + length)?.to_vec();
    let status = response.code?;
    Some((RawResponse { status, headers, body }, head_len + length))
}

/// A POST of `body` to `path` with the given extra header lines (each ending in `\r\n`).
pub fn post(path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra_headers}\r\n"
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// A body in chunked encoding, in chunks of `chunk` bytes, with the final empty chunk.
pub fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut encoded = Vec::new();
    for piece in body.chunks(chunk) {
        encoded.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        encoded.extend_from_slice(piece);
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"0\r\n\r\n");
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(bytes: &[u8]) -> Outcome {
        let (end, elapsed) = (End::Closed, Duration::ZERO);
        Outcome { bytes: bytes.to_vec(), end, send_error: None, elapsed, answered_after: None }
    }

    #[test]
    fn responses_are_split_and_what_follows_them_is_kept() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload Too Large\r\n\
                     content-length: 2\r\n\r\n{}\nHTTP/1.1 200";
        let seen = outcome(wire);
        let (responses, rest) = seen.responses_and_rest();
        let statuses: Vec<u16> = responses.iter().map(|response| response.status).collect();
        assert_eq!(statuses, [100, 413]);
        assert_eq!(responses[1].body, b"{}");
        assert_eq!(rest, b"\nHTTP/1.1 200");
        assert_eq!(seen.response().map(|response| response.status), Some(100));
    }

    #[test]
    fn a_chunked_body_ends_with_the_empty_chunk() {
        assert_eq!(chunked(b"hello", 2), b"2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n");
        assert_eq!(chunked(b"", 2), b"0\r\n\r\n");
    }
}
