//! Traefik's file provider: dynamic configuration from one YAML/TOML file or a directory of them.
//!
//! `--providers.file.filename=dynamic.yml` reads one file; `--providers.file.directory=conf.d`
//! reads every `*.yml`, `*.yaml` and `*.toml` in it (subdirectories too, hidden files skipped),
//! in path order. The format is Traefik's: a top-level `http:` with `routers`, `services` and
//! `middlewares`. Keys are matched without case, as Traefik does (`loadbalancer` =
//! `loadBalancer`); names keep theirs. `tcp`, `udp` and `tls` sections are reported and ignored.
//!
//! Why it is built like this:
//! - **One bad element disables only itself.** Each router, service and middleware is decoded
//!   on its own, so a typo in one reports an issue for that one and the rest keeps routing.
//! - **A file that does not parse keeps its last good configuration** (and the error is
//!   reported): editors and `cp` write files in several steps, and a half-written file must not
//!   take the routes down. An empty file that had content is treated the same way for a short
//!   grace period ([`EMPTY_GRACE`]), since "truncate, then write" is how many tools save.
//! - **Fast reloads, no 2 s throttle.** With `watch`, the provider watches the directory (the
//!   file's parent in `filename` mode, so editors that save by writing a new file and renaming it
//!   over the old one are seen), waits until events stop for [`QUIET`] (at most [`MAX_DEBOUNCE`]),
//!   reloads, and publishes only when the result changed. Where the OS cannot watch, it polls.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::config::model::{
    ConfigIssue, DynamicConfig, Element, Middleware, ProviderConfig, Router, Service,
    UNSUPPORTED_MIDDLEWARES,
};
use crate::config::validate;
use crate::provider::Publisher;

/// The provider's name in qualified names (`api@file`).
pub const PROVIDER: &str = "file";
/// Events closer together than this are one change.
pub const QUIET: Duration = Duration::from_millis(5);
/// A burst of events is cut after this long, so a change is applied well within 100 ms.
pub const MAX_DEBOUNCE: Duration = Duration::from_millis(20);
/// How long a file that became empty keeps its last configuration (it is probably being
/// rewritten); after that, empty means empty.
pub const EMPTY_GRACE: Duration = Duration::from_millis(50);
/// Polling period when the OS cannot watch the path.
const POLL: Duration = Duration::from_millis(500);
/// Directory depth read in `directory` mode.
const MAX_DEPTH: usize = 8;

/// Where the configuration lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// `--providers.file.filename`
    File(PathBuf),
    /// `--providers.file.directory`
    Dir(PathBuf),
}

/// The syntax of a configuration file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

impl Format {
    /// `.toml` is TOML; everything else is read as YAML (`.yml`, `.yaml`, or a `filename` with
    /// another extension).
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            _ => Format::Yaml,
        }
    }

    fn is_config(path: &Path) -> bool {
        matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("yml" | "yaml" | "toml")
        )
    }
}

/// What one file says: its configuration, and issues about its elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub config: DynamicConfig,
    pub issues: Vec<ConfigIssue>,
}

/// Parses one file's text. `Err` means the file as a whole is unusable (a syntax error, not a
/// mapping at the top); problems with single elements are issues in the `Ok` value, naming the
/// element, and the element is left out. `source` names the file in messages.
pub fn parse_str(text: &str, format: Format, source: &str) -> Result<FileConfig, String> {
    let value = match format {
        Format::Yaml => {
            let y: serde_norway::Value =
                serde_norway::from_str(text).map_err(|e| format!("{source}: YAML error: {e}"))?;
            yaml_to_json(y).map_err(|e| format!("{source}: {e}"))?
        }
        Format::Toml => {
            let t: toml::Table = toml::from_str(text)
                .map_err(|e| format!("{source}: TOML error: {}", e.to_string().trim_end()))?;
            serde_json::to_value(t).map_err(|e| format!("{source}: {e}"))?
        }
    };
    let mut out = FileConfig::default();
    let top = match value {
        Value::Null => return Ok(out),
        Value::Object(m) => m,
        _ => {
            return Err(format!(
                "{source}: the file must be a mapping with an `http:` section"
            ))
        }
    };
    let src = |out: &mut FileConfig, message: String| {
        out.issues.push(ConfigIssue {
            element: Element::Source(source.to_string()),
            message,
        })
    };
    for (key, v) in top {
        match key.to_ascii_lowercase().as_str() {
            "http" => parse_http(v, source, &mut out),
            k @ ("tcp" | "udp") => src(
                &mut out,
                format!("{source}: `{key}` routing is not supported by this proxy (HTTP only); the `{key}` section is ignored", key = k),
            ),
            "tls" => src(
                &mut out,
                format!("{source}: TLS is not supported by this proxy; the `tls` section is ignored"),
            ),
            _ => src(
                &mut out,
                format!("{source}: unknown top-level key `{key}`, ignored; the configuration goes under `http:`"),
            ),
        }
    }
    Ok(out)
}

fn yaml_to_json(v: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!("a mapping key must be a string, found {other:?}"))
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Every field name of the model, in Traefik's spelling, for case-insensitive keys.
const FIELDS: &[&str] = &[
    "rule",
    "service",
    "middlewares",
    "priority",
    "entryPoints",
    "loadBalancer",
    "servers",
    "url",
    "name",
    "sticky",
    "cookie",
    "secure",
    "httpOnly",
    "sameSite",
    "healthCheck",
    "path",
    "interval",
    "timeout",
    "port",
    "passHostHeader",
    "stripPrefix",
    "prefixes",
    "retry",
    "attempts",
    "addPrefix",
    "prefix",
    "replacePath",
    "headers",
    "customRequestHeaders",
    "customResponseHeaders",
    "redirectScheme",
    "scheme",
    "permanent",
];

/// Renames keys to the model's spelling when they match without case, at every level (the
/// model has no user-named keys below an element's name).
fn canonical_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = FIELDS
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(&k))
                        .map_or(k, |f| (*f).to_string());
                    (k, canonical_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(canonical_keys).collect()),
        other => other,
    }
}

fn parse_http(v: Value, source: &str, out: &mut FileConfig) {
    let sections = match v {
        Value::Null => return,
        Value::Object(m) => m,
        _ => {
            out.issues.push(ConfigIssue {
                element: Element::Source(source.to_string()),
                message: format!(
                    "{source}: `http` must be a mapping of routers, services and middlewares"
                ),
            });
            return;
        }
    };
    for (key, v) in sections {
        let kind = key.to_ascii_lowercase();
        let items = match v {
            Value::Null => continue,
            Value::Object(m) if matches!(kind.as_str(), "routers" | "services" | "middlewares") => {
                m
            }
            _ => {
                let message = if matches!(kind.as_str(), "routers" | "services" | "middlewares") {
                    format!("{source}: `http.{key}` must be a mapping from names to {key}; it is ignored")
                } else if kind == "serverstransports" {
                    format!("{source}: `http.{key}` is not supported by this proxy; it is ignored")
                } else {
                    format!("{source}: unknown key `http.{key}`, ignored; use routers, services and middlewares")
                };
                out.issues.push(ConfigIssue {
                    element: Element::Source(source.to_string()),
                    message,
                });
                continue;
            }
        };
        for (name, v) in items {
            let v = canonical_keys(v);
            match kind.as_str() {
                "routers" => match serde_json::from_value::<Router>(v) {
                    Ok(r) => {
                        out.config.routers.insert(name, r);
                    }
                    Err(e) => out.issues.push(ConfigIssue {
                        message: format!("{source}: router `{name}`: {e}"),
                        element: Element::Router(name),
                    }),
                },
                "services" => {
                    let unsupported = v.as_object().and_then(|m| {
                        m.keys()
                            .find(|k| {
                                ["weighted", "mirroring", "failover"]
                                    .iter()
                                    .any(|x| x.eq_ignore_ascii_case(k))
                            })
                            .cloned()
                    });
                    let res = match unsupported {
                        Some(k) => Err(format!(
                            "`{k}` services are not supported; use a loadBalancer service"
                        )),
                        None => serde_json::from_value::<Service>(v).map_err(|e| e.to_string()),
                    };
                    match res {
                        Ok(s) => {
                            out.config.services.insert(name, s);
                        }
                        Err(e) => out.issues.push(ConfigIssue {
                            message: format!("{source}: service `{name}`: {e}"),
                            element: Element::Service(name),
                        }),
                    }
                }
                _ => {
                    let unsupported = v.as_object().and_then(|m| {
                        m.keys()
                            .find(|k| {
                                UNSUPPORTED_MIDDLEWARES
                                    .iter()
                                    .any(|x| x.eq_ignore_ascii_case(k))
                            })
                            .cloned()
                    });
                    let res = match unsupported {
                        Some(k) => Err(format!(
                            "middleware type `{k}` is not supported by this proxy (supported: {}); remove it, and remove `{name}` from the routers that use it",
                            Middleware::type_list()
                        )),
                        None => serde_json::from_value::<Middleware>(v).map_err(|e| e.to_string()),
                    };
                    match res {
                        Ok(m) => {
                            out.config.middlewares.insert(name, m);
                        }
                        Err(e) => out.issues.push(ConfigIssue {
                            message: format!("{source}: middleware `{name}`: {e}"),
                            element: Element::Middleware(name),
                        }),
                    }
                }
            }
        }
    }
}

/// What the provider remembers about one file.
#[derive(Debug, Default)]
struct FileState {
    /// The last version that parsed.
    last_good: Option<FileConfig>,
    /// When the file was first seen empty after having content.
    empty_since: Option<Instant>,
}

/// The file provider. [`load`](Self::load) reads once; [`run`](Self::run) reads, publishes,
/// and with `watch` keeps doing so as the files change.
#[derive(Debug)]
pub struct FileProvider {
    source: FileSource,
    watch: bool,
    files: BTreeMap<PathBuf, FileState>,
    /// Set by `load` when a file is inside its empty grace period: load again at that time.
    recheck_at: Option<Instant>,
}

impl FileProvider {
    pub fn new(source: FileSource, watch: bool) -> Self {
        FileProvider {
            source,
            watch,
            files: BTreeMap::new(),
            recheck_at: None,
        }
    }

    /// The files to read, in order.
    fn list(&self) -> Result<Vec<PathBuf>, String> {
        match &self.source {
            FileSource::File(p) => Ok(vec![p.clone()]),
            FileSource::Dir(d) => {
                let mut out = Vec::new();
                walk(d, 0, &mut out).map_err(|e| {
                    format!(
                        "cannot read the directory {}: {e}; check --providers.file.directory",
                        d.display()
                    )
                })?;
                out.sort();
                Ok(out)
            }
        }
    }

    fn display_name(&self, path: &Path) -> String {
        match &self.source {
            FileSource::Dir(d) => path.strip_prefix(d).unwrap_or(path).display().to_string(),
            FileSource::File(_) => path.display().to_string(),
        }
    }

    /// Reads every file and returns the provider's configuration, validated. A file that does
    /// not parse contributes its last good configuration, with an issue saying so.
    pub fn load(&mut self) -> ProviderConfig {
        let now = Instant::now();
        self.recheck_at = None;
        let mut issues = Vec::new();
        let mut merged = DynamicConfig::default();
        // Which file defined each element, to report duplicates.
        let mut origin: BTreeMap<Element, String> = BTreeMap::new();

        let paths = match self.list() {
            Ok(p) => p,
            Err(message) => {
                issues.push(ConfigIssue {
                    element: Element::Source(source_name(&self.source)),
                    message,
                });
                Vec::new()
            }
        };
        self.files.retain(|p, _| paths.contains(p));

        for path in paths {
            let name = self.display_name(&path);
            let state = self.files.entry(path.clone()).or_default();
            let fresh = match std::fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && matches!(self.source, FileSource::File(_)) => {
                    Err(format!(
                        "{name}: the file does not exist; create it or fix --providers.file.filename"
                    ))
                }
                Err(e) => Err(format!("{name}: cannot read the file: {e}")),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Err(_) => Err(format!("{name}: the file is not UTF-8 text")),
                    Ok(text) => {
                        let had_content = state
                            .last_good
                            .as_ref()
                            .is_some_and(|g| *g != FileConfig::default());
                        if text.trim().is_empty() && had_content {
                            let since = *state.empty_since.get_or_insert(now);
                            if now.duration_since(since) < EMPTY_GRACE {
                                let at = since + EMPTY_GRACE;
                                self.recheck_at = Some(self.recheck_at.map_or(at, |r| r.min(at)));
                                Err(format!("{name}: the file is empty (being rewritten?)"))
                            } else {
                                Ok(FileConfig::default())
                            }
                        } else {
                            state.empty_since = None;
                            parse_str(&text, Format::of(&path), &name)
                        }
                    }
                },
            };
            let file_cfg = match fresh {
                Ok(cfg) => {
                    state.last_good = Some(cfg.clone());
                    cfg
                }
                Err(message) => {
                    let kept = state.last_good.clone();
                    let message = if kept.is_some() {
                        format!("{message}; keeping the file's last good configuration until it is fixed")
                    } else {
                        format!("{message}; nothing from this file is routed until it is fixed")
                    };
                    issues.push(ConfigIssue {
                        element: Element::Source(name.clone()),
                        message,
                    });
                    kept.unwrap_or_default()
                }
            };
            issues.extend(file_cfg.issues);
            let cfg = file_cfg.config;
            let mut dup = |e: Element, issues: &mut Vec<ConfigIssue>| -> bool {
                if let Some(first) = origin.get(&e) {
                    issues.push(ConfigIssue {
                        element: Element::Source(name.clone()),
                        message: format!(
                            "{name}: {} is already defined in {first}; this definition is ignored (rename one of them)",
                            describe(&e)
                        ),
                    });
                    true
                } else {
                    origin.insert(e, name.clone());
                    false
                }
            };
            for (n, r) in cfg.routers {
                if !dup(Element::Router(n.clone()), &mut issues) {
                    merged.routers.insert(n, r);
                }
            }
            for (n, s) in cfg.services {
                if !dup(Element::Service(n.clone()), &mut issues) {
                    merged.services.insert(n, s);
                }
            }
            for (n, m) in cfg.middlewares {
                if !dup(Element::Middleware(n.clone()), &mut issues) {
                    merged.middlewares.insert(n, m);
                }
            }
        }
        let mut pc = validate::validate(PROVIDER, merged);
        issues.append(&mut pc.issues);
        pc.issues = issues;
        pc
    }

    /// Loads, publishes, and with `watch` reloads on every change until `shutdown` completes.
    /// Never fails: problems are issues in what it publishes (and in the log).
    pub async fn run(mut self, publisher: Publisher, shutdown: impl Future<Output = ()> + Send) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        // The watcher must exist before the first load, so no write between them is missed.
        let _watcher = if self.watch {
            match self.watcher(tx) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "file provider: cannot watch, polling every {POLL:?} instead");
                    None
                }
            }
        } else {
            None
        };
        let polling = self.watch && _watcher.is_none();
        publish(&publisher, self.load());
        tokio::pin!(shutdown);
        loop {
            let recheck = self.recheck_at.map(tokio::time::Instant::from_std);
            tokio::select! {
                () = &mut shutdown => break,
                ev = rx.recv(), if _watcher.is_some() => {
                    if ev.is_none() {
                        break;
                    }
                    debounce(&mut rx).await;
                }
                () = tokio::time::sleep(POLL), if polling => {}
                () = async { tokio::time::sleep_until(recheck.expect("guarded")).await }, if recheck.is_some() => {}
            }
            publish(&publisher, self.load());
        }
        tracing::debug!("file provider: stopped");
    }

    fn watcher(
        &self,
        tx: tokio::sync::mpsc::UnboundedSender<()>,
    ) -> notify::Result<notify::RecommendedWatcher> {
        use notify::{RecursiveMode, Watcher};
        let (dir, only, mode) = match &self.source {
            FileSource::Dir(d) => (d.clone(), None, RecursiveMode::Recursive),
            FileSource::File(f) => {
                let parent = f
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (
                    parent,
                    f.file_name().map(|n| n.to_os_string()),
                    RecursiveMode::NonRecursive,
                )
            }
        };
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let relevant = match (&res, &only) {
                (Ok(ev), Some(name)) => {
                    ev.need_rescan()
                        || ev
                            .paths
                            .iter()
                            .any(|p| p.file_name() == Some(name.as_os_str()))
                }
                _ => true,
            };
            if relevant {
                let _ = tx.send(());
            }
        })?;
        w.watch(&dir, mode)?;
        Ok(w)
    }
}

/// Waits until events stop for [`QUIET`], at most [`MAX_DEBOUNCE`].
async fn debounce(rx: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    let deadline = tokio::time::Instant::now() + MAX_DEBOUNCE;
    loop {
        let wait = QUIET.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        if wait.is_zero() {
            return;
        }
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(())) => continue,
            _ => return,
        }
    }
}

/// Publishes `pc` if it differs from what was published last, and logs its issues then.
fn publish(publisher: &Publisher, pc: ProviderConfig) {
    publisher.send_if_modified(|current| {
        if *current == pc {
            return false;
        }
        for i in &pc.issues {
            tracing::warn!(element = ?i.element, "file provider: {}", i.message);
        }
        tracing::info!(
            routers = pc.config.routers.len(),
            services = pc.config.services.len(),
            middlewares = pc.config.middlewares.len(),
            "file provider: configuration changed"
        );
        *current = pc;
        true
    });
}

fn describe(e: &Element) -> String {
    match e {
        Element::Router(n) => format!("router `{n}`"),
        Element::Service(n) => format!("service `{n}`"),
        Element::Middleware(n) => format!("middleware `{n}`"),
        Element::Source(n) => format!("`{n}`"),
    }
}

fn source_name(s: &FileSource) -> String {
    match s {
        FileSource::File(p) | FileSource::Dir(p) => p.display().to_string(),
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = std::fs::metadata(&path).map(|m| m.file_type());
        match ft {
            Ok(ft) if ft.is_dir() && depth < MAX_DEPTH => walk(&path, depth + 1, out)?,
            Ok(ft) if ft.is_file() && Format::is_config(&path) => out.push(path),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use super::*;

    const YAML: &str = r#"
http:
  routers:
    api:
      rule: "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)"
      service: jokes
      middlewares: [strip]
      priority: 10
      entryPoints: [web]
  services:
    jokes:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:3001"
          - url: "http://127.0.0.1:3002"
        sticky:
          cookie:
            name: lb
            httpOnly: true
            sameSite: lax
        healthCheck:
          path: /health
          interval: 1s
          timeout: 500ms
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api/jokes/"]
    again:
      retry:
        attempts: 3
"#;

    const TOML: &str = r#"
[http.routers.api]
rule = "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)"
service = "jokes"
middlewares = ["strip"]
priority = 10
entryPoints = ["web"]

[http.services.jokes.loadBalancer]
servers = [{ url = "http://127.0.0.1:3001" }, { url = "http://127.0.0.1:3002" }]
[http.services.jokes.loadBalancer.sticky.cookie]
name = "lb"
httpOnly = true
sameSite = "lax"
[http.services.jokes.loadBalancer.healthCheck]
path = "/health"
interval = "1s"
timeout = "500ms"

[http.middlewares.strip.stripPrefix]
prefixes = ["/api/jokes/"]
[http.middlewares.again.retry]
attempts = 3
"#;

    fn ok(text: &str, f: Format) -> FileConfig {
        parse_str(text, f, "test").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn yaml_and_toml_read_the_same_traefik_config() {
        let y = ok(YAML, Format::Yaml);
        let t = ok(TOML, Format::Toml);
        assert!(y.issues.is_empty(), "{:#?}", y.issues);
        assert_eq!(y, t);
        let c = &y.config;
        assert_eq!(c.routers["api"].middlewares, vec!["strip".to_string()]);
        assert_eq!(c.routers["api"].priority, Some(10));
        let lb = &c.services["jokes"].load_balancer;
        assert_eq!(lb.servers.len(), 2);
        assert_eq!(
            lb.health_check.as_ref().unwrap().timeout,
            Duration::from_millis(500)
        );
        assert_eq!(c.middlewares["again"].retry.as_ref().unwrap().attempts, 3);
        assert!(validate::check(c).is_empty());
    }

    #[test]
    fn keys_ignore_case_names_keep_it() {
        let y = ok(
            "HTTP:\n  Routers:\n    MyRouter:\n      RULE: Path(`/`)\n      Service: S\n  services:\n    S:\n      loadbalancer:\n        servers: [{URL: 'http://a:1'}]\n        passhostheader: false\n",
            Format::Yaml,
        );
        assert!(y.issues.is_empty(), "{:#?}", y.issues);
        assert_eq!(y.config.routers["MyRouter"].service, "S");
        assert!(!y.config.services["S"].load_balancer.pass_host_header);
    }

    #[test]
    fn empty_files_and_sections_are_empty_configs() {
        for (text, f) in [
            ("", Format::Yaml),
            ("# nothing\n", Format::Yaml),
            ("http:\n", Format::Yaml),
            ("http:\n  routers:\n", Format::Yaml),
            ("", Format::Toml),
            ("[http]\n", Format::Toml),
        ] {
            assert_eq!(ok(text, f), FileConfig::default(), "{text:?}");
        }
    }

    #[test]
    fn a_bad_element_is_reported_and_the_rest_kept() {
        let text = r#"
http:
  routers:
    good:
      rule: Path(`/`)
      service: s
    typo:
      rul: Path(`/`)
      service: s
  services:
    s:
      loadBalancer:
        servers: [{url: "http://a:1"}]
    w:
      weighted:
        services: []
    badport:
      loadBalancer:
        servers: "http://a:1"
  middlewares:
    auth:
      basicAuth:
        users: ["u:p"]
    str:
      stripPrefix:
        prefixes: /api
tcp:
  routers: {}
tls: {}
udp: {}
pilot: {}
"#;
        let y = ok(text, Format::Yaml);
        assert!(y.config.routers.contains_key("good"));
        assert!(y.config.services.contains_key("s"));
        let find = |e: Element, needle: &str| {
            assert!(
                y.issues
                    .iter()
                    .any(|i| i.element == e && i.message.contains(needle)),
                "{e:?} {needle}: {:#?}",
                y.issues
            )
        };
        find(Element::Router("typo".into()), "unknown field `rul`");
        find(
            Element::Service("w".into()),
            "`weighted` services are not supported",
        );
        find(Element::Service("badport".into()), "invalid type");
        find(
            Element::Middleware("auth".into()),
            "`basicAuth` is not supported",
        );
        find(Element::Middleware("str".into()), "invalid type");
        find(
            Element::Source("test".into()),
            "`tcp` routing is not supported",
        );
        find(Element::Source("test".into()), "`udp` routing");
        find(Element::Source("test".into()), "TLS is not supported");
        find(
            Element::Source("test".into()),
            "unknown top-level key `pilot`",
        );
        assert_eq!(y.config.routers.len(), 1);
    }

    #[test]
    fn whole_file_errors() {
        for (text, f, needle) in [
            ("http: [", Format::Yaml, "YAML error"),
            (
                "http:\n  routers:\n   a: 1\n  b",
                Format::Yaml,
                "YAML error",
            ),
            ("- a\n- b\n", Format::Yaml, "must be a mapping"),
            ("just text", Format::Yaml, "must be a mapping"),
            ("[http", Format::Toml, "TOML error"),
            ("{[]: 1}", Format::Yaml, "key must be a string"),
        ] {
            let e = parse_str(text, f, "conf.yml").expect_err(text);
            assert!(
                e.contains(needle) && e.starts_with("conf.yml"),
                "{text:?}: {e}"
            );
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    fn route(name: &str, path: &str) -> String {
        format!(
            "http:\n  routers:\n    {name}:\n      rule: PathPrefix(`{path}`)\n      service: {name}\n  services:\n    {name}:\n      loadBalancer:\n        servers: [{{url: 'http://127.0.0.1:1'}}]\n"
        )
    }

    #[test]
    fn a_directory_reads_every_config_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.yml"), &route("a", "/a"));
        write(&dir.path().join("b.yaml"), &route("b", "/b"));
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        write(
            &dir.path().join("sub/c.toml"),
            "[http.routers.c]\nrule = \"Path(`/c`)\"\nservice = \"a\"\n",
        );
        write(&dir.path().join("z.yml"), &route("a", "/dup"));
        write(&dir.path().join(".hidden.yml"), &route("h", "/h"));
        write(&dir.path().join("notes.txt"), "http: [");
        write(&dir.path().join("a.yml~"), "http: [");
        let mut p = FileProvider::new(FileSource::Dir(dir.path().into()), false);
        let pc = p.load();
        let names: Vec<&str> = pc.config.routers.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(
            pc.config.routers["a"].rule, "PathPrefix(`/a`)",
            "first file wins"
        );
        assert_eq!(pc.issues.len(), 2, "{:#?}", pc.issues);
        assert!(pc
            .issues
            .iter()
            .all(|i| i.element == Element::Source("z.yml".into())
                && i.message.contains("already defined in a.yml")));
    }

    #[test]
    fn a_broken_file_keeps_its_last_good_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dynamic.yml");
        write(&f, &route("a", "/a"));
        let mut p = FileProvider::new(FileSource::File(f.clone()), false);
        let good = p.load();
        assert!(good.issues.is_empty());
        write(&f, "http:\n  routers:\n    a: [");
        let broken = p.load();
        assert_eq!(broken.config, good.config);
        assert_eq!(broken.issues.len(), 1);
        assert!(broken.issues[0]
            .message
            .contains("keeping the file's last good configuration"));
        write(&f, &route("b", "/b"));
        let fixed = p.load();
        assert!(fixed.issues.is_empty());
        assert!(fixed.config.routers.contains_key("b"));
        // A file that never parsed contributes nothing.
        let mut fresh = FileProvider::new(FileSource::File(f.clone()), false);
        write(&f, "http: [");
        let pc = fresh.load();
        assert_eq!(pc.config, DynamicConfig::default());
        assert!(pc.issues[0]
            .message
            .contains("nothing from this file is routed"));
    }

    #[test]
    fn an_emptied_file_is_given_a_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dynamic.yml");
        write(&f, &route("a", "/a"));
        let mut p = FileProvider::new(FileSource::File(f.clone()), false);
        let good = p.load();
        write(&f, "");
        let during = p.load();
        assert_eq!(during.config, good.config);
        assert!(p.recheck_at.is_some());
        std::thread::sleep(EMPTY_GRACE);
        let after = p.load();
        assert_eq!(after.config, DynamicConfig::default());
        assert!(after.issues.is_empty());
        assert!(p.recheck_at.is_none());
    }

    #[test]
    fn missing_paths_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = FileProvider::new(FileSource::File(dir.path().join("nope.yml")), false);
        let pc = p.load();
        assert!(
            pc.issues[0].message.contains("does not exist"),
            "{:#?}",
            pc.issues
        );
        let mut p = FileProvider::new(FileSource::Dir(dir.path().join("nope")), false);
        let pc = p.load();
        assert!(
            pc.issues[0].message.contains("cannot read the directory"),
            "{:#?}",
            pc.issues
        );
    }

    #[test]
    fn validation_issues_come_through() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.toml");
        write(
            &f,
            "[http.routers.r]\nrule = \"Host(`a`\"\nservice = \"s\"\n",
        );
        let pc = FileProvider::new(FileSource::File(f), false).load();
        assert_eq!(pc.issues.len(), 1);
        assert_eq!(pc.issues[0].element, Element::Router("r".into()));
        assert!(pc.issues[0].message.contains("position"));
    }

    /// Waits (bounded) until the published configuration satisfies `want`.
    async fn until(
        rx: &mut watch::Receiver<ProviderConfig>,
        want: impl Fn(&ProviderConfig) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if want(&rx.borrow_and_update()) {
                    return;
                }
                rx.changed().await.expect("provider alive");
            }
        })
        .await;
        assert!(
            res.is_ok(),
            "not published in time; last: {:#?}",
            *rx.borrow()
        );
        start.elapsed()
    }

    fn has(pc: &ProviderConfig, router: &str) -> bool {
        pc.config.routers.contains_key(router)
    }

    #[tokio::test]
    async fn watch_a_file_edit_rename_replace_invalid_then_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dynamic.yml");
        write(&f, &route("a", "/a"));
        let (tx, mut rx) = watch::channel(ProviderConfig::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(FileProvider::new(FileSource::File(f.clone()), true).run(
            tx,
            async {
                let _ = stop_rx.await;
            },
        ));
        until(&mut rx, |pc| has(pc, "a")).await;

        // In-place edit.
        write(&f, &route("b", "/b"));
        let edit = until(&mut rx, |pc| has(pc, "b") && !has(pc, "a")).await;

        // Editor-style save: write a temporary file, rename it over the original.
        let tmp = dir.path().join(".dynamic.yml.swp");
        write(&tmp, &route("c", "/c"));
        std::fs::rename(&tmp, &f).unwrap();
        let rename = until(&mut rx, |pc| has(pc, "c") && !has(pc, "b")).await;

        // Invalid: the last good configuration stays, with an issue.
        write(&f, "http:\n  routers: [");
        until(&mut rx, |pc| has(pc, "c") && !pc.issues.is_empty()).await;

        // Fixed.
        write(&f, &route("d", "/d"));
        until(&mut rx, |pc| has(pc, "d") && pc.issues.is_empty()).await;

        // Other files in the same directory are not our business.
        write(&dir.path().join("other.yml"), &route("x", "/x"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!has(&rx.borrow(), "x"));

        eprintln!("file provider latency: edit {edit:?}, rename-replace {rename:?}");
        stop_tx.send(()).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn watch_a_directory_add_and_remove_files() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.yml"), &route("a", "/a"));
        let (tx, mut rx) = watch::channel(ProviderConfig::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            FileProvider::new(FileSource::Dir(dir.path().into()), true).run(tx, async {
                let _ = stop_rx.await;
            }),
        );
        until(&mut rx, |pc| has(pc, "a")).await;
        write(
            &dir.path().join("b.toml"),
            "[http.routers.b]\nrule = \"Path(`/b`)\"\nservice = \"a\"\n",
        );
        let add = until(&mut rx, |pc| has(pc, "a") && has(pc, "b")).await;
        std::fs::remove_file(dir.path().join("a.yml")).unwrap();
        let remove = until(&mut rx, |pc| !has(pc, "a") && has(pc, "b")).await;
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        write(&dir.path().join("sub/c.yml"), &route("c", "/c"));
        until(&mut rx, |pc| has(pc, "c")).await;
        eprintln!("file provider latency: add {add:?}, remove {remove:?}");
        stop_tx.send(()).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn without_watch_it_publishes_once_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.yml");
        write(&f, &route("a", "/a"));
        let (tx, mut rx) = watch::channel(ProviderConfig::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(FileProvider::new(FileSource::File(f.clone()), false).run(
            tx,
            async {
                let _ = stop_rx.await;
            },
        ));
        until(&mut rx, |pc| has(pc, "a")).await;
        stop_tx.send(()).unwrap();
        task.await.unwrap();
    }

    /// Property tests: whatever the text, the parser answers (never panics), and a valid
    /// configuration written out in either syntax reads back as itself.
    mod props {
        use proptest::prelude::*;
        use serde_json::{json, Value};

        use super::super::*;
        use crate::config::model::{
            HealthCheck, LoadBalancer, Retry, SameSite, Server, Sticky, StickyCookie, StripPrefix,
        };

        fn name() -> impl Strategy<Value = String> {
            "[a-zA-Z][a-zA-Z0-9_-]{0,10}"
        }
        fn text() -> impl Strategy<Value = String> {
            "[ -~]{0,24}"
        }
        fn duration() -> impl Strategy<Value = Duration> {
            prop_oneof![
                (1u64..86_400).prop_map(Duration::from_secs),
                Just(Duration::from_millis(500)),
                Just(Duration::from_millis(250)),
            ]
        }

        fn router() -> impl Strategy<Value = Router> {
            (
                text(),
                name(),
                prop::collection::vec(name(), 0..3),
                prop::option::of(any::<i64>()),
                prop::collection::vec(name(), 0..3),
            )
                .prop_map(|(rule, service, middlewares, priority, entry_points)| {
                    Router {
                        rule,
                        service,
                        middlewares,
                        priority,
                        entry_points,
                    }
                })
        }

        fn service() -> impl Strategy<Value = Service> {
            let server = (
                "[a-z0-9.]{1,12}",
                any::<u16>(),
                prop_oneof![Just(String::new()), name()],
            )
                .prop_map(|(host, port, name)| Server {
                    url: format!("http://{host}:{port}"),
                    name,
                });
            let cookie = (
                prop::option::of(name()),
                any::<bool>(),
                any::<bool>(),
                prop::option::of(prop_oneof![
                    Just(SameSite::None),
                    Just(SameSite::Lax),
                    Just(SameSite::Strict)
                ]),
            )
                .prop_map(|(name, secure, http_only, same_site)| StickyCookie {
                    name,
                    secure,
                    http_only,
                    same_site,
                });
            let health = (
                "/[a-z/]{0,12}",
                duration(),
                duration(),
                prop::option::of(any::<u16>()),
            )
                .prop_map(|(path, interval, timeout, port)| HealthCheck {
                    path,
                    interval,
                    timeout,
                    port,
                });
            (
                prop::collection::vec(server, 0..4),
                prop::option::of(prop::option::of(cookie).prop_map(|cookie| Sticky { cookie })),
                prop::option::of(health),
                any::<bool>(),
            )
                .prop_map(|(servers, sticky, health_check, pass_host_header)| {
                    Service {
                        load_balancer: LoadBalancer {
                            servers,
                            sticky,
                            health_check,
                            pass_host_header,
                        },
                    }
                })
        }

        fn middleware() -> impl Strategy<Value = Middleware> {
            (
                prop::option::of(prop::collection::vec("/[a-z]{0,8}", 0..3)),
                prop::option::of(0u32..10),
            )
                .prop_map(|(prefixes, attempts)| Middleware {
                    strip_prefix: prefixes.map(|prefixes| StripPrefix { prefixes }),
                    retry: attempts.map(|attempts| Retry { attempts }),
                    ..Default::default()
                })
        }

        fn config() -> impl Strategy<Value = DynamicConfig> {
            (
                prop::collection::btree_map(name(), router(), 0..4),
                prop::collection::btree_map(name(), service(), 0..4),
                prop::collection::btree_map(name(), middleware(), 0..3),
            )
                .prop_map(|(routers, services, middlewares)| DynamicConfig {
                    routers,
                    services,
                    middlewares,
                })
        }

        /// Upper-cases every key below the element names (Traefik's keys match without case).
        fn shout(v: Value, depth: usize) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.into_iter()
                        .map(|(k, v)| {
                            let k = if depth >= 3 {
                                k.to_ascii_uppercase()
                            } else {
                                k
                            };
                            (k, shout(v, depth + 1))
                        })
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.into_iter().map(|v| shout(v, depth)).collect()),
                other => other,
            }
        }

        /// Lines of Traefik-shaped YAML, some wrong, stacked at random indents.
        fn yamlish() -> impl Strategy<Value = String> {
            let line = prop_oneof![
                Just("http:"),
                Just("routers:"),
                Just("services:"),
                Just("middlewares:"),
                Just("a:"),
                Just("rule: Host(`a`)"),
                Just("service: a"),
                Just("loadBalancer:"),
                Just("servers:"),
                Just("- url: http://127.0.0.1:1"),
                Just("- url: 5"),
                Just("sticky:"),
                Just("cookie: {name: x, sameSite: lax}"),
                Just("healthCheck:"),
                Just("interval: 10"),
                Just("timeout: -1s"),
                Just("path: /h"),
                Just("port: 70000"),
                Just("stripPrefix: {prefixes: [/a]}"),
                Just("retry: {attempts: x}"),
                Just("priority: 1e99"),
                Just("passHostHeader: maybe"),
                Just("? [a]"),
                Just("tcp: {}"),
                Just("- ~"),
                Just("!!binary aGk="),
                Just("&a x: *a"),
                Just("*a"),
                Just("weighted: {}"),
                Just("headers: {}"),
                Just("\"\": 1"),
                Just("null: 1"),
            ];
            prop::collection::vec((0usize..5, line), 0..16).prop_map(|lines| {
                lines
                    .into_iter()
                    .map(|(indent, l)| format!("{}{l}\n", "  ".repeat(indent)))
                    .collect()
            })
        }

        /// Lines of Traefik-shaped TOML, some wrong.
        fn tomlish() -> impl Strategy<Value = String> {
            let line = prop_oneof![
                Just("[http]"),
                Just("[http.routers.a]"),
                Just("[http.services.a.loadBalancer]"),
                Just("[[http.services.a.loadBalancer.servers]]"),
                Just("url = \"http://h:1\""),
                Just("rule = \"Host(`a`)\""),
                Just("service = \"a\""),
                Just("priority = 9e9"),
                Just("[http.middlewares.m.stripPrefix]"),
                Just("prefixes = [\"/a\", 1]"),
                Just("[http.middlewares.m.retry]"),
                Just("attempts = -1"),
                Just("http = 1"),
                Just("[tcp]"),
                Just("interval = \"1x\""),
                Just("[http.services.a.loadBalancer.healthCheck]"),
                Just("a.b.c = {}"),
                Just("= 1"),
                Just("[http.routers]"),
                Just("routers = []"),
            ];
            prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
        }

        fn parses_without_panic(text: &str) {
            for format in [Format::Yaml, Format::Toml] {
                if let Ok(fc) = parse_str(text, format, "p.yml") {
                    // Whatever parsed, validation takes it too.
                    let _ = validate::validate(PROVIDER, fc.config);
                }
            }
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
                parses_without_panic(&text);
            }

            #[test]
            fn traefik_shaped_text_never_panics(yaml in yamlish(), toml in tomlish()) {
                parses_without_panic(&yaml);
                parses_without_panic(&toml);
            }

            #[test]
            fn valid_configurations_round_trip(cfg in config(), shouted in any::<bool>()) {
                let mut doc = json!({ "http": serde_json::to_value(&cfg).unwrap() });
                if shouted {
                    doc = shout(doc, 0);
                }
                let yaml = serde_norway::to_string(&doc).unwrap();
                let toml = toml::to_string(&doc).unwrap();
                for (text, format) in [(yaml, Format::Yaml), (toml, Format::Toml)] {
                    let fc = parse_str(&text, format, "p").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                    prop_assert_eq!(&fc.issues, &vec![], "{}", text);
                    prop_assert_eq!(&fc.config, &cfg, "{}", text);
                }
            }
        }
    }
}
