//! The real engine, through bollard: connects to the endpoint (the option, else `DOCKER_HOST`,
//! else the local socket), negotiates the API version (Traefik v2 pinned 1.24 and broke with
//! newer engines), and reconnects lazily after any failure.
//!
//! The management UI (lab step 9) reuses this client: [`Engine::client`] hands out the
//! connected `bollard::Docker` for actions the [`ContainerSource`] trait does not cover.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, EventActor, HealthStatusEnum,
};
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use bollard::{Docker, API_DEFAULT_VERSION};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::Mutex;

use super::container::{Action, Container, ContainerEvent, Health, State};
use super::socket_access::{self, Identity, SocketFacts};
use super::source::{ContainerSource, SourceError};

/// The local socket, when neither the option nor `DOCKER_HOST` names an endpoint.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Seconds a list or inspect may take before the engine counts as gone. The event stream is
/// not bounded by it (only its response headers are).
const REQUEST_TIMEOUT_SECS: u64 = 10;

/// The events the provider follows. `kill` and `stop` come before the process exits: reacting
/// to them takes a stopping container out of the rotation before it stops answering.
const EVENTS: [&str; 8] = [
    "start",
    "die",
    "kill",
    "stop",
    "destroy",
    "pause",
    "unpause",
    "health_status",
];

/// The engine's events as [`Engine::follow`] reads them: `None` for one not followed.
pub(crate) type EventStream<T> = BoxStream<'static, Result<Option<T>, BollardError>>;

/// A Docker engine client that connects on first use and after every failure.
#[derive(Clone)]
pub struct Engine {
    endpoint: String,
    client: Arc<Mutex<Option<Docker>>>,
}

impl Engine {
    /// An engine at `endpoint`, else `DOCKER_HOST`, else the local socket. Does no I/O.
    pub fn new(endpoint: Option<&str>) -> Engine {
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        Engine {
            endpoint,
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// The connected client, with its API version negotiated (connecting if needed).
    pub async fn client(&self) -> Result<Docker, SourceError> {
        let mut slot = self.client.lock().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = connect(&self.endpoint)
            .map_err(|e| self.error("connect", e))?
            .negotiate_version()
            .await
            .map_err(|e| self.error("GET /version", e))?;
        *slot = Some(docker.clone());
        Ok(docker)
    }

    /// Drops the client so the next call connects again (and renegotiates: the engine may
    /// have been upgraded while it was away).
    pub async fn forget(&self) {
        *self.client.lock().await = None;
    }

    /// Events from the connected engine: `subscribe` opens the stream on the client and reads
    /// each message (`None`: one the caller does not follow). A failure, or the engine closing
    /// the stream, ends it with an error: an outage, so the caller reconnects and lists again.
    pub(crate) fn follow<T: Send + 'static>(
        &self,
        subscribe: impl FnOnce(Docker) -> EventStream<T> + Send + 'static,
    ) -> BoxStream<'static, Result<T, SourceError>> {
        let engine = self.clone();
        let connected = async move {
            let docker = match engine.client().await {
                Ok(docker) => docker,
                Err(e) => return stream::iter([Err(e)]).boxed(),
            };
            let forget = engine.clone();
            subscribe(docker)
                .filter_map(|item| async move {
                    match item {
                        Ok(event) => event.map(Ok),
                        Err(e) => Some(Err(SourceError::StreamEnded {
                            reason: e.to_string(),
                        })),
                    }
                })
                .chain(stream::once(async move {
                    forget.forget().await;
                    Err(SourceError::StreamEnded {
                        reason: "the engine closed it".to_owned(),
                    })
                }))
                .boxed()
        };
        stream::once(connected).flatten().boxed()
    }

    fn error(&self, request: &str, e: BollardError) -> SourceError {
        match e {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => SourceError::Engine {
                request: request.to_owned(),
                reason: format!("{status_code}: {message}"),
            },
            other => self.unreachable(other),
        }
    }

    /// The engine could not be reached. `client error (Connect)` alone tells nothing, so the
    /// message carries the whole chain of causes; a refused socket gets the full diagnosis
    /// (its owner, group and mode, the proxy's ids, the fixes).
    pub(super) fn unreachable(&self, e: BollardError) -> SourceError {
        let denied = causes(&e).any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
        });
        if denied {
            if let Some(socket) =
                socket_access::socket_path(&self.endpoint).and_then(|p| SocketFacts::stat(&p))
            {
                return SourceError::PermissionDenied {
                    endpoint: self.endpoint.clone(),
                    explanation: socket_access::permission_denied(&socket, &Identity::current()),
                };
            }
        }
        let reason: Vec<String> = causes(&e).map(|c| c.to_string()).collect();
        SourceError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: reason.join(": "),
        }
    }

    async fn list_ids(&self) -> Result<Vec<String>, SourceError> {
        let docker = self.client().await?;
        let options = ListContainersOptions {
            filters: Some(HashMap::from([(
                "status".to_owned(),
                vec!["running".to_owned(), "paused".to_owned()],
            )])),
            ..Default::default()
        };
        match docker.list_containers(Some(options)).await {
            Ok(list) => Ok(list.into_iter().filter_map(|c| c.id).collect()),
            Err(e) => {
                self.forget().await;
                Err(self.error("GET /containers/json", e))
            }
        }
    }

    async fn inspect_one(&self, id: &str) -> Result<Option<Container>, SourceError> {
        let docker = self.client().await?;
        match docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(response) => Ok(Some(from_inspect(response))),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => {
                self.forget().await;
                Err(self.error(&format!("GET /containers/{id}/json"), e))
            }
        }
    }
}

impl ContainerSource for Engine {
    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>> {
        Box::pin(self.list_ids())
    }

    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Container>, SourceError>> {
        Box::pin(self.inspect_one(id))
    }

    fn events(&self) -> BoxStream<'static, Result<ContainerEvent, SourceError>> {
        let options = EventsOptions {
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("event".to_owned(), EVENTS.map(str::to_owned).to_vec()),
            ])),
            ..Default::default()
        };
        self.follow(move |docker| {
            docker
                .events(Some(options))
                .map(|item| {
                    item.map(|message| {
                        let id = message.actor.as_ref()?.id.clone()?;
                        let attributes = attributes(message.actor);
                        let action = Action::parse(message.action.as_deref()?, &attributes);
                        Some(ContainerEvent { id, action })
                    })
                })
                .boxed()
        })
    }
}

/// An event's attributes (a container's labels among them).
pub(crate) fn attributes(actor: Option<EventActor>) -> BTreeMap<String, String> {
    actor
        .and_then(|a| a.attributes)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// An error and its sources, outermost first.
fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

fn connect(endpoint: &str) -> Result<Docker, BollardError> {
    if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
        Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else {
        // `unix:///path`, or a bare path.
        Docker::connect_with_local(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    }
}

/// The parts of `docker inspect` that routing depends on.
pub fn from_inspect(r: ContainerInspectResponse) -> Container {
    let config = r.config.unwrap_or_default();
    let state = r.state.unwrap_or_default();
    let settings = r.network_settings.unwrap_or_default();

    let mut exposed_ports: Vec<u16> = config
        .exposed_ports
        .unwrap_or_default()
        .into_keys()
        .chain(settings.ports.unwrap_or_default().into_keys())
        .filter_map(|spec| tcp_port(&spec))
        .collect();
    exposed_ports.sort_unstable();
    exposed_ports.dedup();

    let networks = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| {
            let ip = endpoint
                .ip_address
                .filter(|ip| !ip.is_empty())
                .or(endpoint.global_ipv6_address)
                .unwrap_or_default();
            (name, ip)
        })
        .collect();

    let health = match state.health.and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
        Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
        Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
        _ => None,
    };

    let state = match state.status {
        Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
        Some(ContainerStateStatusEnum::RUNNING) => State::Running,
        _ => State::Other,
    };

    Container {
        id: r.id.unwrap_or_default(),
        name: r
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        state,
        health,
        exposed_ports,
        networks,
    }
}

/// `80/tcp` (or a bare `80`) -> 80; UDP and SCTP ports carry no HTTP.
fn tcp_port(spec: &str) -> Option<u16> {
    let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    (proto == "tcp").then(|| port.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_tcp_only() {
        assert_eq!(tcp_port("80/tcp"), Some(80));
        assert_eq!(tcp_port("3000"), Some(3000));
        assert_eq!(tcp_port("53/udp"), None);
        assert_eq!(tcp_port("x/tcp"), None);
    }

    #[test]
    fn inspect_output_of_engine_20_10_reads() {
        let json = r#"{
          "Id": "abc", "Name": "/servers1-static-1",
          "State": {"Status": "running", "Running": true, "Health": {"Status": "healthy"}},
          "Config": {"Labels": {"a": "b"}, "ExposedPorts": {"8080/tcp": {}, "80/tcp": {}, "53/udp": {}}},
          "NetworkSettings": {"Ports": {"80/tcp": null},
             "Networks": {"servers1_default": {"IPAddress": "172.18.0.3"}}}
        }"#;
        let r: ContainerInspectResponse = serde_json::from_str(json).unwrap();
        let c = from_inspect(r);
        assert_eq!(c.name, "servers1-static-1");
        assert_eq!(c.state, State::Running);
        assert_eq!(c.health, Some(Health::Healthy));
        assert_eq!(c.exposed_ports, [80, 8080]);
        assert_eq!(c.networks["servers1_default"], "172.18.0.3");
        assert_eq!(c.labels["a"], "b");
    }

    /// Needs a local engine: `cargo test -p proxy engine -- --ignored`. The Docker suite in
    /// `tests/` covers the engine in CI.
    #[tokio::test]
    #[ignore = "needs a Docker engine"]
    async fn talks_to_the_local_engine() {
        let engine = Engine::new(None);
        let docker = engine.client().await.expect("engine reachable");
        let version = docker.client_version();
        assert!(version.minor_version >= 24, "negotiated {version:?}");
        let ids = engine.list().await.unwrap();
        for id in &ids {
            let c = engine
                .inspect(id)
                .await
                .unwrap()
                .expect("listed container exists");
            assert_eq!(&c.id, id);
        }
        assert_eq!(engine.inspect("no-such-container").await, Ok(None));
        println!("negotiated {version:?}, {} running containers", ids.len());
    }

    #[test]
    fn endpoint_comes_from_the_option_first() {
        assert_eq!(
            Engine::new(Some("tcp://127.0.0.1:2375")).endpoint(),
            "tcp://127.0.0.1:2375"
        );
    }
}
