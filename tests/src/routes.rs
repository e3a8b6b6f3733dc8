//! The local stack's routing, written in Traefik's file-provider format and routed exactly as
//! the lab's compose file routes (`compose/compose.yaml`, the report's labels):
//!
//! - router `static`: ``Host(`demo.res.ch`) && PathPrefix(`/`)`` to service `static`, sticky
//!   cookie `static_cookie`;
//! - router `dynamic`: ``Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)`` through the
//!   `dynamic` stripPrefix middleware (`/api/jokes/`) to service `dynamic` (round robin).
//!
//! With `localhost_routes`, two more routers (`static-localhost`, `dynamic-localhost`) route
//! ``Host(`localhost`) || Host(`127.0.0.1`)`` the same way, so `http://localhost:8000/` works in a
//! browser without a hosts entry. They share the services, so a browser and curl reach the same
//! servers, and the same sticky cookie.
//!
//! The file is replaced atomically (write a temporary file, then rename): the proxy's watcher
//! never reads half a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// The name of the static site's sticky cookie (the report's label).
pub const STICKY_COOKIE: &str = "static_cookie";
/// The API's path prefix, stripped before the jokes API sees the request.
pub const API_PREFIX: &str = "/api/jokes/";

/// One backend as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// For people (the dashboard): `static1`, ...
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOptions {
    /// The lab's virtual host.
    pub host: String,
    /// Also answer on `localhost` and `127.0.0.1`.
    pub localhost_routes: bool,
    /// Active health check on `/healthz` every this many milliseconds (not in the report's
    /// compose file; lets a restarted server come back UP in the dashboard).
    pub health_check_ms: Option<u64>,
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self {
            host: "demo.res.ch".into(),
            localhost_routes: true,
            health_check_ms: None,
        }
    }
}

#[derive(Serialize)]
struct File {
    http: Http,
}

#[derive(Serialize)]
struct Http {
    routers: BTreeMap<String, Router>,
    services: BTreeMap<String, Service>,
    middlewares: BTreeMap<String, Middleware>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Router {
    rule: String,
    service: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    middlewares: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    load_balancer: LoadBalancer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadBalancer {
    servers: Vec<Server>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sticky: Option<Sticky>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check: Option<HealthCheck>,
}

#[derive(Serialize)]
struct Server {
    url: String,
    name: String,
}

#[derive(Serialize)]
struct Sticky {
    cookie: Cookie,
}

#[derive(Serialize)]
struct Cookie {
    name: String,
}

#[derive(Serialize)]
struct HealthCheck {
    path: String,
    interval: String,
    timeout: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Middleware {
    strip_prefix: StripPrefix,
}

#[derive(Serialize)]
struct StripPrefix {
    prefixes: Vec<String>,
}

/// The YAML text of the dynamic configuration for these servers.
pub fn dynamic_config(statics: &[Upstream], dynamics: &[Upstream], opts: &RouteOptions) -> String {
    let host = format!("Host(`{}`)", opts.host);
    let local = "(Host(`localhost`) || Host(`127.0.0.1`))".to_string();
    let mut routers = BTreeMap::new();
    let mut hosts = vec![("", host)];
    if opts.localhost_routes {
        hosts.push(("-localhost", local));
    }
    for (suffix, host) in hosts {
        routers.insert(
            format!("static{suffix}"),
            Router {
                rule: format!("{host} && PathPrefix(`/`)"),
                service: "static".into(),
                middlewares: vec![],
            },
        );
        routers.insert(
            format!("dynamic{suffix}"),
            Router {
                rule: format!("{host} && PathPrefix(`{API_PREFIX}`)"),
                service: "dynamic".into(),
                middlewares: vec!["dynamic".into()],
            },
        );
    }
    let servers = |list: &[Upstream]| {
        list.iter()
            .map(|u| Server {
                url: u.url.clone(),
                name: u.name.clone(),
            })
            .collect()
    };
    let health = || {
        opts.health_check_ms.map(|ms| HealthCheck {
            path: "/healthz".into(),
            interval: format!("{ms}ms"),
            timeout: "1s".into(),
        })
    };
    let mut services = BTreeMap::new();
    services.insert(
        "static".to_string(),
        Service {
            load_balancer: LoadBalancer {
                servers: servers(statics),
                sticky: Some(Sticky {
                    cookie: Cookie {
                        name: STICKY_COOKIE.into(),
                    },
                }),
                health_check: health(),
            },
        },
    );
    services.insert(
        "dynamic".to_string(),
        Service {
            load_balancer: LoadBalancer {
                servers: servers(dynamics),
                sticky: None,
                health_check: health(),
            },
        },
    );
    let mut middlewares = BTreeMap::new();
    middlewares.insert(
        "dynamic".to_string(),
        Middleware {
            strip_prefix: StripPrefix {
                prefixes: vec![API_PREFIX.into()],
            },
        },
    );
    let file = File {
        http: Http {
            routers,
            services,
            middlewares,
        },
    };
    let yaml = serde_norway::to_string(&file).expect("the routing model always serializes");
    format!(
        "# Written by `lab up`: the lab's compose routing for the local stack. Rewritten on every\n\
         # scale; edits are picked up live by the proxy but lost on the next scale.\n{yaml}"
    )
}

/// Replaces `path` with `contents` atomically: a reader sees the old file or the new one.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".lab-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, port: u16) -> Upstream {
        Upstream {
            url: format!("http://127.0.0.1:{port}"),
            name: name.into(),
        }
    }

    #[test]
    fn routes_like_the_compose_file() {
        let yaml = dynamic_config(
            &[up("static1", 1001), up("static2", 1002)],
            &[up("dynamic1", 2001)],
            &RouteOptions {
                localhost_routes: false,
                ..Default::default()
            },
        );
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        let http = &v["http"];
        assert_eq!(
            http["routers"]["static"]["rule"],
            "Host(`demo.res.ch`) && PathPrefix(`/`)"
        );
        assert_eq!(
            http["routers"]["dynamic"]["rule"],
            "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)"
        );
        assert_eq!(http["routers"]["dynamic"]["middlewares"][0], "dynamic");
        assert_eq!(
            http["middlewares"]["dynamic"]["stripPrefix"]["prefixes"][0],
            "/api/jokes/"
        );
        let st = &http["services"]["static"]["loadBalancer"];
        assert_eq!(st["sticky"]["cookie"]["name"], "static_cookie");
        assert_eq!(st["servers"][1]["url"], "http://127.0.0.1:1002");
        let dy = &http["services"]["dynamic"]["loadBalancer"];
        assert!(dy.get("sticky").is_none());
        assert_eq!(dy["servers"].as_array().unwrap().len(), 1);
        assert!(http["routers"].get("static-localhost").is_none());
    }

    #[test]
    fn localhost_routers_share_the_services() {
        let yaml = dynamic_config(&[up("s", 1)], &[up("d", 2)], &RouteOptions::default());
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        let r = &v["http"]["routers"];
        assert_eq!(
            r["dynamic-localhost"]["rule"],
            "(Host(`localhost`) || Host(`127.0.0.1`)) && PathPrefix(`/api/jokes/`)"
        );
        assert_eq!(r["static-localhost"]["service"], "static");
        assert_eq!(r["dynamic-localhost"]["service"], "dynamic");
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dynamic.yaml");
        write_atomic(&path, "a: 1\n").unwrap();
        write_atomic(&path, "b: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b: 2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
