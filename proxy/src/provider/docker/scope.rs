//! Which containers the proxy can reach. In a container, the proxy reaches only containers on
//! a network it is attached to; Traefik routes to the others anyway (timeouts), and mixes up
//! every compose project on the engine. We route only what we can reach: two stacks on one
//! engine (two students' projects, or parallel test runs) stay apart.
//!
//! Outside a container (on the host, or with `network_mode: host`) every bridge address is
//! reachable and nothing is filtered.

use std::collections::BTreeSet;

use super::container::Container;
use super::source::{ContainerSource, SourceError};

/// The proxy's own place among the containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The networks the proxy's container is on (with an address). Empty: not in a container,
    /// or on the host's network: every container is reachable.
    pub networks: BTreeSet<String>,
    /// The proxy's compose project, if it runs under Compose.
    pub project: Option<String>,
}

impl Scope {
    /// Everything is reachable.
    pub fn unscoped() -> Scope {
        Scope::default()
    }

    /// The scope of the proxy's own container.
    pub fn of(own: &Container) -> Scope {
        Scope {
            networks: own
                .networks
                .iter()
                .filter(|(_, ip)| !ip.is_empty())
                .map(|(name, _)| name.clone())
                .collect(),
            project: own.compose().map(|(_, project)| project.to_owned()),
        }
    }

    /// Whether the proxy can reach `network`.
    pub fn has(&self, network: &str) -> bool {
        self.networks.is_empty() || self.networks.contains(network)
    }

    /// Whether the proxy shares a network with `container`.
    pub fn reaches(&self, container: &Container) -> bool {
        self.networks.is_empty()
            || container
                .networks
                .iter()
                .any(|(n, ip)| !ip.is_empty() && self.networks.contains(n))
    }

    /// Whether `container` belongs to the proxy's own compose project.
    pub fn same_project(&self, container: &Container) -> bool {
        matches!((&self.project, container.compose()), (Some(p), Some((_, q))) if p == q)
    }
}

/// Finds the proxy's own container and its scope; unscoped when the proxy does not run in a
/// container (or its container cannot be found).
pub async fn detect<S>(source: &S) -> Result<Scope, SourceError>
where
    S: ContainerSource + ?Sized,
{
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let candidates = own_container_ids(&read("/proc/self/mountinfo"), &read("/etc/hostname"));
    for id in candidates {
        if let Some(own) = source.inspect(&id).await? {
            return Ok(Scope::of(&own));
        }
    }
    Ok(Scope::unscoped())
}

/// Candidate ids for the container this process runs in: the id Docker writes into the mount
/// table (`/var/lib/docker/containers/<64 hex>/hostname`), then the host name (Docker's default
/// host name is the short id).
pub fn own_container_ids(mountinfo: &str, hostname: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in mountinfo.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("/containers/") {
            rest = &rest[i + "/containers/".len()..];
            let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            if id.len() == 64 && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let hostname = hostname.trim();
    if hostname.len() >= 12 && hostname.chars().all(|c| c.is_ascii_hexdigit()) {
        ids.push(hostname.to_owned());
    }
    ids
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn own_id_comes_from_the_mount_table_then_the_hostname() {
        let id = "3a00a1535174e9f5b8c3d1f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9";
        let mountinfo = format!(
            "1503 1380 0:120 / / rw,relatime - overlay overlay rw\n\
             1520 1503 254:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n\
             1521 1503 254:1 /var/lib/docker/containers/{id}/hosts /etc/hosts rw - ext4 /dev/vda1 rw"
        );
        assert_eq!(
            own_container_ids(&mountinfo, "3a00a1535174\n"),
            [id, "3a00a1535174"]
        );
        assert_eq!(own_container_ids("", "laptop\n"), Vec::<String>::new());
    }

    fn on(networks: &[(&str, &str)], project: Option<&str>) -> Container {
        let mut c = Container {
            networks: networks
                .iter()
                .map(|(n, ip)| ((*n).to_owned(), (*ip).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..Default::default()
        };
        if let Some(p) = project {
            c.labels
                .insert("com.docker.compose.service".into(), "proxy".into());
            c.labels
                .insert("com.docker.compose.project".into(), p.into());
        }
        c
    }

    #[test]
    fn a_scope_reaches_containers_on_shared_networks_only() {
        let proxy = Scope::of(&on(&[("a_default", "10.0.0.2")], Some("a")));
        assert!(proxy.reaches(&on(&[("a_default", "10.0.0.3")], Some("a"))));
        assert!(!proxy.reaches(&on(&[("b_default", "10.1.0.3")], Some("b"))));
        assert!(proxy.same_project(&on(&[], Some("a"))));
        assert!(!proxy.same_project(&on(&[], Some("b"))));
        // On the host (or host network): everything.
        let host = Scope::of(&on(&[("host", "")], None));
        assert_eq!(host, Scope::unscoped());
        assert!(host.reaches(&on(&[("b_default", "10.1.0.3")], Some("b"))));
    }
}
