//! One running server as `/whoami` describes it: its id, where it runs, since when, how busy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::InstanceId;

/// Shared by every request (behind an `Arc`); only the request counter changes.
#[derive(Debug)]
pub struct Instance {
    id: InstanceId,
    /// Which program this is (`static-server`, `jokes-api`), for `/whoami`.
    service: &'static str,
    hostname: String,
    started_at: SystemTime,
    requests: AtomicU64,
}

impl Instance {
    pub fn new(service: &'static str, id: InstanceId) -> Self {
        Instance {
            hostname: crate::net::hostname().unwrap_or_else(|| id.id.clone()),
            id,
            service,
            started_at: SystemTime::now(),
            requests: AtomicU64::new(0),
        }
    }

    /// The id every response names in `X-Served-By`.
    pub fn id(&self) -> &str {
        &self.id.id
    }

    /// Where the id came from.
    pub fn id_source(&self) -> crate::Source {
        self.id.source
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Requests received so far, those in progress included.
    pub fn requests_served(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one request; returns its number (1 for the first).
    pub fn count_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
    }
}
