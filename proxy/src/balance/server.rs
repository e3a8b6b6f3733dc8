//! One upstream server's live state: health (active and passive) and request counts.
//!
//! The state is keyed by the server's URL and shared between routing snapshots, so a reload
//! keeps the health and counters of servers that did not change.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use http::uri::Authority;

use super::pool::{Pool, RawConn};
use crate::config::ServerUrl;

/// A server's address and its state.
#[derive(Debug)]
pub struct ServerState {
    /// The URL as written (the key of this state, and what logs and the API show).
    pub url: Arc<str>,
    /// Who this server is for people (container name); never sent to clients.
    pub name: String,
    pub authority: Authority,
    /// Marked down by the proxy itself: a refused or reset connection.
    passive_down: AtomicBool,
    /// Marked down by a failed active health check.
    active_down: AtomicBool,
    /// Set while a recovery prober runs for a passively-downed server.
    pub(crate) probing: AtomicBool,
    requests: AtomicU64,
    /// Idle keep-alive connections to this server.
    pub pool: Pool,
    /// Idle plain connections of the fast path ([`crate::dataplane::h1`]).
    pub raw: Pool<RawConn>,
    /// `Host` to send when the client's is not passed on (`host:port`).
    pub host_value: http::HeaderValue,
    /// Sticky cookies issued for this server: each is a client newly pinned to it (the
    /// management UI's "sticky clients").
    sticky_issued: AtomicU64,
}

/// Why a server URL cannot be used: [`ServerUrl`]'s message (validation reports it first).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadServerUrl(String);

impl ServerState {
    pub fn new(url: &ServerUrl, name: &str) -> Result<Self, BadServerUrl> {
        let target = url.target().map_err(|e| BadServerUrl(e.to_string()))?;
        let bad = || {
            BadServerUrl(format!(
                "server URL `{url}`: `{}` is not a valid Host header",
                target.authority
            ))
        };
        let authority: Authority = target.authority.parse().map_err(|_| bad())?;
        let host_value = http::HeaderValue::from_str(authority.as_str()).map_err(|_| bad())?;
        Ok(Self {
            url: Arc::from(url.as_str()),
            name: name.to_string(),
            authority,
            passive_down: AtomicBool::new(false),
            active_down: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            pool: Default::default(),
            raw: Default::default(),
            host_value,
            sticky_issued: AtomicU64::new(0),
        })
    }

    /// Whether the balancer may pick this server.
    #[inline]
    pub fn is_up(&self) -> bool {
        !self.passive_down.load(Ordering::Relaxed) && !self.active_down.load(Ordering::Relaxed)
    }

    /// Marks the server down after a failed connection; returns true when it was up before.
    pub fn mark_passive_down(&self) -> bool {
        !self.passive_down.swap(true, Ordering::AcqRel)
    }

    pub fn clear_passive_down(&self) {
        self.passive_down.store(false, Ordering::Release);
    }

    pub fn set_active_down(&self, down: bool) {
        self.active_down.store(down, Ordering::Release);
    }

    pub fn is_active_down(&self) -> bool {
        self.active_down.load(Ordering::Acquire)
    }

    #[inline]
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts a `Set-Cookie` pinning a client to this server (one relaxed add, no lock).
    #[inline]
    pub fn count_sticky_issued(&self) {
        self.sticky_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sticky_issued(&self) -> u64 {
        self.sticky_issued.load(Ordering::Relaxed)
    }

    /// `host:port` for a TCP probe.
    pub fn socket_target(&self) -> String {
        let port = self.authority.port_u16().unwrap_or(80);
        format!("{}:{}", self.authority.host(), port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_rejects_bad_ones() {
        let s = ServerState::new(&"http://10.0.0.2:8080".into(), "web1").unwrap();
        assert_eq!(s.authority.as_str(), "10.0.0.2:8080");
        assert_eq!(s.host_value, "10.0.0.2:8080");
        assert!(s.is_up());
        assert_eq!(
            &*ServerState::new(&"http://web/".into(), "").unwrap().url,
            "http://web/"
        );
        assert!(ServerState::new(&"ftp://x".into(), "").is_err());
        assert!(ServerState::new(&"not a url".into(), "").is_err());
        assert!(ServerState::new(&"http://u:p@h:1".into(), "").is_err());
    }

    #[test]
    fn passive_and_active_health_combine() {
        let s = ServerState::new(&"http://h:1".into(), "").unwrap();
        assert!(s.mark_passive_down());
        assert!(!s.mark_passive_down());
        assert!(!s.is_up());
        s.clear_passive_down();
        s.set_active_down(true);
        assert!(!s.is_up());
        s.set_active_down(false);
        assert!(s.is_up());
    }
}
