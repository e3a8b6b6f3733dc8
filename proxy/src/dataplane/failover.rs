//! Failover for one request: which server it tries next, whether a failed try may be followed
//! by another, and what the client gets when no server answered. The rules are shared by both
//! data paths, hyper's (`crate::dataplane::hyper_path::handle`) and the fast path (`crate::dataplane::h1`).
//!
//! A refused connection (or one that cannot be opened in time) marks the server down at once
//! (passive health) and the request goes to a server not tried yet. A connection reset before
//! any response byte sends the request elsewhere too but does not mark the server down: on a
//! reused keep-alive connection that is usually the server closing an idle connection, and a
//! server that is really gone refuses the next connection anyway; if no other server is left,
//! the same one may be tried again on a fresh connection. Requests that never reached a server
//! are always retried; requests that did but got no response byte only when idempotent and
//! their body can be sent again. No response head in time is final: 504.

use std::fmt::Display;

use http::{Method, StatusCode};

use crate::balance::{health, Balancer, Pick};

/// How one try failed.
#[derive(Debug, Clone, Copy)]
pub enum TryError {
    /// No connection could be opened: the request never left.
    Refused,
    /// The connection closed before the request was written.
    NotSent,
    /// The request was (perhaps partly) written, then the connection was reset (`reset`) or
    /// the answer was not usable. `replayable`: the request's body can be sent again.
    Failed { reset: bool, replayable: bool },
    /// No response head within the response header timeout.
    TimedOut,
}

/// The tries of one request.
#[derive(Debug)]
pub struct Tries {
    tried: Vec<usize>,
    /// Servers picked so far (the first try included).
    picks: u32,
    max: usize,
    idempotent: bool,
    same_server_ok: bool,
    failure: Option<(StatusCode, &'static str)>,
}

const BAD_GATEWAY: (StatusCode, &str) = (StatusCode::BAD_GATEWAY, "502 bad gateway\n");

impl Tries {
    /// Up to three servers by default (a single-server service twice, for a reset on a reused
    /// connection); a retry middleware's `attempts` raises that.
    pub fn new(retry_attempts: u32, balancer: &Balancer, method: &Method) -> Self {
        Self {
            tried: Vec::new(),
            picks: 0,
            max: (retry_attempts as usize).max(balancer.servers.len().clamp(2, 3)),
            idempotent: is_idempotent(method),
            same_server_ok: false,
            failure: None,
        }
    }

    /// The server for the next try: one not tried yet, or after a reset the same one again.
    pub fn pick(&mut self, balancer: &Balancer, cookie: Option<&str>) -> Option<Pick> {
        let pick = balancer.pick(cookie, &self.tried).or_else(|| {
            std::mem::take(&mut self.same_server_ok)
                .then(|| balancer.pick(cookie, &[]))
                .flatten()
        });
        self.picks += u32::from(pick.is_some());
        pick
    }

    /// Tries after the first one (Traefik's `traefik_service_retries_total`).
    pub fn retries(&self) -> u32 {
        self.picks.saturating_sub(1)
    }

    /// Whether a try after the next one is still allowed.
    pub fn another_after_this(&self) -> bool {
        self.tried.len() + 1 < self.max
    }

    /// Whether the request may be sent again once it reached a server.
    pub fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// Records that the try on server `idx` failed; returns whether to try another.
    pub fn failed(
        &mut self,
        balancer: &Balancer,
        idx: usize,
        error: TryError,
        why: &dyn Display,
    ) -> bool {
        let server = &balancer.servers[idx];
        let may_retry = self.another_after_this();
        match error {
            TryError::Refused => {
                // A refused connection is definitive: the server is down now.
                health::report_connection_failure(server);
                tracing::debug!(server = %server.url, error = %why, "cannot connect to server");
                self.tried.push(idx);
                self.failure = Some(BAD_GATEWAY);
                may_retry
            }
            TryError::NotSent => {
                tracing::debug!(server = %server.url, error = %why, "connection closed before the request was sent");
                self.tried.push(idx);
                self.same_server_ok = true;
                self.failure = Some(BAD_GATEWAY);
                may_retry
            }
            TryError::Failed { reset, replayable } => {
                // The request may have reached the server: only idempotent ones go again. A
                // reset may be the keep-alive race, so it does not mark the server down.
                tracing::debug!(server = %server.url, error = %why, "request to server failed");
                self.tried.push(idx);
                self.same_server_ok |= reset;
                self.failure = Some(BAD_GATEWAY);
                may_retry && self.idempotent && replayable
            }
            TryError::TimedOut => {
                self.failure = Some((StatusCode::GATEWAY_TIMEOUT, "504 gateway timeout\n"));
                false
            }
        }
    }

    /// What the client gets when no try gave a response.
    pub fn answer(&self, balancer: &Balancer) -> (StatusCode, &'static str) {
        match self.failure {
            Some(f) => f,
            None if balancer.servers.is_empty() || !balancer.has_live_server() => {
                (StatusCode::SERVICE_UNAVAILABLE, "503 no available server\n")
            }
            None => BAD_GATEWAY,
        }
    }
}

/// Methods whose request may be sent twice without changing the outcome (RFC 9110 9.2.2).
fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether an I/O error is the connection being reset or closed under the request (as
/// opposed to, say, a timeout).
pub fn is_reset_kind(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;
    use crate::balance::ServerState;

    /// Servers on loopback ports nothing listens on (the passive-health prober a refusal starts
    /// sends its probes there).
    fn balancer(n: usize) -> Balancer {
        let servers = (0..n)
            .map(|i| {
                Arc::new(
                    ServerState::new(&format!("http://127.0.0.1:{}", i + 1).into(), "").unwrap(),
                )
            })
            .collect();
        Balancer::new(
            "s".into(),
            servers,
            Arc::new(AtomicUsize::new(0)),
            None,
            true,
        )
    }

    #[tokio::test]
    async fn a_refusal_moves_on_and_marks_the_server_down() {
        let b = balancer(2);
        let mut t = Tries::new(0, &b, &Method::POST);
        let first = t.pick(&b, None).unwrap().index();
        assert!(t.failed(&b, first, TryError::Refused, &"refused"));
        assert!(!b.servers[first].is_up());
        let second = t.pick(&b, None).unwrap().index();
        assert_ne!(first, second);
        // A POST that reached the second server is not sent again.
        let reached = TryError::Failed {
            reset: false,
            replayable: true,
        };
        assert!(!t.failed(&b, second, reached, &"garbage"));
        assert_eq!(t.answer(&b).0, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn a_reset_may_try_the_same_server_again_and_a_timeout_is_final() {
        let b = balancer(1);
        let mut t = Tries::new(0, &b, &Method::GET);
        let reset = TryError::Failed {
            reset: true,
            replayable: true,
        };
        assert!(t.failed(&b, 0, reset, &"reset"));
        assert!(
            b.servers[0].is_up(),
            "a reset does not mark the server down"
        );
        assert_eq!(t.pick(&b, None).map(Pick::index), Some(0));
        assert!(!t.failed(&b, 0, TryError::TimedOut, &"timeout"));
        assert_eq!(t.answer(&b).0, StatusCode::GATEWAY_TIMEOUT);
        // A body that cannot be sent again gets one try, even for a GET.
        let mut t = Tries::new(0, &b, &Method::GET);
        let streamed = TryError::Failed {
            reset: true,
            replayable: false,
        };
        assert!(!t.failed(&b, 0, streamed, &"reset"));
    }

    #[test]
    fn no_server_at_all_is_a_503() {
        let b = balancer(0);
        let mut t = Tries::new(0, &b, &Method::GET);
        assert!(t.pick(&b, None).is_none());
        assert_eq!(t.answer(&b).0, StatusCode::SERVICE_UNAVAILABLE);
    }
}
