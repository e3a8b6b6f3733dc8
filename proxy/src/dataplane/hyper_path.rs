//! The data plane: route -> middlewares -> balancer -> server, for one request.
//!
//! Reads the routing snapshot the request started with (one atomic load), never locks.
//! Errors are classified at this edge: no router 404, no live server 503, a server that cannot
//! be reached or answers garbage 502, no response headers in time 504.
//!
//! What is decided for a request (router, middlewares, tries, the answer) is
//! [`crate::dataplane::pipeline`]'s, shared with the fast path; this file reads and writes it with hyper. Bodies up to
//! [`REPLAY_LIMIT`] are buffered so they can be replayed; larger ones get one try.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::PathAndQuery;
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::TokioIo;

use crate::answer::Answer;
use crate::balance::Balancer;
use crate::config::rule::{Headers, RequestInfo};
use crate::dataplane::failover::{self, TryError};
use crate::dataplane::header_policy::{self, Forward};
use crate::dataplane::pipeline::{self, Attempt, Failure, Transport};
use crate::dataplane::upstream::{self, PooledBody, SendError};
use crate::limits::{MAX_HEADERS_LEN, MAX_URI_LEN, REPLAY_LIMIT};
use crate::middleware::Middleware;
use crate::observe::{Outcome, Protocol};
use crate::parse::IpNet;
use crate::runtime::Runtime;

pub use crate::balance::pool::Body;
/// The body of a response to a client: a server's, or the proxy's own.
pub type RespBody = Either<PooledBody, Full<Bytes>>;

/// What an entrypoint tells the data plane about itself.
#[derive(Debug)]
pub struct EntryCtx {
    pub name: String,
    /// The port clients connected to, for X-Forwarded-Port.
    pub port_value: HeaderValue,
    pub trust_all: bool,
    pub trusted: Vec<IpNet>,
    /// `http.tls`: every router on this entrypoint is a TLS one.
    pub tls_routers: bool,
    /// `http.redirections.entrypoint`: the redirect every plain request gets, and the name of
    /// the router Traefik would make for it (for the log).
    pub redirect: Option<(String, Arc<dyn Middleware>)>,
}

impl EntryCtx {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.trust_all || self.trusted.iter().any(|n| n.contains(ip))
    }
}

/// What the data plane knows about a client connection, computed once per connection.
#[derive(Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The address as a header value, for X-Forwarded-For and X-Real-Ip.
    pub ip_value: HeaderValue,
    /// Whether its X-Forwarded-* headers are kept.
    pub trusted: bool,
    /// Whether the connection is TLS: only TLS routers serve it, and servers see
    /// `X-Forwarded-Proto: https`.
    pub tls: bool,
}

impl Peer {
    pub fn new(addr: SocketAddr, ep: &EntryCtx, tls: bool) -> Self {
        Self {
            addr,
            ip_value: header_policy::ip_value(addr.ip()),
            trusted: ep.trusts(addr.ip()),
            tls,
        }
    }

    /// The scheme clients used, for X-Forwarded-Proto.
    pub fn proto(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }
}

/// A short text response, as Traefik sends for its own errors.
pub fn text(status: StatusCode, body: &'static str) -> Response<RespBody> {
    let mut r = Response::new(Either::Right(Full::new(Bytes::from_static(
        body.as_bytes(),
    ))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn bad_request(status: StatusCode, body: &'static str) -> Response<RespBody> {
    let mut r = text(status, body);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Rejects what trusted proxies reject before routing.
/// Returns the refusal, if any.
fn validate<B>(req: &Request<B>) -> Option<Response<RespBody>> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_LEN {
        return Some(bad_request(StatusCode::URI_TOO_LONG, "414 URI too long\n"));
    }
    let headers = req.headers();
    let size: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if size > MAX_HEADERS_LEN {
        return Some(bad_request(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "431 request header fields too large\n",
        ));
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 && req.uri().authority().is_none() => {
            return Some(bad_request(
                StatusCode::BAD_REQUEST,
                "400 missing Host header\n",
            ))
        }
        (Some(_), Some(_)) => {
            return Some(bad_request(
                StatusCode::BAD_REQUEST,
                "400 several Host headers\n",
            ))
        }
        (Some(h), None) => {
            let valid = h
                .to_str()
                .ok()
                .and_then(|s| s.parse::<http::uri::Authority>().ok())
                .is_some_and(|a| !a.as_str().contains('@') && !a.host().is_empty());
            if !valid {
                return Some(bad_request(
                    StatusCode::BAD_REQUEST,
                    "400 invalid Host header\n",
                ));
            }
        }
        _ => {}
    }
    // Defence in depth only: requests from the wire with an ambiguous body length are refused
    // by the framing guard (`crate::dataplane::framing`) before hyper parses them, so neither check below
    // fires for them.
    if headers.get_all(header::CONTENT_LENGTH).iter().count() > 1 {
        return Some(bad_request(
            StatusCode::BAD_REQUEST,
            "400 several Content-Length headers\n",
        ));
    }
    if headers.contains_key(header::CONTENT_LENGTH)
        && headers.contains_key(header::TRANSFER_ENCODING)
    {
        return Some(bad_request(
            StatusCode::BAD_REQUEST,
            "400 both Content-Length and Transfer-Encoding\n",
        ));
    }
    None
}

/// A request body that can be sent again, or a stream sent once.
enum Replay {
    Empty,
    Bytes(Bytes),
    Stream(Option<Incoming>),
}

impl Replay {
    fn next(&mut self) -> Option<Body> {
        match self {
            Replay::Empty => Some(Either::Right(Full::new(Bytes::new()))),
            Replay::Bytes(b) => Some(Either::Right(Full::new(b.clone()))),
            Replay::Stream(s) => s.take().map(Either::Left),
        }
    }
    fn replayable(&self) -> bool {
        !matches!(self, Replay::Stream(_))
    }
}

/// Whether an upstream error shows the connection was reset or closed before the response
/// started (the request may have reached the server).
fn is_reset(e: &hyper::Error) -> bool {
    if e.is_incomplete_message() || e.is_canceled() {
        return true;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return failover::is_reset_kind(io.kind());
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        src = s.source();
    }
    false
}

/// The proxy's own answer as a response.
pub fn answer(a: &Answer) -> Response<RespBody> {
    let mut r = match a {
        Answer::Text(status, body) => text(*status, body),
        Answer::Redirect(..) => {
            let mut r = Response::new(Either::Right(Full::new(Bytes::from(a.body().to_string()))));
            *r.status_mut() = a.status();
            r
        }
    };
    if let Some(l) = a.location().and_then(|l| HeaderValue::from_str(l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// Sending a try with hyper: a `Request` rebuilt from the client's for each try, its body
/// buffered when small so that it can be sent again.
struct Hyper {
    parts: http::request::Parts,
    path_and_query: PathAndQuery,
    replay: Replay,
    /// A request a failed try handed back unsent: the next try sends it as it is.
    pending: Option<Request<Body>>,
    /// The header policy left no `Host`: each try sets its server's.
    set_host: bool,
    dial_timeout: Duration,
}

impl Transport for Hyper {
    type Response = Response<PooledBody>;

    async fn send(&mut self, a: &Attempt<'_>) -> Result<Response<PooledBody>, Failure> {
        let mut up = match self.pending.take() {
            Some(r) => r,
            None => {
                let Some(body) = self.replay.next() else {
                    return Err(Failure {
                        error: TryError::Failed {
                            reset: false,
                            replayable: false,
                        },
                        why: "the request body was sent already".into(),
                    });
                };
                // Keep a copy only when a request that reached a server may be sent again.
                let headers = if a.may_resend && self.replay.replayable() {
                    self.parts.headers.clone()
                } else {
                    std::mem::take(&mut self.parts.headers)
                };
                let mut up = Request::new(body);
                *up.method_mut() = self.parts.method.clone();
                *up.headers_mut() = headers;
                up
            }
        };
        *up.uri_mut() = Uri::from(self.path_and_query.clone());
        if self.set_host {
            up.headers_mut()
                .insert(header::HOST, a.server.host_value.clone());
        }
        let failure = |error, e: &dyn std::fmt::Display| Failure {
            error,
            why: e.to_string(),
        };
        match upstream::send(a.server, up, self.dial_timeout).await {
            Ok(mut resp) => {
                let h = resp.headers_mut();
                for (name, value) in &a.rewrite.response_headers {
                    h.remove(name);
                    if let Some(v) = value {
                        h.insert(name, v.clone());
                    }
                }
                if let Some(c) = a.set_cookie {
                    h.append(header::SET_COOKIE, c.clone());
                }
                Ok(resp)
            }
            Err(SendError::Connect(e, r)) => {
                self.pending = Some(r);
                Err(failure(TryError::Refused, &e))
            }
            Err(SendError::NotSent(e, r)) => {
                self.pending = Some(r);
                Err(failure(TryError::NotSent, &e))
            }
            Err(SendError::Failed(e)) => {
                let error = TryError::Failed {
                    reset: is_reset(&e),
                    replayable: self.replay.replayable(),
                };
                Err(failure(error, &e))
            }
        }
    }
}

/// Handles one request from a client.
pub async fn handle(
    rt: &Runtime,
    ep: &EntryCtx,
    peer: &Peer,
    mut req: Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let start = Instant::now();
    if req.version() == Version::HTTP_2 {
        from_h2(&mut req);
    }
    if let Some(resp) = validate(&req) {
        return Ok(resp);
    }
    let snap = rt.snapshot.load_full();
    let client_ip = peer.addr.ip();
    let protocol = if rt.metrics.is_some() {
        Protocol::of_headers(req.headers())
    } else {
        Protocol::Http
    };
    // A HeaderValue clone shares its bytes: no copy of the host.
    let host_value: Option<HeaderValue> = req.headers().get(header::HOST).cloned();
    let authority = match &host_value {
        Some(_) => None,
        None => req.uri().authority().map(|a| a.to_string()),
    };
    let host: &str = match (&host_value, &authority) {
        (Some(h), _) => h.to_str().unwrap_or_default(),
        (None, Some(a)) => a,
        (None, None) => "",
    };
    let routed = pipeline::route(
        &snap,
        ep,
        peer.tls,
        &RequestInfo {
            host,
            path: req.uri().path(),
            method: req.method(),
            headers: Headers::Map(req.headers()),
            query: req.uri().query(),
            client_ip,
        },
    );
    let routed = match routed {
        Ok(r) => r,
        Err((a, router)) => {
            rt.record(&Outcome {
                client: client_ip,
                host,
                method: req.method(),
                path: req.uri().path(),
                router,
                service: "",
                server: "",
                status: a.status(),
                duration: start.elapsed(),
                entrypoint: &ep.name,
                protocol,
                retries: 0,
                request_bytes: req.body().size_hint().exact().unwrap_or(0),
                response_bytes: a.body().len() as u64,
            });
            return Ok(answer(&a));
        }
    };
    let route = routed.route;
    let balancer: &Balancer = &route.balancer;
    let upgrade = header_policy::wants_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let log_path = if rt.access_log {
        parts.uri.path().to_string()
    } else {
        String::new()
    };

    let policy = Forward {
        client_ip: &peer.ip_value,
        trusted: peer.trusted,
        port: &ep.port_value,
        proto: peer.proto(),
        sticky_names: &snap.sticky_cookie_names,
        pass_host: balancer.pass_host_header,
        edits: &routed.rewrite.request_headers,
    };
    policy.apply(&mut parts.headers, upgrade);
    let set_host = !parts.headers.contains_key(header::HOST);
    let path_and_query = match &routed.rewrite.target {
        Some(t) => PathAndQuery::try_from(t.as_str()).ok(),
        None => parts.uri.path_and_query().cloned(),
    }
    .unwrap_or_else(|| PathAndQuery::from_static("/"));

    let request_bytes = body.size_hint().exact().unwrap_or(0);
    let replay = if body.is_end_stream() {
        Replay::Empty
    } else {
        let small = body.size_hint().exact().is_some_and(|n| n <= REPLAY_LIMIT);
        if small && balancer.servers.len() > 1 {
            match Limited::new(body, REPLAY_LIMIT as usize).collect().await {
                Ok(c) => Replay::Bytes(c.to_bytes()),
                Err(_) => {
                    return Ok(bad_request(
                        StatusCode::BAD_REQUEST,
                        "400 the request body could not be read\n",
                    ))
                }
            }
        } else {
            Replay::Stream(Some(body))
        }
    };
    let method = parts.method.clone();
    let mut hyper_transport = Hyper {
        parts,
        path_and_query,
        replay,
        pending: None,
        set_host,
        dial_timeout: rt.dial_timeout,
    };
    let decision = pipeline::forward(
        &routed,
        &method,
        rt.response_header_timeout,
        &mut hyper_transport,
    )
    .await;

    let resp = match decision.answer {
        Ok(mut resp) => {
            let server_upgrade = (resp.status() == StatusCode::SWITCHING_PROTOCOLS)
                .then(|| hyper::upgrade::on(&mut resp));
            let (mut rparts, rbody) = resp.into_parts();
            header_policy::remove_hop_by_hop(&mut rparts.headers, server_upgrade.is_some());
            if let (Some(server_up), Some(client_up)) = (server_upgrade, client_upgrade) {
                tokio::spawn(async move {
                    if let (Ok(s), Ok(c)) = tokio::join!(server_up, client_up) {
                        let _ = tokio::io::copy_bidirectional(
                            &mut TokioIo::new(s),
                            &mut TokioIo::new(c),
                        )
                        .await;
                    }
                });
            }
            Response::from_parts(rparts, Either::Left(rbody))
        }
        Err(a) => answer(&a),
    };
    rt.record(&Outcome {
        client: client_ip,
        host,
        method: &method,
        path: &log_path,
        router: &route.name,
        service: &balancer.name,
        server: decision.server.map_or("", |s| &s.url),
        status: resp.status(),
        duration: start.elapsed(),
        entrypoint: &ep.name,
        protocol,
        retries: decision.retries,
        request_bytes,
        response_bytes: resp.body().size_hint().exact().unwrap_or(0),
    });
    Ok(resp)
}

/// An HTTP/2 request as an HTTP/1.1 server expects it. Its host is in the `:authority`
/// pseudo-header, not `Host`: copied to `Host`, which the rules, the log and servers read. Its
/// cookies may come as several `cookie` fields (browsers split them): joined into one with
/// `; ` (RFC 9113, 8.2.3), since HTTP/1.1 allows a single `Cookie` header.
fn from_h2<B>(req: &mut Request<B>) {
    if !req.headers().contains_key(header::HOST) {
        let authority = req.uri().authority().map(|a| a.as_str().to_string());
        if let Some(v) = authority.and_then(|a| HeaderValue::from_str(&a).ok()) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    let cookies = req.headers().get_all(header::COOKIE);
    if cookies.iter().nth(1).is_some() {
        let joined: Vec<&[u8]> = cookies.iter().map(HeaderValue::as_bytes).collect();
        if let Ok(v) = HeaderValue::from_bytes(&joined.join(&b"; "[..])) {
            req.headers_mut().insert(header::COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(f: impl FnOnce(http::request::Builder) -> http::request::Builder) -> Request<()> {
        f(Request::builder().uri("/x")).body(()).unwrap()
    }

    #[test]
    fn validation_rejects_what_trusted_proxies_reject() {
        let status = |r: Request<()>| validate(&r).map(|r| r.status());
        assert_eq!(status(req(|b| b.header("host", "a.b"))), None);
        assert_eq!(status(req(|b| b)), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            status(req(|b| b.header("host", "a").header("host", "b"))),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(req(|b| b.header("host", "u@evil"))),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(req(|b| b.header("host", "a b"))),
            Some(StatusCode::BAD_REQUEST)
        );
        let long = format!("/{}", "a".repeat(MAX_URI_LEN));
        assert_eq!(
            status(req(|b| b.uri(long.as_str()).header("host", "a"))),
            Some(StatusCode::URI_TOO_LONG)
        );
        let big = "v".repeat(MAX_HEADERS_LEN);
        assert_eq!(
            status(req(|b| b.header("host", "a").header("x-big", big.as_str()))),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            status(req(|b| b
                .header("host", "a")
                .header("content-length", "1")
                .header("content-length", "1"))),
            Some(StatusCode::BAD_REQUEST)
        );
        let http10 = req(|b| b.version(Version::HTTP_10));
        assert_eq!(status(http10), None);
    }

    #[test]
    fn http2_requests_are_made_http1_shaped() {
        let mut r = Request::builder()
            .version(Version::HTTP_2)
            .uri("https://a.lab:8443/x")
            .header("cookie", "a=1")
            .header("cookie", "_lb=2")
            .body(())
            .unwrap();
        from_h2(&mut r);
        assert_eq!(r.headers()[header::HOST], "a.lab:8443");
        assert_eq!(r.headers().get_all(header::COOKIE).iter().count(), 1);
        assert_eq!(r.headers()[header::COOKIE], "a=1; _lb=2");
    }
}
