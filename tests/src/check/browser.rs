//! The lab in a real browser: headless Chromium from Debian, driven over the DevTools protocol
//! (chromiumoxide). Each session is an isolated browser context (its own cookies and cache), so
//! several of them are several users. Every response's `X-Served-By` is recorded from the
//! network events: page, CSS, JS, images, fonts and the AJAX calls alike.
//!
//! `demo.res.ch` is mapped to 127.0.0.1 inside the browser (`--host-resolver-rules`): no hosts
//! file is touched, and every other name fails to resolve, so the browser reaches nothing but
//! this machine.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::network::{EnableParams, EventResponseReceived};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, Page};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::steps::common::bare;
use super::target::Target;
use crate::routes::{API_PREFIX, STICKY_COOKIE};

/// Where Chromium is: `$CHROMIUM`, else the usual names on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The flags Chromium runs with (also printed for the set-up script and the book). `pin`: the
/// one HTTPS key it accepts beyond its own roots ([`crate::check::trust::spki_pin`]).
pub fn chromium_args(profile: &Path, host: &str, pin: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "--headless=new".to_string(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,MediaRouter,OptimizationHints,Translate".into(),
        "--mute-audio".into(),
        "--hide-scrollbars".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
        "--remote-debugging-address=127.0.0.1".into(),
        "--remote-debugging-port=0".into(),
        format!("--host-resolver-rules=MAP {host} 127.0.0.1, EXCLUDE localhost, EXCLUDE 127.0.0.1, MAP * ~NOTFOUND"),
    ];
    // The proxy's certificate, once lab check has verified it against the lab CA: this key
    // only, not every certificate error.
    if let Some(pin) = pin {
        args.push(format!("--ignore-certificate-errors-spki-list={pin}"));
    }
    // Chromium's sandbox refuses to run as root (a container, CI).
    if rustix::process::geteuid().is_root() {
        args.push("--no-sandbox".into());
    }
    args.push("about:blank".into());
    args
}

/// A headless Chromium and the DevTools connection to it. Killed (with every helper process
/// it started) on drop.
pub struct BrowserSession {
    browser: Browser,
    handler: JoinHandle<()>,
    child: Child,
    pgid: Option<rustix::process::Pid>,
    _profile: tempfile::TempDir,
}

impl BrowserSession {
    pub async fn launch(chromium: &Path) -> Result<Self> {
        Self::launch_for(chromium, "demo.res.ch").await
    }

    pub async fn launch_for(chromium: &Path, host: &str) -> Result<Self> {
        Self::launch_pinned(chromium, host, None).await
    }

    /// With `pin`, the site's HTTPS key is accepted (the lab CA is not in Chromium's roots).
    pub async fn launch_pinned(chromium: &Path, host: &str, pin: Option<&str>) -> Result<Self> {
        let profile = tempfile::Builder::new().prefix("lab-chromium-").tempdir()?;
        let mut child = Command::new(chromium)
            .args(chromium_args(profile.path(), host, pin))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", chromium.display()))?;
        let pgid = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32));
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let ws = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(i) = line.find("ws://") {
                    return Some(line[i..].trim().to_string());
                }
                seen.push(line);
            }
            None
        })
        .await;
        let ws = match ws {
            Ok(Some(ws)) => ws,
            _ => {
                if let Some(p) = pgid {
                    let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
                }
                bail!(
                    "Chromium ({}) printed no DevTools address within 30 s:\n{}",
                    chromium.display(),
                    seen.join("\n")
                );
            }
        };
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let config = HandlerConfig {
            viewport: Some(Viewport {
                width: 1280,
                height: 900,
                ..Default::default()
            }),
            request_timeout: Duration::from_secs(30),
            ..Default::default()
        };
        let (browser, mut handler) = Browser::connect_with_config(ws, config)
            .await
            .context("cannot connect to Chromium's DevTools")?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Self {
            browser,
            handler,
            child,
            pgid,
            _profile: profile,
        })
    }

    /// A new isolated session (its own cookies and cache) on a blank page.
    pub async fn session(&self) -> Result<Session> {
        let ctx = self
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await?;
        let mut params = CreateTargetParams::new("about:blank");
        params.browser_context_id = Some(ctx.clone());
        let page = self.browser.new_page(params).await?;
        page.execute(EnableParams::default()).await?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut events = page.event_listener::<EventResponseReceived>().await?;
        let sink = seen.clone();
        let recorder = tokio::spawn(async move {
            while let Some(ev) = events.next().await {
                let headers = ev.response.headers.inner();
                let served_by = headers.as_object().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-served-by"))
                        .and_then(|(_, v)| v.as_str().map(str::to_string))
                });
                let set_cookie = headers.as_object().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                        .and_then(|(_, v)| v.as_str().map(str::to_string))
                });
                if let Ok(mut s) = sink.lock() {
                    s.push(Seen {
                        url: ev.response.url.clone(),
                        kind: format!("{:?}", ev.r#type),
                        status: ev.response.status,
                        served_by,
                        set_cookie,
                    });
                }
            }
        });
        Ok(Session {
            ctx,
            page,
            seen,
            recorder,
        })
    }

    /// Closes the session's context.
    pub async fn end(&self, s: Session) {
        s.recorder.abort();
        let _ = s.page.close().await;
        let _ = self.browser.dispose_browser_context(s.ctx).await;
    }

    pub async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.close()).await;
        self.kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }

    fn kill(&mut self) {
        self.handler.abort();
        if let Some(p) = self.pgid {
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for BrowserSession {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One response the browser received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub url: String,
    /// Document, Stylesheet, Script, Image, Font, Fetch, XHR, ...
    pub kind: String,
    pub status: i64,
    pub served_by: Option<String>,
    pub set_cookie: Option<String>,
}

impl Seen {
    fn path(&self) -> &str {
        let after_scheme = self.url.split("://").nth(1).unwrap_or(&self.url);
        after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
    }

    /// A call to the jokes API: under `/api/jokes/` (the 2021 routing) or `/api/` (the 2023
    /// edition's, where the page falls back to `/api/?count=1`).
    fn is_api(&self) -> bool {
        self.path().starts_with(API_PREFIX) || self.path().starts_with("/api/")
    }
}

/// An isolated browser session and what it has received so far.
pub struct Session {
    ctx: BrowserContextId,
    pub page: Page,
    seen: Arc<Mutex<Vec<Seen>>>,
    recorder: JoinHandle<()>,
}

impl Session {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub async fn open(&self, url: &str) -> Result<()> {
        self.page
            .goto(url)
            .await
            .with_context(|| format!("Chromium could not open {url}"))?;
        Ok(())
    }

    /// Waits (bounded) until `pred` holds for the responses seen.
    pub async fn wait_for(&self, limit: Duration, pred: impl Fn(&[Seen]) -> bool) -> bool {
        let start = tokio::time::Instant::now();
        while start.elapsed() < limit {
            if pred(&self.seen()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pred(&self.seen())
    }

    pub async fn text(&self) -> Result<String> {
        Ok(self
            .page
            .evaluate("document.body ? document.body.innerText : ''")
            .await?
            .into_value::<String>()?)
    }

    pub async fn cookie(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .page
            .get_cookies()
            .await?
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.value))
    }

    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let png = self
            .page
            .screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
            )
            .await?;
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// `http://demo.res.ch:PORT/` (or `https://`) for the target's web entrypoint.
fn site_url(t: &Target) -> Result<String> {
    let base = reqwest::Url::parse(t.web.base())?;
    let port = base.port_or_known_default().unwrap_or(80);
    Ok(format!("{}://{}:{port}/", base.scheme(), t.web.host()))
}

fn short(seen: &Seen) -> String {
    format!(
        "{} {} {}",
        seen.path(),
        seen.status,
        seen.served_by.as_deref().unwrap_or("-")
    )
}

/// Several isolated sessions load the site: each one's static responses all come from the
/// server of its cookie, including after a reload; the sessions land on different servers.
pub async fn sticky(
    b: &mut BrowserSession,
    t: &Target,
    n: usize,
    shots: Option<&Path>,
) -> Result<String> {
    let url = site_url(t)?;
    let mut servers = Vec::new();
    let mut total = 0;
    for i in 0..n {
        let s = b.session().await?;
        let result = async {
            s.open(&url).await?;
            // Let the page's AJAX run once, then reload: the second load goes with the cookie.
            s.wait_for(Duration::from_secs(10), |seen| {
                seen.iter().any(Seen::is_api)
            })
            .await;
            s.page.reload().await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let cookie = s
                .cookie(STICKY_COOKIE)
                .await?
                .ok_or_else(|| anyhow!("session {} has no {STICKY_COOKIE} cookie", i + 1))?;
            let seen = s.seen();
            let statics: Vec<&Seen> = seen.iter().filter(|x| !x.is_api()).collect();
            let doc = statics
                .iter()
                .find(|x| x.kind == "Document")
                .ok_or_else(|| anyhow!("session {}: no document response", i + 1))?;
            let server = doc.served_by.clone().ok_or_else(|| {
                anyhow!(
                    "session {}: the page ({}) has no X-Served-By",
                    i + 1,
                    doc.status
                )
            })?;
            let kinds: BTreeSet<&str> = statics.iter().map(|x| x.kind.as_str()).collect();
            ensure!(
                statics.len() >= 4,
                "session {}: only {} static responses ({})",
                i + 1,
                statics.len(),
                statics
                    .iter()
                    .map(|x| short(x))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for x in &statics {
                ensure!(
                    x.served_by.as_deref() == Some(server.as_str()),
                    "session {} (cookie {cookie}, server {server}) got {} from {}",
                    i + 1,
                    x.path(),
                    x.served_by.as_deref().unwrap_or("no X-Served-By")
                );
            }
            if i == 0 {
                if let Some(dir) = shots {
                    s.screenshot(&dir.join("site-sticky.png")).await?;
                }
            }
            Ok::<_, anyhow::Error>((
                server,
                statics.len(),
                kinds.into_iter().map(str::to_string).collect::<Vec<_>>(),
            ))
        }
        .await;
        b.end(s).await;
        let (server, count, kinds) = result?;
        total += count;
        servers.push((server, kinds));
    }
    let ids: Vec<String> = servers.iter().map(|(s, _)| s.clone()).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    ensure!(
        n < 2 || distinct.len() >= 2,
        "{n} browser sessions all on {}",
        ids.join(", ")
    );
    Ok(format!(
        "{n} isolated Chromium sessions on {} servers ({}); {total} static responses ({}) each \
         from its session's cookie server, over two page loads",
        distinct.len(),
        ids.join(", "),
        servers
            .first()
            .map(|(_, k)| k.join("/"))
            .unwrap_or_default()
    ))
}

/// The page's AJAX area: the API is called again and again, the answers come from the API
/// servers in turn (or, when the API is sticky as in the 2023 edition, all from the server of
/// the browser's cookie), and the page shows the latest answer's server.
pub async fn ajax(
    b: &mut BrowserSession,
    t: &Target,
    shots: Option<&Path>,
    sticky_api: bool,
) -> Result<String> {
    let url = site_url(t)?;
    let s = b.session().await?;
    let result = async {
        s.open(&url).await?;
        let enough = |seen: &[Seen]| seen.iter().filter(|x| x.is_api()).count() >= 3;
        let got = s.wait_for(Duration::from_secs(30), enough).await;
        let seen = s.seen();
        let mut api: Vec<&Seen> = seen.iter().filter(|x| x.is_api()).collect();
        // The kit's page under the 2023 routing: a first 404 on /api/jokes/, then it falls back
        // to /api/ for good (static-server/site/js/app.js).
        if api.len() >= 2
            && api[0].status == 404
            && api[0].path().starts_with(API_PREFIX)
            && !api[1].path().starts_with(API_PREFIX)
        {
            api.remove(0);
        }
        ensure!(
            got,
            "the page made {} API calls in 30 s (wanted 3): {}",
            api.len(),
            api.iter().map(|x| short(x)).collect::<Vec<_>>().join(", ")
        );
        for x in &api {
            ensure!(x.status == 200, "AJAX {} answered {}", x.path(), x.status);
            ensure!(
                x.kind == "Fetch" || x.kind == "XHR",
                "{} was loaded as {}, not by fetch/XHR",
                x.path(),
                x.kind
            );
        }
        let ids: Vec<String> = api.iter().filter_map(|x| x.served_by.clone()).collect();
        let distinct: BTreeSet<&String> = ids.iter().collect();
        if sticky_api {
            ensure!(
                distinct.len() == 1,
                "the API is sticky, but the page's AJAX answers came from {}: does the browser \
                 get and send back the API's cookie?",
                ids.join(", ")
            );
        } else {
            ensure!(
                distinct.len() >= 2,
                "every AJAX answer came from {}",
                ids.join(", ")
            );
        }
        // The page shows what it got: the last answer's server id appears in the text.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let text = s.text().await?;
        let latest = s
            .seen()
            .iter()
            .filter(|x| x.is_api())
            .filter_map(|x| x.served_by.clone())
            .next_back()
            .unwrap_or_default();
        ensure!(
            text.contains(&latest),
            "the page does not show the latest API server `{latest}`"
        );
        if let Some(dir) = shots {
            s.screenshot(&dir.join("site.png")).await?;
        }
        let called = api[0].path().split('?').next().unwrap_or(API_PREFIX);
        Ok(format!(
            "{} AJAX calls to {called}, answered {} {}; the page shows the latest ({latest})",
            api.len(),
            if sticky_api {
                "(sticky API) by"
            } else {
                "in turn by"
            },
            ids.join(" → ")
        ))
    }
    .await;
    b.end(s).await;
    result
}

/// What the dashboard's charts show: per service, each server's requests over the chart.
async fn charts(s: &Session) -> Result<Vec<(String, Vec<(String, u64)>)>> {
    let js = r#"JSON.stringify([...document.querySelectorAll(".service")].map(b => [b.dataset.name,
        [...b.querySelectorAll("svg.chart polyline.series")].map(p => [p.dataset.url, Number(p.dataset.total)])]))"#;
    let json: String = s.page.evaluate(js).await?.into_value()?;
    Ok(serde_json::from_str(&json)?)
}

/// One service as the dashboard check drives it: its name in the proxy's API
/// (`static@docker`, `dynamic-servers1@docker`: the dashboard shows the same) and a path the
/// proxy routes to it.
pub struct Role {
    pub service: String,
    pub path: String,
}

/// The edition's two services: one sticky (the site in 2021, the API in 2023), one round robin.
pub struct Services {
    pub sticky: Role,
    pub round_robin: Role,
}

/// The proxy's dashboard lists both services with their servers UP, and its charts draw the
/// requests sent while it is open: round robin on every server of the round-robin service, a
/// sticky client's on one server of the sticky service.
pub async fn dashboard(
    b: &mut BrowserSession,
    t: &Target,
    services: &Services,
    shots: Option<&Path>,
) -> Result<String> {
    let (sticky_svc, rr_svc) = (
        bare(&services.sticky.service),
        bare(&services.round_robin.service),
    );
    let (sticky_path, rr_path) = (
        services.sticky.path.as_str(),
        services.round_robin.path.as_str(),
    );
    let url = format!("{}/dashboard/", t.api_url);
    let s = b.session().await?;
    let result = async {
        s.open(&url).await?;
        let doc = s
            .seen()
            .into_iter()
            .find(|x| x.kind == "Document")
            .ok_or_else(|| anyhow!("no answer for {url}"))?;
        ensure!(doc.status == 200, "{url} answered {}", doc.status);
        // The page fills itself from the API: wait (bounded) until it shows both services.
        let mut text = String::new();
        for _ in 0..50 {
            text = s.text().await?;
            if text.contains(sticky_svc) && text.contains(rr_svc) && text.contains("UP") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        ensure!(
            text.contains(sticky_svc) && text.contains(rr_svc),
            "the dashboard does not name both services ({sticky_svc}, {rr_svc}): {:.300}",
            text
        );
        let ups = text.matches("UP").count();
        ensure!(ups > 0, "the dashboard shows no server UP: {:.300}", text);
        ensure!(
            !text.contains("DOWN"),
            "the dashboard shows a server DOWN: {:.300}",
            text
        );

        // Traffic while the page watches (it has sampled the counters before), in four rounds
        // a second apart so the charts show a few points: one call per round-robin server each
        // round, and one sticky client's visits (13 in all).
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let before = charts(&s).await?;
        let rr_servers = before
            .iter()
            .find(|(name, _)| bare(name) == rr_svc)
            .map_or(0, |(_, series)| series.len());
        ensure!(
            rr_servers > 0,
            "the dashboard has no chart for the round-robin service {rr_svc}: {before:?}"
        );
        let first = t.web.get(sticky_path, None).await?;
        let cookie = first
            .set_cookie(STICKY_COOKIE)
            .or_else(|| first.set_cookies().into_iter().next())
            .map(|c| format!("{}={}", c.name, c.value));
        for _ in 0..4 {
            for _ in 0..rr_servers {
                t.web.get(rr_path, None).await?;
            }
            for _ in 0..3 {
                t.web.get(sticky_path, cookie.as_deref()).await?;
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        let drawn = |c: &[(String, Vec<(String, u64)>)], service: &str| -> Vec<u64> {
            c.iter()
                .find(|(name, _)| bare(name) == service)
                .map(|(_, series)| series.iter().map(|(_, n)| *n).collect())
                .unwrap_or_default()
        };
        let mut after = before;
        for _ in 0..30 {
            after = charts(&s).await?;
            let rr = drawn(&after, rr_svc);
            let sticky = drawn(&after, sticky_svc);
            if rr.iter().all(|n| *n > 0) && sticky.iter().sum::<u64>() >= 13 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let rr = drawn(&after, rr_svc);
        let sticky = drawn(&after, sticky_svc);
        ensure!(
            rr.len() == rr_servers && rr.iter().all(|n| *n > 0),
            "the {rr_svc} service's chart does not draw requests on each of its {rr_servers} \
             servers after {} round-robin calls: {rr:?}",
            4 * rr_servers
        );
        let lines = sticky.iter().filter(|n| **n > 0).count();
        ensure!(
            lines == 1 && sticky.iter().sum::<u64>() >= 13,
            "the {sticky_svc} service's chart should draw one sticky client's 13 visits on one \
             server: {sticky:?}"
        );
        if let Some(dir) = shots {
            s.screenshot(&dir.join("dashboard.png")).await?;
        }
        Ok(format!(
            "{url} 200; shows services {sticky_svc} and {rr_svc}, `UP` ×{ups}, no DOWN; its \
             charts draw {rr:?} requests on the {rr_svc} servers (round robin) and {sticky:?} on \
             the {sticky_svc} ones (one sticky client)"
        ))
    }
    .await;
    b.end(s).await;
    result
}
