//! stripPrefix: removes the first matching prefix from the path and says so in
//! `X-Forwarded-Prefix`, as Traefik does. The result always starts with `/`.

use std::sync::Arc;

use http::header::HeaderName;
use http::HeaderValue;
use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;
use crate::parse::{list, parse_bool};

pub static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

/// Traefik's `stripPrefix`: `prefixes`, tried in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefix {
    pub prefixes: Vec<String>,
}

impl Config for StripPrefix {
    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        match option {
            ["prefixes"] => {
                self.prefixes = list(value).ok_or(
                    "an empty prefix; list prefixes separated by commas, e.g. `/api,/v1`",
                )?
            }
            ["forceslash"] => match parse_bool(value.trim()) {
                Some(true) => {}
                Some(false) => {
                    return Err("forceSlash=false is not supported (the stripped path always starts with `/`); remove the label".into())
                }
                None => return Err("forceSlash must be true or false".into()),
            },
            _ => return Err(label_option("stripPrefix", "stripprefix.prefixes=/api")),
        }
        Ok(())
    }

    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        if self.prefixes.is_empty() {
            return Err("stripPrefix has no prefixes; list at least one, e.g. `/api`".into());
        }
        for p in &self.prefixes {
            if !p.starts_with('/') {
                return Err(format!(
                    "stripPrefix prefix `{p}` does not start with `/` so it can never match; write `/{p}`"
                ));
            }
            if HeaderValue::from_str(p).is_err() {
                return Err(format!("stripPrefix prefix `{p}` is not a valid path"));
            }
        }
        Ok(Arc::new(self.clone()))
    }
}

impl Middleware for StripPrefix {
    fn request(&self, req: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        let (path, query) = rw.path_and_query(req);
        let prefix = self
            .prefixes
            .iter()
            .find(|p| path.starts_with(p.as_str()))?;
        let rest = &path[prefix.len()..];
        let mut new = String::with_capacity(rest.len() + 2 + query.map_or(0, str::len));
        if !rest.starts_with('/') {
            new.push('/');
        }
        new.push_str(rest);
        if let Some(q) = query {
            new.push('?');
            new.push_str(q);
        }
        rw.target = Some(new);
        // Checked valid when compiled.
        let value = HeaderValue::from_str(prefix).ok();
        rw.set_request_header(X_FORWARDED_PREFIX.clone(), value);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::run;

    fn strip(prefixes: &[&str], uri: &str) -> (String, Option<String>) {
        let s = StripPrefix {
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
        .compile()
        .unwrap();
        let (t, h) = run(&*s, uri);
        (t, h.into_iter().next().map(|(_, v)| v))
    }

    #[test]
    fn strips_like_traefik() {
        assert_eq!(
            strip(&["/api/jokes"], "/api/jokes/random?n=2"),
            ("/random?n=2".into(), Some("/api/jokes".into()))
        );
        assert_eq!(
            strip(&["/api/jokes/"], "/api/jokes/"),
            ("/".into(), Some("/api/jokes/".into()))
        );
        assert_eq!(
            strip(&["/api"], "/apix"),
            ("/x".into(), Some("/api".into()))
        );
        assert_eq!(strip(&["/api"], "/other"), ("/other".into(), None));
        assert_eq!(
            strip(&["/b", "/a"], "/a/b"),
            ("/b".into(), Some("/a".into()))
        );
    }

    #[test]
    fn rejects_prefixes_that_cannot_match() {
        let compile = |p: &[&str]| {
            StripPrefix {
                prefixes: p.iter().map(|p| p.to_string()).collect(),
            }
            .compile()
        };
        assert!(compile(&[""]).is_err());
        assert!(compile(&[]).is_err());
        assert!(compile(&["api"]).unwrap_err().contains("write `/api`"));
    }
}
