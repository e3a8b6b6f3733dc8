//! replacePath: replaces the whole path, as Traefik does, and says what it was in
//! `X-Replaced-Path`. The query is kept.

use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;

static X_REPLACED_PATH: HeaderName = HeaderName::from_static("x-replaced-path");

/// Traefik's `replacePath`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePath {
    pub path: String,
}

impl Config for ReplacePath {
    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        if !self.path.starts_with('/')
            || !self.path.bytes().all(|b| b.is_ascii_graphic())
            || self.path.contains(['?', '#'])
        {
            return Err(format!(
                "replacePath path `{}` is not a path; write it like `/api/v1`",
                self.path
            ));
        }
        Ok(Arc::new(self.clone()))
    }

    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        match option {
            ["path"] => self.path = value.trim().to_string(),
            _ => return Err(label_option("replacePath", "replacepath.path=/api")),
        }
        Ok(())
    }
}

impl Middleware for ReplacePath {
    fn request(&self, req: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        let was = HeaderValue::from_str(rw.path_and_query(req).0).ok();
        rw.set_path(req, &self.path);
        rw.set_request_header(X_REPLACED_PATH.clone(), was);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::run;

    #[test]
    fn replaces_the_path_keeps_the_query_and_says_what_it_was() {
        let m = ReplacePath { path: "/v2".into() }.compile().unwrap();
        let (target, headers) = run(&*m, "/api/x?a=1");
        assert_eq!(target, "/v2?a=1");
        assert_eq!(headers, [("x-replaced-path".into(), "/api/x".into())]);
    }

    #[test]
    fn rejects_what_is_not_a_path() {
        let compile = |p: &str| ReplacePath { path: p.into() }.compile().map(|_| ());
        assert!(compile("").is_err());
        assert!(compile("v2").unwrap_err().contains("/api/v1"));
        assert!(compile("/a?b").is_err());
    }
}
