//! Middlewares: what a router does to a request between matching it and sending it to a
//! server. All have one shape, as in Traefik: a configuration struct (Traefik's field names,
//! read by the file provider and the labels) that [`Config::compile`]s into a [`Middleware`],
//! which edits a [`Rewrite`] of the request or answers it itself. One type per file; the model
//! (`config::Middleware`) has one field per type and is the registry that compiles them.
//!
//! A middleware never touches HTTP bytes or header maps: it says what changes (the target,
//! headers to set, a redirect), and both data paths apply that the same way
//! (`crate::dataplane::pipeline`). So adding one takes its file, a field in the model and a line in its
//! registry, nothing in the data plane.

pub mod add_prefix;
pub mod headers;
pub mod redirect_scheme;
pub mod replace_path;
pub mod retry;
pub mod strip_prefix;

use std::fmt;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};

use crate::answer::Answer;

pub use add_prefix::AddPrefix;
pub use headers::Headers;
pub use redirect_scheme::RedirectScheme;
pub use replace_path::ReplacePath;
pub use retry::Retry;
pub use strip_prefix::StripPrefix;

/// What a middleware sees of a request: as the client sent it, before any middleware.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a Method,
    /// The `Host` header (or the URI's authority), possibly with a port.
    pub host: &'a str,
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// Whether the client connection is TLS (the request's scheme is `https`).
    pub https: bool,
}

/// What the middlewares of a router changed: what the server gets instead of what the client
/// sent, and what the client gets besides the server's response.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// The path and query for the server, once a middleware changed them.
    pub target: Option<String>,
    /// Request headers to set (replacing the client's) or, without a value, to remove.
    pub request_headers: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Response headers to set (replacing the server's) or, without a value, to remove.
    pub response_headers: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Tries allowed in all (a retry middleware); 0: the default.
    pub attempts: u32,
}

impl Rewrite {
    /// The path and query as the middlewares left them so far.
    pub fn path_and_query<'a>(&'a self, req: &Request<'a>) -> (&'a str, Option<&'a str>) {
        match &self.target {
            Some(t) => t
                .split_once('?')
                .map_or((t.as_str(), None), |(p, q)| (p, Some(q))),
            None => (req.path, req.query),
        }
    }

    /// Sets the path to `path`, keeping the query.
    pub fn set_path(&mut self, req: &Request<'_>, path: &str) {
        let (_, query) = self.path_and_query(req);
        let mut t = String::with_capacity(path.len() + 1 + query.map_or(0, str::len));
        t.push_str(path);
        if let Some(q) = query {
            t.push('?');
            t.push_str(q);
        }
        self.target = Some(t);
    }

    /// Sets request header `name` to `value` (`None`: removes it), replacing an earlier edit.
    pub fn set_request_header(&mut self, name: HeaderName, value: Option<HeaderValue>) {
        set(&mut self.request_headers, name, value);
    }

    /// Sets response header `name` to `value` (`None`: removes it), replacing an earlier edit.
    pub fn set_response_header(&mut self, name: HeaderName, value: Option<HeaderValue>) {
        set(&mut self.response_headers, name, value);
    }
}

fn set(
    edits: &mut Vec<(HeaderName, Option<HeaderValue>)>,
    name: HeaderName,
    value: Option<HeaderValue>,
) {
    match edits.iter_mut().find(|(n, _)| *n == name) {
        Some(e) => e.1 = value,
        None => edits.push((name, value)),
    }
}

/// A compiled middleware.
pub trait Middleware: fmt::Debug + Send + Sync {
    /// Edits the request on its way to a server, or answers it in place of a server.
    fn request(&self, req: &Request<'_>, rw: &mut Rewrite) -> Option<Answer>;
}

/// A middleware type's configuration, as providers give it.
pub trait Config {
    /// Checks the configuration and compiles it; the error says what is wrong and what to do.
    fn compile(&self) -> Result<Arc<dyn Middleware>, String>;

    /// Sets an option from a Docker label: `option` is the label's segments after the type,
    /// in lower case (`["prefixes"]` for `...stripprefix.prefixes`).
    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String>;
}

/// The error for a label option a type does not have: `example` is a label that works.
pub fn label_option(type_name: &str, example: &str) -> String {
    format!("incomplete or unknown {type_name} option; write e.g. `.{example}`")
}

/// A router's middlewares, compiled, in order.
#[derive(Debug, Clone, Default)]
pub struct Chain(pub Vec<Arc<dyn Middleware>>);

impl Chain {
    /// Runs the middlewares in order; the first answer ends the chain.
    pub fn apply(&self, req: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        self.0.iter().find_map(|m| m.request(req, rw))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What middleware `m` does to a `GET` of `target`: the new target and the request
    /// headers it sets (an empty value: removed).
    pub(crate) fn run(m: &dyn Middleware, target: &str) -> (String, Vec<(String, String)>) {
        let (path, query) = target
            .split_once('?')
            .map_or((target, None), |(p, q)| (p, Some(q)));
        let req = Request {
            method: &Method::GET,
            host: "a.b",
            path,
            query,
            https: false,
        };
        let mut rw = Rewrite::default();
        assert_eq!(m.request(&req, &mut rw), None);
        let headers = rw
            .request_headers
            .iter()
            .map(|(n, v)| {
                let v = v.as_ref().map_or("", |v| v.to_str().unwrap());
                (n.to_string(), v.to_string())
            })
            .collect();
        (rw.target.unwrap_or_else(|| target.into()), headers)
    }
}
