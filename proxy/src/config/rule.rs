//! The rule language: `Host`, `PathPrefix`, `&&`, ... parsed into a matcher.
//!
//! Interface contract (implemented in full by the config work):
//! `Rule::parse(text) -> Result<Rule, RuleError>`, `rule.matches(&RequestInfo) -> bool`,
//! `rule.path_prefix()` (the narrowest path prefix every match must have, for the sticky
//! cookie's `Path`).

use std::net::IpAddr;

/// What a rule looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The Host header (or the URI's authority), possibly with a port.
    pub host: &'a str,
    pub path: &'a str,
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub client_ip: IpAddr,
}

/// A rule that does not parse. `position` is a byte offset into the rule text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule error at position {position}: {message}")]
pub struct RuleError {
    pub position: usize,
    pub message: String,
}

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        Ok(Rule {
            text: text.to_string(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, _req: &RequestInfo<'_>) -> bool {
        true
    }

    /// The longest path prefix that every request this rule matches must start with (`/` when
    /// nothing narrower is known).
    pub fn path_prefix(&self) -> String {
        "/".to_string()
    }

    /// A path for the sticky cookie's `Path` attribute.
    pub fn cookie_path(&self) -> String {
        "/".to_string()
    }

    /// Traefik's default priority: the rule's length.
    pub fn default_priority(&self) -> i64 {
        self.text.len() as i64
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
