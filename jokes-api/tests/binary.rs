//! The real `jokes-api` binary: started on port 0, asked over TCP, stopped with signals.

use std::process::Command;
use std::time::Duration;

use testkit::process::start_fails;
use testkit::Running;

const BIN: &str = env!("CARGO_BIN_EXE_jokes-api");

/// Generous: a graceful stop takes milliseconds, but CI machines can be slow. `docker stop`
/// would wait 10 s; anything near that means the signal was ignored.
const STOP_LIMIT: Duration = Duration::from_secs(8);

/// The binary with `args` and `env` (its log quiet); the process and the URL it printed.
fn start_server(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    Running::server(BIN, args, env)
}

fn start(id: &str) -> (Running, String) {
    start_server(&["--listen", "127.0.0.1:0", "--instance-id", id], &[])
}

#[tokio::test]
async fn serves_jokes_naming_itself_then_stops_on_sigterm() {
    let (mut server, url) = start("api-it-1");
    let client = reqwest::Client::new();
    let response = client.get(format!("{url}/?count=3")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-served-by"], "api-it-1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["jokes"].as_array().unwrap().len(), 3);
    assert_eq!(body["server"]["id"], "api-it-1");

    // The client keeps its connection open (keep-alive): it must not delay the stop.
    server.signal("TERM");
    let status = server
        .wait(STOP_LIMIT)
        .expect("still running after SIGTERM");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn sigint_stops_it_too() {
    let (mut server, url) = start("api-it-2");
    let response = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(response.headers()["x-served-by"], "api-it-2");
    server.signal("INT");
    let status = server.wait(STOP_LIMIT).expect("still running after SIGINT");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn flags_come_from_the_environment_too() {
    let (_server, url) = start_server(
        &[],
        &[("JOKES_LISTEN", "127.0.0.1:0"), ("INSTANCE_ID", "from-env")],
    );
    let response = reqwest::get(format!("{url}/nope")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-served-by"], "from-env");
}

#[tokio::test]
async fn without_a_flag_the_id_is_detected() {
    let (_server, url) = start_server(&["--listen", "127.0.0.1:0"], &[]);
    let response = reqwest::get(format!("{url}/whoami")).await.unwrap();
    let header = response.headers()["x-served-by"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(!header.is_empty());
    assert_eq!(body["id"], header);
    // Both ends of the TCP connection, as the server saw them.
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(body["request"]["local_addr"], format!("127.0.0.1:{port}"));
    let remote = body["request"]["remote_addr"].as_str().unwrap();
    assert!(remote.starts_with("127.0.0.1:"), "{remote}");
}

#[tokio::test]
async fn serves_its_own_jokes_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    std::fs::write(
        &file,
        r#"[{"id": 7, "setup": "Knock knock.", "punchline": "HTTP 401."}]"#,
    )
    .unwrap();
    let (_server, url) = start_server(
        &["--listen", "127.0.0.1:0", "--jokes", file.to_str().unwrap()],
        &[],
    );
    let body: serde_json::Value = reqwest::get(format!("{url}/?count=5"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["jokes"].as_array().unwrap().len(),
        1,
        "only one joke exists"
    );
    assert_eq!(body["jokes"][0]["punchline"], "HTTP 401.");
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let stderr = start_fails(Command::new(BIN).args(["--instance-id", "two words"]));
    assert!(stderr.contains("not a usable instance id"), "{stderr}");
    let stderr = start_fails(Command::new(BIN).args(["--cors-origin", "localhost:8080/"]));
    assert!(stderr.contains("is not an origin"), "{stderr}");
    let stderr = start_fails(Command::new(BIN).args(["--jokes", "/no/such/jokes.json"]));
    assert!(stderr.contains("/no/such/jokes.json"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let twice = dir.path().join("twice.json");
    let json =
        r#"[{"id": 1, "setup": "a", "punchline": "b"}, {"id": 1, "setup": "c", "punchline": "d"}]"#;
    std::fs::write(&twice, json).unwrap();
    let stderr = start_fails(Command::new(BIN).args(["--jokes", twice.to_str().unwrap()]));
    assert!(stderr.contains("joke id 1 is used twice"), "{stderr}");
    let stderr = start_fails(Command::new(BIN).args(["--listen", "nowhere"]));
    assert!(stderr.contains("--listen"), "{stderr}");
}
