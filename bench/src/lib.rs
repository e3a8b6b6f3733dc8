//! Side-by-side benchmarks of our proxy against HAProxy, nginx, Caddy and Apache httpd, on
//! loopback, with the same backends and an equivalent round-robin configuration for each.
//!
//! `bench run` measures throughput, latency, CPU and memory (interleaved rounds, medians with
//! their spread), the time from a config change to a routed request, and failed requests when a
//! backend stops; it writes a JSON of raw results, a markdown table and SVG charts into the book.
//! `bench run --tls` (also part of a full run) measures TLS termination: keep-alive requests
//! over HTTPS and new TLS handshakes per second, against HAProxy and nginx.
//! `bench soak` scales servers up and down under steady load through our proxy.

pub mod backend;
pub mod handshake;
pub mod http;
pub mod peers;
pub mod procs;
pub mod profile;
pub mod report;
pub mod soak;
pub mod stats;
pub mod suite;
pub mod svg;
pub mod tls;
pub mod tls_section;
pub mod wrk;
