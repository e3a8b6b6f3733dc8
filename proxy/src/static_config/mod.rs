//! The static configuration, from flags, environment or a file, in Traefik's spelling.
//!
//! Traefik's flags are dotted paths with user-chosen segments (`--entrypoints.web.address`),
//! which clap's derive cannot express, so this module parses them itself against a table of
//! known keys ([`KEYS`]). Accepted forms: `--a.b=v`, `--a.b v`, and a bare `--a.b` for booleans
//! (and for `--providers.docker`, `--api`, `--ping`, `--accesslog`, `--metrics.prometheus`).
//! Environment: `TRAEFIK_API_INSECURE=true` is `--api.insecure=true` (`_` separates segments).
//! A static configuration file ([`file`](mod@file)) is read into the same keys: one parser.
//!
//! Precedence, Traefik's: a file found (`--configFile`, else Traefik's default places) is the
//! whole configuration; other flags and `TRAEFIK_*` variables are ignored and, unlike in
//! Traefik, named in a warning. Without one: flag > environment > default (Traefik ignores the
//! environment once a flag is given; we merge, which `TRAEFIK_API_MANAGE_TOKEN` relies on).
//! Keys are case-insensitive, as in Traefik.
//!
//! Here: the [`StaticConfig`]; [`keys`] (the table and `--help`), [`flags`] (the command line,
//! the environment, the precedence), [`file`](mod@file) (the configuration file, read as flags),
//! [`settings`] (each key's meaning), [`entrypoints`] and [`manage`] (their own keys), and
//! [`error`].

pub mod entrypoints;
pub mod error;
pub mod file;
pub mod flags;
pub mod keys;
pub mod manage;
pub mod settings;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::rule::RuleSyntax;
use crate::provider::docker::DockerOptions;
use crate::provider::swarm::SwarmOptions;

pub use entrypoints::{parse_address, EntryPointConfig, EntryPointHttp, IpNet};
pub use error::CliError;
pub use flags::{env_settings, parse, parse_with};
pub use keys::{help, KEYS};
pub use manage::ManageOptions;

/// The name of the API's entrypoint, as in Traefik.
pub const API_ENTRYPOINT: &str = "traefik";

/// Everything fixed at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticConfig {
    /// Entrypoints by name (the API's `traefik` one included when the API is on).
    pub entrypoints: BTreeMap<String, EntryPointConfig>,
    /// `--api.insecure`: serve the API and dashboard on the `traefik` entrypoint.
    pub api: bool,
    /// `--api.dashboard` (default true): serve `/dashboard/` with the API.
    pub dashboard: bool,
    pub file: Option<FileOptions>,
    pub docker: Option<DockerOptions>,
    /// `--providers.swarm*`, or v2's `--providers.docker.swarmMode=true`.
    pub swarm: Option<SwarmOptions>,
    /// `--api.manage*`: the management UI (lab step 9), see `api::manage`.
    pub manage: Option<ManageOptions>,
    /// `--log.level`: error, warn, info, debug, trace.
    pub log_level: String,
    /// `--accesslog`: one line per request on stdout.
    pub access_log: bool,
    /// `--metrics.prometheus`: `/metrics` on the API entrypoint.
    pub metrics: bool,
    /// `--ping`: `/ping` on the API entrypoint.
    pub ping: bool,
    /// `--serverstransport.forwardingtimeouts.responseheadertimeout` (default 30s): 504 after.
    pub response_header_timeout: Duration,
    /// `--serverstransport.forwardingtimeouts.dialtimeout` (default 5s): 502 after.
    pub dial_timeout: Duration,
    /// `--serverstransport.forwardingtimeouts.idleconntimeout` (default 90s).
    pub idle_conn_timeout: Duration,
    /// Threads serving the data-plane entrypoints, each with its own single-threaded runtime
    /// (a connection, its requests and its connections to servers stay on one thread: no
    /// cross-thread wake-ups). 0 (the default, and what tests use): on the caller's runtime.
    /// The binary sets one per core (`PROXY_WORKERS` overrides).
    pub data_plane_threads: usize,
    /// Plain HTTP/1.1 requests take the fast path ([`crate::dataplane::h1`]); off, hyper serves every
    /// request. On by default; the binary turns it off with `PROXY_FAST_PATH=0` (for
    /// comparisons in the benchmark).
    pub fast_path: bool,
    /// `--core.defaultRuleSyntax`: the syntax of rules whose router sets no `ruleSyntax`.
    pub default_rule_syntax: RuleSyntax,
    /// The static configuration file read, if any (see the module's precedence).
    pub config_file: Option<PathBuf>,
    /// What the user should know about the configuration (ignored flags, say), logged by the
    /// binary once logging is set up.
    pub warnings: Vec<String>,
}

/// `--providers.file.*`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileOptions {
    pub filename: Option<String>,
    pub directory: Option<String>,
    pub watch: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<StaticConfig>),
    Help,
    Version,
}

/// `value` of `flag` as a boolean (`true`, `false`, and the spellings [`crate::parse::parse_bool`]
/// takes).
fn parse_bool(flag: &str, v: &str) -> Result<bool, CliError> {
    crate::parse::parse_bool(v).ok_or_else(|| CliError::BadValue {
        flag: flag.to_string(),
        value: v.to_string(),
        reason: "expected true or false".into(),
    })
}

#[cfg(test)]
mod tests;
