//! The lab's test kit: what the tests of `proxy`, `static-server`, `jokes-api` and the `lab`
//! command would otherwise each write for themselves.
//!
//! - [`process`]: a program started for a test, killed when the test ends (pass or fail), with
//!   the addresses it printed and the lines it prints after them.
//! - [`listening`]: the `listening on http://ADDR` line every server prints once it listens
//!   (the proxy: `entrypoint NAME listening on http://ADDR`), so tests use port 0.
//! - [`http1`]: a raw HTTP/1 client: exactly the bytes a test wants on the wire (malformed,
//!   pipelined, half-sent), then one response at a time, framed as the standard says.
//!
//! The site's asset list is not here: `static_server::site::bundled_assets()` is the one list,
//! read from the files compiled into the server.

pub mod http1;
pub mod listening;
pub mod process;

pub use http1::Response;
pub use listening::{parse_listening, Listening};
pub use process::Running;
