//! stripPrefix: removes the first matching prefix from the path and says so in
//! `X-Forwarded-Prefix`, as Traefik does. The result always starts with `/`.

use http::header::HeaderName;
use http::uri::PathAndQuery;
use http::{HeaderValue, Uri};

pub static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripPrefix {
    prefixes: Vec<String>,
}

impl StripPrefix {
    pub fn new(prefixes: &[String]) -> Result<Self, String> {
        if prefixes.iter().any(|p| p.is_empty()) {
            return Err("stripPrefix has an empty prefix; remove it".into());
        }
        if prefixes.iter().any(|p| HeaderValue::from_str(p).is_err()) {
            return Err("stripPrefix has a prefix that is not a valid path".into());
        }
        Ok(Self {
            prefixes: prefixes.to_vec(),
        })
    }

    /// Strips the first prefix of `uri`'s path that matches; returns the stripped prefix.
    pub fn apply(&self, uri: &mut Uri) -> Option<HeaderValue> {
        let (new, prefix) = self.apply_str(uri.path(), uri.query())?;
        let pq = PathAndQuery::try_from(new).ok()?;
        let mut parts = std::mem::take(uri).into_parts();
        parts.path_and_query = Some(pq);
        *uri = Uri::from_parts(parts).unwrap_or_default();
        HeaderValue::from_str(prefix).ok()
    }

    /// The same on a path and query as text: the new path and query, and the prefix removed.
    pub fn apply_str<'a>(&'a self, path: &str, query: Option<&str>) -> Option<(String, &'a str)> {
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
        Some((new, prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(prefixes: &[&str], uri: &str) -> (String, Option<String>) {
        let s =
            StripPrefix::new(&prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
        let mut u: Uri = uri.parse().unwrap();
        let p = s.apply(&mut u);
        (u.to_string(), p.map(|p| p.to_str().unwrap().to_string()))
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
    fn rejects_empty_prefixes() {
        assert!(StripPrefix::new(&["".into()]).is_err());
    }
}
