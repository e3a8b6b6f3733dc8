//! What a sticky cookie's value says about the server it pins, for each proxy the students use:
//!
//! - Traefik v2.4 (the report's): the server's URL in plain text, `http://172.18.0.3:80`;
//! - Traefik v2.5 to v3.3.3: the URL's FNV-1 64-bit hash in hex (`fnv.New64`, not 64a), and
//!   some v3 releases hashed it twice;
//! - Traefik v3.3.4 and later: the URL's SHA-256, in hex, cut to 16 characters;
//! - our proxy: an opaque value that says nothing.
//!
//! Given the servers' URLs (from the proxy's API, or the containers' addresses and port), a
//! value is matched against each encoding: a shortcut for attribution and evidence for the
//! report ("the cookie names 172.18.0.3:80, container static-2"), never the only way.

use sha2::{Digest, Sha256};

/// How a cookie value encodes its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Traefik v2.4: the URL itself.
    PlainUrl,
    /// Traefik v2.5 to v3.3.3: FNV-1 64 of the URL.
    Fnv,
    /// Some Traefik v3 releases: FNV-1 64 of the FNV-1 64 hex.
    DoubleFnv,
    /// Traefik v3.3.4 and later: SHA-256 of the URL, 16 hex characters.
    Sha256,
}

impl Encoding {
    pub fn describe(self) -> &'static str {
        match self {
            Encoding::PlainUrl => "the server's URL in plain text (Traefik v2.4)",
            Encoding::Fnv => "an FNV-64 hash of the server's URL (Traefik v2.5 to v3.3)",
            Encoding::DoubleFnv => "a double FNV-64 hash of the server's URL (Traefik v3)",
            Encoding::Sha256 => "a SHA-256 hash of the server's URL (Traefik v3.3.4 and later)",
        }
    }
}

/// FNV-1, 64 bits (Go's `hash/fnv.New64`): multiply, then xor.
pub fn fnv1_64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        h ^= u64::from(*b);
    }
    h
}

/// Traefik's `fnvHash`: the hash in lower-case hex without leading zeros.
fn fnv_hex(s: &str) -> String {
    format!("{:x}", fnv1_64(s.as_bytes()))
}

fn sha256_16(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..16].to_string()
}

/// Every value Traefik may have put in the cookie for a server `url`.
pub fn encodings(url: &str) -> [(Encoding, String); 4] {
    [
        (Encoding::PlainUrl, url.to_string()),
        (Encoding::Fnv, fnv_hex(url)),
        (Encoding::DoubleFnv, fnv_hex(&fnv_hex(url))),
        (Encoding::Sha256, sha256_16(url)),
    ]
}

/// Which of `urls` the cookie value names, and how; `None` for an opaque value (ours) or a
/// server not in the list. The value may arrive URL-encoded (`http%3A%2F%2F...`).
pub fn decode<'a>(value: &str, urls: &'a [String]) -> Option<(&'a str, Encoding)> {
    let value = percent_decode(value.trim_matches('"'));
    urls.iter().find_map(|url| {
        let bare = url.trim_end_matches('/');
        [url.as_str(), bare].iter().find_map(|u| {
            encodings(u)
                .into_iter()
                .find(|(_, v)| *v == value)
                .map(|(e, _)| (url.as_str(), e))
        })
    })
}

/// Whether the value is a server URL in plain text, whatever the server list says (the v2.4
/// leak: the internal address is visible to every client).
pub fn plain_url(value: &str) -> Option<String> {
    let v = percent_decode(value.trim_matches('"'));
    (v.starts_with("http://") || v.starts_with("https://")).then_some(v)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1_64_matches_the_reference_vectors() {
        // The FNV reference's test vectors for FNV-1 (not 1a), 64 bits.
        assert_eq!(fnv1_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1_64(b"a"), 0xaf63bd4c8601b7be);
        assert_eq!(fnv1_64(b"foobar"), 0x340d8765a4dda9c2);
    }

    #[test]
    fn sha256_is_cut_to_16_hex() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(sha256_16("abc"), "ba7816bf8f01cfea");
    }

    #[test]
    fn each_traefik_encoding_is_recognised() {
        let urls = vec![
            "http://172.18.0.3:80".to_string(),
            "http://172.18.0.4:80".to_string(),
        ];
        for (enc, value) in encodings("http://172.18.0.4:80") {
            assert_eq!(
                decode(&value, &urls),
                Some(("http://172.18.0.4:80", enc)),
                "{enc:?}"
            );
        }
        assert_eq!(
            decode("http%3A%2F%2F172.18.0.3%3A80", &urls),
            Some(("http://172.18.0.3:80", Encoding::PlainUrl)),
            "URL-encoded by the client"
        );
        assert_eq!(
            decode("k3J9aXy0QmW1", &urls),
            None,
            "an opaque value names nothing"
        );
        assert_eq!(
            plain_url("http://10.0.0.9:3000").as_deref(),
            Some("http://10.0.0.9:3000")
        );
        assert_eq!(plain_url("a1b2c3"), None);
    }
}
