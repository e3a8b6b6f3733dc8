//! The real swarm: a manager's engine. Services, networks and tasks are read with plain `GET`s
//! into the small serde structs below ([`super::raw`] says why not bollard's models); events
//! come through bollard's event stream, as in the Docker provider, whose [`Engine`] this
//! reuses (endpoint resolution, version negotiation, reconnection).

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::EventsOptions;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;

use crate::provider::docker::{
    attributes, detect_scope, Action, ContainerSource, Engine, Scope, SourceError,
};

use super::model::{SwarmEvent, SwarmService, Task, TaskState};
use super::raw::get_json;
use super::source::SwarmSource;

/// The label Swarm puts on a task's container: which task it runs.
const TASK_ID_LABEL: &str = "com.docker.swarm.task.id";

/// The container events that say something about a task on this node: `kill` and `stop`
/// come before its process exits (it leaves the rotation then), `start` and `health_status`
/// mean the manager will soon report a new state.
const CONTAINER_EVENTS: [&str; 5] = ["start", "kill", "stop", "die", "health_status"];

/// A manager's engine at an endpoint (the option, else `DOCKER_HOST`, else the local socket).
#[derive(Clone)]
pub struct SwarmEngine {
    engine: Engine,
}

impl SwarmEngine {
    /// Does no I/O.
    pub fn new(endpoint: Option<&str>) -> SwarmEngine {
        SwarmEngine {
            engine: Engine::new(endpoint),
        }
    }

    async fn read_services(&self) -> Result<Vec<SwarmService>, SourceError> {
        let endpoint = self.engine.endpoint();
        let networks: Vec<RawNetwork> = get_json(&endpoint, "/networks").await?;
        let names: HashMap<String, String> = networks.into_iter().map(|n| (n.id, n.name)).collect();
        let services: Vec<RawService> = get_json(&endpoint, "/services").await?;
        Ok(services
            .into_iter()
            .map(|s| service_from(s, &names))
            .collect())
    }

    async fn read_tasks(&self) -> Result<Vec<Task>, SourceError> {
        let tasks: Vec<RawTask> = get_json(&self.engine.endpoint(), "/tasks").await?;
        Ok(tasks.into_iter().map(task_from).collect())
    }
}

impl SwarmSource for SwarmEngine {
    fn endpoint(&self) -> String {
        self.engine.endpoint()
    }

    fn services(&self) -> BoxFuture<'_, Result<Vec<SwarmService>, SourceError>> {
        Box::pin(self.read_services())
    }

    fn tasks(&self) -> BoxFuture<'_, Result<Vec<Task>, SourceError>> {
        Box::pin(self.read_tasks())
    }

    fn scope(&self) -> BoxFuture<'_, Result<Scope, SourceError>> {
        Box::pin(detect_scope(&self.engine))
    }

    fn events(&self) -> BoxStream<'static, Result<SwarmEvent, SourceError>> {
        self.engine.follow(|docker| {
            // Two subscriptions: a `label` filter would also apply to service events, whose
            // attributes carry no labels.
            let changes = docker
                .events(Some(filters(&[("type", &["service", "node"][..])])))
                .map(|item| item.map(|_| Some(SwarmEvent::Changed)));
            let containers = docker
                .events(Some(filters(&[
                    ("type", &["container"][..]),
                    ("label", &[TASK_ID_LABEL][..]),
                    ("event", &CONTAINER_EVENTS[..]),
                ])))
                .map(|item| {
                    item.map(|message| {
                        let attributes = attributes(message.actor);
                        let task_id = attributes.get(TASK_ID_LABEL)?.clone();
                        let action = Action::parse(message.action.as_deref()?, &attributes);
                        Some(SwarmEvent::Container { task_id, action })
                    })
                });
            stream::select(changes, containers).boxed()
        })
    }
}

/// Event filters: each key with the values it accepts.
fn filters(pairs: &[(&str, &[&str])]) -> EventsOptions {
    EventsOptions {
        filters: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        ),
        ..Default::default()
    }
}

// The engine's JSON, only the fields read. Unknown fields are ignored: the API adds some in
// every version.

#[derive(Debug, Deserialize)]
struct RawNetwork {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawService {
    #[serde(rename = "ID")]
    id: String,
    spec: RawServiceSpec,
    endpoint: RawEndpoint,
    update_status: Option<RawUpdateStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawServiceSpec {
    name: String,
    labels: Option<BTreeMap<String, String>>,
    mode: RawMode,
    endpoint_spec: Option<RawEndpointSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawMode {
    replicated: Option<RawReplicated>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawReplicated {
    replicas: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawEndpointSpec {
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawEndpoint {
    #[serde(rename = "VirtualIPs")]
    virtual_ips: Option<Vec<RawVirtualIp>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawVirtualIp {
    #[serde(rename = "NetworkID")]
    network_id: String,
    addr: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawUpdateStatus {
    state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawTask {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ServiceID")]
    service_id: String,
    slot: Option<u64>,
    #[serde(rename = "NodeID")]
    node_id: String,
    status: RawTaskStatus,
    desired_state: String,
    /// What bollard's `Task` lacks: the task's address on each network.
    networks_attachments: Option<Vec<RawAttachment>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawTaskStatus {
    state: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawAttachment {
    network: RawAttachedNetwork,
    addresses: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawAttachedNetwork {
    spec: RawNetworkSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RawNetworkSpec {
    name: String,
}

/// `10.0.1.5/24` -> `10.0.1.5`.
fn without_prefix(cidr: &str) -> String {
    cidr.split('/').next().unwrap_or_default().to_owned()
}

fn service_from(s: RawService, network_names: &HashMap<String, String>) -> SwarmService {
    let dnsrr = s
        .spec
        .endpoint_spec
        .and_then(|e| e.mode)
        .is_some_and(|m| m == "dnsrr");
    SwarmService {
        id: s.id,
        name: s.spec.name,
        labels: s.spec.labels.unwrap_or_default(),
        replicas: s.spec.mode.replicated.map(|r| r.replicas.unwrap_or(1)),
        virtual_ips: s
            .endpoint
            .virtual_ips
            .unwrap_or_default()
            .into_iter()
            .filter_map(|vip| {
                let name = network_names.get(&vip.network_id)?.clone();
                Some((name, without_prefix(&vip.addr)))
            })
            .filter(|(_, ip)| !ip.is_empty())
            .collect(),
        dnsrr,
        updating: s
            .update_status
            .and_then(|u| u.state)
            .is_some_and(|state| state == "updating" || state == "rollback_started"),
    }
}

fn task_from(t: RawTask) -> Task {
    Task {
        id: t.id,
        service_id: t.service_id,
        slot: t.slot.filter(|s| *s > 0),
        node_id: t.node_id,
        state: TaskState::parse(&t.status.state),
        desired: TaskState::parse(&t.desired_state),
        networks: t
            .networks_attachments
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| {
                let ip = a.addresses?.first().map(|c| without_prefix(c))?;
                Some((a.network.spec.name, ip))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from `GET /tasks` and `GET /services` of engine 20.10 (API 1.41).
    const TASKS: &str = r#"[{
        "ID": "t1", "ServiceID": "s1", "Slot": 2, "NodeID": "n1",
        "Status": {"State": "running", "ContainerStatus": {"ContainerID": "c1"}},
        "DesiredState": "shutdown",
        "NetworksAttachments": [
          {"Network": {"ID": "net1", "Spec": {"Name": "servers1_default"}},
           "Addresses": ["10.0.1.5/24"]}
        ]
      }, {"ID": "t2", "ServiceID": "s2", "NodeID": "", "Status": {"State": "pending"},
          "DesiredState": "running"}]"#;

    const SERVICES: &str = r#"[{
        "ID": "s1",
        "Spec": {"Name": "servers1_static",
                 "Labels": {"com.docker.stack.namespace": "servers1", "traefik.enable": "true"},
                 "Mode": {"Replicated": {"Replicas": 4}},
                 "EndpointSpec": {"Mode": "vip"}},
        "Endpoint": {"VirtualIPs": [{"NetworkID": "net1", "Addr": "10.0.1.2/24"},
                                    {"NetworkID": "unknown", "Addr": "10.9.0.2/24"}]},
        "UpdateStatus": {"State": "updating"}
      }, {"ID": "s2", "Spec": {"Name": "g", "Mode": {"Global": {}},
                              "EndpointSpec": {"Mode": "dnsrr"}}, "Endpoint": {}}]"#;

    #[test]
    fn tasks_read_with_their_addresses() {
        let raw: Vec<RawTask> = serde_json::from_str(TASKS).unwrap();
        let tasks: Vec<Task> = raw.into_iter().map(task_from).collect();
        assert_eq!(tasks[0].slot, Some(2));
        assert_eq!(tasks[0].state, TaskState::Running);
        assert_eq!(tasks[0].desired, TaskState::Shutdown);
        assert_eq!(tasks[0].networks["servers1_default"], "10.0.1.5");
        assert_eq!(tasks[1].state, TaskState::Pending);
        assert!(tasks[1].networks.is_empty());
    }

    #[test]
    fn services_read_with_their_virtual_ips() {
        let raw: Vec<RawService> = serde_json::from_str(SERVICES).unwrap();
        let names = HashMap::from([("net1".to_owned(), "servers1_default".to_owned())]);
        let s: Vec<SwarmService> = raw.into_iter().map(|s| service_from(s, &names)).collect();
        assert_eq!(s[0].name, "servers1_static");
        assert_eq!(s[0].replicas, Some(4));
        assert_eq!(s[0].stack(), Some("servers1"));
        assert_eq!(
            s[0].virtual_ips,
            BTreeMap::from([("servers1_default".into(), "10.0.1.2".into())])
        );
        assert!(s[0].updating && !s[0].dnsrr);
        assert_eq!(s[1].replicas, None);
        assert!(s[1].dnsrr && s[1].virtual_ips.is_empty());
    }

    /// Needs a swarm manager: `cargo test -p proxy swarm::engine -- --ignored`. The Swarm
    /// suite in `tests/` covers the engine in CI.
    #[tokio::test]
    #[ignore = "needs a Docker engine that is a swarm manager"]
    async fn talks_to_the_local_manager() {
        let engine = SwarmEngine::new(None);
        let services = engine.services().await.expect("services");
        let tasks = engine.tasks().await.expect("tasks");
        println!("{} services, {} tasks", services.len(), tasks.len());
    }
}
