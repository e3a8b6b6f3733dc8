//! Traefik-style labels (`traefik.http.routers.<r>.rule=...`) into the configuration model.
//!
//! Interface contract: [`parse`] reads one container's (or one label set's) labels. Services it
//! defines have no servers yet: the Docker provider adds one server per container, using
//! `server_ports` (from `...loadbalancer.server.port`) to pick the port. It fills no defaults
//! either (a router without `rule` or `service`): that is the Docker provider's job, before
//! [`validate`](super::validate::validate).
//!
//! As in Traefik, the path segments of a key are case-insensitive (`loadBalancer` =
//! `loadbalancer`, even `Traefik.HTTP.Routers`), the names of routers, services and middlewares
//! keep their case, lists are comma-separated, and booleans read like Go's `strconv.ParseBool`
//! (`1`, `t`, `true`, `TRUE`, `True`, and the same for false). Middleware references like
//! `dynamic@docker` are kept as written; the merge resolves them.
//!
//! Unlike Traefik, where one wrong label makes the whole container's configuration fail, a wrong
//! label here becomes a [`ConfigIssue`] naming the one router, service or middleware it
//! disables; everything else keeps working. Labels about things this proxy does not do
//! (`traefik.tcp.*`, `traefik.tls.*`, unknown top-level keys) become issues naming
//! [`Element::Source`] with the label's key: they configure nothing, and disable nothing.

use std::collections::BTreeMap;

use super::model::{
    duration_str, ConfigIssue, DynamicConfig, Element, HealthCheck, LoadBalancer, Middleware,
    Router, SameSite, Service, Sticky, StickyCookie, UNSUPPORTED_MIDDLEWARES,
};
use super::rule::RuleSyntax;
use super::tls::RouterTls;
use crate::parse::{list, parse_bool};

/// What one label set says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelConfig {
    /// Routers, services (without servers) and middlewares, names unqualified.
    pub config: DynamicConfig,
    /// `traefik.http.services.<s>.loadbalancer.server.port`, by service name.
    pub server_ports: BTreeMap<String, u16>,
    /// `traefik.enable`, when present. A value that is not a boolean gives `Some(false)` (and
    /// an issue): when in doubt, do not expose the container.
    pub enable: Option<bool>,
    /// `traefik.docker.network`, when present.
    pub docker_network: Option<String>,
    /// Labels that were wrong; each disables only the element it names.
    pub issues: Vec<ConfigIssue>,
}

#[derive(Default)]
struct RouterLabels {
    router: Router,
}

#[derive(Default)]
struct ServiceLabels {
    lb: LoadBalancer,
    cookie_flag: Option<bool>,
    cookie: Option<StickyCookie>,
    hc_path: Option<String>,
    hc_interval: Option<std::time::Duration>,
    hc_timeout: Option<std::time::Duration>,
    hc_port: Option<u16>,
    hc_any: bool,
}

#[derive(Default)]
struct MiddlewareLabels {
    middleware: Middleware,
}

struct Parser {
    out: LabelConfig,
    routers: BTreeMap<String, RouterLabels>,
    services: BTreeMap<String, ServiceLabels>,
    middlewares: BTreeMap<String, MiddlewareLabels>,
    /// Normalized key -> the label that set it, to catch keys that differ only in case.
    seen: BTreeMap<(Element, String), String>,
}

/// Parses the `traefik.*` labels of one container; other labels are ignored.
pub fn parse(labels: &BTreeMap<String, String>) -> LabelConfig {
    let mut p = Parser {
        out: LabelConfig::default(),
        routers: BTreeMap::new(),
        services: BTreeMap::new(),
        middlewares: BTreeMap::new(),
        seen: BTreeMap::new(),
    };
    for (key, value) in labels {
        let segments: Vec<&str> = key.split('.').collect();
        if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("traefik") {
            continue;
        }
        p.label(key, &segments[1..], value);
    }
    p.finish()
}

fn lower(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| s.to_ascii_lowercase()).collect()
}

impl Parser {
    fn issue(&mut self, element: Element, message: String) {
        self.out.issues.push(ConfigIssue { element, message });
    }

    fn label(&mut self, key: &str, segs: &[&str], value: &str) {
        let l = lower(segs);
        let l: Vec<&str> = l.iter().map(String::as_str).collect();
        match l.as_slice() {
            ["enable"] => match parse_bool(value.trim()) {
                Some(b) => self.out.enable = Some(b),
                None => {
                    self.out.enable = Some(false);
                    self.issue(
                        Element::Source(key.to_string()),
                        format!(
                            "label `{key}={value}`: not a boolean, so the container is left out; write `true` or `false`"
                        ),
                    );
                }
            },
            ["docker", "network"] => {
                let v = value.trim();
                if v.is_empty() {
                    self.issue(
                        Element::Source(key.to_string()),
                        format!("label `{key}` is empty; name the Docker network to reach the container on, or remove the label"),
                    );
                } else {
                    self.out.docker_network = Some(v.to_string());
                }
            }
            ["http", kind @ ("routers" | "services" | "middlewares"), ..] => {
                let Some(name) = segs.get(2).copied().filter(|n| !n.is_empty()) else {
                    self.issue(
                        Element::Source(key.to_string()),
                        format!(
                            "label `{key}` names no {}; write `traefik.http.{kind}.<name>.<option>`",
                            &kind[..kind.len() - 1]
                        ),
                    );
                    return;
                };
                let rest = &l[3..];
                let kind = kind.to_string();
                let element = match kind.as_str() {
                    "routers" => Element::Router(name.to_string()),
                    "services" => Element::Service(name.to_string()),
                    _ => Element::Middleware(name.to_string()),
                };
                let norm = rest.join(".");
                if let Some(prev) = self.seen.insert((element.clone(), norm.clone()), key.to_string()) {
                    self.issue(
                        element,
                        format!("labels `{prev}` and `{key}` set the same option (keys ignore case); keep one"),
                    );
                    return;
                }
                match kind.as_str() {
                    "routers" => self.router(key, name, rest, value),
                    "services" => self.service(key, name, rest, value),
                    _ => self.middleware(key, name, rest, value),
                }
            }
            [proto @ ("tcp" | "udp"), ..] => self.issue(
                Element::Source(key.to_string()),
                format!(
                    "label `{key}`: {} routing is not supported by this proxy (HTTP only); the label is ignored",
                    proto.to_ascii_uppercase()
                ),
            ),
            ["tls", ..] => self.issue(
                Element::Source(key.to_string()),
                format!("label `{key}`: TLS is not supported by this proxy; the label is ignored"),
            ),
            _ => self.issue(
                Element::Source(key.to_string()),
                format!(
                    "unknown label `{key}`; it is ignored (known: traefik.enable, traefik.docker.network, traefik.http.routers|services|middlewares.<name>...)"
                ),
            ),
        }
    }

    fn router(&mut self, key: &str, name: &str, rest: &[&str], value: &str) {
        let entry = self.routers.entry(name.to_string()).or_default();
        let r = &mut entry.router;
        let element = Element::Router(name.to_string());
        let problem = match rest {
            ["rule"] => {
                r.rule = value.to_string();
                None
            }
            ["service"] => {
                r.service = value.trim().to_string();
                None
            }
            ["rulesyntax"] => match RuleSyntax::parse(value) {
                Ok(syntax) => {
                    r.rule_syntax = Some(syntax);
                    None
                }
                Err(e) => Some(format!("label `{key}`: {e}")),
            },
            ["middlewares"] => match list(value) {
                Some(v) => {
                    r.middlewares = v;
                    None
                }
                None => Some(format!(
                    "label `{key}={value}` has an empty entry; list middleware names separated by commas, e.g. `strip,retry@docker`"
                )),
            },
            ["entrypoints"] => match list(value) {
                Some(v) => {
                    r.entry_points = v;
                    None
                }
                None => Some(format!(
                    "label `{key}={value}` has an empty entry; list entrypoint names separated by commas, e.g. `web`"
                )),
            },
            ["priority"] => match value.trim().parse::<i64>() {
                Ok(p) => {
                    r.priority = Some(p);
                    None
                }
                Err(_) => Some(format!(
                    "label `{key}={value}`: the priority must be a whole number (higher wins; leave it out to use the rule's length)"
                )),
            },
            ["tls"] => match parse_bool(value.trim()) {
                Some(on) => {
                    r.tls = on.then(RouterTls::default);
                    None
                }
                None => Some(format!(
                    "label `{key}={value}`: tls must be true or false"
                )),
            },
            ["tls", "certresolver"] => {
                r.tls.get_or_insert_with(Default::default).cert_resolver =
                    Some(value.trim().to_string());
                None
            }
            ["tls", "options"] => {
                r.tls.get_or_insert_with(Default::default).options = Some(value.trim().to_string());
                None
            }
            // The names come from the certificates here (no ACME): accepted, not needed.
            ["tls", d, ..] if d.starts_with("domains") => {
                r.tls.get_or_insert_with(Default::default);
                None
            }
            ["tls", ..] => Some(format!(
                "label `{key}`: unknown router TLS option; write `...tls=true` (and optionally `.tls.certresolver`, `.tls.options`, `.tls.domains`)"
            )),
            [] => Some(format!(
                "label `{key}` sets no option; write e.g. `{key}.rule=Host(`example.com`)`"
            )),
            other => Some(format!(
                "label `{key}`: unknown router option `{}`; router options are rule, ruleSyntax, service, middlewares, priority, entrypoints, tls",
                other.join(".")
            )),
        };
        if let Some(message) = problem {
            self.issue(element, message);
        }
    }

    fn service(&mut self, key: &str, name: &str, rest: &[&str], value: &str) {
        let v = value.trim();
        let element = Element::Service(name.to_string());
        let mut port = None;
        let s = self.services.entry(name.to_string()).or_default();
        let bool_or = |what: &str| format!("label `{key}={value}`: {what} must be true or false");
        let problem = match rest {
            ["loadbalancer", "server", "port"] => match v.parse::<u16>() {
                Ok(p) if p > 0 && v.bytes().all(|b| b.is_ascii_digit()) => {
                    port = Some(p);
                    None
                }
                _ => Some(format!(
                    "label `{key}={value}`: not a port; use the port the container listens on, 1 to 65535"
                )),
            },
            ["loadbalancer", "server", "scheme"] => {
                if v.eq_ignore_ascii_case("http") {
                    None
                } else {
                    Some(format!(
                        "label `{key}={value}`: only `http` is supported to reach servers; remove the label or set it to http"
                    ))
                }
            }
            ["loadbalancer", "server", ..] => Some(format!(
                "label `{key}`: unknown server option; the server options are port and scheme"
            )),
            ["loadbalancer", "passhostheader"] => match parse_bool(v) {
                Some(b) => {
                    s.lb.pass_host_header = b;
                    None
                }
                None => Some(bool_or("passHostHeader")),
            },
            ["loadbalancer", "sticky"] => Some(format!(
                "label `{key}`: stickiness is set with `...loadbalancer.sticky.cookie=true` (and `.sticky.cookie.name=...`)"
            )),
            ["loadbalancer", "sticky", "cookie"] => match parse_bool(v) {
                Some(b) => {
                    s.cookie_flag = Some(b);
                    None
                }
                None => Some(bool_or("sticky.cookie")),
            },
            ["loadbalancer", "sticky", "cookie", opt] => {
                let c = s.cookie.get_or_insert_with(StickyCookie::default);
                match *opt {
                    "name" => {
                        c.name = Some(v.to_string());
                        None
                    }
                    "secure" => match parse_bool(v) {
                        Some(b) => {
                            c.secure = b;
                            None
                        }
                        None => Some(bool_or("secure")),
                    },
                    "httponly" => match parse_bool(v) {
                        Some(b) => {
                            c.http_only = b;
                            None
                        }
                        None => Some(bool_or("httpOnly")),
                    },
                    "samesite" => match v.to_ascii_lowercase().as_str() {
                        "" => None,
                        "none" => {
                            c.same_site = Some(SameSite::None);
                            None
                        }
                        "lax" => {
                            c.same_site = Some(SameSite::Lax);
                            None
                        }
                        "strict" => {
                            c.same_site = Some(SameSite::Strict);
                            None
                        }
                        _ => Some(format!(
                            "label `{key}={value}`: sameSite must be none, lax or strict"
                        )),
                    },
                    "maxage" | "path" | "domain" => Some(format!(
                        "label `{key}`: the cookie option `{opt}` is not supported (the proxy sets the Path from the router's rule); remove the label"
                    )),
                    _ => Some(format!(
                        "label `{key}`: unknown sticky cookie option `{opt}`; the options are name, secure, httpOnly, sameSite"
                    )),
                }
            }
            ["loadbalancer", "sticky", ..] => Some(format!(
                "label `{key}`: unknown sticky option; write `...loadbalancer.sticky.cookie=true` or `.sticky.cookie.<name|secure|httponly|samesite>`"
            )),
            ["loadbalancer", "healthcheck", opt] => {
                s.hc_any = true;
                match *opt {
                    "path" => {
                        s.hc_path = Some(v.to_string());
                        None
                    }
                    "interval" | "timeout" => match duration_str::parse(v) {
                        Ok(d) => {
                            if *opt == "interval" {
                                s.hc_interval = Some(d);
                            } else {
                                s.hc_timeout = Some(d);
                            }
                            None
                        }
                        Err(e) => Some(format!("label `{key}`: {e}")),
                    },
                    "port" => match v.parse::<u16>() {
                        Ok(p) if p > 0 && v.bytes().all(|b| b.is_ascii_digit()) => {
                            s.hc_port = Some(p);
                            None
                        }
                        _ => Some(format!(
                            "label `{key}={value}`: not a port; use 1 to 65535, or leave it out to check the server's own port"
                        )),
                    },
                    "scheme" | "hostname" | "headers" | "followredirects" | "mode" | "method"
                    | "status" => Some(format!(
                        "label `{key}`: the health check option `{opt}` is not supported; the options are path, interval, timeout, port"
                    )),
                    _ => Some(format!(
                        "label `{key}`: unknown health check option `{opt}`; the options are path, interval, timeout, port"
                    )),
                }
            }
            ["loadbalancer", "healthcheck", ..] => Some(format!(
                "label `{key}`: unknown health check option; the options are path, interval, timeout, port"
            )),
            ["loadbalancer", opt @ ("responseforwarding" | "serverstransport"), ..] => Some(format!(
                "label `{key}`: `{opt}` is not supported by this proxy; remove the label"
            )),
            ["loadbalancer", ..] => Some(format!(
                "label `{key}`: unknown load balancer option; the options are server.port, server.scheme, sticky.cookie..., passHostHeader, healthCheck..."
            )),
            [kind @ ("weighted" | "mirroring" | "failover"), ..] => Some(format!(
                "label `{key}`: `{kind}` services are not supported; use a loadBalancer service"
            )),
            [] => Some(format!(
                "label `{key}` sets no option; write e.g. `{key}.loadbalancer.server.port=80`"
            )),
            _ => Some(format!(
                "label `{key}`: unknown service option; services are configured under `.loadbalancer.`"
            )),
        };
        if let Some(p) = port {
            self.out.server_ports.insert(name.to_string(), p);
        }
        if let Some(message) = problem {
            self.issue(element, message);
        }
    }

    fn middleware(&mut self, key: &str, name: &str, rest: &[&str], value: &str) {
        let element = Element::Middleware(name.to_string());
        let m = &mut self
            .middlewares
            .entry(name.to_string())
            .or_default()
            .middleware;
        let problem = match rest {
            [] => Some(format!(
                "label `{key}` sets no middleware type; write e.g. `{key}.stripprefix.prefixes=/api`"
            )),
            [kind, option @ ..] => match m.type_mut(kind) {
                Some(config) => config
                    .set_label(option, value)
                    .err()
                    .map(|e| format!("label `{key}={value}`: {e}")),
                None if UNSUPPORTED_MIDDLEWARES
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(kind)) =>
                {
                    Some(format!(
                        "label `{key}`: middleware type `{kind}` is not supported by this proxy (supported: {}); remove it, and remove `{name}` from the routers that use it",
                        Middleware::type_list()
                    ))
                }
                None => Some(format!(
                    "label `{key}`: unknown middleware type `{kind}`; the supported types are {}",
                    Middleware::type_list()
                )),
            },
        };
        if let Some(message) = problem {
            self.issue(element, message);
        }
    }

    fn finish(mut self) -> LabelConfig {
        for (name, r) in std::mem::take(&mut self.routers) {
            self.out.config.routers.insert(name, r.router);
        }
        for (name, mut s) in std::mem::take(&mut self.services) {
            match (s.cookie_flag, s.cookie.take()) {
                (Some(false), Some(_)) => self.issue(
                    Element::Service(name.clone()),
                    "`sticky.cookie=false` contradicts the other sticky.cookie labels; remove one or the other".into(),
                ),
                (Some(false), None) | (None, None) => {}
                (Some(true), c) | (None, c @ Some(_)) => {
                    s.lb.sticky = Some(Sticky {
                        cookie: Some(c.unwrap_or_default()),
                    });
                }
            }
            if s.hc_any {
                match s.hc_path.take() {
                    Some(path) => {
                        let mut hc = HealthCheck {
                            path,
                            interval: std::time::Duration::from_secs(30),
                            timeout: std::time::Duration::from_secs(5),
                            port: s.hc_port,
                        };
                        if let Some(i) = s.hc_interval {
                            hc.interval = i;
                        }
                        if let Some(t) = s.hc_timeout {
                            hc.timeout = t;
                        }
                        s.lb.health_check = Some(hc);
                    }
                    None => self.issue(
                        Element::Service(name.clone()),
                        format!(
                            "the health check of service `{name}` has no path; add `traefik.http.services.{name}.loadbalancer.healthcheck.path=/`"
                        ),
                    ),
                }
            }
            self.out.config.services.insert(
                name,
                Service {
                    load_balancer: s.lb,
                },
            );
        }
        for (name, m) in std::mem::take(&mut self.middlewares) {
            // A middleware whose labels named no supported type is not built; its issue
            // still names it, so the merge lists it, disabled.
            if m.middleware.has_type() {
                self.out.config.middlewares.insert(name, m.middleware);
            }
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::config::{Retry, StripPrefix};

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn one_issue(pairs: &[(&str, &str)]) -> ConfigIssue {
        let c = parse(&labels(pairs));
        assert_eq!(c.issues.len(), 1, "{pairs:?}: {:#?}", c.issues);
        c.issues[0].clone()
    }

    #[test]
    fn rule_syntax_label() {
        let c = parse(&labels(&[
            ("traefik.http.routers.a.rule", "Headers(`X`, `1`)"),
            ("traefik.http.routers.a.ruleSyntax", "v2"),
            ("traefik.http.routers.b.rule", "Path(`/`)"),
            ("traefik.http.routers.b.RULESYNTAX", "V3"),
            ("traefik.http.routers.c.rule", "Path(`/`)"),
            ("traefik.http.routers.c.ruleSyntax", "v4"),
        ]));
        assert_eq!(c.config.routers["a"].rule_syntax, Some(RuleSyntax::V2));
        assert_eq!(c.config.routers["b"].rule_syntax, Some(RuleSyntax::V3));
        assert_eq!(c.config.routers["c"].rule_syntax, None);
        assert_eq!(c.issues.len(), 1, "{:?}", c.issues);
        assert_eq!(c.issues[0].element, Element::Router("c".into()));
        assert!(c.issues[0].message.contains("v3 (the default) or v2"));
    }

    #[test]
    fn the_reports_static_labels() {
        let c = parse(&labels(&[
            (
                "traefik.http.routers.static.rule",
                "Host(`demo.res.ch`) && PathPrefix(`/`)",
            ),
            (
                "traefik.http.services.static.loadBalancer.sticky.cookie",
                "true",
            ),
            (
                "traefik.http.services.static.loadBalancer.sticky.cookie.name",
                "static_cookie",
            ),
            ("com.docker.compose.service", "static"),
        ]));
        assert!(c.issues.is_empty(), "{:#?}", c.issues);
        let r = &c.config.routers["static"];
        assert_eq!(r.rule, "Host(`demo.res.ch`) && PathPrefix(`/`)");
        assert_eq!(
            r.service, "",
            "the Docker provider fills the default service"
        );
        let lb = &c.config.services["static"].load_balancer;
        assert_eq!(
            lb.sticky,
            Some(Sticky {
                cookie: Some(StickyCookie {
                    name: Some("static_cookie".into()),
                    ..Default::default()
                })
            })
        );
        assert!(lb.pass_host_header);
        assert!(lb.servers.is_empty());
        assert!(c.server_ports.is_empty());
        assert_eq!(c.enable, None);
        assert!(c.config.middlewares.is_empty());
    }

    #[test]
    fn the_reports_dynamic_labels() {
        let c = parse(&labels(&[
            (
                "traefik.http.routers.dynamic.rule",
                "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)",
            ),
            (
                "traefik.http.middlewares.dynamic.stripprefix.prefixes",
                "/api/jokes/",
            ),
            ("traefik.http.routers.dynamic.middlewares", "dynamic@docker"),
        ]));
        assert!(c.issues.is_empty(), "{:#?}", c.issues);
        let r = &c.config.routers["dynamic"];
        assert_eq!(r.middlewares, vec!["dynamic@docker".to_string()]);
        assert_eq!(
            c.config.middlewares["dynamic"].strip_prefix,
            Some(StripPrefix {
                prefixes: vec!["/api/jokes/".into()]
            })
        );
        assert!(c.config.services.is_empty());
    }

    #[test]
    fn every_supported_label() {
        let c = parse(&labels(&[
            ("traefik.enable", "TRUE"),
            ("traefik.docker.network", "servers1_default"),
            ("traefik.http.routers.Web.rule", "Path(`/`)"),
            ("traefik.http.routers.Web.service", " site "),
            ("traefik.http.routers.Web.middlewares", "a, b@file"),
            ("traefik.http.routers.Web.priority", "-5"),
            ("traefik.http.routers.Web.entrypoints", "web,admin"),
            ("traefik.http.routers.Web.tls", "false"),
            (
                "traefik.http.services.site.loadbalancer.server.port",
                "8080",
            ),
            (
                "traefik.http.services.site.loadbalancer.server.scheme",
                "HTTP",
            ),
            (
                "traefik.http.services.site.loadbalancer.passHostHeader",
                "f",
            ),
            (
                "traefik.http.services.site.loadbalancer.sticky.cookie.secure",
                "1",
            ),
            (
                "traefik.http.services.site.loadbalancer.sticky.cookie.httpOnly",
                "T",
            ),
            (
                "traefik.http.services.site.loadbalancer.sticky.cookie.sameSite",
                "Strict",
            ),
            (
                "traefik.http.services.site.loadbalancer.healthCheck.path",
                "/health",
            ),
            (
                "traefik.http.services.site.loadbalancer.healthCheck.interval",
                "2s",
            ),
            (
                "traefik.http.services.site.loadbalancer.healthCheck.timeout",
                "500ms",
            ),
            (
                "traefik.http.services.site.loadbalancer.healthCheck.port",
                "9000",
            ),
            ("traefik.http.middlewares.a.stripPrefix.prefixes", "/x,/y"),
            ("traefik.http.middlewares.a.stripPrefix.forceSlash", "true"),
            ("traefik.http.middlewares.R.retry.attempts", "3"),
        ]));
        assert!(c.issues.is_empty(), "{:#?}", c.issues);
        assert_eq!(c.enable, Some(true));
        assert_eq!(c.docker_network.as_deref(), Some("servers1_default"));
        assert_eq!(
            c.config.routers["Web"],
            Router {
                rule: "Path(`/`)".into(),
                rule_syntax: None,
                service: "site".into(),
                middlewares: vec!["a".into(), "b@file".into()],
                priority: Some(-5),
                entry_points: vec!["web".into(), "admin".into()],
                tls: None,
            }
        );
        let secure = parse(&labels(&[
            ("traefik.http.routers.s.rule", "Path(`/`)"),
            ("traefik.http.routers.s.tls", "true"),
            ("traefik.http.routers.r.rule", "Path(`/`)"),
            ("traefik.http.routers.r.tls.certresolver", "le"),
            ("traefik.http.routers.r.tls.domains[0].main", "lab.local"),
        ]));
        assert!(secure.issues.is_empty(), "{:#?}", secure.issues);
        assert_eq!(secure.config.routers["s"].tls, Some(RouterTls::default()));
        let r = secure.config.routers["r"].tls.as_ref().unwrap();
        assert_eq!(r.cert_resolver.as_deref(), Some("le"));
        assert_eq!(c.server_ports["site"], 8080);
        let lb = &c.config.services["site"].load_balancer;
        assert!(!lb.pass_host_header);
        assert_eq!(
            lb.sticky.as_ref().unwrap().cookie,
            Some(StickyCookie {
                name: None,
                secure: true,
                http_only: true,
                same_site: Some(SameSite::Strict),
            })
        );
        assert_eq!(
            lb.health_check,
            Some(HealthCheck {
                path: "/health".into(),
                interval: Duration::from_secs(2),
                timeout: Duration::from_millis(500),
                port: Some(9000),
            })
        );
        assert_eq!(
            c.config.middlewares["a"]
                .strip_prefix
                .as_ref()
                .unwrap()
                .prefixes,
            vec!["/x".to_string(), "/y".to_string()]
        );
        assert_eq!(c.config.middlewares["R"].retry, Some(Retry { attempts: 3 }));
    }

    #[test]
    fn segments_ignore_case_names_keep_it() {
        let c = parse(&labels(&[
            ("Traefik.HTTP.Routers.MyRouter.RULE", "Path(`/`)"),
            ("traefik.http.services.MySvc.LoadBalancer.Server.Port", "80"),
            (
                "traefik.http.services.MySvc.loadbalancer.STICKY.cookie",
                "true",
            ),
        ]));
        assert!(c.issues.is_empty(), "{:#?}", c.issues);
        assert!(c.config.routers.contains_key("MyRouter"));
        assert_eq!(c.server_ports["MySvc"], 80);
        assert_eq!(
            c.config.services["MySvc"].load_balancer.sticky,
            Some(Sticky {
                cookie: Some(StickyCookie::default())
            })
        );
    }

    #[test]
    fn other_labels_are_ignored() {
        let c = parse(&labels(&[
            ("com.docker.compose.project", "servers1"),
            ("traefikx.enable", "maybe"),
            ("traefik", "x"),
        ]));
        assert_eq!(c, LabelConfig::default());
    }

    #[test]
    fn sticky_cookie_false_is_not_sticky() {
        let c = parse(&labels(&[(
            "traefik.http.services.s.loadbalancer.sticky.cookie",
            "false",
        )]));
        assert!(c.issues.is_empty());
        assert_eq!(c.config.services["s"].load_balancer.sticky, None);
    }

    /// Each wrong label: the element it disables, and a word of the message.
    #[test]
    fn wrong_labels_name_what_they_disable() {
        let r = |n: &str| Element::Router(n.into());
        let s = |n: &str| Element::Service(n.into());
        let m = |n: &str| Element::Middleware(n.into());
        let src = |n: &str| Element::Source(n.into());
        let cases: Vec<(&str, &str, Element, &str)> = vec![
            (
                "traefik.enable",
                "yes",
                src("traefik.enable"),
                "true` or `false",
            ),
            (
                "traefik.docker.network",
                " ",
                src("traefik.docker.network"),
                "empty",
            ),
            (
                "traefik.docker.lbswarm",
                "true",
                src("traefik.docker.lbswarm"),
                "unknown label",
            ),
            ("traefik.foo", "1", src("traefik.foo"), "unknown label"),
            (
                "traefik.tcp.routers.t.rule",
                "HostSNI(`*`)",
                src("traefik.tcp.routers.t.rule"),
                "TCP",
            ),
            (
                "traefik.udp.services.u.loadbalancer.server.port",
                "53",
                src("traefik.udp.services.u.loadbalancer.server.port"),
                "UDP",
            ),
            (
                "traefik.tls.options.x.minversion",
                "1",
                src("traefik.tls.options.x.minversion"),
                "TLS",
            ),
            (
                "traefik.http.routers..rule",
                "Path(`/`)",
                src("traefik.http.routers..rule"),
                "names no router",
            ),
            (
                "traefik.http.routers.r.priority",
                "high",
                r("r"),
                "whole number",
            ),
            (
                "traefik.http.routers.r.middlewares",
                "a,,b",
                r("r"),
                "empty entry",
            ),
            (
                "traefik.http.routers.r.entrypoints",
                "",
                r("r"),
                "empty entry",
            ),
            (
                "traefik.http.routers.r.tls",
                "yes please",
                r("r"),
                "true or false",
            ),
            (
                "traefik.http.routers.r.tls.ciphers",
                "x",
                r("r"),
                "unknown router TLS option",
            ),
            ("traefik.http.routers.r", "x", r("r"), "sets no option"),
            (
                "traefik.http.routers.r.rulez",
                "x",
                r("r"),
                "unknown router option `rulez`",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.port",
                "http",
                s("s"),
                "not a port",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.port",
                "0",
                s("s"),
                "not a port",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.port",
                "65536",
                s("s"),
                "not a port",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.port",
                "+80",
                s("s"),
                "not a port",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.scheme",
                "https",
                s("s"),
                "only `http`",
            ),
            (
                "traefik.http.services.s.loadbalancer.server.url",
                "x",
                s("s"),
                "server option",
            ),
            (
                "traefik.http.services.s.loadbalancer.passhostheader",
                "yes",
                s("s"),
                "true or false",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky",
                "true",
                s("s"),
                "sticky.cookie=true",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie",
                "on",
                s("s"),
                "true or false",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.secure",
                "on",
                s("s"),
                "true or false",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.httponly",
                "on",
                s("s"),
                "true or false",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.samesite",
                "always",
                s("s"),
                "none, lax or strict",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.maxage",
                "10",
                s("s"),
                "not supported",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.color",
                "red",
                s("s"),
                "unknown sticky cookie option",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.session",
                "x",
                s("s"),
                "unknown sticky option",
            ),
            (
                "traefik.http.services.s.loadbalancer.healthcheck.interval",
                "soon",
                s("s"),
                "not a duration",
            ),
            (
                "traefik.http.services.s.loadbalancer.healthcheck.port",
                "x",
                s("s"),
                "not a port",
            ),
            (
                "traefik.http.services.s.loadbalancer.healthcheck.scheme",
                "https",
                s("s"),
                "not supported",
            ),
            (
                "traefik.http.services.s.loadbalancer.healthcheck.x",
                "1",
                s("s"),
                "unknown health check option",
            ),
            (
                "traefik.http.services.s.loadbalancer.responseforwarding.flushinterval",
                "1s",
                s("s"),
                "not supported",
            ),
            (
                "traefik.http.services.s.loadbalancer.method",
                "drr",
                s("s"),
                "unknown load balancer option",
            ),
            (
                "traefik.http.services.s.weighted.services",
                "a",
                s("s"),
                "not supported",
            ),
            (
                "traefik.http.services.s.port",
                "80",
                s("s"),
                "under `.loadbalancer.`",
            ),
            ("traefik.http.services.s", "80", s("s"), "sets no option"),
            (
                "traefik.http.middlewares.auth.basicauth.users",
                "u:p",
                m("auth"),
                "`basicauth` is not supported",
            ),
            (
                "traefik.http.middlewares.h.ratelimit.average",
                "1",
                m("h"),
                "not supported",
            ),
            (
                "traefik.http.middlewares.x.magic.level",
                "9",
                m("x"),
                "unknown middleware type `magic`",
            ),
            (
                "traefik.http.middlewares.x",
                "1",
                m("x"),
                "sets no middleware type",
            ),
            (
                "traefik.http.middlewares.x.stripprefix",
                "/a",
                m("x"),
                "incomplete",
            ),
            (
                "traefik.http.middlewares.x.stripprefix.prefix",
                "/a",
                m("x"),
                "unknown stripPrefix option",
            ),
            (
                "traefik.http.middlewares.x.stripprefix.prefixes",
                "/a,",
                m("x"),
                "empty prefix",
            ),
            (
                "traefik.http.middlewares.x.stripprefix.forceslash",
                "false",
                m("x"),
                "not supported",
            ),
            (
                "traefik.http.middlewares.x.stripprefix.forceslash",
                "nope",
                m("x"),
                "true or false",
            ),
            (
                "traefik.http.middlewares.x.retry.attempts",
                "0",
                m("x"),
                "at least 1",
            ),
            (
                "traefik.http.middlewares.x.retry.attempts",
                "three",
                m("x"),
                "at least 1",
            ),
            (
                "traefik.http.middlewares.x.retry.initialinterval",
                "1s",
                m("x"),
                "not supported",
            ),
            (
                "traefik.http.middlewares.x.retry.max",
                "1",
                m("x"),
                "unknown retry option",
            ),
        ];
        for (k, v, element, needle) in cases {
            let hc_path = ("traefik.http.services.s.loadbalancer.healthcheck.path", "/");
            let i = if k.contains("healthcheck") {
                one_issue(&[(k, v), hc_path])
            } else {
                one_issue(&[(k, v)])
            };
            assert_eq!(i.element, element, "{k}={v}: {}", i.message);
            assert!(i.message.contains(needle), "{k}={v}: {}", i.message);
            assert!(
                i.message.contains(k),
                "the message names the label: {}",
                i.message
            );
        }
    }

    #[test]
    fn a_wrong_label_leaves_the_rest_working() {
        let c = parse(&labels(&[
            ("traefik.http.routers.a.rule", "Path(`/a`)"),
            ("traefik.http.routers.a.priority", "x"),
            ("traefik.http.routers.b.rule", "Path(`/b`)"),
            ("traefik.http.middlewares.auth.basicauth.users", "u:p"),
            ("traefik.http.middlewares.strip.stripprefix.prefixes", "/b"),
        ]));
        assert_eq!(c.issues.len(), 2);
        // The router with a bad label stays in the config (the merge shows it disabled).
        assert!(c.config.routers.contains_key("a"));
        assert_eq!(c.config.routers["b"].rule, "Path(`/b`)");
        // A middleware of an unsupported type is not built; its issue still names it.
        assert!(!c.config.middlewares.contains_key("auth"));
        assert!(c.config.middlewares.contains_key("strip"));
    }

    #[test]
    fn conflicts_and_missing_parts_are_reported() {
        let i = one_issue(&[
            ("traefik.http.routers.r.rule", "Path(`/a`)"),
            ("traefik.http.routers.r.Rule", "Path(`/b`)"),
        ]);
        assert_eq!(i.element, Element::Router("r".into()));
        assert!(i.message.contains("set the same option"));

        let i = one_issue(&[(
            "traefik.http.services.s.loadbalancer.healthcheck.interval",
            "5s",
        )]);
        assert_eq!(i.element, Element::Service("s".into()));
        assert!(i.message.contains("has no path"));

        let i = one_issue(&[
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie",
                "false",
            ),
            (
                "traefik.http.services.s.loadbalancer.sticky.cookie.name",
                "x",
            ),
        ]);
        assert!(i.message.contains("contradicts"));
    }

    #[test]
    fn parsed_labels_validate_and_merge_like_the_report() {
        use crate::config::merge::{merge, Status};
        use crate::config::model::{ProviderConfig, Server};
        let s = parse(&labels(&[
            (
                "traefik.http.routers.static.rule",
                "Host(`demo.res.ch`) && PathPrefix(`/`)",
            ),
            ("traefik.http.routers.static.service", "static"),
            (
                "traefik.http.services.static.loadBalancer.sticky.cookie",
                "true",
            ),
            (
                "traefik.http.services.static.loadBalancer.sticky.cookie.name",
                "static_cookie",
            ),
            (
                "traefik.http.routers.dynamic.rule",
                "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)",
            ),
            ("traefik.http.routers.dynamic.service", "dynamic"),
            (
                "traefik.http.services.dynamic.loadbalancer.server.port",
                "3000",
            ),
            (
                "traefik.http.middlewares.dynamic.stripprefix.prefixes",
                "/api/jokes/",
            ),
            ("traefik.http.routers.dynamic.middlewares", "dynamic@docker"),
        ]));
        let mut cfg = s.config;
        for svc in cfg.services.values_mut() {
            svc.load_balancer.servers.push(Server {
                url: "http://172.18.0.2:80".into(),
                name: "c1".into(),
            });
        }
        let pc: ProviderConfig = crate::config::validate::validate("docker", cfg);
        assert!(pc.issues.is_empty(), "{:#?}", pc.issues);
        let m = merge([("docker", &pc)]);
        assert!(m.issues.is_empty(), "{:#?}", m.issues);
        assert_eq!(m.routers["dynamic@docker"].status, Status::Enabled);
        assert_eq!(
            m.services["dynamic@docker"].sticky_cookie_path,
            "/api/jokes/"
        );
        assert_eq!(m.services["static@docker"].sticky_cookie_path, "/");
        assert_eq!(
            m.services["static@docker"].sticky_cookie_name.as_deref(),
            Some("static_cookie")
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_issues_name_elements_it_saw(
            pairs in prop::collection::btree_map(
                "(traefik|Traefik|x)\\.(enable|docker\\.network|http\\.(routers|services|middlewares)\\.[a-zA-Z]{0,3}(\\.[a-zA-Z]{0,12}){0,4}|tcp\\.x)",
                "[ -~]{0,12}",
                0..12,
            )
        ) {
            let c = parse(&pairs);
            for i in &c.issues {
                prop_assert!(!i.message.is_empty());
            }
        }

        #[test]
        fn never_panics_on_arbitrary_keys(pairs in prop::collection::btree_map(".{0,40}", ".{0,20}", 0..8)) {
            let _ = parse(&pairs);
        }
    }
}
