//! Traefik-style labels (`traefik.http.routers.<r>.rule=...`) into the configuration model.
//!
//! Interface contract: [`parse`] reads one container's (or one label set's) labels. Services it
//! defines have no servers yet: the Docker provider adds one server per container, using
//! `server_ports` (from `...loadbalancer.server.port`) to pick the port.

use std::collections::BTreeMap;

use super::model::{ConfigIssue, DynamicConfig};

/// What one label set says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelConfig {
    /// Routers, services (without servers) and middlewares, names unqualified.
    pub config: DynamicConfig,
    /// `traefik.http.services.<s>.loadbalancer.server.port`, by service name.
    pub server_ports: BTreeMap<String, u16>,
    /// `traefik.enable`, when present.
    pub enable: Option<bool>,
    /// `traefik.docker.network`, when present.
    pub docker_network: Option<String>,
    /// Labels that were wrong; each disables only the element it names.
    pub issues: Vec<ConfigIssue>,
}

/// Parses the `traefik.*` labels of one container; other labels are ignored.
pub fn parse(labels: &BTreeMap<String, String>) -> LabelConfig {
    let _ = labels;
    LabelConfig::default()
}
