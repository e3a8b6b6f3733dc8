//! The balancer state that outlives a snapshot: each server's [`ServerState`] keyed by URL and
//! each service's round-robin position keyed by service name. Only the snapshot builder touches
//! it, so a reload keeps health, counters and position for servers that did not change.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use super::server::{BadServerUrl, ServerState};
use crate::config::ServerUrl;

#[derive(Debug, Default)]
pub struct Registry {
    servers: HashMap<String, Arc<ServerState>>,
    positions: HashMap<String, Arc<AtomicUsize>>,
}

impl Registry {
    /// The state of the server at `url`, created on first sight.
    pub fn server(
        &mut self,
        url: &ServerUrl,
        name: &str,
    ) -> Result<Arc<ServerState>, BadServerUrl> {
        if let Some(s) = self.servers.get(url.as_str()) {
            return Ok(s.clone());
        }
        let s = Arc::new(ServerState::new(url, name)?);
        self.servers.insert(url.to_string(), s.clone());
        Ok(s)
    }

    /// The round-robin position of `service`.
    pub fn position(&mut self, service: &str) -> Arc<AtomicUsize> {
        self.positions
            .entry(service.to_string())
            .or_default()
            .clone()
    }

    /// Forgets servers and services that are no longer configured.
    pub fn retain(&mut self, urls: &HashSet<String>, services: &HashSet<String>) {
        self.servers.retain(|u, _| urls.contains(u));
        self.positions.retain(|s, _| services.contains(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_for_unchanged_servers_only() {
        let mut r = Registry::default();
        let a = r.server(&"http://a:1".into(), "").unwrap();
        a.mark_passive_down();
        let p = r.position("svc");
        p.store(5, std::sync::atomic::Ordering::Relaxed);
        let keep: HashSet<String> = ["http://a:1".to_string()].into();
        r.retain(&keep, &["svc".to_string()].into());
        assert!(Arc::ptr_eq(
            &a,
            &r.server(&"http://a:1".into(), "").unwrap()
        ));
        assert!(Arc::ptr_eq(&p, &r.position("svc")));
        r.retain(&HashSet::new(), &HashSet::new());
        assert!(r.server(&"http://a:1".into(), "").unwrap().is_up());
    }
}
