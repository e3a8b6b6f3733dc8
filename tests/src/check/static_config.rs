//! Lab step 3's *static* reverse proxy: the routes come from a configuration file (Traefik's
//! file provider) with the servers' addresses written in it, not from discovery.
//!
//! The check reads the proxy's API: which provider made the `static` and `dynamic` routers, and
//! which server addresses their services have. On a Docker stack it also asks Docker where the
//! running `static` and `dynamic` containers are now, and fails when the file still sends
//! traffic to an address no such container has: the fragility step 3 asks students to explain
//! (a container that comes back with another address), seen and named. A stack with discovery
//! (the Docker provider, step 5) has no static variant to check: SKIP, saying so.
//!
//! The comparison is a pure function ([`stale_addresses`]), unit-tested below.

use std::net::IpAddr;

use anyhow::{anyhow, Result};

use super::steps::Outcome;
use super::{Control, Target};
use crate::local::Kind;

/// One service's servers as the proxy's API lists them: (url, `UP`/`DOWN`).
type Servers = Vec<(String, String)>;

pub async fn check(t: &Target) -> Result<Outcome> {
    let routers = t.api("/api/http/routers").await?;
    let services = t.api("/api/http/services").await?;
    let mut found = Vec::new();
    for kind in Kind::ALL {
        let (provider, service) = router_service(&routers, kind)?;
        if provider != "file" {
            return Ok(Outcome::Skip(format!(
                "router {}@{provider}: the routes come from the `{provider}` provider, not from a \
                 file of addresses. Step 3's static variant is `compose/step3.yaml` (the book's \
                 step 3); with discovery (step 5) there is no address to go stale",
                kind.name()
            )));
        }
        found.push((kind, service.clone(), servers_of(&services, &service)?));
    }

    let mut parts = Vec::new();
    for (kind, service, servers) in &found {
        if servers.is_empty() {
            return Err(anyhow!("service {service} has no server in the file"));
        }
        if let Control::Docker(p) = &t.control {
            let mut containers = Vec::new();
            for (id, _) in p.running(*kind).await? {
                let out = p
                    .docker(&[
                        "inspect",
                        "-f",
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                        &id,
                    ])
                    .await?;
                let ips = out
                    .split_whitespace()
                    .filter_map(|s| s.parse().ok())
                    .collect();
                containers.push((id, ips));
            }
            let stale = stale_addresses(servers, &containers);
            if !stale.is_empty() {
                return Err(anyhow!(
                    "the file sends {service} to {}, where no running {} container is: they are \
                     at {}. An address written by hand went stale when the container came back \
                     with another one: write the new address into the file, or let the proxy \
                     discover the servers (step 5)",
                    stale.join(", "),
                    kind.name(),
                    describe(&containers)
                ));
            }
        }
        parts.push(format!(
            "{service}: {}",
            servers
                .iter()
                .map(|(url, status)| format!("{url} {status}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let verified = if t.control.is_docker() {
        "; each address is a running container's"
    } else {
        ""
    };
    Ok(Outcome::Pass(format!(
        "routes from the file provider, addresses written in the file: {}{verified}",
        parts.join("; ")
    )))
}

/// The provider and the qualified service name of the router named `<kind>@…`.
fn router_service(routers: &serde_json::Value, kind: Kind) -> Result<(String, String)> {
    let prefix = format!("{}@", kind.name());
    let router = routers
        .as_array()
        .and_then(|a| {
            a.iter().find(|r| {
                r.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
        })
        .ok_or_else(|| anyhow!("/api/http/routers has no `{}` router", kind.name()))?;
    let field = |k: &str| router.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let provider = field("provider").to_string();
    let mut service = field("service").to_string();
    if !service.contains('@') {
        service = format!("{service}@{provider}");
    }
    Ok((provider, service))
}

/// The servers of a service, by qualified name, in the proxy's API.
fn servers_of(services: &serde_json::Value, name: &str) -> Result<Servers> {
    let svc = services
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(name))
        })
        .ok_or_else(|| anyhow!("/api/http/services has no `{name}`"))?;
    let status = svc.get("serverStatus").cloned().unwrap_or_default();
    Ok(svc
        .pointer("/loadBalancer/servers")
        .and_then(|s| s.as_array())
        .map(|a| a.iter().filter_map(|s| s.get("url")?.as_str()).collect())
        .unwrap_or_else(Vec::new)
        .into_iter()
        .map(|url: &str| {
            let st = status.get(url).and_then(|v| v.as_str()).unwrap_or("?");
            (url.to_string(), st.to_string())
        })
        .collect())
}

/// The servers whose address is an IP that no running container has. A server named by a host
/// name (`http://static:80`, resolved by Docker's DNS) is not an address written by hand, and
/// is not reported.
pub fn stale_addresses(
    servers: &[(String, String)],
    containers: &[(String, Vec<IpAddr>)],
) -> Vec<String> {
    servers
        .iter()
        .filter(|(url, _)| match ip_of(url) {
            Some(ip) => !containers.iter().any(|(_, ips)| ips.contains(&ip)),
            None => false,
        })
        .map(|(url, _)| url.clone())
        .collect()
}

/// The IP address in `http://IP:PORT/...`, if the host is one.
fn ip_of(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.parse().ok()
}

fn describe(containers: &[(String, Vec<IpAddr>)]) -> String {
    if containers.is_empty() {
        return "none running".into();
    }
    containers
        .iter()
        .map(|(id, ips)| {
            let ips: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            format!("{} ({id})", ips.join(" "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> (String, String) {
        (url.to_string(), "UP".to_string())
    }

    fn container(id: &str, ip: &str) -> (String, Vec<IpAddr>) {
        (id.to_string(), vec![ip.parse().unwrap()])
    }

    #[test]
    fn an_address_a_running_container_has_is_not_stale() {
        let servers = [server("http://172.18.0.2:80")];
        let containers = [container("a1", "172.18.0.2")];
        assert!(stale_addresses(&servers, &containers).is_empty());
    }

    #[test]
    fn a_container_back_with_another_address_leaves_the_written_one_stale() {
        let servers = [
            server("http://172.18.0.2:80"),
            server("http://172.18.0.5:80"),
        ];
        let containers = [container("a1", "172.18.0.3"), container("b2", "172.18.0.5")];
        assert_eq!(
            stale_addresses(&servers, &containers),
            vec!["http://172.18.0.2:80".to_string()]
        );
        assert_eq!(describe(&containers), "172.18.0.3 (a1), 172.18.0.5 (b2)");
    }

    #[test]
    fn no_container_at_all_makes_every_address_stale() {
        let servers = [server("http://10.0.0.7:3000/")];
        assert_eq!(stale_addresses(&servers, &[]).len(), 1);
        assert_eq!(describe(&[]), "none running");
    }

    #[test]
    fn names_and_ipv6_addresses_are_read_right() {
        assert_eq!(ip_of("http://static:80"), None);
        assert!(stale_addresses(&[server("http://static:80")], &[]).is_empty());
        assert_eq!(ip_of("http://[fd00::2]:80/x"), "fd00::2".parse().ok());
        assert_eq!(ip_of("http://127.0.0.1:8001"), "127.0.0.1".parse().ok());
    }

    #[test]
    fn the_router_names_its_provider_and_qualified_service() {
        let routers = serde_json::json!([
            {"name": "dynamic@file", "provider": "file", "service": "dynamic"},
            {"name": "static@docker", "provider": "docker", "service": "static@docker"}
        ]);
        assert_eq!(
            router_service(&routers, Kind::Dynamic).unwrap(),
            ("file".to_string(), "dynamic@file".to_string())
        );
        assert_eq!(router_service(&routers, Kind::Static).unwrap().0, "docker");
    }

    #[test]
    fn servers_carry_their_status() {
        let services = serde_json::json!([{
            "name": "static@file",
            "loadBalancer": {"servers": [{"url": "http://172.18.0.2:80"}]},
            "serverStatus": {"http://172.18.0.2:80": "DOWN"}
        }]);
        assert_eq!(
            servers_of(&services, "static@file").unwrap(),
            vec![("http://172.18.0.2:80".to_string(), "DOWN".to_string())]
        );
    }
}
