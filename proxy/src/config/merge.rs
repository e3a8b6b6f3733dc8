//! The merge: every provider's latest configuration into one, with qualified names.
//!
//! Why a separate, pure step: providers (file, Docker) only describe what they want; the merge
//! decides what is actually routable, the way Traefik's runtime configuration does. It qualifies
//! every name with its provider (`static` from `docker` becomes `static@docker`), resolves
//! unqualified references within the same provider, and disables what cannot work: an element a
//! provider reported an issue about, a router whose rule does not parse, whose service or one of
//! whose middlewares is missing or disabled (as in Traefik: a router with a missing middleware is
//! not routed at all rather than routed without it). Everything else keeps routing.
//!
//! The data plane compiles a [`MergedConfig`] into its routing snapshot, and the API serves it in
//! Traefik's shapes (`status`, `error`, `usedBy`, `provider`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{
    ConfigIssue, DynamicConfig, Element, Middleware, ProviderConfig, Router, Service,
};
use super::rule::{Rule, RuleSyntax};
use super::validate;

/// Traefik's status of a router, service or middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Routable.
    Enabled,
    /// Not routed at all; `errors` says why.
    Disabled,
    /// Routed, but something deserves attention (`errors` says what), e.g. a service with no
    /// servers (its routers answer 503).
    Warning,
}

impl Status {
    /// Routers, services and middlewares that take part in routing.
    pub fn is_usable(self) -> bool {
        self != Status::Disabled
    }
}

/// One router of the merged configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterEntry {
    /// The router as its provider wrote it, except that `service` and `middlewares` are
    /// qualified (`name@provider`).
    pub router: Router,
    /// The provider it came from (`docker`, `file`).
    pub provider: String,
    pub status: Status,
    /// Why it is disabled (or warned about); empty when enabled.
    pub errors: Vec<String>,
    /// The effective priority: the explicit one, else the rule's length in bytes (Traefik's
    /// default). Higher wins.
    pub priority: i64,
    /// The compiled rule; `None` only when the rule does not parse (then `status` is disabled).
    #[serde(skip)]
    pub rule: Option<Rule>,
}

/// One service of the merged configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {
    pub service: Service,
    pub provider: String,
    pub status: Status,
    pub errors: Vec<String>,
    /// Qualified names of the routers that point at this service (whatever their status).
    pub used_by: Vec<String>,
    /// The sticky cookie's name when the service is sticky: the configured one, else Traefik's
    /// default (see [`validate::default_cookie_name`]). `None`: not sticky.
    pub sticky_cookie_name: Option<String>,
    /// The sticky cookie's `Path`: the narrowest path every request reaching this service
    /// through an enabled router starts with (see [`Rule::cookie_path`]), `/` when the routers
    /// disagree or none is known.
    pub sticky_cookie_path: String,
}

/// One middleware of the merged configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MiddlewareEntry {
    pub middleware: Middleware,
    pub provider: String,
    pub status: Status,
    pub errors: Vec<String>,
    /// Qualified names of the routers that use this middleware.
    pub used_by: Vec<String>,
}

/// Every provider's configuration merged into one: what the data plane routes and the API shows.
///
/// - Keys are qualified names (`static@docker`); references inside entries are qualified too.
/// - Every element a provider mentioned is here, including disabled ones (with `errors`), so the
///   API can show why something is not routed.
/// - Only entries whose `status` is not [`Status::Disabled`] may be routed; a router that is
///   enabled is guaranteed to have a parsed `rule`, an existing usable service, and existing
///   usable middlewares.
/// - `issues` lists every problem found (provider issues and merge errors), element names
///   qualified, for the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedConfig {
    pub routers: BTreeMap<String, RouterEntry>,
    pub services: BTreeMap<String, ServiceEntry>,
    pub middlewares: BTreeMap<String, MiddlewareEntry>,
    pub issues: Vec<ConfigIssue>,
}

impl MergedConfig {
    /// The routable routers, highest priority first (ties: by name, for a stable order).
    pub fn routers_by_priority(&self) -> Vec<(&str, &RouterEntry)> {
        let mut routers: Vec<(&str, &RouterEntry)> = self
            .routers
            .iter()
            .filter(|(_, r)| r.status.is_usable() && r.rule.is_some())
            .map(|(name, r)| (name.as_str(), r))
            .collect();
        routers.sort_by(|a, b| b.1.priority.cmp(&a.1.priority).then(a.0.cmp(b.0)));
        routers
    }
}

/// `name@provider`; a name that is already qualified is kept.
pub fn qualify(name: &str, provider: &str) -> String {
    if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@{provider}")
    }
}

/// The qualified key of an element a provider defines: always `name@provider` (a defined name
/// containing `@` is reported by validation and disabled).
fn qualify_key(name: &str, provider: &str) -> String {
    format!("{name}@{provider}")
}

/// Merges the latest configuration of each provider (`(provider name, config)`).
///
/// Runs [`validate::check`] on each configuration itself (issues already reported by the
/// provider are not repeated), so a provider that skipped validation cannot break routing.
pub fn merge<'a>(
    providers: impl IntoIterator<Item = (&'a str, &'a ProviderConfig)>,
) -> MergedConfig {
    merge_with(providers, RuleSyntax::default())
}

/// [`merge`], reading the rules of routers without `ruleSyntax` in `default_syntax`
/// (`--core.defaultRuleSyntax`).
pub fn merge_with<'a>(
    providers: impl IntoIterator<Item = (&'a str, &'a ProviderConfig)>,
    default_syntax: RuleSyntax,
) -> MergedConfig {
    let mut out = MergedConfig::default();
    // Errors by qualified element, before statuses are decided.
    let mut errors: BTreeMap<Element, Vec<String>> = BTreeMap::new();

    for (provider, pc) in providers {
        let mut issues = pc.issues.clone();
        for issue in validate::check(&pc.config, Some(default_syntax)) {
            if !issues.contains(&issue) {
                issues.push(issue);
            }
        }
        add_provider(&mut out, provider, &pc.config, default_syntax);
        for issue in issues {
            let element = qualify_element(&issue.element, provider);
            ensure_element(&mut out, &element, provider);
            if !matches!(element, Element::Source(_)) {
                errors
                    .entry(element.clone())
                    .or_default()
                    .push(issue.message.clone());
            }
            out.issues.push(ConfigIssue {
                element,
                message: issue.message,
            });
        }
    }

    // Provider issues disable what they name.
    for (element, msgs) in errors {
        match element {
            Element::Router(n) => disable(
                &mut out
                    .routers
                    .get_mut(&n)
                    .map(|e| (&mut e.status, &mut e.errors)),
                msgs,
            ),
            Element::Service(n) => disable(
                &mut out
                    .services
                    .get_mut(&n)
                    .map(|e| (&mut e.status, &mut e.errors)),
                msgs,
            ),
            Element::Middleware(n) => disable(
                &mut out
                    .middlewares
                    .get_mut(&n)
                    .map(|e| (&mut e.status, &mut e.errors)),
                msgs,
            ),
            Element::Source(_) => {}
        }
    }

    // Services without servers still route (503), but deserve a warning.
    for entry in out.services.values_mut() {
        if entry.status == Status::Enabled && entry.service.load_balancer.servers.is_empty() {
            entry.status = Status::Warning;
            entry
                .errors
                .push("no servers: requests routed here get 503 until a server appears".into());
        }
    }

    // Routers: rule, service and middlewares must exist and be usable.
    let mut merge_issues = Vec::new();
    let names: Vec<String> = out.routers.keys().cloned().collect();
    for name in names {
        let mut new_errors = Vec::new();
        let (service, middlewares) = {
            let r = &out.routers[&name];
            (r.router.service.clone(), r.router.middlewares.clone())
        };
        if !service.is_empty() {
            match out.services.get_mut(&service) {
                None => new_errors.push(format!(
                    "the service `{service}` does not exist; define it or fix the router's service"
                )),
                Some(s) => {
                    s.used_by.push(name.clone());
                    if !s.status.is_usable() {
                        new_errors.push(format!(
                            "its service `{service}` is disabled: {}",
                            s.errors.join("; ")
                        ));
                    }
                }
            }
        }
        for m in &middlewares {
            match out.middlewares.get_mut(m) {
                None => new_errors.push(format!(
                    "the middleware `{m}` does not exist; define it or remove it from the router's middlewares"
                )),
                Some(e) => {
                    e.used_by.push(name.clone());
                    if !e.status.is_usable() {
                        new_errors.push(format!(
                            "its middleware `{m}` is disabled: {}",
                            e.errors.join("; ")
                        ));
                    }
                }
            }
        }
        let entry = out.routers.get_mut(&name).expect("router listed above");
        if entry.rule.is_none() && entry.status.is_usable() {
            new_errors.push("the rule does not parse".into());
        }
        if !new_errors.is_empty() {
            for message in &new_errors {
                merge_issues.push(ConfigIssue {
                    element: Element::Router(name.clone()),
                    message: message.clone(),
                });
            }
            entry.status = Status::Disabled;
            entry.errors.extend(new_errors);
        }
    }
    out.issues.extend(merge_issues);

    // Sticky cookie name and path, from the enabled routers that use each service.
    let mut paths: BTreeMap<String, Option<String>> = BTreeMap::new();
    for r in out.routers.values() {
        let (Some(rule), true) = (&r.rule, r.status.is_usable()) else {
            continue;
        };
        let p = rule.cookie_path();
        let slot = paths.entry(r.router.service.clone()).or_insert(None);
        *slot = Some(match slot.take() {
            None => p,
            Some(prev) => common_cookie_path(&prev, &p),
        });
    }
    for (name, s) in out.services.iter_mut() {
        s.used_by.sort();
        s.used_by.dedup();
        if let Some(cookie) = s
            .service
            .load_balancer
            .sticky
            .as_ref()
            .and_then(|st| st.cookie.as_ref())
        {
            s.sticky_cookie_name = Some(
                cookie
                    .name
                    .clone()
                    .unwrap_or_else(|| validate::default_cookie_name(name)),
            );
        }
        s.sticky_cookie_path = paths.remove(name).flatten().unwrap_or_else(|| "/".into());
    }
    for m in out.middlewares.values_mut() {
        m.used_by.sort();
        m.used_by.dedup();
    }
    out
}

fn disable(slot: &mut Option<(&mut Status, &mut Vec<String>)>, msgs: Vec<String>) {
    if let Some((status, errors)) = slot {
        **status = Status::Disabled;
        errors.extend(msgs);
    }
}

/// The longest path ending in `/` (or equal to both) that both cookie paths start with.
fn common_cookie_path(a: &str, b: &str) -> String {
    if a == b {
        return a.to_string();
    }
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let cut = a[..common].rfind('/').map_or(1, |i| i + 1);
    a[..cut].to_string()
}

fn qualify_element(e: &Element, provider: &str) -> Element {
    match e {
        Element::Router(n) => Element::Router(qualify_key(n, provider)),
        Element::Service(n) => Element::Service(qualify_key(n, provider)),
        Element::Middleware(n) => Element::Middleware(qualify_key(n, provider)),
        Element::Source(n) => Element::Source(qualify_key(n, provider)),
    }
}

/// An issue may name an element its provider could not build at all (an unsupported
/// middleware type): list it anyway, disabled, so the API shows the error.
fn ensure_element(out: &mut MergedConfig, e: &Element, provider: &str) {
    match e {
        Element::Router(n) => {
            out.routers.entry(n.clone()).or_insert_with(|| RouterEntry {
                router: Router::default(),
                provider: provider.to_string(),
                status: Status::Disabled,
                errors: Vec::new(),
                priority: 0,
                rule: None,
            });
        }
        Element::Service(n) => {
            out.services
                .entry(n.clone())
                .or_insert_with(|| new_service(Service::default(), provider));
        }
        Element::Middleware(n) => {
            out.middlewares
                .entry(n.clone())
                .or_insert_with(|| new_middleware(Middleware::default(), provider));
        }
        Element::Source(_) => {}
    }
}

fn new_service(service: Service, provider: &str) -> ServiceEntry {
    ServiceEntry {
        service,
        provider: provider.to_string(),
        status: Status::Enabled,
        errors: Vec::new(),
        used_by: Vec::new(),
        sticky_cookie_name: None,
        sticky_cookie_path: "/".into(),
    }
}

fn new_middleware(middleware: Middleware, provider: &str) -> MiddlewareEntry {
    MiddlewareEntry {
        middleware,
        provider: provider.to_string(),
        status: Status::Enabled,
        errors: Vec::new(),
        used_by: Vec::new(),
    }
}

fn add_provider(
    out: &mut MergedConfig,
    provider: &str,
    cfg: &DynamicConfig,
    default_syntax: RuleSyntax,
) {
    for (name, router) in &cfg.routers {
        let mut router = router.clone();
        if !router.service.is_empty() {
            router.service = qualify(&router.service, provider);
        }
        router.middlewares = router
            .middlewares
            .iter()
            .map(|m| qualify(m, provider))
            .collect();
        let syntax = router.rule_syntax.unwrap_or(default_syntax);
        let rule = Rule::parse_with(&router.rule, syntax).ok();
        let priority = router.priority.unwrap_or_else(|| {
            rule.as_ref()
                .map_or(router.rule.len() as i64, Rule::default_priority)
        });
        let entry = RouterEntry {
            router,
            provider: provider.to_string(),
            status: Status::Enabled,
            errors: Vec::new(),
            priority,
            rule,
        };
        out.routers.insert(qualify_key(name, provider), entry);
    }
    for (name, service) in &cfg.services {
        out.services.insert(
            qualify_key(name, provider),
            new_service(service.clone(), provider),
        );
    }
    for (name, m) in &cfg.middlewares {
        out.middlewares.insert(
            qualify_key(name, provider),
            new_middleware(m.clone(), provider),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::*;

    fn server(url: &str) -> Server {
        Server {
            url: url.into(),
            name: String::new(),
        }
    }

    /// The report's compose labels, as the Docker provider would hand them over.
    fn report_config() -> DynamicConfig {
        let mut c = DynamicConfig::default();
        c.routers.insert(
            "static".into(),
            Router {
                rule: "Host(`demo.res.ch`) && PathPrefix(`/`)".into(),
                service: "static".into(),
                ..Default::default()
            },
        );
        c.routers.insert(
            "dynamic".into(),
            Router {
                rule: "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)".into(),
                service: "dynamic".into(),
                middlewares: vec!["dynamic@docker".into()],
                ..Default::default()
            },
        );
        c.services.insert(
            "static".into(),
            Service {
                load_balancer: LoadBalancer {
                    servers: vec![
                        server("http://172.18.0.2:80"),
                        server("http://172.18.0.3:80"),
                    ],
                    sticky: Some(Sticky {
                        cookie: Some(StickyCookie {
                            name: Some("static_cookie".into()),
                            ..Default::default()
                        }),
                    }),
                    ..Default::default()
                },
            },
        );
        c.services.insert(
            "dynamic".into(),
            Service {
                load_balancer: LoadBalancer {
                    servers: vec![server("http://172.18.0.4:3000")],
                    ..Default::default()
                },
            },
        );
        c.middlewares.insert(
            "dynamic".into(),
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/api/jokes/".into()],
                }),
                ..Default::default()
            },
        );
        c
    }

    fn one(provider: &str, config: DynamicConfig, issues: Vec<ConfigIssue>) -> MergedConfig {
        let pc = ProviderConfig { config, issues };
        merge([(provider, &pc)])
    }

    /// `--core.defaultRuleSyntax` reads routers without `ruleSyntax`; a router's own wins. The
    /// report's rules read the same in both; a rule in the other syntax disables its router
    /// with the fix.
    #[test]
    fn rule_syntax_default_and_per_router() {
        let mut c = report_config();
        let router = |rule: &str, syntax: Option<RuleSyntax>| Router {
            rule: rule.into(),
            rule_syntax: syntax,
            service: "static".into(),
            ..Default::default()
        };
        c.routers.insert(
            "v2".into(),
            router("Headers(`X`, `1`)", Some(RuleSyntax::V2)),
        );
        c.routers.insert(
            "v3".into(),
            router("Header(`X`, `1`)", Some(RuleSyntax::V3)),
        );
        c.routers
            .insert("plain".into(), router("Host(`a`, `b`)", None));
        let pc = crate::config::validate::validate("docker", c);
        assert!(
            pc.issues.is_empty(),
            "no syntax is known yet: {:?}",
            pc.issues
        );
        let status = |m: &MergedConfig, r: &str| m.routers[&format!("{r}@docker")].status;
        for default in [RuleSyntax::V3, RuleSyntax::V2] {
            let m = merge_with([("docker", &pc)], default);
            for r in ["static", "dynamic", "v2", "v3"] {
                assert_eq!(status(&m, r), Status::Enabled, "{r} under {default}");
            }
            let plain = &m.routers["plain@docker"];
            match default {
                RuleSyntax::V3 => {
                    assert_eq!(plain.status, Status::Disabled);
                    assert!(
                        plain.errors[0].contains("Host(`a`) || Host(`b`)"),
                        "{:?}",
                        plain.errors
                    );
                }
                RuleSyntax::V2 => assert_eq!(plain.status, Status::Enabled),
            }
        }
    }

    #[test]
    fn the_report_routes_with_qualified_names() {
        let m = one("docker", report_config(), vec![]);
        assert!(m.issues.is_empty(), "{:#?}", m.issues);
        let d = &m.routers["dynamic@docker"];
        assert_eq!(d.status, Status::Enabled);
        assert_eq!(d.router.service, "dynamic@docker");
        assert_eq!(d.router.middlewares, vec!["dynamic@docker".to_string()]);
        assert_eq!(d.priority, d.router.rule.len() as i64);
        assert!(d.rule.is_some());
        let s = &m.services["static@docker"];
        assert_eq!(s.sticky_cookie_name.as_deref(), Some("static_cookie"));
        assert_eq!(s.used_by, vec!["static@docker".to_string()]);
        assert_eq!(m.services["dynamic@docker"].sticky_cookie_name, None);
        assert_eq!(
            m.middlewares["dynamic@docker"].used_by,
            vec!["dynamic@docker".to_string()]
        );
        let order: Vec<&str> = m.routers_by_priority().iter().map(|r| r.0).collect();
        assert_eq!(order, vec!["dynamic@docker", "static@docker"]);
    }

    #[test]
    fn a_missing_middleware_disables_only_its_router() {
        let mut c = report_config();
        c.middlewares.clear();
        let m = one("docker", c, vec![]);
        let d = &m.routers["dynamic@docker"];
        assert_eq!(d.status, Status::Disabled);
        assert!(
            d.errors[0].contains("`dynamic@docker` does not exist"),
            "{:?}",
            d.errors
        );
        assert_eq!(m.routers["static@docker"].status, Status::Enabled);
        assert!(m
            .issues
            .iter()
            .any(|i| i.element == Element::Router("dynamic@docker".into())));
        assert_eq!(m.routers_by_priority().len(), 1);
    }

    #[test]
    fn provider_issues_disable_what_they_name_and_propagate_to_routers() {
        let issues = vec![
            ConfigIssue {
                element: Element::Middleware("dynamic".into()),
                message: "bad".into(),
            },
            ConfigIssue {
                element: Element::Middleware("auth".into()),
                message: "middleware type `basicauth` is not supported".into(),
            },
            ConfigIssue {
                element: Element::Source("tcp".into()),
                message: "ignored".into(),
            },
        ];
        let m = one("docker", report_config(), issues);
        assert_eq!(m.middlewares["dynamic@docker"].status, Status::Disabled);
        assert_eq!(m.routers["dynamic@docker"].status, Status::Disabled);
        assert!(m.routers["dynamic@docker"].errors[0].contains("is disabled"));
        // An element the provider could not build still shows up, disabled, with its error.
        assert_eq!(m.middlewares["auth@docker"].status, Status::Disabled);
        assert_eq!(m.routers["static@docker"].status, Status::Enabled);
        assert!(m
            .issues
            .iter()
            .any(|i| i.element == Element::Source("tcp@docker".into())));
    }

    #[test]
    fn references_resolve_within_the_provider_or_as_qualified() {
        let mut file = DynamicConfig::default();
        file.middlewares.insert(
            "strip".into(),
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/x".into()],
                }),
                ..Default::default()
            },
        );
        let mut docker = report_config();
        docker.routers.get_mut("dynamic").unwrap().middlewares = vec!["strip@file".into()];
        // Unqualified `strip` in docker does not find file's middleware.
        docker.routers.get_mut("static").unwrap().middlewares = vec!["strip".into()];
        let f = ProviderConfig {
            config: file,
            issues: vec![],
        };
        let d = ProviderConfig {
            config: docker,
            issues: vec![],
        };
        let m = merge([("docker", &d), ("file", &f)]);
        assert_eq!(m.routers["dynamic@docker"].status, Status::Enabled);
        assert_eq!(m.routers["static@docker"].status, Status::Disabled);
        assert!(m.routers["static@docker"].errors[0].contains("`strip@docker`"));
        assert_eq!(
            m.middlewares["dynamic@docker"].used_by,
            Vec::<String>::new()
        );
    }

    #[test]
    fn bad_rules_and_services_disable_routers_even_without_provider_validation() {
        let mut c = report_config();
        c.routers.get_mut("static").unwrap().rule = "Host(`a`".into();
        c.services.get_mut("dynamic").unwrap().load_balancer.servers = vec![server("https://x:1")];
        let m = one("file", c, vec![]);
        let s = &m.routers["static@file"];
        assert_eq!(s.status, Status::Disabled);
        assert!(s.rule.is_none() || s.errors.iter().any(|e| e.contains("position")));
        assert_eq!(m.services["dynamic@file"].status, Status::Disabled);
        assert_eq!(m.routers["dynamic@file"].status, Status::Disabled);
        assert!(m.routers_by_priority().is_empty());
    }

    #[test]
    fn services_without_servers_warn_and_default_cookie_names() {
        let mut c = report_config();
        c.services
            .get_mut("static")
            .unwrap()
            .load_balancer
            .servers
            .clear();
        c.services
            .get_mut("static")
            .unwrap()
            .load_balancer
            .sticky
            .as_mut()
            .unwrap()
            .cookie
            .as_mut()
            .unwrap()
            .name = None;
        let m = one("docker", c, vec![]);
        let s = &m.services["static@docker"];
        assert_eq!(s.status, Status::Warning);
        assert_eq!(m.routers["static@docker"].status, Status::Enabled);
        assert_eq!(
            s.sticky_cookie_name.as_deref(),
            Some(validate::default_cookie_name("static@docker").as_str())
        );
    }

    #[test]
    fn common_cookie_paths() {
        assert_eq!(common_cookie_path("/api/", "/api/"), "/api/");
        assert_eq!(common_cookie_path("/api/a", "/api/b/"), "/api/");
        assert_eq!(common_cookie_path("/a", "/b"), "/");
        assert_eq!(common_cookie_path("/", "/b"), "/");
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn name() -> impl Strategy<Value = String> {
            prop::sample::select(vec!["a", "b", "c", "a@p", "b@q", "z@p", "", "x@"])
                .prop_map(String::from)
        }

        fn provider_config() -> impl Strategy<Value = ProviderConfig> {
            let router = (
                prop::sample::select(vec!["Path(`/`)", "PathPrefix(`/api/`)", "Host(`a`", ""]),
                name(),
                prop::collection::vec(name(), 0..3),
            )
                .prop_map(|(rule, service, middlewares)| Router {
                    rule: rule.into(),
                    service,
                    middlewares,
                    ..Default::default()
                });
            let service = (any::<bool>(), any::<bool>()).prop_map(|(servers, sticky)| Service {
                load_balancer: LoadBalancer {
                    servers: if servers {
                        vec![server("http://10.0.0.1:80")]
                    } else {
                        vec![]
                    },
                    sticky: sticky.then(|| Sticky {
                        cookie: Some(StickyCookie::default()),
                    }),
                    ..Default::default()
                },
            });
            let middleware = any::<bool>().prop_map(|ok| Middleware {
                retry: Some(Retry {
                    attempts: u32::from(ok),
                }),
                ..Default::default()
            });
            (
                prop::collection::btree_map(name(), router, 0..4),
                prop::collection::btree_map(name(), service, 0..4),
                prop::collection::btree_map(name(), middleware, 0..4),
            )
                .prop_map(|(routers, services, middlewares)| ProviderConfig {
                    config: DynamicConfig {
                        routers,
                        services,
                        middlewares,
                        ..Default::default()
                    },
                    issues: vec![],
                })
        }

        proptest! {
            /// Whatever the providers say, an enabled router can be routed: a parsed rule, a
            /// usable service, usable middlewares; and every problem is in `issues`.
            #[test]
            fn enabled_routers_are_routable(p in provider_config(), q in provider_config()) {
                let m = merge([("p", &p), ("q", &q)]);
                for (name, r) in m.routers_by_priority() {
                    prop_assert!(r.rule.is_some());
                    let s = m.services.get(&r.router.service);
                    prop_assert!(s.is_some_and(|s| s.status.is_usable()), "{}", name);
                    for mw in &r.router.middlewares {
                        prop_assert!(m.middlewares.get(mw).is_some_and(|e| e.status.is_usable()));
                    }
                }
                for (name, r) in &m.routers {
                    if r.status == Status::Disabled {
                        prop_assert!(!r.errors.is_empty(), "{} disabled without a reason", name);
                        prop_assert!(m.issues.iter().any(|i| i.element == Element::Router(name.clone())));
                    }
                }
                for s in m.services.values() {
                    prop_assert!(s.sticky_cookie_path.starts_with('/'));
                }
            }
        }
    }

    #[test]
    fn merged_config_serializes_with_traefik_statuses() {
        let m = one("docker", report_config(), vec![]);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["routers"]["static@docker"]["status"], "enabled");
        assert_eq!(v["services"]["static@docker"]["usedBy"][0], "static@docker");
    }
}
