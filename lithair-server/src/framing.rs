//! Refusing requests whose body framing is ambiguous: both `Content-Length` and
//! `Transfer-Encoding` (RFC 9112 §6.1: "a server MAY reject [it] as invalid"; we must, since a
//! proxy in front of us may have framed it the other way — the classic request-smuggling pair).
//!
//! hyper resolves such a request itself, before our service sees it: the chunked framing
//! wins, `Content-Length` is removed from the headers, and the connection is marked to close
//! after the answer. No header, extension or flag tells the service that anything was
//! dropped, so the valid chunked body would be applied. The only place the fact survives is
//! the bytes on the socket. Hence [`Inspected`], a thin pass-through around the connection's
//! reader that follows the framing of each request with `httparse` (hyper's own parser):
//! it parses every request head, notes the index of the first one that carries both
//! headers, and skips bodies by their framing — `Content-Length` bytes, or chunk by chunk
//! with hyper's chunk grammar — to find where the next head starts, so pipelined and
//! kept-alive requests are followed exactly as hyper follows them. It never changes a byte.
//! The service counts the requests hyper hands it and answers the noted one with a JSON 400
//! `ambiguous_framing` without reading its body; hyper, which marked the connection to
//! close, says `Connection: close` and closes, and the lingering close discards whatever
//! follows, so nothing after that request is ever parsed.
//!
//! The same inspector keeps from hyper a head that is too large or not HTTP at all
//! ([`Refused`]): hyper gets the bytes before it and then end of stream, so it answers the
//! requests before it and nothing else, and the connection layer answers the refused head with
//! the JSON error shape. (hyper would answer such a head itself, with an empty body.)
//!
//! Why this and not something else: hyper has no hook between its parser and the service;
//! counting heads without following bodies would miscount as soon as a body contains a
//! blank line; parsing requests ourselves instead of hyper would duplicate HTTP/1.1; and
//! failing the read would make hyper drop the connection without any answer. Where the
//! inspector cannot follow (a broken chunk, a `Transfer-Encoding` hyper rejects), it stops
//! looking: hyper answers that request 400 itself and closes the connection, so there is no
//! later request to judge. The cost is one extra `httparse` pass over each head (bodies are
//! skipped by length).

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's default limit on the number of header lines (beyond it, hyper answers 431).
const MAX_HEADERS: usize = 100;

/// What the inspector found and the service asks: shared by one connection's reader and
/// its service.
#[derive(Debug)]
pub struct Framing {
    /// Index (from 0) of the first request on the connection with ambiguous framing.
    first_ambiguous: AtomicU64,
    /// Requests the service has been handed so far.
    served: AtomicU64,
    /// A head refused before hyper saw it whole: the connection's last request.
    refused: OnceLock<Refused>,
}

/// Why a request head was kept from hyper, to be answered by the connection layer with the
/// JSON error shape instead of hyper's empty-bodied automatic answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Longer than the server's limit, or more header lines than hyper takes: 431.
    HeadTooLarge,
    /// Not an HTTP/1 request head (garbage, TLS, the HTTP/2 preface): 400.
    Malformed,
}

impl Framing {
    pub fn new() -> Arc<Framing> {
        Arc::new(Framing {
            first_ambiguous: AtomicU64::new(u64::MAX),
            served: AtomicU64::new(0),
            refused: OnceLock::new(),
        })
    }

    /// The head refused on this connection, once hyper is done with the requests before it.
    pub fn refused(&self) -> Option<Refused> {
        self.refused.get().copied()
    }

    /// Called by the service once per request, in order: whether this one must be refused.
    /// hyper parses a head only after its bytes went through [`Inspected`], so the verdict
    /// on a request is always in before the request reaches the service.
    pub fn next_is_ambiguous(&self) -> bool {
        let index = self.served.fetch_add(1, Ordering::Relaxed);
        index >= self.first_ambiguous.load(Ordering::Relaxed)
    }
}

/// A connection's byte stream, read through the framing inspector (writes pass untouched).
pub struct Inspected<S> {
    inner: S,
    framing: Arc<Framing>,
    follow: Follow,
    /// A head was refused: hyper reads end of stream from here on.
    cut: bool,
}

impl<S> Inspected<S> {
    /// `max_head` is the server's limit on a request head: hyper refuses longer ones.
    pub fn new(inner: S, framing: Arc<Framing>, max_head: usize) -> Self {
        Inspected { inner, framing, follow: Follow::new(max_head), cut: false }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The head kept from hyper on this connection, if any, and the limit on a head.
    pub fn refused(&self) -> Option<(Refused, usize)> {
        Some((self.framing.refused()?, self.follow.max_head))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inspected<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.cut {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let fed = this.follow.feed(&buf.filled()[before..]);
        if let Some(index) = fed.ambiguous {
            this.framing.first_ambiguous.fetch_min(index, Ordering::Relaxed);
        }
        if let Some((refused, at)) = fed.refused {
            // hyper gets what came before the refused head, then end of stream: it serves
            // the requests before it and ends without answering this one itself (it answers
            // only what it parsed and refused, and it never saw this head whole).
            buf.set_filled(before + at);
            this.cut = true;
            let _ = this.framing.refused.set(refused);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inspected<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Where in the request stream the next byte falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// In a request head; its bytes so far are in `Follow::head`.
    Head,
    /// In a `Content-Length` body, with this many bytes left.
    Body(u64),
    /// In a chunked body.
    Chunked(Chunk),
    /// No longer followed: hyper refuses this request and closes the connection.
    Lost,
}

/// The framing of one request's body, as its head declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Length(u64),
    Chunked,
    /// Both `Content-Length` and `Transfer-Encoding`: refused.
    Ambiguous,
    /// A framing hyper refuses (lengths that differ, a coding other than chunked…).
    Invalid,
}

/// Follows the framing of every request on a connection: fed every byte the client sends,
/// in order.
struct Follow {
    at: At,
    /// A head that has not arrived whole yet.
    head: Vec<u8>,
    max_head: usize,
    /// Heads completed so far: the index of the request being read.
    heads: u64,
    /// Set by `head_bytes` when it refuses the head being read.
    refused: Option<Refused>,
}

/// What following one read's bytes found.
struct Fed {
    /// The index of a request whose framing is ambiguous.
    ambiguous: Option<u64>,
    /// A refused head, and where in these bytes hyper must stop reading (its start, or 0 if
    /// it began in an earlier read).
    refused: Option<(Refused, usize)>,
}

impl Follow {
    fn new(max_head: usize) -> Self {
        Follow { at: At::Head, head: Vec::new(), max_head, heads: 0, refused: None }
    }

    /// Follow `bytes`, what one read brought.
    fn feed(&mut self, mut bytes: &[u8]) -> Fed {
        let mut found = None;
        let mut refused = None;
        let total = bytes.len();
        while !bytes.is_empty() {
            let used = match &mut self.at {
                At::Lost => break,
                At::Head => {
                    let at = total - bytes.len();
                    let used = self.head_bytes(bytes, &mut found);
                    if let Some(why) = self.refused {
                        refused = Some((why, at));
                        break;
                    }
                    used
                }
                At::Body(left) => {
                    let used = (*left).min(bytes.len() as u64);
                    *left -= used;
                    if *left == 0 {
                        self.at = At::Head;
                    }
                    used as usize
                }
                At::Chunked(chunk) => match chunk.follow(bytes) {
                    Some((used, ended)) => {
                        if ended {
                            self.at = At::Head;
                        }
                        used
                    }
                    None => {
                        self.at = At::Lost;
                        break;
                    }
                },
            };
            bytes = &bytes[used..];
        }
        Fed { ambiguous: found, refused }
    }

    /// Take head bytes from the start of `bytes`; returns how many were taken.
    fn head_bytes(&mut self, bytes: &[u8], found: &mut Option<u64>) -> usize {
        // Most heads arrive whole in one read and are parsed where they lie; only a head
        // cut across reads is copied. A partial head is parsed too, so that bytes that are
        // not HTTP are refused at once.
        let earlier = self.head.len();
        let parsed = if earlier == 0 {
            parse_head(bytes)
        } else {
            self.head.extend_from_slice(bytes);
            parse_head(&self.head)
        };
        let (at, used) = match parsed {
            Ok(Some((length, declared))) if length <= self.max_head => {
                let request = self.heads;
                self.heads += 1;
                let at = match declared {
                    Declared::Length(0) => At::Head,
                    Declared::Length(length) => At::Body(length),
                    Declared::Chunked => At::Chunked(Chunk::Start),
                    Declared::Ambiguous => {
                        *found = Some(request);
                        At::Lost
                    }
                    Declared::Invalid => At::Lost,
                };
                self.head.clear();
                (at, length - earlier)
            }
            Ok(None) => {
                if earlier == 0 {
                    self.head.extend_from_slice(bytes);
                }
                if self.head.len() > self.max_head {
                    self.refused = Some(Refused::HeadTooLarge);
                    (At::Lost, bytes.len())
                } else {
                    (At::Head, bytes.len())
                }
            }
            Ok(Some(_)) | Err(httparse::Error::TooManyHeaders) => {
                self.refused = Some(Refused::HeadTooLarge);
                (At::Lost, bytes.len())
            }
            Err(_) => {
                self.refused = Some(Refused::Malformed);
                (At::Lost, bytes.len())
            }
        };
        self.at = at;
        used
    }
}

/// A request head at the start of `bytes`, parsed as hyper parses it: its length and its
/// body's framing, or `None` while incomplete.
fn parse_head(bytes: &[u8]) -> Result<Option<(usize, Declared)>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => Ok(Some((length, declared(&request)))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The framing a head declares, by hyper's rules (`proto/h1/role.rs`, `Server::parse`).
fn declared(request: &httparse::Request<'_, '_>) -> Declared {
    let (mut length, mut lengths, mut chunked) = (None, 0, None);
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last line counts, and it must be chunked.
            let last = header.value.rsplit(|&byte| byte == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if header.name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            let value = std::str::from_utf8(header.value).ok().and_then(digits);
            match (value, length) {
                (None, _) => return Declared::Invalid,
                (Some(value), Some(first)) if value != first => return Declared::Invalid,
                (value, _) => length = value,
            }
        }
    }
    match chunked {
        Some(_) if lengths > 0 => Declared::Ambiguous,
        // HTTP/1.0 has no chunked coding: hyper refuses the header.
        Some(true) if request.version == Some(1) => Declared::Chunked,
        Some(_) => Declared::Invalid,
        None => Declared::Length(length.unwrap_or(0)),
    }
}

/// A `Content-Length` value: decimal digits only (no sign, no spaces), as hyper reads it.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// hyper's chunked-body grammar (`proto/h1/decode.rs`, `ChunkedState`), one state per
/// position; sizes are carried where they are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Start,
    Size(u64),
    SizeSpace(u64),
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
}

impl Chunk {
    /// Follow `bytes`: how many belong to the body, and whether it ended with them; `None`
    /// where hyper would refuse the body.
    fn follow(&mut self, bytes: &[u8]) -> Option<(usize, bool)> {
        use Chunk::*;
        let mut used = 0;
        while used < bytes.len() {
            if let Data(left) = self {
                let take = (*left).min((bytes.len() - used) as u64);
                *left -= take;
                used += take as usize;
                if *left == 0 {
                    *self = DataCr;
                }
                continue;
            }
            let byte = bytes[used];
            used += 1;
            *self = match (*self, byte) {
                (Start, byte) => Size(hex(byte)?),
                (Size(size), byte) if hex(byte).is_some() => {
                    Size(size.checked_mul(16)?.checked_add(hex(byte)?)?)
                }
                (Size(size) | SizeSpace(size), b'\t' | b' ') => SizeSpace(size),
                (Size(size) | SizeSpace(size) | Extension(size), b'\r') => SizeLf(size),
                (Size(size) | SizeSpace(size), b';') => Extension(size),
                (Extension(_), b'\n') => return None,
                (Extension(size), _) => Extension(size),
                (SizeLf(0), b'\n') => EndCr,
                (SizeLf(size), b'\n') => Data(size),
                (DataCr, b'\r') => DataLf,
                (DataLf, b'\n') => Start,
                (EndCr, b'\r') => EndLf,
                (Trailer, b'\r') => TrailerLf,
                (EndCr | Trailer, _) => Trailer,
                (TrailerLf, b'\n') => EndCr,
                (EndLf, b'\n') => return Some((used, true)),
                _ => return None,
            };
        }
        Some((used, false))
    }
}

fn hex(byte: u8) -> Option<u64> {
    (byte as char).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `stream` to a follower in pieces of `piece` bytes; the ambiguous request found.
    fn follow(stream: &[u8], piece: usize) -> (Option<u64>, At, u64) {
        let mut follow = Follow::new(16 << 10);
        let found =
            stream.chunks(piece).fold(None, |found, bytes| found.or(follow.feed(bytes).ambiguous));
        (found, follow.at, follow.heads)
    }

    const GET: &[u8] = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";

    fn post(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut request = format!("POST /api/articles HTTP/1.1\r\nhost: x\r\n{headers}\r\n");
        request.push_str(std::str::from_utf8(body).unwrap());
        request.into_bytes()
    }

    #[test]
    fn a_refused_head_is_cut_where_it_starts_and_the_requests_before_it_pass() {
        let oversized = post(&format!("x-big: {}\r\n", "a".repeat(20 << 10)), b"");
        let cases: [(&[u8], Refused); 3] = [
            (&oversized, Refused::HeadTooLarge),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Refused::Malformed),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Refused::Malformed),
        ];
        for (head, why) in cases {
            let mut stream = GET.to_vec();
            stream.extend_from_slice(head);
            let fed = Follow::new(16 << 10).feed(&stream);
            assert_eq!(fed.refused, Some((why, GET.len())), "{why:?}");
        }
    }

    #[test]
    fn pipelined_requests_are_followed_across_any_cut() {
        let mut stream = GET.to_vec();
        stream.extend(post("content-length: 5\r\n", b"hello"));
        stream.extend(post(
            "transfer-encoding: gzip, chunked\r\n",
            b"5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n",
        ));
        stream.extend(b"\r\n"); // an empty line between requests is tolerated
        stream.extend(GET);
        for piece in [1, 2, 7, 64, stream.len()] {
            assert_eq!(follow(&stream, piece), (None, At::Head, 4), "pieces of {piece}");
        }
    }

    #[test]
    fn both_framings_mark_their_request_in_either_order() {
        for headers in [
            "content-length: 4\r\ntransfer-encoding: chunked\r\n",
            "transfer-encoding: chunked\r\ncontent-length: 4\r\n",
        ] {
            let mut stream = GET.to_vec();
            stream.extend(post(headers, b"0\r\n\r\n"));
            stream.extend(GET);
            for piece in [1, 5, stream.len()] {
                assert_eq!(follow(&stream, piece), (Some(1), At::Lost, 2), "{headers:?}");
            }
        }
    }

    #[test]
    fn what_hyper_refuses_is_no_longer_followed() {
        for stream in [
            post("content-length: 4\r\ncontent-length: 5\r\n", b""),
            post("content-length: +4\r\n", b""),
            post("transfer-encoding: gzip\r\n", b""),
            post("transfer-encoding: chunked\r\n", b"zz\r\n"),
            b"\x16\x03\x01\x00\xa5\x01\x00\r\n\r\n".to_vec(),
            format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20 << 10)).into_bytes(),
        ] {
            let (found, at, _) = follow(&stream, 3);
            assert_eq!((found, at), (None, At::Lost), "{:?}", String::from_utf8_lossy(&stream));
        }
    }

    #[test]
    fn the_service_refuses_the_marked_request_and_those_after() {
        let framing = Framing::new();
        framing.first_ambiguous.store(1, Ordering::Relaxed);
        let verdicts: Vec<bool> = (0..3).map(|_| framing.next_is_ambiguous()).collect();
        assert_eq!(verdicts, [false, true, true]);
    }
}
