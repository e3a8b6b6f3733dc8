//! The watch loop: list and inspect once, then follow events, keeping a cache of containers
//! and publishing the desired configuration whenever it changes.
//!
//! - `kill` (with a terminating signal) and `stop` take the container out at once, from the
//!   cache alone: no request to the engine stands between the event and the new configuration.
//!   `die` and `destroy` remove it too.
//! - `start`, `health_status`, `pause` and `unpause` re-inspect just that container, after a
//!   short pause that gathers a burst (`compose up --scale` starts several at once).
//! - A container that starts serving is routed once its port accepts connections (probed
//!   every [`WARM_PROBE_EVERY`](crate::provider::engine_watch::WARM_PROBE_EVERY), for at most
//!   [`WARM_MAX`]): its process may need a moment to listen, and a request sent before would be
//!   refused. Traefik routes it at once, and a client's first request can fail.
//! - The engine going away (socket missing, daemon restart, stream cut) leaves the last
//!   configuration in place: the loop logs it once, retries with backoff, and on success lists
//!   everything again to catch up. A full re-list also runs every [`RELIST_EVERY`], a safety
//!   net for an event lost in transit.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::container::{Action, Container, ContainerEvent};
use super::desired;
use super::scope::{self, Scope};
use super::source::{ContainerSource, Prober, SourceError};
use super::DockerOptions;
use crate::config::ProviderConfig;
use crate::provider::engine_watch::WARM_MAX;
use crate::provider::engine_watch::{self, forward, warm_up, Health};
use crate::provider::Publisher;

/// How long a burst of events is gathered before the containers they name are inspected.
pub const GATHER: Duration = Duration::from_millis(15);
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
    /// Containers that started serving and do not accept connections yet: not routed.
    warming: HashSet<String>,
    /// What the proxy reaches (its own container's networks), found again at every re-list.
    scope: Scope,
}

impl Known {
    fn desired(&self, opts: &DockerOptions) -> ProviderConfig {
        desired::build_in(
            self.containers
                .values()
                .filter(|c| !self.leaving.contains(&c.id) && !self.warming.contains(&c.id)),
            opts,
            &self.scope,
        )
    }

    /// Stores an inspected container. Returns it when it starts serving now (new, or back
    /// from stopped, paused or unhealthy): it then waits in `warming` for its port to accept.
    fn update(&mut self, c: Container) -> Option<Container> {
        let was_serving = self.containers.get(&c.id).is_some_and(desired::is_serving);
        let serving = desired::is_serving(&c);
        let id = c.id.clone();
        let started = (serving && !was_serving).then(|| c.clone());
        if started.is_some() {
            self.warming.insert(id.clone());
        } else if !serving {
            self.warming.remove(&id);
        }
        self.containers.insert(id, c);
        started
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
                self.warming.remove(&id);
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

/// Runs forever (the caller drops it on shutdown).
pub async fn watch<S>(source: &S, opts: &DockerOptions, publisher: &Publisher)
where
    S: ContainerSource + ?Sized,
{
    let mut known = Known::default();
    // Probes report here; the channel outlives reconnections so no report is lost.
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let warm = Warm {
        prober: source.prober(),
        ready: ready_tx,
    };
    let mut health = Health::new("docker", source.endpoint());
    loop {
        let follow = follow(
            source,
            opts,
            publisher,
            &mut known,
            &mut health,
            &warm,
            &mut ready,
        );
        if let Err(e) = follow.await {
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
    warm: &Warm,
    ready: &mut mpsc::UnboundedReceiver<String>,
) -> Result<(), SourceError>
where
    S: ContainerSource + ?Sized,
{
    // Subscribe first, list second: an event that happens while listing is not lost.
    let (mut events, _stop_forwarding) = forward(source.events());

    // After an outage the cache may be stale in any way (a container stopped and started
    // again while we were away): start from what the engine says now.
    known.leaving.clear();
    for started in relist(source, known).await? {
        warm.probe(started, opts, &known.scope);
    }
    health.connected(&format!("{} running containers", known.containers.len()));
    engine_watch::publish("docker", publisher, known.desired(opts));

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
                    engine_watch::publish("docker", publisher, known.desired(opts));
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
                        Some(c) => {
                            if let Some(started) = known.update(c) {
                                warm.probe(started, opts, &known.scope);
                            }
                        }
                        None => {
                            known.containers.remove(&id);
                            known.leaving.remove(&id);
                            known.warming.remove(&id);
                        }
                    }
                }
                engine_watch::publish("docker", publisher, known.desired(opts));
            }
            Some(id) = ready.recv() => {
                if known.warming.remove(&id) {
                    engine_watch::publish("docker", publisher, known.desired(opts));
                }
            }
            _ = sleep_until(relist_at) => {
                relist_at = Instant::now() + RELIST_EVERY;
                for started in relist(source, known).await? {
                    warm.probe(started, opts, &known.scope);
                }
                engine_watch::publish("docker", publisher, known.desired(opts));
            }
        }
    }
}

/// Lists and inspects every running container, replacing the cache. Returns the containers
/// that started serving since the cache last saw them (all of them the first time).
async fn relist<S>(source: &S, known: &mut Known) -> Result<Vec<Container>, SourceError>
where
    S: ContainerSource + ?Sized,
{
    let scope = scope::detect(source).await?;
    if scope != known.scope {
        tracing::info!(
            "docker provider: routing containers on {}",
            if scope.networks.is_empty() {
                "every network (the proxy is not in a container)".to_owned()
            } else {
                format!(
                    "the proxy's networks: {}",
                    scope
                        .networks
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        known.scope = scope;
    }
    let ids = source.list().await?;
    let mut containers = BTreeMap::new();
    for chunk in ids.chunks(PARALLEL_INSPECTS) {
        let inspections: Vec<_> = chunk.iter().map(|id| source.inspect(id)).collect();
        for c in futures_util::future::join_all(inspections).await {
            if let Some(c) = c? {
                containers.insert(c.id.clone(), c);
            }
        }
    }
    let mut started = Vec::new();
    let old = std::mem::take(&mut known.containers);
    for (id, c) in containers {
        let was_serving = old.get(&id).is_some_and(desired::is_serving);
        if desired::is_serving(&c) && !was_serving {
            known.warming.insert(id.clone());
            started.push(c.clone());
        }
        known.containers.insert(id, c);
    }
    // A container still listed after a `kill` or `stop` is still on its way out: keep it out.
    let still_there = &known.containers;
    known.leaving.retain(|id| still_there.contains_key(id));
    known
        .warming
        .retain(|id| still_there.get(id).is_some_and(desired::is_serving));
    known.dirty.clear();
    Ok(started)
}

/// Starts probes for containers that start serving.
struct Warm {
    prober: Prober,
    ready: mpsc::UnboundedSender<String>,
}

impl Warm {
    /// Probes every address `container` would be routed at, then reports it ready (or after
    /// [`WARM_MAX`], ready or not).
    fn probe(&self, container: Container, opts: &DockerOptions, scope: &Scope) {
        let addrs = engine_watch::addresses(&desired::build_in([&container], opts, scope));
        let (prober, ready) = (self.prober.clone(), self.ready.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let waiting = warm_up(&prober, addrs).await;
            if !waiting.is_empty() {
                tracing::info!(
                    "docker provider: container `{}` does not accept connections at {:?} \
                     after {}s; routing it anyway",
                    container.name,
                    waiting,
                    WARM_MAX.as_secs()
                );
            }
            tracing::debug!(
                id = %short(&container.id),
                "ready after {:?}",
                started.elapsed()
            );
            let _ = ready.send(container.id);
        });
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use futures_util::stream::StreamExt;

    use crate::provider::engine_watch::{BACKOFF_MAX, WARM_PROBE_EVERY};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use futures_util::future::BoxFuture;
    use futures_util::stream::{self, BoxStream};
    use tokio::sync::watch;

    use super::*;
    use crate::provider::docker::State;

    type EventTx = mpsc::UnboundedSender<Result<ContainerEvent, SourceError>>;

    /// An engine in memory: containers, an up/down switch, and one event channel per
    /// subscription.
    #[derive(Default)]
    struct Fake {
        containers: Mutex<BTreeMap<String, Container>>,
        down: AtomicBool,
        lists: AtomicUsize,
        subscribers: Mutex<Vec<EventTx>>,
        /// Addresses that do not accept connections yet.
        refusing: Arc<Mutex<HashSet<SocketAddr>>>,
    }

    impl Fake {
        fn put(&self, c: Container) {
            self.containers.lock().unwrap().insert(c.id.clone(), c);
        }
        fn remove(&self, id: &str) {
            self.containers.lock().unwrap().remove(id);
        }
        fn send(&self, id: &str, action: Action) {
            for tx in self.subscribers.lock().unwrap().iter() {
                let _ = tx.send(Ok(ContainerEvent {
                    id: id.into(),
                    action: action.clone(),
                }));
            }
        }
        fn cut(&self) {
            self.down.store(true, Ordering::SeqCst);
            for tx in self.subscribers.lock().unwrap().drain(..) {
                let _ = tx.send(Err(SourceError::StreamEnded {
                    reason: "daemon restart".into(),
                }));
            }
        }
        fn unreachable() -> SourceError {
            SourceError::Unreachable {
                endpoint: "fake".into(),
                reason: "down".into(),
            }
        }
    }

    impl ContainerSource for Fake {
        fn endpoint(&self) -> String {
            "fake".into()
        }
        fn list(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>> {
            Box::pin(async move {
                if self.down.load(Ordering::SeqCst) {
                    return Err(Fake::unreachable());
                }
                self.lists.fetch_add(1, Ordering::SeqCst);
                Ok(self.containers.lock().unwrap().keys().cloned().collect())
            })
        }
        fn inspect<'a>(
            &'a self,
            id: &'a str,
        ) -> BoxFuture<'a, Result<Option<Container>, SourceError>> {
            Box::pin(async move {
                if self.down.load(Ordering::SeqCst) {
                    return Err(Fake::unreachable());
                }
                Ok(self.containers.lock().unwrap().get(id).cloned())
            })
        }
        fn events(&self) -> BoxStream<'static, Result<ContainerEvent, SourceError>> {
            if self.down.load(Ordering::SeqCst) {
                return stream::iter([Err(Fake::unreachable())]).boxed();
            }
            let (tx, rx) = mpsc::unbounded_channel();
            self.subscribers.lock().unwrap().push(tx);
            stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .boxed()
        }
        fn prober(&self) -> Prober {
            let refusing = self.refusing.clone();
            Arc::new(move |addr| {
                let accepts = !refusing.lock().unwrap().contains(&addr);
                Box::pin(async move { accepts })
            })
        }
    }

    fn static_container(id: &str, ip: &str) -> Container {
        Container {
            id: id.into(),
            name: format!("lab-static-{id}"),
            labels: BTreeMap::from([
                ("com.docker.compose.service".into(), "static".into()),
                ("com.docker.compose.project".into(), "lab".into()),
            ]),
            state: State::Running,
            health: None,
            exposed_ports: vec![80],
            networks: BTreeMap::from([("lab_default".into(), ip.into())]),
        }
    }

    fn servers(config: &ProviderConfig) -> Vec<String> {
        config
            .config
            .services
            .get("static-lab")
            .map(|s| {
                s.load_balancer
                    .servers
                    .iter()
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts the loop on `fake`; returns the receiving side.
    fn start(fake: &Arc<Fake>) -> (watch::Receiver<ProviderConfig>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(ProviderConfig::default());
        let fake = fake.clone();
        let task = tokio::spawn(async move {
            watch(&*fake, &DockerOptions::default(), &tx).await;
        });
        (rx, task)
    }

    /// Waits (in paused time) until the published configuration has `expected` servers.
    async fn until_servers(
        rx: &mut watch::Receiver<ProviderConfig>,
        expected: &[&str],
    ) -> Duration {
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if servers(&rx.borrow_and_update()) == expected {
                    return;
                }
                rx.changed().await.unwrap();
            }
        })
        .await
        .unwrap_or_else(|_| panic!("never saw {expected:?}; last {:?}", servers(&rx.borrow())));
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn lists_at_start_then_follows_start_and_die() {
        let fake = Arc::new(Fake::default());
        fake.put(static_container("b", "10.0.0.3"));
        fake.put(static_container("a", "10.0.0.2"));
        let (mut rx, task) = start(&fake);
        until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;

        fake.put(static_container("c", "10.0.0.4"));
        fake.send("c", Action::Start);
        let took = until_servers(&mut rx, &["lab-static-a", "lab-static-b", "lab-static-c"]).await;
        assert!(took <= Duration::from_millis(250), "took {took:?}");

        fake.send("a", Action::Die);
        until_servers(&mut rx, &["lab-static-b", "lab-static-c"]).await;
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopping_container_leaves_before_it_dies_and_comes_back_on_start() {
        let fake = Arc::new(Fake::default());
        fake.put(static_container("a", "10.0.0.2"));
        fake.put(static_container("b", "10.0.0.3"));
        let (mut rx, task) = start(&fake);
        until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;

        // `docker stop`: SIGTERM first; the engine still says "running".
        fake.send(
            "a",
            Action::Kill {
                signal: "15".into(),
            },
        );
        let took = until_servers(&mut rx, &["lab-static-b"]).await;
        assert_eq!(took, Duration::ZERO, "no engine round trip before leaving");
        // A health event about it while it stops does not bring it back.
        fake.send("a", Action::HealthStatus);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(servers(&rx.borrow()), ["lab-static-b"]);

        fake.send("a", Action::Die);
        fake.send("a", Action::Stop);
        fake.send("a", Action::Start);
        until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;

        // `docker kill -s HUP` is no reason to leave.
        fake.send(
            "b",
            Action::Kill {
                signal: "SIGHUP".into(),
            },
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(servers(&rx.borrow()), ["lab-static-a", "lab-static-b"]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn health_and_pause_are_followed_and_unchanged_states_publish_nothing() {
        let fake = Arc::new(Fake::default());
        let mut a = static_container("a", "10.0.0.2");
        a.health = Some(crate::provider::docker::Health::Starting);
        fake.put(a.clone());
        fake.put(static_container("b", "10.0.0.3"));
        let (mut rx, task) = start(&fake);
        until_servers(&mut rx, &["lab-static-b"]).await;

        a.health = Some(crate::provider::docker::Health::Healthy);
        fake.put(a.clone());
        fake.send("a", Action::HealthStatus);
        until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;

        // The same health again: nothing to publish.
        fake.send("a", Action::HealthStatus);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!rx.has_changed().unwrap());

        let mut b = static_container("b", "10.0.0.3");
        b.state = State::Paused;
        fake.put(b.clone());
        fake.send("b", Action::Pause);
        until_servers(&mut rx, &["lab-static-a"]).await;
        b.state = State::Running;
        fake.put(b);
        fake.send("b", Action::Unpause);
        until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn engine_missing_at_start_then_restarted_keeps_config_and_catches_up() {
        let fake = Arc::new(Fake::default());
        fake.down.store(true, Ordering::SeqCst);
        fake.put(static_container("a", "10.0.0.2"));
        let (mut rx, task) = start(&fake);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(servers(&rx.borrow()).is_empty());

        fake.down.store(false, Ordering::SeqCst);
        let took = until_servers(&mut rx, &["lab-static-a"]).await;
        assert!(took <= BACKOFF_MAX, "reconnected after {took:?}");

        // Daemon restart: the stream breaks; the last configuration stays meanwhile.
        fake.cut();
        fake.remove("a");
        fake.put(static_container("b", "10.0.0.3"));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(servers(&rx.borrow()), ["lab-static-a"]);

        // Back: a full re-list catches up with what changed while it was away.
        let lists = fake.lists.load(Ordering::SeqCst);
        fake.down.store(false, Ordering::SeqCst);
        until_servers(&mut rx, &["lab-static-b"]).await;
        assert!(fake.lists.load(Ordering::SeqCst) > lists);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_started_container_is_routed_once_its_port_accepts() {
        let fake = Arc::new(Fake::default());
        fake.put(static_container("a", "10.0.0.2"));
        let (mut rx, task) = start(&fake);
        until_servers(&mut rx, &["lab-static-a"]).await;

        let addr: SocketAddr = "10.0.0.3:80".parse().unwrap();
        fake.refusing.lock().unwrap().insert(addr);
        fake.put(static_container("b", "10.0.0.3"));
        fake.send("b", Action::Start);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            servers(&rx.borrow()),
            ["lab-static-a"],
            "routed before it listens"
        );

        fake.refusing.lock().unwrap().remove(&addr);
        let took = until_servers(&mut rx, &["lab-static-a", "lab-static-b"]).await;
        assert!(took <= WARM_PROBE_EVERY * 2, "took {took:?}");

        // One that never listens (or cannot be reached from here) is routed after WARM_MAX.
        let addr: SocketAddr = "10.0.0.4:80".parse().unwrap();
        fake.refusing.lock().unwrap().insert(addr);
        fake.put(static_container("c", "10.0.0.4"));
        fake.send("c", Action::Start);
        let took = until_servers(&mut rx, &["lab-static-a", "lab-static-b", "lab-static-c"]).await;
        assert!(took >= WARM_MAX, "took {took:?}");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_starts_is_inspected_together() {
        let fake = Arc::new(Fake::default());
        let (mut rx, task) = start(&fake);
        tokio::time::sleep(Duration::from_millis(10)).await;
        for (id, ip) in [("a", "10.0.0.2"), ("b", "10.0.0.3"), ("c", "10.0.0.4")] {
            fake.put(static_container(id, ip));
            fake.send(id, Action::Start);
        }
        rx.mark_unchanged();
        until_servers(&mut rx, &["lab-static-a", "lab-static-b", "lab-static-c"]).await;
        task.abort();
    }
}
