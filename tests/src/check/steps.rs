//! The checks themselves, one function each, in the order of the lab's steps. Every loop is
//! bounded in requests and in time; traffic goes only to the target's loopback entrypoints.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Result};

use super::browser::{self, BrowserSession};
use super::client::{asset_paths, Answer, Client};
use super::{BrowserMode, Options, Target};
use crate::local::Kind;
use crate::routes::{API_PREFIX, STICKY_COOKIE};

/// What a check found when it did not fail.
pub enum Outcome {
    Pass(String),
    Skip(String),
}

#[derive(Clone, Copy, Debug)]
pub enum Id {
    StaticSite,
    JokesJson,
    Routing,
    EntryPoint,
    StaticConfig,
    Ajax,
    BrowserAjax,
    Discovery,
    Dashboard,
    Spread,
    RoundRobin,
    Sticky,
    CookieScope,
    BrowserSticky,
    Failover,
    Scaling,
    Ui,
}

pub struct Check {
    pub step: u8,
    pub name: &'static str,
    pub what: &'static str,
    pub id: Id,
}

const fn check(step: u8, name: &'static str, what: &'static str, id: Id) -> Check {
    Check {
        step,
        name,
        what,
        id,
    }
}

/// Every check, in the order they run (step order; the ones that stop or scale servers last
/// within the run, in step 8).
pub const CHECKS: &[Check] = &[
    check(1, "static-site", "the site's page and every asset it loads answer 200 with X-Served-By", Id::StaticSite),
    check(2, "jokes-json", "the API answers JSON jokes naming the server that answered", Id::JokesJson),
    check(3, "routing", "`/` goes to the static servers, `/api/jokes/` to the API with the prefix stripped, other hosts 404", Id::Routing),
    check(3, "proxy-only-entry", "the backends publish no port: the proxy is the only way in", Id::EntryPoint),
    check(3, "static-config", "the routes come from a file of written addresses (file provider), each still a running server's", Id::StaticConfig),
    check(4, "ajax-same-origin", "the page's script calls /api/jokes/ on its own origin, which the proxy routes", Id::Ajax),
    check(4, "browser-ajax", "in Chromium, the AJAX area updates and the API servers cycle", Id::BrowserAjax),
    check(5, "discovery", "the proxy's API lists the services and their servers, all UP", Id::Discovery),
    check(5, "browser-dashboard", "in Chromium, the dashboard shows the services with their servers UP, and its charts draw round robin on every API server and a sticky client on one static server", Id::Dashboard),
    check(6, "load-spread", "requests without a cookie reach every static and every dynamic server", Id::Spread),
    check(7, "round-robin", "one client sees the API servers in a fixed cyclic order", Id::RoundRobin),
    check(7, "sticky-sessions", "several sessions: page and every asset from the server in the session's cookie; sessions differ", Id::Sticky),
    check(7, "cookie-scope", "the sticky cookie is opaque, Path-scoped, never set by the API, never seen by a backend", Id::CookieScope),
    check(7, "browser-sticky", "in Chromium, several isolated sessions: every response from the cookie's server; sessions differ", Id::BrowserSticky),
    check(8, "failover", "the pinned server stops: the next request succeeds with a new cookie for a live server, and stays there after the old one returns", Id::Failover),
    check(8, "scaling", "scale up and down while requests run: new servers get traffic, removed ones none, no request fails", Id::Scaling),
    check(9, "management-ui", "the page lists the services and their nodes UP; refuses actions without the token; with it, adds a node that serves, stops it out of the rotation, removes it", Id::Ui),
];

/// State shared by the checks of one run.
pub struct Ctx {
    pub t: Target,
    pub opts: Options,
    browser: Option<Result<BrowserSession, String>>,
}

impl Ctx {
    pub fn new(t: Target, opts: Options) -> Self {
        Self {
            t,
            opts,
            browser: None,
        }
    }

    /// The browser, launched on first use. `Ok(None)`: skip the browser checks (and why).
    async fn browser(&mut self) -> Result<std::result::Result<&mut BrowserSession, String>> {
        if self.opts.browser == BrowserMode::Off {
            return Ok(Err("browser checks disabled (--no-browser)".into()));
        }
        if self.browser.is_none() {
            let launched = match browser::find_chromium() {
                None => {
                    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                    if ci || self.opts.browser == BrowserMode::On {
                        bail!(
                            "Chromium not found (looked for /usr/bin/chromium, chromium, \
                             chromium-browser, google-chrome; or set CHROMIUM): install it with \
                             `apt-get install -y chromium`"
                        );
                    }
                    Err("Chromium not installed (`apt-get install -y chromium`); \
                         --browser makes this a failure"
                        .to_string())
                }
                Some(path) => Ok(BrowserSession::launch(&path).await?),
            };
            self.browser = Some(launched);
        }
        match self.browser.as_mut() {
            Some(Ok(b)) => Ok(Ok(b)),
            Some(Err(why)) => Ok(Err(why.clone())),
            None => unreachable!("set above"),
        }
    }

    pub async fn close(&mut self) {
        if let Some(Ok(mut b)) = self.browser.take() {
            b.close().await;
        }
    }

    fn web(&self) -> &Client {
        &self.t.web
    }
}

pub async fn run_one(id: Id, ctx: &mut Ctx) -> Result<Outcome> {
    match id {
        Id::StaticSite => static_site(ctx).await,
        Id::JokesJson => jokes_json(ctx).await,
        Id::Routing => routing(ctx).await,
        Id::EntryPoint => entry_point(ctx).await,
        Id::StaticConfig => super::static_config::check(&ctx.t).await,
        Id::Ajax => ajax(ctx).await,
        Id::BrowserAjax => {
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            match ctx.browser().await? {
                Ok(b) => browser::ajax(b, &t, shots.as_deref())
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Discovery => discovery(ctx).await,
        Id::Dashboard => {
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            match ctx.browser().await? {
                Ok(b) => browser::dashboard(b, &t, shots.as_deref())
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Spread => spread(ctx).await,
        Id::RoundRobin => round_robin(ctx).await,
        Id::Sticky => sticky(ctx).await,
        Id::CookieScope => cookie_scope(ctx).await,
        Id::BrowserSticky => {
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            let n = sessions_for(expected(&ctx.t, Kind::Static).await.unwrap_or(2)).min(6);
            match ctx.browser().await? {
                Ok(b) => browser::sticky(b, &t, n, shots.as_deref())
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Failover => failover(ctx).await,
        Id::Scaling => scaling(ctx).await,
        Id::Ui => {
            let token = ctx.opts.manage_token.clone();
            super::manage::check(&ctx.t, token.as_deref()).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn ok_status(a: &Answer) -> Result<()> {
    ensure!(
        a.status == 200,
        "GET {} answered {} (served by {})",
        a.path,
        a.status,
        a.server()
    );
    Ok(())
}

fn served_by(a: &Answer) -> Result<String> {
    a.served_by
        .clone()
        .ok_or_else(|| anyhow!("GET {} ({}) has no X-Served-By header", a.path, a.status))
}

/// The page and the assets it loads (and those its stylesheets load), with a cookie or not.
async fn page_and_assets(web: &Client, cookie: Option<&str>) -> Result<(Answer, Vec<Answer>)> {
    let page = web.get("/", cookie).await?;
    ok_status(&page)?;
    let mut paths = asset_paths("/", &page.body);
    let mut assets = Vec::new();
    let mut i = 0;
    while i < paths.len() && i < 40 {
        let a = web.get(&paths[i], cookie).await?;
        if a.content_type().contains("css") {
            for p in asset_paths(&paths[i], &a.body) {
                if !paths.contains(&p) {
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
async fn expected(t: &Target, kind: Kind) -> Option<usize> {
    if let Ok(Some(n)) = t.control.count(kind).await {
        return Some(n);
    }
    api_servers(t, kind).await.ok().map(|s| s.len())
}

/// The servers of a service in the proxy's API: (url, UP/DOWN). The service is the one the
/// `static` / `dynamic` router uses: with the report's labels the API's service has Docker's
/// default name (`dynamic-<project>`), not `dynamic`.
async fn api_servers(t: &Target, kind: Kind) -> Result<Vec<(String, String)>> {
    let routers = t.api("/api/http/routers").await?;
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
    let provider = router
        .get("provider")
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let mut service = router
        .get("service")
        .and_then(|s| s.as_str())
        .unwrap_or(kind.name())
        .to_string();
    if !service.contains('@') && !provider.is_empty() {
        service = format!("{service}@{provider}");
    }
    let services = t.api("/api/http/services").await?;
    let list = services
        .as_array()
        .ok_or_else(|| anyhow!("/api/http/services is not a list"))?;
    let svc = list
        .iter()
        .find(|s| {
            s.get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n == service || n.split('@').next() == Some(service.as_str()))
        })
        .ok_or_else(|| {
            anyhow!(
                "/api/http/services has no `{service}` (router {}'s service)",
                kind.name()
            )
        })?;
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

fn sessions_for(static_servers: usize) -> usize {
    (static_servers * 2).clamp(4, 12)
}

fn tally(ids: &[String]) -> String {
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

/// Finds `key: value` anywhere in a JSON document.
fn json_has(v: &serde_json::Value, key: &str, value: &str) -> bool {
    match v {
        serde_json::Value::Object(m) => m.iter().any(|(k, x)| {
            (k.eq_ignore_ascii_case(key) && x.as_str() == Some(value)) || json_has(x, key, value)
        }),
        serde_json::Value::Array(a) => a.iter().any(|x| json_has(x, key, value)),
        _ => false,
    }
}

/// Ids of new sessions (no cookie) answering `/` or `path`, `n` requests.
async fn fresh_ids(web: &Client, path: &str, n: usize) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let a = web.get(path, None).await?;
        ok_status(&a)?;
        ids.push(served_by(&a)?);
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// Step 1 to 3

async fn static_site(ctx: &mut Ctx) -> Result<Outcome> {
    let (page, assets) = page_and_assets(ctx.web(), None).await?;
    ensure!(
        page.content_type().starts_with("text/html"),
        "GET / is `{}`, not text/html",
        page.content_type()
    );
    served_by(&page)?;
    ensure!(
        assets.len() >= 3,
        "the page loads {} same-site assets ({:?}); the sticky test needs CSS, JS and images",
        assets.len(),
        assets.iter().map(|a| &a.path).collect::<Vec<_>>()
    );
    for a in &assets {
        ok_status(a)?;
        served_by(a)?;
    }
    Ok(Outcome::Pass(format!(
        "GET / 200 {} from {}; {} assets 200 with X-Served-By: {}",
        page.content_type(),
        page.server(),
        assets.len(),
        assets
            .iter()
            .map(|a| a.path.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    )))
}

async fn jokes_json(ctx: &mut Ctx) -> Result<Outcome> {
    let a = ctx.web().get(API_PREFIX, None).await?;
    ok_status(&a)?;
    ensure!(
        a.content_type().starts_with("application/json"),
        "GET {API_PREFIX} is `{}`, not JSON",
        a.content_type()
    );
    let v: serde_json::Value = serde_json::from_str(&a.body)
        .map_err(|e| anyhow!("GET {API_PREFIX}: not JSON ({e}): {:.200}", a.body))?;
    let id = v
        .pointer("/server/id")
        .and_then(|x| x.as_str())
        .unwrap_or("");
    let by = served_by(&a)?;
    ensure!(
        id == by,
        "the JSON names server `{id}` but X-Served-By is `{by}`"
    );
    let joke = v
        .pointer("/jokes/0")
        .ok_or_else(|| anyhow!("no jokes in {:.200}", a.body))?;
    let setup = joke.get("setup").and_then(|x| x.as_str()).unwrap_or("");
    let punchline = joke.get("punchline").and_then(|x| x.as_str()).unwrap_or("");
    ensure!(
        !setup.is_empty() && !punchline.is_empty(),
        "a joke without setup or punchline: {joke}"
    );
    let three = ctx
        .web()
        .get(&format!("{API_PREFIX}?count=3"), None)
        .await?;
    ok_status(&three)?;
    let n = serde_json::from_str::<serde_json::Value>(&three.body)
        .ok()
        .and_then(|v| v.get("jokes")?.as_array().map(|a| a.len()))
        .unwrap_or(0);
    ensure!(n == 3, "?count=3 gave {n} jokes");
    Ok(Outcome::Pass(format!(
        "GET {API_PREFIX} 200 application/json from {by}: \"{setup}\" / \"{punchline}\"; ?count=3 gave 3"
    )))
}

async fn routing(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let site: BTreeSet<String> = fresh_ids(&web, "/", 4).await?.into_iter().collect();
    let api: BTreeSet<String> = fresh_ids(&web, API_PREFIX, 4).await?.into_iter().collect();
    ensure!(
        site.is_disjoint(&api),
        "the same servers answer / and {API_PREFIX}: {site:?} / {api:?}"
    );
    let who = web.get(&format!("{API_PREFIX}whoami"), None).await?;
    ok_status(&who)?;
    let v: serde_json::Value = serde_json::from_str(&who.body)
        .map_err(|e| anyhow!("{API_PREFIX}whoami is not JSON ({e})"))?;
    ensure!(
        json_has(&v, "path", "/whoami") || json_has(&v, "uri", "/whoami"),
        "the API server did not receive /whoami (prefix not stripped?): {:.300}",
        who.body
    );
    let prefix_seen = who.body.to_ascii_lowercase().contains("x-forwarded-prefix");
    let other = Client::new(web.base(), "unknown.invalid")?
        .get("/", None)
        .await?;
    ensure!(
        other.status == 404,
        "Host: unknown.invalid answered {}, not 404",
        other.status
    );
    Ok(Outcome::Pass(format!(
        "/ → {site:?}; {API_PREFIX} → {api:?}; {API_PREFIX}whoami reached the API as /whoami{}; \
         Host unknown.invalid → 404",
        if prefix_seen {
            " with X-Forwarded-Prefix"
        } else {
            ""
        }
    )))
}

async fn entry_point(ctx: &mut Ctx) -> Result<Outcome> {
    match &ctx.t.control {
        super::Control::Docker(p) => {
            let mut seen = Vec::new();
            for kind in Kind::ALL {
                for (id, ports) in p.running(kind).await? {
                    ensure!(
                        !ports.contains("->"),
                        "{} container {id} publishes a port: {ports}",
                        kind.name()
                    );
                    seen.push(format!("{id} ({})", if ports.is_empty() { "-" } else { &ports }));
                }
            }
            ensure!(!seen.is_empty(), "no static or dynamic container in project {}", p.project);
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

// ---------------------------------------------------------------------------------------------
// Step 4 to 6

async fn ajax(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let page = web.get("/", None).await?;
    ok_status(&page)?;
    let mut sources = vec![("/".to_string(), page.body.clone())];
    for p in asset_paths("/", &page.body)
        .into_iter()
        .filter(|p| p.ends_with(".js"))
    {
        let a = web.get(&p, None).await?;
        sources.push((p, a.body));
    }
    let caller = sources
        .iter()
        .find(|(_, body)| body.contains("/api/jokes"))
        .map(|(p, _)| p.clone())
        .ok_or_else(|| anyhow!("neither the page nor its scripts mention /api/jokes"))?;
    let origin = format!("http://{}", web.host());
    let a = web
        .get_with(
            API_PREFIX,
            None,
            &[("Origin", &origin), ("Accept", "application/json")],
        )
        .await?;
    ok_status(&a)?;
    let cors = a.headers.get("access-control-allow-origin").is_some();
    Ok(Outcome::Pass(format!(
        "{caller} fetches /api/jokes/ from its own origin {origin}; the proxy answers it ({} from {}){}",
        a.status,
        a.server(),
        if cors {
            ", and the API also sends CORS headers"
        } else {
            " with no CORS header: same origin, none needed"
        }
    )))
}

async fn discovery(ctx: &mut Ctx) -> Result<Outcome> {
    let mut parts = Vec::new();
    for kind in Kind::ALL {
        let servers = api_servers(&ctx.t, kind).await?;
        ensure!(
            !servers.is_empty(),
            "service {} has no servers",
            kind.name()
        );
        let down: Vec<_> = servers.iter().filter(|(_, s)| s != "UP").collect();
        ensure!(
            down.is_empty(),
            "service {}: servers not UP: {down:?}",
            kind.name()
        );
        if let Ok(Some(n)) = ctx.t.control.count(kind).await {
            ensure!(
                servers.len() == n,
                "service {} lists {} servers, the stack has {n}{}",
                kind.name(),
                servers.len(),
                if ctx.t.control.is_docker() {
                    " (another compose project with the same labels on this engine? `docker ps`)"
                } else {
                    ""
                }
            );
        }
        parts.push(format!("{}: {} servers UP", kind.name(), servers.len()));
    }
    let routers = ctx.t.api("/api/http/routers").await?;
    let names: Vec<String> = routers
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for want in ["static@", "dynamic@"] {
        ensure!(
            names.iter().any(|n| n.starts_with(want)),
            "/api/http/routers has no {want}… router: {names:?}"
        );
    }
    Ok(Outcome::Pass(format!(
        "{}; routers {}",
        parts.join(", "),
        names.join(" ")
    )))
}

async fn spread(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let mut parts = Vec::new();
    for (kind, path) in [(Kind::Static, "/"), (Kind::Dynamic, API_PREFIX)] {
        let n = expected(&ctx.t, kind).await.unwrap_or(2);
        let ids = fresh_ids(&web, path, 3 * n.max(2)).await?;
        let distinct: BTreeSet<&String> = ids.iter().collect();
        ensure!(
            distinct.len() == n,
            "{} requests to {path} reached {} servers ({}), the stack has {n}",
            ids.len(),
            distinct.len(),
            tally(&ids)
        );
        parts.push(format!("{path}: {}", tally(&ids)));
    }
    Ok(Outcome::Pass(parts.join("; ")))
}

// ---------------------------------------------------------------------------------------------
// Step 7

async fn round_robin(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let n = match expected(&ctx.t, Kind::Dynamic).await {
        Some(n) => n,
        None => {
            let ids = fresh_ids(&web, API_PREFIX, 12).await?;
            ids.iter().collect::<BTreeSet<_>>().len()
        }
    };
    ensure!(
        n >= 2,
        "round robin needs at least 2 API servers; the stack has {n}"
    );
    let ids = fresh_ids(&web, API_PREFIX, 3 * n).await?;
    let cycle = &ids[..n];
    ensure!(
        cycle.iter().collect::<BTreeSet<_>>().len() == n,
        "the first {n} answers are not {n} different servers: {}",
        ids.join(" → ")
    );
    for (i, id) in ids.iter().enumerate() {
        ensure!(
            *id == cycle[i % n],
            "not cyclic: answer {} is {id}, expected {} ({})",
            i + 1,
            cycle[i % n],
            ids.join(" → ")
        );
    }
    Ok(Outcome::Pass(format!(
        "{} → {} … ({} requests, 3 identical cycles of {n})",
        cycle.join(" → "),
        cycle[0],
        ids.len()
    )))
}

/// One session pinned by the proxy: its cookie and its server.
struct Session {
    cookie: String,
    server: String,
}

async fn new_session(web: &Client) -> Result<Session> {
    let page = web.get("/", None).await?;
    ok_status(&page)?;
    let c = page.set_cookie(STICKY_COOKIE).ok_or_else(|| {
        anyhow!(
            "GET / without a cookie set no {STICKY_COOKIE} (served by {})",
            page.server()
        )
    })?;
    Ok(Session {
        cookie: format!("{}={}", c.name, c.value),
        server: served_by(&page)?,
    })
}

/// Every request of a page load with the session's cookie comes from its server, and the
/// proxy sets no new cookie. Returns how many responses were checked.
async fn stays_pinned(web: &Client, s: &Session) -> Result<usize> {
    let (page, assets) = page_and_assets(web, Some(&s.cookie)).await?;
    for a in std::iter::once(&page).chain(&assets) {
        ok_status(a)?;
        let by = served_by(a)?;
        ensure!(
            by == s.server,
            "session pinned to {} ({}) got {} from {by}",
            s.server,
            s.cookie,
            a.path
        );
        if let Some(c) = a.set_cookie(STICKY_COOKIE) {
            bail!("{} with a valid cookie got a new one: {}", a.path, c.raw);
        }
    }
    Ok(1 + assets.len())
}

async fn sticky(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let n_servers = expected(&ctx.t, Kind::Static).await.unwrap_or(2);
    let n = sessions_for(n_servers);
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(new_session(&web).await?);
    }
    let mut checked = 0;
    // Interleave the sessions, twice, so a proxy that ignored cookies would be caught.
    for _ in 0..2 {
        for s in &sessions {
            checked += stays_pinned(&web, s).await?;
        }
    }
    let servers: Vec<String> = sessions.iter().map(|s| s.server.clone()).collect();
    let distinct = servers.iter().collect::<BTreeSet<_>>().len();
    ensure!(
        distinct >= n_servers.min(2),
        "{n} sessions all landed on {}",
        tally(&servers)
    );
    Ok(Outcome::Pass(format!(
        "{n} sessions on {distinct} servers ({}); {checked} responses (page + assets, twice per \
         session) each from its cookie's server, no new cookie",
        tally(&servers)
    )))
}

async fn cookie_scope(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    let page = web.get("/", None).await?;
    ok_status(&page)?;
    let c = page
        .set_cookie(STICKY_COOKIE)
        .ok_or_else(|| anyhow!("GET / set no {STICKY_COOKIE}"))?;
    ensure!(
        c.path.as_deref() == Some("/"),
        "the static router's prefix is `/`, the cookie's Path is {:?}: {}",
        c.path,
        c.raw
    );
    // Opaque: no address, port or URL of a server in the value.
    let mut leaks = vec![
        "127.0.0.1".to_string(),
        "http".into(),
        "172.".into(),
        "%3A".into(),
    ];
    if let Ok(servers) = api_servers(&ctx.t, Kind::Static).await {
        for (url, _) in servers {
            if let Some(port) = url.rsplit(':').next() {
                leaks.push(format!(":{port}"));
            }
        }
    }
    if let Some(l) = leaks.iter().find(|l| c.value.contains(l.as_str())) {
        bail!(
            "the cookie value reveals a server address (`{l}`): {}",
            c.raw
        );
    }
    let jar = format!("{}={}; lab_probe=kept", c.name, c.value);
    let api = web.get(API_PREFIX, Some(&jar)).await?;
    ok_status(&api)?;
    ensure!(
        api.set_cookie(STICKY_COOKIE).is_none(),
        "the API's answer sets {STICKY_COOKIE}"
    );
    let mut seen = Vec::new();
    for path in ["/whoami".to_string(), format!("{API_PREFIX}whoami")] {
        let who = web.get(&path, Some(&jar)).await?;
        ok_status(&who)?;
        ensure!(
            !who.body.contains(STICKY_COOKIE) && !who.body.contains(&c.value),
            "{path}: the backend {} received the sticky cookie: {:.400}",
            who.server(),
            who.body
        );
        ensure!(
            who.body.contains("lab_probe=kept"),
            "{path}: the backend {} did not receive the client's other cookie: {:.400}",
            who.server(),
            who.body
        );
        seen.push(format!("{path} on {}", who.server()));
    }
    Ok(Outcome::Pass(format!(
        "Set-Cookie: {} (Path=/ as the static router's prefix, opaque value); the API sets none; \
         sent `{STICKY_COOKIE}` + `lab_probe`, backends received only lab_probe ({})",
        c.raw,
        seen.join(", ")
    )))
}

// ---------------------------------------------------------------------------------------------
// Step 8: these stop, start and scale servers

async fn failover(ctx: &mut Ctx) -> Result<Outcome> {
    if !ctx.t.control.can_change() {
        return Ok(Outcome::Skip(format!(
            "needs a way to stop servers: {}; run with --local <run dir> or --docker",
            ctx.t.control.describe()
        )));
    }
    let web = ctx.web().clone();
    let n = expected(&ctx.t, Kind::Static).await.unwrap_or(2);
    ensure!(
        n >= 2,
        "failover needs at least 2 static servers; the stack has {n}"
    );
    let old = new_session(&web).await?;
    stays_pinned(&web, &old).await?;
    ctx.t.control.stop(&old.server).await?;
    let result = async {
        let after = web.get("/", Some(&old.cookie)).await?;
        ensure!(
            after.status == 200,
            "with {} stopped, its client got {} (served by {})",
            old.server,
            after.status,
            after.server()
        );
        let by = served_by(&after)?;
        ensure!(by != old.server, "{} is stopped but answered", old.server);
        let c = after
            .set_cookie(STICKY_COOKIE)
            .ok_or_else(|| anyhow!("re-routed to {by} without a new {STICKY_COOKIE}"))?;
        let new = Session {
            cookie: format!("{}={}", c.name, c.value),
            server: by,
        };
        ensure!(
            new.cookie != old.cookie,
            "the new cookie is the old one: {}",
            c.raw
        );
        stays_pinned(&web, &new).await?;
        Ok(new)
    }
    .await;
    // Whatever happened, bring the old server back.
    let restarted = ctx.t.control.start(&old.server).await;
    let new = result?;
    restarted?;
    // Wait (bounded) until the old server takes new sessions again.
    let mut back = false;
    for _ in 0..40 {
        let ids = fresh_ids(&web, "/", n).await?;
        if ids.contains(&old.server) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        back,
        "{} was started again but took no new session within 10 s",
        old.server
    );
    let mut checked = 0;
    for _ in 0..3 {
        checked += stays_pinned(&web, &new).await?;
    }
    Ok(Outcome::Pass(format!(
        "pinned to {} ({}); stopped it: next GET / 200 from {} with new cookie {}; {} back and \
         taking new sessions, the client stayed on {} ({checked} responses)",
        old.server, old.cookie, new.server, new.cookie, old.server, new.server
    )))
}

async fn scaling(ctx: &mut Ctx) -> Result<Outcome> {
    if !ctx.t.control.can_change() {
        return Ok(Outcome::Skip(format!(
            "needs a way to scale: {}; run with --local <run dir> or --docker",
            ctx.t.control.describe()
        )));
    }
    let web = ctx.web().clone();
    let mut parts = Vec::new();
    let mut total = 0usize;
    for (kind, path, extra) in [(Kind::Static, "/", 2), (Kind::Dynamic, API_PREFIX, 1)] {
        let n0 = ctx
            .t
            .control
            .count(kind)
            .await?
            .ok_or_else(|| anyhow!("cannot count the {} servers", kind.name()))?;
        let before: BTreeSet<String> = fresh_ids(&web, path, 3 * n0).await?.into_iter().collect();
        // Scale up while a bounded load runs.
        let (up, (ok, failed)) =
            while_loaded(&web, path, ctx.t.control.scale(kind, n0 + extra)).await;
        up?;
        total += ok + failed;
        ensure!(
            failed == 0,
            "{failed} of {} requests to {path} failed while scaling up",
            ok + failed
        );
        let mut new: BTreeSet<String> = BTreeSet::new();
        for _ in 0..50 {
            for id in fresh_ids(&web, path, n0 + extra).await? {
                if !before.contains(&id) {
                    new.insert(id);
                }
            }
            if new.len() == extra {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ensure!(
            new.len() == extra,
            "scaled {} {n0} → {}: new servers seen {new:?}, expected {extra}",
            kind.name(),
            n0 + extra
        );
        // And back down, with load.
        let (down, (ok, failed)) = while_loaded(&web, path, ctx.t.control.scale(kind, n0)).await;
        down?;
        total += ok + failed;
        ensure!(
            failed == 0,
            "{failed} of {} requests to {path} failed while scaling down",
            ok + failed
        );
        let after = fresh_ids(&web, path, 3 * n0).await?;
        let after_set: BTreeSet<String> = after.iter().cloned().collect();
        ensure!(
            after_set.len() == n0,
            "after scaling {} back to {n0}, requests reached {}",
            kind.name(),
            tally(&after)
        );
        parts.push(format!(
            "{} {n0} → {} (new {}) → {n0} (now {})",
            kind.name(),
            n0 + extra,
            new.iter().cloned().collect::<Vec<_>>().join(", "),
            after_set.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Outcome::Pass(format!(
        "{}; 0 failed of {total} requests sent while scaling",
        parts.join("; ")
    )))
}

/// Runs `work` while sequential GETs to `path` run beside it, until it is done (at most 2000
/// requests and 60 s, 5 ms apart): (the work's result, (succeeded, failed)).
async fn while_loaded<T>(
    web: &Client,
    path: &str,
    work: impl std::future::Future<Output = T>,
) -> (T, (usize, usize)) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let load = async {
        let start = tokio::time::Instant::now();
        let (mut ok, mut failed) = (0, 0);
        while ok + failed < 2000 && start.elapsed() < Duration::from_secs(60) {
            if done.load(std::sync::atomic::Ordering::SeqCst) && ok + failed >= 20 {
                break;
            }
            match web.get(path, None).await {
                Ok(a) if a.status == 200 => ok += 1,
                _ => failed += 1,
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (ok, failed)
    };
    let work = async {
        let r = work.await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    tokio::join!(work, load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_searched_at_any_depth() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"request":{"Path":"/whoami","headers":[{"x":"y"}]}}"#)
                .unwrap();
        assert!(json_has(&v, "path", "/whoami"));
        assert!(json_has(&v, "x", "y"));
        assert!(!json_has(&v, "path", "/api/jokes/whoami"));
    }

    #[test]
    fn enough_sessions_to_see_every_server_twice() {
        assert_eq!(sessions_for(1), 4);
        assert_eq!(sessions_for(4), 8);
        assert_eq!(sessions_for(30), 12);
        let ids = ["b", "a", "b"].map(String::from);
        assert_eq!(tally(&ids), "a×1 b×2");
    }

    #[test]
    fn checks_are_in_step_order_with_unique_names() {
        let steps: Vec<u8> = CHECKS.iter().map(|c| c.step).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        let names: BTreeSet<&str> = CHECKS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CHECKS.len());
        assert!(
            (1..=9).all(|s| steps.contains(&s)),
            "every lab step has a check"
        );
    }
}
