//! Connections to servers: HTTP/1.1 keep-alive connections pooled per server.
//!
//! Why not hyper-util's pooled client: it spawns a task per request to return the connection
//! to its pool, takes a global lock per checkout, and on failure it drops the request, so a
//! retry elsewhere needs a copy made in advance. Here each server keeps a small stack of idle
//! connections (a lock held for a push or a pop), a connection goes back to it when the
//! response body has been read to its end, and a request that was not written comes back to
//! the caller with the error, ready for another server.
//!
//! The stack is split by data-plane thread ([`set_thread_slot`]): a connection's task runs on
//! the runtime of the thread that opened it, so a request on another thread would wake that
//! thread for every read and write. Each thread takes only the connections it opened.
//! Connections are taken last-in first-out, so the ones at the bottom are those the current
//! concurrency does not need; [`Pool::reap`] closes those idle longer than the servers
//! transport's `idleconntimeout`, and surplus ones sooner.

use std::cell::Cell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::balance::ServerState;
use crate::dataplane::hyper_path::Body;
use crate::dataplane::limits::{KEEP_IDLE, MAX_IDLE, SURPLUS_IDLE};

/// Stacks of idle connections per server: one per data-plane thread, up to this many threads
/// (more threads share stacks).
const SLOTS: usize = 8;

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

/// Tells the pool which data-plane thread this is (`0..`); threads that never call it share
/// slot 0.
pub fn set_thread_slot(index: usize) {
    SLOT.with(|s| s.set(index % SLOTS));
}

fn slot() -> usize {
    SLOT.with(Cell::get)
}

/// A connection that can wait in a [`Pool`].
pub trait Reusable: Send {
    /// Whether the server closed it (or it can no longer carry a request).
    fn is_closed(&self) -> bool;
}

impl Reusable for SendRequest<Body> {
    fn is_closed(&self) -> bool {
        SendRequest::is_closed(self)
    }
}

/// A plain TCP connection to a server, for the fast path ([`crate::dataplane::h1`]), which writes and
/// parses HTTP/1.1 itself. Idle, it holds no buffer: a socket and nothing else.
#[derive(Debug)]
pub struct RawConn(pub TcpStream);

impl Reusable for RawConn {
    /// Costs no system call while the socket has shown no sign of life since its last read;
    /// otherwise a non-blocking read tells a closed (or misbehaving) connection from a live one.
    fn is_closed(&self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.0.poll_read_ready(&mut cx) {
            Poll::Pending => false,
            Poll::Ready(Err(_)) => true,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                !matches!(self.0.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            }
        }
    }
}

struct Idle<C> {
    conn: C,
    since: Instant,
}

/// A server's idle connections.
pub struct Pool<C = SendRequest<Body>> {
    /// Per slot: oldest at the front, most recently used at the back.
    slots: [Mutex<VecDeque<Idle<C>>>; SLOTS],
}

impl<C> Default for Pool<C> {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| Mutex::new(VecDeque::new())),
        }
    }
}

impl<C> std::fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl<C: Reusable> Pool<C> {
    fn lock(&self, slot: usize) -> std::sync::MutexGuard<'_, VecDeque<Idle<C>>> {
        self.slots[slot].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used live connection of this thread, if any.
    pub fn take(&self) -> Option<C> {
        let mut idle = self.lock(slot());
        while let Some(i) = idle.pop_back() {
            if !i.conn.is_closed() {
                return Some(i.conn);
            }
        }
        None
    }

    /// Gives a connection back after a complete exchange.
    pub fn put(&self, conn: C) {
        let mut idle = self.lock(slot());
        if idle.len() < MAX_IDLE {
            idle.push_back(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// Closes connections idle for longer than `max_idle` (and those the server closed), and,
    /// beyond [`KEEP_IDLE`] per thread, those unused for [`SURPLUS_IDLE`]. Returns how many
    /// were dropped.
    pub fn reap(&self, max_idle: Duration) -> usize {
        let now = Instant::now();
        let surplus_after = SURPLUS_IDLE.min(max_idle);
        let mut dropped = 0;
        for s in 0..SLOTS {
            let mut idle = self.lock(s);
            let before = idle.len();
            idle.retain(|i| !i.conn.is_closed());
            // Oldest first: the bottom of the stack is what the current load does not use.
            while let Some(front) = idle.front() {
                let unused = now.duration_since(front.since);
                if unused >= max_idle || (idle.len() > KEEP_IDLE && unused >= surplus_after) {
                    idle.pop_front();
                } else {
                    break;
                }
            }
            dropped += before - idle.len();
            if idle.capacity() > 2 * idle.len() + 8 {
                idle.shrink_to_fit();
            }
        }
        dropped
    }
}

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
