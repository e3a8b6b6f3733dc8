//! A server's URL, `http://host[:port][/]`, parsed once, where it is read (a label, a file, a
//! provider).
//!
//! The text is kept as written: the API shows it and the balancer keys a server's state by it.
//! A URL that does not parse still loads, with the reason beside it, so that validation can
//! disable just its service and say why (see `validate.rs`); everything after validation reads
//! the parsed [`Target`].

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize, Serializer};

/// A server URL as written, and what it parses to. Read from any string (`From<String>`): a bad
/// URL is reported by validation, on its service, not by the file's parser. Compared, hashed and
/// ordered by its text (the parse follows from it).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(from = "String")]
pub struct ServerUrl {
    text: String,
    parsed: Result<Target, String>,
}

/// Where a valid server URL points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// As written between `http://` and the optional final `/`: `10.0.0.2:80`, `[::1]`, `web`.
    pub authority: String,
    /// The host; an IPv6 address without its brackets.
    pub host: String,
    /// The port; 80 when the URL has none, as in Traefik.
    pub port: u16,
}

impl ServerUrl {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parsed = parse(&text);
        Self { text, parsed }
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where the URL points, or why it is not a usable server URL (a message for the user).
    pub fn target(&self) -> Result<&Target, &str> {
        self.parsed.as_ref().map_err(String::as_str)
    }

    /// The socket address, when the host is an IP address (as the providers write them).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let t = self.target().ok()?;
        Some(SocketAddr::new(t.host.parse::<IpAddr>().ok()?, t.port))
    }
}

/// Parses a server URL. Only `http://host[:port][/]` is accepted: the proxy speaks plain HTTP
/// to its servers. IPv6 hosts are written in brackets.
fn parse(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "server URL `{url}`: scheme `{scheme}` is not supported; servers are reached over plain http://"
            ))
        }
        None => {
            return Err(format!(
                "server URL `{url}` has no scheme; write it like `http://10.0.0.2:80`"
            ))
        }
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "server URL `{url}` may not carry a path, query or user; write it like `http://10.0.0.2:80`"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(format!(
                "server URL `{url}`: unclosed `[` in the IPv6 address"
            ));
        };
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(format!("server URL `{url}`: `{h}` is not an IPv6 address"));
        }
        match after {
            "" => (h, None),
            p => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(format!("server URL `{url}`: expected `:port` after `]`")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!(
            "server URL `{url}` has no host; write it like `http://10.0.0.2:80`"
        ));
    }
    // A `:` only inside brackets: `http://::1:80` is ambiguous and no `Host` header.
    let bracketed = authority.starts_with('[');
    if !host.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') || (bracketed && b == b':')
    }) {
        return Err(format!(
            "server URL `{url}`: `{host}` is not a valid host name or address"
        ));
    }
    let port = match port {
        None => 80,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(format!(
                    "server URL `{url}`: `{p}` is not a port; use a number from 1 to 65535"
                ))
            }
        },
    };
    Ok(Target {
        authority: authority.to_string(),
        host: host.to_string(),
        port,
    })
}

impl From<String> for ServerUrl {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for ServerUrl {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// As the text: the parse is a function of it.
impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// A plain string, as written: the JSON and the API show it unchanged.
impl Serialize for ServerUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_port(url: &str) -> Result<(String, u16), String> {
        let u = ServerUrl::new(url);
        u.target()
            .map(|t| (t.host.clone(), t.port))
            .map_err(str::to_string)
    }

    #[test]
    fn server_urls() {
        assert_eq!(
            host_port("http://10.0.0.2:8080").unwrap(),
            ("10.0.0.2".into(), 8080)
        );
        assert_eq!(host_port("HTTP://web").unwrap(), ("web".into(), 80));
        assert_eq!(host_port("http://web:81/").unwrap(), ("web".into(), 81));
        assert_eq!(host_port("http://[::1]:9").unwrap(), ("::1".into(), 9));
        assert_eq!(host_port("http://[::1]").unwrap(), ("::1".into(), 80));
        for bad in [
            "10.0.0.2:80",
            "https://a:1",
            "http://:80",
            "http://a:0",
            "http://a:65536",
            "http://a:x",
            "http://a:80/path",
            "http://u@a:80",
            "http://[::1",
            "http://[zz]:1",
            "http://a b:1",
            "http://a:+1",
            "http://::1:80",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_say_what_to_write() {
        let e = |url: &str| ServerUrl::new(url).target().unwrap_err().to_string();
        assert!(e("10.0.0.2:80").contains("write it like `http://10.0.0.2:80`"));
        assert!(e("https://a:1").contains("plain http://"));
        assert!(e("http://a:0").contains("from 1 to 65535"));
    }

    #[test]
    fn authority_and_socket_address() {
        let u = ServerUrl::new("http://[fd00::2]:80/");
        assert_eq!(u.target().unwrap().authority, "[fd00::2]:80");
        assert_eq!(u.socket_addr(), Some("[fd00::2]:80".parse().unwrap()));
        assert_eq!(
            ServerUrl::new("http://10.0.0.2:8080").socket_addr(),
            Some("10.0.0.2:8080".parse().unwrap())
        );
        assert_eq!(ServerUrl::new("http://web:80").socket_addr(), None);
    }

    #[test]
    fn text_is_kept_in_json() {
        let u: ServerUrl = serde_json::from_str("\"http://Web:81/\"").unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"http://Web:81/\"");
        assert_eq!(u.to_string(), "http://Web:81/");
        let bad: ServerUrl = serde_json::from_str("\"ftp://x\"").unwrap();
        assert!(bad.target().is_err());
    }
}
