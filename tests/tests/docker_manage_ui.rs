//! The management UI (lab step 9) on the real Docker engine, driven in headless Chromium: log
//! in with the token, click "Add a node" on the static service and see the new container UP
//! and serving, click "Stop" and see it leave the rotation, then "Remove" it; a request
//! without the token is refused; no client request fails meanwhile. Writes the book's
//! screenshot to `docs/src/images/manage.png`.
//!
//! Run: `cargo test -p lab --test docker_manage_ui -- --nocapture` (builds the images once
//! with scripts/build-images.sh; `LAB_SKIP_IMAGE_BUILD=1` reuses them). Without an engine or
//! Chromium it skips loudly; with `CI=true` it fails instead. Traffic goes only to the stack's
//! ports on 127.0.0.1.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab::check::browser::{find_chromium, BrowserSession, Session};
use lab::docker::{self, client, DockerStack, StackOptions, HOST};
use reqwest::header::HOST as HOST_HEADER;

/// The token the stack's proxy gets (through `LAB_MANAGE_TOKEN`, as a student would set it).
const TOKEN: &str = "labtest-manage-token-0123456789";
/// The label the UI puts on the containers it adds.
const ADDED_BY_LABEL: &str = "lab.manage.added-by";
/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(30);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Removes the containers the UI added to `project`, even when the test panics (the stack's
/// own drop removes the whole project as well; this one runs first and needs no compose).
struct AddedGuard(String);

impl Drop for AddedGuard {
    fn drop(&mut self) {
        let project = format!("label=com.docker.compose.project={}", self.0);
        let added = format!("label={ADDED_BY_LABEL}");
        if let Ok(ids) = docker::docker(&["ps", "-aq", "--filter", &project, "--filter", &added]) {
            for id in ids.split_whitespace() {
                let _ = docker::docker(&["rm", "-f", "-v", id]);
            }
        }
    }
}

/// Requests through the proxy until told to stop (bounded in count and time), recording
/// every failure and who served what.
struct Load {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    served: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<Vec<String>>>,
}

impl Load {
    fn start(stack: &DockerStack) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let (s, sv, f) = (stop.clone(), served.clone(), failures.clone());
        let url = stack.http_url.clone();
        let task = tokio::spawn(async move {
            let c = client().unwrap();
            let started = Instant::now();
            for _ in 0..20_000 {
                if s.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(240) {
                    break;
                }
                match c.get(&url).header(HOST_HEADER, HOST).send().await {
                    Ok(r) if r.status().is_success() => {
                        let by = r
                            .headers()
                            .get("x-served-by")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let _ = r.bytes().await;
                        sv.lock().unwrap().push(by);
                    }
                    Ok(r) => f.lock().unwrap().push(format!("status {}", r.status())),
                    Err(e) => f.lock().unwrap().push(format!("{e}")),
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        Load {
            stop,
            task,
            served,
            failures,
        }
    }

    fn served_count(&self) -> usize {
        self.served.lock().unwrap().len()
    }

    /// Whether a response since the `from`-th came from a server `pred` accepts.
    fn served_since(&self, from: usize, pred: impl Fn(&str) -> bool) -> bool {
        self.served.lock().unwrap()[from..].iter().any(|s| pred(s))
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let n = self.served.lock().unwrap().len();
        let failures = self.failures.lock().unwrap().clone();
        (n, failures)
    }
}

async fn eval_string(s: &Session, js: &str) -> String {
    s.page
        .evaluate(js)
        .await
        .ok()
        .and_then(|v| v.into_value::<Option<String>>().ok().flatten())
        .unwrap_or_default()
}

/// Waits (bounded) until `js` evaluates to `want` in the page.
async fn wait_js(s: &Session, js: &str, want: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = eval_string(s, js).await;
        if got == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the button `selector` (the page re-renders every second: retried if the element
/// went stale) and waits for the page's message to change from "…" to a result.
async fn click(s: &Session, selector: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let clicked = match s.page.find_element(selector).await {
            Ok(e) => e.click().await.is_ok(),
            Err(_) => false,
        };
        if clicked {
            let msg = "document.getElementById('message').textContent";
            let started = Instant::now();
            loop {
                let m = eval_string(s, msg).await;
                if !m.is_empty() && !m.ends_with('…') {
                    return m;
                }
                if started.elapsed() > WAIT {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        assert!(
            Instant::now() < deadline,
            "could not click `{selector}` within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn row(name: &str, attr: &str) -> String {
    format!("(document.querySelector('tr[data-name=\"{name}\"]') || {{dataset: {{}}}}).dataset.{attr} || ''")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_ui_adds_stops_and_removes_nodes() {
    let test = "docker_manage_ui";
    if !docker::require_engine(test) {
        return;
    }
    let Some(chromium) = find_chromium() else {
        assert!(!in_ci(), "{test}: CI=true and Chromium is missing");
        eprintln!("\n!!!! SKIPPED {test}: Chromium is not installed (apt-get install chromium).\n");
        return;
    };
    docker::ensure_images().expect("building the images");

    // Compose passes LAB_MANAGE_TOKEN through to the proxy: the UI is on.
    // Set before any other thread reads the environment.
    std::env::set_var("LAB_MANAGE_TOKEN", TOKEN);
    let mut stack = DockerStack::up(StackOptions {
        static_scale: 2,
        dynamic_scale: 1,
        ..StackOptions::default()
    })
    .await
    .expect("starting the stack");
    let _added = AddedGuard(stack.project.clone());
    eprintln!(
        "{test}: project {} on {} (API {})",
        stack.project, stack.http_url, stack.api_url
    );
    let manage_url = format!("{}/manage/", stack.api_url);
    // The browser maps every name but `localhost` to nowhere (and IP literals too): it opens
    // the page as localhost, which is 127.0.0.1.
    let browser_url = format!("http://localhost:{}/manage/", stack.api.port());
    let http = client().unwrap();

    // The UI is there (an image built from a branch without it would 404 here).
    let r = http.get(&manage_url).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "GET {manage_url}: is the proxy image up to date (scripts/build-images.sh)?\n{}",
        stack.logs()
    );

    // Without the token: read-only. An action is refused, and so is a forged session.
    let static1 = stack.containers("static").unwrap()[0].clone();
    for (name, req) in [
        (
            "no credentials",
            http.post(format!(
                "{}/manage/api/nodes/{}/stop",
                stack.api_url, static1.id
            )),
        ),
        (
            "wrong bearer token",
            http.post(format!(
                "{}/manage/api/nodes/{}/stop",
                stack.api_url, static1.id
            ))
            .bearer_auth("guess-guess-guess"),
        ),
        (
            "forged session from another site",
            http.post(format!(
                "{}/manage/api/services/{}/static/add",
                stack.api_url, stack.project
            ))
            .header("cookie", "lab_manage_session=forged")
            .header("origin", "http://evil.example")
            .header("x-csrf-token", "forged"),
        ),
    ] {
        let status = req.send().await.unwrap().status().as_u16();
        assert!(
            status == 401 || status == 403,
            "{name}: expected 401/403, got {status}"
        );
    }
    assert!(stack
        .containers("static")
        .unwrap()
        .iter()
        .all(|c| c.running));
    assert_eq!(stack.containers("static").unwrap().len(), 2);

    let mut browser = BrowserSession::launch_for(&chromium, HOST)
        .await
        .expect("starting Chromium");
    let load = Load::start(&stack);
    let result = async {
        // A visitor without the token sees the state and no buttons.
        let anon = browser.session().await.unwrap();
        anon.open(&browser_url).await.unwrap();
        let rows = wait_js(
            &anon,
            "String(document.querySelectorAll('tr[data-name]').length)",
            "3",
        )
        .await;
        assert_eq!(rows, "3", "2 static + 1 dynamic rows for a visitor");
        assert_eq!(
            eval_string(
                &anon,
                "String(document.querySelectorAll('button[data-action]').length)"
            )
            .await,
            "0",
            "a visitor gets no buttons"
        );
        browser.end(anon).await;

        // The administrator logs in with the token.
        let s = browser.session().await.unwrap();
        s.open(&browser_url).await.unwrap();
        s.page
            .find_element("#token")
            .await
            .unwrap()
            .click()
            .await
            .unwrap()
            .type_str(TOKEN)
            .await
            .unwrap();
        s.page
            .find_element("#login-button")
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let add = format!(
            "button[data-action=\"add\"][data-service=\"{}/static\"]",
            stack.project
        );
        let found = wait_js(
            &s,
            &format!(
                "document.querySelector('{}') ? 'yes' : 'no'",
                add.replace('\'', "\\'")
            ),
            "yes",
        )
        .await;
        assert_eq!(
            found,
            "yes",
            "no add button after logging in: {}",
            s.text().await.unwrap_or_default()
        );

        // Add a node to the static service.
        let message = click(&s, &add).await;
        assert!(message.starts_with("added "), "add said: {message}");
        let new_name = message
            .trim_start_matches("added ")
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        eprintln!("{test}: {message}");
        assert_eq!(new_name, format!("{}-static-3", stack.project));
        let up = wait_js(&s, &row(&new_name, "proxy"), "UP").await;
        assert_eq!(up, "UP", "the new node is not UP on the page");

        // It gets traffic through the proxy.
        let new = stack
            .containers("static")
            .unwrap()
            .into_iter()
            .find(|c| c.name == new_name)
            .expect("the new container exists");
        assert_eq!(new.number, 3);
        let from = load.served_count();
        let deadline = Instant::now() + WAIT;
        while !load.served_since(from, |by| new.answers_as(by)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            load.served_since(from, |by| new.answers_as(by)),
            "no request served by {new_name} since it was added"
        );
        // The page shows requests for it; the screenshot for the book.
        let requests = wait_js(
            &s,
            &format!(
                "(() => {{ const t = document.querySelector('tr[data-name=\"{new_name}\"] td.requests'); \
                 return t && Number(t.textContent) > 0 ? 'yes' : 'no'; }})()"
            ),
            "yes",
        )
        .await;
        assert_eq!(requests, "yes", "the page shows no requests for {new_name}");
        let shot = docker::repo_root().join("docs/src/images/manage.png");
        s.screenshot(&shot).await.unwrap();
        eprintln!("{test}: screenshot {}", shot.display());

        // Stop it: it leaves the rotation.
        let stop = format!("button[data-action=\"stop\"][data-name=\"{new_name}\"]");
        let message = click(&s, &stop).await;
        assert_eq!(message, format!("stopped {new_name}"));
        let out = wait_js(&s, &row(&new_name, "proxy"), "OUT").await;
        assert_eq!(out, "OUT", "the stopped node is still in the rotation");
        assert_eq!(
            wait_js(&s, &row(&new_name, "state"), "exited").await,
            "exited"
        );
        let servers = stack.router_servers(&http, "static").await.unwrap();
        assert_eq!(servers.len(), 2, "the API still lists it: {servers:?}");
        let from = load.served_count();
        let until = load.served_count() + 20;
        let deadline = Instant::now() + WAIT;
        while load.served_count() < until && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            !load.served_since(from, |by| new.answers_as(by)),
            "{new_name} still served requests after it was stopped"
        );

        // Remove it.
        let remove = format!("button[data-action=\"remove\"][data-name=\"{new_name}\"]");
        let message = click(&s, &remove).await;
        assert_eq!(message, format!("removed {new_name}"));
        assert_eq!(
            wait_js(
                &s,
                &format!(
                    "document.querySelector('tr[data-name=\"{new_name}\"]') ? 'present' : 'gone'"
                ),
                "gone"
            )
            .await,
            "gone"
        );
        assert!(stack
            .containers("static")
            .unwrap()
            .iter()
            .all(|c| c.name != new_name));
        browser.end(s).await;
    };
    result.await;
    browser.close().await;

    let (served, failures) = load.finish().await;
    eprintln!(
        "{test}: {served} requests during the test, {} failed",
        failures.len()
    );
    assert!(served > 0);
    assert!(
        failures.is_empty(),
        "clients saw failed requests: {:?}",
        &failures[..failures.len().min(10)]
    );
    stack.down().unwrap();
}
