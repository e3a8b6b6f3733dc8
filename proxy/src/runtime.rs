//! The runtime: the current routing snapshot, the client to servers, and what observes them
//! (metrics, access log). Providers' changes flow in through [`watch_providers`], which merges
//! and swaps a new snapshot in as soon as any provider publishes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::{watch, Notify};

use crate::balance::health::ActiveChecks;
use crate::balance::Registry;
use crate::config::{ProviderConfig, TlsConfig};
use crate::observe::metrics::Metrics;
use crate::observe::Outcome;
use crate::snapshot::{self, Snapshot};
use crate::static_config::StaticConfig;
use crate::tls::{Certificates, Resolver};

/// One provider's channel, by provider name (`file`, `docker`).
pub type ProviderFeed = (String, watch::Receiver<ProviderConfig>);

/// Shared by every connection and the API.
pub struct Runtime {
    pub snapshot: ArcSwap<Snapshot>,
    /// How long opening a connection to a server may take.
    pub dial_timeout: Duration,
    pub response_header_timeout: Duration,
    pub access_log: bool,
    pub metrics: Option<Metrics>,
    pub static_config: StaticConfig,
    /// Entrypoints' bound addresses, by name.
    pub bound: BTreeMap<String, SocketAddr>,
    pub started: SystemTime,
    /// Names of the data-plane entrypoints (all but the API's).
    pub data_entrypoints: Vec<String>,
    /// TLS for every entrypoint: its certificates follow the providers' `tls` sections.
    pub tls: Arc<rustls::ServerConfig>,
    builder: Mutex<Builder>,
}

struct Builder {
    registry: Registry,
    checks: ActiveChecks,
    generation: u64,
    certificates: Certificates,
}

impl Runtime {
    pub fn new(cfg: StaticConfig, bound: BTreeMap<String, SocketAddr>) -> Self {
        let data_entrypoints: Vec<String> = cfg
            .entrypoints
            .keys()
            .filter(|k| *k != crate::static_config::API_ENTRYPOINT || !serves_api(&cfg))
            .cloned()
            .collect();
        let provider = crate::tls::provider();
        let certificates = Certificates::new(provider.clone());
        let tls = crate::tls::server_config(provider, Resolver(certificates.store.clone()));
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            dial_timeout: cfg.dial_timeout,
            response_header_timeout: cfg.response_header_timeout,
            access_log: cfg.access_log,
            metrics: cfg.metrics.then(|| {
                // Every data entrypoint shows in `traefik_open_connections`, 0 until a client
                // connects.
                let m = Metrics::new();
                for ep in &data_entrypoints {
                    m.open_connections(ep);
                }
                m
            }),
            static_config: cfg,
            bound,
            started: SystemTime::now(),
            data_entrypoints,
            tls,
            builder: Mutex::new(Builder {
                registry: Registry::default(),
                checks: ActiveChecks::new(),
                generation: 0,
                certificates,
            }),
        }
    }

    /// Merges the providers' latest configurations and swaps the new snapshot in.
    pub fn apply(&self, providers: &[(String, ProviderConfig)]) {
        let merged = crate::config::merge::merge_with(
            providers.iter().map(|(n, c)| (n.as_str(), c)),
            self.static_config.default_rule_syntax,
        );
        let mut b = self.builder.lock().expect("snapshot builder poisoned");
        b.generation += 1;
        let generation = b.generation;
        let built = snapshot::build(merged, &self.data_entrypoints, &mut b.registry, generation);
        let previous = self.snapshot.load();
        for issue in &built.snapshot.merged.issues {
            if !previous.merged.issues.contains(issue) {
                tracing::warn!(element = ?issue.element, "configuration problem: {}", issue.message);
            }
        }
        b.checks.update(built.health_checks);
        let mut tls = TlsConfig::default();
        for (_, c) in providers {
            tls.extend(c.config.tls.clone());
        }
        b.certificates.update(&tls);
        tracing::info!(
            generation,
            routers = built.snapshot.routes.len(),
            services = built.snapshot.balancers.len(),
            "configuration applied"
        );
        self.snapshot.store(Arc::new(built.snapshot));
        if let Some(m) = &self.metrics {
            m.config_reloaded(SystemTime::now());
        }
    }

    /// Records a finished request: metrics and access log.
    #[inline]
    pub fn record(&self, o: &Outcome<'_>) {
        if let Some(m) = &self.metrics {
            m.observe(o);
        }
        if self.access_log {
            crate::observe::access_log(o);
        }
    }
}

/// Closes connections to servers left idle longer than `--serverstransport.forwardingtimeouts.
/// idleconntimeout` (surplus ones sooner, see [`crate::balance::pool::Pool::reap`]), checking every
/// second or more often, until `shutdown` fires.
pub async fn reap_idle_connections(rt: Arc<Runtime>, mut shutdown: watch::Receiver<bool>) {
    let max_idle = rt.static_config.idle_conn_timeout;
    let every = (max_idle / 3).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        let snap = rt.snapshot.load();
        for b in snap.balancers.values() {
            for s in &b.servers {
                let n = s.pool.reap(max_idle) + s.raw.reap(max_idle);
                if n > 0 {
                    tracing::debug!(server = %s.url, closed = n, "closed idle connections");
                }
            }
        }
    }
}

/// Whether the `traefik` entrypoint serves the API (rather than routers).
pub fn serves_api(cfg: &StaticConfig) -> bool {
    cfg.api || cfg.metrics || cfg.ping
}

/// Applies every provider's configuration now and whenever one changes, until all senders
/// are gone or `shutdown` fires.
pub async fn watch_providers(
    rt: Arc<Runtime>,
    feeds: Vec<ProviderFeed>,
    mut shutdown: watch::Receiver<bool>,
) {
    let notify = Arc::new(Notify::new());
    let mut forwarders = Vec::new();
    for (_, rx) in &feeds {
        let mut rx = rx.clone();
        let notify = notify.clone();
        forwarders.push(tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                notify.notify_one();
            }
        }));
    }
    let current = |feeds: &[ProviderFeed]| -> Vec<(String, ProviderConfig)> {
        feeds
            .iter()
            .map(|(n, rx)| (n.clone(), rx.borrow().clone()))
            .collect()
    };
    rt.apply(&current(&feeds));
    loop {
        tokio::select! {
            _ = notify.notified() => rt.apply(&current(&feeds)),
            _ = shutdown.changed() => break,
        }
    }
    for f in forwarders {
        f.abort();
    }
}
