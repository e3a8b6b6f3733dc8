//! One client connection on the fast path: read a request head, route it, send it to a server
//! on a pooled connection, relay the response, again, until the client leaves or sends a
//! request the fast path does not take (then hyper serves the connection from that request on).
//!
//! What is decided for a request (router, middlewares, sticky pick, tries, the answer) is
//! [`crate::dataplane::pipeline`]'s, as on the hyper path; this file only reads and writes the bytes.

use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::head;
use super::request::{self, Info};
use super::response;
use crate::balance::ServerState;
use crate::config::rule::{Headers, RequestInfo};
use crate::dataplane::body_length::BodyLength;
use crate::dataplane::chunked::Chunked;
use crate::dataplane::failover::{self, TryError};
use crate::dataplane::header_policy::Forward;
use crate::dataplane::hyper_path::{EntryCtx, Peer};
use crate::dataplane::pipeline::{self, Attempt, Decision, Failure, Transport};
use crate::dataplane::upstream::{self, RawConn};
use crate::limits::{
    FAST_PATH_HEADERS, MAX_HEADERS, MAX_REQUEST_HEAD, MAX_RESPONSE_HEAD, READ_CHUNK, RELAY_BUF,
};
use crate::observe::{Outcome, Protocol};
use crate::runtime::Runtime;

/// How a connection left the fast path.
#[derive(Debug)]
pub enum End {
    /// It is done: the client left or asked to close, timed out, or the proxy is stopping.
    Closed,
    /// A request the fast path does not take starts these bytes: hyper serves the connection
    /// from there.
    Handoff(Vec<u8>),
}

/// A client connection the fast path serves: TCP, or TLS over TCP.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> ClientIo for T {}

/// Writes `bytes` and flushes them: TLS holds written bytes in its records until flushed (a
/// no-op on TCP).
async fn write_flush(client: &mut impl ClientIo, bytes: &[u8]) -> std::io::Result<()> {
    client.write_all(bytes).await?;
    client.flush().await
}

/// What the connection loop needs to know of its entrypoint and client.
pub struct Ctx<'a> {
    pub rt: &'a Runtime,
    pub ep: &'a EntryCtx,
    pub peer: &'a Peer,
    /// A client must send a complete request head this soon after the previous response.
    pub header_read_timeout: Duration,
}

/// What comes after an exchange.
enum Next {
    KeepAlive,
    Close,
}

/// Serves `client` until it closes or must go to hyper.
pub async fn serve<S: ClientIo>(
    c: &Ctx<'_>,
    client: &mut S,
    stop: &mut watch::Receiver<bool>,
) -> End {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let deadline = tokio::time::Instant::now() + c.header_read_timeout;
        let (consumed, next) = loop {
            // Left uninitialized: httparse writes only the headers it parses, so no read pays
            // for setting up all of them.
            let mut headers = [MaybeUninit::uninit(); FAST_PATH_HEADERS];
            let mut req = httparse::Request::new(&mut []);
            let parsed = if buf.is_empty() {
                Ok(httparse::Status::Partial)
            } else {
                httparse::ParserConfig::default().parse_request_with_uninit_headers(
                    &mut req,
                    &buf,
                    &mut headers,
                )
            };
            match parsed {
                Ok(httparse::Status::Complete(n)) => {
                    let Ok(info) = request::classify(&req) else {
                        return End::Handoff(buf);
                    };
                    break (n, exchange(c, &req, info, &mut out, client, stop).await);
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_HEAD => {}
                // Malformed or too large: hyper gives the answer it always gave.
                _ => return End::Handoff(buf),
            }
            let stopping = *stop.borrow();
            if stopping && buf.is_empty() {
                return End::Closed;
            }
            if buf.capacity() - buf.len() < READ_CHUNK / 4 {
                buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                r = tokio::time::timeout_at(deadline, client.read_buf(&mut buf)) => match r {
                    Ok(Ok(n)) if n > 0 => {}
                    // Closed, reset, or no complete head in time: hyper closes these too.
                    _ => return End::Closed,
                },
                _ = stop.changed(), if !stopping && buf.is_empty() => return End::Closed,
            }
        };
        match next {
            Next::KeepAlive if !*stop.borrow() => {}
            _ => return End::Closed,
        }
        if consumed == buf.len() {
            buf.clear();
        } else {
            buf.drain(..consumed);
        }
    }
}

/// Why a request got no response head from a server.
enum SendError {
    /// No connection could be opened.
    Connect(std::io::Error),
    /// A new connection failed before the request was written.
    NotSent(std::io::Error),
    /// The request was written; then the connection was reset (`reset`) or the answer was not
    /// HTTP.
    Failed { reset: bool, why: String },
}

async fn write_client<S: ClientIo>(client: &mut S, bytes: &[u8], close: bool) -> Next {
    match write_flush(client, bytes).await {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

/// A server's response head on the fast path: its connection, the head's length in the
/// buffer, what it says of its body, and whether the client connection closes after it.
type Head = (RawConn, usize, response::Info, bool);

/// Sending a try on the fast path: the request head rewritten into `out` as it is copied from
/// the client's, the response head read into `ubuf`, checked, and rewritten into `out` for the
/// client (httparse's view of it is not kept across an await).
struct Fast<'a, 'h, 'b> {
    c: &'a Ctx<'a>,
    req: &'a httparse::Request<'h, 'b>,
    info: &'a Info<'b>,
    sticky_names: &'a [String],
    pass_host: bool,
    out: &'a mut Vec<u8>,
    ubuf: Vec<u8>,
    stop: &'a watch::Receiver<bool>,
}

impl Transport for Fast<'_, '_, '_> {
    type Response = Head;

    async fn send(&mut self, a: &Attempt<'_>) -> Result<Head, Failure> {
        let (c, info) = (self.c, self.info);
        let target = a
            .rewrite
            .target
            .as_deref()
            .unwrap_or_else(|| self.req.path.unwrap_or("/"));
        let policy = Forward {
            client_ip: &c.peer.ip_value,
            trusted: c.peer.trusted,
            port: &c.ep.port_value,
            proto: c.peer.proto(),
            sticky_names: self.sticky_names,
            pass_host: self.pass_host,
            edits: &a.rewrite.request_headers,
        };
        let method = self.req.method.unwrap_or("GET");
        let server_host = a.server.host_value.as_bytes();
        policy.write_request(self.out, method, target, self.req.headers, server_host);
        let failed = |reset, why| Failure {
            error: TryError::Failed {
                reset,
                // The fast path sends no body: the request can always be sent again.
                replayable: true,
            },
            why,
        };
        let (conn, head_len) =
            match send(a.server, self.out, &mut self.ubuf, c.rt.dial_timeout).await {
                Ok(sent) => sent,
                Err(SendError::Connect(e)) => {
                    return Err(Failure {
                        error: TryError::Refused,
                        why: e.to_string(),
                    })
                }
                Err(SendError::NotSent(e)) => {
                    return Err(Failure {
                        error: TryError::NotSent,
                        why: e.to_string(),
                    })
                }
                Err(SendError::Failed { reset, why }) => return Err(failed(reset, why)),
            };
        // Parsed once; one that cannot be relayed is a failed try.
        let head_request = info.method == Method::HEAD;
        let mut headers = [MaybeUninit::uninit(); MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let parser = httparse::ParserConfig::default();
        let parsed = parser.parse_response_with_uninit_headers(
            &mut resp,
            &self.ubuf[..head_len],
            &mut headers,
        );
        let rinfo = match parsed {
            Ok(httparse::Status::Complete(_)) => {
                response::classify(&resp, head_request).map_err(|e| e.0.to_string())
            }
            Ok(httparse::Status::Partial) => Err("incomplete response head".into()),
            Err(e) => Err(format!("invalid response head: {e}")),
        }
        .map_err(|why| failed(false, why))?;
        let close = info.close || rinfo.body == BodyLength::UntilClose || *self.stop.borrow();
        let extra = head::Extra {
            edits: &a.rewrite.response_headers,
            set_cookie: a.set_cookie.map(|v| v.as_bytes()),
        };
        head::write_response(self.out, &resp, &extra, close);
        Ok((conn, head_len, rinfo, close))
    }
}

/// Routes one request ([`crate::dataplane::pipeline`]), sends it to a server and relays the response.
async fn exchange<'b>(
    c: &Ctx<'_>,
    req: &httparse::Request<'_, 'b>,
    info: Info<'b>,
    out: &mut Vec<u8>,
    client: &mut impl ClientIo,
    stop: &watch::Receiver<bool>,
) -> Next {
    let start = Instant::now();
    let rt = c.rt;
    let snap = rt.snapshot.load_full();
    let client_ip = c.peer.addr.ip();
    let head_request = info.method == Method::HEAD;
    let ri = RequestInfo {
        host: info.host,
        path: info.path,
        method: &info.method,
        headers: Headers::Raw(req.headers),
        query: info.query,
        client_ip,
    };
    let mut outcome = Outcome {
        client: client_ip,
        host: info.host,
        method: &info.method,
        path: info.path,
        router: "",
        service: "",
        server: "",
        status: StatusCode::NOT_FOUND,
        duration: Duration::ZERO,
        entrypoint: &c.ep.name,
        // Upgrades go to hyper: only the `Accept` and `Content-Type` rules apply here.
        protocol: if rt.metrics.is_some() {
            Protocol::of(None, None, info.accept, info.content_type)
        } else {
            Protocol::Http
        },
        retries: 0,
        // The fast path takes no request body.
        request_bytes: 0,
        response_bytes: 0,
    };
    let routed = match pipeline::route(&snap, c.ep, c.peer.tls, &ri) {
        Ok(r) => r,
        Err((a, router)) => {
            head::write_answer(out, &a, info.close, head_request);
            outcome.router = router;
            outcome.status = a.status();
            outcome.response_bytes = a.body().len() as u64;
            outcome.duration = start.elapsed();
            rt.record(&outcome);
            return write_client(client, out, info.close).await;
        }
    };
    let balancer = &routed.route.balancer;
    outcome.router = &routed.route.name;
    outcome.service = &balancer.name;

    let mut fast = Fast {
        c,
        req,
        info: &info,
        sticky_names: &snap.sticky_cookie_names,
        pass_host: balancer.pass_host_header,
        out,
        ubuf: Vec::new(),
        stop,
    };
    let Decision {
        answer,
        server,
        retries,
    } = pipeline::forward(&routed, &info.method, rt.response_header_timeout, &mut fast).await;
    let Fast { out, mut ubuf, .. } = fast;
    outcome.server = server.map_or("", |s| &s.url);
    outcome.retries = retries;
    let (conn, head_len, rinfo, close) = match answer {
        Ok(head) => head,
        Err(a) => {
            head::write_answer(out, &a, info.close, head_request);
            outcome.status = a.status();
            outcome.response_bytes = a.body().len() as u64;
            outcome.duration = start.elapsed();
            rt.record(&outcome);
            return write_client(client, out, info.close).await;
        }
    };
    // As on the hyper path: the duration is until the response head.
    outcome.status = StatusCode::from_u16(rinfo.status).unwrap_or(StatusCode::BAD_GATEWAY);
    outcome.duration = start.elapsed();
    if let BodyLength::Length(n) = rinfo.body {
        outcome.response_bytes = n;
    }

    let relayed = relay(conn, head_len, rinfo, &mut ubuf, out, client).await;
    rt.record(&outcome);
    match relayed {
        Ok(Some(conn)) => {
            if let Some(server) = server {
                server.raw.put(conn);
            }
        }
        Ok(None) => {}
        Err(Cut) => return Next::Close,
    }
    if close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// The client connection must close: its response could not be completed, or ends with the
/// connection.
struct Cut;

/// Relays the response whose head is `ubuf[..head_len]` (already rewritten into `out`) and
/// whatever of its body followed. Returns the server connection when it can carry another
/// request (`Ok(None)` when it cannot); `Err` when the client connection must close (a write
/// failed, the body was cut, or the body ends with the server's close).
async fn relay(
    mut conn: RawConn,
    head_len: usize,
    rinfo: response::Info,
    ubuf: &mut Vec<u8>,
    out: &mut Vec<u8>,
    client: &mut impl ClientIo,
) -> Result<Option<RawConn>, Cut> {
    let mut reusable = rinfo.keep_alive;
    let body = &ubuf[head_len..];
    match rinfo.body {
        BodyLength::Empty => {
            reusable &= body.is_empty();
            write_flush(client, out).await.map_err(|_| Cut)?;
        }
        BodyLength::Length(n) => {
            let first = body.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            reusable &= body.len() == first;
            out.extend_from_slice(&body[..first]);
            write_flush(client, out).await.map_err(|_| Cut)?;
            let mut left = n - first as u64;
            while left > 0 {
                ubuf.clear();
                let got = conn.0.read_buf(ubuf).await.map_err(|_| Cut)?;
                if got == 0 {
                    return Err(Cut);
                }
                let take = got.min(usize::try_from(left).unwrap_or(usize::MAX));
                reusable &= take == got;
                write_flush(client, &ubuf[..take]).await.map_err(|_| Cut)?;
                left -= take as u64;
            }
        }
        BodyLength::Chunked => {
            let mut chunks = Chunked::default();
            let Ok((used, mut done)) = chunks.feed(body) else {
                // The head, at least; the broken body ends with the connection.
                let _ = write_flush(client, out).await;
                return Err(Cut);
            };
            reusable &= used == body.len();
            out.extend_from_slice(&body[..used]);
            write_flush(client, out).await.map_err(|_| Cut)?;
            while !done {
                ubuf.clear();
                let got = conn.0.read_buf(ubuf).await.map_err(|_| Cut)?;
                if got == 0 {
                    return Err(Cut);
                }
                let (used, end) = chunks.feed(ubuf).map_err(|_| Cut)?;
                reusable &= used == got;
                done = end;
                write_flush(client, &ubuf[..used]).await.map_err(|_| Cut)?;
            }
        }
        BodyLength::UntilClose => {
            out.extend_from_slice(body);
            write_flush(client, out).await.map_err(|_| Cut)?;
            loop {
                ubuf.clear();
                let got = conn.0.read_buf(ubuf).await.map_err(|_| Cut)?;
                if got == 0 {
                    break;
                }
                write_flush(client, ubuf).await.map_err(|_| Cut)?;
            }
            // The client learns the end from the close (its response says so).
            return Err(Cut);
        }
    }
    Ok(reusable.then_some(conn))
}

/// Takes an idle connection to `server` (or opens one), writes the request head and reads the
/// response head into `ubuf`. Returns the connection and the head's length; informational
/// (1xx) heads are skipped.
async fn send(
    server: &Arc<ServerState>,
    head: &[u8],
    ubuf: &mut Vec<u8>,
    dial_timeout: Duration,
) -> Result<(RawConn, usize), SendError> {
    if ubuf.capacity() == 0 {
        ubuf.reserve(RELAY_BUF);
    }
    let mut conn = loop {
        let (mut conn, reused) = match server.raw.take() {
            Some(c) => (c, true),
            // Boxed: opening a connection is rare and its future is large.
            None => match Box::pin(upstream::dial(server, dial_timeout)).await {
                Ok(s) => (RawConn(s), false),
                Err(e) => return Err(SendError::Connect(e)),
            },
        };
        match conn.0.write_all(head).await {
            Ok(()) => break conn,
            // A reused connection the server has just closed: take another one.
            Err(_) if reused => continue,
            Err(e) => return Err(SendError::NotSent(e)),
        }
    };
    ubuf.clear();
    loop {
        // Only where the head ends and its status here; `exchange` parses it, once.
        if let Some(n) = response::head_len(ubuf) {
            match response::status_of(&ubuf[..n]) {
                Some(101) => {
                    return Err(SendError::Failed {
                        reset: false,
                        why: "101 to a request that asked for no upgrade".into(),
                    })
                }
                Some(100..=199) => {
                    ubuf.drain(..n);
                    continue;
                }
                Some(_) => return Ok((conn, n)),
                None => {
                    return Err(SendError::Failed {
                        reset: false,
                        why: "not an HTTP/1 response".into(),
                    })
                }
            }
        }
        if !response::may_be_http(ubuf) {
            return Err(SendError::Failed {
                reset: false,
                why: "not an HTTP/1 response".into(),
            });
        }
        if ubuf.capacity() - ubuf.len() < 1024 {
            if ubuf.len() >= MAX_RESPONSE_HEAD {
                return Err(SendError::Failed {
                    reset: false,
                    why: "response head too large".into(),
                });
            }
            ubuf.reserve(RELAY_BUF);
        }
        match conn.0.read_buf(ubuf).await {
            Ok(0) => {
                return Err(SendError::Failed {
                    reset: true,
                    why: "connection closed before a response".into(),
                })
            }
            Ok(_) => {}
            Err(e) => {
                return Err(SendError::Failed {
                    reset: failover::is_reset_kind(e.kind()),
                    why: e.to_string(),
                });
            }
        }
    }
}
