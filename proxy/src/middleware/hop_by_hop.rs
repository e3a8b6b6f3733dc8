//! Hop-by-hop headers: they describe one connection, so a proxy removes them in both
//! directions (RFC 9110 §7.6.1), along with every header the `Connection` header names.

use http::header::{self, HeaderMap, HeaderName};

static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
    HeaderName::from_static("keep-alive"),
];
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Whether `name` (any case) is one of the hop-by-hop headers [`remove`] drops, as the fast
/// path ([`crate::dataplane::h1`]) reads names straight from the request bytes.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP
        .iter()
        .chain(std::iter::once(&PROXY_CONNECTION))
        .any(|n| name.eq_ignore_ascii_case(n.as_str()))
}

/// Removes hop-by-hop headers. With `keep_upgrade`, `Connection: upgrade` and `Upgrade` stay
/// (a protocol upgrade is passed through end to end).
pub fn remove(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Headers named by Connection first.
    if let Some(conn) = headers.get(header::CONNECTION) {
        if let Ok(list) = conn.to_str() {
            if list.contains(',') || !is_common(list) {
                let named: Vec<HeaderName> = headers
                    .get_all(header::CONNECTION)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
                    .filter(|n| !(keep_upgrade && n == header::UPGRADE))
                    .collect();
                for n in named {
                    headers.remove(n);
                }
            }
        }
    }
    for name in &HOP_BY_HOP {
        if keep_upgrade && (name == header::UPGRADE || name == header::CONNECTION) {
            continue;
        }
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
    if headers.contains_key(&PROXY_CONNECTION) {
        headers.remove(&PROXY_CONNECTION);
    }
    if keep_upgrade {
        headers.insert(
            header::CONNECTION,
            http::HeaderValue::from_static("upgrade"),
        );
    }
}

fn is_common(v: &str) -> bool {
    v.eq_ignore_ascii_case("keep-alive") || v.eq_ignore_ascii_case("close")
}

/// Whether a request asks for a protocol upgrade (WebSocket, ...).
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_standard_and_named_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("proxy-connection", "keep-alive".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        remove(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn upgrades_keep_their_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", "Upgrade".parse().unwrap());
        h.insert("upgrade", "websocket".parse().unwrap());
        assert!(wants_upgrade(&h));
        remove(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }
}
