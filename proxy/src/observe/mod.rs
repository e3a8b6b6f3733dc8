//! What the proxy records about each request: the [`Outcome`], written to the access log
//! (`--accesslog`) and counted by the [`metrics`] (`--metrics.prometheus`). Both data paths
//! fill it from the pipeline's decision; `Runtime::record` hands it to both.

pub mod metrics;

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

/// What the access log and metrics record about a request.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub client: IpAddr,
    pub host: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    /// The router that matched (empty: none did).
    pub router: &'a str,
    pub service: &'a str,
    /// The server of the last try (empty: none was tried).
    pub server: &'a str,
    pub status: StatusCode,
    /// Until the response head.
    pub duration: Duration,
    /// The entrypoint the request came in on.
    pub entrypoint: &'a str,
    /// Traefik's `protocol` label (plain HTTP when metrics are off: only they read it).
    pub protocol: Protocol,
    /// Tries after the first one.
    pub retries: u32,
    /// Body sizes as their `Content-Length` declares them (0 without one: a chunked body, or
    /// one that ends with the connection).
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// Traefik's `protocol` label: what kind of HTTP exchange a request starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Protocol {
    #[default]
    Http,
    Websocket,
    Sse,
    GrpcWeb,
    Grpc,
}

impl Protocol {
    /// Traefik's rules, from the request's first `Connection`, `Upgrade`, `Accept` and
    /// `Content-Type` values: a WebSocket handshake, then an event stream (`Accept` lists
    /// `text/event-stream`), then gRPC-Web and gRPC (by content type), else plain HTTP.
    pub fn of(
        connection: Option<&[u8]>,
        upgrade: Option<&[u8]>,
        accept: Option<&[u8]>,
        content_type: Option<&[u8]>,
    ) -> Self {
        let lists = |v: Option<&[u8]>, item: &[u8]| {
            v.is_some_and(|v| {
                v.split(|&b| b == b',')
                    .any(|i| i.trim_ascii().eq_ignore_ascii_case(item))
            })
        };
        let ct = content_type.unwrap_or_default();
        if lists(connection, b"upgrade") && lists(upgrade, b"websocket") {
            Protocol::Websocket
        } else if lists(accept, b"text/event-stream") {
            Protocol::Sse
        } else if ct.starts_with(b"application/grpc-web") {
            Protocol::GrpcWeb
        } else if ct.starts_with(b"application/grpc") {
            Protocol::Grpc
        } else {
            Protocol::Http
        }
    }

    /// From a request's headers (the hyper path).
    pub fn of_headers(h: &http::HeaderMap) -> Self {
        let get = |n: http::header::HeaderName| h.get(n).map(|v| v.as_bytes());
        use http::header::{ACCEPT, CONNECTION, CONTENT_TYPE, UPGRADE};
        Self::of(
            get(CONNECTION),
            get(UPGRADE),
            get(ACCEPT),
            get(CONTENT_TYPE),
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Websocket => "websocket",
            Protocol::Sse => "sse",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Grpc => "grpc",
        }
    }
}

/// Writes the access log line for `o` to standard output.
pub fn access_log(o: &Outcome<'_>) {
    let line = format!(
        "{} client={} host={:?} method={} path={:?} router={:?} service={:?} server={:?} status={} duration_ms={:.3}\n",
        lab_common::time::rfc3339(SystemTime::now()),
        o.client,
        o.host,
        o.method,
        o.path,
        o.router,
        o.service,
        o.server,
        o.status.as_u16(),
        o.duration.as_secs_f64() * 1000.0
    );
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}
