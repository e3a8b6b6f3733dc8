//! The fast path (`proxy::h1`) on raw sockets: pipelining, the hand-over to hyper in the middle
//! of a connection, every way a response body can be delimited, and servers that close pooled
//! connections or answer garbage.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A response read off a raw socket.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response from `s` (with `buf` holding what was read past the previous one).
/// `head` marks the answer to a HEAD request. `None` once the connection is closed.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head: bool) -> Option<Resp> {
    async fn more(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }
    let (status, headers, len) = loop {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut hs);
        if let httparse::Status::Complete(n) = r.parse(buf).expect("an HTTP response") {
            let headers: Vec<(String, String)> = r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            break (r.code.unwrap(), headers, n);
        }
        if !more(s, buf).await {
            return None;
        }
    };
    buf.drain(..len);
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if head || status == 204 || status == 304 {
        return Some(resp);
    }
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        // Decode: sizes, data, then the trailers up to the empty line.
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                assert!(more(s, buf).await, "chunked body cut");
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .expect("chunk size");
            buf.drain(..line_end + 2);
            if size == 0 {
                loop {
                    let end = loop {
                        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                            break i;
                        }
                        assert!(more(s, buf).await, "trailers cut");
                    };
                    buf.drain(..end + 2);
                    if end == 0 {
                        return Some(resp);
                    }
                }
            }
            while buf.len() < size + 2 {
                assert!(more(s, buf).await, "chunk cut");
            }
            resp.body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
    }
    match resp.header("content-length") {
        Some(n) => {
            let n: usize = n.parse().unwrap();
            while buf.len() < n {
                assert!(more(s, buf).await, "body cut");
            }
            resp.body = buf.drain(..n).collect();
        }
        None => {
            while more(s, buf).await {}
            resp.body = std::mem::take(buf);
        }
    }
    Some(resp)
}

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
