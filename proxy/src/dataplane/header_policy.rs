//! The header policy: what the proxy changes in a request's headers on the way to a server.
//! Stated once here ([`Forward::fate`] for each header the client sent, then what is added),
//! and rendered two ways: onto the raw bytes the fast path copies ([`Forward::write_request`])
//! and onto hyper's `HeaderMap` ([`Forward::apply`]).
//!
//! - **Hop-by-hop headers** describe one connection, so they are dropped (RFC 9110 §7.6.1):
//!   [`HOP_BY_HOP`], and every header the `Connection` header names. An upgrade (WebSocket)
//!   keeps `Upgrade`, with `Connection: upgrade`.
//! - **Forwarded headers** tell the server about the client: `X-Forwarded-For` and `X-Real-Ip`
//!   (the client's address), `X-Forwarded-Proto` (`http` or `https`), `X-Forwarded-Port` (the
//!   entrypoint's port) and `X-Forwarded-Host` (the client's `Host`). A trusted client's
//!   (`forwardedheaders.trustedips` / `.insecure`) are kept, its address appended to
//!   `X-Forwarded-For`; any other client's, and its `Forwarded`, are dropped and set afresh, so
//!   that no client can pose as another address.
//! - **The proxy's sticky cookies** are for the proxy: removed from `Cookie`.
//! - **`Host`**: the client's (`passHostHeader`, the default), else the server's. A `Host` that
//!   `Connection` names is dropped like the others: the server's then, and no `X-Forwarded-Host`.
//! - **The middlewares' edits** come last: a header they set replaces the client's and the
//!   proxy's; one they remove is dropped.
//!
//! Responses only lose their hop-by-hop headers ([`remove_hop_by_hop`] on hyper's path,
//! `crate::dataplane::h1::head` on the fast path, with [`is_hop_by_hop`] and
//! [`ConnectionNamed`]).

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::balance::sticky;

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// The forwarded headers with one value each: a trusted client's are kept, the others set by
/// the proxy, in this order (their values: [`Forward::finish`]).
static FORWARDED_SET: [&HeaderName; 4] = [
    &X_REAL_IP,
    &X_FORWARDED_PROTO,
    &X_FORWARDED_PORT,
    &X_FORWARDED_HOST,
];

/// The hop-by-hop headers (RFC 9110 §7.6.1), and `Proxy-Connection`, which old clients send.
pub static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// Whether `name` (any case) is one of [`HOP_BY_HOP`].
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n.as_str()))
}

/// The header names a message's `Connection` headers list (`close` and `keep-alive` are
/// options, not names).
#[derive(Debug, Default)]
pub struct ConnectionNamed<'a>(Vec<&'a [u8]>);

impl<'a> ConnectionNamed<'a> {
    /// Reads the values of every `Connection` header of a message.
    pub fn of(values: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut named = Vec::new();
        for v in values {
            for t in v.split(|&b| b == b',') {
                let t = t.trim_ascii();
                if !t.is_empty()
                    && !t.eq_ignore_ascii_case(b"close")
                    && !t.eq_ignore_ascii_case(b"keep-alive")
                {
                    named.push(t);
                }
            }
        }
        Self(named)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|n| name.as_bytes().eq_ignore_ascii_case(n))
    }
}

/// A header a middleware sets, or without a value removes (see `crate::middleware::Rewrite`).
pub type Edit = (HeaderName, Option<HeaderValue>);

/// What the policy needs to know of a request's client, connection and route.
#[derive(Debug)]
pub struct Forward<'a> {
    /// The client's address ([`ip_value`]), for `X-Forwarded-For` and `X-Real-Ip`.
    pub client_ip: &'a HeaderValue,
    /// The client may set the forwarded headers itself.
    pub trusted: bool,
    /// The entrypoint's port, for `X-Forwarded-Port`.
    pub port: &'a HeaderValue,
    /// The connection's scheme (`http`, `https`), for `X-Forwarded-Proto`.
    pub proto: &'static str,
    /// Every sticky cookie's name: removed from `Cookie`.
    pub sticky_names: &'a [String],
    /// Keep the client's `Host` (`passHostHeader`, on by default); else the server's.
    pub pass_host: bool,
    /// Headers the middlewares set (replacing the client's) or, without a value, remove.
    pub edits: &'a [Edit],
}

/// What becomes of a header the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Drop,
    Keep,
    /// `Host`: its value is `X-Forwarded-Host`'s; kept with `passHostHeader`.
    Host {
        keep: bool,
    },
    /// A trusted client's `X-Forwarded-For`: the client's address is appended to it.
    For,
    /// A trusted client's [`FORWARDED_SET`] header `i`: kept, so the proxy does not set it.
    Forwarded(usize),
    /// `Cookie` with the proxy's cookies in it: kept without them.
    Cookie,
}

/// One request's headers on their way through the policy: what is read of them first, and
/// what the proxy gathers from them for the headers it adds.
#[derive(Default)]
struct Pass<'h> {
    named: ConnectionNamed<'h>,
    /// A `Cookie` header has one of the proxy's cookies.
    own_cookies: bool,
    /// The request is a protocol upgrade passed through.
    upgrade: bool,
    /// The client's `Host`, and whether it is kept.
    host: Option<&'h [u8]>,
    host_kept: bool,
    /// A trusted client's `X-Forwarded-For` values.
    xff: Vec<&'h [u8]>,
    /// Which of [`FORWARDED_SET`] a trusted client sent (kept, so not set).
    seen: [bool; FORWARDED_SET.len()],
    /// The `Cookie` values, without the proxy's cookies.
    cookies: Vec<String>,
}

impl Forward<'_> {
    fn start<'h>(
        &self,
        connection: impl Iterator<Item = &'h [u8]>,
        mut cookies: impl Iterator<Item = &'h [u8]>,
        upgrade: bool,
    ) -> Pass<'h> {
        let names = self.sticky_names;
        let own_cookies = !names.is_empty()
            && cookies.any(|v| {
                names
                    .iter()
                    .any(|n| v.windows(n.len()).any(|w| w == n.as_bytes()))
            });
        Pass {
            named: ConnectionNamed::of(connection),
            own_cookies,
            upgrade,
            ..Pass::default()
        }
    }

    /// A middleware sets or removes header `name`.
    fn edited(&self, name: &str) -> bool {
        self.edits
            .iter()
            .any(|(n, _)| name.eq_ignore_ascii_case(n.as_str()))
    }

    /// A middleware sets header `name`.
    fn sets(&self, name: &str) -> bool {
        self.edits
            .iter()
            .any(|(n, v)| v.is_some() && name.eq_ignore_ascii_case(n.as_str()))
    }

    /// The policy for one header the client sent.
    fn fate(&self, name: &str, r: &Pass<'_>) -> Fate {
        if r.upgrade && name.eq_ignore_ascii_case("upgrade") {
            return Fate::Keep;
        }
        if is_hop_by_hop(name) || r.named.contains(name) {
            return Fate::Drop;
        }
        if name.eq_ignore_ascii_case("host") {
            return Fate::Host {
                keep: self.pass_host && !self.edited("host"),
            };
        }
        if self.edited(name) {
            return Fate::Drop;
        }
        // The forwarded headers: a trusted client's are kept, any other client's dropped.
        let trusted = |fate| if self.trusted { fate } else { Fate::Drop };
        if name.eq_ignore_ascii_case(X_FORWARDED_FOR.as_str()) {
            return trusted(Fate::For);
        }
        if let Some(i) = FORWARDED_SET
            .iter()
            .position(|n| name.eq_ignore_ascii_case(n.as_str()))
        {
            return trusted(Fate::Forwarded(i));
        }
        if name.eq_ignore_ascii_case("forwarded") {
            return trusted(Fate::Keep);
        }
        if r.own_cookies && name.eq_ignore_ascii_case("cookie") {
            return Fate::Cookie;
        }
        Fate::Keep
    }

    /// Takes the client's header `name: value` through the policy; says whether it is kept
    /// as it is.
    fn take<'h>(&self, p: &mut Pass<'h>, name: &str, value: &'h [u8]) -> bool {
        match self.fate(name, p) {
            Fate::Drop => false,
            Fate::Keep => true,
            Fate::Host { keep } => {
                (p.host, p.host_kept) = (Some(value), keep);
                keep
            }
            Fate::For => {
                p.xff.push(value);
                false
            }
            Fate::Forwarded(i) => {
                p.seen[i] = true;
                true
            }
            Fate::Cookie => {
                let kept = std::str::from_utf8(value).ok();
                p.cookies
                    .extend(kept.and_then(|v| sticky::strip_cookies(v, self.sticky_names)));
                false
            }
        }
    }

    /// Gives `put` the headers the proxy adds after the client's kept ones, in order: the
    /// server's `Host` (`server_host`, where neither the client's is kept nor a middleware
    /// sets one), the forwarded headers, the middlewares' headers, the client's cookies without
    /// the proxy's. A header a middleware sets or removes is the middleware's alone.
    fn finish(
        &self,
        p: &Pass<'_>,
        server_host: Option<&[u8]>,
        mut put: impl FnMut(&HeaderName, &[u8]),
    ) {
        if let (Some(h), false) = (server_host, p.host_kept || self.sets("host")) {
            put(&header::HOST, h);
        }
        let ip = self.client_ip.as_bytes();
        if !self.edited(X_FORWARDED_FOR.as_str()) {
            if p.xff.is_empty() {
                put(&X_FORWARDED_FOR, ip);
            } else {
                let list: Vec<&[u8]> = p.xff.iter().copied().chain([ip]).collect();
                put(&X_FORWARDED_FOR, &list.join(&b", "[..]));
            }
        }
        // Without the client's `Host` there is no `X-Forwarded-Host`.
        let values = [
            Some(ip),
            Some(self.proto.as_bytes()),
            Some(self.port.as_bytes()),
            p.host,
        ];
        for ((name, value), seen) in FORWARDED_SET.iter().zip(values).zip(p.seen) {
            if let (Some(v), false) = (value, seen || self.edited(name.as_str())) {
                put(name, v);
            }
        }
        for (name, value) in self.edits {
            if let Some(v) = value {
                put(name, v.as_bytes());
            }
        }
        if !p.cookies.is_empty() && !self.edited("cookie") {
            put(&header::COOKIE, p.cookies.join("; ").as_bytes());
        }
    }

    /// The request head for a server, written into `out` (cleared first): `method`, `target`
    /// (its path and query), the client's `headers` as the policy has them, and `server_host`
    /// where neither the client's `Host` is kept nor a middleware sets one.
    pub fn write_request(
        &self,
        out: &mut Vec<u8>,
        method: &str,
        target: &str,
        headers: &[httparse::Header<'_>],
        server_host: &[u8],
    ) {
        out.clear();
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let named = |name: &'static str| {
            headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let mut p = self.start(named("connection"), named("cookie"), false);
        for h in headers {
            if self.take(&mut p, h.name, h.value) {
                header(out, h.name.as_bytes(), h.value);
            }
        }
        self.finish(&p, Some(server_host), |n, v| {
            header(out, n.as_str().as_bytes(), v)
        });
        out.extend_from_slice(b"\r\n");
    }

    /// The policy applied to a request's headers as hyper read them; `upgrade`: the request
    /// is a protocol upgrade passed through. Where neither the client's `Host` is kept nor a
    /// middleware sets one there is none: each try sets its server's.
    pub fn apply(&self, headers: &mut HeaderMap, upgrade: bool) {
        let client = std::mem::take(headers);
        let values = |name| client.get_all(name).into_iter().map(HeaderValue::as_bytes);
        let mut p = self.start(values(header::CONNECTION), values(header::COOKIE), upgrade);
        for (name, value) in &client {
            if self.take(&mut p, name.as_str(), value.as_bytes()) {
                headers.append(name.clone(), value.clone());
            }
        }
        // Header values the client or the proxy gave: valid ones.
        self.finish(&p, None, |n, v| {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(n.clone(), v);
            }
        });
        if upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
    }
}

/// Writes the header line `name: value`.
pub fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Removes a response's hop-by-hop headers, and those its `Connection` names. With `upgrade`
/// (a `101` passed through), `Upgrade` stays, with `Connection: upgrade`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    let connection = headers.get_all(header::CONNECTION).iter();
    let named: Vec<HeaderName> = ConnectionNamed::of(connection.map(HeaderValue::as_bytes))
        .0
        .into_iter()
        .filter_map(|n| HeaderName::from_bytes(n).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        if !(upgrade && name == header::UPGRADE) {
            headers.remove(name);
        }
    }
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Whether a request asks for a protocol upgrade (WebSocket, ...).
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
}

/// A client address as a header value (IPv4-mapped IPv6 shown as IPv4).
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    HeaderValue::from_str(&ip.to_string()).expect("an IP address is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static CLIENT_IP: HeaderValue = HeaderValue::from_static("10.0.0.9");
    static PORT: HeaderValue = HeaderValue::from_static("80");
    const SERVER_HOST: &[u8] = b"10.0.0.2:80";

    fn untrusted() -> Forward<'static> {
        Forward {
            client_ip: &CLIENT_IP,
            trusted: false,
            port: &PORT,
            proto: "http",
            sticky_names: &[],
            pass_host: true,
            edits: &[],
        }
    }

    fn parse<'h, 'b>(
        text: &'b str,
        headers: &'h mut [httparse::Header<'b>],
    ) -> httparse::Request<'h, 'b> {
        let mut r = httparse::Request::new(headers);
        assert!(r.parse(text.as_bytes()).unwrap().is_complete());
        r
    }

    /// The head the fast path sends for request `text`.
    fn forward(text: &str, f: &Forward<'_>, target: &str) -> String {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let r = parse(text, &mut headers);
        let mut out = Vec::new();
        f.write_request(&mut out, r.method.unwrap(), target, r.headers, SERVER_HOST);
        String::from_utf8(out).unwrap()
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn untrusted_clients_cannot_spoof_and_hop_by_hop_headers_stay() {
        let out = forward(
            "GET /x HTTP/1.1\r\nHost: demo.res.ch\r\nX-Forwarded-For: 1.2.3.4\r\n\
             X-Forwarded-Host: evil\r\nX-Real-Ip: 1.1.1.1\r\nForwarded: for=1.2.3.4\r\n\
             Connection: keep-alive, x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n\
             TE: trailers\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n\
             Accept: */*\r\n\r\n",
            &untrusted(),
            "/base/x?y=1",
        );
        assert_eq!(
            out,
            "GET /base/x?y=1 HTTP/1.1\r\nHost: demo.res.ch\r\nAccept: */*\r\n\
             x-forwarded-for: 10.0.0.9\r\nx-real-ip: 10.0.0.9\r\nx-forwarded-proto: http\r\n\
             x-forwarded-port: 80\r\nx-forwarded-host: demo.res.ch\r\n\r\n"
        );
        let mut h = map(&[
            ("host", "demo.res.ch"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-host", "evil"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        untrusted().apply(&mut h, false);
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        assert_eq!(h["x-forwarded-host"], "demo.res.ch");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "80");
        assert_eq!(h["x-real-ip"], "10.0.0.9");
        assert!(!h.contains_key("forwarded"));
    }

    #[test]
    fn trusted_clients_are_appended_to_and_kept() {
        let f = Forward {
            trusted: true,
            ..untrusted()
        };
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8\r\n\
             X-Forwarded-Proto: https\r\nForwarded: for=1.2.3.4\r\n\r\n",
            &f,
            "/",
        );
        assert!(
            out.contains("x-forwarded-for: 1.2.3.4, 5.6.7.8, 10.0.0.9\r\n"),
            "{out}"
        );
        assert!(out.contains("X-Forwarded-Proto: https\r\n") && !out.contains("http\r\n"));
        assert!(out.contains("Forwarded: for=1.2.3.4\r\n"));
        assert!(out.contains("x-forwarded-host: a\r\n"));
        let mut h = map(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "5.6.7.8"),
        ]);
        let https = Forward {
            proto: "https",
            ..f
        };
        https.apply(&mut h, false);
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 5.6.7.8, 10.0.0.9");
    }

    #[test]
    fn host_prefix_and_sticky_cookies() {
        let names = ["_lb".to_string()];
        let edits = [(
            HeaderName::from_static("x-forwarded-prefix"),
            Some(HeaderValue::from_static("/api")),
        )];
        let f = Forward {
            sticky_names: &names,
            pass_host: false,
            edits: &edits,
            ..untrusted()
        };
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1; _lb=abc\r\nCookie: _lb=zz\r\n\
             X-Forwarded-Prefix: /evil\r\n\r\n",
            &f,
            "/",
        );
        assert!(
            !out.contains("Host: a") && out.contains("host: 10.0.0.2:80\r\n"),
            "{out}"
        );
        assert!(out.contains("x-forwarded-host: a\r\n"));
        assert!(out.contains("x-forwarded-prefix: /api\r\n") && !out.contains("/evil"));
        assert!(
            out.contains("cookie: x=1\r\n") && !out.contains("_lb"),
            "{out}"
        );
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: _lb=abc\r\n\r\n",
            &f,
            "/",
        );
        assert!(!out.to_ascii_lowercase().contains("cookie"), "{out}");
        // `Connection: host` drops the client's Host: the server's instead, no X-Forwarded-Host.
        let out = forward(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n",
            &untrusted(),
            "/",
        );
        assert!(
            out.contains("host: 10.0.0.2:80\r\n") && !out.contains("Host: a"),
            "{out}"
        );
        assert!(!out.contains("x-forwarded-host"), "{out}");
        // On a header map: one Cookie without ours, none when only ours were there.
        let names = ["_abcde".to_string()];
        let f = Forward {
            sticky_names: &names,
            ..untrusted()
        };
        let mut h = map(&[("cookie", "a=1; _abcde=zz"), ("cookie", "_abcde=yy")]);
        f.apply(&mut h, false);
        assert_eq!(h.get_all(header::COOKIE).iter().count(), 1);
        assert_eq!(h[header::COOKIE], "a=1");
        let mut h = map(&[("cookie", "_abcde=zz")]);
        f.apply(&mut h, false);
        assert!(!h.contains_key(header::COOKIE));
    }

    #[test]
    fn responses_lose_hop_by_hop_and_named_headers() {
        let mut h = map(&[
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-connection", "keep-alive"),
            ("x-kept", "1"),
        ]);
        remove_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn upgrades_keep_their_headers() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        assert!(wants_upgrade(&h));
        remove_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        let mut h = map(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("host", "a"),
        ]);
        untrusted().apply(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
    }

    /// Sorted `(name, value)` pairs, names in lower case.
    fn pairs<'a>(it: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = it
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
            .collect();
        v.sort();
        v
    }

    fn client_header() -> impl Strategy<Value = (String, String)> {
        let token =
            prop::sample::select(vec!["close", "keep-alive", "x-a", "host", "cookie", "te"]);
        prop_oneof![
            prop::collection::vec(token, 1..3).prop_map(|t| ("Connection".into(), t.join(", "))),
            "(a=1|_lb=x|b=2)(; (a=1|_lb=y))?".prop_map(|v| ("Cookie".into(), v)),
            (
                prop::sample::select(vec![
                    "X-Forwarded-For",
                    "x-forwarded-host",
                    "X-Real-Ip",
                    "X-Forwarded-Proto",
                    "Forwarded",
                    "Keep-Alive",
                    "TE",
                    "X-A",
                    "x-b",
                    "X-Forwarded-Prefix",
                ]),
                "[a-z0-9.]{1,8}",
            )
                .prop_map(|(n, v)| (n.to_string(), v)),
        ]
    }

    proptest! {
        /// The two renderers are one policy: for any request, hyper's header map and the fast
        /// path's bytes end up with the same headers (hyper's path adds the server's `Host`
        /// where the policy left none, as each try does).
        #[test]
        fn the_bytes_and_the_header_map_agree(
            headers in prop::collection::vec(client_header(), 0..8),
            trusted in any::<bool>(),
            pass_host in any::<bool>(),
            edits in 0..4usize,
        ) {
            let names = ["_lb".to_string()];
            let edit = |n: &'static str, v: Option<&'static str>| {
                (HeaderName::from_static(n), v.map(HeaderValue::from_static))
            };
            let edits = match edits {
                0 => vec![],
                1 => vec![edit("x-forwarded-prefix", Some("/api"))],
                2 => vec![edit("x-real-ip", None), edit("cookie", Some("c=1"))],
                _ => vec![edit("host", Some("edited")), edit("x-forwarded-for", Some("1.1.1.1"))],
            };
            let f = Forward {
                trusted,
                sticky_names: &names,
                pass_host,
                edits: &edits,
                ..untrusted()
            };
            let mut text = String::from("GET / HTTP/1.1\r\nHost: a.b\r\n");
            for (n, v) in &headers {
                text.push_str(&format!("{n}: {v}\r\n"));
            }
            text.push_str("\r\n");
            let mut hs = [httparse::EMPTY_HEADER; 16];
            let req = parse(&text, &mut hs);

            let mut out = Vec::new();
            f.write_request(&mut out, "GET", "/", req.headers, SERVER_HOST);
            let mut hs2 = [httparse::EMPTY_HEADER; 32];
            let sent = httparse::Request::new(&mut hs2);
            let mut sent = sent;
            prop_assert!(sent.parse(&out).unwrap().is_complete());
            let bytes = pairs(sent.headers.iter().map(|h| (h.name, h.value)));

            let mut m = HeaderMap::new();
            for h in req.headers.iter() {
                m.append(
                    HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(h.value).unwrap(),
                );
            }
            f.apply(&mut m, false);
            if !m.contains_key(header::HOST) {
                m.insert(header::HOST, HeaderValue::from_static("10.0.0.2:80"));
            }
            let hyper = pairs(m.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
            prop_assert_eq!(bytes, hyper, "{}", text);
        }
    }
}
