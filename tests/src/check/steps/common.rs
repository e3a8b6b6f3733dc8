//! What several checks share: a 200 or the reason why not, a page with its assets, the number
//! of servers a service should have, the proxy API's view of a service, and sticky sessions
//! on either service.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, ensure, Result};

use super::Ctx;
use crate::check::attribution::Seen;
use crate::check::client::{asset_paths, SetCookie};
use crate::check::diagnose;
use crate::local::Kind;

/// Ok for a 200; otherwise a failure that says who answered and why, as far as can be known:
/// a backend's own error, or the proxy's (its configuration errors, the containers' state).
pub async fn ok(ctx: &Ctx, s: &Seen) -> Result<()> {
    let a = &s.answer;
    if a.status == 200 {
        return Ok(());
    }
    if let Ok(who) = &s.who {
        let what = match a.status {
            404 => "does not serve this path (for the API: is the prefix stripped?)",
            500..=599 => "failed itself (the proxy only passed its answer on): read its logs",
            _ => "answered so itself",
        };
        bail!(
            "GET {} (Host: {}) answered {} from {}: the server {what}{}",
            a.path,
            ctx.setup().host,
            a.status,
            who.server,
            if ctx.t.control.is_docker() && who.service.is_some() {
                format!(" (`docker logs {}`)", who.server)
            } else {
                String::new()
            }
        );
    }
    bail!(
        "{}",
        diagnose::why(&ctx.t, ctx.setup(), &a.path, a.status).await
    )
}

/// The page and the assets it loads (and those its stylesheets load), with a cookie or not.
pub async fn page_and_assets(ctx: &Ctx, cookie: Option<&str>) -> Result<(Seen, Vec<Seen>)> {
    let page = ctx.probe.get("/", cookie).await?;
    ok(ctx, &page).await?;
    let mut paths = asset_paths("/", &page.answer.body);
    let api = ctx.setup().api_prefix.trim_end_matches('/').to_string();
    paths.retain(|p| !p.starts_with(&api));
    let mut assets = Vec::new();
    let mut i = 0;
    while i < paths.len() && i < 40 {
        let a = ctx.probe.get(&paths[i], cookie).await?;
        if a.answer.content_type().contains("css") {
            for p in asset_paths(&paths[i], &a.answer.body) {
                if !paths.contains(&p) && !p.starts_with(&api) {
                    paths.push(p);
                }
            }
        }
        assets.push(a);
        i += 1;
    }
    Ok((page, assets))
}

/// How many servers of a kind the stack has: from the control, else from the proxy's API.
pub async fn expected(ctx: &Ctx, kind: Kind) -> Option<usize> {
    if let Ok(Some(n)) = ctx.t.control.count(kind).await {
        return Some(n);
    }
    api_servers(ctx, kind).await.ok().map(|s| s.len())
}

/// The proxy's name for the service of a kind (`static@docker`; with the report's labels the
/// API's service is Docker's default name, `dynamic-<project>@docker`): the service of the
/// router named like the compose service, else of the router whose rule has the API prefix
/// (for the API) or not (for the site).
pub async fn service_name(ctx: &Ctx, kind: Kind) -> Result<String> {
    let routers = ctx.t.api("/api/http/routers").await?;
    let list = routers
        .as_array()
        .ok_or_else(|| anyhow!("/api/http/routers is not a list"))?;
    fn name_of(r: &serde_json::Value) -> &str {
        r.get("name").and_then(|n| n.as_str()).unwrap_or("")
    }
    fn rule_of(r: &serde_json::Value) -> &str {
        r.get("rule").and_then(|n| n.as_str()).unwrap_or("")
    }
    let service_name = ctx.setup().service(kind).to_string();
    let prefix = ctx.setup().api_prefix.trim_end_matches('/').to_string();
    let by_name = list
        .iter()
        .find(|r| name_of(r).starts_with(&format!("{service_name}@")));
    let by_rule = || {
        list.iter().find(|r| {
            let rule = rule_of(r);
            rule.contains(ctx.setup().host.as_str())
                && (rule.contains(prefix.as_str()) == (kind == Kind::Dynamic))
        })
    };
    let router =
        by_name.or_else(by_rule).ok_or_else(|| {
            anyhow!(
            "/api/http/routers has no router for the {}: none named `{service_name}@...`, none \
             with Host `{}`{} in its rule ({})",
            ctx.setup().describe(kind),
            ctx.setup().host,
            if kind == Kind::Dynamic { format!(" and `{prefix}`") } else { String::new() },
            list.iter().map(name_of).collect::<Vec<_>>().join(", ")
        )
        })?;
    let provider = router
        .get("provider")
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let mut service = router
        .get("service")
        .and_then(|s| s.as_str())
        .unwrap_or(&service_name)
        .to_string();
    if !service.contains('@') && !provider.is_empty() {
        service = format!("{service}@{provider}");
    }
    Ok(service)
}

/// Whether `name` (as the proxy's API or dashboard shows it) is `service`, with or without the
/// provider part.
pub fn same_service(name: &str, service: &str) -> bool {
    bare(name) == bare(service)
}

/// A service's name without its provider (`static@docker` -> `static`).
pub fn bare(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// The servers of a service in the proxy's API: (url, UP/DOWN); the service is
/// [`service_name`]'s.
pub async fn api_servers(ctx: &Ctx, kind: Kind) -> Result<Vec<(String, String)>> {
    let service = service_name(ctx, kind).await?;
    let services = ctx.t.api("/api/http/services").await?;
    let list = services
        .as_array()
        .ok_or_else(|| anyhow!("/api/http/services is not a list"))?;
    let svc = list
        .iter()
        .find(|s| {
            s.get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| same_service(n, &service))
        })
        .ok_or_else(|| anyhow!("/api/http/services has no `{service}` (its router's service)"))?;
    let status = svc.get("serverStatus").cloned().unwrap_or_default();
    let servers = svc
        .pointer("/loadBalancer/servers")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    Ok(servers
        .iter()
        .filter_map(|s| s.get("url")?.as_str())
        .map(|u| {
            let st = status
                .get(u)
                .or_else(|| status.get(u.trim_end_matches('/')))
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string();
            (u.to_string(), st)
        })
        .collect())
}

pub fn sessions_for(servers: usize) -> usize {
    (servers * 2).clamp(4, 12)
}

pub fn tally(ids: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    counts
        .iter()
        .map(|(id, n)| format!("{id}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who answered `n` requests of new clients (no cookie) to `kind`'s path; each must be a 200
/// from that service.
pub async fn fresh_ids(ctx: &Ctx, kind: Kind, n: usize) -> Result<Vec<String>> {
    let path = ctx.setup().path(kind).to_string();
    let mut ids = Vec::new();
    for _ in 0..n {
        let s = ctx.probe.get(&path, None).await?;
        ok(ctx, &s).await?;
        from_service(ctx, &s, kind)?;
        ids.push(s.server()?);
    }
    Ok(ids)
}

/// The answer came from a container of `kind`'s compose service (when the counters say which
/// service answered; with `X-Served-By` the service is not known, and this passes).
pub fn from_service(ctx: &Ctx, s: &Seen, kind: Kind) -> Result<()> {
    if let Some(service) = s.service() {
        let want = ctx.setup().service(kind);
        ensure!(
            service == want,
            "GET {} was answered by {} of service `{service}`, not by the {}: check the \
             routers' rules",
            s.answer.path,
            s.by(),
            ctx.setup().describe(kind)
        );
    }
    Ok(())
}

/// The sticky cookie a new client gets from `kind`'s service: the one named in lab.toml, else
/// the answer's only cookie (or the first).
pub fn sticky_cookie(ctx: &Ctx, s: &Seen, kind: Kind) -> Result<SetCookie> {
    let a = &s.answer;
    if let Some(name) = &ctx.setup().cookie {
        return a.set_cookie(name).ok_or_else(|| {
            anyhow!(
                "GET {} without a cookie set no `{name}` cookie (from {}): is the {} sticky \
                 (label traefik.http.services.<service>.loadbalancer.sticky.cookie=true, and \
                 .sticky.cookie.name={name})?",
                a.path,
                s.by(),
                ctx.setup().describe(kind)
            )
        });
    }
    a.set_cookies().into_iter().next().ok_or_else(|| {
        anyhow!(
            "GET {} without a cookie set no cookie at all (from {}): the {} is not sticky. Add \
             the labels traefik.http.services.<service>.loadbalancer.sticky.cookie=true (and \
             .sticky.cookie.name=...)",
            a.path,
            s.by(),
            ctx.setup().describe(kind)
        )
    })
}

/// One session pinned by the proxy: its cookie and its server.
pub struct Session {
    /// `name=value`, as a client sends it.
    pub cookie: String,
    pub name: String,
    pub server: String,
}

pub async fn new_session(ctx: &Ctx, kind: Kind) -> Result<Session> {
    let path = ctx.setup().path(kind).to_string();
    let s = ctx.probe.get(&path, None).await?;
    ok(ctx, &s).await?;
    let c = sticky_cookie(ctx, &s, kind)?;
    Ok(Session {
        cookie: format!("{}={}", c.name, c.value),
        name: c.name,
        server: s.server()?,
    })
}

/// Every request of a visit with the session's cookie comes from its server, and the proxy
/// sets no new cookie. For the site, a visit is the page and its assets; for the API, three
/// calls. Returns how many responses were checked.
pub async fn stays_pinned(ctx: &Ctx, kind: Kind, s: &Session) -> Result<usize> {
    let seen: Vec<Seen> = match kind {
        Kind::Static => {
            let (page, assets) = page_and_assets(ctx, Some(&s.cookie)).await?;
            std::iter::once(page).chain(assets).collect()
        }
        Kind::Dynamic => {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(
                    ctx.probe
                        .get(ctx.setup().path(kind), Some(&s.cookie))
                        .await?,
                );
            }
            v
        }
    };
    for a in &seen {
        ok(ctx, a).await?;
        let by = a.server()?;
        ensure!(
            by == s.server,
            "session pinned to {} ({}) got {} from {by}",
            s.server,
            s.cookie,
            a.answer.path
        );
        if let Some(c) = a.answer.set_cookie(&s.name) {
            bail!(
                "{} with a valid cookie got a new one: {}",
                a.answer.path,
                c.raw
            );
        }
    }
    Ok(seen.len())
}

/// The ids seen, as a set.
pub fn distinct(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// A check that needs to stop or scale servers, on a stack where it cannot.
pub fn needs_control(ctx: &Ctx, what: &str) -> Option<String> {
    (!ctx.t.control.can_change()).then(|| {
        format!(
            "needs a way to {what}: {}; run with --local <run dir> or --docker",
            ctx.t.control.describe()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enough_sessions_to_see_every_server_twice() {
        assert_eq!(sessions_for(1), 4);
        assert_eq!(sessions_for(4), 8);
        assert_eq!(sessions_for(30), 12);
        let ids = ["b", "a", "b"].map(String::from);
        assert_eq!(tally(&ids), "a×1 b×2");
    }
}
