//! Connections to servers: HTTP/1.1 keep-alive connections pooled per server.
//!
//! Why not hyper-util's pooled client: it spawns a task per request to return the connection
//! to its pool, takes a global lock per checkout, and on failure it drops the request, so a
//! retry elsewhere needs a copy made in advance. Here each server keeps a small stack of idle
//! connections (a lock held for a push or a pop), a connection goes back to it when the
//! response body has been read to its end, and a request that was not written comes back to
//! the caller with the error, ready for another server.
//!
//! The stacks themselves, split by data-plane thread, are [`crate::balance::pool`]'s: each
//! server's [`ServerState`] holds them.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::balance::pool::Body;
pub use crate::balance::pool::RawConn;
use crate::balance::ServerState;

/// Why a request got no response.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be opened: the request never left; it is handed back.
    Connect(std::io::Error, Request<Body>),
    /// The connection closed before the request was written; it is handed back.
    NotSent(hyper::Error, Request<Body>),
    /// The request was (perhaps partly) written, then the exchange failed.
    Failed(hyper::Error),
}

/// Opens a TCP connection to `server` (no delay), or says why not within `dial_timeout`.
pub async fn dial(server: &ServerState, dial_timeout: Duration) -> std::io::Result<TcpStream> {
    let target = server.socket_target();
    let stream = match tokio::time::timeout(dial_timeout, TcpStream::connect(&target)).await {
        Ok(s) => s?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection to {target} within {dial_timeout:?}"),
            ))
        }
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

async fn connect(
    server: &ServerState,
    dial_timeout: Duration,
) -> std::io::Result<SendRequest<Body>> {
    let stream = dial(server, dial_timeout).await?;
    let (sr, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(sr)
}

/// Sends `req` to `server` on an idle connection or a new one.
pub async fn send(
    server: &Arc<ServerState>,
    mut req: Request<Body>,
    dial_timeout: Duration,
) -> Result<Response<PooledBody>, SendError> {
    loop {
        let (mut sr, reused) = match server.pool.take() {
            Some(sr) => (sr, true),
            // Boxed: opening a connection is rare and its future is large; inline it would
            // make every request's future (and its moves) that much larger.
            None => match Box::pin(connect(server, dial_timeout)).await {
                Ok(sr) => (sr, false),
                Err(e) => return Err(SendError::Connect(e, req)),
            },
        };
        if reused && sr.ready().await.is_err() {
            // The server closed it while idle.
            continue;
        }
        match sr.try_send_request(req).await {
            Ok(resp) => {
                let upgrade = resp.status() == http::StatusCode::SWITCHING_PROTOCOLS;
                let (parts, body) = resp.into_parts();
                let mut body = PooledBody {
                    inner: body,
                    conn: (!upgrade).then_some(sr),
                    server: server.clone(),
                };
                if body.inner.is_end_stream() {
                    body.release();
                }
                return Ok(Response::from_parts(parts, body));
            }
            Err(mut e) => match e.take_message() {
                // A reused connection that failed before writing: try another one.
                Some(r) if reused => req = r,
                Some(r) => return Err(SendError::NotSent(e.into_error(), r)),
                None => return Err(SendError::Failed(e.into_error())),
            },
        }
    }
}

/// A response body that gives its connection back to the pool once read to the end.
pub struct PooledBody {
    inner: Incoming,
    conn: Option<SendRequest<Body>>,
    server: Arc<ServerState>,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some(sr) = self.conn.take() {
            if !sr.is_closed() {
                self.server.pool.put(sr);
            }
        }
    }
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.conn = None,
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody").finish_non_exhaustive()
    }
}
