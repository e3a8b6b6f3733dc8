//! Which request heads the fast path takes, read straight from httparse's parse.
//!
//! The fast path takes the plain, common request: HTTP/1.1, an origin-form target of ordinary
//! characters, exactly one simple `Host`, no body, no upgrade, no `Expect`. Anything else is
//! [`Slow`]: the connection goes to hyper from that request on, and hyper's path gives it the
//! answer it always did (400, 414, 431, an upgrade, a streamed body...). So this file only has
//! to be right about what it accepts; it never has to produce an error itself.

use http::Method;

use crate::dataplane::body_length::{BodyLength, FramingHeaders, Message};
use crate::limits::{MAX_HEADERS_LEN, MAX_URI_LEN};

/// This request is not for the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slow(pub &'static str);

/// What the fast path needs of a request head.
#[derive(Debug)]
pub struct Info<'b> {
    pub method: Method,
    /// The path, without the query.
    pub path: &'b str,
    /// The query, without `?`.
    pub query: Option<&'b str>,
    /// The `Host` header.
    pub host: &'b str,
    /// The client asked to close the connection after this request.
    pub close: bool,
    /// The first `Accept` and `Content-Type` values, for the metrics' `protocol` label.
    pub accept: Option<&'b [u8]>,
    pub content_type: Option<&'b [u8]>,
}

/// Classifies a complete request head.
pub fn classify<'b>(req: &httparse::Request<'_, 'b>) -> Result<Info<'b>, Slow> {
    if req.version != Some(1) {
        return Err(Slow("not HTTP/1.1"));
    }
    let method = req.method.ok_or(Slow("no method"))?;
    if method == "CONNECT" {
        return Err(Slow("CONNECT"));
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| Slow("method"))?;
    let target = req.path.ok_or(Slow("no target"))?;
    if !target.starts_with('/') || target.len() > MAX_URI_LEN || !target.bytes().all(plain_target) {
        return Err(Slow("target"));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut host = None;
    let mut close = false;
    let mut framing = FramingHeaders::default();
    let (mut accept, mut content_type) = (None, None);
    let mut size = 0;
    for h in req.headers.iter() {
        size += h.name.len() + h.value.len() + 4;
        let name = h.name.as_bytes();
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                if host.is_some() {
                    return Err(Slow("several Host headers"));
                }
                let v = std::str::from_utf8(h.value).map_err(|_| Slow("Host"))?;
                if !plain_host(v) {
                    return Err(Slow("Host"));
                }
                host = Some(v);
            }
            6 if name.eq_ignore_ascii_case(b"expect") => return Err(Slow("Expect")),
            6 if accept.is_none() && name.eq_ignore_ascii_case(b"accept") => {
                accept = Some(h.value);
            }
            12 if content_type.is_none() && name.eq_ignore_ascii_case(b"content-type") => {
                content_type = Some(h.value);
            }
            6 if name.eq_ignore_ascii_case(b"cookie")
                && !h
                    .value
                    .iter()
                    .all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) =>
            {
                return Err(Slow("Cookie"));
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => return Err(Slow("Upgrade")),
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return Err(Slow("Connection: upgrade"));
                    }
                }
            }
            14 | 17 if framing.add(name, h.value) => {}
            _ => {}
        }
    }
    // No body: one, or a faulty framing, is hyper's (behind the framing guard).
    if framing.body(Message::Request, false) != Ok(BodyLength::Empty) {
        return Err(Slow("a body"));
    }
    if size > MAX_HEADERS_LEN {
        return Err(Slow("large headers"));
    }
    let host = host.ok_or(Slow("no Host"))?;
    Ok(Info {
        method,
        path,
        query,
        host,
        close,
        accept,
        content_type,
    })
}

/// Characters of an origin-form target that every parser reads alike (RFC 3986's `pchar`,
/// `/` and `?`); others (`#`, quotes, `<`, `{`, `\`, non-ASCII...) go to hyper.
fn plain_target(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'/' | b'?'
                | b'-'
                | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'%'
        )
}

/// A host name or IPv4 address, with an optional port: letters, digits, `-`, `.`, `_`, one `:`
/// followed by digits. (IPv6 literals, credentials, empty hosts go to hyper.)
fn plain_host(v: &str) -> bool {
    let (name, port) = match v.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (v, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::FAST_PATH_HEADERS;
    use proptest::prelude::*;

    fn classify_text(text: &str) -> Result<(String, Option<String>, String, bool), Slow> {
        let mut headers = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(text.as_bytes()) {
            Ok(httparse::Status::Complete(_)) => {}
            other => panic!("test head does not parse: {other:?}"),
        }
        classify(&req).map(|i| {
            (
                i.path.to_string(),
                i.query.map(str::to_string),
                i.host.to_string(),
                i.close,
            )
        })
    }

    #[test]
    fn plain_requests_are_taken() {
        assert_eq!(
            classify_text("GET /api/jokes/random?n=2 HTTP/1.1\r\nHost: demo.res.ch\r\n\r\n"),
            Ok((
                "/api/jokes/random".into(),
                Some("n=2".into()),
                "demo.res.ch".into(),
                false
            ))
        );
        assert_eq!(
            classify_text(
                "HEAD / HTTP/1.1\r\nhost: localhost:8080\r\nConnection: keep-alive, close\r\n\
                 Content-Length: 0\r\nCookie: a=1\r\n\r\n"
            ),
            Ok(("/".into(), None, "localhost:8080".into(), true))
        );
    }

    #[test]
    fn the_metrics_protocol_headers_are_kept() {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nACCEPT: text/event-stream\r\n\
                    Accept: */*\r\nContent-Type: application/grpc-web\r\n\r\n";
        let mut headers = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        assert!(req.parse(text.as_bytes()).unwrap().is_complete());
        let info = classify(&req).unwrap();
        // The first of each, as Traefik reads them.
        assert_eq!(info.accept, Some(&b"text/event-stream"[..]));
        assert_eq!(info.content_type, Some(&b"application/grpc-web"[..]));
    }

    #[test]
    fn everything_else_goes_to_hyper() {
        let slow = |t: &str| classify_text(t).is_err();
        assert!(slow("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"));
        assert!(slow("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"));
        assert!(slow("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(slow("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(slow("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(slow("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(slow("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(slow(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        ));
        assert!(slow(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(slow(
            "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
        ));
        assert!(slow(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n"
        ));
        assert!(slow(
            "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"
        ));
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(MAX_URI_LEN)
        );
        assert!(slow(&long));
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
            "v".repeat(MAX_HEADERS_LEN)
        );
        assert!(slow(&big));
    }

    proptest! {
        /// Whatever the fast path takes, hyper's path would have taken too and read alike: the
        /// target is a valid path and query for the `http` crate, the Host a valid authority
        /// with a host and no credentials. (So the fast path never lets through what the hyper
        /// path refuses.)
        #[test]
        fn what_the_fast_path_takes_hyper_would_take(
            target in "/[!-~]{0,40}",
            host in "[!-~]{0,20}",
            extra in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,20}"), 0..4),
        ) {
            let mut text = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n");
            for (n, v) in &extra {
                text.push_str(&format!("{n}: {v}\r\n"));
            }
            text.push_str("\r\n");
            let mut headers = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(_)) = req.parse(text.as_bytes()) {
                if let Ok(info) = classify(&req) {
                    let target = req.path.unwrap();
                    let pq: http::uri::PathAndQuery = target.parse().expect("hyper reads the target");
                    prop_assert_eq!(pq.path(), info.path);
                    prop_assert_eq!(pq.query(), info.query);
                    let a: http::uri::Authority = info.host.parse().expect("hyper reads the Host");
                    prop_assert!(!a.host().is_empty() && !a.as_str().contains('@'));
                }
            }
        }
    }
}
