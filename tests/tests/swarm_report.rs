//! The reference report's tests on Docker Swarm: `compose/stack.yaml` (our proxy with the
//! report's labels under `deploy.labels`, `--providers.swarm`) deployed with `docker stack
//! deploy` under a unique name on free ports, driven with `docker service scale`, `docker
//! service update --force` and task kills, and removed even when a test fails. A single-node
//! swarm is initialised if the engine is in none, and left when this process ends (only then).
//!
//! Run: `cargo test -p lab --test swarm_report -- --nocapture --test-threads=1` (builds the
//! images once with scripts/build-images.sh). Without an engine the tests skip loudly; with
//! `CI=true` they fail. Times are printed, never asserted.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lab::check::{self, BrowserMode, Control, Status, Target};
use lab::docker::{self, client, HOST};
use lab::local::Kind;
use lab::swarm::{SwarmControl, SwarmStack, SwarmStackOptions};
use reqwest::header::{HOST as HOST_HEADER, SET_COOKIE};

const COOKIE: &str = "static_cookie";

/// A deployed stack, and the lock that keeps the other tests waiting. The stack is dropped
/// (removed) first: fields drop in order.
struct Running {
    stack: SwarmStack,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

async fn start(test: &str) -> Option<Running> {
    if !docker::require_engine(test) {
        return None;
    }
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let serial = SERIAL.lock().await;
    docker::ensure_images().expect("building the images");
    let deploying = Instant::now();
    let stack = SwarmStack::deploy(SwarmStackOptions::default())
        .await
        .expect("deploying the stack");
    eprintln!(
        "{test}: stack {} on {} (API {}), routed {:?} after `docker stack deploy`",
        stack.name,
        stack.http_url,
        stack.api_url,
        deploying.elapsed()
    );
    Some(Running {
        stack,
        _serial: serial,
    })
}

/// One response: status, `X-Served-By`, the sticky cookie it set.
async fn get(
    client: &reqwest::Client,
    stack: &SwarmStack,
    path: &str,
) -> (u16, String, Option<String>) {
    let url = format!("{}{path}", stack.http_url);
    let r = client
        .get(&url)
        .header(HOST_HEADER, HOST)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let by = r
        .headers()
        .get("x-served-by")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{COOKIE}=")))
        .map(str::to_owned);
    (r.status().as_u16(), by, cookie)
}

/// A bounded load: `tasks` cookie-less clients sending GET `path` every few ms until stopped,
/// 20,000 requests each or 90 s, whichever comes first.
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
    fn start(stack: &SwarmStack, path: &str, tasks: usize) -> Load {
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
                        && samples.len() < 20_000
                        && started.elapsed() < Duration::from_secs(90)
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

/// When the running task named `name` (`stack_static.5`) entered its current state (running),
/// by the manager's clock (this machine's).
fn task_running_since(service: &str, name: &str) -> Option<SystemTime> {
    let tasks = docker::docker(&[
        "service",
        "ps",
        service,
        "--filter",
        "desired-state=running",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Name}}",
    ])
    .ok()?;
    let id = tasks.lines().find_map(|l| {
        l.split_once(' ')
            .filter(|(_, n)| *n == name)
            .map(|(id, _)| id.to_owned())
    })?;
    let nanos =
        docker::docker(&["inspect", "--format", "{{.Status.Timestamp.UnixNano}}", &id]).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos.trim().parse().ok()?))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Waits until the API shows exactly `n` static servers, all UP; returns when it did.
async fn until_static_servers(stack: &SwarmStack, n: usize, timeout: Duration) -> Instant {
    let client = client().unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(s) = stack.router_servers(&client, "static").await {
            if s.len() == n && s.iter().all(|(_, st)| st == "UP") {
                return Instant::now();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the proxy never routed {n} static servers\n{}",
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The report's round robin ("dynamic1 -> dynamic2 -> dynamic3 -> dynamic1 ...") over the 3
/// replicas of the jokes API, and its sticky sessions over the 4 static replicas: each browser
/// stays on the replica its cookie names. Both on one stack, as the report's stack has both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_robin_over_three_replicas_and_sticky_sessions_over_four() {
    let Some(run) = start("round_robin_over_three_replicas_and_sticky_sessions_over_four").await
    else {
        return;
    };
    let stack = &run.stack;
    let plain = client().unwrap();
    let mut order = Vec::new();
    for _ in 0..12 {
        let (status, by, _) = get(&plain, stack, "/api/jokes/").await;
        assert_eq!(status, 200, "GET /api/jokes/");
        order.push(by);
    }
    let distinct: BTreeSet<_> = order.iter().collect();
    assert_eq!(distinct.len(), 3, "not three replicas: {order:?}");
    for (i, by) in order.iter().enumerate().skip(3) {
        assert_eq!(by, &order[i % 3], "not cyclic: {order:?}");
    }
    eprintln!("round robin order: {:?}", &order[..3]);

    let mut pinned = BTreeSet::new();
    for jar in 0..8 {
        let browser = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (status, first, cookie) = get(&browser, stack, "/").await;
        assert_eq!(status, 200);
        assert!(
            cookie.is_some(),
            "jar {jar}: no {COOKIE} on the first visit"
        );
        for _ in 0..5 {
            let (status, by, again) = get(&browser, stack, "/").await;
            assert_eq!(status, 200);
            assert_eq!(by, first, "jar {jar} moved from its replica");
            assert_eq!(again, None, "jar {jar}: the cookie was set again");
        }
        pinned.insert(first);
    }
    eprintln!("sticky: 8 browsers pinned to {pinned:?}");
    assert!(pinned.len() >= 2, "every browser landed on {pinned:?}");

    // The API's shapes, with the Swarm provider's name.
    let services: serde_json::Value = plain
        .get(format!("{}/api/http/services", stack.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statics = services
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == "static@swarm"))
        .unwrap_or_else(|| panic!("no static@swarm in {services}"));
    assert_eq!(statics["provider"], "swarm");
    assert_eq!(docker::server_statuses(statics).len(), 4);
}

/// Under a bounded load: a killed task costs no GET; `docker service scale static=6` routes the
/// new tasks (time measured from the command to routed, and to their first request), then
/// scaling to 2 fails no request; a rolling update (`docker service update --force`) fails none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_kill_scaling_and_rolling_update_under_load_fail_no_request() {
    let Some(run) = start("task_kill_scaling_and_rolling_update_under_load_fail_no_request").await
    else {
        return;
    };
    let stack = Arc::new(run.stack);

    // A task kill (SIGKILL, no goodbye), under load on the jokes API.
    let load = Load::start(&stack, "/api/jokes/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim = format!("{}.2", stack.service(Kind::Dynamic));
    let s = stack.clone();
    let v = victim.clone();
    blocking(move || s.kill_task(&v)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let failed = failures(&samples);
    eprintln!(
        "task kill ({victim}) under load: {} GETs, {} failed",
        samples.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed GETs around the task kill: {failed:?}"
    );
    stack
        .wait_replaced(&victim, Duration::from_secs(60))
        .await
        .unwrap();

    // Scale up under load: how soon the new tasks are routed.
    let load = Load::start(&stack, "/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = stack.clone();
    let scale = Instant::now();
    let scale_wall = SystemTime::now();
    blocking(move || s.scale(Kind::Static, 6)).await.unwrap();
    let returned = Instant::now();
    let routed = until_static_servers(&stack, 6, Duration::from_secs(60)).await;
    let routed_wall = scale_wall + (routed - scale);
    // Where the time went: Swarm (command -> the manager says the task runs), then the proxy
    // (task running -> routed), from the tasks' own status timestamps.
    let mut split = Vec::new();
    for slot in 5..=6 {
        let name = format!("{}.{slot}", stack.service(Kind::Static));
        let running = task_running_since(&stack.service(Kind::Static), &name);
        if let Some(at) = running {
            split.push(format!(
                "{name}: Swarm {:?} to running, proxy {:?} from running to routed",
                at.duration_since(scale_wall).unwrap_or_default(),
                routed_wall.duration_since(at).unwrap_or_default()
            ));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let s = stack.clone();
    let scale_down = Instant::now();
    blocking(move || s.scale(Kind::Static, 2)).await.unwrap();
    until_static_servers(&stack, 2, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let samples = load.finish().await;

    let new: Vec<String> = (5..=6)
        .map(|slot| format!("{}.{slot}", stack.service(Kind::Static)))
        .collect();
    let mut first_requests = Vec::new();
    for task in &new {
        let first = samples
            .iter()
            .find(|s| s.at >= scale && matches!(&s.outcome, Ok(by) if by == task))
            .unwrap_or_else(|| panic!("new task {task} never got a request"));
        first_requests.push(format!("{task} {:?}", first.at - scale));
    }
    let failed = failures(&samples);
    let when: Vec<String> = samples
        .iter()
        .filter(|s| s.outcome.is_err())
        .map(|s| {
            format!(
                "{:?} at +{:?} from scale-up, {:?} from scale-down",
                s.outcome,
                s.at.saturating_duration_since(scale),
                s.at.checked_duration_since(scale_down)
            )
        })
        .collect();
    eprintln!(
        "SCALE -> ROUTED: `docker service scale static=6` to 6 servers UP in the API: {:?} \
         (the command returned after {:?}; {}); first request to each new task after the \
         command: {}; 6 -> 2 under load: {} requests in all, {} failed",
        routed - scale,
        returned - scale,
        split.join("; "),
        first_requests.join(", "),
        samples.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed requests while scaling: {when:?}");

    // A rolling update under load: every task replaced, one at a time.
    let load = Load::start(&stack, "/", 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, before) = stack.update_status(Kind::Static).unwrap();
    let s = stack.clone();
    let update = Instant::now();
    blocking(move || s.force_update(Kind::Static))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (state, started) = stack.update_status(Kind::Static).unwrap();
        if state == "completed" && started != before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rolling update did not complete: {state}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let updated = update.elapsed();
    until_static_servers(&stack, 2, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = load.finish().await;
    let failed = failures(&samples);
    eprintln!(
        "ROLLING UPDATE: `docker service update --force` of 2 static tasks took {updated:?}; \
         {} GETs under load, {} failed",
        samples.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed GETs during the rolling update: {failed:?}"
    );
}

/// `lab check --swarm --stack NAME` against the stack: every check passes, those that stop
/// and scale servers included (a stopped task is replaced by Swarm in its slot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_check_passes_against_the_swarm_stack() {
    let Some(run) = start("lab_check_passes_against_the_swarm_stack").await else {
        return;
    };
    let stack = &run.stack;
    let control = Control::Swarm(SwarmControl {
        stack: stack.name.clone(),
    });
    let target = Target::new(&stack.http_url, &stack.api_url, &stack.host, control).unwrap();
    let opts = check::Options {
        // The browser checks are the same on every stack (the Docker suite runs them).
        browser: BrowserMode::Off,
        ..Default::default()
    };
    let report = check::run(&target, &opts, &mut |r| println!("{}", r.line())).await;
    println!("{}", report.summary());
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.line())
        .collect();
    assert!(
        failed.is_empty(),
        "{}\n--- proxy logs ---\n{}",
        failed.join("\n"),
        stack.logs()
    );
    for name in ["failover", "scaling", "round-robin", "sticky-sessions"] {
        assert_eq!(
            report.get(name).map(|r| r.status),
            Some(Status::Pass),
            "{name}"
        );
    }
}
