//! Bad input, handled like trusted proxies do (issue 7). Raw sockets, so nothing is cleaned up
//! by a client library first.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `raw`, then reads until the proxy closes or 5 s pass; returns what came back.
async fn exchange(p: &Proxy, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(p.web).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn lab() -> (Proxy, Backend) {
    let site = Backend::start("static1").await;
    let p =
        Proxy::start(&["--entrypoints.web.transport.respondingtimeouts.readtimeout=300ms"]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[])).await;
    (p, site)
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let (p, site) = lab().await;
    let cases: Vec<(String, u16)> = vec![
        ("GARBAGE\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: demo.res.ch\r\nBad Header: x\r\n\r\n".into(), 400),
        (format!("GET /{} HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n", "a".repeat(10_000)), 414),
        (format!("GET / HTTP/1.1\r\nHost: demo.res.ch\r\nX-Big: {}\r\n\r\n", "v".repeat(40_000)), 431),
        (format!("GET / HTTP/1.1\r\nHost: demo.res.ch\r\nX-Big: {}\r\n\r\n", "v".repeat(100_000)), 431),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: demo.res.ch\r\n{}\r\n",
                (0..150).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            ),
            431,
        ),
        ("GET / HTTP/1.1\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: user@demo.res.ch\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: demo.res.ch\r\nHost: other\r\n\r\n".into(), 400),
        (
            "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
                .into(),
            400,
        ),
        (
            "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nTransfer-Encoding: gzip\r\n\r\nabcd".into(),
            400,
        ),
    ];
    for (raw, want) in &cases {
        let resp = exchange(&p, raw.as_bytes()).await;
        let shown = &raw[..raw.len().min(60)];
        assert_eq!(status(&resp), *want, "{shown:?} -> {resp:?}");
    }
    assert_eq!(
        site.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing forwarded"
    );
}

/// Sends `raw`; returns what came back and whether the proxy closed the connection (EOF
/// within 5 s).
async fn exchange_closed(p: &Proxy, raw: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(p.web).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .is_ok();
    (String::from_utf8_lossy(&buf).into_owned(), closed)
}

/// The JSON the test backend answered with (the body of the single response).
fn backend_json(resp: &str) -> serde_json::Value {
    let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp:?}"))
}

/// What really happens (hyper 1, RFC 9112 §6.3): with both headers, hyper's parser drops
/// `Content-Length`, reads the body as chunked and turns keep-alive off, so the proxy's own
/// 400 check never sees both headers. The request is forwarded once with its chunked body; the
/// bytes after the last chunk (a would-be smuggled request) are never parsed: the connection
/// closes after the one response.
#[tokio::test]
async fn content_length_with_transfer_encoding_is_never_smuggled() {
    let (p, site) = lab().await;
    // Read as Content-Length: 4 the body would be "3\r\na"; read as chunked it is "abc".
    let raw = "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n";
    let (resp, closed) = exchange_closed(&p, raw.as_bytes()).await;
    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(resp.matches("HTTP/1.1 ").count(), 1, "{resp}");
    assert!(
        closed,
        "the connection stays open after a CL+TE request: {resp}"
    );
    let seen = backend_json(&resp);
    assert_eq!(seen["method"], "POST", "{seen}");
    assert_eq!(seen["path"], "/", "{seen}");
    assert_eq!(
        seen["bodyLen"], 3,
        "the backend got the chunked body: {seen}"
    );
    assert_eq!(seen["headers"]["transfer-encoding"], "chunked", "{seen}");
    assert!(seen["headers"]["content-length"].is_null(), "{seen}");
    // hyper's own close (keep-alive off), not the 300 ms read timeout.
    assert!(
        resp.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{resp}"
    );
    assert!(!resp.contains("/smuggled"), "{resp}");
    assert_eq!(
        site.hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the backend saw the request once, and never /smuggled"
    );
}

/// Two identical `Content-Length`s are unambiguous: hyper 1 keeps one (different values are a
/// 400, see above), so the request is forwarded once with that length and its body.
#[tokio::test]
async fn identical_duplicate_content_lengths_are_merged_and_forwarded_once() {
    let (p, site) = lab().await;
    let raw = "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n";
    let (resp, _) = exchange_closed(&p, raw.as_bytes()).await;
    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(resp.matches("HTTP/1.1 ").count(), 1, "{resp}");
    let seen = backend_json(&resp);
    assert_eq!(seen["bodyLen"], 3, "{seen}");
    assert_eq!(seen["headers"]["content-length"], "3", "{seen}");
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let (p, _site) = lab().await;
    let mut s = TcpStream::connect(p.web).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: demo.res.ch\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(
        r.is_ok(),
        "the proxy closed the connection after its header timeout"
    );
}

#[tokio::test]
async fn clients_leaving_mid_body_do_not_hurt_the_server() {
    let (p, site) = lab().await;
    for len in [1_000, 1_000_000] {
        let mut s = TcpStream::connect(p.web).await.unwrap();
        s.write_all(
            format!(
                "POST /upload HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: {len}\r\n\r\nhalf"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let svc = p.api_json("/api/http/services/static@file").await;
    assert_eq!(svc["serverStatus"][site.url()], "UP");
    assert_eq!(get(&client(), &p, "/").await.0, 200);
}

#[tokio::test]
async fn keep_alive_and_http10_work() {
    let (p, _site) = lab().await;
    let resp = exchange(
        &p,
        b"GET /a HTTP/1.1\r\nHost: demo.res.ch\r\n\r\nGET /b HTTP/1.1\r\nHost: demo.res.ch\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(resp.matches("HTTP/1.1 200").count(), 2, "{resp}");
    let resp = exchange(&p, b"GET / HTTP/1.0\r\nHost: demo.res.ch\r\n\r\n").await;
    assert_eq!(status(&resp), 200, "{resp}");
}
