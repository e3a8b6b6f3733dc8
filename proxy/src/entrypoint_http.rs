//! An entrypoint's `http` section in the static configuration, as Traefik's flags write it:
//! - `--entrypoints.websecure.http.tls=true`: every router on the entrypoint serves TLS, as if
//!   each had `tls=true` (`.http.tls.certresolver` is accepted and implies it);
//! - `--entrypoints.web.http.redirections.entrypoint.to=websecure` (or a port, `:443`), with
//!   `.scheme` (https) and `.permanent` (true): every request on the entrypoint is redirected,
//!   whatever the routers say (Traefik does it with a router of the highest priority).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::middleware::{Config, Middleware, RedirectScheme};

/// `entrypoints.<name>.http.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPointHttp {
    pub tls: bool,
    pub redirect: Option<EntryRedirect>,
}

/// `entrypoints.<name>.http.redirections.entrypoint.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRedirect {
    /// An entrypoint's name, or a port written `:443`.
    pub to: String,
    pub scheme: String,
    pub permanent: bool,
}

impl Default for EntryRedirect {
    fn default() -> Self {
        Self {
            to: String::new(),
            scheme: "https".into(),
            permanent: true,
        }
    }
}

impl EntryPointHttp {
    /// Applies one setting; `tail` follows `http.` (`tls`, `redirections.entrypoint.to`).
    pub fn set(&mut self, tail: &str, value: &str) -> Result<(), String> {
        let boolean = || crate::parse::parse_bool(value).ok_or("expected true or false");
        match tail {
            // A static file's `tls: {}` (no options) means on, as a bare `--...http.tls` does.
            "tls" if matches!(value.trim(), "" | "{}") => self.tls = true,
            "tls" => self.tls = boolean()?,
            "tls.certresolver" | "tls.options" => self.tls = true,
            redirect => {
                let r = self.redirect.get_or_insert_with(Default::default);
                match redirect {
                    "redirections.entrypoint.to" => r.to = value.trim().to_string(),
                    "redirections.entrypoint.scheme" => r.scheme = value.trim().to_string(),
                    "redirections.entrypoint.permanent" => r.permanent = boolean()?,
                    "redirections.entrypoint.priority" => {}
                    other => {
                        unreachable!("entrypoint key `http.{other}` is in KEYS but not handled")
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks the redirect's target against the entrypoints' names; the error says what to
    /// write.
    pub fn check(&self, names: &[&String]) -> Result<(), String> {
        let Some(r) = &self.redirect else {
            return Ok(());
        };
        if r.to.is_empty() {
            return Err(
                "the redirection has no target; add `.to=websecure` (an entrypoint) or `.to=:443`"
                    .into(),
            );
        }
        if port_of(&r.to).is_none() && !names.iter().any(|n| **n == r.to) {
            return Err(format!(
                "`{}` is not an entrypoint; use one of {names:?} or a port like `:443`",
                r.to
            ));
        }
        Ok(())
    }
}

fn port_of(to: &str) -> Option<u16> {
    to.strip_prefix(':')?.parse().ok()
}

impl EntryRedirect {
    /// The redirect as a `redirectScheme` middleware, to the target entrypoint's port as
    /// bound (`bound`, by entrypoint name; the port is left out when it is the scheme's
    /// default).
    pub fn compile(
        &self,
        bound: &BTreeMap<String, SocketAddr>,
    ) -> Result<Arc<dyn Middleware>, String> {
        let port = port_of(&self.to)
            .or_else(|| bound.get(&self.to).map(|a| a.port()))
            .ok_or_else(|| format!("the redirection's target `{}` is not bound", self.to))?;
        RedirectScheme {
            scheme: self.scheme.clone(),
            port: Some(port.to_string()),
            permanent: self.permanent,
        }
        .compile()
    }

    /// The router name Traefik gives this redirect, for the access log: `web-to-websecure`.
    pub fn router_name(&self, from: &str) -> String {
        let to = self.to.trim_start_matches(':');
        format!("{from}-to-{to}@internal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_defaults() {
        let mut h = EntryPointHttp::default();
        h.set("redirections.entrypoint.to", "websecure").unwrap();
        assert_eq!(
            h.redirect,
            Some(EntryRedirect {
                to: "websecure".into(),
                scheme: "https".into(),
                permanent: true
            })
        );
        h.set("redirections.entrypoint.permanent", "false").unwrap();
        assert!(!h.redirect.as_ref().unwrap().permanent);
        assert!(h.set("tls", "maybe").is_err());
        h.set("tls", "{}").unwrap();
        assert!(h.tls);
        h.set("tls", "false").unwrap();
        assert!(!h.tls);
        h.set("tls", "true").unwrap();
        assert!(h.tls);
        let names = ["web".to_string(), "websecure".to_string()];
        let names: Vec<&String> = names.iter().collect();
        assert!(h.check(&names).is_ok());
        h.set("redirections.entrypoint.to", "nope").unwrap();
        assert!(h.check(&names).unwrap_err().contains("not an entrypoint"));
        h.set("redirections.entrypoint.to", ":8443").unwrap();
        assert!(h.check(&names).is_ok());
    }

    #[test]
    fn the_redirect_goes_to_the_bound_port() {
        let r = EntryRedirect {
            to: "websecure".into(),
            ..Default::default()
        };
        let bound = BTreeMap::from([("websecure".to_string(), "127.0.0.1:8443".parse().unwrap())]);
        let m = r.compile(&bound).unwrap();
        let req = crate::middleware::Request {
            method: &http::Method::GET,
            host: "a.lab:8080",
            path: "/p",
            query: Some("q=1"),
            https: false,
        };
        let a = m.request(&req, &mut Default::default()).unwrap();
        assert_eq!(a.status(), http::StatusCode::MOVED_PERMANENTLY);
        assert_eq!(a.location(), Some("https://a.lab:8443/p?q=1"));
        assert_eq!(r.router_name("web"), "web-to-websecure@internal");
    }
}
