//! Middlewares: what a router does to a request between matching it and balancing it.
//! One kind per file; [`Chain`] is a router's compiled list.

pub mod forwarded;
pub mod hop_by_hop;
pub mod retry;
pub mod strip_prefix;

use crate::config::Middleware;

pub use retry::Retry;
pub use strip_prefix::StripPrefix;

/// A compiled middleware.
#[derive(Debug, Clone)]
pub enum Compiled {
    StripPrefix(StripPrefix),
    Retry(Retry),
}

impl Compiled {
    /// Compiles a middleware's configuration; the error says what is wrong.
    pub fn compile(m: &Middleware) -> Result<Self, String> {
        match (&m.strip_prefix, &m.retry) {
            (Some(s), None) => StripPrefix::new(&s.prefixes).map(Compiled::StripPrefix),
            (None, Some(r)) => Retry::new(r.attempts).map(Compiled::Retry),
            (None, None) => Err("the middleware has no type; set one of stripPrefix, retry".into()),
            (Some(_), Some(_)) => {
                Err("the middleware has several types; a middleware has exactly one".into())
            }
        }
    }

    /// Traefik's `type` for the API.
    pub fn type_name(m: &Middleware) -> &'static str {
        if m.strip_prefix.is_some() {
            "stripprefix"
        } else if m.retry.is_some() {
            "retry"
        } else {
            "unknown"
        }
    }
}

/// A router's middlewares, compiled, in order.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub strip: Vec<StripPrefix>,
    /// The largest `attempts` of the chain's retry middlewares (0: none).
    pub retry_attempts: u32,
}

impl Chain {
    pub fn push(&mut self, m: &Compiled) {
        match m {
            Compiled::StripPrefix(s) => self.strip.push(s.clone()),
            Compiled::Retry(r) => self.retry_attempts = self.retry_attempts.max(r.attempts),
        }
    }
}
