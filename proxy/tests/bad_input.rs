//! Bad input, handled like trusted proxies do (issue 7). Raw sockets, so nothing is cleaned up
//! by a client library first.

mod common;

use std::time::Duration;

use common::*;
use testkit::http1;
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

/// The responses in `raw` (all that came back on one connection), in order.
fn responses(raw: &str) -> Vec<http1::Response> {
    let mut out = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((response, used)) = http1::parse(rest, false, true) {
        out.push(response);
        rest = &rest[used..];
    }
    out
}

/// Requests whose body length two parsers could read differently (request smuggling): 400 from
/// the proxy, never forwarded, and the connection closes (so the would-be smuggled request after
/// them is never read either).
#[tokio::test]
async fn ambiguous_body_lengths_are_refused_and_never_forwarded() {
    let (p, site) = lab().await;
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n";
    let cases = [
        // Read as Content-Length: 4 the body would be "3\r\na"; read as chunked it is "abc".
        "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // Identical values too: trusted proxies refuse them rather than guess.
        "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd",
    ];
    for case in cases {
        let (resp, closed) = exchange_closed(&p, [case, smuggled].concat().as_bytes()).await;
        assert_eq!(status(&resp), 400, "{case:?} -> {resp}");
        assert_eq!(resp.matches("HTTP/1.1 ").count(), 1, "{resp}");
        assert!(closed, "the connection stays open after {case:?}");
    }
    assert_eq!(
        site.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing forwarded"
    );
}

/// The check holds for every request of a keep-alive connection, not only the first.
#[tokio::test]
async fn ambiguous_body_lengths_are_refused_later_on_a_connection() {
    let (p, site) = lab().await;
    let mut s = TcpStream::connect(p.web).await.unwrap();
    s.write_all(b"POST /first HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    let mut first = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut first))
        .await
        .unwrap()
        .unwrap();
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    assert_eq!(status(&first), 200, "{first}");
    s.write_all(b"POST /second HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .is_ok();
    let rest = String::from_utf8_lossy(&rest).into_owned();
    assert_eq!(status(&rest), 400, "{rest}");
    assert_eq!(rest.matches("HTTP/1.1 ").count(), 1, "{rest}");
    assert!(closed, "{rest}");
    assert_eq!(
        site.hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only the first request reached the backend"
    );
}

/// Bodies framed one way or the other, pipelined on one connection, all go through intact.
#[tokio::test]
async fn pipelined_requests_with_bodies_still_work() {
    let (p, site) = lab().await;
    let raw = [
        "GET /one HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n",
        "POST /two HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 5\r\n\r\nhello",
        "POST /three HTTP/1.1\r\nHost: demo.res.ch\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n",
        // A body that looks like an ambiguous request is data, not a request.
        "POST /four HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 56\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "GET /five HTTP/1.1\r\nHost: demo.res.ch\r\nConnection: close\r\n\r\n",
    ]
    .concat();
    let (resp, closed) = exchange_closed(&p, raw.as_bytes()).await;
    assert!(closed, "{resp}");
    assert_eq!(resp.matches("HTTP/1.1 200").count(), 5, "{resp}");
    let seen: Vec<(String, u64)> = responses(&resp)
        .iter()
        .map(|r| {
            let j: serde_json::Value =
                serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {resp:?}"));
            (
                j["path"].as_str().unwrap().to_string(),
                j["bodyLen"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("/one", 0),
        ("/two", 5),
        ("/three", 7),
        ("/four", 56),
        ("/five", 0),
    ];
    assert_eq!(seen, want.map(|(p, n)| (p.to_string(), n)), "{resp}");
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 5);
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

/// After a request that may switch protocols the guard stops reading the stream, so a declined
/// switch closes the connection: nothing after it is read as a request. Accepted ones still work.
#[tokio::test]
async fn declined_upgrades_close_the_connection() {
    let (p, site) = lab().await;
    let raw = "GET / HTTP/1.1\r\nHost: demo.res.ch\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nPOST / HTTP/1.1\r\nHost: demo.res.ch\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
    let (resp, closed) = exchange_closed(&p, raw.as_bytes()).await;
    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(resp.matches("HTTP/1.1 ").count(), 1, "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{resp}"
    );
    assert!(closed, "{resp}");
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    let mut s = TcpStream::connect(p.web).await.unwrap();
    s.write_all(
        b"GET /echo HTTP/1.1\r\nHost: demo.res.ch\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("static1:") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(status(&String::from_utf8_lossy(&got)), 101);
    // Through the tunnel, bytes that would be refused as a request are just bytes.
    let ping = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n";
    s.write_all(ping).await.unwrap();
    let mut echoed = vec![0u8; ping.len()];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echoed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echoed[..], ping);
}
