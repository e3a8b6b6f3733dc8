//! The routing snapshot: the merged configuration compiled into what the data plane reads.
//!
//! A snapshot is immutable; the runtime builds a new one whenever a provider publishes and
//! swaps it in atomically (`ArcSwap`), so requests in flight finish on the snapshot they
//! started with. Balancer state (round-robin position, health, counters) comes from the
//! [`Registry`] and so survives the swap for servers that did not change.
//!
//! The merge (`config::merge`) decides what is routable; compiling adds what only the data
//! plane can check (server URLs, unknown entrypoints) to the elements' errors, so the API
//! shows every reason something is not routed. Everything else keeps routing.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use crate::balance::sticky::CookieSettings;
use crate::balance::{Balancer, Registry, ServerState};
use crate::config::merge::{MergedConfig, Status};
use crate::config::rule::Rule;
use crate::config::{ConfigIssue, Element, HealthCheck};
use crate::middleware::{Chain, Middleware};

/// A router, compiled.
#[derive(Debug)]
pub struct Route {
    pub name: Arc<str>,
    pub rule: Rule,
    pub priority: i64,
    /// Entrypoints this router serves; empty: every entrypoint but the API's.
    pub entry_points: Vec<String>,
    pub chain: Chain,
    pub balancer: Arc<Balancer>,
    /// The sticky cookie's `Path`: the narrowest path prefix of the service's routers, or `/`.
    pub cookie_path: String,
    /// A TLS router (`tls=true`): it serves TLS connections only; otherwise plain ones only.
    pub tls: bool,
}

impl Route {
    #[inline]
    pub fn serves(&self, entrypoint: &str) -> bool {
        self.entry_points.is_empty() || self.entry_points.iter().any(|e| e == entrypoint)
    }
}

/// Everything the data plane and the API read, for one configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Enabled routers, highest priority first.
    pub routes: Vec<Route>,
    /// Names of every sticky cookie, removed from forwarded requests.
    pub sticky_cookie_names: Vec<String>,
    /// The merged configuration with every element's status, for the API.
    pub merged: MergedConfig,
    /// Compiled services, for the API's server status and counts.
    pub balancers: BTreeMap<String, Arc<Balancer>>,
    /// Increases with every rebuild.
    pub generation: u64,
}

/// What a rebuild produced besides the snapshot: the active health checks to run.
pub struct Built {
    pub snapshot: Snapshot,
    pub health_checks: Vec<(Arc<ServerState>, HealthCheck)>,
}

fn disable(
    status: &mut Status,
    errors: &mut Vec<String>,
    issues: &mut Vec<ConfigIssue>,
    element: Element,
    msg: String,
) {
    *status = Status::Disabled;
    errors.push(msg.clone());
    issues.push(ConfigIssue {
        element,
        message: msg,
    });
}

/// Compiles a merged configuration. `entrypoints` are the data-plane entrypoints' names.
pub fn build(
    mut merged: MergedConfig,
    entrypoints: &[String],
    registry: &mut Registry,
    generation: u64,
) -> Built {
    let mut health_checks = Vec::new();
    let mut issues = Vec::new();

    // Middlewares.
    let mut compiled_mw: BTreeMap<String, Arc<dyn Middleware>> = BTreeMap::new();
    for (name, m) in merged.middlewares.iter_mut() {
        if !m.status.is_usable() {
            continue;
        }
        match m.middleware.compile() {
            Ok(c) => {
                compiled_mw.insert(name.clone(), c);
            }
            Err(e) => disable(
                &mut m.status,
                &mut m.errors,
                &mut issues,
                Element::Middleware(name.clone()),
                e,
            ),
        }
    }

    // Services.
    let mut urls = HashSet::new();
    let mut sticky_names = BTreeSet::new();
    let mut balancers = BTreeMap::new();
    for (name, entry) in merged.services.iter_mut() {
        if !entry.status.is_usable() {
            continue;
        }
        let lb = &entry.service.load_balancer;
        let mut servers: Vec<Arc<ServerState>> = Vec::with_capacity(lb.servers.len());
        let mut warnings = Vec::new();
        for s in &lb.servers {
            if servers.iter().any(|x| *x.url == *s.url.as_str()) {
                warnings.push(format!("server `{}` is listed twice; used once", s.url));
                continue;
            }
            match registry.server(&s.url, &s.name) {
                Ok(state) => {
                    urls.insert(s.url.to_string());
                    servers.push(state);
                }
                Err(e) => warnings.push(e.to_string()),
            }
        }
        if let Some(hc) = &lb.health_check {
            for s in &servers {
                health_checks.push((s.clone(), hc.clone()));
            }
        }
        let cookie = match (
            &entry.sticky_cookie_name,
            lb.sticky.as_ref().and_then(|s| s.cookie.as_ref()),
        ) {
            (Some(cookie_name), Some(c)) => Some(CookieSettings::new(cookie_name, c)),
            _ => None,
        };
        if let Some(c) = &cookie {
            sticky_names.insert(c.name.clone());
        }
        let balancer = Balancer::new(
            Arc::from(name.as_str()),
            servers,
            registry.position(name),
            cookie,
            lb.pass_host_header,
        );
        for w in warnings {
            if entry.status == Status::Enabled {
                entry.status = Status::Warning;
            }
            entry.errors.push(w.clone());
            issues.push(ConfigIssue {
                element: Element::Service(name.clone()),
                message: w,
            });
        }
        balancers.insert(name.clone(), Arc::new(balancer));
    }

    // Routers, highest priority first.
    let mut routes = Vec::new();
    let order: Vec<String> = merged
        .routers_by_priority()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    for name in order {
        let entry = merged.routers.get_mut(&name).expect("listed above");
        let r = &entry.router;
        let mut chain = Chain::default();
        let mut problems = Vec::new();
        for m in &r.middlewares {
            match compiled_mw.get(m) {
                Some(c) => chain.0.push(c.clone()),
                None => problems.push(format!("its middleware `{m}` is disabled (see its errors)")),
            }
        }
        let balancer = balancers.get(&r.service).cloned();
        if balancer.is_none() {
            problems.push(format!(
                "its service `{}` is disabled (see its errors)",
                r.service
            ));
        }
        let unknown: Vec<&String> = r
            .entry_points
            .iter()
            .filter(|e| !entrypoints.contains(e))
            .collect();
        if !unknown.is_empty() {
            let msg = format!("entrypoint(s) {unknown:?} do not exist; known: {entrypoints:?}");
            if unknown.len() == r.entry_points.len() {
                problems.push(msg);
            } else {
                entry.errors.push(msg.clone());
                if entry.status == Status::Enabled {
                    entry.status = Status::Warning;
                }
                issues.push(ConfigIssue {
                    element: Element::Router(name.clone()),
                    message: msg,
                });
            }
        }
        let (Some(rule), Some(balancer), true) =
            (entry.rule.clone(), balancer, problems.is_empty())
        else {
            for p in problems {
                disable(
                    &mut entry.status,
                    &mut entry.errors,
                    &mut issues,
                    Element::Router(name.clone()),
                    p,
                );
            }
            continue;
        };
        let r = &entry.router;
        let cookie_path = merged
            .services
            .get(&r.service)
            .map(|s| s.sticky_cookie_path.clone())
            .filter(|p| p.starts_with('/'))
            .unwrap_or_else(|| "/".into());
        routes.push(Route {
            name: Arc::from(name.as_str()),
            priority: entry.priority,
            entry_points: r
                .entry_points
                .iter()
                .filter(|e| entrypoints.contains(e))
                .cloned()
                .collect(),
            rule,
            chain,
            balancer,
            cookie_path,
            tls: r.tls.is_some(),
        });
    }

    merged.issues.extend(issues);
    let services: HashSet<String> = merged.services.keys().cloned().collect();
    registry.retain(&urls, &services);
    Built {
        snapshot: Snapshot {
            routes,
            sticky_cookie_names: sticky_names.into_iter().collect(),
            merged,
            balancers,
            generation,
        },
        health_checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::merge::merge;
    use crate::config::{
        DynamicConfig, LoadBalancer, Middleware, ProviderConfig, Router, Server, Service,
        StripPrefix,
    };

    fn provider() -> ProviderConfig {
        let mut c = DynamicConfig::default();
        c.routers.insert(
            "site".into(),
            Router {
                rule: "Host(`demo.res.ch`)".into(),
                service: "static".into(),
                ..Default::default()
            },
        );
        c.routers.insert(
            "api".into(),
            Router {
                rule: "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)".into(),
                service: "jokes".into(),
                middlewares: vec!["strip".into()],
                ..Default::default()
            },
        );
        c.routers.insert(
            "broken".into(),
            Router {
                rule: "Path(`/x`)".into(),
                service: "missing".into(),
                ..Default::default()
            },
        );
        c.routers.insert(
            "elsewhere".into(),
            Router {
                rule: "Path(`/y`)".into(),
                service: "static".into(),
                entry_points: vec!["nope".into()],
                ..Default::default()
            },
        );
        for (svc, port) in [("static", 1), ("jokes", 2)] {
            c.services.insert(
                svc.into(),
                Service {
                    load_balancer: LoadBalancer {
                        servers: vec![Server {
                            url: format!("http://127.0.0.1:{port}").into(),
                            name: String::new(),
                        }],
                        ..Default::default()
                    },
                },
            );
        }
        c.middlewares.insert(
            "strip".into(),
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/api/jokes".into()],
                }),
                ..Default::default()
            },
        );
        ProviderConfig {
            config: c,
            issues: Vec::new(),
        }
    }

    #[test]
    fn bad_elements_are_disabled_and_the_rest_routes() {
        let p = provider();
        let merged = merge([("file", &p)]);
        let mut reg = Registry::default();
        let s = build(merged, &["web".into()], &mut reg, 1).snapshot;
        let names: Vec<&str> = s.routes.iter().map(|r| &*r.name).collect();
        // Longer rule first.
        assert_eq!(names, vec!["api@file", "site@file"]);
        assert_eq!(s.merged.routers["broken@file"].status, Status::Disabled);
        assert_eq!(s.merged.routers["elsewhere@file"].status, Status::Disabled);
        assert!(s.merged.routers["elsewhere@file"].errors[0].contains("nope"));
        assert_eq!(s.routes[0].chain.0.len(), 1);
        assert!(s
            .merged
            .issues
            .iter()
            .any(|i| i.message.contains("missing@file")));
    }

    #[test]
    fn balancer_state_survives_rebuilds() {
        let p = provider();
        let mut reg = Registry::default();
        let a = build(merge([("file", &p)]), &[], &mut reg, 1).snapshot;
        a.balancers["static@file"].servers[0].mark_passive_down();
        let b = build(merge([("file", &p)]), &[], &mut reg, 2).snapshot;
        assert!(!b.balancers["static@file"].servers[0].is_up());
    }
}
