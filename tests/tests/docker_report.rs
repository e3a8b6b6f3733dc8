//! The reference report's tests on the real Docker engine: the compose stack of
//! `compose/compose.yaml` (our proxy with the report's labels), started under a unique project
//! on free loopback ports, driven with the `docker` CLI, and torn down even when a test fails.
//!
//! Run: `cargo test -p lab --test docker_report -- --nocapture` (builds the images once with
//! scripts/build-images.sh). Without an engine the tests skip loudly; with `CI=true` they fail.
//! The tests run one at a time (they share the machine's engine and two cores).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lab::docker::{self, client, DockerStack, StackOptions, HOST};
use reqwest::header::{HOST as HOST_HEADER, SET_COOKIE};

const COOKIE: &str = "static_cookie";

/// A started stack, and the lock that keeps the other tests waiting. The stack is dropped
/// (torn down) first: fields drop in order.
struct Running {
    stack: DockerStack,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

async fn start(test: &str, statics: usize, dynamics: usize) -> Option<Running> {
    if !docker::require_engine(test) {
        return None;
    }
    // A tokio mutex: each test has its own runtime, and the guard lives across awaits.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let serial = SERIAL.lock().await;
    docker::ensure_images().expect("building the images");
    let stack = DockerStack::up(StackOptions {
        static_scale: statics,
        dynamic_scale: dynamics,
        ..StackOptions::default()
    })
    .await
    .expect("starting the stack");
    eprintln!(
        "{test}: project {} on {} (API {})",
        stack.project, stack.http_url, stack.api_url
    );
    Some(Running {
        stack,
        _serial: serial,
    })
}

/// One response, reduced to what the tests look at.
#[derive(Debug, Clone)]
struct Seen {
    status: u16,
    served_by: String,
    /// The sticky cookie's value, when the response set one.
    new_cookie: Option<String>,
    body: String,
}

async fn get(client: &reqwest::Client, stack: &DockerStack, path: &str) -> Seen {
    let url = format!("{}{path}", stack.http_url);
    let r = client
        .get(&url)
        .header(HOST_HEADER, HOST)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let served_by = r
        .headers()
        .get("x-served-by")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let new_cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (name, rest) = v.split_once('=')?;
            (name.trim() == COOKIE).then(|| rest.split(';').next().unwrap_or("").to_owned())
        });
    let body = r.text().await.unwrap_or_default();
    Seen {
        status,
        served_by,
        new_cookie,
        body,
    }
}

/// A browser-like client: its own cookie jar, no system proxy.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Same-site assets a page refers to (`src="..."`, `href="..."`), as absolute paths; links to
/// the API are left out (another service).
fn assets(html: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for attr in ["src=\"", "href=\"", "src='", "href='"] {
        let quote = attr.chars().last().unwrap();
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let Some(end) = rest.find(quote) else {
                continue;
            };
            let link = rest[..end].trim();
            let external = link.is_empty()
                || link.starts_with('#')
                || link.starts_with("//")
                || link.contains(':');
            if external {
                continue;
            }
            let path = if link.starts_with('/') {
                link.to_owned()
            } else {
                format!("/{}", link.trim_start_matches("./"))
            };
            let path = path.split('#').next().unwrap_or_default().to_owned();
            if path != "/" && !path.starts_with("/api/") {
                out.insert(path);
            }
        }
    }
    out.into_iter().collect()
}

/// A bounded load: `tasks` clients without cookies, each sending GET `path` every few ms
/// until stopped, `max_per_task` requests or `max_time`, whichever comes first.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    /// `Ok(served_by)` for a 2xx/3xx, `Err(why)` otherwise.
    outcome: Result<String, String>,
}

impl Load {
    fn start(stack: &DockerStack, path: &str, tasks: usize) -> Load {
        const MAX_PER_TASK: usize = 20_000;
        const MAX_TIME: Duration = Duration::from_secs(60);
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!("{}{path}", stack.http_url);
        let tasks = (0..tasks)
            .map(|_| {
                let (stop, url) = (stop.clone(), url.clone());
                tokio::spawn(async move {
                    let client = client().unwrap();
                    let started = Instant::now();
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed)
                        && samples.len() < MAX_PER_TASK
                        && started.elapsed() < MAX_TIME
                    {
                        let outcome = match client.get(&url).header(HOST_HEADER, HOST).send().await
                        {
                            Ok(r) if r.status().is_success() || r.status().is_redirection() => {
                                let by = r
                                    .headers()
                                    .get("x-served-by")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned();
                                let _ = r.bytes().await;
                                Ok(by)
                            }
                            Ok(r) => Err(format!("status {}", r.status())),
                            Err(e) => Err(format!("{e}")),
                        };
                        samples.push(Sample {
                            at: Instant::now(),
                            outcome,
                        });
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                    samples
                })
            })
            .collect();
        Load { stop, tasks }
    }

    async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in self.tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_by_key(|s| s.at);
        all
    }
}

fn failures(samples: &[Sample]) -> Vec<&String> {
    samples
        .iter()
        .filter_map(|s| s.outcome.as_ref().err())
        .collect()
}

/// Runs a blocking `docker` command off the runtime's threads, so the load keeps going.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// The report: "we launch several browser sessions to verify that the assets are correctly
/// downloaded from the same server tagged in the cookie".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sticky_sessions_in_real_conditions() {
    let Some(run) = start("sticky_sessions_in_real_conditions", 4, 3).await else {
        return;
    };
    let stack = &run.stack;
    let mut servers = BTreeSet::new();
    for jar in 0..8 {
        let browser = browser();
        let page = get(&browser, stack, "/").await;
        assert_eq!(page.status, 200, "jar {jar}: GET /: {page:?}");
        assert!(
            page.new_cookie.is_some(),
            "jar {jar}: no {COOKIE} on the first visit"
        );
        assert!(!page.served_by.is_empty(), "jar {jar}: no X-Served-By");
        let assets = assets(&page.body);
        assert!(
            !assets.is_empty(),
            "the page refers to no asset: {}",
            page.body
        );
        for asset in &assets {
            let a = get(&browser, stack, asset).await;
            assert_eq!(a.status, 200, "jar {jar}: GET {asset}");
            assert_eq!(
                a.served_by, page.served_by,
                "jar {jar}: {asset} came from another server than its cookie's"
            );
            assert_eq!(a.new_cookie, None, "jar {jar}: {asset} re-set the cookie");
        }
        let again = get(&browser, stack, "/").await;
        assert_eq!(
            again.served_by, page.served_by,
            "jar {jar}: second visit moved"
        );
        assert_eq!(
            again.new_cookie, None,
            "jar {jar}: second visit re-set the cookie"
        );
        eprintln!(
            "jar {jar}: page and {} assets from {}",
            assets.len(),
            page.served_by
        );
        servers.insert(page.served_by);
    }
    assert!(servers.len() >= 2, "every jar landed on {servers:?}");
}

/// The report: "we try to stop some static server during the runtime ... then another sticky
/// session value with a valid server is set". And once re-pinned, the client stays even after
/// the old server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_static_server_hands_its_client_to_a_live_one() {
    let Some(run) = start(
        "a_stopped_static_server_hands_its_client_to_a_live_one",
        4,
        1,
    )
    .await
    else {
        return;
    };
    let stack = &run.stack;
    let browser = browser();
    let first = get(&browser, stack, "/").await;
    assert_eq!(first.status, 200);
    let pinned = stack.container_serving("static", &first.served_by).unwrap();

    stack.stop(&pinned.name).unwrap();
    let after = get(&browser, stack, "/").await;
    assert_eq!(
        after.status, 200,
        "the request after the stop failed: {after:?}"
    );
    assert!(
        after.new_cookie.is_some(),
        "no new cookie after the server stopped"
    );
    assert_ne!(
        after.served_by, first.served_by,
        "still served by the stopped server"
    );
    let new_server = after.served_by.clone();
    for asset in assets(&after.body) {
        assert_eq!(get(&browser, stack, &asset).await.served_by, new_server);
    }

    stack.start(&pinned.name).unwrap();
    stack
        .wait_routed(4, 1, Duration::from_secs(30))
        .await
        .expect("the restarted server is routed again");
    for _ in 0..10 {
        let r = get(&browser, stack, "/").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.served_by, new_server,
            "moved back after the old server returned"
        );
        assert_eq!(r.new_cookie, None);
    }
    eprintln!(
        "pinned to {} ({}), stopped it, re-pinned to {new_server}, stayed after its return",
        first.served_by, pinned.name
    );
}

/// The report: "each response from dynamic servers came from a different server in an
/// ordered and cyclic way (dynamic1 -> dynamic2 -> dynamic3 -> dynamic1 ...)".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_robin_is_cyclic_over_three_dynamic_servers() {
    let Some(run) = start("round_robin_is_cyclic_over_three_dynamic_servers", 1, 3).await else {
        return;
    };
    let stack = &run.stack;
    let client = client().unwrap();
    let mut order = Vec::new();
    for _ in 0..12 {
        let r = get(&client, stack, "/api/jokes/").await;
        assert_eq!(r.status, 200, "GET /api/jokes/: {r:?}");
        order.push(r.served_by);
    }
    let distinct: BTreeSet<_> = order.iter().collect();
    assert_eq!(distinct.len(), 3, "not three servers: {order:?}");
    for (i, by) in order.iter().enumerate().skip(3) {
        assert_eq!(by, &order[i % 3], "not cyclic: {order:?}");
    }
    eprintln!("round robin order: {:?}", &order[..3]);
}

/// The report's scaling (`--scale static=4`, then up and down): while a bounded load runs,
/// static goes 4 -> 6 -> 2. New servers get traffic (we measure how soon), and no request
/// fails, scale-down included (stopping containers leave the rotation at their `kill` event).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scaling_static_4_to_6_to_2_under_load_fails_no_request() {
    let Some(run) = start(
        "scaling_static_4_to_6_to_2_under_load_fails_no_request",
        4,
        1,
    )
    .await
    else {
        return;
    };
    let stack = Arc::new(run.stack);
    let load = Load::start(&stack, "/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before: BTreeSet<String> = stack
        .containers("static")
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let s = stack.clone();
    blocking(move || s.scale("static", 6)).await.unwrap();
    let scaled_up = Instant::now();
    let added: Vec<_> = stack
        .containers("static")
        .unwrap()
        .into_iter()
        .filter(|c| !before.contains(&c.id))
        .collect();
    assert_eq!(added.len(), 2, "scaling to 6 added {added:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let s = stack.clone();
    let scale_down = Instant::now();
    blocking(move || s.scale("static", 2)).await.unwrap();
    let scaled_down = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;

    // How soon each new server got its first request, counted from when compose returned.
    let mut first_traffic = BTreeMap::new();
    for c in &added {
        let first = samples
            .iter()
            .find(|s| s.at >= scaled_up && matches!(&s.outcome, Ok(by) if c.answers_as(by)));
        let first = first
            .map(|s| s.at - scaled_up)
            .unwrap_or_else(|| panic!("new server {} never got traffic", c.name));
        first_traffic.insert(c.name.clone(), first);
    }
    let failed = failures(&samples);
    let during_down = samples
        .iter()
        .filter(|s| s.at >= scale_down && s.at <= scaled_down + Duration::from_secs(1))
        .count();
    eprintln!(
        "scaling: {} requests, {} failed; new servers' first request after compose returned: \
         {first_traffic:?}; scale-down 6->2 took {:?} with {during_down} requests meanwhile",
        samples.len(),
        failed.len(),
        scaled_down - scale_down
    );
    let when: Vec<String> = samples
        .iter()
        .filter_map(|s| {
            let why = s.outcome.as_ref().err()?;
            let at = |t: Instant| {
                if s.at >= t {
                    format!("+{:?}", s.at - t)
                } else {
                    format!("-{:?}", t - s.at)
                }
            };
            Some(format!(
                "{why} at {} from scale-up, {} from scale-down",
                at(scaled_up),
                at(scale_down)
            ))
        })
        .collect();
    assert!(failed.is_empty(), "failed requests while scaling: {when:?}");
    let remaining = stack.containers("static").unwrap();
    assert_eq!(remaining.iter().filter(|c| c.running).count(), 2);
}

/// `docker stop` of a static server under load: the `kill` (SIGTERM) event takes it out of
/// the rotation before its process exits; no request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docker_stop_under_load_fails_no_request() {
    let Some(run) = start("docker_stop_under_load_fails_no_request", 4, 1).await else {
        return;
    };
    let stack = Arc::new(run.stack);
    let load = Load::start(&stack, "/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim = stack.containers("static").unwrap()[1].clone();
    let s = stack.clone();
    let name = victim.name.clone();
    blocking(move || s.stop(&name)).await.unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let failed = failures(&samples);
    let late = samples
        .iter()
        .filter(|s| s.at > stopped && matches!(&s.outcome, Ok(by) if victim.answers_as(by)))
        .count();
    eprintln!(
        "docker stop under load: {} requests, {} failed, {late} answered by the stopped \
         server after `docker stop` returned",
        samples.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed requests during docker stop: {failed:?}"
    );
    assert_eq!(late, 0);
}

/// `docker kill` (SIGKILL: no goodbye) of a dynamic server under load. Requests already sent
/// to it can only fail or be retried elsewhere; goal: none fails for GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docker_kill_under_load_counts_failed_requests() {
    let Some(run) = start("docker_kill_under_load_counts_failed_requests", 1, 3).await else {
        return;
    };
    let stack = Arc::new(run.stack);
    let load = Load::start(&stack, "/api/jokes/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim = stack.containers("dynamic").unwrap()[1].clone();
    let s = stack.clone();
    let name = victim.name.clone();
    blocking(move || s.kill(&name)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let failed = failures(&samples);
    eprintln!(
        "docker kill under load: {} GET requests, {} failed: {failed:?}",
        samples.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed GET requests around docker kill: {failed:?}"
    );
}

/// The API lists the services and servers with their status, like Traefik's
/// (`/api/http/services`, `/api/http/routers`, `/api/http/middlewares`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_lists_services_and_servers_with_status() {
    let Some(run) = start("the_api_lists_services_and_servers_with_status", 4, 3).await else {
        return;
    };
    let stack = &run.stack;
    let client = client().unwrap();
    let json = |path: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", stack.api_url);
        async move {
            let r = client.get(&url).send().await.unwrap();
            assert!(r.status().is_success(), "GET {url}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let services = json("/api/http/services").await;
    let services = services.as_array().expect("a list of services");
    let by_name = |name: &str| {
        services
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no service {name} in {services:?}"))
    };
    let statics = docker::server_statuses(by_name("static@docker"));
    assert_eq!(statics.len(), 4, "{statics:?}");
    assert!(statics.iter().all(|(_, st)| st == "UP"), "{statics:?}");
    assert_eq!(by_name("static@docker")["provider"], "docker");

    let routers = json("/api/http/routers").await;
    let routers = routers.as_array().expect("a list of routers");
    let router = |name: &str| {
        routers
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no router {name} in {routers:?}"))
    };
    assert_eq!(
        router("static@docker")["rule"],
        "Host(`demo.res.ch`) && PathPrefix(`/`)"
    );
    let dynamic = router("dynamic@docker");
    assert_eq!(dynamic["middlewares"][0], "dynamic@docker");
    let dynamic_service = dynamic["service"].as_str().unwrap().to_owned();
    let dynamic_service = if dynamic_service.contains('@') {
        dynamic_service
    } else {
        format!("{dynamic_service}@docker")
    };
    let dynamics = docker::server_statuses(by_name(&dynamic_service));
    assert_eq!(dynamics.len(), 3, "{dynamics:?}");
    assert!(dynamics.iter().all(|(_, st)| st == "UP"), "{dynamics:?}");

    let middlewares = json("/api/http/middlewares").await;
    let strip = middlewares
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "dynamic@docker"))
        .unwrap_or_else(|| panic!("no dynamic@docker middleware in {middlewares}"));
    assert_eq!(strip["stripPrefix"]["prefixes"][0], "/api/jokes/");
    eprintln!("API: static {statics:?}\n     {dynamic_service} {dynamics:?}");

    assert_hardened(stack);
}

/// Every container of the stack runs as `compose/compose.yaml` hardens it, as the engine
/// reports it (`docker inspect`): read-only root, capabilities dropped, no new privileges,
/// non-root backends, the Docker socket read-only in the proxy; and the proxy's process, as the
/// host's `/proc` shows it, is uid 65534 with the socket's group and no capability. Checked on the API test's
/// stack (it has every service) rather than on a stack of its own.
fn assert_hardened(stack: &DockerStack) {
    let inspected = stack.inspect_all().expect("docker inspect");
    let mut services: BTreeMap<String, usize> = BTreeMap::new();
    for c in &inspected {
        let service = c["Config"]["Labels"]["com.docker.compose.service"]
            .as_str()
            .unwrap_or_default();
        *services.entry(service.to_owned()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [("dynamic", 3), ("proxy", 1), ("static", 4)]
        .into_iter()
        .map(|(s, n)| (s.to_owned(), n))
        .collect();
    assert_eq!(services, want, "the stack's containers");
    let problems: Vec<String> = inspected
        .iter()
        .flat_map(docker::hardening_problems)
        .collect();
    assert!(
        problems.is_empty(),
        "hardening missing:\n{}",
        problems.join("\n")
    );
    eprintln!("hardening: {} containers checked", inspected.len());

    // The proxy started as root and switched to uid 65534 with the socket's group (compose.yaml
    // adds back CAP_SETUID and CAP_SETGID for that), every thread of it, with no capability left.
    let proxy = stack.containers("proxy").expect("the proxy container");
    let ids = docker::process_ids(&proxy[0].id).expect("the proxy's ids from /proc");
    let socket_gid = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata("/var/run/docker.sock").expect("the Docker socket"),
    );
    eprintln!("hardening: the proxy runs as {ids:?} (socket gid {socket_gid})");
    assert_eq!(ids.uid, [65534; 4], "{ids:?}");
    assert_eq!(ids.gid, [65534; 4], "{ids:?}");
    assert_eq!(ids.groups, [socket_gid], "{ids:?}");
    assert_eq!(u64::from_str_radix(&ids.cap_eff, 16), Ok(0), "{ids:?}");
}

/// How long from a container event to the routed change: from the engine's timestamp of the
/// event (`docker events`) to the moment the API (which reads the routing snapshot) shows the
/// change, polled every 2 ms. Measured and printed, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn time_from_event_to_routed_change() {
    let Some(run) = start("time_from_event_to_routed_change", 3, 1).await else {
        return;
    };
    let stack = Arc::new(run.stack);
    let client = client().unwrap();
    let victim = stack.containers("static").unwrap()[0].clone();

    /// When the static servers first satisfy `pred`, by the wall clock.
    async fn until(
        stack: &DockerStack,
        client: &reqwest::Client,
        pred: impl Fn(&[(String, String)]) -> bool,
    ) -> SystemTime {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(servers) = stack.router_servers(client, "static").await {
                if pred(&servers) {
                    return SystemTime::now();
                }
            }
            assert!(Instant::now() < deadline, "the routed change never came");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let url_now = |stack: &DockerStack| {
        let c = stack.containers("static").unwrap();
        let c = c.into_iter().find(|c| c.id == victim.id).unwrap();
        format!("http://{}:80", c.ip)
    };
    let since =
        |later: SystemTime, earlier: SystemTime| later.duration_since(earlier).unwrap_or_default();

    let mut report = Vec::new();
    for round in 0..3 {
        for what in ["stop", "kill"] {
            let events = docker::EventWatch::start(&victim.id, &["kill", "start"]).unwrap();
            let url = url_now(&stack);
            let s = stack.clone();
            let name = victim.name.clone();
            let command = tokio::task::spawn_blocking(move || {
                if what == "stop" {
                    s.stop(&name)
                } else {
                    s.kill(&name)
                }
            });
            let gone = until(&stack, &client, |servers| {
                !servers.iter().any(|(u, _)| *u == url)
            })
            .await;
            command.await.unwrap().unwrap();
            let event = events.next("kill", Duration::from_secs(10)).unwrap();
            report.push(format!(
                "round {round}: docker {what}: `kill` event -> out of the rotation in {:?}",
                since(gone, event)
            ));

            let s = stack.clone();
            let name = victim.name.clone();
            blocking(move || s.start(&name)).await.unwrap();
            let event = events.next("start", Duration::from_secs(10)).unwrap();
            let url = url_now(&stack);
            let back = until(&stack, &client, |servers| {
                servers.iter().any(|(u, st)| *u == url && st == "UP")
            })
            .await;
            report.push(format!(
                "round {round}: docker start: `start` event -> routed (UP) in {:?}",
                since(back, event)
            ));
        }
    }
    for line in &report {
        eprintln!("event -> routed change: {line}");
    }
}

#[test]
fn assets_are_read_from_the_page() {
    let html = r##"<link href="/css/site.css" rel="stylesheet"><script src="js/app.js"></script>
        <img src='/img/logo.png'><a href="https://example.org/">x</a><a href="#top">t</a>
        <a href="/api/jokes/">api</a><a href="/">home</a>"##;
    assert_eq!(
        assets(html),
        ["/css/site.css", "/img/logo.png", "/js/app.js"]
    );
}
