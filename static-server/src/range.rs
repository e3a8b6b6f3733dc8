//! `Range: bytes=...` requests (RFC 9110 §14): a client asks for part of a file (a resumed
//! download, a video seek) and gets `206 Partial Content`.
//!
//! We honour one range; a request for several gets the whole file (`200`), which the RFC
//! allows and every client handles. A range that starts past the end gets
//! `416 Range Not Satisfiable`. A header we cannot read is ignored, as the RFC asks.

use std::ops::RangeInclusive;

/// What to send for a `Range` header and a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// The whole file, `200 OK`.
    Whole,
    /// These bytes, `206 Partial Content`.
    Part(RangeInclusive<u64>),
    /// `416 Range Not Satisfiable`.
    Unsatisfiable,
}

/// Decides the answer to `Range: <header>` for a file of `len` bytes.
pub fn answer(header: &str, len: u64) -> RangeAnswer {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole; // another unit, or not a range at all
    };
    if spec.contains(',') {
        return RangeAnswer::Whole; // several ranges: we send it all
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first, last) {
        // "-N": the last N bytes (all of them if the file is shorter).
        ("", n) => match number(n) {
            None => RangeAnswer::Whole,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if len == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Part(len.saturating_sub(n)..=len - 1),
        },
        // "A-" or "A-B": from A to B or the end.
        (a, b) => {
            let Some(start) = number(a) else {
                return RangeAnswer::Whole;
            };
            let end = match b {
                "" => u64::MAX,
                b => match number(b) {
                    Some(end) if end >= start => end,
                    _ => return RangeAnswer::Whole, // "5-2" or junk: not a valid range
                },
            };
            if start >= len {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(start..=end.min(len - 1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::{Part, Unsatisfiable, Whole};
    use super::*;

    #[test]
    fn ranges_of_a_ten_byte_file() {
        for (header, expected) in [
            ("bytes=0-4", Part(0..=4)),
            ("bytes=5-", Part(5..=9)),
            ("bytes=5-100", Part(5..=9)),
            ("bytes=-3", Part(7..=9)),
            ("bytes=-30", Part(0..=9)),
            ("bytes=9-9", Part(9..=9)),
            ("bytes=10-", Unsatisfiable),
            ("bytes=10-20", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=0-1,4-5", Whole),
            ("bytes=5-2", Whole),
            ("bytes=a-b", Whole),
            ("bytes=-", Whole),
            ("bytes=+1-2", Whole),
            ("lines=0-1", Whole),
            ("bytes 0-1", Whole),
        ] {
            assert_eq!(answer(header, 10), expected, "{header}");
        }
    }

    #[test]
    fn an_empty_file_has_no_satisfiable_range() {
        assert_eq!(answer("bytes=0-", 0), Unsatisfiable);
        assert_eq!(answer("bytes=-5", 0), Unsatisfiable);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the header, a part lies inside the file and is never empty.
        #[test]
        fn parts_lie_inside_the_file(
            header in "(bytes=)?-?[0-9]{0,4}-?[0-9]{0,4}(,[0-9]{1,3}-)?",
            len in 0u64..3000,
        ) {
            if let RangeAnswer::Part(part) = answer(&header, len) {
                prop_assert!(part.start() <= part.end(), "{header} of {len}: {part:?}");
                prop_assert!(*part.end() < len, "{header} of {len}: {part:?}");
            }
        }

        /// Any string at all: an answer, never a panic (no overflow, no slicing past the end).
        #[test]
        fn never_panics(header in ".*", len in any::<u64>()) {
            let _ = answer(&header, len);
        }
    }
}
