//! Writing heads: the request as the server must see it, the response as the client must.
//!
//! The rules are the hyper path's (`crate::dataplane::hyper_path::handle` with `crate::middleware`), applied
//! while copying httparse's headers instead of through a header map: hop-by-hop headers and
//! those named in `Connection` are dropped, `X-Forwarded-*` and `X-Real-Ip` set (kept from
//! trusted clients), the proxy's sticky cookies removed, `Host` kept or replaced.

use http::{HeaderName, HeaderValue};

use crate::answer::Answer;

use crate::balance::sticky;
use crate::middleware::forwarded::{
    X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_PROTO, X_REAL_IP,
};
use crate::middleware::hop_by_hop::is_hop_by_hop;

/// The `X-Forwarded-*` family, replaced for untrusted clients, kept for trusted ones.
static FORWARDED_SET: [&HeaderName; 4] = [
    &X_REAL_IP,
    &X_FORWARDED_PROTO,
    &X_FORWARDED_PORT,
    &X_FORWARDED_HOST,
];

/// Header names listed in `Connection` headers (beyond `close` and `keep-alive`).
fn connection_named<'b>(headers: &[httparse::Header<'b>]) -> Vec<&'b [u8]> {
    let mut named = Vec::new();
    for h in headers {
        if h.name.eq_ignore_ascii_case("connection") {
            for t in h.value.split(|&b| b == b',') {
                let t = t.trim_ascii();
                if !t.is_empty()
                    && !t.eq_ignore_ascii_case(b"close")
                    && !t.eq_ignore_ascii_case(b"keep-alive")
                {
                    named.push(t);
                }
            }
        }
    }
    named
}

fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// What a forwarded request gets from the proxy.
#[derive(Debug)]
pub struct Forward<'a> {
    /// The client's address, for `X-Forwarded-For` and `X-Real-Ip`.
    pub client_ip: &'a [u8],
    /// The client may set `X-Forwarded-*` itself.
    pub trusted: bool,
    /// The entrypoint's port, for `X-Forwarded-Port`.
    pub port: &'a [u8],
    /// The connection's scheme (`http`, `https`), for `X-Forwarded-Proto`.
    pub proto: &'a [u8],
    /// Every sticky cookie's name: removed from `Cookie`.
    pub sticky_names: &'a [String],
    /// The server's own `Host` (its URL's authority).
    pub server_host: &'a [u8],
    /// Keep the client's `Host` (`passHostHeader`, on by default); else the server's.
    pub pass_host: bool,
    /// Headers the middlewares set (replacing the client's) or, without a value, removed.
    pub edits: &'a [Edit],
}

/// A header a middleware sets, or without a value removes (see `crate::middleware::Rewrite`).
pub type Edit = (HeaderName, Option<HeaderValue>);

fn edited(edits: &[Edit], name: &str) -> bool {
    edits
        .iter()
        .any(|(n, _)| name.eq_ignore_ascii_case(n.as_str()))
}

fn write_edits(out: &mut Vec<u8>, edits: &[Edit]) {
    for (n, v) in edits {
        if let Some(v) = v {
            header(out, n.as_str().as_bytes(), v.as_bytes());
        }
    }
}

/// Writes the request line and headers for the server into `out` (cleared first).
/// `target` is the path and query the server gets.
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    headers: &[httparse::Header<'_>],
    client_host: &str,
    f: &Forward<'_>,
) {
    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let named = connection_named(headers);
    let strip_cookies = !f.sticky_names.is_empty()
        && headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("cookie")
                && f.sticky_names
                    .iter()
                    .any(|n| h.value.windows(n.len()).any(|w| w == n.as_bytes()))
        });
    let mut cookies: Vec<String> = Vec::new();
    let mut xff: Vec<&[u8]> = Vec::new();
    let mut seen = [false; FORWARDED_SET.len()];
    // `Connection: host` removes the client's Host, as on the hyper path: the server's then.
    let host_named = named.iter().any(|n| n.eq_ignore_ascii_case(b"host"));
    let pass_host = f.pass_host && !host_named;
    for h in headers {
        let name = h.name;
        if is_hop_by_hop(name)
            || named
                .iter()
                .any(|n| name.as_bytes().eq_ignore_ascii_case(n))
            || (!f.edits.is_empty() && edited(f.edits, name))
        {
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            if pass_host {
                header(out, name.as_bytes(), h.value);
            }
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            if f.trusted {
                xff.push(h.value);
            }
        } else if let Some(i) = FORWARDED_SET
            .iter()
            .position(|n| name.eq_ignore_ascii_case(n.as_str()))
        {
            if f.trusted {
                seen[i] = true;
                header(out, name.as_bytes(), h.value);
            }
        } else if name.eq_ignore_ascii_case("forwarded") {
            if f.trusted {
                header(out, name.as_bytes(), h.value);
            }
        } else if strip_cookies && name.eq_ignore_ascii_case("cookie") {
            // The classifier let only ASCII cookies through.
            if let Some(kept) = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| sticky::strip_cookies(v, f.sticky_names))
            {
                cookies.push(kept);
            }
        } else {
            header(out, name.as_bytes(), h.value);
        }
    }
    if !pass_host {
        header(out, b"host", f.server_host);
    }
    out.extend_from_slice(b"x-forwarded-for: ");
    for v in &xff {
        out.extend_from_slice(v);
        out.extend_from_slice(b", ");
    }
    out.extend_from_slice(f.client_ip);
    out.extend_from_slice(b"\r\n");
    let values: [&[u8]; 4] = [f.client_ip, f.proto, f.port, client_host.as_bytes()];
    for (i, name) in FORWARDED_SET.iter().enumerate() {
        // Without the client's Host there is no X-Forwarded-Host to give.
        let no_value = host_named && **name == X_FORWARDED_HOST;
        if !seen[i] && !no_value {
            header(out, name.as_str().as_bytes(), values[i]);
        }
    }
    write_edits(out, f.edits);
    if !cookies.is_empty() {
        header(out, b"cookie", cookies.join("; ").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

fn status_line(out: &mut Vec<u8>, code: u16, reason: &str) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[
        b'0' + (code / 100 % 10) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]);
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What the proxy adds to a server's response head.
#[derive(Debug, Default)]
pub struct Extra<'a> {
    /// Headers the middlewares set (replacing the server's) or, without a value, removed.
    pub edits: &'a [Edit],
    /// A sticky cookie's `Set-Cookie` value.
    pub set_cookie: Option<&'a [u8]>,
}

/// Writes the response head for the client into `out` (cleared first): the server's status and
/// headers without the hop-by-hop ones, then the middlewares' headers, a sticky `Set-Cookie`
/// and `Connection: close` when asked for. `Content-Length` is dropped when a
/// `Transfer-Encoding` delimits the body.
pub fn write_response(
    out: &mut Vec<u8>,
    resp: &httparse::Response<'_, '_>,
    extra: &Extra<'_>,
    close: bool,
) {
    out.clear();
    let code = resp.code.unwrap_or(502);
    let reason = match resp.reason {
        Some(r) if !r.is_empty() => r,
        _ => http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    };
    status_line(out, code, reason);
    let named = connection_named(resp.headers);
    let coded = resp
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
    let mut dated = false;
    for h in resp.headers.iter() {
        let name = h.name;
        // The body is relayed as the server framed it: its framing headers always go with it,
        // even when `Connection` names them.
        let framing = name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding");
        // Hop-by-hop headers are dropped, but `Transfer-Encoding`: the body is relayed as it
        // came, so its coding stays.
        if (is_hop_by_hop(name) && !name.eq_ignore_ascii_case("transfer-encoding"))
            || (coded && name.eq_ignore_ascii_case("content-length"))
            || (!framing
                && (named
                    .iter()
                    .any(|n| name.as_bytes().eq_ignore_ascii_case(n))
                    || edited(extra.edits, name)))
        {
            continue;
        }
        dated |= name.eq_ignore_ascii_case("date");
        header(out, name.as_bytes(), h.value);
    }
    if !dated {
        date(out);
    }
    write_edits(out, extra.edits);
    if let Some(c) = extra.set_cookie {
        header(out, b"set-cookie", c);
    }
    if close {
        header(out, b"connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes one of the proxy's own answers (404, 502, a redirect...) into `out`: head, and body
/// unless it answers a `HEAD` request (`head`).
pub fn write_answer(out: &mut Vec<u8>, answer: &Answer, close: bool, head: bool) {
    out.clear();
    let status = answer.status();
    let body = answer.body();
    status_line(
        out,
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
    );
    match answer.location() {
        Some(l) => header(out, b"location", l.as_bytes()),
        None => header(out, b"content-type", b"text/plain; charset=utf-8"),
    }
    header(out, b"content-length", body.len().to_string().as_bytes());
    date(out);
    if close {
        header(out, b"connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
}

/// Writes a `Date` header for now, as hyper's server does for responses without one. The text
/// is made once a second per thread.
fn date(out: &mut Vec<u8>) {
    use std::cell::RefCell;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, httpdate::fmt_http_date(now));
        }
        header(out, b"date", c.1.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(text: &str, f: &Forward<'_>, target: &str) -> String {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Request::new(&mut headers);
        assert!(r.parse(text.as_bytes()).unwrap().is_complete());
        let host = r
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"))
            .map(|h| std::str::from_utf8(h.value).unwrap())
            .unwrap_or("");
        let mut out = Vec::new();
        write_request(&mut out, r.method.unwrap(), target, r.headers, host, f);
        String::from_utf8(out).unwrap()
    }

    const UNTRUSTED: Forward<'static> = Forward {
        client_ip: b"10.0.0.9",
        trusted: false,
        port: b"80",
        proto: b"http",
        sticky_names: &[],
        server_host: b"10.0.0.2:80",
        pass_host: true,
        edits: &[],
    };

    #[test]
    fn untrusted_clients_cannot_spoof_and_hop_by_hop_headers_stay() {
        let out = forward(
            "GET /x HTTP/1.1\r\nHost: demo.res.ch\r\nX-Forwarded-For: 1.2.3.4\r\n\
             X-Forwarded-Host: evil\r\nX-Real-Ip: 1.1.1.1\r\nForwarded: for=1.2.3.4\r\n\
             Connection: keep-alive, x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n\
             TE: trailers\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n\
             Accept: */*\r\n\r\n",
            &UNTRUSTED,
            "/base/x?y=1",
        );
        assert_eq!(
            out,
            "GET /base/x?y=1 HTTP/1.1\r\nHost: demo.res.ch\r\nAccept: */*\r\n\
             x-forwarded-for: 10.0.0.9\r\nx-real-ip: 10.0.0.9\r\nx-forwarded-proto: http\r\n\
             x-forwarded-port: 80\r\nx-forwarded-host: demo.res.ch\r\n\r\n"
        );
    }

    #[test]
    fn trusted_clients_are_appended_to_and_kept() {
        let f = Forward {
            trusted: true,
            ..UNTRUSTED
        };
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8\r\n\
             X-Forwarded-Proto: https\r\nForwarded: for=1.2.3.4\r\n\r\n",
            &f,
            "/",
        );
        assert!(
            out.contains("x-forwarded-for: 1.2.3.4, 5.6.7.8, 10.0.0.9\r\n"),
            "{out}"
        );
        assert!(out.contains("X-Forwarded-Proto: https\r\n") && !out.contains("http\r\n"));
        assert!(out.contains("Forwarded: for=1.2.3.4\r\n"));
        assert!(out.contains("x-forwarded-host: a\r\n"));
    }

    #[test]
    fn host_prefix_and_sticky_cookies() {
        let names = ["_lb".to_string()];
        let edits = [(
            HeaderName::from_static("x-forwarded-prefix"),
            Some(HeaderValue::from_static("/api")),
        )];
        let f = Forward {
            sticky_names: &names,
            pass_host: false,
            edits: &edits,
            ..UNTRUSTED
        };
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1; _lb=abc\r\nCookie: _lb=zz\r\n\
             X-Forwarded-Prefix: /evil\r\n\r\n",
            &f,
            "/",
        );
        assert!(
            !out.contains("Host: a") && out.contains("host: 10.0.0.2:80\r\n"),
            "{out}"
        );
        assert!(out.contains("x-forwarded-host: a\r\n"));
        assert!(out.contains("x-forwarded-prefix: /api\r\n") && !out.contains("/evil"));
        assert!(
            out.contains("cookie: x=1\r\n") && !out.contains("_lb"),
            "{out}"
        );
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: _lb=abc\r\n\r\n",
            &f,
            "/",
        );
        assert!(!out.to_ascii_lowercase().contains("cookie"), "{out}");
        // `Connection: host` drops the client's Host: the server's instead, no X-Forwarded-Host.
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n",
            &UNTRUSTED,
            "/",
        );
        assert!(
            out.contains("host: 10.0.0.2:80\r\n") && !out.contains("Host: a"),
            "{out}"
        );
        assert!(!out.contains("x-forwarded-host"), "{out}");
    }

    fn respond(text: &str, cookie: Option<&str>, close: bool) -> String {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        assert!(r.parse(text.as_bytes()).unwrap().is_complete());
        let mut out = Vec::new();
        let extra = Extra {
            edits: &[],
            set_cookie: cookie.map(str::as_bytes),
        };
        write_response(&mut out, &r, &extra, close);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn responses_lose_hop_by_hop_headers_and_gain_the_cookie() {
        assert_eq!(
            respond(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, x-a\r\n\
                 X-A: 1\r\nKeep-Alive: timeout=5\r\nX-Served-By: s1\r\nDate: x\r\n\r\n",
                Some("_lb=v; Path=/"),
                true
            ),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By: s1\r\nDate: x\r\n\
             set-cookie: _lb=v; Path=/\r\nconnection: close\r\n\r\n"
        );
        assert_eq!(
            respond(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\ndate: x\r\n\r\n",
                None,
                false
            ),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ndate: x\r\n\r\n"
        );
        // The framing headers go with the body even when `Connection` names them; a response
        // without a Date gets one.
        let out = respond(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: content-length\r\n\r\n",
            None,
            false,
        );
        assert!(
            out.contains("Content-Length: 5\r\n") && out.contains("\r\ndate: "),
            "{out}"
        );
        assert!(
            respond("HTTP/1.1 404 \r\n\r\n", None, false).starts_with("HTTP/1.1 404 Not Found\r\n")
        );
    }

    #[test]
    fn text_answers() {
        let mut out = Vec::new();
        let bad_gateway = http::StatusCode::BAD_GATEWAY;
        write_answer(
            &mut out,
            &Answer::Text(bad_gateway, "502 bad gateway\n"),
            false,
            false,
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: 16\r\ndate: "
        ));
        assert!(text.ends_with(" GMT\r\n\r\n502 bad gateway\n"), "{text}");
        // To a HEAD request: the same head, no body.
        let not_found = http::StatusCode::NOT_FOUND;
        write_answer(
            &mut out,
            &Answer::Text(not_found, "404 page not found\n"),
            true,
            true,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("content-length: 19\r\n"), "{text}");
        assert!(text.ends_with("connection: close\r\n\r\n"), "{text}");
    }
}
