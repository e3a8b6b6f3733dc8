//! What the Swarm provider knows about services, tasks and the engine's events: only what routing
//! depends on, in plain types, so the pure part (services and tasks -> configuration) is tested
//! with values written by hand and never needs a swarm.
//!
//! A Swarm *service* carries the labels (`deploy.labels` in a stack file) and, in `vip` endpoint
//! mode, one virtual IP per network. Its *tasks* are the replicas: each runs one container on
//! some node and has its own address on each of the service's networks.

use std::collections::BTreeMap;

/// One Swarm service, as `GET /services` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmService {
    pub id: String,
    /// `servers1_static` (a stack prefixes its services' names with the stack's name).
    pub name: String,
    /// The service's labels (`deploy.labels`), not its containers'.
    pub labels: BTreeMap<String, String>,
    /// Replicas wanted (`deploy.replicas`); `None` for a global service.
    pub replicas: Option<u64>,
    /// Network name -> the service's virtual IP on it (endpoint mode `vip`); empty in `dnsrr`
    /// mode.
    pub virtual_ips: BTreeMap<String, String>,
    /// `deploy.endpoint_mode: dnsrr`: no virtual IP, DNS answers with the tasks' addresses.
    pub dnsrr: bool,
    /// A rolling update (or its rollback) is under way.
    pub updating: bool,
}

impl SwarmService {
    /// The stack the service belongs to (`com.docker.stack.namespace`), if `docker stack
    /// deploy` made it.
    pub fn stack(&self) -> Option<&str> {
        self.labels
            .get("com.docker.stack.namespace")
            .map(String::as_str)
    }
}

/// One task (a replica) of a service, as `GET /tasks` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub service_id: String,
    /// The replica's number (1, 2, ...); `None` for a global service's tasks.
    pub slot: Option<u64>,
    pub node_id: String,
    /// Where the task is now.
    pub state: TaskState,
    /// Where the orchestrator wants it: `Running`, or `Shutdown` / `Remove` once it is to go
    /// (scale-down, rolling update, service removed).
    pub desired: TaskState,
    /// Network name -> the task's address on it.
    pub networks: BTreeMap<String, String>,
}

/// Swarm's task states, in lifecycle order. A task with a healthcheck stays `Starting` until
/// it is healthy, so `Running` already means "healthy" when there is a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskState {
    /// new, allocated, pending, assigned, accepted, preparing, ready: on its way.
    #[default]
    Pending,
    Starting,
    Running,
    /// complete, shutdown, failed, rejected, remove, orphaned: done, or to be done.
    Shutdown,
    /// The desired state `remove` (a scale-down); as a current state it reads as `Shutdown`.
    Remove,
}

impl TaskState {
    /// Reads the engine's word (`running`, `shutdown`, ...).
    pub fn parse(word: &str) -> TaskState {
        match word {
            "starting" => TaskState::Starting,
            "running" => TaskState::Running,
            "remove" => TaskState::Remove,
            "complete" | "shutdown" | "failed" | "rejected" | "orphaned" => TaskState::Shutdown,
            _ => TaskState::Pending,
        }
    }

    /// Done, or on the way out.
    pub fn is_ending(self) -> bool {
        self >= TaskState::Shutdown
    }
}

/// An event from the engine, reduced to what the watch loop does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmEvent {
    /// A service or node was created, updated or removed (`docker service scale`, `docker
    /// service update`, `docker stack deploy`, a node going down): tasks will change soon.
    Changed,
    /// A task's container on this engine's node: its task id and what happened to it. Swarm
    /// has no task events (moby #23827); container events are the fastest signal there is, for
    /// the tasks on the proxy's own node.
    Container {
        task_id: String,
        action: crate::provider::docker::Action,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_states_read_like_the_engine_writes_them() {
        assert_eq!(TaskState::parse("running"), TaskState::Running);
        assert_eq!(TaskState::parse("starting"), TaskState::Starting);
        assert_eq!(TaskState::parse("assigned"), TaskState::Pending);
        assert_eq!(TaskState::parse("failed"), TaskState::Shutdown);
        assert_eq!(TaskState::parse("remove"), TaskState::Remove);
        assert!(TaskState::Remove.is_ending() && TaskState::Shutdown.is_ending());
        assert!(!TaskState::Running.is_ending());
    }
}
