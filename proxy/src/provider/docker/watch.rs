//! The watch loop: list and inspect once, then follow events, keeping a cache of containers
//! and publishing the desired configuration whenever it changes.
//!
//! - `kill` (with a terminating signal) and `stop` take the container out at once, from the
//!   cache alone: no request to the engine stands between the event and the new configuration.
//!   `die` and `destroy` remove it too.
//! - `start`, `health_status`, `pause` and `unpause` re-inspect just that container, after a
//!   short pause that gathers a burst (`compose up --scale` starts several at once).
//! - The engine going away (socket missing, daemon restart, stream cut) leaves the last
//!   configuration in place: the loop logs it once, retries with backoff, and on success lists
//!   everything again to catch up. A full re-list also runs every [`RELIST_EVERY`], a safety
//!   net for an event lost in transit.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

use super::container::{Action, Container, ContainerEvent};
use super::desired;
use super::source::{ContainerSource, SourceError};
use super::DockerOptions;
use crate::config::ProviderConfig;
use crate::provider::Publisher;

/// How long a burst of events is gathered before the containers they name are inspected.
pub const GATHER: Duration = Duration::from_millis(15);
/// First wait before reconnecting; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A full list and inspect, even with no event.
pub const RELIST_EVERY: Duration = Duration::from_secs(60);
/// Inspections in flight at once during a full list.
const PARALLEL_INSPECTS: usize = 8;

/// What the loop knows between events.
#[derive(Debug, Default)]
struct Known {
    /// Running or paused containers, by id.
    containers: BTreeMap<String, Container>,
    /// Containers told to stop that have not died yet: out of the rotation already.
    leaving: HashSet<String>,
    /// Containers to inspect again at the next gather deadline.
    dirty: HashSet<String>,
}

impl Known {
    fn desired(&self, opts: &DockerOptions) -> ProviderConfig {
        desired::build(
            self.containers
                .values()
                .filter(|c| !self.leaving.contains(&c.id)),
            opts,
        )
    }

    /// Applies an event to the cache. Returns whether the configuration may have changed
    /// already (without asking the engine).
    fn apply(&mut self, event: ContainerEvent) -> bool {
        let id = event.id;
        match event.action {
            ref a if a.is_leaving() => {
                self.dirty.remove(&id);
                self.leaving.insert(id)
            }
            Action::Die | Action::Destroy => {
                self.dirty.remove(&id);
                self.leaving.remove(&id);
                self.containers.remove(&id).is_some()
            }
            Action::Start => {
                let was_leaving = self.leaving.remove(&id);
                self.dirty.insert(id);
                was_leaving
            }
            Action::HealthStatus | Action::Pause | Action::Unpause => {
                self.dirty.insert(id);
                false
            }
            Action::Kill { .. } | Action::Stop | Action::Other(_) => false,
        }
    }
}

/// Outage bookkeeping: log the first failure and the recovery, nothing in between.
#[derive(Debug)]
struct Health {
    endpoint: String,
    down_since: Option<Instant>,
    backoff: Duration,
}

impl Health {
    fn failed(&mut self, error: &SourceError) {
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(
                "docker provider: {error}; keeping the last configuration, retrying in the \
                 background (with backoff up to {}s) until the engine is back",
                BACKOFF_MAX.as_secs()
            );
        } else {
            tracing::debug!("docker provider: still unreachable: {error}");
        }
    }

    fn connected(&mut self, containers: usize) {
        self.backoff = BACKOFF_MIN;
        match self.down_since.take() {
            Some(since) => tracing::info!(
                "docker provider: engine at {} is back after {:.1}s; listed {containers} \
                 running containers",
                self.endpoint,
                since.elapsed().as_secs_f64()
            ),
            None => tracing::info!(
                "docker provider: watching the engine at {}; {containers} running containers",
                self.endpoint
            ),
        }
    }

    async fn wait(&mut self) {
        sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }
}

/// Runs forever (the caller drops it on shutdown).
pub async fn watch<S>(source: &S, opts: &DockerOptions, publisher: &Publisher)
where
    S: ContainerSource + ?Sized,
{
    let mut known = Known::default();
    let mut health = Health {
        endpoint: source.endpoint(),
        down_since: None,
        backoff: BACKOFF_MIN,
    };
    loop {
        if let Err(e) = follow(source, opts, publisher, &mut known, &mut health).await {
            health.failed(&e);
        }
        health.wait().await;
    }
}

/// One connection: subscribe, list everything, then follow events until the engine fails.
async fn follow<S>(
    source: &S,
    opts: &DockerOptions,
    publisher: &Publisher,
    known: &mut Known,
    health: &mut Health,
) -> Result<(), SourceError>
where
    S: ContainerSource + ?Sized,
{
    // Subscribe first, list second: an event that happens while listing is not lost.
    let (tx, mut events) = mpsc::channel(256);
    let mut stream = source.events();
    let forward = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let _stop_forwarding = AbortOnDrop(forward);

    // After an outage the cache may be stale in any way (a container stopped and started
    // again while we were away): start from what the engine says now.
    known.leaving.clear();
    relist(source, known).await?;
    health.connected(known.containers.len());
    publish(publisher, known.desired(opts));

    let mut gather_until: Option<Instant> = None;
    let mut relist_at = Instant::now() + RELIST_EVERY;
    loop {
        tokio::select! {
            item = events.recv() => {
                let event = match item {
                    Some(Ok(event)) => event,
                    Some(Err(e)) => return Err(e),
                    None => return Err(SourceError::StreamEnded { reason: "no more events".into() }),
                };
                tracing::debug!(id = %short(&event.id), action = ?event.action, "docker event");
                if known.apply(event) {
                    publish(publisher, known.desired(opts));
                }
                if !known.dirty.is_empty() && gather_until.is_none() {
                    gather_until = Some(Instant::now() + GATHER);
                }
            }
            _ = sleep_until(gather_until.unwrap_or_else(Instant::now)), if gather_until.is_some() => {
                gather_until = None;
                let ids: Vec<String> = known.dirty.drain().collect();
                for id in ids {
                    match source.inspect(&id).await? {
                        Some(c) => { known.containers.insert(id, c); }
                        None => { known.containers.remove(&id); known.leaving.remove(&id); }
                    }
                }
                publish(publisher, known.desired(opts));
            }
            _ = sleep_until(relist_at) => {
                relist_at = Instant::now() + RELIST_EVERY;
                relist(source, known).await?;
                publish(publisher, known.desired(opts));
            }
        }
    }
}

/// Lists and inspects every running container, replacing the cache.
async fn relist<S>(source: &S, known: &mut Known) -> Result<(), SourceError>
where
    S: ContainerSource + ?Sized,
{
    let ids = source.list().await?;
    let inspected: Vec<Result<Option<Container>, SourceError>> = stream::iter(ids.iter())
        .map(|id| source.inspect(id))
        .buffer_unordered(PARALLEL_INSPECTS)
        .collect()
        .await;
    let mut containers = BTreeMap::new();
    for c in inspected {
        if let Some(c) = c? {
            containers.insert(c.id.clone(), c);
        }
    }
    known.containers = containers;
    // A container still listed after a `kill` or `stop` is still on its way out: keep it out.
    let still_there = &known.containers;
    known.leaving.retain(|id| still_there.contains_key(id));
    known.dirty.clear();
    Ok(())
}

/// Publishes `config` if it differs from what was last published.
fn publish(publisher: &Publisher, config: ProviderConfig) {
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
            "docker provider: configuration changed"
        );
        for issue in config.issues.iter().filter(|i| !current.issues.contains(i)) {
            tracing::warn!("docker provider: {:?}: {}", issue.element, issue.message);
        }
        *current = config;
        true
    });
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
