//! The static configuration, from flags, environment or a file, in Traefik's spelling.
//!
//! Traefik's flags are dotted paths with user-chosen segments (`--entrypoints.web.address`),
//! which clap's derive cannot express, so this file parses them itself against a table of
//! known keys ([`KEYS`]). Accepted forms: `--a.b=v`, `--a.b v`, and a bare `--a.b` for booleans
//! (and for `--providers.docker`, `--api`, `--ping`, `--accesslog`, `--metrics.prometheus`).
//! Environment: `TRAEFIK_API_INSECURE=true` is `--api.insecure=true` (`_` separates segments).
//! A static configuration file ([`crate::static_file`]) is read into the same keys: one parser.
//!
//! Precedence, Traefik's: a file found (`--configFile`, else Traefik's default places) is the
//! whole configuration; other flags and `TRAEFIK_*` variables are ignored and, unlike in
//! Traefik, named in a warning. Without one: flag > environment > default (Traefik ignores the
//! environment once a flag is given; we merge, which `TRAEFIK_API_MANAGE_TOKEN` relies on).
//! Keys are case-insensitive, as in Traefik.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::duration_str;
use crate::config::rule::RuleSyntax;
pub use crate::entrypoint_http::EntryPointHttp;
pub use crate::parse::IpNet;
use crate::provider::docker::DockerOptions;
use crate::provider::swarm::SwarmOptions;
use crate::static_file::{self, Search};

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
    pub manage: Option<crate::api::manage::ManageOptions>,
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

#[derive(Debug, Clone, PartialEq)]
pub struct EntryPointConfig {
    /// As written (`:80`), for the API.
    pub address: String,
    pub socket: SocketAddr,
    /// `forwardedheaders.insecure`: trust X-Forwarded-* from every client.
    pub trust_all_forwarded: bool,
    /// `forwardedheaders.trustedips`: trust X-Forwarded-* from these clients.
    pub trusted_ips: Vec<IpNet>,
    /// `transport.respondingtimeouts.readtimeout` (default 10s here): a client must send its
    /// headers within this time.
    pub header_read_timeout: Duration,
    /// `transport.lifecycle.gracetimeout` (default 10s): in-flight requests get this long at
    /// shutdown.
    pub grace_timeout: Duration,
    /// `http.tls` and `http.redirections.entrypoint.*`.
    pub http: EntryPointHttp,
}

/// A flag or environment variable that cannot be used; the message says which and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown flag `{0}`{hint}; run with --help to see the supported flags", hint = did_you_mean(.0))]
    Unknown(String),
    /// A key of the configuration file that no flag has.
    #[error("unknown key `{0}`{hint}; the file takes the flags' keys (run with --help), in any case", hint = did_you_mean(.0))]
    UnknownKey(String),
    /// The configuration file cannot be found or read.
    #[error("{0}")]
    ConfigFile(String),
    /// A problem with a setting from the configuration file.
    #[error("{file}{}: {error}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    InFile {
        file: String,
        line: Option<usize>,
        error: Box<CliError>,
    },
    #[error("flag `{flag}` needs a value, like `{flag}=VALUE`")]
    MissingValue { flag: String },
    #[error("bad value `{value}` for `{flag}`: {reason}")]
    BadValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error("unexpected argument `{0}`; flags look like `--entrypoints.web.address=:80`")]
    Stray(String),
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<StaticConfig>),
    Help,
    Version,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
}

/// The known keys, `*` standing for an entrypoint name, with a one-line help.
pub const KEYS: &[(&str, &str)] = &[
    (
        "configfile",
        "a static configuration file, YAML or TOML (traefik.yaml); flags and TRAEFIK_* variables are then ignored",
    ),
    (
        "entrypoints.*.address",
        "address to listen on, e.g. `:80` or `127.0.0.1:0`",
    ),
    (
        "entrypoints.*.forwardedheaders.insecure",
        "trust X-Forwarded-* from every client",
    ),
    (
        "entrypoints.*.forwardedheaders.trustedips",
        "comma-separated IPs/CIDRs whose X-Forwarded-* are kept",
    ),
    (
        "entrypoints.*.transport.respondingtimeouts.readtimeout",
        "time a client has to send its headers (10s)",
    ),
    (
        "entrypoints.*.transport.lifecycle.gracetimeout",
        "time in-flight requests get at shutdown (10s)",
    ),
    (
        "entrypoints.*.http.tls",
        "every router on this entrypoint serves TLS, as with tls=true",
    ),
    (
        "entrypoints.*.http.tls.certresolver",
        "accepted for compatibility (no ACME; certificates come from files); implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.options",
        "accepted for compatibility; implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.domains[n].main",
        "accepted for compatibility (ACME's certificate names; certificates come from files); implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.domains[n].sans",
        "accepted for compatibility (ACME's other names, comma-separated); implies http.tls",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.to",
        "redirect every request to this entrypoint (e.g. websecure) or port (:443)",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.scheme",
        "the redirect's scheme (https)",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.permanent",
        "301/308 when true (the default), 302/307 when false",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.priority",
        "accepted for compatibility; the redirect comes before every router",
    ),
    (
        "api",
        "enable the API (with --api.insecure, on the `traefik` entrypoint, :8080)",
    ),
    (
        "api.insecure",
        "serve the API and dashboard on the `traefik` entrypoint",
    ),
    ("api.dashboard", "serve the dashboard with the API (true)"),
    ("api.debug", "accepted for compatibility; no effect"),
    (
        "api.manage",
        "serve the management UI at /manage/ (needs a token, --api.insecure, --providers.docker)",
    ),
    (
        "api.manage.token",
        "the management UI's token (non-empty: UI on); or the LAB_MANAGE_TOKEN environment variable",
    ),
    (
        "api.manage.tokenfile",
        "read the management UI's token from a file",
    ),
    (
        "providers.file.filename",
        "a YAML or TOML file of dynamic configuration",
    ),
    ("providers.file.directory", "a directory of such files"),
    (
        "providers.file.watch",
        "reload the file(s) when they change",
    ),
    ("providers.docker", "enable the Docker provider"),
    (
        "providers.docker.endpoint",
        "Docker engine endpoint (unix:///var/run/docker.sock)",
    ),
    (
        "providers.docker.exposedbydefault",
        "route containers without traefik.enable=true (true)",
    ),
    (
        "providers.docker.network",
        "network used to reach containers",
    ),
    (
        "providers.docker.watch",
        "accepted for compatibility; always watching",
    ),
    (
        "providers.docker.swarmmode",
        "Traefik v2's swarm mode: the Docker flags read Swarm services (as --providers.swarm)",
    ),
    (
        "providers.docker.swarmmoderefreshseconds",
        "with swarmMode: poll at least this often (15s)",
    ),
    ("providers.swarm", "enable the Swarm provider (services' deploy.labels)"),
    (
        "providers.swarm.endpoint",
        "a Swarm manager's engine (unix:///var/run/docker.sock)",
    ),
    (
        "providers.swarm.exposedbydefault",
        "route services without traefik.enable=true (true)",
    ),
    ("providers.swarm.network", "network used to reach the tasks"),
    (
        "providers.swarm.refreshseconds",
        "poll at least this often (15s; changes are followed from events anyway)",
    ),
    (
        "providers.swarm.defaultrule",
        "rule of routers without one (Host(`{{ normalize .Name }}`))",
    ),
    (
        "providers.swarm.watch",
        "accepted for compatibility; always watching",
    ),
    (
        "providers.providersthrottleduration",
        "accepted for compatibility; changes apply at once",
    ),
    (
        "core.defaultrulesyntax",
        "the rule syntax of routers without ruleSyntax: v3 (the default) or v2",
    ),
    ("log.level", "error, warn, info, debug or trace (info)"),
    ("accesslog", "one line per request on stdout"),
    ("metrics.prometheus", "serve /metrics on the API entrypoint"),
    ("ping", "serve /ping on the API entrypoint"),
    (
        "serverstransport.forwardingtimeouts.responseheadertimeout",
        "504 when a server sends no response headers within this time (30s)",
    ),
    (
        "serverstransport.forwardingtimeouts.dialtimeout",
        "502 when a server does not accept a connection within this time (5s)",
    ),
    (
        "serverstransport.forwardingtimeouts.idleconntimeout",
        "how long idle connections to servers are kept (90s)",
    ),
    (
        "global.checknewversion",
        "accepted for compatibility; no effect",
    ),
    (
        "global.sendanonymoususage",
        "accepted for compatibility; no effect",
    ),
];

fn kind_of(key: &str) -> Option<Kind> {
    const BOOLS: &[&str] = &[
        "entrypoints.*.forwardedheaders.insecure",
        "entrypoints.*.http.tls",
        "entrypoints.*.http.redirections.entrypoint.permanent",
        "api",
        "api.insecure",
        "api.dashboard",
        "api.debug",
        "api.manage",
        "providers.file.watch",
        "providers.docker",
        "providers.docker.exposedbydefault",
        "providers.docker.watch",
        "providers.docker.swarmmode",
        "providers.swarm",
        "providers.swarm.exposedbydefault",
        "providers.swarm.watch",
        "accesslog",
        "metrics.prometheus",
        "ping",
        "global.checknewversion",
        "global.sendanonymoususage",
    ];
    let pattern = pattern_of(key)?;
    Some(if BOOLS.contains(&pattern.as_str()) {
        Kind::Bool
    } else {
        Kind::Value
    })
}

/// Whether `key` (lower case) is an on/off switch, like `--ping` or `--providers.docker`.
pub(crate) fn is_switch(key: &str) -> bool {
    kind_of(key) == Some(Kind::Bool)
}

/// Whether `key` (lower case) is one of [`KEYS`].
pub(crate) fn is_key(key: &str) -> bool {
    pattern_of(key).is_some()
}

/// ` (did you mean `--api.insecure`?)` for a flag, variable or file key close to a known key,
/// written the same way; else nothing.
fn did_you_mean(written: &str) -> String {
    let (prefix, key) = if let Some(k) = written.strip_prefix("--") {
        ("--", k.to_ascii_lowercase())
    } else if let Some(v) = written.strip_prefix("TRAEFIK_") {
        let v = v.split(' ').next().unwrap_or(v);
        ("TRAEFIK_", v.to_ascii_lowercase().replace('_', "."))
    } else {
        ("", written.to_ascii_lowercase())
    };
    let name = key
        .strip_prefix("entrypoints.")
        .and_then(|r| r.split_once('.'))
        .map(|(n, _)| n);
    let known = KEYS
        .iter()
        .map(|(k, _)| k.replace('*', name.unwrap_or("*")));
    match crate::parse::closest(&key, known) {
        Some(k) if prefix == "TRAEFIK_" => format!(
            " (did you mean `TRAEFIK_{}`?)",
            k.replace('.', "_").to_ascii_uppercase()
        ),
        Some(k) => format!(" (did you mean `{prefix}{k}`?)"),
        None => String::new(),
    }
}

/// The table pattern a key matches (`entrypoints.web.address` -> `entrypoints.*.address`; an
/// index, `domains[0]` or the environment's `domains.0`, -> `domains[n]`).
fn pattern_of(key: &str) -> Option<String> {
    let pattern = match key.strip_prefix("entrypoints.") {
        Some(rest) => {
            let (name, tail) = rest.split_once('.')?;
            if name.is_empty() {
                return None;
            }
            format!("entrypoints.*.{}", indexes_as_n(tail))
        }
        None => key.to_string(),
    };
    KEYS.iter().any(|(k, _)| *k == pattern).then_some(pattern)
}

/// `tls.domains[0].main` and `tls.domains.0.main` -> `tls.domains[n].main`.
fn indexes_as_n(tail: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for segment in tail.split('.') {
        let index = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match segment.split_once('[') {
            Some((word, rest)) if rest.strip_suffix(']').is_some_and(index) => {
                out.push(format!("{word}[n]"))
            }
            _ if index(segment) && !out.is_empty() => {
                let last = out.last_mut().expect("checked");
                last.push_str("[n]");
            }
            _ => out.push(segment.to_string()),
        }
    }
    out.join(".")
}

fn parse_bool(flag: &str, v: &str) -> Result<bool, CliError> {
    crate::parse::parse_bool(v).ok_or_else(|| CliError::BadValue {
        flag: flag.to_string(),
        value: v.to_string(),
        reason: "expected true or false".into(),
    })
}

/// Parses an address like Traefik: `:80` means every interface.
pub fn parse_address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let s = s.strip_suffix("/tcp").unwrap_or(s);
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{s}` has a bad port; write it like `:80`"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("`{s}` has a bad port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse()
        .map_err(|_| format!("`{s}` is not an address; write it like `:80` or `127.0.0.1:8080`"))
}

/// Reads `TRAEFIK_*` variables as `(flag, value)` pairs.
pub fn env_settings(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.filter_map(|(k, v)| {
        let rest = k.strip_prefix("TRAEFIK_")?;
        Some((rest.to_ascii_lowercase().replace('_', "."), v))
    })
    .collect()
}

/// Parses the arguments (without the program name) and `TRAEFIK_*` environment settings,
/// looking for a configuration file where Traefik does ([`Search::traefik`]).
pub fn parse(args: &[String], env: &[(String, String)]) -> Result<Command, CliError> {
    parse_with(args, env, &Search::traefik())
}

/// [`parse`], looking for a configuration file in `search` when no `--configFile` names one.
pub fn parse_with(
    args: &[String],
    env: &[(String, String)],
    search: &Search,
) -> Result<Command, CliError> {
    let mut flags: Vec<(String, String, String)> = Vec::new(); // (key, value, as written)
    let mut config_file = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "-V" | "--version" | "version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(CliError::Stray(arg.clone()));
        };
        let (key, inline) = match body.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (body.to_ascii_lowercase(), None),
        };
        let flag = format!("--{key}");
        let kind = kind_of(&key).ok_or_else(|| CliError::Unknown(flag.clone()))?;
        let value = match (inline, kind) {
            (Some(v), _) => v,
            (None, Kind::Bool) => match args.get(i) {
                Some(next) if parse_bool(&flag, next).is_ok() => {
                    i += 1;
                    next.clone()
                }
                _ => "true".to_string(),
            },
            (None, Kind::Value) => match args.get(i) {
                Some(next) if !next.starts_with("--") => {
                    i += 1;
                    next.clone()
                }
                _ => return Err(CliError::MissingValue { flag }),
            },
        };
        if key == "configfile" {
            config_file = Some(value);
        } else {
            flags.push((key, value, flag));
        }
    }
    let found =
        static_file::locate(config_file.as_deref(), search).map_err(CliError::ConfigFile)?;
    let cfg = match found {
        Some(path) => from_file(&path, config_file.is_some(), &flags, env)?,
        None => {
            let mut settings = env_checked(env)?;
            settings.extend(flags);
            build(settings)?
        }
    };
    Ok(Command::Run(Box::new(cfg)))
}

/// The environment's settings, each checked against [`KEYS`].
fn env_checked(env: &[(String, String)]) -> Result<Vec<(String, String, String)>, CliError> {
    let mut settings = Vec::new();
    for (k, v) in env {
        let var = format!("TRAEFIK_{}", k.replace('.', "_").to_ascii_uppercase());
        if k == "configfile" {
            return Err(CliError::BadValue {
                flag: var,
                value: v.clone(),
                reason:
                    "name the file with --configFile (Traefik reads it only from the command line)"
                        .into(),
            });
        }
        if pattern_of(k).is_none() {
            return Err(CliError::Unknown(format!("{var} (environment)")));
        }
        settings.push((k.clone(), v.clone(), var));
    }
    Ok(settings)
}

/// The configuration from the file at `path` (named by `--configFile` when `named`); `flags`
/// and `env` are ignored, and named in a warning.
fn from_file(
    path: &std::path::Path,
    named: bool,
    flags: &[(String, String, String)],
    env: &[(String, String)],
) -> Result<StaticConfig, CliError> {
    let shown = path.display();
    let file = static_file::Loaded::read(path)?;
    let mut cfg = build(file.settings()).map_err(|e| file.place(e))?;
    let found = if named {
        String::new()
    } else {
        " (found without --configFile, in one of Traefik's default places)".into()
    };
    let why = format!(
        "the static configuration comes from {shown}{found}, and Traefik reads one source only \
         (a file, else flags, else TRAEFIK_* variables); move them into the file"
    );
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(|(_, _, f)| f.as_str()).collect();
        cfg.warnings
            .push(format!("flags ignored: {}: {why}", names.join(", ")));
    }
    if !env.is_empty() {
        let names: Vec<String> = env
            .iter()
            .map(|(k, _)| format!("TRAEFIK_{}", k.replace('.', "_").to_ascii_uppercase()))
            .collect();
        cfg.warnings.push(format!(
            "environment variables ignored: {}: {why}",
            names.join(", ")
        ));
    }
    cfg.config_file = Some(path.to_path_buf());
    Ok(cfg)
}

fn build(settings: Vec<(String, String, String)>) -> Result<StaticConfig, CliError> {
    let mut cfg = StaticConfig {
        entrypoints: BTreeMap::new(),
        api: false,
        dashboard: true,
        file: None,
        docker: None,
        swarm: None,
        manage: None,
        log_level: "info".into(),
        access_log: false,
        metrics: false,
        ping: false,
        response_header_timeout: Duration::from_secs(30),
        dial_timeout: Duration::from_secs(5),
        idle_conn_timeout: Duration::from_secs(90),
        data_plane_threads: 0,
        fast_path: true,
        default_rule_syntax: RuleSyntax::default(),
        config_file: None,
        warnings: Vec::new(),
    };
    let mut api_enabled = false;
    let mut api_insecure = false;
    // v2's `--providers.docker.swarmMode` and its refresh, applied once all flags are read.
    let mut docker_swarm_mode = false;
    let mut docker_swarm_refresh = None;
    let mut manage = crate::api::manage::ManageFlags::default();
    // Raw per-entrypoint settings, applied once all are known.
    let mut eps: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for (key, value, flag) in settings {
        let bad = |reason: String| CliError::BadValue {
            flag: flag.clone(),
            value: value.clone(),
            reason,
        };
        let boolean = || parse_bool(&flag, &value);
        let duration = || duration_str::parse(&value).map_err(bad);
        if let Some(rest) = key.strip_prefix("entrypoints.") {
            let (name, tail) = rest.split_once('.').expect("checked by kind_of");
            eps.entry(name.to_string())
                .or_default()
                .insert(tail.to_string(), (value.clone(), flag.clone()));
            continue;
        }
        match key.as_str() {
            "api" => api_enabled = boolean()?,
            "api.insecure" => api_insecure = boolean()?,
            "api.dashboard" => cfg.dashboard = boolean()?,
            "api.manage" => manage.enabled = Some(boolean()?),
            "api.manage.token" => manage.token = Some(value.clone()),
            "api.manage.tokenfile" => manage.token_file = Some(value.clone()),
            "providers.file.filename" => {
                cfg.file.get_or_insert_with(Default::default).filename = Some(value.clone())
            }
            "providers.file.directory" => {
                cfg.file.get_or_insert_with(Default::default).directory = Some(value.clone())
            }
            "providers.file.watch" => {
                cfg.file.get_or_insert_with(Default::default).watch = boolean()?
            }
            "providers.docker" => {
                if boolean()? {
                    cfg.docker.get_or_insert_with(Default::default);
                } else {
                    cfg.docker = None;
                }
            }
            "providers.docker.endpoint" => {
                cfg.docker.get_or_insert_with(Default::default).endpoint = Some(value.clone())
            }
            "providers.docker.exposedbydefault" => {
                let b = boolean()?;
                cfg.docker
                    .get_or_insert_with(Default::default)
                    .exposed_by_default = b
            }
            "providers.docker.network" => {
                cfg.docker.get_or_insert_with(Default::default).network = Some(value.clone())
            }
            "providers.docker.swarmmode" => docker_swarm_mode = boolean()?,
            "providers.docker.swarmmoderefreshseconds" => {
                docker_swarm_refresh =
                    Some(crate::provider::swarm::parse_refresh(&value).map_err(bad)?)
            }
            "providers.swarm" => {
                if boolean()? {
                    cfg.swarm.get_or_insert_with(Default::default);
                } else {
                    cfg.swarm = None;
                }
            }
            "providers.swarm.exposedbydefault" => {
                let b = boolean()?;
                cfg.swarm
                    .get_or_insert_with(Default::default)
                    .exposed_by_default = b
            }
            swarm if swarm.starts_with("providers.swarm.") && swarm != "providers.swarm.watch" => {
                cfg.swarm
                    .get_or_insert_with(Default::default)
                    .set(&swarm["providers.swarm.".len()..], &value)
                    .map_err(bad)?
            }
            "core.defaultrulesyntax" => {
                cfg.default_rule_syntax = RuleSyntax::parse(&value).map_err(bad)?
            }
            "log.level" => {
                let l = value.to_ascii_lowercase();
                if !["error", "warn", "info", "debug", "trace", "fatal", "panic"]
                    .contains(&l.as_str())
                {
                    return Err(bad("use error, warn, info, debug or trace".into()));
                }
                cfg.log_level = match l.as_str() {
                    "fatal" | "panic" => "error".into(),
                    _ => l,
                };
            }
            "accesslog" => cfg.access_log = boolean()?,
            "metrics.prometheus" => cfg.metrics = boolean()?,
            "ping" => cfg.ping = boolean()?,
            "serverstransport.forwardingtimeouts.responseheadertimeout" => {
                cfg.response_header_timeout = duration()?
            }
            "serverstransport.forwardingtimeouts.dialtimeout" => cfg.dial_timeout = duration()?,
            "serverstransport.forwardingtimeouts.idleconntimeout" => {
                cfg.idle_conn_timeout = duration()?
            }
            "api.debug"
            | "providers.docker.watch"
            | "providers.swarm.watch"
            | "providers.providersthrottleduration"
            | "configfile"
            | "global.checknewversion"
            | "global.sendanonymoususage" => {}
            other => unreachable!("key `{other}` is in KEYS but not handled"),
        }
    }
    if let Some(f) = &cfg.file {
        match (&f.filename, &f.directory) {
            (Some(_), Some(_)) => return Err(CliError::BadValue {
                flag: "--providers.file.directory".into(),
                value: f.directory.clone().unwrap_or_default(),
                reason:
                    "set either --providers.file.filename or --providers.file.directory, not both"
                        .into(),
            }),
            (None, None) => {
                return Err(CliError::MissingValue {
                    flag: "--providers.file.filename".into(),
                })
            }
            _ => {}
        }
    }
    if docker_swarm_mode {
        // v2: the Docker provider in swarm mode reads services instead of containers.
        let docker = cfg.docker.take().unwrap_or_default();
        if cfg.swarm.is_some() {
            return Err(CliError::BadValue {
                flag: "--providers.docker.swarmMode".into(),
                value: "true".into(),
                reason: "--providers.swarm is set too; use one of them (--providers.swarm is \
                         Traefik v3's name)"
                    .into(),
            });
        }
        cfg.swarm = Some(SwarmOptions::from_docker(docker, docker_swarm_refresh));
    }
    // Traefik: `--api.insecure` alone turns the API on.
    cfg.api = api_insecure;
    cfg.manage = manage
        .resolve(
            cfg.api,
            cfg.docker.is_some(),
            std::env::var("LAB_MANAGE_TOKEN").ok(),
            |f| std::fs::read_to_string(f),
        )
        .map_err(|reason| CliError::BadValue {
            flag: "--api.manage".into(),
            value: "true".into(),
            reason,
        })?;
    if api_enabled && !api_insecure {
        cfg.warnings.push("--api without --api.insecure: the API is only served with --api.insecure=true (there is no secure router for it here)".into());
    }
    if (cfg.api || cfg.metrics || cfg.ping) && !eps.contains_key(API_ENTRYPOINT) {
        eps.entry(API_ENTRYPOINT.into())
            .or_default()
            .insert("address".into(), (":8080".into(), "default".into()));
    }
    if eps.keys().all(|k| k == API_ENTRYPOINT) {
        // Traefik's default entrypoint when none is configured.
        eps.entry("http".into())
            .or_default()
            .insert("address".into(), (":80".into(), "default".into()));
    }
    for (name, settings) in eps {
        let (address, flag) =
            settings
                .get("address")
                .cloned()
                .ok_or_else(|| CliError::MissingValue {
                    flag: format!("--entrypoints.{name}.address"),
                })?;
        let bad = |flag: &str, value: &str, reason: String| CliError::BadValue {
            flag: flag.to_string(),
            value: value.to_string(),
            reason,
        };
        let socket = parse_address(&address).map_err(|r| bad(&flag, &address, r))?;
        let mut ep = EntryPointConfig {
            address: address.clone(),
            socket,
            trust_all_forwarded: false,
            trusted_ips: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            grace_timeout: Duration::from_secs(10),
            http: EntryPointHttp::default(),
        };
        for (tail, (value, flag)) in &settings {
            match tail.as_str() {
                "address" => {}
                "forwardedheaders.insecure" => ep.trust_all_forwarded = parse_bool(flag, value)?,
                "forwardedheaders.trustedips" => {
                    ep.trusted_ips = value
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(IpNet::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|r| bad(flag, value, r))?
                }
                "transport.respondingtimeouts.readtimeout" => {
                    ep.header_read_timeout =
                        duration_str::parse(value).map_err(|r| bad(flag, value, r))?
                }
                "transport.lifecycle.gracetimeout" => {
                    ep.grace_timeout =
                        duration_str::parse(value).map_err(|r| bad(flag, value, r))?
                }
                http if http.starts_with("http.") => ep
                    .http
                    .set(&http["http.".len()..], value)
                    .map_err(|r| bad(flag, value, r.to_string()))?,
                other => unreachable!("entrypoint key `{other}` is in KEYS but not handled"),
            }
        }
        cfg.entrypoints.insert(name, ep);
    }
    let names: Vec<&String> = cfg.entrypoints.keys().collect();
    for (name, ep) in &cfg.entrypoints {
        ep.http.check(&names).map_err(|reason| CliError::BadValue {
            flag: format!("--entrypoints.{name}.http.redirections.entrypoint.to"),
            value: ep
                .http
                .redirect
                .as_ref()
                .map_or(String::new(), |r| r.to.clone()),
            reason,
        })?;
    }
    Ok(cfg)
}

/// The `--help` text.
pub fn help() -> String {
    let mut s = String::from(
        "proxy: a reverse proxy that reads Traefik v2's labels and file format\n\n\
         Usage: proxy [--key=value | --key value | --flag]...\n\
         Every flag can also be set as TRAEFIK_<KEY> with `_` for `.` (TRAEFIK_API_INSECURE=true),\n\
         or in a static configuration file (--configFile=traefik.yaml, or traefik.yml/.toml in\n\
         /etc/traefik/, $XDG_CONFIG_HOME/, $HOME/.config/ or the working directory), where\n\
         `entryPoints: {web: {address: \":80\"}}` is --entrypoints.web.address=:80. A file, when\n\
         found, is the whole configuration: flags and TRAEFIK_* variables are then ignored.\n\
         On start, each entrypoint prints `entrypoint NAME listening on http://ADDR` on stdout\n\
         (https:// for one with http.tls).\n\nFlags:\n",
    );
    for (k, h) in KEYS {
        s.push_str(&format!("  --{:<60} {h}\n", k.replace('*', "<name>")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<StaticConfig, CliError> {
        run_env(args, &[])
    }

    fn run_env(args: &[&str], env: &[(&str, &str)]) -> Result<StaticConfig, CliError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env = env_settings(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        match parse_with(&args, &env, &Search::nowhere())? {
            Command::Run(c) => Ok(*c),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reads_the_lab_compose_flags() {
        let c = run(&[
            "--api.insecure=true",
            "--providers.docker",
            "--entrypoints.web.address=:80",
            "--providers.docker.exposedbydefault=false",
        ])
        .unwrap();
        assert!(c.api);
        assert_eq!(c.entrypoints["web"].socket, "0.0.0.0:80".parse().unwrap());
        assert_eq!(
            c.entrypoints["traefik"].socket,
            "0.0.0.0:8080".parse().unwrap()
        );
        let d = c.docker.unwrap();
        assert!(!d.exposed_by_default);
    }

    #[test]
    fn values_may_follow_as_separate_arguments() {
        let c = run(&[
            "--entrypoints.web.address",
            "127.0.0.1:0",
            "--api.insecure",
            "--accesslog",
            "false",
            "--providers.file.filename",
            "/tmp/x.yml",
            "--providers.file.watch",
        ])
        .unwrap();
        assert_eq!(c.entrypoints["web"].socket, "127.0.0.1:0".parse().unwrap());
        assert!(c.api && !c.access_log);
        let f = c.file.unwrap();
        assert_eq!(f.filename.as_deref(), Some("/tmp/x.yml"));
        assert!(f.watch);
    }

    #[test]
    fn unknown_flags_are_named() {
        let e = run(&["--entrypoints.web.address=:80", "--api.insecur=true"]).unwrap_err();
        assert_eq!(e, CliError::Unknown("--api.insecur".into()));
        assert!(e.to_string().contains("--api.insecur"));
        assert!(matches!(
            run(&["--entrypoints.web.port=1"]),
            Err(CliError::Unknown(_))
        ));
        assert!(matches!(run(&["stray"]), Err(CliError::Stray(_))));
        assert!(matches!(
            run(&["--log.level"]),
            Err(CliError::MissingValue { .. })
        ));
        assert!(matches!(
            run(&["--entrypoints.web.address=nope"]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            run(&["--api.insecure=maybe"]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            run(&["--providers.file.watch"]),
            Err(CliError::MissingValue { .. })
        ));
        assert!(matches!(
            run(&[
                "--providers.file.filename=a",
                "--providers.file.directory=b"
            ]),
            Err(CliError::BadValue { .. })
        ));
    }

    #[test]
    fn environment_applies_and_flags_win() {
        let c = run_env(
            &["--log.level=debug"],
            &[
                ("TRAEFIK_API_INSECURE", "true"),
                ("TRAEFIK_LOG_LEVEL", "warn"),
                ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":8000"),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        assert!(c.api);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.entrypoints["web"].socket.port(), 8000);
        assert!(matches!(
            run_env(&[], &[("TRAEFIK_NOPE", "1")]),
            Err(CliError::Unknown(_))
        ));
    }

    #[test]
    fn defaults_follow_traefik() {
        let c = run(&[]).unwrap();
        assert!(!c.api);
        assert_eq!(c.entrypoints.len(), 1);
        assert_eq!(c.entrypoints["http"].socket.port(), 80);
        let c = run(&[
            "--API.Insecure",
            "--entrypoints.traefik.address=127.0.0.1:0",
        ])
        .unwrap();
        assert!(c.api);
        assert_eq!(c.entrypoints["traefik"].socket.port(), 0);
    }

    #[test]
    fn trusted_ips_and_timeouts() {
        let c = run(&[
            "--entrypoints.web.address=:80",
            "--entrypoints.web.forwardedheaders.trustedips=10.0.0.0/8,127.0.0.1",
            "--entrypoints.web.transport.lifecycle.gracetimeout=2s",
            "--serverstransport.forwardingtimeouts.responseheadertimeout=250ms",
        ])
        .unwrap();
        let ep = &c.entrypoints["web"];
        assert!(ep.trusted_ips[0].contains("10.1.2.3".parse().unwrap()));
        assert!(!ep.trusted_ips[0].contains("11.1.2.3".parse().unwrap()));
        assert!(ep.trusted_ips[1].contains("::ffff:127.0.0.1".parse().unwrap()));
        assert_eq!(ep.grace_timeout, Duration::from_secs(2));
        assert_eq!(c.response_header_timeout, Duration::from_millis(250));
    }

    #[test]
    fn swarm_flags_of_traefik_v3_and_v2() {
        let c = run(&[
            "--providers.swarm",
            "--providers.swarm.endpoint=tcp://127.0.0.1:2375",
            "--providers.swarm.network=servers1_default",
            "--providers.swarm.exposedByDefault=false",
            "--providers.swarm.refreshSeconds=5",
            "--providers.swarm.defaultRule=Host(`{{ normalize .Name }}.lab`)",
        ])
        .unwrap();
        let s = c.swarm.unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("tcp://127.0.0.1:2375"));
        assert_eq!(s.network.as_deref(), Some("servers1_default"));
        assert!(!s.exposed_by_default);
        assert_eq!(s.refresh, Duration::from_secs(5));
        assert_eq!(s.provider_name, "swarm");
        assert!(c.docker.is_none());

        // v2: the Docker provider's flags, in swarm mode; elements stay `@docker`.
        let c = run(&[
            "--providers.docker",
            "--providers.docker.swarmMode=true",
            "--providers.docker.network=net",
            "--providers.docker.swarmModeRefreshSeconds=2s",
        ])
        .unwrap();
        assert!(c.docker.is_none(), "no container provider in swarm mode");
        let s = c.swarm.unwrap();
        assert_eq!(s.provider_name, "docker");
        assert_eq!(s.network.as_deref(), Some("net"));
        assert_eq!(s.refresh, Duration::from_secs(2));

        assert!(matches!(
            run(&["--providers.swarm.defaultRule=Host(`{{ .Labels }}`)"]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            run(&["--providers.swarm", "--providers.docker.swarmMode"]),
            Err(CliError::BadValue { .. })
        ));
    }

    /// Writes `text` as `name` in a new directory and parses `args` (and `env`) with only
    /// that directory searched (as Traefik searches its default places).
    fn with_file(
        name: &str,
        text: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<StaticConfig, CliError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", dir.path().to_str().unwrap()))
            .collect();
        let env = env_settings(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let search = Search {
            dirs: vec![dir.path().to_path_buf()],
        };
        let r = parse_with(&args, &env, &search).map(|c| match c {
            Command::Run(c) => *c,
            other => panic!("unexpected {other:?}"),
        });
        (dir, r)
    }

    const LAB_2023: &str = r#"
providers:
  docker:
    exposedByDefault: false
  file:
    filename: /etc/traefik/dynamic.yaml
entryPoints:
  http:
    address: ":80"
  https:
    address: ":443"
    forwardedHeaders:
      trustedIPs: ["10.0.0.0/8", "127.0.0.1"]
api:
  dashboard: true
  insecure: true
log:
  level: DEBUG
accessLog: {}
metrics:
  prometheus: {}
"#;

    #[test]
    fn the_file_holds_what_the_flags_hold() {
        let (dir, c) = with_file(
            "traefik.yaml",
            LAB_2023,
            &["--configFile={dir}/traefik.yaml"],
            &[],
        );
        let c = c.unwrap();
        assert_eq!(c.config_file, Some(dir.path().join("traefik.yaml")));
        let d = c.docker.as_ref().unwrap();
        assert!(!d.exposed_by_default);
        assert_eq!(
            c.file.as_ref().unwrap().filename.as_deref(),
            Some("/etc/traefik/dynamic.yaml")
        );
        assert_eq!(c.entrypoints["http"].socket.port(), 80);
        assert_eq!(c.entrypoints["https"].socket.port(), 443);
        assert_eq!(c.entrypoints["https"].trusted_ips.len(), 2);
        assert_eq!(c.entrypoints["traefik"].socket.port(), 8080);
        assert!(c.api && c.dashboard && c.access_log && c.metrics && !c.ping);
        assert_eq!(c.log_level, "debug");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        // The same settings as flags give the same configuration.
        let flags = run(&[
            "--providers.docker.exposedByDefault=false",
            "--providers.file.filename=/etc/traefik/dynamic.yaml",
            "--entrypoints.http.address=:80",
            "--entrypoints.https.address=:443",
            "--entrypoints.https.forwardedHeaders.trustedIPs=10.0.0.0/8,127.0.0.1",
            "--api.dashboard=true",
            "--api.insecure=true",
            "--log.level=DEBUG",
            "--accesslog",
            "--metrics.prometheus",
        ])
        .unwrap();
        assert_eq!(
            StaticConfig {
                config_file: None,
                ..c
            },
            flags
        );
    }

    #[test]
    fn toml_and_our_own_keys_work_in_the_file() {
        let text = "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[api]\ninsecure = true\n[api.manage]\ntoken = \"0123456789abcdef\"\n[providers.docker]\n[ping]\n";
        let (_dir, c) = with_file("traefik.toml", text, &[], &[]);
        let c = c.unwrap();
        assert!(c.api && c.ping && c.docker.is_some());
        assert!(c.manage.is_some());
        assert_eq!(c.entrypoints["web"].socket.port(), 0);
    }

    /// Traefik's precedence: a file found is the whole configuration; we name what it ignores.
    #[test]
    fn a_file_wins_over_flags_and_environment_and_says_so() {
        let text = "entryPoints:\n  web:\n    address: \":81\"\n";
        // Named by --configFile.
        let (_d, c) = with_file(
            "mine.yml",
            text,
            &[
                "--configFile",
                "{dir}/mine.yml",
                "--log.level=debug",
                "--ping",
            ],
            &[("TRAEFIK_API_INSECURE", "true")],
        );
        let c = c.unwrap();
        assert_eq!(c.entrypoints["web"].socket.port(), 81);
        assert_eq!(c.log_level, "info");
        assert!(!c.ping && !c.api);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(
            c.warnings[0].contains("flags ignored: --log.level, --ping"),
            "{}",
            c.warnings[0]
        );
        assert!(!c.warnings[0].contains("default places"));
        assert!(
            c.warnings[1].contains("TRAEFIK_API_INSECURE"),
            "{}",
            c.warnings[1]
        );
        // Found in a default place, without --configFile: it still wins, and the warning says
        // where it came from.
        let (_d, c) = with_file("traefik.yml", text, &["--entrypoints.web.address=:82"], &[]);
        let c = c.unwrap();
        assert_eq!(c.entrypoints["web"].socket.port(), 81);
        assert!(
            c.warnings[0].contains("default places"),
            "{}",
            c.warnings[0]
        );
        // No file: flags, then environment, as before.
        let (_d, c) = with_file(
            "other.yaml",
            text,
            &["--entrypoints.web.address=:82"],
            &[("TRAEFIK_LOG_LEVEL", "warn")],
        );
        let c = c.unwrap();
        assert_eq!(
            (c.entrypoints["web"].socket.port(), c.log_level.as_str()),
            (82, "warn")
        );
        assert!(c.config_file.is_none() && c.warnings.is_empty());
    }

    #[test]
    fn file_errors_name_the_file_the_key_and_the_line() {
        // A key no flag has, under entryPoints.X.http (the TLS keys live there): the error
        // names the file, the key as written and its line.
        let text = "entryPoints:\n  web:\n    address: \":80\"\n    http:\n      nonsense: true\n";
        let (d, e) = with_file("traefik.yaml", text, &[], &[]);
        let e = e.unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, CliError::InFile { line: Some(5), error, .. } if matches!(**error, CliError::UnknownKey(_))),
            "{e:?}"
        );
        assert!(
            msg.starts_with(&format!(
                "{}, line 5: unknown key `entryPoints.web.http.nonsense`",
                d.path().join("traefik.yaml").display()
            )),
            "{msg}"
        );
        // A misspelt key gets a suggestion.
        let (_d, e) = with_file(
            "traefik.yaml",
            "entryPoints:\n  web:\n    adress: \":80\"\n",
            &[],
            &[],
        );
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("line 3: unknown key `entryPoints.web.adress` (did you mean `entrypoints.web.address`?)"), "{msg}");
        // A bad value.
        let (_d, e) = with_file("traefik.yaml", "api:\n  insecure: maybe\n", &[], &[]);
        let msg = e.unwrap_err().to_string();
        assert!(
            msg.contains("line 2: bad value `maybe` for `api.insecure`"),
            "{msg}"
        );
        // A syntax error, a missing file.
        let (_d, e) = with_file("traefik.yaml", "api: [\n", &[], &[]);
        assert!(matches!(e, Err(CliError::ConfigFile(m)) if m.contains("YAML error")));
        let (_d, e) = with_file("traefik.yaml", "", &["--configFile=/nonexistent.yaml"], &[]);
        assert!(matches!(e, Err(CliError::ConfigFile(m)) if m.contains("not found")));
        let (_d, e) = with_file("traefik.yaml", "configFile: x.yaml\n", &[], &[]);
        assert!(e.unwrap_err().to_string().contains("cannot name another"));
    }

    #[test]
    fn unknown_flags_get_a_suggestion() {
        let e = run(&["--api.insecur=true"]).unwrap_err();
        assert!(
            e.to_string().contains("(did you mean `--api.insecure`?)"),
            "{e}"
        );
        let e = run(&["--entrypoints.web.adress=:80"]).unwrap_err();
        assert!(e.to_string().contains("`--entrypoints.web.address`"), "{e}");
        let e = run_env(&[], &[("TRAEFIK_LOG_LEVL", "info")]).unwrap_err();
        assert!(e.to_string().contains("`TRAEFIK_LOG_LEVEL`"), "{e}");
        let e = run(&["--completely.different=1"]).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn default_rule_syntax() {
        assert_eq!(run(&[]).unwrap().default_rule_syntax, RuleSyntax::V3);
        let c = run(&["--core.defaultRuleSyntax=v2"]).unwrap();
        assert_eq!(c.default_rule_syntax, RuleSyntax::V2);
        let (_d, c) = with_file("traefik.yaml", "core:\n  defaultRuleSyntax: v2\n", &[], &[]);
        assert_eq!(c.unwrap().default_rule_syntax, RuleSyntax::V2);
        let e = run(&["--core.defaultRuleSyntax=v9"]).unwrap_err();
        assert!(e.to_string().contains("v3 (the default) or v2"), "{e}");
    }

    #[test]
    fn entrypoint_tls_and_redirection() {
        let c = run(&[
            "--entrypoints.web.address=:80",
            "--entrypoints.websecure.address=:443",
            "--entrypoints.websecure.http.tls",
            "--entrypoints.web.http.redirections.entrypoint.to=websecure",
            "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        ])
        .unwrap();
        assert!(c.entrypoints["websecure"].http.tls);
        let r = c.entrypoints["web"].http.redirect.as_ref().unwrap();
        assert_eq!((r.to.as_str(), r.permanent), ("websecure", true));
        let e = run(&[
            "--entrypoints.web.address=:80",
            "--entrypoints.web.http.redirections.entrypoint.to=webseucre",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("not an entrypoint"), "{e}");
    }

    #[test]
    fn acme_domains_are_accepted_and_imply_tls() {
        // Flags, and the keys a static file's `tls: {domains: [{main, sans}]}` flattens to.
        let c = run(&[
            "--entrypoints.websecure.address=:443",
            "--entrypoints.websecure.http.tls.domains[0].main=a.lab",
            "--entrypoints.websecure.http.tls.domains[0].sans=www.a.lab,*.a.lab",
            "--entrypoints.websecure.http.tls.domains[1].main=b.lab",
        ])
        .unwrap();
        assert!(c.entrypoints["websecure"].http.tls);
        // The environment's spelling: TRAEFIK_ENTRYPOINTS_<NAME>_HTTP_TLS_DOMAINS_0_MAIN.
        let c = run_env(
            &["--entrypoints.websecure.address=:443"],
            &[(
                "TRAEFIK_ENTRYPOINTS_WEBSECURE_HTTP_TLS_DOMAINS_0_MAIN",
                "a.lab",
            )],
        )
        .unwrap();
        assert!(c.entrypoints["websecure"].http.tls);
        for bad in [
            "--entrypoints.websecure.http.tls.domains[0].other=x",
            "--entrypoints.websecure.http.tls.domains[x].main=a.lab",
            "--entrypoints.websecure.http.tls.domains.main=a.lab",
        ] {
            assert!(
                matches!(run(&[bad]), Err(CliError::Unknown(_))),
                "{bad} is refused"
            );
        }
        assert!(help().contains("--entrypoints.<name>.http.tls.domains[n].main"));

        // A static file's `tls: {certResolver, domains: [{main, sans}]}`, in YAML and TOML.
        let yaml = r#"
entryPoints:
  websecure:
    address: ":443"
    http:
      tls:
        certResolver: le
        domains:
          - main: a.lab
            sans: ["www.a.lab", "*.a.lab"]
          - main: b.lab
"#;
        let toml = r#"
[entryPoints.websecure]
address = ":443"
[[entryPoints.websecure.http.tls.domains]]
main = "a.lab"
sans = ["www.a.lab"]
"#;
        for (name, text) in [("traefik.yaml", yaml), ("traefik.toml", toml)] {
            let (_d, c) = with_file(name, text, &[], &[]);
            let c = c.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(c.entrypoints["websecure"].http.tls, "{name}");
        }
    }

    #[test]
    fn help_and_version() {
        let args = vec!["--help".to_string()];
        assert_eq!(parse(&args, &[]).unwrap(), Command::Help);
        assert!(help().contains("--entrypoints.<name>.address"));
    }
}
