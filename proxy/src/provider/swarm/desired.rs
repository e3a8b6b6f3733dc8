//! Services and tasks -> the desired configuration, with Traefik's Swarm semantics. Pure: the
//! watch loop calls it after every poll or event with what it knows, and the tests call it with
//! services and tasks written by hand.
//!
//! Per service (in name order):
//! 1. its labels (the service's, `deploy.labels`; not its containers') are split: the Swarm
//!    ones ([`super::labels`]), the rest through the shared parser;
//! 2. `traefik.enable` (else `exposedByDefault`) decides whether it is routed at all;
//! 3. defaults as for a container ([`fill_defaults`]): a service and a router named after the
//!    Swarm service (`servers1_static` -> `servers1-static`), the default rule from
//!    `--providers.swarm.defaultRule`;
//! 4. every service it defines needs `loadbalancer.server.port`: Swarm knows no port (an
//!    image's `EXPOSE` is not part of a service);
//! 5. its servers: one per task that runs and is meant to keep running (desired state
//!    `running`), at the task's address on the chosen network (`traefik.swarm.network`, else
//!    `--providers.swarm.network`, else the first network the proxy shares); or, with
//!    `traefik.swarm.lbswarm=true`, one server: the service's virtual IP.
//!
//! A task whose desired state is `shutdown` or `remove` is left out even while it still runs:
//! it is about to receive SIGTERM (scale-down, rolling update), and a request sent to it then
//! would be refused (traefik #11252).

use std::collections::BTreeSet;

use crate::config::labels;
use crate::config::{ConfigIssue, DynamicConfig, Element, ProviderConfig, Server};
use crate::provider::docker::{fill_defaults, normalize, pick_address, Merged, Scope};

use super::labels::split;
use super::model::{SwarmService, Task, TaskState};
use super::options::{render_rule, SwarmOptions};

/// The network Swarm's routing mesh uses for published ports: never the one to reach tasks on.
const INGRESS: &str = "ingress";

/// Whether `task` should take traffic now (its service aside): it runs, and is to keep running.
pub fn is_serving(task: &Task) -> bool {
    task.state == TaskState::Running && task.desired == TaskState::Running
}

/// The desired configuration for `services` and their `tasks` (any order; tasks of other
/// services are ignored), for a proxy in `scope`.
pub fn build<'a>(
    services: &[SwarmService],
    tasks: impl IntoIterator<Item = &'a Task>,
    opts: &SwarmOptions,
    scope: &Scope,
) -> ProviderConfig {
    let mut tasks: Vec<&Task> = tasks.into_iter().filter(|t| is_serving(t)).collect();
    tasks.sort_by(|a, b| (a.slot, &a.id).cmp(&(b.slot, &b.id)));
    let mut services: Vec<&SwarmService> = services.iter().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));

    let mut merged = Merged::of("Swarm services");
    let mut issues = Vec::new();
    for service in services {
        let own: Vec<&Task> = tasks
            .iter()
            .copied()
            .filter(|t| t.service_id == service.id)
            .collect();
        match service_config(service, &own, opts, scope, &mut issues) {
            Ok(Some(config)) => merged.add(&service.name, config),
            Ok(None) => {}
            Err(issue) => issues.push(issue),
        }
    }
    let (config, conflicts) = merged.finish();
    issues.extend(conflicts);
    let mut seen = BTreeSet::new();
    issues.retain(|i| seen.insert((i.element.clone(), i.message.clone())));
    ProviderConfig { config, issues }
}

/// One Swarm service's routers, services (with its servers) and middlewares; `None` when it
/// is not routed (disabled, unreachable, no task running); an error when it cannot be.
fn service_config(
    service: &SwarmService,
    tasks: &[&Task],
    opts: &SwarmOptions,
    scope: &Scope,
    issues: &mut Vec<ConfigIssue>,
) -> Result<Option<DynamicConfig>, ConfigIssue> {
    let swarm = split(&service.name, &service.labels, &opts.provider_name)?;
    let parsed = labels::parse(&swarm.rest);
    if !parsed.enable.unwrap_or(opts.exposed_by_default) {
        return Ok(None);
    }
    let reachable = |net: &String| net != INGRESS && scope.has(net);
    let on_a_shared_network = service.virtual_ips.keys().any(reachable)
        || tasks.iter().any(|t| t.networks.keys().any(reachable));
    if !on_a_shared_network {
        // Another stack's service, or one with no task yet: nothing to reach.
        return Ok(None);
    }
    issues.extend(swarm.issues.iter().cloned());
    issues.extend(parsed.issues.iter().cloned());

    let issue = |message: String| ConfigIssue {
        element: Element::Source(service.name.clone()),
        message,
    };
    let name = normalize(&service.name);
    let mut config = parsed.config;
    fill_defaults(
        &mut config,
        &name,
        &render_rule(&opts.default_rule, &service.name),
        ("service", service.name.as_str()),
        issues,
    );

    let mut ports = Vec::new();
    for service_name in config.services.keys() {
        let port = parsed.server_ports.get(service_name).ok_or_else(|| {
            issue(format!(
                "Swarm service `{}` has no `traefik.http.services.{service_name}.loadbalancer.\
                 server.port` label, so it is not routed: Swarm tells no port (an image's EXPOSE \
                 is not part of a service); add the label under `deploy.labels`",
                service.name
            ))
        })?;
        ports.push((service_name.clone(), *port));
    }

    let wanted = swarm.network.as_deref().or(opts.network.as_deref());
    let mut use_vip = swarm.lb_swarm;
    if use_vip && service.dnsrr {
        issues.push(issue(format!(
            "Swarm service `{}` asks for traefik.swarm.lbswarm but runs in endpoint mode dnsrr \
             (no virtual IP); its tasks are routed one by one instead",
            service.name
        )));
        use_vip = false;
    }
    // (address, server name) for each server.
    let mut addresses: Vec<(String, String)> = Vec::new();
    if use_vip {
        match pick(&service.virtual_ips, wanted, service, scope, issues) {
            Some(ip) => addresses.push((ip, service.name.clone())),
            None => {
                return Err(issue(format!(
                    "Swarm service `{}` asks for traefik.swarm.lbswarm but has no virtual IP on \
                     a network the proxy shares; put it on one",
                    service.name
                )))
            }
        }
    } else {
        for task in tasks {
            if let Some(ip) = pick(&task.networks, wanted, service, scope, issues) {
                let server = match task.slot {
                    Some(slot) => format!("{}.{slot}", service.name),
                    None => format!("{}.{}", service.name, task.id),
                };
                addresses.push((ip, server));
            }
        }
    }
    if addresses.is_empty() {
        // Traefik leaves a service without running task out, and so does the Docker provider
        // for a stopped container: its routers then answer 404 until a task runs.
        return Ok(None);
    }
    for (service_name, port) in ports {
        let lb = &mut config
            .services
            .get_mut(&service_name)
            .expect("a port per service")
            .load_balancer;
        lb.servers = addresses
            .iter()
            .map(|(ip, server)| Server {
                url: format!("http://{ip}:{port}").into(),
                name: server.clone(),
            })
            .collect();
    }
    Ok(Some(config))
}

/// The address among `networks` to reach a task or a virtual IP at ([`pick_address`]): never on
/// `ingress`, the routing mesh.
fn pick(
    networks: &std::collections::BTreeMap<String, String>,
    wanted: Option<&str>,
    service: &SwarmService,
    scope: &Scope,
    issues: &mut Vec<ConfigIssue>,
) -> Option<String> {
    let source = ("Swarm service", service.name.as_str());
    let ingress = |name: &str| name == INGRESS;
    pick_address(
        networks,
        wanted,
        service.stack(),
        scope,
        ingress,
        source,
        issues,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The report's stack: `static` with its sticky cookie, `dynamic` with its strip prefix,
    /// each with the port label Swarm needs.
    fn report_services() -> Vec<SwarmService> {
        let stack = ("com.docker.stack.namespace", "servers1");
        vec![
            service(
                "s1",
                "servers1_static",
                &[
                    stack,
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
                    (
                        "traefik.http.services.static.loadbalancer.server.port",
                        "80",
                    ),
                ],
            ),
            service(
                "d1",
                "servers1_dynamic",
                &[
                    stack,
                    (
                        "traefik.http.routers.dynamic.rule",
                        "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)",
                    ),
                    (
                        "traefik.http.middlewares.dynamic.stripprefix.prefixes",
                        "/api/jokes/",
                    ),
                    ("traefik.http.routers.dynamic.middlewares", "dynamic@swarm"),
                    (
                        "traefik.http.services.dynamic.loadbalancer.server.port",
                        "80",
                    ),
                ],
            ),
        ]
    }

    fn service(id: &str, name: &str, labels: &[(&str, &str)]) -> SwarmService {
        SwarmService {
            id: id.into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            replicas: Some(2),
            virtual_ips: BTreeMap::from([("servers1_default".into(), "10.0.1.2".into())]),
            ..Default::default()
        }
    }

    fn task(id: &str, service: &str, slot: u64, ip: &str) -> Task {
        Task {
            id: id.into(),
            service_id: service.into(),
            slot: Some(slot),
            node_id: "n1".into(),
            state: TaskState::Running,
            desired: TaskState::Running,
            networks: BTreeMap::from([("servers1_default".into(), ip.into())]),
        }
    }

    fn urls(p: &ProviderConfig, service: &str) -> Vec<String> {
        p.config
            .services
            .get(service)
            .map(|s| {
                s.load_balancer
                    .servers
                    .iter()
                    .map(|s| s.url.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn opts() -> SwarmOptions {
        SwarmOptions::default()
    }

    #[test]
    fn the_report_stack_routes_each_running_task() {
        let tasks = [
            task("t3", "s1", 2, "10.0.1.5"),
            task("t1", "s1", 1, "10.0.1.4"),
            task("t4", "d1", 1, "10.0.1.7"),
        ];
        let p = build(&report_services(), &tasks, &opts(), &Scope::unscoped());
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(
            urls(&p, "static"),
            ["http://10.0.1.4:80", "http://10.0.1.5:80"],
            "ordered by slot"
        );
        assert_eq!(urls(&p, "dynamic"), ["http://10.0.1.7:80"]);
        let names: Vec<_> = p.config.services["static"]
            .load_balancer
            .servers
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(names, ["servers1_static.1", "servers1_static.2"]);
        assert_eq!(p.config.routers["dynamic"].service, "dynamic");
        assert_eq!(p.config.routers["dynamic"].middlewares, ["dynamic@swarm"]);
        let sticky = p.config.services["static"].load_balancer.sticky.clone();
        assert!(sticky.is_some());
    }

    #[test]
    fn tasks_not_running_or_told_to_stop_take_no_traffic() {
        let mut starting = task("a", "s1", 1, "10.0.1.4");
        starting.state = TaskState::Starting;
        let mut leaving = task("b", "s1", 2, "10.0.1.5");
        leaving.desired = TaskState::Shutdown;
        let mut removed = task("c", "s1", 3, "10.0.1.6");
        removed.desired = TaskState::Remove;
        let serving = task("d", "s1", 4, "10.0.1.8");
        let p = build(
            &report_services(),
            [&starting, &leaving, &removed, &serving],
            &opts(),
            &Scope::unscoped(),
        );
        assert_eq!(urls(&p, "static"), ["http://10.0.1.8:80"]);
        // No task at all: the service is left out, as Traefik does (its router answers 404).
        let p = build(&report_services(), [&leaving], &opts(), &Scope::unscoped());
        assert!(!p.config.services.contains_key("static"));
    }

    #[test]
    fn lbswarm_routes_to_the_virtual_ip() {
        let mut services = report_services();
        services[0]
            .labels
            .insert("traefik.swarm.lbswarm".into(), "true".into());
        let tasks = [
            task("t1", "s1", 1, "10.0.1.4"),
            task("t2", "s1", 2, "10.0.1.5"),
        ];
        let p = build(&services, &tasks, &opts(), &Scope::unscoped());
        assert_eq!(urls(&p, "static"), ["http://10.0.1.2:80"]);
        // dnsrr has no virtual IP: tasks one by one, and a word about it.
        services[0].dnsrr = true;
        services[0].virtual_ips.clear();
        let p = build(&services, &tasks, &opts(), &Scope::unscoped());
        assert_eq!(urls(&p, "static").len(), 2);
        assert!(p.issues.iter().any(|i| i.message.contains("dnsrr")));
    }

    #[test]
    fn a_missing_port_label_is_a_clear_error() {
        let mut services = report_services();
        services[1]
            .labels
            .remove("traefik.http.services.dynamic.loadbalancer.server.port");
        let tasks = [
            task("t1", "s1", 1, "10.0.1.4"),
            task("t4", "d1", 1, "10.0.1.7"),
        ];
        let p = build(&services, &tasks, &opts(), &Scope::unscoped());
        assert!(p.config.services.contains_key("static"));
        assert!(!p.config.services.contains_key("servers1-dynamic"));
        let issue = p
            .issues
            .iter()
            .find(|i| i.element == Element::Source("servers1_dynamic".into()))
            .expect("an issue naming the service");
        assert!(
            issue.message.contains("loadbalancer.server.port")
                && issue.message.contains("deploy.labels"),
            "{}",
            issue.message
        );
    }

    #[test]
    fn the_network_label_picks_the_address_and_accepts_the_stack_file_name() {
        let mut services = report_services();
        services[0]
            .labels
            .insert("traefik.swarm.network".into(), "back".into());
        let mut t = task("t1", "s1", 1, "10.0.1.4");
        t.networks.insert("servers1_back".into(), "10.0.9.4".into());
        t.networks.insert(INGRESS.into(), "10.0.0.4".into());
        let p = build(&services, [&t], &opts(), &Scope::unscoped());
        assert_eq!(urls(&p, "static"), ["http://10.0.9.4:80"]);
        // No network wanted: the first shared one by name, never the routing mesh's.
        let mut only_ingress_first = task("t2", "d1", 1, "10.0.1.7");
        only_ingress_first
            .networks
            .insert(INGRESS.into(), "10.0.0.7".into());
        let p = build(
            &services,
            [&only_ingress_first],
            &opts(),
            &Scope::unscoped(),
        );
        assert_eq!(urls(&p, "dynamic"), ["http://10.0.1.7:80"]);
    }

    #[test]
    fn services_the_proxy_shares_no_network_with_are_left_out() {
        let scope = Scope {
            networks: ["servers1_default".to_owned()].into(),
            project: None,
        };
        let mut other = task("x", "d1", 1, "10.9.0.2");
        other.networks = BTreeMap::from([("other_default".into(), "10.9.0.2".into())]);
        let mut services = report_services();
        services[1].virtual_ips.clear();
        let p = build(
            &services,
            [&task("t1", "s1", 1, "10.0.1.4"), &other],
            &opts(),
            &scope,
        );
        assert_eq!(urls(&p, "static"), ["http://10.0.1.4:80"]);
        assert!(!p.config.routers.contains_key("dynamic"));
        assert!(p.issues.is_empty(), "{:?}", p.issues);
    }

    #[test]
    fn defaults_enable_and_the_default_rule() {
        let plain = service(
            "p1",
            "servers1_web",
            &[("traefik.http.services.web.loadbalancer.server.port", "8080")],
        );
        let off = service(
            "o1",
            "servers1_off",
            &[
                ("traefik.enable", "false"),
                ("traefik.http.services.off.loadbalancer.server.port", "80"),
            ],
        );
        let tasks = [
            task("t1", "p1", 1, "10.0.1.4"),
            task("t2", "o1", 1, "10.0.1.5"),
        ];
        let p = build(&[plain.clone(), off], &tasks, &opts(), &Scope::unscoped());
        assert_eq!(
            p.config.routers["servers1-web"].rule,
            "Host(`servers1-web`)"
        );
        assert_eq!(p.config.routers["servers1-web"].service, "web");
        assert_eq!(urls(&p, "web"), ["http://10.0.1.4:8080"]);
        assert!(!p.config.services.contains_key("off"));

        let custom = SwarmOptions {
            default_rule: "Host(`{{ normalize .Name }}.lab`)".into(),
            exposed_by_default: false,
            ..opts()
        };
        assert!(build(
            std::slice::from_ref(&plain),
            &tasks,
            &custom,
            &Scope::unscoped()
        )
        .config
        .routers
        .is_empty());
        let mut enabled = plain;
        enabled
            .labels
            .insert("traefik.enable".into(), "true".into());
        let p = build(&[enabled], &tasks, &custom, &Scope::unscoped());
        assert_eq!(
            p.config.routers["servers1-web"].rule,
            "Host(`servers1-web.lab`)"
        );
    }

    #[test]
    fn both_label_families_refuse_the_service_and_only_it() {
        let mut services = report_services();
        services[0]
            .labels
            .insert("traefik.swarm.network".into(), "default".into());
        services[0]
            .labels
            .insert("traefik.docker.network".into(), "default".into());
        let tasks = [
            task("t1", "s1", 1, "10.0.1.4"),
            task("t4", "d1", 1, "10.0.1.7"),
        ];
        let p = build(&services, &tasks, &opts(), &Scope::unscoped());
        assert!(!p.config.services.contains_key("static"));
        assert_eq!(urls(&p, "dynamic"), ["http://10.0.1.7:80"]);
        assert!(p.issues.iter().any(|i| i.message.contains("both")));
    }
}
