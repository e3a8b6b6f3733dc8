//! The checks: their list in the order of the lab's steps, the state one run shares, and the
//! dispatch. The checks themselves are grouped by concern: `site` (steps 1 to 5: the servers,
//! routing, AJAX, discovery), `crud` (the 2023 edition's CRUD API), `balance` (steps 6 and 7:
//! spread, round robin, sticky sessions, the cookie), `cluster` (step 8: failover and
//! scaling), `https` (the 2023 edition's HTTPS, step 10 here), with their shared helpers in
//! `common`. Every loop is bounded in requests and in time; traffic goes only to the target's
//! loopback entrypoints.

mod balance;
mod cluster;
pub(super) mod common;
mod crud;
mod https;
mod site;

use std::sync::Arc;

use anyhow::{bail, Result};

use super::attribution::{Attributor, Counters, DockerCounters, Mode, Probe};
use super::browser::{self, BrowserSession};
use super::client::Client;
use super::{BrowserMode, Control, Edition, Options, Setup, Target};
use crate::local::Kind;

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
    Crud,
    Https,
    HttpsRedirect,
}

pub struct Check {
    pub step: u8,
    pub name: &'static str,
    pub what: &'static str,
    pub id: Id,
    /// Only in this edition's runs (the 2023 edition's CRUD API and HTTPS); `None`: in both.
    pub only: Option<Edition>,
}

impl Check {
    pub fn runs_in(&self, edition: Edition) -> bool {
        self.only.is_none_or(|only| only == edition)
    }
}

const fn check(step: u8, name: &'static str, what: &'static str, id: Id) -> Check {
    Check {
        step,
        name,
        what,
        id,
        only: None,
    }
}

const fn only_2023(step: u8, name: &'static str, what: &'static str, id: Id) -> Check {
    Check {
        only: Some(Edition::E2023),
        ..check(step, name, what, id)
    }
}

/// The 2021 lab's step 3 (a proxy with written addresses), which the 2023 statement dropped.
const fn only_2021(step: u8, name: &'static str, what: &'static str, id: Id) -> Check {
    Check {
        only: Some(Edition::E2021),
        ..check(step, name, what, id)
    }
}

/// Every check, in the order they run (step order; the ones that stop or scale servers last
/// within the run, in step 8). "Sticky" and "round robin" mean the services the edition (or
/// lab.toml) makes sticky and round robin: the site and the API in 2021, the other way in 2023.
pub const CHECKS: &[Check] = &[
    check(1, "static-site", "the site's page and every asset it loads answer 200 through the proxy", Id::StaticSite),
    check(2, "jokes-json", "the API answers 200 with JSON through the proxy", Id::JokesJson),
    only_2023(2, "crud-api", "2023: the CRUD API through the proxy in a sticky session (create, read back, update, delete), and without the cookie where a new item is (why the API is sticky)", Id::Crud),
    check(3, "routing", "`/` goes to the static servers, the API prefix to the API servers (prefix stripped), other hosts 404", Id::Routing),
    check(3, "proxy-only-entry", "the backends publish no port: the proxy is the only way in", Id::EntryPoint),
    only_2021(3, "static-config", "the routes come from a file of written addresses (file provider), each still a running server's", Id::StaticConfig),
    check(4, "ajax-same-origin", "the page's script calls the API on its own origin, which the proxy routes", Id::Ajax),
    check(4, "browser-ajax", "in Chromium, the AJAX area updates and the API servers cycle", Id::BrowserAjax),
    check(5, "discovery", "the proxy's API lists the services and their servers, all UP", Id::Discovery),
    check(5, "browser-dashboard", "in Chromium, the dashboard shows the services with their servers UP, and its charts draw round robin on every server of the round-robin service and a sticky client on one server of the sticky one", Id::Dashboard),
    check(6, "load-spread", "requests without a cookie reach every static and every API server", Id::Spread),
    check(7, "round-robin", "one client sees the round-robin service's servers in a fixed cyclic order", Id::RoundRobin),
    check(7, "sticky-sessions", "several sessions: every response (page and assets) from the server in the session's cookie; sessions differ", Id::Sticky),
    check(7, "cookie-scope", "the sticky cookie: its Path, what its value reveals, whether the other service gets it (the report's remark, an observation)", Id::CookieScope),
    check(7, "browser-sticky", "in Chromium, several isolated sessions: every response from the cookie's server; sessions differ", Id::BrowserSticky),
    check(8, "failover", "the pinned server stops: the next request succeeds with a new cookie for a live server, and stays there after the old one returns", Id::Failover),
    check(8, "scaling", "scale up and down while requests run: new servers get traffic, removed ones none, no request fails", Id::Scaling),
    check(9, "management-ui", "the page lists the services and their nodes UP; refuses actions without the token; with it, adds a node that serves, stops it out of the rotation, removes it", Id::Ui),
    only_2023(10, "https", "2023: the site and the API answer over HTTPS, the certificate verified against the lab CA (and refused without it)", Id::Https),
    only_2023(10, "https-redirect", "2023: the plain HTTP entrypoint redirects to the same URL over HTTPS", Id::HttpsRedirect),
];

/// State shared by the checks of one run.
pub struct Ctx {
    pub t: Target,
    pub opts: Options,
    /// Requests whose server the grader works out.
    pub probe: Probe,
    browser: Option<Result<BrowserSession, String>>,
}

impl Ctx {
    pub fn new(t: Target, opts: Options) -> Self {
        let counters: std::result::Result<Arc<dyn Counters>, String> = match &t.control {
            Control::Docker(p) => {
                DockerCounters::connect(&p.project, &[&p.static_service, &p.api_service])
                    .map(|c| Arc::new(c) as Arc<dyn Counters>)
                    .map_err(|e| format!("{e:#}"))
            }
            _ => Err(
                "this is not a Docker stack (--docker), so there are no container \
                      counters to read"
                    .into(),
            ),
        };
        let setup = &opts.setup;
        let attr = Attributor::new(opts.shortcuts, counters, &["/", setup.api_prefix.as_str()]);
        let probe = Probe {
            web: t.web.clone(),
            attr: Arc::new(attr),
        };
        Self {
            t,
            opts,
            probe,
            browser: None,
        }
    }

    pub fn setup(&self) -> &Setup {
        &self.opts.setup
    }

    pub fn web(&self) -> &Client {
        &self.t.web
    }

    pub async fn mode(&self) -> Mode {
        self.probe.attr.mode(&self.t.web).await
    }

    /// One line for the end of the run: how servers were told apart, and what it cost.
    pub async fn attribution_summary(&self) -> String {
        match self.probe.attr.chosen() {
            None => "attribution: not needed by the checks that ran".into(),
            Some(m) => {
                let source = match m {
                    Mode::Counters => format!(", {}", self.probe.attr.source()),
                    _ => String::new(),
                };
                format!(
                    "attribution: {}{source}; {}",
                    m.describe(),
                    self.probe.attr.cost().describe()
                )
            }
        }
    }

    /// The browser, launched on first use. `Ok(Err(why))`: skip the browser checks.
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
                Some(path) => match self.https_pin().await {
                    Ok(pin) => Ok(BrowserSession::launch_pinned(
                        &path,
                        crate::docker::HOST,
                        pin.as_deref(),
                    )
                    .await?),
                    Err(why) => Err(why),
                },
            };
            self.browser = Some(launched);
        }
        match self.browser.as_mut() {
            Some(Ok(b)) => Ok(Ok(b)),
            Some(Err(why)) => Ok(Err(why.clone())),
            None => unreachable!("set above"),
        }
    }

    /// Over HTTPS, the pin of the certificate the proxy presents, for Chromium: the HTTP
    /// checks' client has just checked it against the lab CA (or, with no CA given, says that
    /// nothing was). `Err(why)`: the browser checks SKIP.
    async fn https_pin(&self) -> std::result::Result<Option<String>, String> {
        let cert =
            self.t.web.peer_certificate().await.map_err(|e| {
                format!("cannot get the proxy's HTTPS certificate for Chromium: {e:#}")
            })?;
        match cert {
            None => Ok(None),
            Some(der) => super::trust::spki_pin(&der).map(Some).ok_or_else(|| {
                "the proxy's HTTPS certificate could not be read, so Chromium cannot be told to \
                 accept it"
                    .to_string()
            }),
        }
    }

    pub async fn close(&mut self) {
        if let Some(Ok(mut b)) = self.browser.take() {
            b.close().await;
        }
    }

    /// Why the browser checks cannot judge this stack, if they cannot: they read
    /// `X-Served-By` from the browser's parallel requests and script the kit's own pages.
    async fn browser_unfit(&self, needs_static_sticky: bool) -> Option<String> {
        if self.mode().await != Mode::Header {
            return Some(
                "the browser loads assets in parallel, so only X-Served-By can tell their \
                 servers apart, and this stack's servers do not send it (or --no-shortcuts); \
                 the HTTP checks (sticky-sessions, round-robin) test the same behaviour with \
                 Docker's counters"
                    .into(),
            );
        }
        if needs_static_sticky && self.setup().sticky != Kind::Static {
            return Some(format!(
                "the {} edition makes the API sticky, not the site: sticky-sessions tests it",
                self.setup().edition.year()
            ));
        }
        None
    }
}

pub async fn run_one(id: Id, ctx: &mut Ctx) -> Result<Outcome> {
    match id {
        Id::StaticSite => site::static_site(ctx).await,
        Id::JokesJson => site::jokes_json(ctx).await,
        Id::Routing => site::routing(ctx).await,
        Id::EntryPoint => site::entry_point(ctx).await,
        Id::StaticConfig => super::static_config::check(&ctx.t).await,
        Id::Ajax => site::ajax(ctx).await,
        Id::BrowserAjax => {
            if let Some(why) = ctx.browser_unfit(false).await {
                return Ok(Outcome::Skip(why));
            }
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            let sticky_api = ctx.setup().sticky == Kind::Dynamic;
            match ctx.browser().await? {
                Ok(b) => browser::ajax(b, &t, shots.as_deref(), sticky_api)
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Discovery => site::discovery(ctx).await,
        Id::Dashboard => {
            if !ctx.t.is_ours().await {
                return Ok(Outcome::Skip(
                    "the proxy is not the kit's: its dashboard is not scripted here; \
                     `discovery` reads the same state from its API"
                        .into(),
                ));
            }
            let sticky = ctx.setup().sticky;
            let other = match sticky {
                Kind::Static => Kind::Dynamic,
                Kind::Dynamic => Kind::Static,
            };
            let services = browser::Services {
                sticky: dashboard_role(ctx, sticky).await?,
                round_robin: dashboard_role(ctx, other).await?,
            };
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            match ctx.browser().await? {
                Ok(b) => browser::dashboard(b, &t, &services, shots.as_deref())
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Spread => balance::spread(ctx).await,
        Id::RoundRobin => balance::round_robin(ctx).await,
        Id::Sticky => balance::sticky(ctx).await,
        Id::CookieScope => balance::cookie_scope(ctx).await,
        Id::BrowserSticky => {
            if let Some(why) = ctx.browser_unfit(true).await {
                return Ok(Outcome::Skip(why));
            }
            let t = ctx.t.clone();
            let shots = ctx.opts.screenshots.clone();
            let servers = common::expected(ctx, Kind::Static).await.unwrap_or(2);
            let n = common::sessions_for(servers).min(6);
            match ctx.browser().await? {
                Ok(b) => browser::sticky(b, &t, n, shots.as_deref())
                    .await
                    .map(Outcome::Pass),
                Err(why) => Ok(Outcome::Skip(why)),
            }
        }
        Id::Crud => crud::crud(ctx).await,
        Id::Https => https::https(ctx).await,
        Id::HttpsRedirect => https::redirect(ctx).await,
        Id::Failover => cluster::failover(ctx).await,
        Id::Scaling => cluster::scaling(ctx).await,
        Id::Ui => {
            if ctx.t.control.is_docker() && !ctx.t.is_ours().await {
                return Ok(Outcome::Skip(
                    "the proxy is not the kit's, so there is no management page at /manage/ to \
                     check; a student's own UI (Portainer, their own) is graded by hand"
                        .into(),
                ));
            }
            let token = ctx.opts.manage_token.clone();
            let asked = ctx.opts.steps.contains(&9);
            super::manage::check(&ctx.t, token.as_deref(), asked).await
        }
    }
}

/// A service as the dashboard check drives it: its name in the proxy's API, and its path.
async fn dashboard_role(ctx: &Ctx, kind: Kind) -> Result<browser::Role> {
    Ok(browser::Role {
        service: common::service_name(ctx, kind).await?,
        path: match kind {
            Kind::Static => "/".to_string(),
            Kind::Dynamic => ctx.setup().api_prefix.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

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

    #[test]
    fn the_2023_checks_run_only_in_the_2023_edition() {
        let names = |e: Edition| -> BTreeSet<&str> {
            CHECKS
                .iter()
                .filter(|c| c.runs_in(e))
                .map(|c| c.name)
                .collect()
        };
        let (old, new) = (names(Edition::E2021), names(Edition::E2023));
        for id in ["crud-api", "https", "https-redirect"] {
            assert!(new.contains(id) && !old.contains(id), "{id}");
        }
        assert!(
            old.contains("static-config") && !new.contains("static-config"),
            "the 2023 statement has no static reverse proxy step"
        );
        assert_eq!(
            old.intersection(&new).count(),
            old.len() - 1,
            "the 2023 edition runs every other check too"
        );
    }
}
