//! What the page shows: the compose services and their containers as the engine reports them,
//! joined with what the proxy does with each (UP/DOWN, requests, sticky clients), read from
//! the current routing snapshot. Pure, so it is tested without an engine.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::provider::docker::Node;
use crate::snapshot::Snapshot;

/// Which containers the UI shows and may act on.
///
/// When the proxy runs in a compose container, only its own project (the lab's stack, not
/// whatever else runs on the engine); never containers that opt out of routing
/// (`traefik.enable=false`, as the proxy's own container does).
pub fn in_scope(nodes: Vec<Node>, own_project: Option<&str>) -> Vec<Node> {
    nodes
        .into_iter()
        .filter(|n| own_project.is_none_or(|p| n.project == p))
        .filter(|n| n.labels.get("traefik.enable").map(String::as_str) != Some("false"))
        .collect()
}

/// The compose project of the container the proxy runs in: the one whose id starts with this
/// host's name (Docker sets the hostname to the short container id).
pub fn own_project(nodes: &[Node], hostname: Option<&str>) -> Option<String> {
    let h = hostname.filter(|h| h.len() >= 12 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    nodes
        .iter()
        .find(|n| n.id.starts_with(h))
        .map(|n| n.project.clone())
}

#[derive(Debug, Serialize, PartialEq)]
pub struct View {
    /// Whether the viewer may act (has a session); the page hides the buttons otherwise.
    pub authenticated: bool,
    pub project: Option<String>,
    pub services: Vec<ServiceView>,
    /// The engine could not be asked; the page says so and keeps the proxy's view.
    pub error: Option<String>,
    pub generation: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ServiceView {
    /// `project/service`, the key of the "add" action.
    pub key: String,
    pub project: String,
    pub service: String,
    pub image: String,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct NodeView {
    pub id: String,
    pub name: String,
    pub number: u32,
    pub state: String,
    pub status: String,
    pub address: String,
    /// `UP` or `DOWN` in the proxy's rotation, or `OUT` when the proxy has no server for it.
    pub proxy: &'static str,
    /// The proxy's services this container serves (`static@docker`).
    pub proxy_services: Vec<String>,
    pub requests: u64,
    /// Sticky cookies issued for it: clients pinned to it.
    pub sticky_clients: u64,
    /// Added from this page.
    pub added: bool,
}

#[derive(Default)]
struct ProxySide {
    up: bool,
    requests: u64,
    sticky: u64,
    services: Vec<String>,
}

/// The proxy's view of each server, by server name (the container name).
fn proxy_side(snap: &Snapshot) -> BTreeMap<String, ProxySide> {
    let mut m: BTreeMap<String, ProxySide> = BTreeMap::new();
    for (service, b) in &snap.balancers {
        for s in &b.servers {
            if s.name.is_empty() {
                continue;
            }
            let e = m.entry(s.name.clone()).or_insert_with(|| ProxySide {
                up: true,
                ..Default::default()
            });
            e.up &= s.is_up();
            e.requests += s.requests();
            e.sticky += s.sticky_issued();
            e.services.push(service.clone());
        }
    }
    m
}

pub fn build(
    nodes: &[Node],
    snap: &Snapshot,
    authenticated: bool,
    project: Option<String>,
) -> View {
    let side = proxy_side(snap);
    let mut services: BTreeMap<(String, String), ServiceView> = BTreeMap::new();
    for n in nodes {
        let s = services
            .entry((n.project.clone(), n.service.clone()))
            .or_insert_with(|| ServiceView {
                key: format!("{}/{}", n.project, n.service),
                project: n.project.clone(),
                service: n.service.clone(),
                image: n.image.clone(),
                nodes: Vec::new(),
            });
        let p = side.get(&n.name);
        s.nodes.push(NodeView {
            id: n.id.clone(),
            name: n.name.clone(),
            number: n.number,
            state: n.state.clone(),
            status: n.status.clone(),
            address: n
                .networks
                .values()
                .find(|a| !a.is_empty())
                .cloned()
                .unwrap_or_default(),
            proxy: match p {
                Some(p) if p.up => "UP",
                Some(_) => "DOWN",
                None => "OUT",
            },
            proxy_services: p.map(|p| p.services.clone()).unwrap_or_default(),
            requests: p.map_or(0, |p| p.requests),
            sticky_clients: p.map_or(0, |p| p.sticky),
            added: n
                .labels
                .contains_key(crate::provider::docker::ADDED_BY_LABEL),
        });
    }
    let mut services: Vec<ServiceView> = services.into_values().collect();
    for s in &mut services {
        s.nodes.sort_by_key(|n| n.number);
    }
    View {
        authenticated,
        project,
        services,
        error: None,
        generation: snap.generation,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::node;
    use super::*;

    #[test]
    fn scope_is_the_proxys_project_without_opted_out_containers() {
        let proxy = node("0123456789abcdef", "lab", "proxy", 1, "running", true);
        let nodes = vec![
            proxy,
            node("aaaa", "lab", "static", 1, "running", false),
            node("bbbb", "other", "static", 1, "running", false),
        ];
        let own = own_project(&nodes, Some("0123456789ab"));
        assert_eq!(own.as_deref(), Some("lab"));
        let scoped = in_scope(nodes.clone(), own.as_deref());
        assert_eq!(scoped.len(), 1);
        assert_eq!(scoped[0].id, "aaaa");
        // Outside a container (a hostname that is no container id): every project.
        assert_eq!(own_project(&nodes, Some("laptop")), None);
        assert_eq!(in_scope(nodes, None).len(), 2);
    }

    #[test]
    fn nodes_are_grouped_by_service_and_joined_with_the_proxy() {
        let nodes = vec![
            node("b", "lab", "static", 2, "exited", false),
            node("a", "lab", "static", 1, "running", false),
            node("c", "lab", "dynamic", 1, "running", false),
        ];
        let v = build(&nodes, &Snapshot::default(), true, Some("lab".into()));
        assert_eq!(v.services.len(), 2);
        assert_eq!(v.services[0].key, "lab/dynamic");
        let st = &v.services[1];
        assert_eq!(st.nodes[0].name, "lab-static-1");
        assert_eq!(st.nodes[1].state, "exited");
        assert_eq!(st.nodes[0].address, "10.0.0.1");
        assert_eq!(st.nodes[0].proxy, "OUT", "no snapshot: not in the rotation");
    }
}
