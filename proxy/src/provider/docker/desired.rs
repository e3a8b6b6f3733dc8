//! Containers -> the desired configuration, with Traefik v2's Docker semantics. Pure: the
//! watch loop calls it after every change with the containers it knows, and the tests call it
//! with containers written by hand.
//!
//! Per container (in container-id order, so servers come out ordered by container id):
//! 1. only running, not paused, and, if it has a healthcheck, healthy containers count;
//! 2. `traefik.enable` (else `exposedbydefault`) decides whether it is routed at all;
//! 3. its labels go through the same parser as everywhere ([`labels::parse`]);
//! 4. no service label: a service named after the container (compose: `service_project`,
//!    normalized); no router label: a router of that name; a router without rule gets
//!    ``Host(`<name>`)``, without service the container's only service;
//! 5. each of its services gets one server, `http://<ip>:<port>` (port: the label, else the
//!    lowest exposed port; address: `traefik.docker.network`, else the provider's network,
//!    else the first network by name).
//!
//! Containers defining the same element merge: a service's servers add up when its settings
//! agree. Elements defined differently are dropped, as Traefik does, and reported as issues
//! naming the containers, which Traefik only logs.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::labels;
use crate::config::{ConfigIssue, DynamicConfig, Element, ProviderConfig, Server};

use super::container::{Container, Health, State};
use super::scope::Scope;
use super::DockerOptions;

/// Traefik's `provider.Normalize`: runs of characters that are not letters or digits become
/// one `-`, none at either end (`static_servers1` -> `static-servers1`).
pub fn normalize(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The name Traefik gives a container's default service and router.
pub fn default_name(container: &Container) -> String {
    match container.compose() {
        Some((service, project)) => normalize(&format!("{service}_{project}")),
        None => normalize(&container.name),
    }
}

/// Whether a container takes traffic now (the label aside): running, not paused, healthy if it
/// has a healthcheck.
pub fn is_serving(container: &Container) -> bool {
    container.state == State::Running && matches!(container.health, None | Some(Health::Healthy))
}

/// The desired configuration for `containers` (any order), for a proxy that reaches every
/// container.
pub fn build<'a>(
    containers: impl IntoIterator<Item = &'a Container>,
    opts: &DockerOptions,
) -> ProviderConfig {
    build_in(containers, opts, &Scope::unscoped())
}

/// The desired configuration for `containers` (any order), for a proxy in `scope`: containers
/// it shares no network with are left out (reported when they are in the proxy's own compose
/// project, where it is a mistake; silently for other projects on the same engine).
pub fn build_in<'a>(
    containers: impl IntoIterator<Item = &'a Container>,
    opts: &DockerOptions,
    scope: &Scope,
) -> ProviderConfig {
    let mut containers: Vec<&Container> = containers.into_iter().collect();
    containers.sort_by(|a, b| a.id.cmp(&b.id));

    let mut merged = Merged::default();
    let mut issues: Vec<ConfigIssue> = Vec::new();
    for container in containers {
        if !is_serving(container) {
            continue;
        }
        let parsed = labels::parse(&container.labels);
        if !parsed.enable.unwrap_or(opts.exposed_by_default) {
            continue;
        }
        if !scope.reaches(container) {
            if scope.same_project(container) {
                issues.push(ConfigIssue {
                    element: Element::Source(container.name.clone()),
                    message: format!(
                        "container `{}` shares no network with the proxy (its networks: {}; \
                         the proxy's: {}), so it is not routed; put them on a common network",
                        container.name,
                        join(container.networks.keys()),
                        join(scope.networks.iter()),
                    ),
                });
            }
            continue;
        }
        issues.extend(parsed.issues.iter().cloned());
        match container_config(container, parsed, opts, scope) {
            Ok((config, warnings)) => {
                issues.extend(warnings);
                merged.add(&container.name, config);
            }
            Err(issue) => issues.push(issue),
        }
    }
    let (config, conflicts) = merged.finish();
    issues.extend(conflicts);

    // Scaled containers carry the same labels, hence the same issues: report each once.
    let mut seen = BTreeSet::new();
    issues.retain(|i| seen.insert((i.element.clone(), i.message.clone())));
    ProviderConfig { config, issues }
}

/// One container's routers, services (with this container as their one server) and
/// middlewares, plus warnings; or why the container cannot be routed.
fn container_config(
    container: &Container,
    parsed: labels::LabelConfig,
    opts: &DockerOptions,
    scope: &Scope,
) -> Result<(DynamicConfig, Vec<ConfigIssue>), ConfigIssue> {
    let who = Element::Source(container.name.clone());
    let issue = |message: String| ConfigIssue {
        element: who.clone(),
        message,
    };
    let name = default_name(container);
    let mut config = parsed.config;
    let mut warnings = Vec::new();
    fill_defaults(
        &mut config,
        &name,
        &format!("Host(`{name}`)"),
        ("container", container.name.as_str()),
        &mut warnings,
    );

    let address = pick_address(
        &container.networks,
        parsed.docker_network.as_deref().or(opts.network.as_deref()),
        container.compose().map(|(_, project)| project),
        scope,
        |_| false,
        ("container", &container.name),
        &mut warnings,
    )
    .ok_or_else(|| {
        issue(format!(
            "container `{}` has no IP address on any network (network_mode host or none?), \
                 so it is not routed; attach it to a network the proxy shares",
            container.name
        ))
    })?;
    for (service_name, service) in config.services.iter_mut() {
        let port = parsed
            .server_ports
            .get(service_name)
            .copied()
            .or_else(|| container.exposed_ports.first().copied())
            .ok_or_else(|| {
                issue(format!(
                    "container `{}` exposes no port and has no \
                     `traefik.http.services.{service_name}.loadbalancer.server.port` label, so it \
                     is not routed; add one, or EXPOSE a port in its image",
                    container.name
                ))
            })?;
        service.load_balancer.servers = vec![Server {
            url: format!("http://{address}:{port}").into(),
            name: container.name.clone(),
        }];
    }
    Ok((config, warnings))
}

/// Traefik's defaults for one source (a container, a Swarm service) named `name`: no service
/// label gives a service `name`; no router label a router `name` (when there is one service);
/// a router without rule gets `default_rule`, without service the source's only service.
/// `source` is what kind of source it is and its name (`("container", "servers1-static-1")`),
/// for messages. Shared by the Docker and Swarm providers, so both fill the same gaps alike.
pub(crate) fn fill_defaults(
    config: &mut DynamicConfig,
    name: &str,
    default_rule: &str,
    source: (&str, &str),
    warnings: &mut Vec<ConfigIssue>,
) {
    let (kind, source_name) = source;
    let who = format!("{kind} `{source_name}`");
    if config.services.is_empty() {
        config.services.insert(name.to_owned(), Default::default());
    }
    if config.routers.is_empty() {
        if config.services.len() == 1 {
            config.routers.insert(name.to_owned(), Default::default());
        } else {
            warnings.push(ConfigIssue {
                element: Element::Source(source_name.to_owned()),
                message: format!(
                    "{who} defines several services and no router, so no default router was \
                     made; add a `traefik.http.routers.<name>.service` label"
                ),
            });
        }
    }
    let only_service = (config.services.len() == 1)
        .then(|| config.services.keys().next().cloned())
        .flatten();
    config.routers.retain(|router_name, router| {
        if router.rule.trim().is_empty() {
            router.rule = default_rule.to_owned();
        }
        if router.service.trim().is_empty() {
            match &only_service {
                Some(service) => router.service = service.clone(),
                None => {
                    warnings.push(ConfigIssue {
                        element: Element::Router(router_name.clone()),
                        message: format!(
                            "router `{router_name}` names no service and {who} defines \
                             several; add `traefik.http.routers.{router_name}.service`"
                        ),
                    });
                    return false;
                }
            }
        }
        true
    });
}

/// The IP to reach a source (a container, a task, a virtual IP) at, among `networks` (network
/// name -> IP): on the `wanted` network, by its full name or prefixed with the source's compose
/// project or stack (`project`), as a compose or stack file writes it; else on the first network
/// by name that the proxy reaches and `skip` does not exclude. IPv6 comes bracketed, ready for a
/// URL. `source` is what kind of source it is and its name (`("container", "web-1")`), for the
/// warning when it is not on the wanted network.
pub(crate) fn pick_address(
    networks: &BTreeMap<String, String>,
    wanted: Option<&str>,
    project: Option<&str>,
    scope: &Scope,
    skip: impl Fn(&str) -> bool,
    source: (&str, &str),
    warnings: &mut Vec<ConfigIssue>,
) -> Option<String> {
    let usable = |ip: &&String| !ip.is_empty();
    let mut chosen = None;
    if let Some(wanted) = wanted {
        // Compose prefixes network names with the project; accept the short name too (Traefik
        // would fall back to some network with a warning that users rarely see).
        let prefixed = project.map(|project| format!("{project}_{wanted}"));
        chosen = networks
            .get(wanted)
            .or_else(|| prefixed.and_then(|p| networks.get(&p)))
            .filter(usable);
        if chosen.is_none() {
            let (kind, name) = source;
            warnings.push(ConfigIssue {
                element: Element::Source(name.to_owned()),
                message: format!(
                    "{kind} `{name}` is not on network `{wanted}` (its networks: {}); using its \
                     first network instead",
                    join(networks.keys())
                ),
            });
        }
    }
    let ip = chosen.or_else(|| {
        networks
            .iter()
            .find(|(name, ip)| usable(ip) && !skip(name) && scope.has(name))
            .map(|(_, ip)| ip)
    })?;
    Some(if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.clone()
    })
}

fn join<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.cloned().collect::<Vec<_>>().join(", ")
}

/// Every container's (or Swarm service's) configuration merged, keeping track of who defined
/// what.
#[derive(Default)]
pub(crate) struct Merged {
    /// What the sources are, for messages (`containers`, `services`); empty: containers.
    sources: &'static str,
    config: DynamicConfig,
    /// Element -> the containers that defined it (first the one whose definition is kept).
    defined_by: BTreeMap<Element, Vec<String>>,
    conflicts: BTreeSet<Element>,
}

impl Merged {
    /// An empty merge of sources of this kind (`services`), for messages.
    pub(crate) fn of(sources: &'static str) -> Merged {
        Merged {
            sources,
            ..Default::default()
        }
    }

    pub(crate) fn add(&mut self, container: &str, config: DynamicConfig) {
        for (name, router) in config.routers {
            let element = Element::Router(name.clone());
            let same = match self.config.routers.get(&name) {
                None => {
                    self.config.routers.insert(name, router);
                    true
                }
                Some(existing) => *existing == router,
            };
            self.record(element, container, same);
        }
        for (name, middleware) in config.middlewares {
            let element = Element::Middleware(name.clone());
            let same = match self.config.middlewares.get(&name) {
                None => {
                    self.config.middlewares.insert(name, middleware);
                    true
                }
                Some(existing) => *existing == middleware,
            };
            self.record(element, container, same);
        }
        for (name, mut service) in config.services {
            let element = Element::Service(name.clone());
            let same = match self.config.services.get_mut(&name) {
                None => {
                    self.config.services.insert(name, service);
                    true
                }
                Some(existing) => {
                    let servers = std::mem::take(&mut service.load_balancer.servers);
                    let mut settings = existing.load_balancer.clone();
                    settings.servers.clear();
                    let same = settings == service.load_balancer;
                    if same {
                        existing.load_balancer.servers.extend(servers);
                    }
                    same
                }
            };
            self.record(element, container, same);
        }
    }

    fn record(&mut self, element: Element, container: &str, same: bool) {
        if !same {
            self.conflicts.insert(element.clone());
        }
        self.defined_by
            .entry(element)
            .or_default()
            .push(container.to_owned());
    }

    pub(crate) fn finish(mut self) -> (DynamicConfig, Vec<ConfigIssue>) {
        let mut issues = Vec::new();
        for element in &self.conflicts {
            let (kind, name) = match element {
                Element::Router(n) => {
                    self.config.routers.remove(n);
                    ("router", n)
                }
                Element::Service(n) => {
                    self.config.services.remove(n);
                    ("service", n)
                }
                Element::Middleware(n) => {
                    self.config.middlewares.remove(n);
                    ("middleware", n)
                }
                Element::Source(n) => ("source", n),
            };
            let who = self.defined_by.get(element).cloned().unwrap_or_default();
            issues.push(ConfigIssue {
                element: element.clone(),
                message: format!(
                    "{kind} `{name}` is defined differently by {} {}; it is left out until \
                     their labels agree (or give each its own name)",
                    if self.sources.is_empty() {
                        "containers"
                    } else {
                        self.sources
                    },
                    who.iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        (self.config, issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Router, Service};

    fn container(id: &str, service: &str, ip: &str) -> Container {
        Container {
            id: id.into(),
            name: format!("servers1-{service}-{id}"),
            labels: BTreeMap::from([
                ("com.docker.compose.service".into(), service.into()),
                ("com.docker.compose.project".into(), "servers1".into()),
            ]),
            state: State::Running,
            health: None,
            exposed_ports: vec![80, 443],
            networks: BTreeMap::from([("servers1_default".into(), ip.into())]),
        }
    }

    fn with_labels(mut c: Container, labels: &[(&str, &str)]) -> Container {
        for (k, v) in labels {
            c.labels.insert((*k).into(), (*v).into());
        }
        c
    }

    fn opts() -> DockerOptions {
        DockerOptions::default()
    }

    fn urls(p: &ProviderConfig, service: &str) -> Vec<String> {
        p.config.services[service]
            .load_balancer
            .servers
            .iter()
            .map(|s| s.url.to_string())
            .collect()
    }

    #[test]
    fn normalize_matches_traefik() {
        assert_eq!(normalize("static_servers1"), "static-servers1");
        assert_eq!(normalize("/my__app..x_"), "my-app-x");
        assert_eq!(normalize("Web1"), "Web1");
    }

    #[test]
    fn unlabelled_compose_container_gets_default_router_and_service() {
        let p = build([&container("a", "static", "172.18.0.2")], &opts());
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(
            p.config.routers["static-servers1"],
            Router {
                rule: "Host(`static-servers1`)".into(),
                service: "static-servers1".into(),
                ..Default::default()
            }
        );
        assert_eq!(urls(&p, "static-servers1"), ["http://172.18.0.2:80"]);
        assert_eq!(
            p.config.services["static-servers1"].load_balancer.servers[0].name,
            "servers1-static-a"
        );
    }

    #[test]
    fn plain_container_is_named_after_itself() {
        let mut c = container("a", "x", "10.0.0.2");
        c.labels.clear();
        c.name = "my_web.1".into();
        let p = build([&c], &opts());
        assert!(p.config.services.contains_key("my-web-1"));
    }

    #[test]
    fn scaled_containers_merge_in_container_id_order() {
        let (a, b, c) = (
            container("c3", "static", "172.18.0.4"),
            container("a1", "static", "172.18.0.2"),
            container("b2", "static", "172.18.0.3"),
        );
        let p = build([&a, &b, &c], &opts());
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(
            urls(&p, "static-servers1"),
            [
                "http://172.18.0.2:80",
                "http://172.18.0.3:80",
                "http://172.18.0.4:80"
            ]
        );
        assert_eq!(p.config.routers.len(), 1);
    }

    #[test]
    fn stopped_paused_starting_and_unhealthy_containers_get_no_traffic() {
        let mut stopped = container("a", "s", "10.0.0.1");
        stopped.state = State::Other;
        let mut paused = container("b", "s", "10.0.0.2");
        paused.state = State::Paused;
        let mut starting = container("c", "s", "10.0.0.3");
        starting.health = Some(Health::Starting);
        let mut unhealthy = container("d", "s", "10.0.0.4");
        unhealthy.health = Some(Health::Unhealthy);
        let mut healthy = container("e", "s", "10.0.0.5");
        healthy.health = Some(Health::Healthy);
        let p = build(
            [&stopped, &paused, &starting, &unhealthy, &healthy],
            &opts(),
        );
        assert_eq!(urls(&p, "s-servers1"), ["http://10.0.0.5:80"]);
    }

    #[test]
    fn port_is_the_lowest_exposed_else_the_container_is_skipped_with_an_issue() {
        let mut c = container("a", "s", "10.0.0.1");
        c.exposed_ports = vec![8080, 3000];
        c.exposed_ports.sort_unstable();
        let p = build([&c], &opts());
        assert_eq!(urls(&p, "s-servers1"), ["http://10.0.0.1:3000"]);

        c.exposed_ports.clear();
        let p = build([&c], &opts());
        assert!(p.config.services.is_empty());
        assert!(p.config.routers.is_empty());
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].element, Element::Source(c.name.clone()));
        assert!(
            p.issues[0].message.contains("exposes no port"),
            "{}",
            p.issues[0].message
        );
    }

    #[test]
    fn network_option_picks_the_address_and_a_missing_network_is_reported() {
        let mut c = container("a", "s", "10.0.0.1");
        c.networks.insert("backend".into(), "10.9.0.1".into());
        c.networks
            .insert("servers1_front".into(), "10.8.0.1".into());
        // First network by name without any choice.
        assert_eq!(
            urls(&build([&c], &opts()), "s-servers1"),
            ["http://10.9.0.1:80"]
        );
        let with = |n: &str| DockerOptions {
            network: Some(n.into()),
            ..opts()
        };
        assert_eq!(
            urls(&build([&c], &with("servers1_default")), "s-servers1"),
            ["http://10.0.0.1:80"]
        );
        // Compose's project prefix may be left out.
        assert_eq!(
            urls(&build([&c], &with("front")), "s-servers1"),
            ["http://10.8.0.1:80"]
        );
        let p = build([&c], &with("nowhere"));
        assert_eq!(urls(&p, "s-servers1"), ["http://10.9.0.1:80"]);
        assert!(p.issues[0].message.contains("not on network `nowhere`"));
    }

    #[test]
    fn container_without_address_is_skipped_with_an_issue() {
        let mut c = container("a", "s", "");
        c.networks = BTreeMap::from([("host".into(), String::new())]);
        let p = build([&c], &opts());
        assert!(p.config.services.is_empty());
        assert!(p.issues[0].message.contains("no IP address"));
    }

    #[test]
    fn a_proxy_in_a_container_routes_only_what_it_reaches() {
        let scope = Scope {
            networks: ["servers1_default".to_owned()].into(),
            project: Some("servers1".into()),
        };
        let ours = container("a", "static", "10.0.0.2");
        let mut theirs = container("b", "static", "10.1.0.2");
        theirs.networks = BTreeMap::from([("other_default".into(), "10.1.0.2".into())]);
        theirs
            .labels
            .insert("com.docker.compose.project".into(), "other".into());
        let mut lost = container("c", "static", "10.2.0.2");
        lost.networks = BTreeMap::from([("servers1_private".into(), "10.2.0.2".into())]);
        let mut both = container("d", "static", "");
        both.networks = BTreeMap::from([
            ("aaa_first".into(), "10.3.0.2".into()),
            ("servers1_default".into(), "10.0.0.9".into()),
        ]);

        let p = build_in([&ours, &theirs, &lost, &both], &opts(), &scope);
        // Another project's container: silently out. Ours on a private network: reported.
        assert_eq!(
            urls(&p, "static-servers1"),
            ["http://10.0.0.2:80", "http://10.0.0.9:80"]
        );
        assert_eq!(p.issues.len(), 1, "{:?}", p.issues);
        assert!(p.issues[0]
            .message
            .contains("shares no network with the proxy"));
        assert_eq!(p.issues[0].element, Element::Source(lost.name.clone()));
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let c = container("a", "s", "fd00::2");
        assert_eq!(
            urls(&build([&c], &opts()), "s-servers1"),
            ["http://[fd00::2]:80"]
        );
    }

    #[test]
    fn merging_keeps_identical_services_and_drops_conflicts() {
        let mut m = Merged::default();
        let service = |url: &str| Service {
            load_balancer: crate::config::LoadBalancer {
                servers: vec![Server {
                    url: url.into(),
                    name: String::new(),
                }],
                ..Default::default()
            },
        };
        let config = |url: &str, pass_host: bool, rule: &str| {
            let mut s = service(url);
            s.load_balancer.pass_host_header = pass_host;
            DynamicConfig {
                services: BTreeMap::from([("web".into(), s)]),
                routers: BTreeMap::from([(
                    "web".into(),
                    Router {
                        rule: rule.into(),
                        service: "web".into(),
                        ..Default::default()
                    },
                )]),
                ..Default::default()
            }
        };
        m.add("c1", config("http://a", true, "Host(`x`)"));
        m.add("c2", config("http://b", true, "Host(`x`)"));
        m.add("c3", config("http://c", false, "Host(`y`)"));
        let (merged, issues) = m.finish();
        assert!(merged.services.is_empty());
        assert!(merged.routers.is_empty());
        assert_eq!(issues.len(), 2);
        assert!(
            issues[0].message.contains("`c1`, `c2`, `c3`"),
            "{}",
            issues[0].message
        );

        let mut m = Merged::default();
        m.add("c1", config("http://a", true, "Host(`x`)"));
        m.add("c2", config("http://b", true, "Host(`x`)"));
        let (merged, issues) = m.finish();
        assert!(issues.is_empty());
        assert_eq!(merged.services["web"].load_balancer.servers.len(), 2);
    }

    // The tests below go through `config::labels::parse`.

    fn report_static(id: &str, ip: &str) -> Container {
        with_labels(
            container(id, "static", ip),
            &[
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
            ],
        )
    }

    fn report_dynamic(id: &str, ip: &str) -> Container {
        let mut c = with_labels(
            container(id, "dynamic", ip),
            &[
                (
                    "traefik.http.routers.dynamic.rule",
                    "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)",
                ),
                (
                    "traefik.http.middlewares.dynamic.stripprefix.prefixes",
                    "/api/jokes/",
                ),
                ("traefik.http.routers.dynamic.middlewares", "dynamic@docker"),
            ],
        );
        c.exposed_ports = vec![3000];
        c
    }

    #[test]
    fn the_reports_labels_give_its_routers_services_and_middleware() {
        let cs = [
            report_static("s2", "10.0.0.3"),
            report_static("s1", "10.0.0.2"),
            report_dynamic("d1", "10.0.1.2"),
            report_dynamic("d2", "10.0.1.3"),
        ];
        let p = build(&cs, &opts());
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(p.config.routers["static"].service, "static");
        // The dynamic router names no service: the container's only (default) one.
        assert_eq!(p.config.routers["dynamic"].service, "dynamic-servers1");
        assert_eq!(p.config.routers["dynamic"].middlewares, ["dynamic@docker"]);
        assert_eq!(
            urls(&p, "static"),
            ["http://10.0.0.2:80", "http://10.0.0.3:80"]
        );
        assert_eq!(
            urls(&p, "dynamic-servers1"),
            ["http://10.0.1.2:3000", "http://10.0.1.3:3000"]
        );
        let sticky = p.config.services["static"]
            .load_balancer
            .sticky
            .clone()
            .unwrap();
        assert_eq!(
            sticky.cookie.unwrap().name.as_deref(),
            Some("static_cookie")
        );
        assert!(p.config.middlewares.contains_key("dynamic"));
    }

    #[test]
    fn enable_label_and_exposed_by_default() {
        let off = with_labels(
            container("a", "s", "10.0.0.1"),
            &[("traefik.enable", "false")],
        );
        let on = with_labels(
            container("b", "t", "10.0.0.2"),
            &[("traefik.enable", "true")],
        );
        let plain = container("c", "u", "10.0.0.3");
        let p = build([&off, &on, &plain], &opts());
        let names: Vec<_> = p.config.services.keys().cloned().collect();
        assert_eq!(names, ["t-servers1", "u-servers1"]);
        let p = build(
            [&off, &on, &plain],
            &DockerOptions {
                exposed_by_default: false,
                ..opts()
            },
        );
        let names: Vec<_> = p.config.services.keys().cloned().collect();
        assert_eq!(names, ["t-servers1"]);
    }

    #[test]
    fn port_and_network_labels_win() {
        let mut c = with_labels(
            container("a", "s", "10.0.0.1"),
            &[
                ("traefik.http.services.web.loadbalancer.server.port", "8081"),
                ("traefik.docker.network", "servers1_back"),
            ],
        );
        c.networks.insert("servers1_back".into(), "10.5.0.1".into());
        let p = build([&c], &opts());
        assert_eq!(urls(&p, "web"), ["http://10.5.0.1:8081"]);
        assert_eq!(p.config.routers["s-servers1"].service, "web");
    }

    #[test]
    fn containers_disagreeing_on_a_service_are_reported_by_name() {
        let a = report_static("a", "10.0.0.2");
        let mut b = report_static("b", "10.0.0.3");
        b.labels.insert(
            "traefik.http.services.static.loadBalancer.sticky.cookie.name".into(),
            "other".into(),
        );
        let p = build([&a, &b], &opts());
        assert!(!p.config.services.contains_key("static"));
        let issue = p
            .issues
            .iter()
            .find(|i| i.element == Element::Service("static".into()))
            .expect("a conflict issue");
        assert!(
            issue.message.contains("servers1-static-a"),
            "{}",
            issue.message
        );
        assert!(
            issue.message.contains("servers1-static-b"),
            "{}",
            issue.message
        );
    }

    #[test]
    fn several_services_without_router_service_are_reported() {
        let c = with_labels(
            container("a", "s", "10.0.0.1"),
            &[
                ("traefik.http.services.one.loadbalancer.server.port", "80"),
                ("traefik.http.services.two.loadbalancer.server.port", "81"),
            ],
        );
        let p = build([&c], &opts());
        assert!(p.config.routers.is_empty());
        assert_eq!(urls(&p, "one"), ["http://10.0.0.1:80"]);
        assert_eq!(urls(&p, "two"), ["http://10.0.0.1:81"]);
        assert!(p
            .issues
            .iter()
            .any(|i| i.message.contains("several services")));
    }
}
