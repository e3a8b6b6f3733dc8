//! headers: custom request and response headers, as Traefik's `headers` middleware sets them
//! (`customRequestHeaders`, `customResponseHeaders`). A header with an empty value is removed.
//! Traefik's other `headers` options (CORS, security headers) are not supported: they are
//! reported, not ignored.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;

/// Traefik's `headers`, its custom headers only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Headers {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,
}

/// The compiled edits: a header and its value (`None`: removed).
#[derive(Debug)]
struct Compiled {
    request: Vec<(HeaderName, Option<HeaderValue>)>,
    response: Vec<(HeaderName, Option<HeaderValue>)>,
}

fn compile(
    which: &str,
    headers: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, Option<HeaderValue>)>, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: {which} `{name}` is not a valid header name"))?;
            let v = match value.as_str() {
                "" => None,
                v => Some(HeaderValue::from_str(v).map_err(|_| {
                    format!("headers: the value of {which} `{name}` is not a valid header value")
                })?),
            };
            Ok((n, v))
        })
        .collect()
}

impl Config for Headers {
    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        if self.custom_request_headers.is_empty() && self.custom_response_headers.is_empty() {
            return Err(
                "headers sets no header; add customRequestHeaders or customResponseHeaders".into(),
            );
        }
        Ok(Arc::new(Compiled {
            request: compile("customRequestHeaders", &self.custom_request_headers)?,
            response: compile("customResponseHeaders", &self.custom_response_headers)?,
        }))
    }

    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        let map = match option {
            ["customrequestheaders", _] => &mut self.custom_request_headers,
            ["customresponseheaders", _] => &mut self.custom_response_headers,
            [other, ..] if !other.starts_with("custom") => {
                return Err(format!(
                    "the headers option `{other}` is not supported (only customRequestHeaders and customResponseHeaders are); remove the label"
                ))
            }
            _ => return Err(label_option("headers", "headers.customrequestheaders.X-Name=value")),
        };
        map.insert(option[1].to_string(), value.trim().to_string());
        Ok(())
    }
}

impl Middleware for Compiled {
    fn request(&self, _: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        for (n, v) in &self.request {
            rw.set_request_header(n.clone(), v.clone());
        }
        for (n, v) in &self.response {
            rw.set_response_header(n.clone(), v.clone());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::run;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sets_and_removes_request_headers() {
        let m = Headers {
            custom_request_headers: map(&[("X-Env", "lab"), ("X-Drop", "")]),
            ..Default::default()
        }
        .compile()
        .unwrap();
        let (target, headers) = run(&*m, "/x");
        assert_eq!(target, "/x");
        assert_eq!(
            headers,
            [("x-drop".into(), "".into()), ("x-env".into(), "lab".into())]
        );
    }

    #[test]
    fn sets_response_headers() {
        let m = Headers {
            custom_response_headers: map(&[("X-Frame-Options", "DENY")]),
            ..Default::default()
        }
        .compile()
        .unwrap();
        let mut rw = Rewrite::default();
        let req = Request {
            method: &http::Method::GET,
            host: "a",
            path: "/",
            query: None,
            https: false,
        };
        m.request(&req, &mut rw);
        assert_eq!(rw.response_headers.len(), 1);
        assert_eq!(rw.response_headers[0].0, "x-frame-options");
    }

    #[test]
    fn rejects_bad_names_and_values_and_reads_labels() {
        let bad_name = Headers {
            custom_request_headers: map(&[("a b", "1")]),
            ..Default::default()
        };
        assert!(bad_name.compile().unwrap_err().contains("header name"));
        let bad_value = Headers {
            custom_response_headers: map(&[("x", "a\nb")]),
            ..Default::default()
        };
        assert!(bad_value.compile().unwrap_err().contains("value"));
        assert!(Headers::default().compile().is_err());
        let mut h = Headers::default();
        h.set_label(&["customrequestheaders", "X-Env"], "lab")
            .unwrap();
        assert_eq!(h.custom_request_headers["X-Env"], "lab");
        assert!(h
            .set_label(&["stsseconds"], "1")
            .unwrap_err()
            .contains("not supported"));
    }
}
