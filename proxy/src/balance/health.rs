//! Health: passive (the proxy saw a connection fail) and active (`healthCheck` probes).
//!
//! Passive: a refused or reset connection marks the server down at once; a prober then tries a
//! TCP connection every [`PROBE_INTERVAL`] and brings the server back after
//! [`UP_AFTER`] consecutive successes, so no client request is used as a probe.
//! Active: every `interval`, `GET path` with `timeout`; 2xx/3xx is healthy. One failure marks the
//! server DOWN; [`UP_AFTER`] consecutive successes bring it back UP.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinHandle;

use super::server::ServerState;
use crate::config::HealthCheck;

/// Consecutive successes that bring a server back.
pub const UP_AFTER: u32 = 2;
/// Time between two TCP probes of a passively downed server.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// Marks `server` down after a failed connection and, if it was up, starts its prober.
pub fn report_connection_failure(server: &Arc<ServerState>) {
    if server.mark_passive_down() {
        tracing::warn!(server = %server.url, "server refused or reset the connection: DOWN until it accepts connections again");
        if !server.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(probe(Arc::downgrade(server)));
        }
    }
}

async fn probe(server: Weak<ServerState>) {
    let mut successes = 0;
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let Some(s) = server.upgrade() else { return };
        let target = s.socket_target();
        drop(s);
        let ok = matches!(
            tokio::time::timeout(PROBE_INTERVAL, tokio::net::TcpStream::connect(&target)).await,
            Ok(Ok(_))
        );
        successes = if ok { successes + 1 } else { 0 };
        if successes >= UP_AFTER {
            if let Some(s) = server.upgrade() {
                tracing::info!(server = %s.url, "server accepts connections again: UP");
                s.probing.store(false, Ordering::Release);
                s.clear_passive_down();
            }
            return;
        }
    }
}

/// The running active health checks, one task per (server, check settings).
pub struct ActiveChecks {
    client: Client<HttpConnector, Empty<Bytes>>,
    tasks: HashMap<(String, String), (Weak<ServerState>, JoinHandle<()>)>,
}

impl Default for ActiveChecks {
    fn default() -> Self {
        Self::new()
    }
}

impl ActiveChecks {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build(connector);
        Self {
            client,
            tasks: HashMap::new(),
        }
    }

    /// Runs exactly the checks in `desired`, keeping those already running.
    pub fn update(&mut self, desired: Vec<(Arc<ServerState>, HealthCheck)>) {
        let mut next = HashMap::new();
        for (server, check) in desired {
            let key = (server.url.to_string(), format!("{check:?}"));
            if next.contains_key(&key) {
                continue;
            }
            let entry = match self.tasks.remove(&key) {
                Some(running) => running,
                None => {
                    let task = tokio::spawn(run_check(
                        self.client.clone(),
                        Arc::downgrade(&server),
                        check,
                    ));
                    (Arc::downgrade(&server), task)
                }
            };
            next.insert(key, entry);
        }
        for ((url, _), (server, task)) in self.tasks.drain() {
            task.abort();
            let still_checked = next.keys().any(|(u, _)| *u == url);
            if let (false, Some(s)) = (still_checked, server.upgrade()) {
                s.set_active_down(false);
            }
        }
        self.tasks = next;
    }
}

impl Drop for ActiveChecks {
    fn drop(&mut self) {
        for (_, (_, task)) in self.tasks.drain() {
            task.abort();
        }
    }
}

fn check_uri(server: &ServerState, check: &HealthCheck) -> Option<http::Uri> {
    let host = server.authority.host();
    let port = check.port.or(server.authority.port_u16()).unwrap_or(80);
    let path = if check.path.starts_with('/') {
        check.path.clone()
    } else {
        format!("/{}", check.path)
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("http://{host}:{port}{path}").parse().ok()
}

async fn run_check(
    client: Client<HttpConnector, Empty<Bytes>>,
    server: Weak<ServerState>,
    check: HealthCheck,
) {
    let mut successes = 0u32;
    let interval = check.interval.max(Duration::from_millis(50));
    loop {
        let Some(s) = server.upgrade() else { return };
        let Some(uri) = check_uri(&s, &check) else {
            tracing::error!(server = %s.url, path = %check.path, "health check path does not make a URL; check disabled");
            return;
        };
        drop(s);
        let ok = match tokio::time::timeout(check.timeout, client.get(uri)).await {
            Ok(Ok(resp)) => {
                let st = resp.status();
                st.is_success() || st.is_redirection()
            }
            _ => false,
        };
        let Some(s) = server.upgrade() else { return };
        if ok {
            successes = successes.saturating_add(1);
            if s.is_active_down() && successes >= UP_AFTER {
                tracing::info!(server = %s.url, "health check passed {UP_AFTER} times: UP");
                s.set_active_down(false);
            }
        } else {
            successes = 0;
            if !s.is_active_down() {
                tracing::warn!(server = %s.url, path = %check.path, "health check failed: DOWN");
                s.set_active_down(true);
            }
        }
        drop(s);
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_uri_uses_port_and_path() {
        let s = ServerState::new(&"http://10.0.0.1:3000".into(), "").unwrap();
        let mut c = HealthCheck {
            path: "health".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            port: None,
        };
        assert_eq!(
            check_uri(&s, &c).unwrap().to_string(),
            "http://10.0.0.1:3000/health"
        );
        c.port = Some(9000);
        assert_eq!(
            check_uri(&s, &c).unwrap().to_string(),
            "http://10.0.0.1:9000/health"
        );
    }
}
