//! The data plane's limits, in one place: what each one bounds, and what a client sees when it
//! is exceeded. Most are hyper's defaults, so that a request is refused alike whichever path
//! reads it. A leaf module (it imports nothing of the crate): the data plane and the connection
//! pools (`balance::pool`) both read it.

use std::time::Duration;

/// Longest request target (path and query), nginx's default large buffer: a longer one gets
/// `414 URI Too Long`.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Largest total size of a request's headers (each name and value, plus 4): more gets
/// `431 Request Header Fields Too Large`.
pub const MAX_HEADERS_LEN: usize = 32 * 1024;

/// Longest request head read (hyper's read buffer): a longer one gets hyper's `431`. The fast
/// path gives a head that does not fit to hyper, which answers so.
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// Most headers in a head, as hyper allows: a request with more gets hyper's `431`; a server's
/// response with more cannot be relayed (the client gets `502`).
pub const MAX_HEADERS: usize = 100;

/// Headers the fast path reads in a request head: a request with more is served by hyper (up to
/// [`MAX_HEADERS`]); the client sees no difference.
pub const FAST_PATH_HEADERS: usize = 64;

/// Longest response head the fast path reads from a server (hyper's client's default: 8 KB plus
/// 4 KB per header): a longer one cannot be relayed (the client gets `502`).
pub const MAX_RESPONSE_HEAD: usize = 8192 + 4096 * MAX_HEADERS;

/// Request bodies up to this size are kept so a failed try can be sent to another server; a
/// larger body is streamed and gets one try (its failure is the client's `502`).
pub const REPLAY_LIMIT: u64 = 64 * 1024;

/// Bytes asked of the kernel per read of a client's requests on the fast path; a longer head
/// takes more reads (clients see nothing).
pub const READ_CHUNK: usize = 4096;

/// The buffer a response is relayed through on the fast path, allocated per request so idle
/// connections hold none; a larger body takes more reads (clients see nothing).
pub const RELAY_BUF: usize = 16 * 1024;

/// Idle connections kept per server and data-plane thread; more are closed. Above the
/// concurrency one thread sends one server in practice (the benchmark's 256 connections spread
/// over 3 servers and 2 threads use about 45), and each idle connection holds its buffers.
/// Beyond it a request opens a new connection (clients see nothing but its latency).
pub const MAX_IDLE: usize = 128;

/// Idle connections per server and thread kept for the whole `idleconntimeout`.
pub const KEEP_IDLE: usize = 8;

/// Beyond [`KEEP_IDLE`], an idle connection unused this long is closed: round robin spreads
/// every client's requests over all servers, so without this each server would keep as many
/// connections as the peak number of clients, each holding ~16 KB of buffers.
pub const SURPLUS_IDLE: Duration = Duration::from_secs(2);
