//! Writing heads: the request as the server must see it, the response as the client must.
//!
//! The request's headers follow the one header policy ([`crate::dataplane::header_policy`],
//! which writes them); the response keeps the server's headers but the hop-by-hop ones, and
//! gets the middlewares' headers, a sticky cookie and `Connection: close` when asked for.

use crate::answer::Answer;
use crate::dataplane::header_policy::{header, is_hop_by_hop, ConnectionNamed, Edit};

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
    let named = ConnectionNamed::of(
        resp.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("connection"))
            .map(|h| h.value),
    );
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
            || (!framing && (named.contains(name) || edited(extra.edits, name)))
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
