//! Logging with `tracing`, filtered by `RUST_LOG` (default `info`), written to stderr so that
//! stdout carries only the `listening on` line that tools parse.
//!
//! Colours only for a person at a terminal: `docker compose logs`, pipes and files get plain
//! text, and `NO_COLOR` (<https://no-color.org>) turns them off everywhere. The three binaries
//! (static-server, jokes-api, proxy) and `lab` decide it with [`colour_on_stderr`].

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// Sets up the global subscriber. Call once, from `main`; a second call does nothing.
///
/// An invalid `RUST_LOG` falls back to `info` for the parts it cannot read, rather than failing.
pub fn init() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether log lines written to stderr may carry ANSI colour codes.
pub fn colour_on_stderr() -> bool {
    use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Colour when the stream is a terminal and `NO_COLOR` is unset or empty (as no-color.org
/// says: set to anything but the empty string, it disables colour).
pub fn use_colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_for_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, Some(OsStr::new(""))));
    }
}
