//! Steps 1 to 5: the two servers answer through the proxy, the routing, the proxy as the only
//! way in, the page's AJAX call, and what the proxy's API says about its services.
//!
//! Nothing here asks the servers for help: any static site, any JSON API. Where the kit's
//! servers offer more (`/whoami`, the jokes' shape), the check says what it saw too.

use std::collections::BTreeSet;

use anyhow::{anyhow, ensure, Result};
use serde_json::Value;

use super::common::{api_servers, fresh_ids, from_service, ok, page_and_assets};
use super::{Ctx, Outcome};
use crate::check::attribution::Mode;
use crate::check::client::asset_paths;
use crate::check::{Control, Edition};
use crate::local::Kind;

pub async fn static_site(ctx: &mut Ctx) -> Result<Outcome> {
    let (page, assets) = page_and_assets(ctx, None).await?;
    ensure!(
        page.answer.content_type().starts_with("text/html"),
        "GET / is `{}`, not text/html",
        page.answer.content_type()
    );
    from_service(ctx, &page, Kind::Static)?;
    ensure!(
        !assets.is_empty(),
        "the page loads no same-site asset (stylesheet, script, image): the sticky-session test \
         needs a page with assets"
    );
    for a in &assets {
        ok(ctx, a).await?;
        from_service(ctx, a, Kind::Static)?;
    }
    Ok(Outcome::Pass(format!(
        "GET / 200 {} from {}; {} assets 200: {}{}",
        page.answer.content_type(),
        page.by(),
        assets.len(),
        assets
            .iter()
            .map(|a| a.answer.path.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        if assets.len() < 3 {
            " (few: the report's sticky test looks at CSS, scripts and images)"
        } else {
            ""
        }
    )))
}

/// A JSON document's shape in a few words: `an object {jokes, server}`, `an array of 3 objects
/// {setup, punchline}`.
pub fn shape(v: &Value) -> String {
    let keys = |m: &serde_json::Map<String, Value>| {
        let mut k: Vec<&str> = m.keys().map(String::as_str).take(6).collect();
        if m.len() > 6 {
            k.push("…");
        }
        k.join(", ")
    };
    match v {
        Value::Object(m) => format!("an object {{{}}}", keys(m)),
        Value::Array(a) => match a.first() {
            Some(Value::Object(m)) => format!("an array of {} objects {{{}}}", a.len(), keys(m)),
            Some(_) => format!("an array of {} values", a.len()),
            None => "an empty array".into(),
        },
        Value::String(_) => "a string".into(),
        other => format!("`{other}`"),
    }
}

pub async fn jokes_json(ctx: &mut Ctx) -> Result<Outcome> {
    let path = ctx.setup().api_prefix.clone();
    let s = ctx.probe.get(&path, None).await?;
    ok(ctx, &s).await?;
    from_service(ctx, &s, Kind::Dynamic)?;
    let a = &s.answer;
    let v: Value = serde_json::from_str(&a.body).map_err(|e| {
        anyhow!(
            "GET {path} answered 200 but not JSON ({e}): {:.200}",
            a.body
        )
    })?;
    let mut evidence = format!(
        "GET {path} 200 {} from {}: {}",
        a.content_type(),
        s.by(),
        shape(&v)
    );
    if !a.content_type().contains("json") {
        evidence.push_str(&format!(
            "; note: Content-Type is `{}`, not application/json",
            a.content_type()
        ));
    }
    // The kit's API names its server and has a ?count: check those when they are there.
    if let Some(id) = v.pointer("/server/id").and_then(Value::as_str) {
        if let Some(by) = &a.served_by {
            ensure!(
                id == by,
                "the JSON names server `{id}` but X-Served-By is `{by}`"
            );
        }
        let joke = v
            .pointer("/jokes/0")
            .ok_or_else(|| anyhow!("no jokes in {:.200}", a.body))?;
        let setup = joke.get("setup").and_then(Value::as_str).unwrap_or("");
        let punchline = joke.get("punchline").and_then(Value::as_str).unwrap_or("");
        ensure!(
            !setup.is_empty() && !punchline.is_empty(),
            "a joke without setup or punchline: {joke}"
        );
        let three = ctx.probe.get(&format!("{path}?count=3"), None).await?;
        ok(ctx, &three).await?;
        let n = serde_json::from_str::<Value>(&three.answer.body)
            .ok()
            .and_then(|v| v.get("jokes")?.as_array().map(|a| a.len()))
            .unwrap_or(0);
        ensure!(n == 3, "?count=3 gave {n} jokes");
        evidence.push_str(&format!(
            "; the kit's API: \"{setup}\" / \"{punchline}\", ?count=3 gave 3"
        ));
    }
    Ok(Outcome::Pass(evidence))
}

/// Finds `key: value` anywhere in a JSON document.
fn json_has(v: &Value, key: &str, value: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (k.eq_ignore_ascii_case(key) && x.as_str() == Some(value)) || json_has(x, key, value)
        }),
        Value::Array(a) => a.iter().any(|x| json_has(x, key, value)),
        _ => false,
    }
}

pub async fn routing(ctx: &mut Ctx) -> Result<Outcome> {
    let prefix = ctx.setup().api_prefix.clone();
    let site: BTreeSet<String> = fresh_ids(ctx, Kind::Static, 4).await?.into_iter().collect();
    let api: BTreeSet<String> = fresh_ids(ctx, Kind::Dynamic, 4)
        .await?
        .into_iter()
        .collect();
    ensure!(
        site.is_disjoint(&api),
        "the same servers answer / and {prefix}: {site:?} / {api:?}"
    );
    // With the kit's API, see the path it received; any API answering 200 at the prefix's
    // root already shows the prefix was stripped (or that it serves the full path).
    let mut stripped = String::new();
    if ctx.opts.shortcuts && ctx.mode().await == Mode::Header {
        let who = ctx.probe.get(&format!("{prefix}whoami"), None).await?;
        if who.answer.status == 200 {
            if let Ok(v) = serde_json::from_str::<Value>(&who.answer.body) {
                ensure!(
                    json_has(&v, "path", "/whoami") || json_has(&v, "uri", "/whoami"),
                    "the API server did not receive /whoami (prefix not stripped?): {:.300}",
                    who.answer.body
                );
                let fwd = who
                    .answer
                    .body
                    .to_ascii_lowercase()
                    .contains("x-forwarded-prefix");
                stripped = format!(
                    "; {prefix}whoami reached the API as /whoami{}",
                    if fwd { " with X-Forwarded-Prefix" } else { "" }
                );
            }
        }
    }
    let other = ctx
        .web()
        .with_host("unknown.invalid")
        .get("/", None)
        .await?;
    ensure!(
        other.status == 404,
        "Host: unknown.invalid answered {}, not 404: a router matches any host (a rule without \
         Host(`{}`)?)",
        other.status,
        ctx.setup().host
    );
    Ok(Outcome::Pass(format!(
        "/ → {site:?}; {prefix} → {api:?}{stripped}; Host unknown.invalid → 404"
    )))
}

pub async fn entry_point(ctx: &mut Ctx) -> Result<Outcome> {
    match &ctx.t.control {
        Control::Docker(p) => {
            let mut seen = Vec::new();
            for kind in Kind::ALL {
                let service = p.service(kind);
                for (id, ports) in p.running(service).await? {
                    ensure!(
                        !ports.contains("->"),
                        "{service} container {id} publishes a port ({ports}): anyone can bypass \
                         the proxy; use `expose:` instead of `ports:`"
                    );
                    seen.push(format!("{id} ({})", if ports.is_empty() { "-" } else { &ports }));
                }
            }
            ensure!(
                !seen.is_empty(),
                "no {} or {} container in project {}",
                p.static_service,
                p.api_service,
                p.project
            );
            Ok(Outcome::Pass(format!(
                "no backend publishes a port: {}; only the proxy's {} and {} are reachable",
                seen.join(", "),
                ctx.t.web.base(),
                ctx.t.api_url
            )))
        }
        _ => Ok(Outcome::Skip(
            "not a Docker stack: local backends listen on 127.0.0.1 ports that only `lab up` knows, \
             so any local program could call them; with containers they publish no port at all \
             (`lab check --docker` verifies that)"
                .into(),
        )),
    }
}

pub async fn ajax(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let api = ctx.setup().api_prefix.trim_end_matches('/').to_string();
    let page = web.get("/", None).await?;
    let mut sources = vec![("/".to_string(), page.body.clone())];
    for p in asset_paths("/", &page.body)
        .into_iter()
        .filter(|p| p.ends_with(".js"))
    {
        let a = web.get(&p, None).await?;
        sources.push((p, a.body));
    }
    let Some(caller) = sources
        .iter()
        .find(|(_, body)| body.contains(&api))
        .map(|(p, _)| p.clone())
    else {
        if ctx.setup().edition == Edition::E2023 {
            return Ok(Outcome::Skip(format!(
                "neither the page nor its scripts mention {api}: AJAX is optional in the 2023 \
                 edition"
            )));
        }
        anyhow::bail!("neither the page nor its scripts mention {api}: the page makes no AJAX call to the API");
    };
    let scheme = if web.is_https() { "https" } else { "http" };
    let origin = format!("{scheme}://{}", web.host());
    let a = ctx
        .probe
        .get_with(
            &ctx.setup().api_prefix.clone(),
            None,
            &[("Origin", origin.as_str()), ("Accept", "application/json")],
        )
        .await?;
    ok(ctx, &a).await?;
    let cors = a
        .answer
        .headers
        .get("access-control-allow-origin")
        .is_some();
    Ok(Outcome::Pass(format!(
        "{caller} fetches {api} from its own origin {origin}; the proxy answers it ({} from {}){}",
        a.answer.status,
        a.by(),
        if cors {
            ", and the API also sends CORS headers"
        } else {
            " with no CORS header: same origin, none needed"
        }
    )))
}

pub async fn discovery(ctx: &mut Ctx) -> Result<Outcome> {
    let mut parts = Vec::new();
    if let Some((name, version)) = ctx.t.proxy().await {
        parts.push(format!("{name} {version}"));
    }
    for kind in Kind::ALL {
        let label = ctx.setup().describe(kind);
        let servers = api_servers(ctx, kind).await?;
        ensure!(
            !servers.is_empty(),
            "the {label} has no servers in the proxy's API"
        );
        let down: Vec<_> = servers.iter().filter(|(_, s)| s != "UP").collect();
        ensure!(down.is_empty(), "the {label}: servers not UP: {down:?}");
        if let Ok(Some(n)) = ctx.t.control.count(kind).await {
            ensure!(
                servers.len() == n,
                "the {label}: the proxy lists {} servers, the stack has {n}{}",
                servers.len(),
                if ctx.t.control.is_docker() {
                    " (another compose project with the same labels on this engine? `docker ps`)"
                } else {
                    ""
                }
            );
        }
        parts.push(format!("{label}: {} servers UP", servers.len()));
    }
    Ok(Outcome::Pass(parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_searched_at_any_depth() {
        let v: Value =
            serde_json::from_str(r#"{"request":{"Path":"/whoami","headers":[{"x":"y"}]}}"#)
                .unwrap();
        assert!(json_has(&v, "path", "/whoami"));
        assert!(json_has(&v, "x", "y"));
        assert!(!json_has(&v, "path", "/api/jokes/whoami"));
    }

    #[test]
    fn any_json_shape_is_described() {
        let v: Value = serde_json::from_str(r#"[{"setup":"a","punchline":"b"},{}]"#).unwrap();
        assert_eq!(shape(&v), "an array of 2 objects {punchline, setup}");
        let v: Value = serde_json::from_str(r#"{"joke":"x"}"#).unwrap();
        assert_eq!(shape(&v), "an object {joke}");
        assert_eq!(shape(&Value::from(3)), "`3`");
    }
}
