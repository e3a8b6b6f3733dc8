//! The chunked transfer coding (RFC 9112 §7.1): where a chunked body ends, found in the bytes
//! as they come, without copying them. The proxy relays a chunked body as it came; it only has
//! to know where the body stops and the next message starts.
//!
//! One decoder for both directions: the framing guard follows each client's request bodies
//! with it ([`crate::dataplane::framing`]), the fast path each server's response bodies
//! ([`crate::dataplane::h1`]). It reads exactly as hyper's decoder does (`proto/h1/decode.rs`),
//! byte for byte: the guard must stop where hyper stops, or a request hidden in a body could
//! slip past it. So it is as strict as hyper and no stricter: a hex size that overflows 64 bits,
//! a bad hex digit, a size line or chunk without its CRLF, a bare LF in an extension or at the
//! end of a trailer line are errors (hyper closes the connection on them); spaces may follow
//! the size, and trailer lines are skipped up to their CRLF.

/// The body is not valid chunked coding: the connection carrying it cannot be trusted further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

/// Where the decoder is in a chunked body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Chunked {
    /// The first hex digit of a chunk size.
    #[default]
    Start,
    /// More hex digits of the size so far.
    Size(u64),
    /// Spaces after the size.
    SizeLws(u64),
    /// A chunk extension, up to CR.
    Extension(u64),
    /// The LF of the size line.
    SizeLf(u64),
    /// Chunk data: bytes left.
    Data(u64),
    DataCr,
    DataLf,
    /// After the last chunk: CR of the final empty line, or the start of a trailer line.
    EndCr,
    /// A trailer line, up to CR.
    Trailer,
    TrailerLf,
    EndLf,
    /// The body has ended.
    Done,
}

fn hex(b: u8) -> Result<u64, Invalid> {
    (b as char)
        .to_digit(16)
        .map(u64::from)
        .ok_or(Invalid("invalid chunk size"))
}

impl Chunked {
    /// Takes the next bytes of the body: returns how many of them belong to it and whether the
    /// body ended there (then the rest is the next message).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(usize, bool), Invalid> {
        use Chunked::*;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            *self = match *self {
                Done => break,
                Data(left) => {
                    let n = left.min((bytes.len() - i) as u64);
                    i += n as usize;
                    *self = if left == n { DataCr } else { Data(left - n) };
                    continue;
                }
                Start => Size(hex(b)?),
                Size(n) => match b {
                    b'\t' | b' ' => SizeLws(n),
                    b';' => Extension(n),
                    b'\r' => SizeLf(n),
                    _ => Size(n.checked_mul(16).ok_or(Invalid("chunk size too large"))? + hex(b)?),
                },
                SizeLws(n) => match b {
                    b'\t' | b' ' => SizeLws(n),
                    b';' => Extension(n),
                    b'\r' => SizeLf(n),
                    _ => return Err(Invalid("invalid chunk size")),
                },
                Extension(n) => match b {
                    b'\r' => SizeLf(n),
                    b'\n' => return Err(Invalid("bare LF in a chunk extension")),
                    _ => Extension(n),
                },
                SizeLf(n) => match (b, n) {
                    (b'\n', 0) => EndCr,
                    (b'\n', n) => Data(n),
                    _ => return Err(Invalid("chunk size line without CRLF")),
                },
                DataCr if b == b'\r' => DataLf,
                DataLf if b == b'\n' => Start,
                DataCr | DataLf => return Err(Invalid("chunk data not followed by CRLF")),
                EndCr if b == b'\r' => EndLf,
                EndCr => Trailer,
                Trailer if b == b'\r' => TrailerLf,
                Trailer => Trailer,
                TrailerLf if b == b'\n' => EndCr,
                EndLf if b == b'\n' => Done,
                TrailerLf | EndLf => return Err(Invalid("trailer line without CRLF")),
            };
            i += 1;
        }
        Ok((i, *self == Done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &[u8] =
        b"5;ext=1\r\nhello\r\n1a \t\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n";

    #[test]
    fn the_end_is_found_and_what_follows_is_left() {
        let mut c = Chunked::default();
        let mut with_next = BODY.to_vec();
        with_next.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        assert_eq!(c.feed(&with_next), Ok((BODY.len(), true)));
        assert_eq!(c.feed(b"more"), Ok((0, true)));
        let mut c = Chunked::default();
        assert_eq!(c.feed(b"0\r\n\r\n"), Ok((5, true)));
        assert_eq!(Chunked::default().feed(b"A\r\n0123"), Ok((7, false)));
    }

    #[test]
    fn what_hyper_refuses_is_an_error() {
        for bad in [
            &b"x\r\n"[..],
            b";ext\r\n",
            b"5\nhello",
            b"5 x\r\nhello",
            b"5;a\nhello",
            b"1\r\nab\r\n",
            b"1\r\na\n",
            b"0\r\nX-T: 1\rx",
            b"0\r\n\rx",
            // 17 hex digits do not fit in 64 bits.
            b"fffffffffffffffff\r\n",
        ] {
            assert!(Chunked::default().feed(bad).is_err(), "{bad:?}");
        }
        // 16 do (hyper takes them, so the framing guard must too).
        assert_eq!(
            Chunked::default().feed(b"000000000000000f\r\n"),
            Ok((18, false))
        );
    }

    proptest! {
        #[test]
        fn the_end_is_found_however_the_bytes_are_split(
            cuts in proptest::collection::vec(0..BODY.len(), 0..8),
        ) {
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
