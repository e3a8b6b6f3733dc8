//! The binary configured by a static configuration file (`--configFile=traefik.yaml`), as the
//! lab's 2023 edition writes it, with v3 and v2 rules side by side in the dynamic file.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::{http1, Running};

/// A backend on loopback answering every request with 200 and `body`, then closing.
fn backend(body: &'static str) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// A GET to loopback with one extra header line.
fn get(addr: &str, path: &str, header: &str) -> http1::Response {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: demo.res.ch\r\n{header}Connection: close\r\n\r\n");
    http1::exchange(addr, request.as_bytes())
}

#[test]
fn a_traefik_yaml_configures_the_proxy_and_v3_and_v2_rules_route_side_by_side() {
    let v3 = backend("v3");
    let v2 = backend("v2");
    let dir = tempfile::tempdir().unwrap();
    let dynamic = dir.path().join("dynamic.yaml");
    std::fs::write(
        &dynamic,
        format!(
            r#"http:
  routers:
    three:
      rule: "Host(`demo.res.ch`) && Header(`X-Syntax`, `3`)"
      service: s3
    two:
      rule: "Host(`demo.res.ch`, `other.ch`) && Headers(`X-Syntax`, `2`)"
      ruleSyntax: v2
      service: s2
    wrong:
      rule: "Headers(`X-Syntax`, `9`)"
      service: s3
  services:
    s3:
      loadBalancer:
        servers:
          - url: "http://{v3}"
    s2:
      loadBalancer:
        servers:
          - url: "http://{v2}"
"#
        ),
    )
    .unwrap();
    let file = dir.path().join("traefik.yaml");
    std::fs::write(
        &file,
        format!(
            r#"entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  file:
    filename: "{}"
api:
  insecure: true
  dashboard: true
ping: {{}}
"#,
            dynamic.display()
        ),
    )
    .unwrap();

    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .arg(format!("--configFile={}", file.display()))
            .arg("--entrypoints.web.address=127.0.0.1:1")
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped()),
    );
    let (tx, stderr_lines) = mpsc::channel();
    let stderr = child.child().stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addrs: std::collections::BTreeMap<String, String> = child
        .entrypoints(&["web", "traefik"])
        .into_iter()
        .map(|(name, l)| (name, l.addr.to_string()))
        .collect();
    // The file's address, not the ignored flag's port 1.
    assert!(!addrs["web"].ends_with(":1"), "{addrs:?}");

    // The ignored flag is named in a warning.
    let start = Instant::now();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("flags ignored: --entrypoints.web.address"))
    {
        let left = Duration::from_secs(10).saturating_sub(start.elapsed());
        match stderr_lines.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("no warning about the ignored flag; stderr: {seen:#?}"),
        }
    }

    // Wait (bounded) for the dynamic file, then route by each syntax.
    let web = &addrs["web"];
    let start = Instant::now();
    while get(web, "/", "X-Syntax: 3\r\n").text() != "v3" {
        assert!(start.elapsed() < Duration::from_secs(10), "never routed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(web, "/", "X-Syntax: 2\r\n").text(), "v2");
    assert_eq!(get(web, "/", "X-Syntax: 9\r\n").status, 404);

    // The v2 rule under the default v3 syntax is disabled, and the API says what to write.
    let api = &addrs["traefik"];
    assert!(get(api, "/ping", "").text().ends_with("OK"));
    let routers = get(api, "/api/http/routers/wrong@file", "").text();
    assert!(routers.contains("\"status\":\"disabled\""), "{routers}");
    assert!(routers.contains("Header(`X-Syntax`, `9`)"), "{routers}");
    assert!(routers.contains("ruleSyntax to v2"), "{routers}");
    let two = get(api, "/api/http/routers/two@file", "").text();
    assert!(two.contains("\"ruleSyntax\":\"v2\""), "{two}");
    assert!(two.contains("\"status\":\"enabled\""), "{two}");
}

#[test]
fn a_bad_key_in_the_file_stops_the_binary_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traefik.yml");
    std::fs::write(
        &file,
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n    http:\n      tlz: {}\n",
    )
    .unwrap();
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .arg(format!("--configFile={}", file.display()))
            .stderr(Stdio::piped()),
    );
    let status = child
        .wait(Duration::from_secs(10))
        .expect("the proxy started");
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    child
        .child()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains(&format!(
            "{}, line 5: unknown key `entryPoints.web.http.tlz`",
            file.display()
        )),
        "{err}"
    );
}
