//! The middlewares added in Traefik's shape (addPrefix, replacePath, headers, redirectScheme),
//! each through the real binary with the file provider: a `GET` (the fast path) and a `POST`
//! with a body (hyper's path) must get the same treatment.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use testkit::Running;

/// The binary serving `middleware` (YAML, under `middlewares.m:`) on router `r` for host
/// `m.test`, in front of one backend. Returns the process, the backend and the web URL once
/// the router serves.
async fn start(middleware: &str) -> (Running, Backend, String, tempfile::TempDir) {
    let backend = Backend::start("s1").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yml");
    let yaml = format!(
        "http:\n  routers:\n    r:\n      rule: Host(`m.test`)\n      service: s\n      middlewares: [m]\n  \
         services:\n    s:\n      loadBalancer:\n        servers:\n          - url: {}\n  \
         middlewares:\n    m:\n{middleware}",
        backend.url()
    );
    std::fs::write(&file, yaml).unwrap();
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["--entrypoints.web.address=127.0.0.1:0"])
            .arg(format!("--providers.file.filename={}", file.display()))
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let web = child.entrypoints(&["web"])["web"].url();
    let c = no_redirects();
    let start = Instant::now();
    loop {
        let r = c
            .get(format!("{web}/"))
            .header("host", "m.test")
            .send()
            .await;
        if r.is_ok_and(|r| r.status() != 404) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the router never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, backend, web, dir)
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A `GET` and a `POST` with a body of `target` on `m.test`: (status, headers, backend JSON) each.
async fn both(
    web: &str,
    target: &str,
) -> Vec<(u16, reqwest::header::HeaderMap, serde_json::Value)> {
    let c = no_redirects();
    let mut out = Vec::new();
    for post in [false, true] {
        let url = format!("{web}{target}");
        let req = if post {
            c.post(url).body("x".repeat(100))
        } else {
            c.get(url)
        };
        let r = req.header("host", "m.test").send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        out.push((status, headers, body));
    }
    out
}

#[tokio::test]
async fn add_prefix_puts_the_prefix_before_the_path() {
    let (_p, _b, web, _d) = start("      addPrefix:\n        prefix: /api\n").await;
    for (status, _, body) in both(&web, "/jokes?n=2").await {
        assert_eq!(status, 200);
        assert_eq!(body["path"], "/api/jokes?n=2", "{body}");
    }
}

#[tokio::test]
async fn replace_path_replaces_it_and_says_what_it_was() {
    let (_p, _b, web, _d) = start("      replacePath:\n        path: /v2/health\n").await;
    for (status, _, body) in both(&web, "/status?full=1").await {
        assert_eq!(status, 200);
        assert_eq!(body["path"], "/v2/health?full=1", "{body}");
        assert_eq!(body["headers"]["x-replaced-path"], "/status", "{body}");
    }
}

#[tokio::test]
async fn headers_sets_request_and_response_headers() {
    let (_p, _b, web, _d) = start(
        "      headers:\n        customRequestHeaders:\n          X-Env: lab\n          User-Agent: ''\n        \
         customResponseHeaders:\n          X-Frame-Options: DENY\n          X-Served-By: ''\n",
    )
    .await;
    for (status, headers, body) in both(&web, "/").await {
        assert_eq!(status, 200);
        assert_eq!(body["headers"]["x-env"], "lab", "{body}");
        assert!(body["headers"].get("user-agent").is_none(), "{body}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.get("x-served-by").is_none(), "{headers:?}");
    }
}

#[tokio::test]
async fn redirect_scheme_answers_with_the_https_url() {
    let (_p, b, web, _d) =
        start("      redirectScheme:\n        scheme: https\n        permanent: true\n").await;
    let hits = b.hits.load(std::sync::atomic::Ordering::SeqCst);
    let answers = both(&web, "/a?b=1").await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    // 301 for GET, 308 for other methods, as Traefik.
    assert_eq!(statuses, [301, 308]);
    for (_, headers, _) in &answers {
        assert_eq!(headers["location"], "https://m.test/a?b=1");
    }
    // The server never saw them.
    assert_eq!(b.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
}
