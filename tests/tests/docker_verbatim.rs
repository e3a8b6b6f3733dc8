//! The report's compose file as the report wrote it (`compose/report.yaml`: only the three
//! `image:` lines differ), on the real engine; and who the proxy runs as, read from the host's
//! `/proc`, under that file and when the switch from root is impossible.
//!
//! The report's file publishes the fixed host ports 80 and 8080, which tests must not take: the
//! test runs a generated copy whose only change is those two port lines (`127.0.0.1:0:80`,
//! `127.0.0.1:0:8080`), and checks that nothing else differs.
//!
//! Run: `cargo test -p lab --test docker_verbatim -- --nocapture`. Without an engine the tests
//! skip loudly; with `CI=true` they fail.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use lab::docker::{self, DockerStack, RunContainer, StackOptions, HOST};
use reqwest::header::{HOST as HOST_HEADER, SET_COOKIE};

/// One test at a time: they share the machine's engine and two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The socket the engine listens on here, as the containers see it mounted.
const SOCKET: &str = "/var/run/docker.sock";

/// The report's file with its two fixed host ports replaced by free loopback ones; fails if
/// anything else would differ.
fn report_file_on_free_ports(dir: &std::path::Path) -> std::path::PathBuf {
    let original = std::fs::read_to_string(docker::repo_root().join("compose/report.yaml"))
        .expect("compose/report.yaml");
    let copy = original
        .replacen("- \"80:80\"", "- \"127.0.0.1:0:80\"", 1)
        .replacen("- \"8080:8080\"", "- \"127.0.0.1:0:8080\"", 1);
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(copy.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [
            ("      - \"80:80\"", "      - \"127.0.0.1:0:80\""),
            ("      - \"8080:8080\"", "      - \"127.0.0.1:0:8080\"")
        ],
        "the copy must differ from compose/report.yaml in the two port lines only"
    );
    let path = dir.join("report.yaml");
    std::fs::write(&path, copy).unwrap();
    path
}

/// `X-Served-By` and the sticky cookie's value, if set.
async fn get(client: &reqwest::Client, stack: &DockerStack, path: &str) -> (u16, String, bool) {
    let url = format!("{}{path}", stack.http_url);
    let r = client
        .get(&url)
        .header(HOST_HEADER, HOST)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let set_cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or_default().starts_with("static_cookie="));
    let served_by = r
        .headers()
        .get("x-served-by")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status().as_u16(), served_by, set_cookie)
}

/// The report's compose file, verbatim but for the images: it routes both services, keeps a
/// browser on one static server, turns the dynamic servers in a cycle, and the proxy ends as
/// uid 65534 holding the socket's group and no capability (it started as root, as Traefik).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reports_compose_file_verbatim_routes_sticks_and_round_robins() {
    let test = "the_reports_compose_file_verbatim_routes_sticks_and_round_robins";
    if !docker::require_engine(test) {
        return;
    }
    let _serial = SERIAL.lock().await;
    docker::ensure_images().expect("building the images");
    let dir = tempfile::tempdir().unwrap();
    let file = report_file_on_free_ports(dir.path());
    let stack = DockerStack::up(StackOptions {
        compose_file: Some(file),
        proxy_service: "traefik-proxy".into(),
        ..StackOptions::default()
    })
    .await
    .expect("the report's compose file starts and routes its 2 + 2 servers");
    eprintln!("{test}: project {} on {}", stack.project, stack.http_url);

    // Routing: the site and the API, through the report's labels.
    let client = docker::client().unwrap();
    let (status, by, _) = get(&client, &stack, "/").await;
    assert_eq!(status, 200, "GET / by {by}");
    let (status, _, _) = get(&client, &stack, "/api/jokes/").await;
    assert_eq!(status, 200, "GET /api/jokes/");

    // Sticky: one browser, one static server.
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (status, first, set) = get(&browser, &stack, "/").await;
    assert!(
        status == 200 && set,
        "first visit: {status}, cookie set: {set}"
    );
    for _ in 0..5 {
        let (status, by, set) = get(&browser, &stack, "/").await;
        assert_eq!((status, by.as_str(), set), (200, first.as_str(), false));
    }

    // Round robin: the two dynamic servers take turns.
    let mut order = Vec::new();
    for _ in 0..6 {
        let (status, by, _) = get(&client, &stack, "/api/jokes/").await;
        assert_eq!(status, 200);
        order.push(by);
    }
    let distinct: BTreeSet<_> = order.iter().collect();
    assert_eq!(distinct.len(), 2, "{order:?}");
    for i in 2..order.len() {
        assert_eq!(order[i], order[i - 2], "not cyclic: {order:?}");
        assert_ne!(order[i], order[i - 1], "not cyclic: {order:?}");
    }

    // Who the proxy runs as, every thread of it.
    let proxy = stack.containers("traefik-proxy").unwrap();
    let ids = docker::process_ids(&proxy[0].id).unwrap();
    let socket_gid = std::fs::metadata(SOCKET).unwrap().gid();
    eprintln!("{test}: proxy runs as {ids:?} (socket gid {socket_gid})");
    assert_eq!(ids.uid, [65534; 4], "{ids:?}");
    assert_eq!(ids.gid, [65534; 4], "{ids:?}");
    assert_eq!(ids.groups, [socket_gid], "{ids:?}");
    assert_eq!(u64::from_str_radix(&ids.cap_eff, 16), Ok(0), "{ids:?}");

    // Its logs say so, in plain text.
    let logs = stack.compose(&["logs", "--no-color"]).unwrap();
    assert!(
        logs.contains("running as uid 65534, gid 65534"),
        "no identity line in:\n{logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in the logs:\n{logs}"
    );
}

/// The image where the switch is impossible or was not made: with every capability dropped it
/// stays root, with none, still reads the socket and says why; started as a user outside the
/// socket's group, it says exactly why it cannot read the socket and what to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_proxy_says_who_it_runs_as_and_why_it_cannot_read_the_socket() {
    let test = "the_proxy_says_who_it_runs_as_and_why_it_cannot_read_the_socket";
    if !docker::require_engine(test) {
        return;
    }
    let _serial = SERIAL.lock().await;
    docker::ensure_images().expect("building the images");
    let image = docker::images()[0].clone();
    let mount = format!("{SOCKET}:{SOCKET}:ro");
    let socket = std::fs::metadata(SOCKET).unwrap();

    // cap_drop: ALL, no-new-privileges, no cap_add: root without capabilities, and it works.
    let hardened = RunContainer::start(&[
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--read-only",
        "-v",
        &mount,
        "-p",
        "127.0.0.1:0:8080",
        &image,
        "--api.insecure=true",
        "--providers.docker",
    ])
    .unwrap();
    let api = hardened.published(8080).unwrap();
    let client = docker::client().unwrap();
    let url = format!("http://{api}/api/http/routers");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = hardened.logs();
        let ok = client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok && logs.contains("configuration applied") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hardened proxy did not come up:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ids = docker::process_ids(&hardened.id).unwrap();
    eprintln!("{test}: with cap_drop ALL the proxy runs as {ids:?}");
    assert_eq!(ids.uid, [0; 4], "{ids:?}");
    assert_eq!(u64::from_str_radix(&ids.cap_eff, 16), Ok(0), "{ids:?}");
    let logs = hardened.logs();
    assert!(logs.contains("CAP_SETUID"), "no reason given:\n{logs}");
    assert!(
        !logs.contains("permission denied") && !logs.contains("cannot reach"),
        "root without capabilities should read the socket:\n{logs}"
    );
    drop(hardened);

    // Started as nobody, not in the socket's group: the log names the cause and the fixes.
    let stranger = RunContainer::start(&[
        "--user",
        "65534:65534",
        "--cap-drop",
        "ALL",
        "-v",
        &mount,
        &image,
        "--providers.docker",
    ])
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let logs = loop {
        let logs = stranger.logs();
        if logs.contains("permission denied") {
            break logs;
        }
        assert!(
            Instant::now() < deadline,
            "no `permission denied` in the log:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("{test}: as a stranger the proxy logs:\n{logs}");
    let owner = format!(
        "uid {}, gid {}, mode {:04o}",
        socket.uid(),
        socket.gid(),
        socket.mode() & 0o7777
    );
    for part in [
        owner.as_str(),
        "the proxy runs as uid 65534, gid 65534",
        &format!("group_add: [\"{}\"]", socket.gid()),
        "user: \"0:0\"",
        "socket proxy",
    ] {
        assert!(logs.contains(part), "missing {part:?} in:\n{logs}");
    }
    assert!(!logs.contains('\u{1b}'), "colour codes in the log:\n{logs}");
}
