//! Traefik's file provider: dynamic configuration from one YAML/TOML file or a directory of them.
//!
//! `--providers.file.filename=dynamic.yml` reads one file; `--providers.file.directory=conf.d`
//! reads every `*.yml`, `*.yaml` and `*.toml` in it (subdirectories too, hidden files skipped),
//! in path order. The format is Traefik's: a top-level `http:` with `routers`, `services` and
//! `middlewares`. Keys are matched without case, as Traefik does (`loadbalancer` =
//! `loadBalancer`); names keep theirs. `tcp` and `udp` sections are reported and ignored; the `tls` section's certificate files are
//! read with the configuration, so a reload re-reads them, and with `watch` they are watched
//! too (`cert_watch.rs`), so a renewed certificate is served without touching the configuration.
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
use crate::config::tls::TlsConfig;
use crate::config::validate;
use crate::provider::Publisher;

mod cert_watch;
mod decode;
mod watch;

#[allow(unused_imports)]
use decode::*;
pub use decode::{parse_str, FileConfig, Format};
pub use watch::FileProvider;
#[allow(unused_imports)]
use watch::*;

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
        assert!(validate::check(c, Some(Default::default())).is_empty());
    }

    #[test]
    fn tls_sections_read_the_same_in_yaml_and_toml() {
        let yaml = r#"
http:
  routers:
    web:
      rule: "Host(`a.lab`)"
      service: s
      tls: {}
tls:
  certificates:
    - certFile: /certs/a.pem
      keyFile: /certs/a-key.pem
  stores:
    default:
      defaultCertificate:
        CertFile: /certs/d.pem
        keyfile: /certs/d-key.pem
"#;
        let toml = r#"
[http.routers.web]
rule = "Host(`a.lab`)"
service = "s"
[http.routers.web.tls]

[[tls.certificates]]
certFile = "/certs/a.pem"
keyFile = "/certs/a-key.pem"
[tls.stores.default.defaultCertificate]
certFile = "/certs/d.pem"
keyFile = "/certs/d-key.pem"
"#;
        let y = ok(yaml, Format::Yaml);
        assert!(y.issues.is_empty(), "{:#?}", y.issues);
        assert_eq!(y, ok(toml, Format::Toml));
        assert!(y.config.routers["web"].tls.is_some());
        // The static part of a file that holds both is not the file provider's.
        let both =
            format!("entryPoints:\n  web:\n    address: :80\nproviders:\n  file: {{}}\n{yaml}");
        assert_eq!(ok(&both, Format::Yaml), y);
        assert_eq!(y.config.tls.certificates[0].key_file, "/certs/a-key.pem");
        let d = y.config.tls.default_certificate().unwrap();
        assert_eq!(d.cert_file, "/certs/d.pem");
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
tls: {certificates: [{certFile: c.pem}]}
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
        find(
            Element::Source("test".into()),
            "the `tls` section is ignored",
        );
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
                        rule_syntax: None,
                        service,
                        middlewares,
                        priority,
                        entry_points,
                        tls: None,
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
                    url: format!("http://{host}:{port}").into(),
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
                    ..Default::default()
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
