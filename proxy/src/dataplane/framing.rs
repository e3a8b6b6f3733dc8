//! Request framing guard: refuses requests whose body length is ambiguous (request smuggling).
//!
//! A request with both `Content-Length` and `Transfer-Encoding`, or with more than one
//! `Content-Length` (even with equal values), has a body length that two HTTP parsers may read
//! differently; trusted proxies answer 400 and close. hyper 1's server parser does not: with
//! both headers it drops `Content-Length` and reads the body as chunked, and it merges equal
//! `Content-Length`s into one (only different values are its 400), and it has no option to be
//! stricter. So the proxy looks at each request head itself, on the client connection's read
//! side, before hyper does.
//!
//! [`Guard`] wraps the client socket. It follows the byte stream exactly as hyper's HTTP/1
//! server does: a head (parsed with `httparse`, hyper's own parser, with hyper's limits), then
//! a body framed by `Content-Length` or chunked, then the next head (keep-alive, pipelining).
//! When a head is ambiguous it overwrites the head's last byte, the final line feed, which is
//! still in the buffer hyper is about to read: hyper's parser then fails on that head and hyper
//! answers `400 Bad Request` itself and closes the connection. The request never reaches the
//! data plane, so it is never forwarded. Every other byte passes through unchanged.
//!
//! Cost on the hot path: one `httparse` pass over each head (no copy when the head arrives in one
//! read, the usual case), constant work per body read, and nothing after an upgrade.
//!
//! After a request that may switch protocols (`Upgrade` header, `CONNECT`) the stream may stop
//! being HTTP, so the guard stops looking; [`close_unless_tunnel`] makes sure the connection then
//! closes unless it did switch, so no later request goes unchecked.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{header, HeaderValue, Method, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::dataplane::body_length::{BadFraming, BodyLength, FramingHeaders, Message};
use crate::dataplane::chunked::Chunked;
use crate::limits::MAX_HEADERS;

/// Where the guard is in the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Expecting (the rest of) a request head.
    Head,
    /// Inside a body framed by `Content-Length`: this many bytes left.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Chunked),
    /// No longer looking: after an upgrade, a refusal, or input hyper itself refuses (hyper
    /// closes the connection then, so nothing after it is read as a request).
    Off,
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// A head `len` bytes long, and what follows it, or why it is refused.
    Complete {
        len: usize,
        next: Result<State, BadFraming>,
    },
    /// The start of a head.
    Partial,
    /// Not a valid head: hyper refuses it too (and closes the connection).
    Invalid,
}

/// The framing tracker: pure, fed the bytes the client sends, in order, in any split.
#[derive(Debug)]
pub struct Framing {
    state: State,
    /// The start of a head that has not fully arrived (empty in the common case).
    partial: Vec<u8>,
    /// Longest head accepted (hyper's read buffer limit; beyond it hyper answers 431).
    max_head: usize,
}

impl Framing {
    pub fn new(max_head: usize) -> Self {
        Self {
            state: State::Head,
            partial: Vec::new(),
            max_head,
        }
    }

    /// Follows `bytes`, the next bytes from the client. When they complete a request head that
    /// must be refused, overwrites its last byte so hyper's parser fails on it, and says why.
    pub fn feed(&mut self, bytes: &mut [u8]) -> Option<BadFraming> {
        let mut pos = 0;
        while pos < bytes.len() {
            match &mut self.state {
                State::Off => return None,
                State::Length(left) => {
                    let n = (*left).min((bytes.len() - pos) as u64);
                    *left -= n;
                    pos += n as usize;
                    if *left == 0 {
                        self.state = State::Head;
                    }
                }
                State::Chunked(c) => match c.feed(&bytes[pos..]) {
                    Ok((used, done)) => {
                        pos += used;
                        if done {
                            self.state = State::Head;
                        }
                    }
                    Err(_) => self.state = State::Off,
                },
                State::Head => {
                    let rest = &bytes[pos..];
                    let already = self.partial.len();
                    let head = if already == 0 {
                        parse_head(rest)
                    } else {
                        self.partial.extend_from_slice(rest);
                        // A head ends with LF: without one in this read it is still partial.
                        if rest.contains(&b'\n') {
                            parse_head(&self.partial)
                        } else {
                            Head::Partial
                        }
                    };
                    match head {
                        Head::Partial => {
                            if already == 0 {
                                self.partial.extend_from_slice(rest);
                            }
                            if self.partial.len() >= self.max_head {
                                self.off(); // hyper's 431
                            }
                            return None;
                        }
                        Head::Invalid => self.off(),
                        Head::Complete { len, next } => {
                            // An earlier read held no complete head, so it ends in this one.
                            debug_assert!(len > already);
                            let end = pos + len - already;
                            if already > 0 {
                                // Not `clear`: a slow client's long head need not stay allocated.
                                self.partial = Vec::new();
                            }
                            match next {
                                Ok(next) => {
                                    self.state = next;
                                    pos = end;
                                }
                                Err(why) => {
                                    // `LF` becomes `:`, which no head may have there.
                                    bytes[end - 1] = b':';
                                    self.off();
                                    return Some(why);
                                }
                            }
                        }
                    }
                }
            }
        }
        None
    }

    fn off(&mut self) {
        self.state = State::Off;
        self.partial = Vec::new();
    }
}

/// Parses the head at the start of `buf` as hyper's server does, and decides its framing by the
/// one body-length rule ([`crate::dataplane::body_length`]).
fn parse_head(buf: &[u8]) -> Head {
    let mut headers = [MaybeUninit::uninit(); MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut req,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::Invalid,
    };
    let mut framing = FramingHeaders::default();
    let mut upgrade = req.method == Some("CONNECT");
    for h in req.headers.iter() {
        if !framing.add(h.name.as_bytes(), h.value) && h.name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        }
    }
    let next = match framing.body(Message::Request, req.version == Some(0)) {
        Err(why @ (BadFraming::LengthAndEncoding | BadFraming::SeveralLengths)) => Err(why),
        _ if upgrade => Ok(State::Off),
        Ok(BodyLength::Empty) => Ok(State::Head),
        Ok(BodyLength::Length(n)) => Ok(State::Length(n)),
        Ok(BodyLength::Chunked) => Ok(State::Chunked(Chunked::default())),
        // hyper refuses the others itself (400) and closes the connection.
        Ok(BodyLength::UntilClose) | Err(_) => Ok(State::Off),
    };
    Head::Complete { len, next }
}

/// The client socket, with its request framing checked as it is read.
pub struct Guard<S> {
    inner: S,
    framing: Framing,
    peer: SocketAddr,
}

impl<S> Guard<S> {
    /// Wraps a client connection; `max_head` is hyper's read buffer limit.
    pub fn new(inner: S, peer: SocketAddr, max_head: usize) -> Self {
        Self {
            inner,
            framing: Framing::new(max_head),
            peer,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            if let Some(why) = this.framing.feed(&mut buf.filled_mut()[before..]) {
                tracing::debug!(client = %this.peer, reason = %why, "request refused (400): ambiguous body length");
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guard<S> {
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

/// Whether a request may switch the connection to another protocol (the guard stops looking
/// after it).
pub fn may_switch<B>(req: &http::Request<B>) -> bool {
    req.method() == Method::CONNECT || req.headers().contains_key(header::UPGRADE)
}

/// After a request that may switch protocols, closes the connection unless the response does
/// switch it (101, or 2xx to `CONNECT`): the guard no longer checks what follows.
pub fn close_unless_tunnel<B>(connect: bool, resp: &mut Response<B>) {
    let status = resp.status();
    if status == StatusCode::SWITCHING_PROTOCOLS || (connect && status.is_success()) {
        return;
    }
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 64 * 1024;

    /// Feeds `stream` cut at `cuts`; returns the bytes as hyper would read them and the refusals.
    fn run(stream: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<BadFraming>) {
        let mut f = Framing::new(MAX);
        let mut out = stream.to_vec();
        let mut refusals = Vec::new();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        bounds.push(0);
        bounds.push(stream.len());
        bounds.sort_unstable();
        for w in bounds.windows(2) {
            refusals.extend(f.feed(&mut out[w[0]..w[1]]));
        }
        (out, refusals)
    }

    fn one_by_one(stream: &[u8]) -> (Vec<u8>, Vec<BadFraming>) {
        run(stream, &(0..stream.len()).collect::<Vec<_>>())
    }

    const GET: &str = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const POST_CL: &str = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    const POST_CHUNKED: &str = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
    /// A body that looks like an ambiguous request: it is data, not a head.
    const POST_SNEAKY_BODY: &str = "POST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 57\r\n\r\n\
        GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n";

    #[test]
    fn ordinary_requests_pass_unchanged_in_any_split() {
        let stream = [
            GET,
            POST_CL,
            POST_CHUNKED,
            "\r\n",
            GET,
            POST_SNEAKY_BODY,
            GET,
        ]
        .concat();
        assert_eq!(POST_SNEAKY_BODY.split_once("\r\n\r\n").unwrap().1.len(), 57);
        for (out, refused) in [run(stream.as_bytes(), &[]), one_by_one(stream.as_bytes())] {
            assert_eq!(refused, []);
            assert_eq!(out, stream.as_bytes());
        }
        let mut f = Framing::new(MAX);
        f.feed(&mut stream.clone().into_bytes());
        assert_eq!(f.state, State::Head);
        assert!(f.partial.is_empty());
    }

    fn refused_at(bad: &str, want: BadFraming) {
        for prefix in ["", GET, POST_CL, POST_CHUNKED] {
            let stream = [prefix, bad, GET].concat();
            for (out, refused) in [run(stream.as_bytes(), &[]), one_by_one(stream.as_bytes())] {
                assert_eq!(refused, [want], "{stream:?}");
                let end = prefix.len() + bad.find("\r\n\r\n").unwrap() + 4;
                let mut want_bytes = stream.clone().into_bytes();
                want_bytes[end - 1] = b':';
                assert_eq!(out, want_bytes, "only the head's last byte changes");
                // What hyper's parser makes of the changed head: an error (its 400).
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let r = httparse::Request::new(&mut headers).parse(&out[prefix.len()..]);
                assert!(r.is_err(), "{r:?}");
            }
        }
    }

    #[test]
    fn ambiguous_lengths_are_refused_on_any_request_of_a_connection() {
        use BadFraming::*;
        let te = "Transfer-Encoding: chunked\r\n";
        let cl = "Content-Length: 3\r\n";
        refused_at(
            &format!("POST / HTTP/1.1\r\n{cl}{te}\r\n3\r\nabc\r\n0\r\n\r\n"),
            LengthAndEncoding,
        );
        refused_at(
            &format!("POST / HTTP/1.1\r\n{te}{cl}\r\n3\r\nabc\r\n0\r\n\r\n"),
            LengthAndEncoding,
        );
        refused_at(
            "POST / HTTP/1.1\r\ncontent-length: 0\r\ntransfer-encoding: gzip\r\n\r\n",
            LengthAndEncoding,
        );
        refused_at(
            &format!("POST / HTTP/1.1\r\n{cl}{cl}\r\nabc"),
            SeveralLengths,
        );
        refused_at(
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nCONTENT-LENGTH: 4\r\n\r\nabcd",
            SeveralLengths,
        );
    }

    #[test]
    fn bare_lf_heads_are_refused_too() {
        let stream = "POST / HTTP/1.1\nContent-Length: 1\nContent-Length: 1\n\nx";
        let (out, refused) = run(stream.as_bytes(), &[]);
        assert_eq!(refused, [BadFraming::SeveralLengths]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        assert!(httparse::Request::new(&mut headers).parse(&out).is_err());
    }

    #[test]
    fn the_guard_stops_after_upgrades_and_invalid_input() {
        let bad = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
        for first in [
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n",
            "GARBAGE\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n",
        ] {
            let stream = [first, bad].concat();
            let (out, refused) = run(stream.as_bytes(), &[]);
            assert_eq!((out, refused), (stream.into_bytes(), vec![]), "{first:?}");
        }
    }

    #[test]
    fn heads_beyond_hypers_limit_are_left_to_hyper() {
        let mut f = Framing::new(1024);
        let mut big = format!("GET / HTTP/1.1\r\nX: {}", "v".repeat(2000)).into_bytes();
        assert_eq!(f.feed(&mut big), None);
        assert_eq!(f.state, State::Off);
    }

    #[test]
    fn tunnels_are_kept_open_and_declined_upgrades_closed() {
        let resp = |s: u16| Response::builder().status(s).body(()).unwrap();
        let mut r = resp(101);
        close_unless_tunnel(false, &mut r);
        assert!(!r.headers().contains_key(header::CONNECTION));
        let mut r = resp(200);
        close_unless_tunnel(true, &mut r);
        assert!(!r.headers().contains_key(header::CONNECTION));
        let mut r = resp(200);
        close_unless_tunnel(false, &mut r);
        assert_eq!(r.headers()[header::CONNECTION], "close");
        let mut r = resp(404);
        close_unless_tunnel(true, &mut r);
        assert_eq!(r.headers()[header::CONNECTION], "close");
    }

    fn request() -> impl Strategy<Value = String> {
        let path = "/[a-z0-9]{0,12}";
        let body = "[ -~]{0,40}";
        prop_oneof![
            path.prop_map(|p| format!("GET {p} HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\r\n")),
            (path, body).prop_map(|(p, b)| format!(
                "POST {p} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            (path, prop::collection::vec(body, 0..4)).prop_map(|(p, chunks)| {
                let mut s = format!("PUT {p} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
                for c in chunks.iter().filter(|c| !c.is_empty()) {
                    s += &format!("{:x}\r\n{c}\r\n", c.len());
                }
                s + "0\r\n\r\n"
            }),
        ]
    }

    proptest! {
        #[test]
        fn valid_streams_pass_unchanged(
            reqs in prop::collection::vec(request(), 1..6),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let stream = reqs.concat();
            let (out, refused) = run(stream.as_bytes(), &cuts);
            prop_assert_eq!(refused, vec![]);
            prop_assert_eq!(out, stream.into_bytes());
        }

        #[test]
        fn an_ambiguous_request_is_refused_wherever_it_comes(
            before in prop::collection::vec(request(), 0..4),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let bad = "POST /s HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n";
            let prefix = before.concat();
            let stream = [prefix.as_str(), bad, "0\r\n\r\n"].concat();
            let (out, refused) = run(stream.as_bytes(), &cuts);
            prop_assert_eq!(refused, vec![BadFraming::LengthAndEncoding]);
            let mut want = stream.into_bytes();
            want[prefix.len() + bad.len() - 1] = b':';
            prop_assert_eq!(out, want);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            run(&bytes, &cuts);
        }
    }
}
