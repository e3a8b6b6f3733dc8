//! The line a server prints once it listens, read back by whoever started it.
//!
//! Every server of the lab binds the port it is given, port 0 included (the system picks a free
//! one), and prints where it listens on stdout: `listening on http://127.0.0.1:41234` for
//! `static-server` and `jokes-api`, `entrypoint web listening on http://127.0.0.1:41234` for
//! each entrypoint of the proxy (`https://` when every router on the entrypoint serves TLS;
//! `proxy::listening_line` writes it). Tests and `lab up` read it instead of racing for a fixed
//! port.

use std::net::SocketAddr;

/// One `listening on` line: the entrypoint's name (the proxy's lines), the address and scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listening {
    pub name: Option<String>,
    pub addr: SocketAddr,
    /// `https://`: the entrypoint serves TLS.
    pub https: bool,
}

impl Listening {
    /// `http://ADDR` or `https://ADDR`, as printed (without a trailing `/`).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// Reads `listening on http://ADDR` (or `https://`), with an optional `entrypoint NAME` (or
/// `entrypoint=NAME`) before it, from one line of output. Colour codes and a trailing `/` are
/// ignored, so a log line that says it works too.
pub fn parse_listening(line: &str) -> Option<Listening> {
    let line = strip_ansi(line);
    let at = line.find("listening on http")?;
    let rest = &line[at + "listening on http".len()..];
    let (https, rest) = match rest.strip_prefix("s://") {
        Some(rest) => (true, rest),
        None => (false, rest.strip_prefix("://")?),
    };
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .unwrap_or(rest.len());
    let addr: SocketAddr = rest[..end].trim_end_matches('/').parse().ok()?;
    let name = line[..at].find("entrypoint").and_then(|i| {
        let after = line[i + "entrypoint".len()..at].trim_start_matches([' ', '=', ':', '"']);
        let word: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!word.is_empty()).then_some(word)
    });
    Some(Listening { name, addr, https })
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_backend_and_proxy_address_lines() {
        let l = parse_listening("listening on http://127.0.0.1:41234").unwrap();
        assert_eq!(l.addr, "127.0.0.1:41234".parse().unwrap());
        assert_eq!(l.name, None);
        assert_eq!(l.url(), "http://127.0.0.1:41234");

        let l = parse_listening(
            "\u{1b}[2m2026-11-24T14:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m proxy: entrypoint web listening on http://127.0.0.1:8000/",
        )
        .unwrap();
        assert_eq!(l.name.as_deref(), Some("web"));
        assert_eq!(l.addr.port(), 8000);
        assert!(!l.https);

        let l =
            parse_listening("INFO entrypoint=traefik listening on http://127.0.0.1:9/ x").unwrap();
        assert_eq!(l.name.as_deref(), Some("traefik"));
        let l =
            parse_listening("entrypoint websecure listening on https://127.0.0.1:8443").unwrap();
        assert_eq!(l.name.as_deref(), Some("websecure"));
        assert_eq!(l.addr.port(), 8443);
        assert!(l.https);
        assert_eq!(l.url(), "https://127.0.0.1:8443");
        assert!(parse_listening("starting up").is_none());
        assert!(parse_listening("listening on http://nowhere").is_none());
    }
}
