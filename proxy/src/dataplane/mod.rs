//! The data plane: what happens to a request, from the socket it arrives on to the response.
//!
//! - [`body_length`] and [`chunked`]: where a message's body ends, for the framing guard and
//!   the fast path.
//! - [`entrypoint`]: the listening sockets; each connection (after TLS, if it is TLS) starts on
//!   the fast path, or goes to hyper's HTTP/2 server.
//! - [`limits`]: every size the data plane bounds, and what a client sees beyond it.
//! - [`pipeline`]: what is decided for a request (router, middlewares, sticky pick, tries, the
//!   answer, what is recorded), the same on both paths.
//! - [`failover`]: which server a request tries next, and the 502/503/504 when none answered.
//! - [`header_policy`]: what the proxy changes in a request's headers (forwarded headers,
//!   hop-by-hop headers, its own cookies), for both paths.
//! - [`h1`]: the fast path, plain HTTP/1.1 read and written by our own code.
//! - [`hyper_path`]: every other request (bodies, upgrades, HTTP/1.0...), with hyper, behind the
//!   [`framing`] guard.
//! - [`tls`]: TLS connections told from plain ones, the handshake, HTTP/2.
//! - [`upstream`]: the pools of connections to servers.

pub mod body_length;
pub mod chunked;
pub mod entrypoint;
pub mod failover;
pub mod framing;
pub mod h1;
pub mod header_policy;
pub mod hyper_path;
pub mod pipeline;
pub mod tls;
pub mod upstream;
