//! What the Docker and Swarm watch loops share: the event stream forwarded into a queue, the
//! outage bookkeeping (log the first failure and the recovery, back off in between), the
//! warm-up probes of a server that starts serving, and publishing a changed configuration.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use super::docker::{Prober, SourceError};
use super::Publisher;
use crate::config::ProviderConfig;

/// First wait before reconnecting; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a server that starts serving may take to accept connections before it is routed
/// anyway (its health is then the data plane's business: a proxy that cannot reach the
/// containers' network, on a laptop's host, probes in vain).
pub const WARM_MAX: Duration = Duration::from_secs(3);
/// Time between two connection attempts to a starting server.
pub const WARM_PROBE_EVERY: Duration = Duration::from_millis(20);

/// Forwards `stream` into a queue from a task of its own, so that events wait there while the
/// loop lists or polls (subscribe first, list second: nothing is lost in between). The task
/// ends when the guard is dropped.
pub(super) fn forward<T: Send + 'static>(
    mut stream: BoxStream<'static, T>,
) -> (mpsc::Receiver<T>, AbortOnDrop) {
    let (tx, events) = mpsc::channel(256);
    let task = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    (events, AbortOnDrop(task))
}

/// Aborts its task when dropped.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Outage bookkeeping: log the first failure and the recovery, nothing in between.
#[derive(Debug)]
pub(super) struct Health {
    /// `docker` or `swarm`, for the log.
    provider: &'static str,
    endpoint: String,
    down_since: Option<Instant>,
    backoff: Duration,
}

impl Health {
    pub(super) fn new(provider: &'static str, endpoint: String) -> Self {
        Self {
            provider,
            endpoint,
            down_since: None,
            backoff: BACKOFF_MIN,
        }
    }

    pub(super) fn failed(&mut self, error: &SourceError) {
        let provider = self.provider;
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(
                "{provider} provider: {error}; keeping the last configuration, retrying in the \
                 background (with backoff up to {}s) until the engine is back",
                BACKOFF_MAX.as_secs()
            );
        } else {
            tracing::debug!("{provider} provider: still unreachable: {error}");
        }
    }

    /// Logs a (re)connection; `found` says what the engine holds (`3 running containers`).
    pub(super) fn connected(&mut self, found: &str) {
        self.backoff = BACKOFF_MIN;
        let provider = self.provider;
        match self.down_since.take() {
            Some(since) => tracing::info!(
                "{provider} provider: engine at {} is back after {:.1}s; {found}",
                self.endpoint,
                since.elapsed().as_secs_f64()
            ),
            None => tracing::info!(
                "{provider} provider: watching the engine at {}; {found}",
                self.endpoint
            ),
        }
    }

    pub(super) async fn wait(&mut self) {
        sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }
}

/// Probes `waiting` every [`WARM_PROBE_EVERY`] until each accepts connections or [`WARM_MAX`]
/// has passed; returns those that still do not.
pub(super) async fn warm_up(prober: &Prober, mut waiting: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let started = Instant::now();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for addr in waiting {
            if !prober(addr).await {
                still.push(addr);
            }
        }
        waiting = still;
        if waiting.is_empty() || started.elapsed() >= WARM_MAX {
            break;
        }
        sleep(WARM_PROBE_EVERY).await;
    }
    waiting
}

/// The addresses a configuration routes to, for [`warm_up`].
pub(super) fn addresses(config: &ProviderConfig) -> Vec<SocketAddr> {
    config
        .config
        .services
        .values()
        .flat_map(|s| s.load_balancer.servers.iter())
        .filter_map(|server| server.url.socket_addr())
        .collect()
}

/// Publishes `config` if it differs from what was last published, and logs the change and its
/// new issues.
pub(super) fn publish(provider: &str, publisher: &Publisher, config: ProviderConfig) {
    publisher.send_if_modified(|current| {
        if *current == config {
            return false;
        }
        let servers: usize = config
            .config
            .services
            .values()
            .map(|s| s.load_balancer.servers.len())
            .sum();
        tracing::info!(
            routers = config.config.routers.len(),
            services = config.config.services.len(),
            servers,
            issues = config.issues.len(),
            "{provider} provider: configuration changed"
        );
        for issue in config.issues.iter().filter(|i| !current.issues.contains(i)) {
            tracing::warn!(
                "{provider} provider: {:?}: {}",
                issue.element,
                issue.message
            );
        }
        *current = config;
        true
    });
}
