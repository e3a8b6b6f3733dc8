//! What the management UI (lab step 9) asks of the engine besides watching: list every
//! container of the compose projects (stopped ones too, so they can be started again), add a
//! node configured like a sibling, and start, stop and remove one.
//!
//! The actions extend [`ContainerSource`] rather than reaching for bollard in the UI, so the
//! UI's plumbing is unit-tested with a fake engine, and the one part with real logic (how a
//! sibling's `docker inspect` becomes a new container) is a pure function tested here.
//!
//! Stopping goes through the engine's ordinary `stop` (SIGTERM, then SIGKILL after the grace
//! period): the provider sees the `kill` event and takes the server out of the rotation
//! before the process exits, so clients see no failed request.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, NetworkConnectRequest,
    NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StartContainerOptions, StopContainerOptions,
};
use futures_util::future::BoxFuture;

use super::engine::Engine;
use super::source::{ContainerSource, SourceError};

/// Compose's labels, which make a container part of a service for Compose and for us.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";
/// Set on the containers the UI adds, so people (and `docker ps --filter`) can tell them apart.
pub const ADDED_BY_LABEL: &str = "lab.manage.added-by";

/// Seconds a stopping container gets to finish in-flight requests before SIGKILL.
pub const STOP_GRACE_SECS: i32 = 10;

/// One container of a compose service, running or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    /// Without Docker's leading `/`; the proxy names its servers after it.
    pub name: String,
    pub project: String,
    pub service: String,
    /// Compose's container number (`static-3` is 3).
    pub number: u32,
    /// The engine's state word: `running`, `exited`, `created`, `paused`, `restarting`...
    pub state: String,
    /// The engine's status line: `Up 3 minutes (healthy)`, `Exited (0) 5 seconds ago`.
    pub status: String,
    pub image: String,
    /// Network name -> address (empty while stopped).
    pub networks: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

impl Node {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// Actions on containers, for the management UI.
pub trait ContainerActions: ContainerSource {
    /// Every container (any state) that carries Compose's project and service labels.
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, SourceError>>;

    /// Creates (does not start) a container configured like `sibling`: same image, labels
    /// (with the next container number), environment, command, networks and host settings.
    /// Returns the new container's id.
    fn create_like<'a>(&'a self, sibling: &'a str) -> BoxFuture<'a, Result<String, SourceError>>;

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>>;

    /// Stops gracefully (SIGTERM, SIGKILL after [`STOP_GRACE_SECS`]).
    fn stop<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>>;

    /// Removes a stopped container (the caller stops it first, gracefully).
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>>;
}

/// What creating a copy of a container takes: its name, the create body (attached to the
/// first network), and the other networks to connect before starting it (engines before API
/// 1.44 take a single network at creation).
#[derive(Debug, Clone, PartialEq)]
pub struct CloneSpec {
    pub name: String,
    pub body: ContainerCreateBody,
    pub more_networks: Vec<(String, EndpointSettings)>,
}

/// The container to create so that Compose and the provider see one more node of `sibling`'s
/// service: the same configuration, container number `number`, Compose's name for it, and
/// the service's name as a network alias (as Compose does).
pub fn clone_spec(sibling: &ContainerInspectResponse, number: u32) -> Result<CloneSpec, String> {
    let config = sibling.config.clone().unwrap_or_default();
    let mut labels = config.labels.clone().unwrap_or_default();
    let (Some(project), Some(service)) = (
        labels.get(PROJECT_LABEL).cloned(),
        labels.get(SERVICE_LABEL).cloned(),
    ) else {
        return Err(format!(
            "container `{}` has no {PROJECT_LABEL} and {SERVICE_LABEL} labels: only compose services can be scaled here",
            sibling.name.as_deref().unwrap_or_default().trim_start_matches('/')
        ));
    };
    labels.insert(NUMBER_LABEL.to_owned(), number.to_string());
    labels.insert(ADDED_BY_LABEL.to_owned(), "proxy-manage-ui".to_owned());

    let mut host_config = sibling.host_config.clone().unwrap_or_default();
    // Published ports would collide with the sibling's; the proxy reaches nodes on the network.
    host_config.port_bindings = None;
    host_config.publish_all_ports = None;

    let mut networks: Vec<(String, EndpointSettings)> = sibling
        .network_settings
        .as_ref()
        .and_then(|s| s.networks.clone())
        .unwrap_or_default()
        .into_keys()
        .map(|name| {
            let endpoint = EndpointSettings {
                aliases: Some(vec![service.clone()]),
                ..Default::default()
            };
            (name, endpoint)
        })
        .collect();
    networks.sort_by(|a, b| a.0.cmp(&b.0));
    // The network the sibling was created on comes first (`network_mode`), when it is one.
    if let Some(mode) = host_config.network_mode.as_deref() {
        if let Some(i) = networks.iter().position(|(n, _)| n == mode) {
            let first = networks.remove(i);
            networks.insert(0, first);
        }
    }
    let mut rest = networks.into_iter();
    let first = rest.next();
    if let Some((name, _)) = &first {
        host_config.network_mode = Some(name.clone());
    }

    let body = ContainerCreateBody {
        // Not the sibling's hostname (its id) nor its MAC address: those are per container.
        hostname: None,
        mac_address: None,
        domainname: config.domainname,
        user: config.user,
        exposed_ports: config.exposed_ports,
        env: config.env,
        cmd: config.cmd,
        healthcheck: config.healthcheck,
        image: config.image,
        volumes: config.volumes,
        working_dir: config.working_dir,
        entrypoint: config.entrypoint,
        labels: Some(labels),
        stop_signal: config.stop_signal,
        stop_timeout: config.stop_timeout,
        tty: config.tty,
        open_stdin: config.open_stdin,
        host_config: Some(host_config),
        networking_config: first.map(|(name, endpoint)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(name, endpoint)])),
        }),
        ..Default::default()
    };
    Ok(CloneSpec {
        name: format!("{project}-{service}-{number}"),
        body,
        more_networks: rest.collect(),
    })
}

/// The next free container number of a service, given its nodes' numbers.
pub fn next_number(numbers: impl IntoIterator<Item = u32>) -> u32 {
    numbers.into_iter().max().unwrap_or(0) + 1
}

impl Engine {
    fn request_error(&self, request: &str, e: BollardError) -> SourceError {
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

    async fn list_nodes(&self) -> Result<Vec<Node>, SourceError> {
        let docker = self.client().await?;
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_owned(),
                vec![PROJECT_LABEL.to_owned(), SERVICE_LABEL.to_owned()],
            )])),
            ..Default::default()
        };
        let list = match docker.list_containers(Some(options)).await {
            Ok(list) => list,
            Err(e) => {
                self.forget().await;
                return Err(self.request_error("GET /containers/json?all=1", e));
            }
        };
        Ok(list
            .into_iter()
            .map(|c| {
                let labels: BTreeMap<String, String> =
                    c.labels.unwrap_or_default().into_iter().collect();
                let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
                Node {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .unwrap_or_default()
                        .first()
                        .map(|n| n.trim_start_matches('/').to_owned())
                        .unwrap_or_default(),
                    project: label(PROJECT_LABEL),
                    service: label(SERVICE_LABEL),
                    number: label(NUMBER_LABEL).parse().unwrap_or(0),
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    status: c.status.unwrap_or_default(),
                    image: c.image.unwrap_or_default(),
                    networks: c
                        .network_settings
                        .and_then(|n| n.networks)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(name, e)| (name, e.ip_address.unwrap_or_default()))
                        .collect(),
                    labels,
                }
            })
            .collect())
    }

    async fn create_like_one(&self, sibling: &str) -> Result<String, SourceError> {
        let docker = self.client().await?;
        let inspect = docker
            .inspect_container(sibling, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.request_error(&format!("GET /containers/{sibling}/json"), e))?;
        let labels = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let numbers = self
            .list_nodes()
            .await?
            .into_iter()
            .filter(|n| {
                Some(&n.project) == labels.get(PROJECT_LABEL)
                    && Some(&n.service) == labels.get(SERVICE_LABEL)
            })
            .map(|n| n.number);
        let spec =
            clone_spec(&inspect, next_number(numbers)).map_err(|reason| SourceError::Engine {
                request: "create a node like an existing one".to_owned(),
                reason,
            })?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(options), spec.body)
            .await
            .map_err(|e| self.request_error("POST /containers/create", e))?;
        for (network, endpoint) in spec.more_networks {
            let request = NetworkConnectRequest {
                container: Some(created.id.clone()),
                endpoint_config: Some(endpoint),
            };
            if let Err(e) = docker.connect_network(&network, request).await {
                let _ = docker
                    .remove_container(
                        &created.id,
                        Some(RemoveContainerOptions {
                            force: true,
                            ..Default::default()
                        }),
                    )
                    .await;
                return Err(self.request_error(&format!("POST /networks/{network}/connect"), e));
            }
        }
        Ok(created.id)
    }
}

impl ContainerActions for Engine {
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, SourceError>> {
        Box::pin(self.list_nodes())
    }

    fn create_like<'a>(&'a self, sibling: &'a str) -> BoxFuture<'a, Result<String, SourceError>> {
        Box::pin(self.create_like_one(sibling))
    }

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let docker = self.client().await?;
            docker
                .start_container(id, None::<StartContainerOptions>)
                .await
                .map_err(|e| self.request_error(&format!("POST /containers/{id}/start"), e))
        })
    }

    fn stop<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let docker = self.client().await?;
            let options = StopContainerOptions {
                t: Some(STOP_GRACE_SECS),
                signal: None,
            };
            docker
                .stop_container(id, Some(options))
                .await
                .map_err(|e| self.request_error(&format!("POST /containers/{id}/stop"), e))
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let docker = self.client().await?;
            docker
                .remove_container(id, None::<RemoveContainerOptions>)
                .await
                .map_err(|e| self.request_error(&format!("DELETE /containers/{id}"), e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sibling() -> ContainerInspectResponse {
        serde_json::from_str(
            r#"{
          "Id": "abc", "Name": "/lab-static-2", "Image": "sha256:1234",
          "Config": {
            "Hostname": "abc123", "Image": "http-infra-lab/static-server",
            "Env": ["PATH=/bin", "SITE=/site"], "Cmd": ["--port", "80"],
            "ExposedPorts": {"80/tcp": {}},
            "Labels": {"com.docker.compose.project": "lab", "com.docker.compose.service": "static",
                       "com.docker.compose.container-number": "2",
                       "traefik.http.routers.static.rule": "Host(`demo.res.ch`)"}
          },
          "HostConfig": {"ReadonlyRootfs": true, "CapDrop": ["ALL"],
                         "SecurityOpt": ["no-new-privileges:true"], "NetworkMode": "lab_back",
                         "PortBindings": {"80/tcp": [{"HostPort": "8081"}]}},
          "NetworkSettings": {"Networks": {"lab_front": {"IPAddress": "172.18.0.3"},
                                           "lab_back": {"IPAddress": "172.19.0.3"}}}
        }"#,
        )
        .unwrap()
    }

    #[test]
    fn a_clone_is_configured_like_its_sibling_with_the_next_number() {
        let spec = clone_spec(&sibling(), 5).unwrap();
        assert_eq!(spec.name, "lab-static-5");
        let b = &spec.body;
        assert_eq!(b.image.as_deref(), Some("http-infra-lab/static-server"));
        assert_eq!(b.hostname, None, "the sibling's hostname is its own");
        assert_eq!(b.env.as_ref().unwrap().len(), 2);
        assert_eq!(b.cmd.as_ref().unwrap(), &["--port", "80"]);
        let labels = b.labels.as_ref().unwrap();
        assert_eq!(labels[NUMBER_LABEL], "5");
        assert_eq!(labels[SERVICE_LABEL], "static");
        assert_eq!(
            labels["traefik.http.routers.static.rule"],
            "Host(`demo.res.ch`)"
        );
        assert!(labels.contains_key(ADDED_BY_LABEL));
        let host = b.host_config.as_ref().unwrap();
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.cap_drop.as_ref().unwrap(), &["ALL"]);
        assert_eq!(host.port_bindings, None, "published ports would collide");
        // Created on the sibling's first network, connected to the other one before start.
        assert_eq!(host.network_mode.as_deref(), Some("lab_back"));
        let eps = b
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref();
        assert_eq!(
            eps.unwrap()["lab_back"].aliases.as_ref().unwrap(),
            &["static"]
        );
        assert_eq!(spec.more_networks.len(), 1);
        assert_eq!(spec.more_networks[0].0, "lab_front");
    }

    #[test]
    fn only_compose_services_can_be_cloned() {
        let mut s = sibling();
        s.config.as_mut().unwrap().labels = None;
        let e = clone_spec(&s, 1).unwrap_err();
        assert!(e.contains("only compose services"), "{e}");
    }

    #[test]
    fn numbers_continue_after_the_highest() {
        assert_eq!(next_number([1, 2, 4]), 5);
        assert_eq!(next_number([]), 1);
    }
}
