//! The real `static-server` binary: started on port 0, asked over TCP, stopped with signals.

use std::process::Command;
use std::time::Duration;

use testkit::process::start_fails;
use testkit::Running;

const BIN: &str = env!("CARGO_BIN_EXE_static-server");

/// Generous: a graceful stop takes milliseconds, but CI machines can be slow. `docker stop`
/// would wait 10 s; anything near that means the signal was ignored.
const STOP_LIMIT: Duration = Duration::from_secs(8);

/// The binary with `args` and `env` (its log quiet); the process and the URL it printed.
fn start_server(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    Running::server(BIN, args, env)
}

#[tokio::test]
async fn serves_the_bundled_site_naming_itself_then_stops_on_sigterm() {
    let (mut server, url) = start_server(
        &["--listen", "127.0.0.1:0", "--instance-id", "web-it-1"],
        &[],
    );
    let client = reqwest::Client::new();
    let assets = static_server::site::bundled_assets();
    let paths = ["/".to_owned()]
        .into_iter()
        .chain(assets)
        .chain(["/missing".to_owned(), "/whoami".to_owned()]);
    for path in paths {
        let response = client.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(response.headers()["x-served-by"], "web-it-1", "{path}");
    }
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
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
    let (mut server, url) = start_server(
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
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(page, "<h1>web-it-2</h1>");
    server.signal("INT");
    let status = server.wait(STOP_LIMIT).expect("still running after SIGINT");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn flags_come_from_the_environment_too() {
    let (_server, url) = start_server(
        &[],
        &[
            ("STATIC_LISTEN", "127.0.0.1:0"),
            ("INSTANCE_ID", "from-env"),
        ],
    );
    let response = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(response.headers()["x-served-by"], "from-env");
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let stderr =
        start_fails(Command::new(BIN).args(["--root", "/no/such/dir", "--listen", "127.0.0.1:0"]));
    assert!(stderr.contains("/no/such/dir"), "{stderr}");
    let stderr = start_fails(Command::new(BIN).args(["--instance-id", "a\nb"]));
    assert!(stderr.contains("not a usable instance id"), "{stderr}");
}
