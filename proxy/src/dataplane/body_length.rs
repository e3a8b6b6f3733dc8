//! How an HTTP/1 message's body is delimited (RFC 9112 §6.3), decided once for the three places
//! that read heads themselves: the framing guard (each request, before hyper reads it), the fast
//! path's request classifier and its response relay.
//!
//! The rule, in order:
//! 1. A request with both `Content-Length` and `Transfer-Encoding`, or with several
//!    `Content-Length` lines (even equal ones), is refused: two parsers may read its length
//!    differently (request smuggling). So is `Transfer-Encoding` in an HTTP/1.0 message.
//! 2. A response to `HEAD`, and a 1xx, 204 or 304 response, has no body, whatever its headers say.
//! 3. A `Transfer-Encoding` whose last coding is `chunked`: chunks
//!    ([`crate::dataplane::chunked`]). Another last coding: a request is refused, a response
//!    runs until the server closes the connection.
//! 4. A `Content-Length`: that many bytes. A request's is one number, as hyper's server reads
//!    it; a response's may repeat the same number (`5, 5`, RFC 9110 §8.6), as hyper's client
//!    reads it. Anything else is refused.
//! 5. Neither: a request has no body, a response runs until the server closes the connection.
//!
//! Requests follow hyper's server and responses hyper's client, so that a message is framed
//! alike on the fast path, behind the framing guard and in hyper.

use std::fmt;

/// Where a body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// There is none (this includes `Content-Length: 0`).
    Empty,
    /// After this many bytes (more than zero).
    Length(u64),
    /// After the last chunk and its trailers.
    Chunked,
    /// When the server closes the connection (responses only).
    UntilClose,
}

/// Why a message's body length cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFraming {
    /// Both `Content-Length` and `Transfer-Encoding` in a request.
    LengthAndEncoding,
    /// More than one `Content-Length` header in a request.
    SeveralLengths,
    /// A `Content-Length` that is not a number (or a request's list, or a response's two
    /// different numbers).
    InvalidLength,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    EncodingInHttp10,
    /// A request's `Transfer-Encoding` whose last coding is not `chunked`.
    NotChunked,
}

impl BadFraming {
    pub fn as_str(self) -> &'static str {
        match self {
            BadFraming::LengthAndEncoding => "both Content-Length and Transfer-Encoding",
            BadFraming::SeveralLengths => "several Content-Length headers",
            BadFraming::InvalidLength => "invalid Content-Length",
            BadFraming::EncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 message",
            BadFraming::NotChunked => "a request's Transfer-Encoding does not end with chunked",
        }
    }
}

impl fmt::Display for BadFraming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message a head starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Request,
    /// A response with this status; `to_head`: the answer to a `HEAD` request.
    Response {
        status: u16,
        to_head: bool,
    },
}

/// The headers of one head that delimit its body, gathered while its headers are read (the
/// callers read other headers in the same pass).
#[derive(Debug, Default)]
pub struct FramingHeaders {
    /// `Content-Length` header lines.
    length_lines: u32,
    /// Values in them (a line may list several, separated by commas).
    length_values: u32,
    /// The length, while every value is the same number.
    length: Option<u64>,
    /// A value is not a number, or differs from another.
    invalid_length: bool,
    /// `Transfer-Encoding` was sent: whether its last coding is `chunked`.
    chunked: Option<bool>,
}

impl FramingHeaders {
    /// Reads header `name: value` if it is `Content-Length` or `Transfer-Encoding`; says
    /// whether it was.
    pub fn add(&mut self, name: &[u8], value: &[u8]) -> bool {
        if name.eq_ignore_ascii_case(b"content-length") {
            self.length_lines += 1;
            for v in value.split(|&b| b == b',') {
                self.length_values += 1;
                match (digits(v.trim_ascii()), self.length) {
                    (Some(n), Some(l)) if n != l => self.invalid_length = true,
                    (Some(n), _) => self.length = Some(n),
                    (None, _) => self.invalid_length = true,
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The last coding decides; several headers are one list.
            let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
            self.chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else {
            return false;
        }
        true
    }

    /// The body length of `message` (`http10`: an HTTP/1.0 one), by the rule above.
    pub fn body(&self, message: Message, http10: bool) -> Result<BodyLength, BadFraming> {
        let request = message == Message::Request;
        let encoded = self.chunked.is_some();
        if request && encoded && self.length_lines > 0 {
            return Err(BadFraming::LengthAndEncoding);
        }
        if encoded && http10 {
            return Err(BadFraming::EncodingInHttp10);
        }
        if request && self.length_lines > 1 {
            return Err(BadFraming::SeveralLengths);
        }
        if let Message::Response { status, to_head } = message {
            if to_head || status < 200 || status == 204 || status == 304 {
                return Ok(BodyLength::Empty);
            }
        }
        match self.chunked {
            Some(true) => Ok(BodyLength::Chunked),
            Some(false) if request => Err(BadFraming::NotChunked),
            Some(false) => Ok(BodyLength::UntilClose),
            None if self.invalid_length || (request && self.length_values > 1) => {
                Err(BadFraming::InvalidLength)
            }
            None => Ok(match self.length {
                Some(0) => BodyLength::Empty,
                Some(n) => BodyLength::Length(n),
                None if request => BodyLength::Empty,
                None => BodyLength::UntilClose,
            }),
        }
    }
}

/// A `Content-Length` value as hyper reads it: ASCII digits only (no sign, no space).
fn digits(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodyLength::*;

    fn body(
        headers: &[(&str, &str)],
        message: Message,
        http10: bool,
    ) -> Result<BodyLength, BadFraming> {
        let mut f = FramingHeaders::default();
        for (n, v) in headers {
            f.add(n.as_bytes(), v.as_bytes());
        }
        f.body(message, http10)
    }

    fn request(headers: &[(&str, &str)]) -> Result<BodyLength, BadFraming> {
        body(headers, Message::Request, false)
    }

    fn response(headers: &[(&str, &str)]) -> Result<BodyLength, BadFraming> {
        body(
            headers,
            Message::Response {
                status: 200,
                to_head: false,
            },
            false,
        )
    }

    const CL: &str = "content-length";
    const TE: &str = "Transfer-Encoding";

    #[test]
    fn requests() {
        use BadFraming::*;
        assert_eq!(request(&[("host", "a")]), Ok(Empty));
        assert_eq!(request(&[(CL, "0")]), Ok(Empty));
        assert_eq!(request(&[(CL, "12")]), Ok(Length(12)));
        assert_eq!(request(&[(TE, "gzip, chunked")]), Ok(Chunked));
        assert_eq!(
            request(&[(TE, "chunked"), (CL, "3")]),
            Err(LengthAndEncoding)
        );
        assert_eq!(request(&[(CL, "0"), (TE, "gzip")]), Err(LengthAndEncoding));
        assert_eq!(
            request(&[(CL, "3"), ("Content-Length", "3")]),
            Err(SeveralLengths)
        );
        assert_eq!(request(&[(CL, "3, 3")]), Err(InvalidLength));
        assert_eq!(request(&[(CL, "+3")]), Err(InvalidLength));
        assert_eq!(request(&[(CL, "99999999999999999999")]), Err(InvalidLength));
        assert_eq!(request(&[(TE, "chunked, gzip")]), Err(NotChunked));
        assert_eq!(
            body(&[(TE, "chunked")], Message::Request, true),
            Err(EncodingInHttp10)
        );
        assert_eq!(body(&[(CL, "2")], Message::Request, true), Ok(Length(2)));
    }

    #[test]
    fn responses() {
        assert_eq!(response(&[(CL, "12")]), Ok(Length(12)));
        assert_eq!(response(&[(CL, "12"), (CL, "12, 12")]), Ok(Length(12)));
        assert_eq!(
            response(&[(CL, "1"), (CL, "2")]),
            Err(BadFraming::InvalidLength)
        );
        assert_eq!(response(&[(CL, "+1")]), Err(BadFraming::InvalidLength));
        // Transfer-Encoding wins over Content-Length, even an invalid one.
        assert_eq!(response(&[(TE, "gzip, chunked"), (CL, "x")]), Ok(Chunked));
        assert_eq!(response(&[(TE, "gzip")]), Ok(UntilClose));
        assert_eq!(response(&[]), Ok(UntilClose));
        for (status, to_head) in [(200, true), (101, false), (204, false), (304, false)] {
            let message = Message::Response { status, to_head };
            assert_eq!(body(&[(CL, "12")], message, false), Ok(Empty));
        }
        let message = Message::Response {
            status: 204,
            to_head: false,
        };
        assert_eq!(
            body(&[(TE, "chunked")], message, true),
            Err(BadFraming::EncodingInHttp10)
        );
    }
}
