//! Compiling an [`Expr`] into the tree of matchers ([`Node`]) that requests are tested against:
//! host and path patterns, regexes and networks are checked and built once, here.

use super::*;

// ---------------------------------------------------------------------------------------------
// Compiling

#[derive(Debug)]
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Lower-cased host names without trailing dot or brackets.
    Host(Vec<String>),
    HostRegexp(Vec<HostPattern>),
    Path(Vec<PathPattern>),
    PathPrefix(Vec<PathPattern>),
    /// v3's `PathRegexp`, unanchored.
    PathRegexp(Regex),
    Method(Vec<String>),
    /// `None`: any value (v2's `Headers` with an empty value).
    Header(HeaderName, Option<String>),
    HeaderRegexp(HeaderName, Regex),
    /// All must be present.
    Query(Vec<QueryTest>),
    ClientIp(Vec<IpNet>),
}

#[derive(Debug)]
pub(super) struct HostPattern {
    pub(super) regex: Regex,
    /// The pattern names no port: match the host without it.
    pub(super) strip_port: bool,
}

#[derive(Debug)]
pub(super) enum PathPattern {
    Literal(String),
    Template(Regex),
}

#[derive(Debug)]
pub(super) struct QueryTest {
    pub(super) key: String,
    pub(super) value: QueryValue,
}

#[derive(Debug)]
pub(super) enum QueryValue {
    Any,
    Exact(String),
    /// A v2 template (anchored) or v3's `QueryRegexp` (unanchored).
    Regex(Regex),
}

pub(super) struct Compiler {
    syntax: RuleSyntax,
    spans: Spans,
    next_arg: usize,
    next_call: usize,
}

impl Compiler {
    pub(super) fn new(syntax: RuleSyntax, spans: Spans) -> Self {
        Compiler {
            syntax,
            spans,
            next_arg: 0,
            next_call: 0,
        }
    }

    /// The position of the next argument (arguments are compiled in parse order).
    fn pos(&mut self) -> usize {
        let p = self.spans.args.get(self.next_arg).copied().unwrap_or(0);
        self.next_arg += 1;
        p
    }

    pub(super) fn node(&mut self, e: &Expr) -> Result<Node, RuleError> {
        Ok(match e {
            Expr::And(items) => Node::And(
                items
                    .iter()
                    .map(|i| self.node(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(items) => Node::Or(
                items
                    .iter()
                    .map(|i| self.node(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Node::Not(Box::new(self.node(inner)?)),
            Expr::Call(m, args) => self.call(*m, args)?,
        })
    }

    fn call(&mut self, m: Matcher, args: &[String]) -> Result<Node, RuleError> {
        let at = self.spans.calls.get(self.next_call).copied().unwrap_or(0);
        self.next_call += 1;
        super::syntax::check(m, args, self.syntax, at)?;
        let first = self.spans.args.get(self.next_arg).copied().unwrap_or(0);
        let name = m.name();
        let v3 = self.syntax == RuleSyntax::V3;
        let regex = |p: usize, a: &str| {
            Regex::new(a).map_err(|e| RuleError {
                position: p,
                message: format!("invalid regular expression: {}", one_line(&e.to_string())),
            })
        };
        match m {
            Matcher::Host | Matcher::HostHeader => {
                let mut hosts = Vec::new();
                for a in args {
                    let p = self.pos();
                    hosts.push(host_arg(a).map_err(|message| RuleError {
                        position: p,
                        message,
                    })?);
                }
                Ok(Node::Host(hosts))
            }
            Matcher::HostRegexp => {
                let mut pats = Vec::new();
                for a in args {
                    let p = self.pos();
                    pats.push(host_regexp(a, v3).map_err(|message| RuleError {
                        position: p,
                        message,
                    })?);
                }
                Ok(Node::HostRegexp(pats))
            }
            Matcher::Path | Matcher::PathPrefix => {
                let prefix = m == Matcher::PathPrefix;
                let mut pats = Vec::new();
                for a in args {
                    let p = self.pos();
                    pats.push(path_pattern(a, prefix, v3).map_err(|message| RuleError {
                        position: p,
                        message,
                    })?);
                }
                Ok(if prefix {
                    Node::PathPrefix(pats)
                } else {
                    Node::Path(pats)
                })
            }
            Matcher::PathRegexp => {
                let p = self.pos();
                Ok(Node::PathRegexp(regex(p, &args[0])?))
            }
            Matcher::Method => {
                let mut methods = Vec::new();
                for a in args {
                    let p = self.pos();
                    let upper = a.trim().to_ascii_uppercase();
                    if upper.is_empty() || http::Method::from_bytes(upper.as_bytes()).is_err() {
                        return err(p, format!("`{a}` is not an HTTP method; write e.g. `GET`"));
                    }
                    methods.push(upper);
                }
                Ok(Node::Method(methods))
            }
            Matcher::Header | Matcher::Headers | Matcher::HeaderRegexp | Matcher::HeadersRegexp => {
                if args.len() != 2 {
                    return err(
                        first,
                        format!(
                            "`{name}` takes 2 arguments (header name, value), got {}",
                            args.len()
                        ),
                    );
                }
                let p = self.pos();
                let header = HeaderName::from_bytes(args[0].as_bytes()).map_err(|_| RuleError {
                    position: p,
                    message: format!("`{}` is not a valid header name", args[0]),
                })?;
                let p = self.pos();
                match m {
                    Matcher::Header => Ok(Node::Header(header, Some(args[1].clone()))),
                    Matcher::Headers if args[1].is_empty() => Ok(Node::Header(header, None)),
                    Matcher::Headers => Ok(Node::Header(header, Some(args[1].clone()))),
                    _ => Ok(Node::HeaderRegexp(header, regex(p, &args[1])?)),
                }
            }
            Matcher::Query | Matcher::QueryRegexp if v3 => {
                let p = self.pos();
                let key = args[0].clone();
                if key.is_empty() {
                    return err(
                        p,
                        format!("`{name}` needs a parameter name: {name}(`key`, `value`)"),
                    );
                }
                let value = match args.get(1) {
                    None => QueryValue::Exact(String::new()),
                    Some(v) => {
                        let p = self.pos();
                        if m == Matcher::Query {
                            QueryValue::Exact(v.clone())
                        } else {
                            QueryValue::Regex(regex(p, v)?)
                        }
                    }
                };
                Ok(Node::Query(vec![QueryTest { key, value }]))
            }
            Matcher::Query | Matcher::QueryRegexp => {
                let mut tests = Vec::new();
                for a in args {
                    let p = self.pos();
                    let (key, value) = match a.split_once('=') {
                        Some((k, v)) => (k, Some(v)),
                        None => (a.as_str(), None),
                    };
                    if key.is_empty() {
                        return err(
                            p,
                            format!("`{a}` has no parameter name; write `key=value` or `key`"),
                        );
                    }
                    let value = match value {
                        None | Some("") => QueryValue::Any,
                        Some(v) if v.contains('{') => {
                            let re = template(v, "[^&]*", p)?;
                            QueryValue::Regex(Regex::new(&format!("^{re}$")).map_err(|e| {
                                RuleError {
                                    position: p,
                                    message: format!(
                                        "invalid template `{v}`: {}",
                                        one_line(&e.to_string())
                                    ),
                                }
                            })?)
                        }
                        Some(v) => QueryValue::Exact(v.to_string()),
                    };
                    tests.push(QueryTest {
                        key: key.to_string(),
                        value,
                    });
                }
                Ok(Node::Query(tests))
            }
            Matcher::ClientIP => {
                let mut nets = Vec::new();
                for a in args {
                    let p = self.pos();
                    nets.push(IpNet::parse(a.trim()).map_err(|_| RuleError {
                        position: p,
                        message: format!(
                            "`{a}` is not an IP address or CIDR range; write e.g. `10.0.0.0/8` or `::1`"
                        ),
                    })?);
                }
                Ok(Node::ClientIp(nets))
            }
        }
    }
}

pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn host_arg(a: &str) -> Result<String, String> {
    let h = a.trim();
    if h.is_empty() {
        return Err("empty host name; write e.g. Host(`example.com`)".into());
    }
    let h = h.strip_suffix('.').unwrap_or(h);
    let unbracketed = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if unbracketed.contains(':') && unbracketed.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!(
            "`{a}`: Host compares host names without their port; write Host(`{}`)",
            h.split(':').next().unwrap_or_default()
        ));
    }
    if !unbracketed.is_ascii() {
        return Err(format!(
            "`{a}` is not ASCII; write the punycode form (xn--...)"
        ));
    }
    Ok(unbracketed.to_ascii_lowercase())
}

/// v3 (`plain`): an unanchored regular expression, matched against the host without its port.
/// v2: a mux template, anchored, or a literal host.
pub(super) fn host_regexp(a: &str, plain: bool) -> Result<HostPattern, String> {
    if a.is_empty() {
        return Err("empty HostRegexp pattern".into());
    }
    let invalid = |e: regex::Error| {
        format!(
            "invalid HostRegexp pattern `{a}`: {}",
            one_line(&e.to_string())
        )
    };
    if plain {
        let regex = Regex::new(&format!("(?i){a}")).map_err(invalid)?;
        return Ok(HostPattern {
            regex,
            strip_port: true,
        });
    }
    // Like mux: a pattern that names no port is matched against the host without its port.
    let mut depth = 0usize;
    let strip_port = !a.chars().any(|c| {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        c == ':' && depth == 0
    });
    let re = if a.contains('{') {
        format!("(?i)^{}$", template(a, "[^.]+", 0).map_err(|e| e.message)?)
    } else {
        format!("(?i)^{}$", regex::escape(a))
    };
    let regex = Regex::new(&re).map_err(invalid)?;
    Ok(HostPattern { regex, strip_port })
}

/// A literal path, or (v2, not `literal`) a mux template.
pub(super) fn path_pattern(a: &str, prefix: bool, literal: bool) -> Result<PathPattern, String> {
    if !a.starts_with('/') {
        return Err(format!("path `{a}` must start with `/`; write `/{a}`"));
    }
    if literal || !a.contains('{') {
        return Ok(PathPattern::Literal(a.to_string()));
    }
    let re = template(a, "[^/]+", 0).map_err(|e| e.message)?;
    let re = if prefix {
        format!("^{re}")
    } else {
        format!("^{re}$")
    };
    Regex::new(&re)
        .map(PathPattern::Template)
        .map_err(|e| format!("invalid path template `{a}`: {}", one_line(&e.to_string())))
}

/// A gorilla/mux template (`/users/{id:[0-9]+}`, `{name}`) as an unanchored regex.
pub(super) fn template(t: &str, default: &str, pos: usize) -> Result<String, RuleError> {
    let mut out = String::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        out.push_str(&regex::escape(&rest[..open]));
        let body = &rest[open + 1..];
        let mut depth = 1;
        let mut close = None;
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return err(
                pos,
                format!("unbalanced braces in `{t}`: a `{{` is never closed"),
            );
        };
        let var = &body[..close];
        let pattern = match var.split_once(':') {
            Some((_, p)) if !p.is_empty() => p,
            Some(_) => return err(pos, format!("empty pattern in `{{{var}}}` of `{t}`")),
            None => default,
        };
        out.push_str("(?:");
        out.push_str(pattern);
        out.push(')');
        rest = &body[close + 1..];
    }
    if rest.contains('}') {
        return err(
            pos,
            format!("unbalanced braces in `{t}`: a `}}` has no `{{`"),
        );
    }
    out.push_str(&regex::escape(rest));
    Ok(out)
}
