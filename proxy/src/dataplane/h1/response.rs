//! A server's response head: how its body is delimited, and whether the connection can carry
//! another request afterwards. The body itself is relayed as it came (a chunked body stays
//! chunked), so the proxy only has to know where it ends.

use crate::dataplane::body_length::{BodyLength, FramingHeaders, Message};

/// The server's answer cannot be relayed (the client gets a 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad(pub &'static str);

/// What the relay needs of a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub status: u16,
    pub body: BodyLength,
    /// The server keeps the connection open after this response.
    pub keep_alive: bool,
}

/// Reads a complete response head to a request (a `HEAD` one when `head` is set).
pub fn classify(resp: &httparse::Response<'_, '_>, head: bool) -> Result<Info, Bad> {
    let status = resp.code.ok_or(Bad("no status"))?;
    if status < 100 {
        return Err(Bad("status below 100"));
    }
    let http10 = resp.version == Some(0);
    let mut keep_alive = !http10;
    let mut framing = FramingHeaders::default();
    for h in resp.headers.iter() {
        if framing.add(h.name.as_bytes(), h.value) || !h.name.eq_ignore_ascii_case("connection") {
            continue;
        }
        for token in h.value.split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                keep_alive = true;
            }
        }
    }
    let message = Message::Response {
        status,
        to_head: head,
    };
    let body = framing.body(message, http10).map_err(|e| Bad(e.as_str()))?;
    if body == BodyLength::UntilClose {
        keep_alive = false;
    }
    Ok(Info {
        status,
        body,
        keep_alive,
    })
}

/// The length of the response head at the start of `buf`, once it has arrived whole (up to
/// and including the empty line; bare LF line ends count, as httparse reads them).
pub fn head_len(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = buf[from..].iter().position(|&b| b == b'\n') {
        let lf = from + p;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => from = lf + 1,
        }
    }
    None
}

/// The status code of a status line `HTTP/1.x NNN ...`, if the head starts with one.
pub fn status_of(head: &[u8]) -> Option<u16> {
    if head.len() < 12 || !may_be_http(head) || head[8] != b' ' {
        return None;
    }
    head[9..12].iter().try_fold(0u16, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
    })
}

/// Whether `buf` can still be the start of an HTTP/1 response (`HTTP/1.`).
pub fn may_be_http(buf: &[u8]) -> bool {
    const START: &[u8] = b"HTTP/1.";
    let n = buf.len().min(START.len());
    buf[..n] == START[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str, head: bool) -> Result<Info, Bad> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        assert!(r.parse(text.as_bytes()).unwrap().is_complete());
        classify(&r, head)
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let i = info("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false).unwrap();
        assert_eq!((i.body, i.keep_alive), (BodyLength::Length(12), true));
        let i = info("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true).unwrap();
        assert_eq!(i.body, BodyLength::Empty);
        let i = info(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(i.body, BodyLength::Empty);
        let i = info(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(i.body, BodyLength::Chunked);
        let i = info("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false).unwrap();
        assert_eq!((i.body, i.keep_alive), (BodyLength::UntilClose, false));
        let i = info("HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!((i.body, i.keep_alive), (BodyLength::UntilClose, false));
        let i = info(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(!i.unwrap().keep_alive);
        let i = info("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false).unwrap();
        assert!(!i.keep_alive);
        let i = info(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(i.unwrap().keep_alive);
        assert!(info(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            false
        )
        .is_err());
        assert!(info("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", false).is_err());
        assert!(info(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            false
        )
        .is_ok());
    }

    #[test]
    fn heads_end_at_the_empty_line() {
        assert_eq!(head_len(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), Some(25));
        assert_eq!(head_len(b"HTTP/1.1 200 OK\nA: b\n\nbody"), Some(22));
        assert_eq!(head_len(b"HTTP/1.1 200 OK\r\nA: b\r\n"), None);
        assert_eq!(head_len(b"HTTP/1.1 200 OK\r\nA: b\r\n\r"), None);
        assert_eq!(status_of(b"HTTP/1.1 103 Early Hints\r\n\r\n"), Some(103));
        assert_eq!(status_of(b"HTTP/1.0 200\r\n\r\n"), Some(200));
        assert_eq!(status_of(b"HTTP/2.0 200 OK\r\n\r\n"), None);
        assert_eq!(status_of(b"HTTP/1.1 2x0 OK\r\n\r\n"), None);
        assert!(may_be_http(b"HTT") && may_be_http(b"HTTP/1.1 200") && !may_be_http(b"NOT HTTP"));
    }
}
