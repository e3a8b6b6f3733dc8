//! The fast path (`proxy::h1`) on raw sockets: pipelining, the hand-over to hyper in the middle
//! of a connection, every way a response body can be delimited, and servers that close pooled
//! connections or answer garbage.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use testkit::http1::read_response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn one_route(url: &str) -> String {
    format!(
        r#"
routers:
  r:
    rule: "PathPrefix(`/`)"
    service: s
services:
  s:
    loadBalancer:
      servers:
        - url: "{url}"
"#
    )
}

#[tokio::test]
async fn pipelined_requests_and_a_body_in_the_middle() {
    let b = Backend::start("s1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&one_route(&b.url())).await;
    let mut s = TcpStream::connect(p.web).await.unwrap();
    // Two plain requests (fast path), one with a body (hyper from there on), one more plain.
    s.write_all(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz\
          GET /d HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    for path in ["/a", "/b?q=1", "/c", "/d"] {
        let r = read_response(&mut s, &mut buf, false)
            .await
            .unwrap_or_else(|| panic!("no response for {path}"));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let seen: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(seen["path"], path, "responses come back in order");
    }
    // Still open, still served.
    s.write_all(b"GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s, &mut buf, false).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(read_response(&mut s, &mut buf, false).await.is_none());
}

/// A server written by hand: answers each request by its path with canned bytes.
async fn scripted_server(connections: Arc<AtomicUsize>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let (path, head, n) = loop {
                        let mut hs = [httparse::EMPTY_HEADER; 64];
                        let mut r = httparse::Request::new(&mut hs);
                        if let Ok(httparse::Status::Complete(n)) = r.parse(&buf) {
                            break (r.path.unwrap().to_string(), r.method == Some("HEAD"), n);
                        }
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(m) if m > 0 => buf.extend_from_slice(&chunk[..m]),
                            _ => return,
                        }
                    };
                    buf.drain(..n);
                    match path.as_str() {
                        "/len" if head => s
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: len\r\n\r\n")
                            .await
                            .unwrap(),
                        "/len" => s
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: len\r\n\r\nhello")
                            .await
                            .unwrap(),
                        "/chunked" => {
                            // In pieces, cut inside the size line and the data.
                            for part in [
                                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r"[..],
                                b"\nhel",
                                b"lo\r\n6;x=y\r\n world\r\n0\r\nX-Trailer: 1\r\n",
                                b"\r\n",
                            ] {
                                s.write_all(part).await.unwrap();
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                        }
                        "/info" => s
                            .write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await
                            .unwrap(),
                        "/empty" => s
                            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                            .await
                            .unwrap(),
                        "/once" => {
                            // Answers, then closes without saying so.
                            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce")
                                .await
                                .unwrap();
                            return;
                        }
                        "/close" => {
                            s.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
                                .await
                                .unwrap();
                            return;
                        }
                        "/garbage" => {
                            s.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
                            return;
                        }
                        _ => s
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await
                            .unwrap(),
                    }
                }
            });
        }
    });
    addr
}

/// The proxy with one route to a [`scripted_server`]: the proxy (keep it alive), the server's
/// count of connections, and a client connection to the proxy.
async fn scripted_lab() -> (Proxy, Arc<AtomicUsize>, TcpStream) {
    let conns = Arc::new(AtomicUsize::new(0));
    let addr = scripted_server(conns.clone()).await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&one_route(&format!("http://{addr}"))).await;
    let s = TcpStream::connect(p.web).await.unwrap();
    (p, conns, s)
}

#[tokio::test]
async fn every_response_framing_is_relayed_on_one_connection() {
    let (_p, conns, mut s) = scripted_lab().await;
    let mut buf = Vec::new();
    for (req, head, status, body) in [
        ("GET /len HTTP/1.1\r\nHost: x\r\n\r\n", false, 200, "hello"),
        (
            "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n",
            false,
            200,
            "hello world",
        ),
        ("HEAD /len HTTP/1.1\r\nHost: x\r\n\r\n", true, 200, ""),
        ("GET /info HTTP/1.1\r\nHost: x\r\n\r\n", false, 200, "ok"),
        ("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n", false, 204, ""),
        ("GET /len HTTP/1.1\r\nHost: x\r\n\r\n", false, 200, "hello"),
    ] {
        s.write_all(req.as_bytes()).await.unwrap();
        let r = read_response(&mut s, &mut buf, head).await.expect(req);
        assert_eq!((r.status, r.text().as_str()), (status, body), "{req}");
        assert!(r.header("connection").is_none(), "{req}: {:?}", r.headers);
    }
    // Keep-alive on the server side too: one connection carried all of them.
    assert_eq!(conns.load(Ordering::SeqCst), 1);
    // A body delimited by the server's close: the client's connection closes after it.
    s.write_all(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s, &mut buf, false).await.unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.text(), "until the end");
    assert!(read_response(&mut s, &mut buf, false).await.is_none());
}

#[tokio::test]
async fn a_server_closing_its_connections_costs_no_request() {
    let (_p, conns, mut s) = scripted_lab().await;
    let mut buf = Vec::new();
    for i in 0..20 {
        s.write_all(b"GET /once HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let r = read_response(&mut s, &mut buf, false).await.unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "once"), "request {i}");
        // Sometimes before the server's FIN reaches the proxy, sometimes after.
        if i % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(conns.load(Ordering::SeqCst) >= 20);
}

#[tokio::test]
async fn garbage_from_a_server_is_a_502() {
    let (_p, _, mut s) = scripted_lab().await;
    let mut buf = Vec::new();
    s.write_all(b"GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s, &mut buf, false).await.unwrap();
    assert_eq!(r.status, 502);
    // The client's connection is still good.
    s.write_all(b"GET /len HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s, &mut buf, false).await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

#[tokio::test]
async fn a_router_matching_headers_routes_alike_on_both_paths() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        r#"
routers:
  beta:
    rule: "Header(`X-Beta`, `1`)"
    service: b
  all:
    rule: "PathPrefix(`/`)"
    service: a
services:
  a:
    loadBalancer:
      servers:
        - url: "{}"
  b:
    loadBalancer:
      servers:
        - url: "{}"
"#,
        a.url(),
        b.url()
    ))
    .await;
    let mut s = TcpStream::connect(p.web).await.unwrap();
    let mut buf = Vec::new();
    // Plain GETs are the fast path's; the POST with a body hands the connection to hyper,
    // which serves the rest.
    for (beta, post, who) in [
        (true, false, "b"),
        (false, false, "a"),
        (true, true, "b"),
        (true, false, "b"),
        (false, false, "a"),
    ] {
        let beta = if beta { "X-Beta: 1\r\n" } else { "" };
        let req = if post {
            format!("POST / HTTP/1.1\r\nHost: x\r\n{beta}Content-Length: 2\r\n\r\nhi")
        } else {
            format!("GET / HTTP/1.1\r\nHost: x\r\n{beta}\r\n")
        };
        s.write_all(req.as_bytes()).await.unwrap();
        let r = read_response(&mut s, &mut buf, false).await.unwrap();
        assert_eq!(r.header("x-served-by"), Some(who));
    }
}

#[tokio::test]
async fn the_proxys_own_answers_to_head_have_no_body() {
    let conns = Arc::new(AtomicUsize::new(0));
    let addr = scripted_server(conns).await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        r#"
routers:
  r:
    rule: "Host(`known`)"
    service: s
services:
  s:
    loadBalancer:
      servers:
        - url: "http://{addr}"
"#
    ))
    .await;
    let mut s = TcpStream::connect(p.web).await.unwrap();
    // A 404 to HEAD, then a request on the same connection: the second response must be read
    // where it starts.
    s.write_all(
        b"HEAD /x HTTP/1.1\r\nHost: unknown\r\n\r\n\
          GET /len HTTP/1.1\r\nHost: known\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf, true).await.unwrap();
    assert_eq!(r.status, 404);
    assert!(r.header("date").is_some(), "{:?}", r.headers);
    let r = read_response(&mut s, &mut buf, false).await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert!(
        r.header("date").is_some(),
        "a Date is added: {:?}",
        r.headers
    );
}
