//! addPrefix: puts a prefix in front of the path, as Traefik does (`/x` with prefix `/api`
//! becomes `/api/x`). The query is kept.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;

/// Traefik's `addPrefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPrefix {
    pub prefix: String,
}

impl Config for AddPrefix {
    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        if self.prefix.is_empty() {
            return Err("addPrefix has an empty prefix; set one, e.g. `/api`".into());
        }
        if !self.prefix.bytes().all(|b| b.is_ascii_graphic()) || self.prefix.contains(['?', '#']) {
            return Err(format!(
                "addPrefix prefix `{}` is not a path; write it like `/api`",
                self.prefix
            ));
        }
        Ok(Arc::new(self.clone()))
    }

    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        match option {
            ["prefix"] => self.prefix = value.trim().to_string(),
            _ => return Err(label_option("addPrefix", "addprefix.prefix=/api")),
        }
        Ok(())
    }
}

impl Middleware for AddPrefix {
    fn request(&self, req: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        let (path, _) = rw.path_and_query(req);
        let mut new = String::with_capacity(self.prefix.len() + path.len() + 1);
        if !self.prefix.starts_with('/') {
            new.push('/');
        }
        new.push_str(&self.prefix);
        new.push_str(path);
        rw.set_path(req, &new);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::run;

    fn add(prefix: &str, target: &str) -> String {
        let m = AddPrefix {
            prefix: prefix.into(),
        }
        .compile()
        .unwrap();
        run(&*m, target).0
    }

    #[test]
    fn adds_the_prefix_and_keeps_the_query() {
        assert_eq!(add("/api", "/x?a=1"), "/api/x?a=1");
        assert_eq!(add("/api", "/"), "/api/");
        // As Traefik: the result starts with `/` even when the prefix does not.
        assert_eq!(add("api", "/x"), "/api/x");
    }

    #[test]
    fn rejects_what_is_not_a_prefix() {
        let compile = |p: &str| AddPrefix { prefix: p.into() }.compile().map(|_| ());
        assert!(compile("").unwrap_err().contains("empty"));
        assert!(compile("/a b").is_err());
        assert!(compile("/a?x").is_err());
    }

    #[test]
    fn reads_its_label() {
        let mut m = AddPrefix::default();
        m.set_label(&["prefix"], " /api ").unwrap();
        assert_eq!(m.prefix, "/api");
        assert!(m.set_label(&["prefixes"], "/a").is_err());
    }
}
