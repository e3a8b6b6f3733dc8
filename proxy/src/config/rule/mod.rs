//! The rule language: ``Host(`demo.res.ch`) && PathPrefix(`/api/`)`` parsed into a matcher.
//!
//! Traefik's two syntaxes, so rules copied from Traefik's docs and the lab's labels work as is:
//! v3 (the default), and v2 for a router with `ruleSyntax=v2` or with
//! `--core.defaultRuleSyntax=v2` ([`RuleSyntax`]). The report's rules
//! (``Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)``) read the same in both.
//! - Both: `Host`, `HostRegexp`, `Path`, `PathPrefix`, `Method`, `Query`, `ClientIP`; `&&` binds
//!   tighter than `||`; `!` negates; parentheses group. Strings in backticks (raw) or double
//!   quotes (Go escapes: `\"`, `\\`, `\n`, `\t`, `\r`, `\xHH` (ASCII only), `\uHHHH`,
//!   `\UHHHHHHHH`); a trailing comma is allowed, as in Go.
//! - v3 only: `Header(name, value)`, `HeaderRegexp(name, regex)`, `PathRegexp(regex)`,
//!   `QueryRegexp(key, regex)`. One value per matcher (combine with `||`); `Query(key, value)`.
//! - v2 only: `HostHeader` (= `Host`), `Headers`, `HeadersRegexp`; several values meaning "any
//!   of them" (``Host(`a`, `b`)``), except `Query`, where (gorilla/mux `Queries`) every
//!   ``Query(`k=v`)`` must be present; mux templates (`{id:[0-9]+}`) in `HostRegexp`, `Path`,
//!   `PathPrefix` and `Query` values.
//!
//! A rule written for the other syntax is refused with the fix: ``Host(`a`, `b`)`` under v3
//! says to write ``Host(`a`) || Host(`b`)`` or set `ruleSyntax=v2` (`syntax.rs` has them all).
//!
//! Matching semantics (Traefik's, with the differences written down):
//! - `Host` compares without case, without the port, and ignores a trailing dot.
//! - `HostRegexp`, matched against the host without its port and without case (host names have
//!   none; Traefik lowers the host): v3, a plain unanchored regular expression; v2, a template
//!   (`{sub:[a-z]+}.example.com`, `{name}` = `[^.]+`), anchored.
//! - `Path` is exact, `PathPrefix` a byte prefix, both case-sensitive; paths start with `/`.
//!   `PathRegexp` (v3) is unanchored. v2's templates: `/users/{id:[0-9]+}`, `{name}` = `[^/]+`.
//! - `Method` compares with the upper-cased argument.
//! - `Header` (v3) needs a header with exactly that value; v2's `Headers` takes any value when
//!   the value is empty. `HeaderRegexp`/`HeadersRegexp`: unanchored.
//! - Query values are percent-decoded (`+` is a space). v3: ``Query(`k`, `v`)`` a parameter `k`
//!   equal to `v`, ``Query(`k`)`` a `k` with an empty value, `QueryRegexp` unanchored. v2:
//!   ``Query(`k=v`)``, and ``Query(`k`)`` or ``Query(`k=`)`` for `k` with any value.
//! - `ClientIP`: the connection's peer address (not `X-Forwarded-For`), IPs or CIDRs, IPv4-mapped
//!   IPv6 addresses treated as IPv4.
//!
//! Matching is on the hot path: host names are lowered and regexes compiled at parse time, and
//! matching allocates nothing (except a `Query` regex on a percent-encoded value).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use regex::Regex;

use crate::parse::IpNet;

mod compile;
mod matching;
mod parse;
mod path_info;
mod syntax;
#[cfg(test)]
mod tests;

use compile::*;
use parse::*;
use path_info::*;
pub use syntax::RuleSyntax;

/// What a rule looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The Host header (or the URI's authority), possibly with a port.
    pub host: &'a str,
    pub path: &'a str,
    pub method: &'a http::Method,
    pub headers: Headers<'a>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub client_ip: IpAddr,
}

/// A request's headers as either data path holds them: hyper's header map, or the fast path's
/// headers parsed in place (`crate::dataplane::h1`). Rules read both alike, so a `Headers` rule routes a
/// request the same way whichever path serves it.
#[derive(Debug, Clone, Copy)]
pub enum Headers<'a> {
    Map(&'a http::HeaderMap),
    Raw(&'a [httparse::Header<'a>]),
}

impl<'a> Headers<'a> {
    /// The first `Some` that `f` gives for a value of header `name`.
    pub fn find_map<T>(self, name: &HeaderName, f: impl FnMut(&'a [u8]) -> Option<T>) -> Option<T> {
        match self {
            Headers::Map(m) => m
                .get_all(name)
                .into_iter()
                .map(HeaderValue::as_bytes)
                .find_map(f),
            Headers::Raw(r) => r
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name.as_str()))
                .map(|h| h.value)
                .find_map(f),
        }
    }

    /// Whether a value of header `name` satisfies `test`.
    pub fn any(self, name: &HeaderName, mut test: impl FnMut(&[u8]) -> bool) -> bool {
        self.find_map(name, |v| test(v).then_some(())).is_some()
    }
}

/// A header value as text, as `HeaderValue::to_str` gives it: visible ASCII, spaces and tabs.
pub fn header_text(v: &[u8]) -> Option<&str> {
    v.iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        .then(|| std::str::from_utf8(v).ok())
        .flatten()
}

/// A rule that does not parse. `position` is a byte offset into the rule text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule error at position {position}: {message}")]
pub struct RuleError {
    pub position: usize,
    pub message: String,
}

/// The matchers of the language, both syntaxes' (`syntax.rs` says which has which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    Host,
    HostHeader,
    HostRegexp,
    Path,
    PathPrefix,
    PathRegexp,
    Method,
    Header,
    Headers,
    HeaderRegexp,
    HeadersRegexp,
    Query,
    QueryRegexp,
    ClientIP,
}

impl Matcher {
    const ALL: [Matcher; 14] = [
        Matcher::Host,
        Matcher::HostHeader,
        Matcher::HostRegexp,
        Matcher::Path,
        Matcher::PathPrefix,
        Matcher::PathRegexp,
        Matcher::Method,
        Matcher::Header,
        Matcher::Headers,
        Matcher::HeaderRegexp,
        Matcher::HeadersRegexp,
        Matcher::Query,
        Matcher::QueryRegexp,
        Matcher::ClientIP,
    ];

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            Matcher::Host => "Host",
            Matcher::HostHeader => "HostHeader",
            Matcher::HostRegexp => "HostRegexp",
            Matcher::Path => "Path",
            Matcher::PathPrefix => "PathPrefix",
            Matcher::PathRegexp => "PathRegexp",
            Matcher::Method => "Method",
            Matcher::Header => "Header",
            Matcher::Headers => "Headers",
            Matcher::HeaderRegexp => "HeaderRegexp",
            Matcher::HeadersRegexp => "HeadersRegexp",
            Matcher::Query => "Query",
            Matcher::QueryRegexp => "QueryRegexp",
            Matcher::ClientIP => "ClientIP",
        }
    }

    fn from_name(name: &str) -> Option<Matcher> {
        Matcher::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The syntax tree of a rule, as written (parentheses aside). `Display` prints it back in a form
/// that parses to the same tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `a && b && ...` (two or more operands).
    And(Vec<Expr>),
    /// `a || b || ...` (two or more operands).
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Call(Matcher, Vec<String>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
            match e {
                Expr::And(_) | Expr::Or(_) => write!(f, "({e})"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            Expr::And(items) | Expr::Or(items) => {
                let op = if matches!(self, Expr::And(_)) {
                    " && "
                } else {
                    " || "
                };
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    operand(f, e)?;
                }
                Ok(())
            }
            Expr::Not(e) => {
                f.write_str("!")?;
                operand(f, e)
            }
            Expr::Call(m, args) => {
                write!(f, "{}(", m.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if a.contains('`') {
                        f.write_str("\"")?;
                        for c in a.chars() {
                            match c {
                                '"' => f.write_str("\\\"")?,
                                '\\' => f.write_str("\\\\")?,
                                '\n' => f.write_str("\\n")?,
                                '\r' => f.write_str("\\r")?,
                                '\t' => f.write_str("\\t")?,
                                c if c.is_control() => write!(f, "\\U{:08x}", c as u32)?,
                                c => write!(f, "{c}")?,
                            }
                        }
                        f.write_str("\"")?;
                    } else {
                        write!(f, "`{a}`")?;
                    }
                }
                f.write_str(")")
            }
        }
    }
}

/// A parsed rule, cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Rule {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    text: String,
    expr: Expr,
    node: Node,
    prefix: PathInfo,
}

impl PartialEq for Rule {
    /// Two rules are equal when their texts are.
    fn eq(&self, other: &Self) -> bool {
        self.inner.text == other.inner.text
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.text)
    }
}

impl Rule {
    /// Parses `text` in the default syntax, v3.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        Rule::parse_with(text, RuleSyntax::default())
    }

    /// Parses `text` in `syntax`; a form of the other syntax is an error that names the fix.
    pub fn parse_with(text: &str, syntax: RuleSyntax) -> Result<Rule, RuleError> {
        let (expr, spans) = Parser::new(text).parse()?;
        let node = Compiler::new(syntax, spans).node(&expr)?;
        let prefix = path_info(&expr);
        Ok(Rule {
            inner: Arc::new(Inner {
                text: text.to_string(),
                expr,
                node,
                prefix,
            }),
        })
    }

    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.inner.expr
    }

    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.inner.node.matches(req)
    }

    /// The longest path prefix that every request this rule matches must start with (`/` when
    /// nothing narrower is known): ``PathPrefix(`/api/jokes/`)`` gives `/api/jokes/`,
    /// ``Path(`/x`)`` gives `/x`, an `||` of two prefixes their common start.
    pub fn path_prefix(&self) -> String {
        self.inner.prefix.prefix.clone()
    }

    /// A `Path` for the sticky cookie: the narrowest path such that the browser sends the cookie
    /// back with *every* request this rule matches (RFC 6265 path-match). It is
    /// [`path_prefix`](Self::path_prefix) when that ends with `/` or is an exact `Path`, else cut
    /// back to its last `/`: for ``PathPrefix(`/api`)`` it is `/`, since `/apix` matches the rule
    /// but a cookie scoped to `/api` would not be sent with it. Always safe to put in a
    /// `Set-Cookie` header (no `;`, spaces or control characters; else `/`).
    pub fn cookie_path(&self) -> String {
        let c = &self.inner.prefix.cookie;
        if c.starts_with('/')
            && c.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            c.clone()
        } else {
            "/".to_string()
        }
    }

    /// Traefik's default priority: the rule's length in bytes.
    pub fn default_priority(&self) -> i64 {
        i64::try_from(self.inner.text.len()).unwrap_or(i64::MAX)
    }
}
