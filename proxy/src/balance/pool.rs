//! Each server's idle connections, kept per data-plane thread.
//!
//! A [`Pool`] sits in the server's [`super::ServerState`], so a request reaches the server's
//! idle connections in the same pointer hop that picked the server. This module knows nothing
//! else of the proxy: the data plane (`dataplane::upstream`, `dataplane::h1`) opens the
//! connections, takes them and puts them back.
//!
//! The stack is split by data-plane thread ([`set_thread_slot`]): a connection's task runs on
//! the runtime of the thread that opened it, so a request on another thread would wake that
//! thread for every read and write. Each thread takes only the connections it opened.
//! Connections are taken last-in first-out, so the ones at the bottom are those the current
//! concurrency does not need; [`Pool::reap`] closes those idle longer than the servers
//! transport's `idleconntimeout`, and surplus ones sooner.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use tokio::net::TcpStream;

use crate::limits::{KEEP_IDLE, MAX_IDLE, SURPLUS_IDLE};

/// The body of a request to a server: the client's, streamed, or buffered to be replayed.
pub type Body = Either<Incoming, Full<Bytes>>;

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

impl<B: Send> Reusable for SendRequest<B> {
    fn is_closed(&self) -> bool {
        SendRequest::is_closed(self)
    }
}

/// A plain TCP connection to a server, for the fast path (`crate::dataplane::h1`), which writes and
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
