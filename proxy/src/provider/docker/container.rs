//! What the provider knows about a container and about the engine's events: only what routing
//! depends on, in plain types, so the pure part (containers -> configuration) is tested with
//! containers written by hand and never needs an engine.

use std::collections::BTreeMap;

/// One container, as inspected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// The full container id; servers of a service are ordered by it.
    pub id: String,
    /// The container's name without Docker's leading `/` (`servers1-static-1`); it names the
    /// server in the API.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub state: State,
    /// `None` when the image and the container define no healthcheck.
    pub health: Option<Health>,
    /// Exposed TCP ports (the image's `EXPOSE` and `--expose`), ascending.
    pub exposed_ports: Vec<u16>,
    /// Network name -> the container's address on it (empty when it has none, as with
    /// `network_mode: host`).
    pub networks: BTreeMap<String, String>,
}

/// The container's lifecycle state, reduced to what matters for routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum State {
    Running,
    /// Frozen: its connections would hang, so it gets no traffic.
    Paused,
    /// Created, restarting, exited, dead, being removed.
    #[default]
    Other,
}

/// The Docker healthcheck's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Container {
    /// Compose's service and project (`com.docker.compose.service` / `.project`), when the
    /// container was made by Compose.
    pub fn compose(&self) -> Option<(&str, &str)> {
        let service = self.labels.get("com.docker.compose.service")?;
        let project = self.labels.get("com.docker.compose.project")?;
        Some((service, project))
    }
}

/// A container event from the engine's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The full container id.
    pub id: String,
    pub action: Action,
}

/// The event actions the provider reacts to; the engine sends more, which are `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    /// A signal was sent (`docker stop` sends SIGTERM first, `docker kill` SIGKILL).
    /// `signal` is what the engine reports (`15`, `SIGTERM`, `9`, `KILL`...).
    Kill {
        signal: String,
    },
    Stop,
    Die,
    Destroy,
    Pause,
    Unpause,
    /// `health_status: healthy` and its siblings.
    HealthStatus,
    Other(String),
}

impl Action {
    /// Reads the engine's action string (`start`, `health_status: healthy`, ...).
    pub fn parse(action: &str, attributes: &BTreeMap<String, String>) -> Action {
        match action {
            "start" => Action::Start,
            "kill" => Action::Kill {
                signal: attributes.get("signal").cloned().unwrap_or_default(),
            },
            "stop" => Action::Stop,
            "die" => Action::Die,
            "destroy" => Action::Destroy,
            "pause" => Action::Pause,
            "unpause" => Action::Unpause,
            a if a.starts_with("health_status") => Action::HealthStatus,
            other => Action::Other(other.to_owned()),
        }
    }

    /// Whether this event means the container is going away: its process was asked to end
    /// (SIGTERM, SIGINT, SIGQUIT, SIGKILL) or stopped. Other signals (`docker kill -s HUP` to
    /// reload) leave it in the rotation.
    pub fn is_leaving(&self) -> bool {
        match self {
            Action::Stop => true,
            Action::Kill { signal } => {
                let s = signal.trim().to_ascii_uppercase();
                let s = s.strip_prefix("SIG").unwrap_or(&s);
                // An empty signal is the engine's default for `docker kill`: SIGKILL.
                matches!(
                    s,
                    "" | "TERM" | "15" | "KILL" | "9" | "INT" | "2" | "QUIT" | "3"
                )
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(a: &str, signal: Option<&str>) -> Action {
        let attrs = signal
            .map(|s| BTreeMap::from([("signal".to_owned(), s.to_owned())]))
            .unwrap_or_default();
        Action::parse(a, &attrs)
    }

    #[test]
    fn actions_parse_like_the_engine_sends_them() {
        assert_eq!(act("start", None), Action::Start);
        assert_eq!(act("health_status: healthy", None), Action::HealthStatus);
        assert_eq!(act("health_status: unhealthy", None), Action::HealthStatus);
        assert_eq!(
            act("exec_start: sh", None),
            Action::Other("exec_start: sh".into())
        );
    }

    #[test]
    fn stop_and_terminating_signals_mean_leaving_but_hup_does_not() {
        assert!(act("stop", None).is_leaving());
        assert!(act("kill", Some("15")).is_leaving());
        assert!(act("kill", Some("SIGKILL")).is_leaving());
        assert!(act("kill", Some("9")).is_leaving());
        assert!(!act("kill", Some("1")).is_leaving());
        assert!(!act("kill", Some("SIGHUP")).is_leaving());
        assert!(!act("die", None).is_leaving());
        assert!(!act("start", None).is_leaving());
    }

    #[test]
    fn compose_names_need_both_labels() {
        let mut c = Container::default();
        c.labels
            .insert("com.docker.compose.service".into(), "static".into());
        assert_eq!(c.compose(), None);
        c.labels
            .insert("com.docker.compose.project".into(), "servers1".into());
        assert_eq!(c.compose(), Some(("static", "servers1")));
    }
}
