//! A raw HTTP/1 client: a test writes exactly the bytes it wants (malformed, pipelined,
//! half-sent: what an HTTP library would refuse or tidy up), then reads one response at a time.
//!
//! A response ends where RFC 9112 (section 6.3) says: no body after a `HEAD` request or for a
//! 1xx, 204 or 304 status; else a chunked body up to its last chunk and trailers; else
//! `Content-Length` bytes; else everything until the server closes. [`parse`] reads one
//! response from the front of a buffer; [`read_response`] (async, any stream: TCP or TLS) and
//! [`exchange`] (blocking) do the reading.

use std::io::{Read, Write};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// How long a read may wait for the next bytes before the response counts as cut.
pub const READ_LIMIT: Duration = Duration::from_secs(15);

/// One response: status, headers as sent (names as written, in order), the decoded body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response from the front of `buf`: the response and how many bytes it took, or
/// `None` when more bytes are needed. `head`: the request was a `HEAD` (no body follows).
/// `closed`: the server closed the connection, so `buf` is all there is (a body with no length
/// ends there; one cut short panics). Panics on bytes that are not an HTTP response.
pub fn parse(buf: &[u8], head: bool, closed: bool) -> Option<(Response, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let start = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return None,
        Err(e) => panic!(
            "not an HTTP response ({e}): {:?}",
            String::from_utf8_lossy(buf)
        ),
    };
    let mut response = Response {
        status: r.code.expect("a complete head has a status"),
        headers: r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    let rest = &buf[start..];
    let used = if head || matches!(response.status, 100..=199 | 204 | 304) {
        0
    } else if response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        match dechunk(rest) {
            Some((body, used)) => {
                response.body = body;
                used
            }
            None if closed => panic!("chunked body cut: {:?}", String::from_utf8_lossy(buf)),
            None => return None,
        }
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.trim().parse().expect("a numeric Content-Length");
        if rest.len() < len {
            assert!(!closed, "body cut: {:?}", String::from_utf8_lossy(buf));
            return None;
        }
        response.body = rest[..len].to_vec();
        len
    } else if closed {
        response.body = rest.to_vec();
        rest.len()
    } else {
        return None;
    };
    Some((response, start + used))
}

/// Decodes a chunked body at the front of `buf` (sizes, data, then trailers up to the empty
/// line): the body and the bytes used, or `None` if it is not all there yet.
fn dechunk(mut buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let total = buf.len();
    let mut body = Vec::new();
    loop {
        let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
        let size_line = String::from_utf8_lossy(&buf[..line_end]);
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
        buf = &buf[line_end + 2..];
        if size == 0 {
            // Trailers, each a line, then the empty line.
            loop {
                let end = buf.windows(2).position(|w| w == b"\r\n")?;
                buf = &buf[end + 2..];
                if end == 0 {
                    return Some((body, total - buf.len()));
                }
            }
        }
        if buf.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[..size]);
        buf = &buf[size + 2..];
    }
}

/// Reads one response from `stream`; `buf` keeps what was read past it (pipelined responses),
/// so pass the same one each time. `None` when the connection closed (or stayed silent for
/// [`READ_LIMIT`]) before a response began.
pub async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    head: bool,
) -> Option<Response> {
    let mut closed = false;
    loop {
        if let Some((response, used)) = parse(buf, head, closed) {
            buf.drain(..used);
            return Some(response);
        }
        if closed {
            return None;
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(READ_LIMIT, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => closed = true,
        }
    }
}

/// One request on a connection of its own (blocking: for tests without a runtime, or on their
/// own threads): connects to `addr` (`127.0.0.1:PORT`), sends `request` as it is, reads until the
/// server closes (so the request should say `Connection: close`, or be HTTP/1.0), and returns
/// the response. Panics if none came.
pub fn exchange(addr: &str, request: &[u8]) -> Response {
    let mut stream =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(READ_LIMIT)).unwrap();
    stream.write_all(request).unwrap();
    let mut buf = Vec::new();
    // A time-out counts as the end: what came is checked below.
    let _ = stream.read_to_end(&mut buf);
    match parse(&buf, request.starts_with(b"HEAD "), true) {
        Some((response, _)) => response,
        None => panic!(
            "no response from {addr}: {:?}",
            String::from_utf8_lossy(&buf)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framing_ends_where_it_should() {
        let (r, used) = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT",
            false,
            false,
        )
        .unwrap();
        assert_eq!((r.status, r.text().as_str(), used), (200, "ok", 40));

        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n";
        let (r, used) = parse(chunked, false, false).unwrap();
        assert_eq!((r.text().as_str(), used), ("hello!", chunked.len()));
        for cut in 0..chunked.len() {
            assert!(parse(&chunked[..cut], false, false).is_none(), "{cut}");
        }

        let not_modified = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
        let (r, used) = parse(not_modified, false, false).unwrap();
        assert_eq!((r.status, r.body.len(), used), (304, 0, not_modified.len()));
        let (r, _) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true, false).unwrap();
        assert!(r.body.is_empty(), "HEAD");

        let until_close = b"HTTP/1.0 200 OK\r\nserver: x\r\n\r\nto the end";
        assert!(parse(until_close, false, false).is_none());
        let (r, _) = parse(until_close, false, true).unwrap();
        assert_eq!(
            (r.text().as_str(), r.header("Server")),
            ("to the end", Some("x"))
        );
    }
}
