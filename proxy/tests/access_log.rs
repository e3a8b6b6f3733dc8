//! `--accesslog`: the real binary writes one line per request on stdout, with what a reader of
//! the log needs (method, path, status, router, service, server, duration).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use testkit::Running;

/// One access log line, split into its fields.
#[derive(Debug)]
struct Line {
    method: String,
    path: String,
    router: String,
    service: String,
    server: String,
    status: u16,
    host: String,
}

fn parse(line: &str) -> Option<Line> {
    let re = regex::Regex::new(
        r#"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z client=127\.0\.0\.1 host="([^"]*)" method=([A-Z]+) path="([^"]*)" router="([^"]*)" service="([^"]*)" server="([^"]*)" status=(\d{3}) duration_ms=\d+\.\d{3}$"#,
    )
    .unwrap();
    let c = re.captures(line)?;
    Some(Line {
        host: c[2].to_string(),
        method: c[3].to_string(),
        path: c[4].to_string(),
        router: c[5].to_string(),
        service: c[6].to_string(),
        server: c[7].to_string(),
        status: c[8].parse().ok()?,
    })
}

#[tokio::test]
async fn one_line_per_request_with_route_status_and_duration() {
    let site = Backend::start("static1").await;
    let api = Backend::start("dynamic1").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yml");
    let indented: String = lab_yaml(&[&site], &[&api])
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    std::fs::write(&file, format!("http:\n{indented}")).unwrap();
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--entrypoints.web.address=127.0.0.1:0",
                &format!("--providers.file.filename={}", file.display()),
                "--accesslog",
            ])
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let web = child.entrypoints(&["web"])["web"].url();
    let c = client();
    let send = |host: &'static str, path: &'static str, post: bool| {
        let url = format!("{web}{path}");
        let req = if post {
            c.post(url).body("hello")
        } else {
            c.get(url)
        };
        async move {
            req.header("host", host)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Wait until the file's routes are served, then forget the lines so far.
    let mut routed = false;
    for _ in 0..200 {
        if send("demo.res.ch", "/", false).await == 200 {
            routed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(routed, "the file's routes were never served");
    tokio::time::sleep(Duration::from_millis(100)).await;
    while child.next_line(Duration::ZERO).is_some() {}

    assert_eq!(send("demo.res.ch", "/index.html", false).await, 200);
    assert_eq!(send("demo.res.ch", "/api/jokes/random", true).await, 200);
    assert_eq!(send("elsewhere.test", "/nowhere", false).await, 404);

    let lines: Vec<String> = (0..3)
        .map(|_| child.next_line(Duration::from_secs(10)).expect("a line"))
        .collect();
    let parsed: Vec<Line> = lines
        .iter()
        .map(|l| parse(l).unwrap_or_else(|| panic!("not an access log line: {l:?}")))
        .collect();
    let [page, joke, missing] = &parsed[..] else {
        unreachable!()
    };
    assert_eq!(
        (page.method.as_str(), page.path.as_str(), page.status),
        ("GET", "/index.html", 200)
    );
    assert_eq!(page.host, "demo.res.ch");
    assert_eq!(
        (page.router.as_str(), page.service.as_str()),
        ("site@file", "static@file")
    );
    assert_eq!(page.server, site.url());
    // The path as the client sent it, before the prefix was stripped.
    assert_eq!(
        (joke.method.as_str(), joke.path.as_str(), joke.status),
        ("POST", "/api/jokes/random", 200)
    );
    assert_eq!(
        (joke.router.as_str(), joke.service.as_str()),
        ("api@file", "jokes@file")
    );
    assert_eq!(joke.server, api.url());
    // No route: logged too, with no router or server.
    assert_eq!(
        (
            missing.path.as_str(),
            missing.status,
            missing.router.as_str()
        ),
        ("/nowhere", 404, "")
    );
    assert_eq!(missing.server, "");
    // One line per request: nothing more.
    assert!(
        child.next_line(Duration::from_millis(300)).is_none(),
        "more lines than requests: {lines:?}"
    );
}
