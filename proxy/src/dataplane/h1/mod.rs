//! The fast path: plain HTTP/1.1 requests proxied by our own code instead of hyper's.
//!
//! Most requests a reverse proxy sees are alike: HTTP/1.1, a `GET` with a `Host`, no body, a
//! response with a `Content-Length` or chunked. For those, hyper's generality costs more than
//! the proxying itself: a header map built and torn down on each side, a task and a channel per
//! server connection, 16 KB of buffers per connection whether used or not. Here a request head
//! is parsed in place with httparse (the parser hyper uses), rewritten while it is copied to the
//! server, and the response head likewise; bodies are relayed as they come.
//!
//! Every request the fast path does not take ([`request::classify`]: a body, an upgrade,
//! `Expect`, HTTP/1.0, an unusual target or `Host`, a malformed or huge head) hands the
//! connection to hyper from that request on, with the framing guard in front, so those keep
//! exactly the behaviour they had. What is decided for a request is the same on both paths
//! ([`crate::dataplane::pipeline`]): rules, `Headers` ones included, route alike.

mod conn;
pub mod head;
mod prefixed;
pub mod request;
pub mod response;

pub use conn::{serve, ClientIo, Ctx, End};
pub use prefixed::Prefixed;
