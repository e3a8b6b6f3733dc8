//! The watch loop: poll services and tasks, follow events, publish the desired configuration
//! whenever it changes.
//!
//! Swarm sends no task events (moby #23827), which is why Traefik polls every 15 s and a new
//! replica waits up to 15 s for its first request. Here:
//! - a service or node event (`docker service scale`, `update`, `stack deploy`) starts a burst
//!   of polls every [`FAST_POLL`] for [`FAST_FOR`]: new tasks are routed as soon as the manager
//!   says they run, and a task the orchestrator tells to stop (desired state `shutdown` or
//!   `remove`) leaves the rotation as soon as the manager says so, usually before the agent
//!   sends its SIGTERM;
//! - a task's container on this node being killed or stopped takes the task out at once, from
//!   the event alone (no request to the engine in between): the backstop for the race above,
//!   and what makes a `docker kill` of a task cost nothing (traefik #11252);
//! - while anything converges (tasks starting or stopping, a rolling update, fewer tasks than
//!   replicas), tasks are polled every [`CONVERGING_POLL`]; tasks on other nodes, which send no
//!   events here, are found that way;
//! - otherwise a poll every `--providers.swarm.refreshSeconds` (15 s) is the safety net;
//! - a task that starts serving is routed once its port accepts connections (as in the Docker
//!   provider), at most [`WARM_MAX`] later;
//! - the engine going away keeps the last configuration, retries with backoff, and polls
//!   everything again when it is back.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use crate::config::ProviderConfig;
use crate::provider::docker::{Action, Prober, Scope, SourceError};
use crate::provider::engine_watch::WARM_MAX;
use crate::provider::engine_watch::{self, forward, warm_up, Health};
use crate::provider::Publisher;

use super::desired::{self, is_serving};
use super::model::{SwarmEvent, SwarmService, Task, TaskState};
use super::options::SwarmOptions;
use super::source::SwarmSource;

/// Poll interval during a burst after an event.
pub const FAST_POLL: Duration = Duration::from_millis(100);
/// How long a burst lasts after the last event.
pub const FAST_FOR: Duration = Duration::from_secs(2);
/// Poll interval while tasks are starting or stopping.
pub const CONVERGING_POLL: Duration = Duration::from_secs(1);
/// How long a burst of events is gathered before the first poll.
pub const GATHER: Duration = Duration::from_millis(15);

/// What the loop knows between polls.
#[derive(Debug, Default)]
struct Known {
    services: Vec<SwarmService>,
    tasks: BTreeMap<String, Task>,
    /// Tasks whose container on this node was killed or stopped: out of the rotation already,
    /// whatever the manager says yet.
    leaving: HashSet<String>,
    /// Tasks that started serving and do not accept connections yet: not routed.
    warming: HashSet<String>,
    scope: Scope,
}

impl Known {
    fn desired(&self, opts: &SwarmOptions) -> ProviderConfig {
        desired::build(
            &self.services,
            self.tasks
                .values()
                .filter(|t| !self.leaving.contains(&t.id) && !self.warming.contains(&t.id)),
            opts,
            &self.scope,
        )
    }

    /// Replaces services and tasks with a poll's. Returns the tasks that start serving now
    /// (they wait in `warming` until their port accepts).
    fn update(&mut self, services: Vec<SwarmService>, tasks: Vec<Task>) -> Vec<Task> {
        let mut started = Vec::new();
        let old = std::mem::take(&mut self.tasks);
        for task in tasks {
            let was = old.get(&task.id).is_some_and(is_serving);
            if is_serving(&task) && !was {
                self.warming.insert(task.id.clone());
                started.push(task.clone());
            }
            self.tasks.insert(task.id.clone(), task);
        }
        let tasks = &self.tasks;
        // A task that left stays out until the manager lists it as ended (or forgets it).
        self.leaving
            .retain(|id| tasks.get(id).is_some_and(|t| !t.state.is_ending()));
        self.warming
            .retain(|id| tasks.get(id).is_some_and(is_serving));
        self.services = services;
        started
    }

    /// Applies a container event. Returns whether the configuration may have changed already.
    fn apply(&mut self, task_id: String, action: &Action) -> bool {
        let gone = action.is_leaving() || *action == Action::Die;
        gone && self.tasks.contains_key(&task_id) && self.leaving.insert(task_id)
    }

    /// Whether the swarm is still getting somewhere: tasks starting or stopping, a rolling
    /// update under way, or fewer running tasks than replicas wanted.
    fn converging(&self) -> bool {
        let tasks = || self.tasks.values();
        self.services.iter().any(|s| s.updating)
            || tasks().any(|t| {
                (t.desired == TaskState::Running && t.state < TaskState::Running)
                    || (t.desired.is_ending() && !t.state.is_ending())
            })
            || self.services.iter().any(|s| {
                s.replicas.is_some_and(|n| {
                    let running = tasks()
                        .filter(|t| t.service_id == s.id && is_serving(t))
                        .count() as u64;
                    running != n
                })
            })
    }
}

/// Runs forever (the caller drops it on shutdown).
pub async fn watch<S>(source: &S, opts: &SwarmOptions, publisher: &Publisher)
where
    S: SwarmSource + ?Sized,
{
    let mut known = Known::default();
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let warm = Warm {
        prober: source.prober(),
        ready: ready_tx,
    };
    let mut health = Health::new("swarm", source.endpoint());
    loop {
        let result = follow(
            source,
            opts,
            publisher,
            &mut known,
            &mut health,
            &warm,
            &mut ready,
        )
        .await;
        if let Err(e) = result {
            health.failed(&e);
        }
        health.wait().await;
    }
}

/// One connection: subscribe, poll, then follow events and poll on schedule until the engine
/// fails.
async fn follow<S>(
    source: &S,
    opts: &SwarmOptions,
    publisher: &Publisher,
    known: &mut Known,
    health: &mut Health,
    warm: &Warm,
    ready: &mut mpsc::UnboundedReceiver<String>,
) -> Result<(), SourceError>
where
    S: SwarmSource + ?Sized,
{
    // Subscribe first, poll second: a change that happens while polling is not lost.
    let (mut events, _stop_forwarding) = forward(source.events());

    known.leaving.clear();
    known.scope = source.scope().await?;
    poll(source, opts, known, warm).await?;
    health.connected(&format!(
        "{} services, {} tasks",
        known.services.len(),
        known.tasks.len()
    ));
    engine_watch::publish("swarm", publisher, known.desired(opts));

    let mut fast_until = Instant::now();
    let mut next_poll = Instant::now() + next_interval(known, fast_until, opts);
    loop {
        tokio::select! {
            item = events.recv() => {
                let event = match item {
                    Some(Ok(event)) => event,
                    Some(Err(e)) => return Err(e),
                    None => return Err(SourceError::StreamEnded { reason: "no more events".into() }),
                };
                tracing::debug!(?event, "swarm event");
                if let SwarmEvent::Container { task_id, action } = event {
                    if known.apply(task_id, &action) {
                        engine_watch::publish("swarm", publisher, known.desired(opts));
                    }
                }
                fast_until = Instant::now() + FAST_FOR;
                next_poll = next_poll.min(Instant::now() + GATHER);
            }
            _ = sleep_until(next_poll) => {
                let idle = fast_until <= Instant::now() && !known.converging();
                if idle {
                    // The safety-net poll: the proxy's own networks may have changed too.
                    known.scope = source.scope().await?;
                }
                poll(source, opts, known, warm).await?;
                engine_watch::publish("swarm", publisher, known.desired(opts));
                next_poll = Instant::now() + next_interval(known, fast_until, opts);
            }
            Some(id) = ready.recv() => {
                if known.warming.remove(&id) {
                    engine_watch::publish("swarm", publisher, known.desired(opts));
                }
            }
        }
    }
}

/// When to poll next: soon after an event, every second while converging, else the refresh.
fn next_interval(known: &Known, fast_until: Instant, opts: &SwarmOptions) -> Duration {
    if Instant::now() < fast_until {
        FAST_POLL
    } else if known.converging() {
        CONVERGING_POLL
    } else {
        opts.refresh
    }
}

async fn poll<S>(
    source: &S,
    opts: &SwarmOptions,
    known: &mut Known,
    warm: &Warm,
) -> Result<(), SourceError>
where
    S: SwarmSource + ?Sized,
{
    let services = source.services().await?;
    let tasks = source.tasks().await?;
    for started in known.update(services, tasks) {
        warm.probe(started, &known.services, opts, &known.scope);
    }
    Ok(())
}

/// Starts probes for tasks that start serving.
struct Warm {
    prober: Prober,
    ready: mpsc::UnboundedSender<String>,
}

impl Warm {
    /// Probes every address `task` would be routed at, then reports it ready (or after
    /// [`WARM_MAX`], ready or not).
    fn probe(&self, task: Task, services: &[SwarmService], opts: &SwarmOptions, scope: &Scope) {
        let addrs = engine_watch::addresses(&desired::build(services, [&task], opts, scope));
        let (prober, ready) = (self.prober.clone(), self.ready.clone());
        tokio::spawn(async move {
            let waiting = warm_up(&prober, addrs).await;
            if !waiting.is_empty() {
                tracing::info!(
                    "swarm provider: task {} does not accept connections at {waiting:?} after \
                     {}s; routing it anyway",
                    task.id,
                    WARM_MAX.as_secs()
                );
            }
            let _ = ready.send(task.id);
        });
    }
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

    type EventTx = mpsc::UnboundedSender<Result<SwarmEvent, SourceError>>;

    /// A swarm in memory: services, tasks, an up/down switch, and one event channel per
    /// subscription.
    #[derive(Default)]
    struct Fake {
        services: Mutex<Vec<SwarmService>>,
        tasks: Mutex<BTreeMap<String, Task>>,
        down: AtomicBool,
        polls: AtomicUsize,
        subscribers: Mutex<Vec<EventTx>>,
        refusing: Arc<Mutex<HashSet<SocketAddr>>>,
    }

    impl Fake {
        fn put(&self, t: Task) {
            self.tasks.lock().unwrap().insert(t.id.clone(), t);
        }
        fn set(&self, id: &str, f: impl FnOnce(&mut Task)) {
            f(self.tasks.lock().unwrap().get_mut(id).unwrap());
        }
        fn send(&self, event: SwarmEvent) {
            for tx in self.subscribers.lock().unwrap().iter() {
                let _ = tx.send(Ok(event.clone()));
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
        fn check(&self) -> Result<(), SourceError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(SourceError::Unreachable {
                    endpoint: "fake".into(),
                    reason: "down".into(),
                });
            }
            Ok(())
        }
    }

    impl SwarmSource for Fake {
        fn endpoint(&self) -> String {
            "fake".into()
        }
        fn services(&self) -> BoxFuture<'_, Result<Vec<SwarmService>, SourceError>> {
            Box::pin(async move {
                self.check()?;
                Ok(self.services.lock().unwrap().clone())
            })
        }
        fn tasks(&self) -> BoxFuture<'_, Result<Vec<Task>, SourceError>> {
            Box::pin(async move {
                self.check()?;
                self.polls.fetch_add(1, Ordering::SeqCst);
                Ok(self.tasks.lock().unwrap().values().cloned().collect())
            })
        }
        fn events(&self) -> BoxStream<'static, Result<SwarmEvent, SourceError>> {
            if let Err(e) = self.check() {
                return stream::iter([Err(e)]).boxed();
            }
            let (tx, rx) = mpsc::unbounded_channel();
            self.subscribers.lock().unwrap().push(tx);
            stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .boxed()
        }
        fn scope(&self) -> BoxFuture<'_, Result<Scope, SourceError>> {
            Box::pin(async move {
                self.check()?;
                Ok(Scope::unscoped())
            })
        }
        fn prober(&self) -> Prober {
            let refusing = self.refusing.clone();
            Arc::new(move |addr| {
                let accepts = !refusing.lock().unwrap().contains(&addr);
                Box::pin(async move { accepts })
            })
        }
    }

    fn static_service(replicas: u64) -> SwarmService {
        SwarmService {
            id: "s1".into(),
            name: "lab_static".into(),
            labels: BTreeMap::from([(
                "traefik.http.services.static.loadbalancer.server.port".into(),
                "80".into(),
            )]),
            replicas: Some(replicas),
            ..Default::default()
        }
    }

    fn task(id: &str, slot: u64, ip: &str) -> Task {
        Task {
            id: id.into(),
            service_id: "s1".into(),
            slot: Some(slot),
            node_id: "n1".into(),
            state: TaskState::Running,
            desired: TaskState::Running,
            networks: BTreeMap::from([("lab_default".into(), ip.into())]),
        }
    }

    fn servers(config: &ProviderConfig) -> Vec<String> {
        config
            .config
            .services
            .get("static")
            .map(|s| {
                s.load_balancer
                    .servers
                    .iter()
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn start(fake: &Arc<Fake>) -> (watch::Receiver<ProviderConfig>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(ProviderConfig::default());
        let fake = fake.clone();
        let task = tokio::spawn(async move {
            watch(&*fake, &SwarmOptions::default(), &tx).await;
        });
        (rx, task)
    }

    async fn until_servers(
        rx: &mut watch::Receiver<ProviderConfig>,
        expected: &[&str],
    ) -> Duration {
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(60), async {
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

    fn with_two_tasks() -> Arc<Fake> {
        let fake = Arc::new(Fake::default());
        *fake.services.lock().unwrap() = vec![static_service(2)];
        fake.put(task("a", 1, "10.0.1.4"));
        fake.put(task("b", 2, "10.0.1.5"));
        fake
    }

    #[tokio::test(start_paused = true)]
    async fn a_scale_up_is_routed_within_a_fast_poll_of_the_task_running() {
        let fake = with_two_tasks();
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;

        // `docker service scale static=3`: the service event, then the task comes up a while
        // later (scheduling, container start).
        *fake.services.lock().unwrap() = vec![static_service(3)];
        let mut c = task("c", 3, "10.0.1.6");
        c.state = TaskState::Pending;
        fake.put(c);
        fake.send(SwarmEvent::Changed);
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(servers(&rx.borrow()), ["lab_static.1", "lab_static.2"]);
        fake.set("c", |t| t.state = TaskState::Running);
        let took = until_servers(&mut rx, &["lab_static.1", "lab_static.2", "lab_static.3"]).await;
        assert!(took <= FAST_POLL + GATHER, "took {took:?}");
        task_handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_on_other_nodes_are_found_by_the_converging_poll() {
        let fake = with_two_tasks();
        *fake.services.lock().unwrap() = vec![static_service(3)];
        let mut c = task("c", 3, "10.0.1.6");
        c.state = TaskState::Starting;
        fake.put(c);
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;
        // Long after any event: still converging (3 wanted, 2 running), so polled every second.
        tokio::time::sleep(Duration::from_secs(5)).await;
        fake.set("c", |t| t.state = TaskState::Running);
        let took = until_servers(&mut rx, &["lab_static.1", "lab_static.2", "lab_static.3"]).await;
        assert!(took <= CONVERGING_POLL, "took {took:?}");

        // Converged: back to the refresh interval (15 s), no poll a second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let polls = fake.polls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(fake.polls.load(Ordering::SeqCst), polls, "idle polls");
        task_handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_told_to_stop_leaves_before_it_stops_running() {
        let fake = with_two_tasks();
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;

        // `docker service scale static=1`: the orchestrator sets task b's desired state; it
        // still runs (its SIGTERM comes later).
        *fake.services.lock().unwrap() = vec![static_service(1)];
        fake.send(SwarmEvent::Changed);
        tokio::time::sleep(Duration::from_millis(30)).await;
        fake.set("b", |t| t.desired = TaskState::Remove);
        let took = until_servers(&mut rx, &["lab_static.1"]).await;
        assert!(took <= FAST_POLL, "took {took:?}");
        task_handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_killed_task_container_leaves_at_its_event_with_no_poll() {
        let fake = with_two_tasks();
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;
        let polls = fake.polls.load(Ordering::SeqCst);

        fake.send(SwarmEvent::Container {
            task_id: "a".into(),
            action: Action::Kill { signal: "9".into() },
        });
        let took = until_servers(&mut rx, &["lab_static.2"]).await;
        assert_eq!(took, Duration::ZERO);
        assert_eq!(fake.polls.load(Ordering::SeqCst), polls);
        // The manager still says "running" for a moment: it stays out.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(servers(&rx.borrow()), ["lab_static.2"]);
        // Swarm replaces it with a new task in the same slot.
        fake.set("a", |t| t.state = TaskState::Shutdown);
        fake.put(task("a2", 1, "10.0.1.9"));
        fake.send(SwarmEvent::Changed);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;
        // A HUP is no reason to leave.
        fake.send(SwarmEvent::Container {
            task_id: "b".into(),
            action: Action::Kill {
                signal: "SIGHUP".into(),
            },
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(servers(&rx.borrow()), ["lab_static.1", "lab_static.2"]);
        task_handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_task_is_routed_once_its_port_accepts() {
        let fake = with_two_tasks();
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;
        let addr: SocketAddr = "10.0.1.6:80".parse().unwrap();
        fake.refusing.lock().unwrap().insert(addr);
        *fake.services.lock().unwrap() = vec![static_service(3)];
        fake.put(task("c", 3, "10.0.1.6"));
        fake.send(SwarmEvent::Changed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(servers(&rx.borrow()), ["lab_static.1", "lab_static.2"]);
        fake.refusing.lock().unwrap().remove(&addr);
        let took = until_servers(&mut rx, &["lab_static.1", "lab_static.2", "lab_static.3"]).await;
        assert!(took <= WARM_PROBE_EVERY * 2, "took {took:?}");
        task_handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn an_engine_outage_keeps_the_configuration_and_catches_up() {
        let fake = with_two_tasks();
        let (mut rx, task_handle) = start(&fake);
        until_servers(&mut rx, &["lab_static.1", "lab_static.2"]).await;
        fake.cut();
        fake.set("a", |t| t.state = TaskState::Shutdown);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(servers(&rx.borrow()), ["lab_static.1", "lab_static.2"]);
        fake.down.store(false, Ordering::SeqCst);
        let took = until_servers(&mut rx, &["lab_static.2"]).await;
        assert!(took <= BACKOFF_MAX, "took {took:?}");
        task_handle.abort();
    }
}
