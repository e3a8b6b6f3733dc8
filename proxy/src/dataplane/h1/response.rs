//! A server's response head: how its body is delimited, and whether the connection can carry
//! another request afterwards. The body itself is relayed as it came (a chunked body stays
//! chunked), so the proxy only has to know where it ends.

/// The server's answer cannot be relayed (the client gets a 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad(pub &'static str);

/// Where a response body ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// No body (`HEAD`, 204, 304).
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: the decoder finds the last chunk and the trailers.
    Chunked(Chunked),
    /// Until the server closes the connection.
    Close,
}

/// What the relay needs of a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub status: u16,
    pub framing: Framing,
    /// The server keeps the connection open after this response.
    pub keep_alive: bool,
}

/// Reads a complete response head to a request (a `HEAD` one when `head` is set).
pub fn classify(resp: &httparse::Response<'_, '_>, head: bool) -> Result<Info, Bad> {
    let status = resp.code.ok_or(Bad("no status"))?;
    if status < 100 {
        return Err(Bad("status below 100"));
    }
    let mut keep_alive = resp.version == Some(1);
    let mut length: Option<u64> = None;
    let mut bad_length = false;
    let mut chunked = None;
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && resp.version == Some(0) {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if resp.version == Some(0) {
                return Err(Bad("Transfer-Encoding in an HTTP/1.0 response"));
            }
            // The last coding decides; several headers are one list.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"content-length") {
            // A list of equal values is one value (RFC 9110 8.6), as hyper reads it.
            for v in h.value.split(|&b| b == b',') {
                let n = std::str::from_utf8(v.trim_ascii())
                    .ok()
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok());
                match (n, length) {
                    (Some(n), Some(l)) if n != l => bad_length = true,
                    (Some(n), _) => length = Some(n),
                    (None, _) => bad_length = true,
                }
            }
        }
    }
    let framing = if head || status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked(Chunked::default()),
            (Some(false), _) => Framing::Close,
            // A length only counts without Transfer-Encoding; then it must be one number.
            _ if bad_length => return Err(Bad("invalid Content-Length")),
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::Close,
        }
    };
    if framing == Framing::Close {
        keep_alive = false;
    }
    Ok(Info {
        status,
        framing,
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

/// Finds the end of a chunked body in the bytes as they come.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunked {
    state: State,
    size: u64,
    digits: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Size,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    EndLf,
    Done,
}

impl Chunked {
    /// Takes the next bytes of the body: returns how many of them belong to it and whether the
    /// body ended there.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(usize, bool), Bad> {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match self.state {
                State::Size => {
                    if let Some(v) = (b as char).to_digit(16) {
                        if self.digits >= 15 {
                            return Err(Bad("chunk size too large"));
                        }
                        self.size = self.size * 16 + u64::from(v);
                        self.digits += 1;
                    } else if self.digits == 0 {
                        return Err(Bad("no chunk size"));
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = State::Extension;
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else {
                        return Err(Bad("invalid chunk size"));
                    }
                    i += 1;
                }
                State::Extension => {
                    match b {
                        b'\r' => self.state = State::SizeLf,
                        b'\n' => return Err(Bad("bare LF in chunk extension")),
                        _ => {}
                    }
                    i += 1;
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(Bad("chunk size line"));
                    }
                    i += 1;
                    self.state = if self.size == 0 {
                        State::TrailerStart
                    } else {
                        State::Data
                    };
                }
                State::Data => {
                    let n = self.size.min((bytes.len() - i) as u64);
                    i += n as usize;
                    self.size -= n;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                }
                State::DataCr | State::DataLf => {
                    let want = if self.state == State::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if b != want {
                        return Err(Bad("chunk data not followed by CRLF"));
                    }
                    i += 1;
                    if self.state == State::DataCr {
                        self.state = State::DataLf;
                    } else {
                        self.state = State::Size;
                        self.digits = 0;
                    }
                }
                State::TrailerStart => {
                    self.state = if b == b'\r' {
                        State::EndLf
                    } else {
                        State::Trailer
                    };
                    i += 1;
                }
                State::Trailer => {
                    if b == b'\n' {
                        self.state = State::TrailerStart;
                    }
                    i += 1;
                }
                State::EndLf => {
                    if b != b'\n' {
                        return Err(Bad("chunked body end"));
                    }
                    self.state = State::Done;
                    return Ok((i + 1, true));
                }
                State::Done => return Ok((i, true)),
            }
        }
        Ok((i, self.state == State::Done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info(text: &str, head: bool) -> Result<Info, Bad> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        assert!(r.parse(text.as_bytes()).unwrap().is_complete());
        classify(&r, head)
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let i = info("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false).unwrap();
        assert_eq!((i.framing, i.keep_alive), (Framing::Length(12), true));
        let i = info("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true).unwrap();
        assert_eq!(i.framing, Framing::Empty);
        let i = info(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(i.framing, Framing::Empty);
        let i = info(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(i.framing, Framing::Chunked(Chunked::default()));
        let i = info("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false).unwrap();
        assert_eq!((i.framing, i.keep_alive), (Framing::Close, false));
        let i = info("HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!((i.framing, i.keep_alive), (Framing::Close, false));
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

    const BODY: &[u8] =
        b"5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\n\r\n";

    #[test]
    fn chunked_end_is_found() {
        let mut c = Chunked::default();
        let mut with_next = BODY.to_vec();
        with_next.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        assert_eq!(c.feed(&with_next), Ok((BODY.len(), true)));
        let mut c = Chunked::default();
        assert_eq!(c.feed(b"0\r\n\r\n"), Ok((5, true)));
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello",
            b"1\r\nab\r\n",
            b"ffffffffffffffff\r\n",
        ] {
            assert!(Chunked::default().feed(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn chunked_end_is_found_however_the_bytes_are_split(cuts in proptest::collection::vec(0..BODY.len(), 0..8)) {
            let mut cuts = cuts;
            cuts.push(BODY.len());
            cuts.sort_unstable();
            let mut c = Chunked::default();
            let (mut start, mut seen) = (0, 0);
            let mut ended = false;
            for cut in cuts {
                let (n, end) = c.feed(&BODY[start..cut]).unwrap();
                prop_assert!(!ended || n == 0);
                seen += n;
                ended |= end;
                start = cut;
            }
            prop_assert!(ended);
            prop_assert_eq!(seen, BODY.len());
        }
    }
}
