//! retry: how many times a request may be tried in all. Unlike Traefik's (traefik#2723), each
//! new try goes to a server not tried yet; the proxy retries only requests that never reached a
//! server, or idempotent ones that got no response byte (see `crate::dataplane::failover`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{label_option, Config, Middleware, Request, Rewrite};
use crate::answer::Answer;

/// The most tries a retry middleware may ask for.
const MAX_ATTEMPTS: u32 = 16;

/// Traefik's `retry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retry {
    /// Total tries, the first included.
    pub attempts: u32,
}

impl Config for Retry {
    fn set_label(&mut self, option: &[&str], value: &str) -> Result<(), String> {
        let v = value.trim();
        match option {
            ["attempts"] => {
                self.attempts = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1 && v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or("attempts must be a whole number of at least 1 (the total tries, the first included)")?
            }
            ["initialinterval"] => {
                return Err("initialInterval is not supported (retries go at once to another server); remove the label".into())
            }
            _ => return Err(label_option("retry", "retry.attempts=3")),
        }
        Ok(())
    }

    fn compile(&self) -> Result<Arc<dyn Middleware>, String> {
        if self.attempts == 0 {
            return Err("retry attempts must be at least 1 (the first try counts)".into());
        }
        Ok(Arc::new(Retry {
            attempts: self.attempts.min(MAX_ATTEMPTS),
        }))
    }
}

impl Middleware for Retry {
    fn request(&self, _: &Request<'_>, rw: &mut Rewrite) -> Option<Answer> {
        rw.attempts = rw.attempts.max(self.attempts);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts(n: u32) -> Result<u32, String> {
        let m = Retry { attempts: n }.compile()?;
        let mut rw = Rewrite::default();
        let req = Request {
            method: &http::Method::GET,
            host: "",
            path: "/",
            query: None,
            https: false,
        };
        m.request(&req, &mut rw);
        Ok(rw.attempts)
    }

    #[test]
    fn attempts_are_bounded() {
        assert!(attempts(0).is_err());
        assert_eq!(attempts(3), Ok(3));
        assert_eq!(attempts(1000), Ok(16));
    }
}
