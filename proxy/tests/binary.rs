//! The real binary: flags, the parseable listening lines, SIGTERM.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{http1, parse_listening, Listening, Running};

/// The proxy binary with `args`, its log off.
fn proxy(args: &[&str]) -> Running {
    Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(args)
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    )
}

#[test]
fn prints_listening_lines_serves_and_stops_on_sigterm() {
    let mut child = proxy(&[
        "--entrypoints.web.address=127.0.0.1:0",
        "--entrypoints.traefik.address",
        "127.0.0.1:0",
        "--api.insecure",
        "--ping=true",
    ]);
    // The first lines on stdout are the listening lines, one per entrypoint.
    let mut addrs = BTreeMap::new();
    while addrs.len() < 2 {
        let line = child
            .next_line(testkit::process::START_LIMIT)
            .expect("a listening line");
        let l = parse_listening(&line)
            .filter(|_| line.starts_with("entrypoint "))
            .unwrap_or_else(|| panic!("not a listening line: {line:?}"));
        addrs.insert(l.name.clone().expect(&line), l);
    }
    let r = get(&addrs["traefik"], "/ping");
    assert!(r.text().ends_with("OK"), "{r:?}");
    assert_eq!(get(&addrs["web"], "/").status, 404);

    child.signal("TERM");
    let status = child
        .wait(Duration::from_secs(15))
        .expect("did not stop on SIGTERM");
    assert!(status.success(), "{status}");
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

/// A minimal HTTP/1.0 GET to an entrypoint.
fn get(entrypoint: &Listening, path: &str) -> http1::Response {
    http1::exchange(
        &entrypoint.addr.to_string(),
        format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes(),
    )
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
    let mut child = proxy(&[
        "--entrypoints.web.address=127.0.0.1:0",
        "--entrypoints.web.transport.lifecycle.gracetimeout=8s",
        &file_arg,
    ]);
    let web = child.entrypoints(&["web"])["web"].clone();

    // The configuration is loaded once a request gets the backend's 200.
    release.store(true, Ordering::SeqCst);
    let start_wait = Instant::now();
    while get(&web, "/probe").status != 200 {
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
            std::thread::spawn(move || get(&web, &format!("/slow/{i}")))
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

    child.signal("TERM");
    // The backend still holds every response: the listener must close anyway.
    let start_wait = Instant::now();
    loop {
        match std::net::TcpStream::connect(web.addr) {
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
        child.child().try_wait().unwrap().is_none(),
        "the proxy exited before its in-flight requests were answered"
    );
    release.store(true, Ordering::SeqCst);
    for c in clients {
        let resp = c.join().unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, "ok"), "{resp:?}");
    }
    let status = child
        .wait(Duration::from_secs(10))
        .expect("did not exit after SIGTERM");
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests and `lab up` read the line `main` prints with `testkit::parse_listening`: the two
/// agree.
#[test]
fn the_listening_line_reads_back_as_written() {
    let addr = "127.0.0.1:8443".parse().unwrap();
    for https in [false, true] {
        let l = parse_listening(&proxy::listening_line("websecure", addr, https)).unwrap();
        assert_eq!(
            (l.name.as_deref(), l.addr, l.https),
            (Some("websecure"), addr, https)
        );
    }
}
