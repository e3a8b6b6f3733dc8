//! Why a route answered 404, 502 or 503: what the proxy says about its configuration, and
//! whether the containers run at all. The commonest mistakes of the lab are answered here
//! instead of with a bare status: a container that exposes no port (the proxy cannot know where
//! to send), a middleware referenced with a typo (the router is disabled), a service whose
//! containers are stopped, a stack that is not running.
//!
//! Both proxies report configuration errors in their API: Traefik puts an `error` list and
//! `status: disabled` on each router, service and middleware (`/api/http/...`); ours does too,
//! and lists everything in `/api/issues` (a Traefik-compatible router whose service does not
//! exist, a container skipped because it has no port). [`explain`] reads both shapes.

use serde_json::Value;

use super::target::{DockerProject, Target};
use super::Setup;

/// The proxy's own words about what is wrong, one line per problem.
pub fn explain(
    routers: &Value,
    services: &Value,
    middlewares: &Value,
    issues: &Value,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(list) = issues.as_array() {
        for i in list {
            let msg = i.get("message").and_then(Value::as_str).unwrap_or("");
            let what = i
                .pointer("/element/name")
                .and_then(Value::as_str)
                .map(|n| {
                    let kind = i
                        .pointer("/element/kind")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    format!("{kind} {n}: ")
                })
                .unwrap_or_default();
            if !msg.is_empty() {
                out.push(format!("{what}{msg}"));
            }
        }
    }
    for (kind, list) in [
        ("router", routers),
        ("service", services),
        ("middleware", middlewares),
    ] {
        for e in list.as_array().into_iter().flatten() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("?");
            let status = e.get("status").and_then(Value::as_str).unwrap_or("enabled");
            let errors: Vec<&str> = e
                .get("error")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for err in &errors {
                let line = format!("{kind} {name}: {err}");
                if !out.iter().any(|o| o.contains(err)) {
                    out.push(line);
                }
            }
            if errors.is_empty() && status != "enabled" {
                out.push(format!("{kind} {name} is {status}"));
            }
        }
    }
    out
}

/// The project's containers per service, from `docker ps -a` lines `service\tname\tstate\tstatus`:
/// which are running, which are not, and which service has none.
pub fn containers(lines: &str, services: &[&str]) -> Vec<String> {
    let rows: Vec<Vec<&str>> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let mut out = Vec::new();
    for s in services {
        let mine: Vec<&Vec<&str>> = rows.iter().filter(|r| r.first() == Some(s)).collect();
        if mine.is_empty() {
            out.push(format!("service `{s}` has no container"));
            continue;
        }
        let running = mine.iter().filter(|r| r.get(2) == Some(&"running")).count();
        let others: Vec<String> = mine
            .iter()
            .filter(|r| r.get(2) != Some(&"running"))
            .map(|r| format!("{} {}", r.get(1).unwrap_or(&"?"), r.get(3).unwrap_or(&"?")))
            .collect();
        out.push(if others.is_empty() {
            format!("service `{s}`: {running} running")
        } else {
            format!(
                "service `{s}`: {running} running; not running: {}",
                others.join(", ")
            )
        });
    }
    out
}

/// What `docker ps -a` says about the project's proxy, static and API services.
pub async fn stack_state(p: &DockerProject, setup: &Setup) -> String {
    let project = format!("label=com.docker.compose.project={}", p.project);
    match p
        .docker(&[
            "ps",
            "-a",
            "--filter",
            &project,
            "--format",
            "{{.Label \"com.docker.compose.service\"}}\t{{.Names}}\t{{.State}}\t{{.Status}}",
        ])
        .await
    {
        Ok(lines) if lines.trim().is_empty() => format!(
            "compose project `{}` has no container at all: is the stack up \
             (`docker compose -p {} up -d`)?",
            p.project, p.project
        ),
        Ok(lines) => containers(
            &lines,
            &[
                &setup.proxy_service,
                &setup.static_service,
                &setup.api_service,
            ],
        )
        .join("; "),
        Err(e) => format!("docker ps failed: {e:#}"),
    }
}

/// Everything known about why `GET path` answered `status`, as one sentence to append.
pub async fn why(t: &Target, setup: &Setup, path: &str, status: u16) -> String {
    let mut parts = Vec::new();
    let get = |p: &'static str| async move { t.api(p).await.ok() };
    match get("/api/http/routers").await {
        Some(routers) => {
            let services = get("/api/http/services").await.unwrap_or_default();
            let middlewares = get("/api/http/middlewares").await.unwrap_or_default();
            let issues = get("/api/issues").await.unwrap_or_default();
            let found = explain(&routers, &services, &middlewares, &issues);
            if found.is_empty() {
                let names: Vec<&str> = routers
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("name")?.as_str())
                    .collect();
                parts.push(format!(
                    "the proxy's API reports no configuration error; its routers: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            } else {
                parts.push(format!("the proxy's API says: {}", found.join("; ")));
            }
        }
        None => parts.push(format!(
            "the proxy's API ({}) does not answer, so its configuration errors cannot be shown",
            t.api_url
        )),
    }
    if let super::Control::Docker(p) = &t.control {
        parts.push(stack_state(p, setup).await);
    }
    let hint = match status {
        404 => "404 from the proxy: no router matched Host and path",
        502 => "502: the proxy reached no server (connection refused or reset)",
        503 => "503: the router's service has no server available",
        _ => "",
    };
    format!(
        "GET {path} (Host: {}) answered {status}. {}{}",
        setup.host,
        if hint.is_empty() {
            String::new()
        } else {
            format!("{hint}. ")
        },
        parts.join(". ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn traefik_errors_are_read_from_each_element() {
        // The shape of Traefik v2/v3's /api/http/routers and /services.
        let routers = json!([
            {"name": "static@docker", "status": "disabled", "service": "static",
             "error": ["the service \"static@docker\" does not exist"]},
            {"name": "dynamic@docker", "status": "enabled", "service": "dynamic"}
        ]);
        let middlewares = json!([
            {"name": "dynamic@docker", "status": "disabled", "error": ["prefixes is empty"]}
        ]);
        let out = explain(&routers, &json!([]), &middlewares, &Value::Null);
        assert_eq!(
            out,
            vec![
                "router static@docker: the service \"static@docker\" does not exist",
                "middleware dynamic@docker: prefixes is empty"
            ]
        );
    }

    #[test]
    fn our_issues_come_first_and_are_not_repeated() {
        let issues = json!([{
            "element": {"kind": "source", "name": "servers1-static-1"},
            "message": "container `servers1-static-1` exposes no port and has no \
                        `traefik.http.services.static.loadbalancer.server.port` label"
        }]);
        let routers = json!([{"name": "static@docker", "status": "warning"}]);
        let out = explain(&routers, &json!([]), &json!([]), &issues);
        assert_eq!(out.len(), 2);
        assert!(
            out[0].starts_with("source servers1-static-1: container"),
            "{out:?}"
        );
        assert!(out[0].contains("exposes no port"));
        assert_eq!(out[1], "router static@docker is warning");
    }

    #[test]
    fn containers_are_summarised_per_service() {
        let lines = "static\tp-static-1\trunning\tUp 2 minutes\n\
                     static\tp-static-2\texited\tExited (1) 5 seconds ago\n\
                     proxy\tp-proxy-1\trunning\tUp 2 minutes\n";
        assert_eq!(
            containers(lines, &["proxy", "static", "dynamic"]),
            vec![
                "service `proxy`: 1 running",
                "service `static`: 1 running; not running: p-static-2 Exited (1) 5 seconds ago",
                "service `dynamic` has no container",
            ]
        );
    }
}
