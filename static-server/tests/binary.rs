//! The real `static-server` binary: started on port 0, asked over TCP, stopped with signals.

// One copy for both servers' binary tests.
#[path = "../../common/test-support/server_process.rs"]
mod support;

use std::time::Duration;

use support::{start_fails, Server};

const BIN: &str = env!("CARGO_BIN_EXE_static-server");

/// Generous: a graceful stop takes milliseconds, but CI machines can be slow. `docker stop`
/// would wait 10 s; anything near that means the signal was ignored.
const STOP_LIMIT: Duration = Duration::from_secs(8);

#[tokio::test]
async fn serves_the_bundled_site_naming_itself_then_stops_on_sigterm() {
    let mut server = Server::start(
        BIN,
        &["--listen", "127.0.0.1:0", "--instance-id", "web-it-1"],
        &[],
    );
    let client = reqwest::Client::new();
    for path in [
        "/",
        "/css/site.css",
        "/js/app.js",
        "/img/logo.svg",
        "/missing",
        "/whoami",
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-served-by"], "web-it-1", "{path}");
    }
    let page = client
        .get(&server.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"id="served-by" class="chip">web-it-1<"#));

    server.signal("TERM");
    let status = server
        .wait(STOP_LIMIT)
        .expect("still running after SIGTERM");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn serves_a_root_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>{{instance_id}}</h1>").unwrap();
    let root = dir.path().to_str().unwrap();
    let mut server = Server::start(
        BIN,
        &[
            "--listen",
            "127.0.0.1:0",
            "--root",
            root,
            "--instance-id",
            "web-it-2",
        ],
        &[],
    );
    let page = reqwest::get(&server.url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page, "<h1>web-it-2</h1>");
    server.signal("INT");
    let status = server.wait(STOP_LIMIT).expect("still running after SIGINT");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn flags_come_from_the_environment_too() {
    let server = Server::start(
        BIN,
        &[],
        &[
            ("STATIC_LISTEN", "127.0.0.1:0"),
            ("INSTANCE_ID", "from-env"),
        ],
    );
    let response = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-served-by"], "from-env");
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let stderr = start_fails(BIN, &["--root", "/no/such/dir", "--listen", "127.0.0.1:0"]);
    assert!(stderr.contains("/no/such/dir"), "{stderr}");
    let stderr = start_fails(BIN, &["--instance-id", "a\nb"]);
    assert!(stderr.contains("not a usable instance id"), "{stderr}");
}
