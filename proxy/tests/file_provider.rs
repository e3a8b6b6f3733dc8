//! The real binary with the file provider: a file edit adds and removes servers live, a broken
//! file keeps the last good configuration.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use testkit::Running;

/// The binary watching `file`; the process and its web entrypoint's URL.
fn start_binary(file: &std::path::Path) -> (Running, String) {
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--entrypoints.web.address=127.0.0.1:0",
                "--entrypoints.traefik.address=127.0.0.1:0",
                "--api.insecure=true",
                "--providers.file.watch=true",
            ])
            .arg(format!("--providers.file.filename={}", file.display()))
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let web = child.entrypoints(&["web", "traefik"])["web"].url();
    (child, web)
}

async fn served_by(c: &reqwest::Client, web: &str) -> Option<String> {
    let r = c
        .get(format!("{web}/api/jokes/"))
        .header("host", "demo.res.ch")
        .send()
        .await
        .ok()?;
    r.headers()
        .get("x-served-by")
        .map(|v| v.to_str().unwrap().to_string())
}

/// Polls (bounded) until `f` holds; returns how long it took.
async fn until<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    for _ in 0..500 {
        if f().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn file_edits_apply_live_and_broken_files_keep_the_last_good_config() {
    let a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let site = Backend::start("static1").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yml");
    let write = |statics: &[&Backend], apis: &[&Backend]| {
        let body = lab_yaml(statics, apis).replace('\n', "\n  ");
        std::fs::write(&file, format!("http:\n  {body}\n")).unwrap();
    };
    write(&[&site], &[&a]);
    let (_child, web) = start_binary(&file);
    let c = client();
    until(|| async { served_by(&c, &web).await.as_deref() == Some("dynamic1") }).await;

    write(&[&site], &[&a, &b]);
    let took = until(|| async { served_by(&c, &web).await.as_deref() == Some("dynamic2") }).await;
    eprintln!("file edit to first routed request: {took:?}");

    write(&[&site], &[&b]);
    until(|| async {
        let mut all = true;
        for _ in 0..2 {
            all &= served_by(&c, &web).await.as_deref() == Some("dynamic2");
        }
        all
    })
    .await;

    // Half-written file: the last good configuration stays.
    std::fs::write(&file, "http:\n  routers: {\n").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        assert_eq!(served_by(&c, &web).await.as_deref(), Some("dynamic2"));
    }
}
