//! Testing a request against a compiled rule: host, path, method, headers, query and client
//! address, as Traefik matches them.

use super::*;

// ---------------------------------------------------------------------------------------------
// Matching

/// The request's host without port, brackets or trailing dot.
pub(super) fn bare_host(host: &str) -> &str {
    let h = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else if host.bytes().filter(|&b| b == b':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    h.strip_suffix('.').unwrap_or(h)
}

impl Node {
    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        match self {
            Node::And(items) => items.iter().all(|n| n.matches(req)),
            Node::Or(items) => items.iter().any(|n| n.matches(req)),
            Node::Not(n) => !n.matches(req),
            Node::Host(hosts) => {
                let h = bare_host(req.host);
                hosts.iter().any(|x| x.eq_ignore_ascii_case(h))
            }
            Node::HostRegexp(pats) => pats.iter().any(|p| {
                let h = if p.strip_port {
                    bare_host(req.host)
                } else {
                    req.host
                };
                p.regex.is_match(h)
            }),
            Node::Path(pats) => pats.iter().any(|p| match p {
                PathPattern::Literal(l) => req.path == l,
                PathPattern::Template(re) => re.is_match(req.path),
            }),
            Node::PathPrefix(pats) => pats.iter().any(|p| match p {
                PathPattern::Literal(l) => req.path.starts_with(l.as_str()),
                PathPattern::Template(re) => re.is_match(req.path),
            }),
            Node::PathRegexp(re) => re.is_match(req.path),
            Node::Method(methods) => methods.iter().any(|m| m == req.method.as_str()),
            Node::Header(name, value) => req.headers.any(name, |v| {
                value.as_ref().is_none_or(|value| v == value.as_bytes())
            }),
            Node::HeaderRegexp(name, re) => req
                .headers
                .any(name, |v| header_text(v).is_some_and(|s| re.is_match(s))),
            Node::Query(tests) => {
                let q = req.query.unwrap_or("");
                tests.iter().all(|t| query_has(q, t))
            }
            Node::ClientIp(nets) => nets.iter().any(|n| n.contains(req.client_ip)),
        }
    }
}

pub(super) fn query_has(query: &str, t: &QueryTest) -> bool {
    query.split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !decoded_eq(k, &t.key) {
            return false;
        }
        match &t.value {
            QueryValue::Any => true,
            QueryValue::Exact(x) => decoded_eq(v, x),
            QueryValue::Regex(re) => re.is_match(&decode(v)),
        }
    })
}

pub(super) fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Iterates the bytes of a form-encoded component, decoded (`%41` = `A`, `+` = space; a `%` not
/// followed by two hex digits is kept as is).
pub(super) fn decoded_bytes(raw: &str) -> impl Iterator<Item = u8> + '_ {
    let b = raw.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let c = *b.get(i)?;
        i += 1;
        Some(match c {
            b'+' => b' ',
            b'%' => match (
                b.get(i).copied().and_then(hex_val),
                b.get(i + 1).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => {
                    i += 2;
                    h * 16 + l
                }
                _ => b'%',
            },
            c => c,
        })
    })
}

pub(super) fn decoded_eq(raw: &str, expected: &str) -> bool {
    decoded_bytes(raw).eq(expected.bytes())
}

pub(super) fn decode(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains(['%', '+']) {
        String::from_utf8_lossy(&decoded_bytes(raw).collect::<Vec<u8>>())
            .into_owned()
            .into()
    } else {
        raw.into()
    }
}
