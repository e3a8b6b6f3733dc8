//! The real binary: flags, the parseable listening lines, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_listening_lines_serves_and_stops_on_sigterm() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--entrypoints.web.address=127.0.0.1:0",
                "--entrypoints.traefik.address",
                "127.0.0.1:0",
                "--api.insecure",
                "--ping=true",
            ])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut addrs = std::collections::HashMap::new();
    while addrs.len() < 2 {
        let line = lines.next().expect("a listening line").unwrap();
        let rest = line.strip_prefix("entrypoint ").expect(&line);
        let (name, url) = rest.split_once(" listening on ").expect(&line);
        addrs.insert(name.to_string(), url.to_string());
    }
    let api = &addrs["traefik"];
    let body = http_get(&format!("{api}/ping"));
    assert!(body.ends_with("OK"), "{body}");
    let body = http_get(&format!("{}/", addrs["web"]));
    assert!(
        body.starts_with("HTTP/1.0 404") || body.starts_with("HTTP/1.1 404"),
        "{body}"
    );

    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unknown_flags_are_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args([
            "--entrypoints.web.address=127.0.0.1:0",
            "--api.insecur=true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--api.insecur"), "{err}");
}

/// A minimal HTTP/1.0 GET to loopback; returns the whole response.
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Starts the binary with `args`; returns it and its entrypoints' URLs by name.
fn start(args: &[&str]) -> (Running, std::collections::HashMap<String, String>) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut addrs = std::collections::HashMap::new();
    while addrs.len() < args.iter().filter(|a| a.contains(".address")).count() {
        let line = lines.next().expect("a listening line").unwrap();
        let rest = line.strip_prefix("entrypoint ").expect(&line);
        let (name, url) = rest.split_once(" listening on ").expect(&line);
        addrs.insert(name.to_string(), url.to_string());
    }
    (child, addrs)
}

/// A backend on loopback that counts the requests it has read and holds each response until
/// `release` is set (then answers 200 `ok` and closes).
fn held_backend(
    received: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    release: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let (received, release) = (received.clone(), release.clone());
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                received.fetch_add(1, Ordering::SeqCst);
                let start = Instant::now();
                while !release.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}

/// SIGTERM under load: the listener closes at once (new connections refused) while the
/// requests in flight complete with 200; then the process exits by itself.
#[test]
fn sigterm_under_load_finishes_in_flight_requests_and_refuses_new_ones() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    const N: usize = 8;
    let received = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let backend = held_backend(received.clone(), release.clone());
    let dir = std::env::temp_dir().join(format!("proxy-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dynamic.yml");
    std::fs::write(
        &file,
        format!(
            "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"http://{backend}\"\n"
        ),
    )
    .unwrap();
    let file_arg = format!("--providers.file.filename={}", file.display());
    let (mut child, addrs) = start(&[
        "--entrypoints.web.address=127.0.0.1:0",
        "--entrypoints.web.transport.lifecycle.gracetimeout=8s",
        &file_arg,
    ]);
    let web = addrs["web"].strip_prefix("http://").unwrap().to_string();

    // The configuration is loaded once a request gets the backend's 200.
    release.store(true, Ordering::SeqCst);
    let start_wait = Instant::now();
    while !is_200(&http_get(&format!("http://{web}/probe"))) {
        assert!(
            start_wait.elapsed() < Duration::from_secs(10),
            "config never loaded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    release.store(false, Ordering::SeqCst);
    received.store(0, Ordering::SeqCst);

    let clients: Vec<_> = (0..N)
        .map(|i| {
            let web = web.clone();
            std::thread::spawn(move || http_get(&format!("http://{web}/slow/{i}")))
        })
        .collect();
    let start_wait = Instant::now();
    while received.load(Ordering::SeqCst) < N {
        assert!(
            start_wait.elapsed() < Duration::from_secs(10),
            "requests never arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The backend still holds every response: the listener must close anyway.
    let start_wait = Instant::now();
    loop {
        match std::net::TcpStream::connect(&web) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => {}
        }
        assert!(
            start_wait.elapsed() < Duration::from_secs(5),
            "new connections still accepted after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the proxy exited before its in-flight requests were answered"
    );
    release.store(true, Ordering::SeqCst);
    for c in clients {
        let resp = c.join().unwrap();
        assert!(is_200(&resp), "{resp:?}");
        assert!(resp.ends_with("ok"), "{resp:?}");
    }
    let start_wait = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            start_wait.elapsed() < Duration::from_secs(10),
            "did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn is_200(resp: &str) -> bool {
    resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200")
}
