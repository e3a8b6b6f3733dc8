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
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
