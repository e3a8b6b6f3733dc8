//! Validators and conditional requests: how a browser asks "has this changed since my copy?"
//! and gets a bodyless `304 Not Modified` when it has not.
//!
//! Each file gets an `ETag` (a fingerprint of its bytes) and a `Last-Modified` date. A client
//! sends them back as `If-None-Match` and `If-Modified-Since`; per RFC 9110 §13.2.2 the ETag
//! wins when both are present, because dates are only precise to the second, and because two
//! servers can hold files with the same date but different bytes (our pages name their
//! server, so each server's `index.html` differs).
//!
//! Our ETags are *weak* (`W/"..."`): the compression layer may send the same file gzipped or
//! brotli-encoded, and a strong ETag would promise byte-identical bodies across them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};

/// A weak ETag from the size and an FNV-1a hash of `bytes`: cheap, and stable across restarts
/// and across servers holding the same bytes.
pub fn etag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("W/\"{:x}-{hash:016x}\"", bytes.len())
}

/// `time` rounded down to the second, as HTTP dates carry it.
pub fn to_seconds(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Whether the client's copy is current, so a `GET`/`HEAD` may be answered 304.
pub fn not_modified(request: &HeaderMap, etag: &str, modified: Option<SystemTime>) -> bool {
    if let Some(if_none_match) = request.get(header::IF_NONE_MATCH) {
        let Ok(tags) = if_none_match.to_str() else {
            return false;
        };
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || weak_eq(tag, etag));
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, modified) {
        (Some(since), Some(modified)) => to_seconds(modified) <= since,
        _ => false,
    }
}

/// Whether a `Range` request may be honoured: without `If-Range`, yes; with it, only if it
/// names the current version. An ETag there needs *strong* comparison, which our weak tags
/// never pass (the client then gets the whole file, which is always correct); a date must
/// equal `Last-Modified` exactly.
pub fn range_applies(request: &HeaderMap, modified: Option<SystemTime>) -> bool {
    let Some(if_range) = request.get(header::IF_RANGE) else {
        return true;
    };
    let date = if_range
        .to_str()
        .ok()
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((date, modified), (Some(date), Some(modified)) if to_seconds(modified) == date)
}

/// Weak comparison (RFC 9110 §8.8.3.2): equal once any `W/` prefix is dropped.
fn weak_eq(a: &str, b: &str) -> bool {
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
    opaque(a) == opaque(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    const MODIFIED: u64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT

    fn modified() -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_millis(MODIFIED * 1000 + 750))
    }

    #[test]
    fn etags_differ_with_content_and_are_weak() {
        let a = etag(b"served by one");
        assert!(a.starts_with("W/\""));
        assert_ne!(a, etag(b"served by two"));
        assert_eq!(a, etag(b"served by one"));
    }

    #[test]
    fn if_none_match() {
        let tag = etag(b"x");
        let strong = tag.trim_start_matches("W/").to_owned();
        for (sent, fresh) in [
            (tag.as_str(), true),
            (strong.as_str(), true),
            ("*", true),
            (&format!("\"other\", {tag}"), true),
            ("\"other\"", false),
        ] {
            let request = headers(&[(header::IF_NONE_MATCH, sent)]);
            assert_eq!(not_modified(&request, &tag, modified()), fresh, "{sent}");
        }
    }

    #[test]
    fn if_modified_since_counts_whole_seconds() {
        let at = |secs: u64| httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
        let tag = etag(b"x");
        for (since, fresh) in [
            (MODIFIED, true),
            (MODIFIED + 60, true),
            (MODIFIED - 1, false),
        ] {
            let request = headers(&[(header::IF_MODIFIED_SINCE, &at(since))]);
            assert_eq!(not_modified(&request, &tag, modified()), fresh, "{since}");
        }
        let garbage = headers(&[(header::IF_MODIFIED_SINCE, "yesterday")]);
        assert!(!not_modified(&garbage, &tag, modified()));
    }

    #[test]
    fn a_mismatched_etag_beats_a_matching_date() {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(MODIFIED));
        let request = headers(&[
            (header::IF_NONE_MATCH, "\"from-another-server\""),
            (header::IF_MODIFIED_SINCE, &date),
        ]);
        assert!(!not_modified(&request, &etag(b"x"), modified()));
    }

    #[test]
    fn if_range() {
        assert!(range_applies(&HeaderMap::new(), modified()));
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(MODIFIED));
        assert!(range_applies(
            &headers(&[(header::IF_RANGE, &date)]),
            modified()
        ));
        let older = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(MODIFIED - 1));
        assert!(!range_applies(
            &headers(&[(header::IF_RANGE, &older)]),
            modified()
        ));
        let tag = etag(b"x");
        assert!(!range_applies(
            &headers(&[(header::IF_RANGE, &tag)]),
            modified()
        ));
    }
}
