//! Logging with `tracing`, filtered by `RUST_LOG` (default `info`), written to stderr so that
//! stdout carries only the `listening on` line that tools parse.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// Sets up the global subscriber. Call once, from `main`; a second call does nothing.
///
/// An invalid `RUST_LOG` falls back to `info` for the parts it cannot read, rather than failing.
pub fn init() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    // Colours only for a person at a terminal: `docker logs` and files get plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}
