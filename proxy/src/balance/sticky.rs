//! The sticky cookie: an opaque token naming a server of a service.
//!
//! The value is an HMAC-SHA256 of the service name and the server URL under a key drawn at
//! random when the process starts, base64url-encoded and truncated to 96 bits. It reveals no
//! address, port or container id (Traefik v2.4 put the server URL in the cookie), and it cannot
//! be forged to reach a server: the proxy only accepts values it finds in the service's table.
//! A restart changes the key, so clients are re-pinned once, like after a server change.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{SameSite, StickyCookie};

/// Length of a cookie value in characters (12 bytes of MAC, base64url).
pub const VALUE_LEN: usize = 16;

fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

/// The cookie value for `server_url` in `service`.
pub fn cookie_value(service: &str, server_url: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(process_key()).expect("HMAC takes keys of any size");
    mac.update(service.as_bytes());
    mac.update(&[0]);
    mac.update(server_url.as_bytes());
    let tag = mac.finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..12])
}

/// Constant-time comparison of a presented value with a known one.
#[inline]
pub fn value_eq(presented: &[u8], known: &[u8]) -> bool {
    presented.len() == known.len() && bool::from(presented.ct_eq(known))
}

/// The cookie settings of a sticky service, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub name: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<SameSite>,
}

impl CookieSettings {
    /// `name` is the resolved cookie name (`config::merge` fills in Traefik's default).
    pub fn new(name: &str, cfg: &StickyCookie) -> Self {
        Self {
            name: name.to_string(),
            secure: cfg.secure,
            http_only: cfg.http_only,
            same_site: cfg.same_site,
        }
    }

    /// The `Set-Cookie` header value pinning a client to the server with `value`.
    pub fn set_cookie(&self, value: &str, path: &str) -> String {
        let mut s = format!("{}={}; Path={}", self.name, value, path);
        if self.secure {
            s.push_str("; Secure");
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        match self.same_site {
            Some(SameSite::None) => s.push_str("; SameSite=None"),
            Some(SameSite::Lax) => s.push_str("; SameSite=Lax"),
            Some(SameSite::Strict) => s.push_str("; SameSite=Strict"),
            None => {}
        }
        s
    }
}

/// Iterates over the `name=value` pairs of `Cookie` header values.
pub fn cookie_pairs(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split(';').filter_map(|pair| {
        let pair = pair.trim();
        if pair.is_empty() {
            return None;
        }
        match pair.split_once('=') {
            Some((n, v)) => Some((n.trim(), v.trim().trim_matches('"'))),
            None => Some((pair, "")),
        }
    })
}

/// `header` without the cookies whose names are in `names`; `None` when nothing is left.
pub fn strip_cookies(header: &str, names: &[String]) -> Option<String> {
    let mut out = String::with_capacity(header.len());
    for pair in header.split(';') {
        let trimmed = pair.trim();
        if trimmed.is_empty() {
            continue;
        }
        let name = trimmed.split_once('=').map_or(trimmed, |(n, _)| n.trim());
        if names.iter().any(|n| n == name) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(trimmed);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_opaque_stable_and_distinct() {
        let a = cookie_value("static@docker", "http://172.18.0.5:80");
        let b = cookie_value("static@docker", "http://172.18.0.6:80");
        let c = cookie_value("other@docker", "http://172.18.0.5:80");
        assert_eq!(a, cookie_value("static@docker", "http://172.18.0.5:80"));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), VALUE_LEN);
        assert!(!a.contains("172") && !a.contains("80"));
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn set_cookie_has_the_configured_attributes() {
        let s = CookieSettings::new(
            "lb",
            &StickyCookie {
                name: Some("lb".into()),
                secure: true,
                http_only: true,
                same_site: Some(SameSite::Strict),
            },
        );
        assert_eq!(
            s.set_cookie("v", "/api"),
            "lb=v; Path=/api; Secure; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn strips_only_named_cookies() {
        let names = vec!["lb".to_string(), "_abcde".to_string()];
        assert_eq!(
            strip_cookies("a=1; lb=xyz; b=2", &names).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_cookies("lb=1;_abcde=2", &names), None);
        assert_eq!(strip_cookies("lbx=1", &names).as_deref(), Some("lbx=1"));
        let pairs: Vec<_> = cookie_pairs("a=1; b=\"2\"; c").collect();
        assert_eq!(pairs, vec![("a", "1"), ("b", "2"), ("c", "")]);
    }
}
