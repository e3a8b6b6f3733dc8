//! Validation of a provider's configuration, shared by the file and Docker providers.
//!
//! Why "report, don't reject": one wrong label or file entry must not take the rest of the
//! routing down. Each problem becomes a [`ConfigIssue`] naming the one element it disables; the
//! element stays in the configuration so the API can list it, disabled, with its error (the merge
//! disables every element an issue names). Messages say what to change.

use super::model::{
    ConfigIssue, DynamicConfig, Element, HealthCheck, Middleware, ProviderConfig, Service,
};
use super::rule::{Rule, RuleError, RuleSyntax};

/// Checks `cfg` and returns it with every problem found. `provider` names the provider in
/// messages (`docker`, `file`).
pub fn validate(provider: &str, cfg: DynamicConfig) -> ProviderConfig {
    let _ = provider;
    let issues = check(&cfg, None);
    ProviderConfig {
        config: cfg,
        issues,
    }
}

/// A rule's error in `syntax`, or, when that is not known, in both syntaxes (then v3's).
fn check_rule(rule: &str, syntax: Option<RuleSyntax>) -> Result<(), RuleError> {
    match syntax {
        Some(syntax) => Rule::parse_with(rule, syntax).map(drop),
        None => match Rule::parse_with(rule, RuleSyntax::V3) {
            Err(e) if Rule::parse_with(rule, RuleSyntax::V2).is_err() => Err(e),
            _ => Ok(()),
        },
    }
}

/// Every problem in `cfg`, in a stable order (routers, services, middlewares, by name).
/// `default_syntax` is `--core.defaultRuleSyntax`, the language of rules whose router sets no
/// `ruleSyntax`; `None` where it is not known (a provider's own check): those rules are then
/// refused only when no syntax reads them, and the rest is left to the merge, which knows it.
pub fn check(cfg: &DynamicConfig, default_syntax: Option<RuleSyntax>) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for (name, router) in &cfg.routers {
        let mut bad = |message: String| {
            issues.push(ConfigIssue {
                element: Element::Router(name.clone()),
                message,
            })
        };
        if let Some(m) = check_name(name, "router") {
            bad(m);
        }
        if router.rule.trim().is_empty() {
            bad("the router has no rule; give it one, e.g. Host(`example.com`)".into());
        } else if let Err(e) = check_rule(&router.rule, router.rule_syntax.or(default_syntax)) {
            bad(format!("rule `{}`: {e}", router.rule));
        }
        if router.service.trim().is_empty() {
            bad("the router has no service; name the service its requests go to".into());
        } else if let Some(m) = check_reference(&router.service, "service") {
            bad(m);
        }
        for m in &router.middlewares {
            if let Some(msg) = check_reference(m, "middleware") {
                bad(msg);
            }
        }
        for ep in &router.entry_points {
            if ep.trim().is_empty() {
                bad("an entrypoint name is empty; list entrypoints like `web`".into());
            }
        }
    }
    for (name, service) in &cfg.services {
        for message in check_service(name, service) {
            issues.push(ConfigIssue {
                element: Element::Service(name.clone()),
                message,
            });
        }
    }
    for (name, m) in &cfg.middlewares {
        for message in check_middleware(name, m) {
            issues.push(ConfigIssue {
                element: Element::Middleware(name.clone()),
                message,
            });
        }
    }
    issues
}

fn check_name(name: &str, what: &str) -> Option<String> {
    if name.is_empty() {
        Some(format!("a {what} has an empty name; give it a name"))
    } else if name.contains('@') {
        Some(format!(
            "the {what} name `{name}` contains `@`, which is reserved for `name@provider` references; rename it"
        ))
    } else {
        None
    }
}

fn check_reference(r: &str, what: &str) -> Option<String> {
    let (name, provider) = r.split_once('@').unwrap_or((r, "x"));
    if name.trim().is_empty() || provider.is_empty() || provider.contains('@') {
        Some(format!(
            "`{r}` is not a valid {what} reference; write `name` or `name@provider`"
        ))
    } else {
        None
    }
}

fn check_service(name: &str, service: &Service) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = check_name(name, "service") {
        out.push(m);
    }
    let lb = &service.load_balancer;
    for server in &lb.servers {
        if let Err(e) = server.url.target() {
            out.push(e.to_string());
        }
    }
    if let Some(cookie) = lb.sticky.as_ref().and_then(|s| s.cookie.as_ref()) {
        if let Some(n) = &cookie.name {
            if !is_cookie_token(n) {
                out.push(format!(
                    "sticky cookie name `{n}` is not a valid cookie name; use letters, digits and `!#$%&'*+-.^_`|~` only (or leave it out for the default)"
                ));
            }
        }
    }
    if let Some(hc) = &lb.health_check {
        out.extend(check_health(hc));
    }
    out
}

fn check_health(hc: &HealthCheck) -> Vec<String> {
    let mut out = Vec::new();
    if !hc.path.starts_with('/') {
        out.push(format!(
            "health check path `{}` must start with `/`, e.g. `/health`",
            hc.path
        ));
    } else if hc.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        out.push(format!(
            "health check path `{}` contains spaces or control characters; percent-encode them",
            hc.path.escape_debug()
        ));
    }
    if hc.interval.is_zero() {
        out.push("health check interval must be more than 0, e.g. `10s`".into());
    }
    if hc.timeout.is_zero() {
        out.push("health check timeout must be more than 0, e.g. `2s`".into());
    }
    if hc.port == Some(0) {
        out.push("health check port 0 is not a port; use 1-65535 or leave it out".into());
    }
    out
}

fn check_middleware(name: &str, m: &Middleware) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(msg) = check_name(name, "middleware") {
        out.push(msg);
    }
    if let Err(e) = m.compile() {
        out.push(e);
    }
    out
}

/// A valid cookie name: an RFC 6265 token (visible ASCII except separators).
pub fn is_cookie_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// Traefik's default sticky cookie name for a service (pass the qualified name, e.g.
/// `static@docker`): `_` followed by the first 5 hex digits of
/// SHA-1(`"_TRAEFIK_BACKEND_" + name`), exactly as Traefik v2 computes it
/// (`pkg/server/cookie.GenerateName`), so the names students see match Traefik's.
pub fn default_cookie_name(service: &str) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(format!("_TRAEFIK_BACKEND_{service}").as_bytes());
    let hex: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!("_{}", &hex[..5])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::model::*;

    fn router(rule: &str, service: &str) -> Router {
        Router {
            rule: rule.into(),
            service: service.into(),
            ..Default::default()
        }
    }

    fn elements(issues: &[ConfigIssue]) -> Vec<Element> {
        issues.iter().map(|i| i.element.clone()).collect()
    }

    #[test]
    fn a_good_config_has_no_issues() {
        let mut cfg = DynamicConfig::default();
        cfg.routers
            .insert("r".into(), router("Host(`a`) && PathPrefix(`/`)", "s"));
        cfg.services.insert(
            "s".into(),
            Service {
                load_balancer: LoadBalancer {
                    servers: vec![Server {
                        url: "http://10.0.0.2:80".into(),
                        name: String::new(),
                    }],
                    ..Default::default()
                },
            },
        );
        cfg.middlewares.insert(
            "m".into(),
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/api".into()],
                }),
                ..Default::default()
            },
        );
        let pc = validate("file", cfg.clone());
        assert!(pc.issues.is_empty(), "{:?}", pc.issues);
        assert_eq!(pc.config, cfg);
    }

    #[test]
    fn each_problem_names_its_element() {
        let mut cfg = DynamicConfig::default();
        cfg.routers
            .insert("badrule".into(), router("Host(`a`", "s"));
        cfg.routers.insert("norule".into(), router("", "s"));
        cfg.routers
            .insert("noservice".into(), router("Path(`/`)", ""));
        cfg.routers.insert("a@b".into(), router("Path(`/`)", "s"));
        cfg.services.insert(
            "https".into(),
            Service {
                load_balancer: LoadBalancer {
                    servers: vec![Server {
                        url: "https://x:1".into(),
                        name: String::new(),
                    }],
                    ..Default::default()
                },
            },
        );
        cfg.services.insert(
            "cookie".into(),
            Service {
                load_balancer: LoadBalancer {
                    sticky: Some(Sticky {
                        cookie: Some(StickyCookie {
                            name: Some("bad name".into()),
                            ..Default::default()
                        }),
                    }),
                    ..Default::default()
                },
            },
        );
        cfg.services.insert(
            "hc".into(),
            Service {
                load_balancer: LoadBalancer {
                    health_check: Some(HealthCheck {
                        path: "health".into(),
                        interval: Duration::ZERO,
                        timeout: Duration::from_secs(1),
                        port: Some(0),
                    }),
                    ..Default::default()
                },
            },
        );
        cfg.middlewares
            .insert("empty".into(), Middleware::default());
        cfg.middlewares.insert(
            "two".into(),
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/a".into()],
                }),
                retry: Some(Retry { attempts: 2 }),
                ..Default::default()
            },
        );
        cfg.middlewares.insert(
            "noprefix".into(),
            Middleware {
                strip_prefix: Some(StripPrefix { prefixes: vec![] }),
                ..Default::default()
            },
        );
        cfg.middlewares.insert(
            "zero".into(),
            Middleware {
                retry: Some(Retry { attempts: 0 }),
                ..Default::default()
            },
        );
        let issues = check(&cfg, Some(RuleSyntax::V3));
        let e = elements(&issues);
        for (el, needle) in [
            (Element::Router("badrule".into()), "position"),
            (Element::Router("norule".into()), "no rule"),
            (Element::Router("noservice".into()), "no service"),
            (Element::Router("a@b".into()), "`@`"),
            (Element::Service("https".into()), "https"),
            (Element::Service("cookie".into()), "cookie name"),
            (Element::Service("hc".into()), "must start with `/`"),
            (Element::Service("hc".into()), "interval"),
            (Element::Service("hc".into()), "port 0"),
            (Element::Middleware("empty".into()), "no type"),
            (Element::Middleware("two".into()), "several types"),
            (Element::Middleware("noprefix".into()), "no prefixes"),
            (Element::Middleware("zero".into()), "at least 1"),
        ] {
            assert!(
                issues
                    .iter()
                    .any(|i| i.element == el && i.message.contains(needle)),
                "missing {el:?} {needle}: {issues:#?}"
            );
        }
        assert!(!e.contains(&Element::Router("noservice2".into())));
    }

    #[test]
    fn cookie_tokens() {
        assert!(is_cookie_token("static_cookie"));
        assert!(is_cookie_token("_abcde"));
        for bad in ["", "a b", "a;b", "a=b", "é", "a\"", "a,b"] {
            assert!(!is_cookie_token(bad), "{bad}");
        }
    }

    #[test]
    fn default_cookie_name_is_stable_and_a_token() {
        let a = default_cookie_name("static@docker");
        assert_eq!(a.len(), 6);
        assert!(a.starts_with('_'));
        assert!(is_cookie_token(&a));
        assert_eq!(a, default_cookie_name("static@docker"));
        assert_ne!(a, default_cookie_name("dynamic@docker"));
    }
}
