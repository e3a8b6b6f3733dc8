//! TLS on an entrypoint: telling a TLS connection from a plain one, the handshake, and HTTP/2.
//!
//! Every entrypoint accepts both, as Traefik does: a TLS connection starts with a handshake
//! record (first byte 0x16), which no HTTP/1 request line starts with, so one byte read ahead
//! (`peek`, left in the socket) decides. This keeps the routers' choice where Traefik has it:
//! a TLS router (`tls=true`, or every router of an entrypoint with `http.tls`) answers on TLS
//! connections only, a plain router on plain ones only, whatever the port. (Deciding per
//! entrypoint instead would break an entrypoint with routers of both kinds, which Traefik
//! serves: a router without `entrypoints` is on all of them.)
//!
//! After the handshake, ALPN decides: `h2` goes to hyper's HTTP/2 server, `http/1.1` (or none)
//! to the same HTTP/1 code as plain connections, fast path included.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::dataplane::entrypoint::Conn;
use crate::dataplane::hyper_path;
use crate::runtime::Runtime;

/// The first byte of a TLS handshake record.
const HANDSHAKE: u8 = 0x16;

/// What a connection's first byte says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hello {
    Plain,
    Tls,
}

/// Waits for the connection's first byte (left unread) within `timeout`. `None`: the client
/// closed, sent nothing in time, or the proxy is stopping.
pub async fn sniff(
    stream: &TcpStream,
    timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Option<Hello> {
    let mut first = [0u8; 1];
    if *stop.borrow() {
        return None;
    }
    tokio::select! {
        r = tokio::time::timeout(timeout, stream.peek(&mut first)) => match r {
            Ok(Ok(1)) if first[0] == HANDSHAKE => Some(Hello::Tls),
            Ok(Ok(1)) => Some(Hello::Plain),
            _ => None,
        },
        _ = stop.changed() => None,
    }
}

/// The TLS handshake, within `timeout`; failures are logged at debug level (scanners and
/// clients that distrust the certificate fail here all the time).
pub async fn handshake(
    rt: &Runtime,
    stream: TcpStream,
    timeout: Duration,
) -> Option<TlsStream<TcpStream>> {
    let acceptor = TlsAcceptor::from(rt.tls.clone());
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// Whether the client chose HTTP/2 (ALPN `h2`).
pub fn is_h2(stream: &TlsStream<TcpStream>) -> bool {
    stream.get_ref().1.alpn_protocol() == Some(b"h2")
}

/// Serves an HTTP/2 connection with hyper until it ends or `stop` fires (then in-flight
/// streams finish and the connection closes). Requests go to servers over HTTP/1.1.
pub(crate) async fn serve_h2(
    conn: Arc<Conn>,
    stream: TlsStream<TcpStream>,
    mut stop: watch::Receiver<bool>,
) {
    let svc = service_fn(move |req| {
        let c = conn.clone();
        async move { hyper_path::handle(&c.rt, &c.ep, &c.peer, req).await }
    });
    let http = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(http);
    if *stop.borrow() {
        http.as_mut().graceful_shutdown();
        let _ = http.await;
        return;
    }
    tokio::select! {
        _ = http.as_mut() => {}
        _ = stop.changed() => {
            http.as_mut().graceful_shutdown();
            let _ = http.await;
        }
    }
}
