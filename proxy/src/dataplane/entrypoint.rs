//! Entrypoints: the listening sockets. Each connection's first byte tells TLS from plain HTTP
//! ([`crate::dataplane::tls`]); TLS is terminated first, then HTTP/2 goes to hyper and
//! HTTP/1.1 goes where plain HTTP goes. An HTTP/1 connection starts on the fast path
//! ([`crate::dataplane::h1`]), which serves plain HTTP/1.1 requests itself; from the first request it does
//! not take, hyper's HTTP/1.1 server (keep-alive, upgrades, bodies) serves the connection with
//! the data plane as its service, its reads checked by the framing guard (requests with an
//! ambiguous body length get 400, see [`crate::dataplane::framing`]).
//!
//! Graceful shutdown: when `shutdown` fires the listener closes (no new connections), every
//! connection finishes its in-flight request and closes, and [`serve`] returns once all have,
//! or when the entrypoint's grace period has run out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::dataplane::framing::{self, Guard};
use crate::dataplane::hyper_path::{self, EntryCtx, Peer};
use crate::dataplane::{h1, tls};
use crate::limits::MAX_REQUEST_HEAD;
use crate::observe::metrics;
use crate::runtime::Runtime;

/// How long closing a TLS connection may wait for its `close_notify` to be sent.
const CLOSE_NOTIFY: Duration = Duration::from_secs(1);

/// Binds `addr` with the options a proxy wants (reuse, large backlog). `SO_REUSEPORT` too, so
/// that each data-plane thread can bind its own socket to the same address ([`bind_again`]):
/// the kernel then spreads new connections over the threads. (One socket shared by every
/// thread let the first thread to wake accept a whole burst of connections and serve nearly
/// all the load alone.)
///
/// `SO_REUSEPORT` alone would let a second proxy on the same port join the first one silently
/// (the kernel would share the connections between two programs); a first, exclusive bind
/// makes a port already in use an error, as an operator expects.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    if addr.port() != 0 {
        let probe = socket_for(addr)?;
        probe.set_reuseaddr(true)?;
        probe.bind(addr)?;
        drop(probe);
    }
    bind_shared(addr)
}

fn socket_for(addr: SocketAddr) -> std::io::Result<tokio::net::TcpSocket> {
    if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
}

fn bind_shared(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket_for(addr)?;
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Another socket on the address of a listener made by [`bind`] (its real port, when it was
/// bound to port 0), for another data-plane thread.
pub fn bind_again(first: &std::net::TcpListener) -> std::io::Result<std::net::TcpListener> {
    let addr = first.local_addr()?;
    let l = bind_shared(addr)?.into_std()?;
    Ok(l)
}

/// What every request of one client connection shares.
pub(crate) struct Conn {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) ep: Arc<EntryCtx>,
    pub(crate) peer: Peer,
}

/// Serves the data plane on `listener` until `shutdown` fires, then drains connections for at
/// most `grace`.
pub async fn serve(
    rt: Arc<Runtime>,
    ep: EntryCtx,
    listener: TcpListener,
    header_read_timeout: Duration,
    grace: Duration,
    shutdown: watch::Receiver<bool>,
) {
    serve_shared(
        rt,
        Arc::new(ep),
        listener,
        header_read_timeout,
        grace,
        shutdown,
    )
    .await
}

/// [`serve`] for one of several threads accepting on the same socket.
pub async fn serve_shared(
    rt: Arc<Runtime>,
    ep: Arc<EntryCtx>,
    listener: TcpListener,
    header_read_timeout: Duration,
    grace: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let open_gauge = rt.metrics.as_ref().map(|m| m.open_connections(&ep.name));
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(entrypoint = %ep.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let alive = alive_tx.clone();
        let open = open_gauge.as_ref().map(metrics::open);
        let mut stop = shutdown.clone();
        let (rt, ep) = (rt.clone(), ep.clone());
        tokio::spawn(async move {
            let conn = |tls| {
                Arc::new(Conn {
                    rt: rt.clone(),
                    peer: Peer::new(remote, &ep, tls),
                    ep: ep.clone(),
                })
            };
            match tls::sniff(&stream, header_read_timeout, &mut stop).await {
                Some(tls::Hello::Plain) => {
                    serve_http1(conn(false), stream, header_read_timeout, stop).await
                }
                Some(tls::Hello::Tls) => {
                    let Some(stream) = tls::handshake(&rt, stream, header_read_timeout).await
                    else {
                        return;
                    };
                    if tls::is_h2(&stream) {
                        tls::serve_h2(conn(true), stream, stop).await
                    } else {
                        serve_http1(conn(true), stream, header_read_timeout, stop).await
                    }
                }
                None => {}
            }
            drop(alive);
            drop(open);
        });
    }
    drop(listener);
    drop(alive_tx);
    if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
        tracing::warn!(entrypoint = %ep.name, "grace period over; closing remaining connections");
    }
}

/// Serves an HTTP/1 connection (plain, or TLS that chose `http/1.1`): the fast path first,
/// then hyper from the first request it does not take.
async fn serve_http1<S>(
    conn: Arc<Conn>,
    mut stream: S,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    S: h1::ClientIo + Send + 'static,
{
    let remote = conn.peer.addr;
    let prefix = if conn.rt.static_config.fast_path {
        let ctx = h1::Ctx {
            rt: &conn.rt,
            ep: &conn.ep,
            peer: &conn.peer,
            header_read_timeout,
        };
        match h1::serve(&ctx, &mut stream, &mut stop).await {
            h1::End::Closed => {
                if conn.peer.tls {
                    // close_notify: the client knows the response was not cut.
                    let _ = tokio::time::timeout(CLOSE_NOTIFY, stream.shutdown()).await;
                }
                return;
            }
            h1::End::Handoff(prefix) => prefix,
        }
    } else {
        Vec::new()
    };
    let svc = service_fn(move |req| {
        let c = conn.clone();
        async move {
            let switch = framing::may_switch(&req).then(|| req.method() == Method::CONNECT);
            let mut resp = hyper_path::handle(&c.rt, &c.ep, &c.peer, req).await?;
            if let Some(connect) = switch {
                framing::close_unless_tunnel(connect, &mut resp);
            }
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let io = Guard::new(h1::Prefixed::new(prefix, stream), remote, MAX_REQUEST_HEAD);
    let http = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(http);
    if *stop.borrow() {
        // The stop came while the fast path had this connection: finish and close.
        http.as_mut().graceful_shutdown();
        let _ = http.await;
    } else {
        tokio::select! {
            _ = http.as_mut() => {}
            _ = stop.changed() => {
                http.as_mut().graceful_shutdown();
                let _ = http.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_is_an_error_but_the_threads_share_it() {
        let first = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let again = bind(addr).expect_err("a second proxy on the same port must not join it");
        assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
        let first = first.into_std().unwrap();
        let sibling = bind_again(&first).expect("a data-plane thread shares the address");
        assert_eq!(sibling.local_addr().unwrap(), addr);
    }
}
