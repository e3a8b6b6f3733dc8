//! The proxy's own answers, given instead of a server's response: an error (404, 502, 503,
//! 504...) or a redirect. Each data path renders them its own way (`proxy::text`,
//! `h1::head::write_answer`); what they say is decided once, here and where they are made.

use http::StatusCode;

/// A response the proxy makes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A short text, as Traefik sends for its own errors: `404 page not found\n`.
    Text(StatusCode, &'static str),
    /// A redirect to `location` (a `redirectScheme` middleware), with a short text body.
    Redirect(StatusCode, String),
}

impl Answer {
    pub const NOT_FOUND: Answer = Answer::Text(StatusCode::NOT_FOUND, "404 page not found\n");

    pub fn status(&self) -> StatusCode {
        match self {
            Answer::Text(s, _) | Answer::Redirect(s, _) => *s,
        }
    }

    /// The body: the text, or for a redirect the status's reason.
    pub fn body(&self) -> &str {
        match self {
            Answer::Text(_, b) => b,
            Answer::Redirect(s, _) => s.canonical_reason().unwrap_or("Redirect"),
        }
    }

    /// The `Location` header, for a redirect.
    pub fn location(&self) -> Option<&str> {
        match self {
            Answer::Text(..) => None,
            Answer::Redirect(_, l) => Some(l),
        }
    }
}
