//! redirectScheme: answers with a redirect to the same URL in another scheme (and port), as
//! Traefik does; a request already on that scheme and port goes on to the server. A request's
//! scheme is its connection's: `https` on TLS (Traefik also reads `X-Forwarded-Proto`: not
//! done here). Permanent redirects are 301 (308 for methods other
//! than GET), temporary ones 302 (307).

use std::sync::Arc;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;
use crate::parse::parse_bool;

/// Traefik's `redirectScheme`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectScheme {
    pub scheme: String,
    /// The port in the new URL; none: the scheme's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default)]
    pub permanent: bool,
}

/// The compiled redirect: the new URL's scheme and `:port` (empty for the default port).
#[derive(Debug)]
struct Redirect {
    scheme: String,
    port: String,
    permanent: bool,
}

fn default_port(scheme: &str) -> &'static str {
    if scheme == "https" {
        "443"
    } else {
        "80"
    }
}

impl Config for RedirectScheme {
    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        let scheme = self.scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "redirectScheme scheme `{}` is not supported; use https or http",
                self.scheme
            ));
        }
        let port = match self.port.as_deref() {
            None | Some("") => String::new(),
            Some(p) if p.parse::<u16>().is_ok_and(|n| n > 0) => {
                if p == default_port(&scheme) {
                    String::new()
                } else {
                    format!(":{p}")
                }
            }
            Some(p) => {
                return Err(format!(
                    "redirectScheme port `{p}` is not a port; use 1-65535"
                ))
            }
        };
        Ok(Arc::new(Redirect {
            scheme,
            port,
            permanent: self.permanent,
        }))
    }

    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        let value = value.trim();
        match option {
            ["scheme"] => self.scheme = value.to_string(),
            ["port"] => self.port = Some(value.to_string()),
            ["permanent"] => {
                self.permanent = parse_bool(value).ok_or("permanent must be true or false")?
            }
            _ => {
                return Err(label_option(
                    "redirectScheme",
                    "redirectscheme.scheme=https",
                ))
            }
        }
        Ok(())
    }
}

/// `host:port` split (an IPv6 host keeps its brackets); no port: empty.
fn split_host_port(h: &str) -> (&str, &str) {
    match h.find(']') {
        Some(i) if h.starts_with('[') => (&h[..=i], h[i + 1..].strip_prefix(':').unwrap_or("")),
        _ => h.rsplit_once(':').unwrap_or((h, "")),
    }
}

impl Middleware for Redirect {
    fn request(&self, req: &Request<'_>, _: &mut Rewrite) -> Option<Answer> {
        // The URL as the client asked for it (before other middlewares changed the path).
        let (host, port) = split_host_port(req.host);
        let old_scheme = if req.https { "https" } else { "http" };
        let old_port = if port.is_empty() || port == default_port(old_scheme) {
            String::new()
        } else {
            format!(":{port}")
        };
        if self.scheme == old_scheme && self.port == old_port {
            return None;
        }
        let uri = match req.query {
            Some(q) => format!("{}?{q}", req.path),
            None => req.path.to_string(),
        };
        let status = match (self.permanent, *req.method == Method::GET) {
            (true, true) => StatusCode::MOVED_PERMANENTLY,
            (true, false) => StatusCode::PERMANENT_REDIRECT,
            (false, true) => StatusCode::FOUND,
            (false, false) => StatusCode::TEMPORARY_REDIRECT,
        };
        let location = format!("{}://{host}{}{uri}", self.scheme, self.port);
        Some(Answer::Redirect(status, location))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(cfg: RedirectScheme, method: Method, host: &str, target: &str) -> Option<Answer> {
        redirect_from(false, cfg, method, host, target)
    }

    fn redirect_from(
        https: bool,
        cfg: RedirectScheme,
        method: Method,
        host: &str,
        target: &str,
    ) -> Option<Answer> {
        let m = cfg.compile().unwrap();
        let (path, query) = target
            .split_once('?')
            .map_or((target, None), |(p, q)| (p, Some(q)));
        let req = Request {
            method: &method,
            host,
            path,
            query,
            https,
        };
        m.request(&req, &mut Rewrite::default())
    }

    #[test]
    fn a_request_already_on_https_goes_on() {
        let get = |host| redirect_from(true, https(None, true), Method::GET, host, "/");
        assert_eq!(get("demo.res.ch"), None);
        assert_eq!(get("demo.res.ch:443"), None);
        assert!(
            get("demo.res.ch:8443").is_some(),
            "another port is redirected"
        );
    }

    fn https(port: Option<&str>, permanent: bool) -> RedirectScheme {
        RedirectScheme {
            scheme: "https".into(),
            port: port.map(Into::into),
            permanent,
        }
    }

    #[test]
    fn redirects_to_https_like_traefik() {
        assert_eq!(
            redirect(https(None, true), Method::GET, "demo.res.ch:8080", "/a?b=1"),
            Some(Answer::Redirect(
                StatusCode::MOVED_PERMANENTLY,
                "https://demo.res.ch/a?b=1".into()
            ))
        );
        assert_eq!(
            redirect(https(Some("8443"), false), Method::POST, "demo.res.ch", "/"),
            Some(Answer::Redirect(
                StatusCode::TEMPORARY_REDIRECT,
                "https://demo.res.ch:8443/".into()
            ))
        );
        assert_eq!(
            redirect(https(Some("443"), true), Method::PUT, "[::1]:80", "/x"),
            Some(Answer::Redirect(
                StatusCode::PERMANENT_REDIRECT,
                "https://[::1]/x".into()
            ))
        );
        let temporary = redirect(https(None, false), Method::GET, "a", "/");
        assert_eq!(temporary.map(|a| a.status()), Some(StatusCode::FOUND));
    }

    #[test]
    fn a_request_already_there_goes_on() {
        let http = RedirectScheme {
            scheme: "http".into(),
            ..Default::default()
        };
        assert_eq!(redirect(http.clone(), Method::GET, "a:80", "/"), None);
        assert_eq!(redirect(http.clone(), Method::GET, "a", "/"), None);
        assert!(redirect(http, Method::GET, "a:8080", "/").is_some());
    }

    #[test]
    fn rejects_bad_schemes_and_ports_and_reads_labels() {
        assert!(RedirectScheme::default().compile().is_err());
        assert!(https(Some("x"), true).compile().is_err());
        let mut m = RedirectScheme::default();
        m.set_label(&["scheme"], "https").unwrap();
        m.set_label(&["permanent"], "true").unwrap();
        m.set_label(&["port"], "8443").unwrap();
        assert_eq!(m, https(Some("8443"), true));
        assert!(m.set_label(&["permanent"], "maybe").is_err());
        assert!(m.set_label(&["code"], "301").is_err());
    }
}
