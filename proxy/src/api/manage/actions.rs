//! The UI's actions, from a request to engine calls: find the target among the containers in
//! scope (the UI can never touch a container it does not show), then add, start, stop or
//! remove it. Removing a running node stops it gracefully first, so it leaves the rotation
//! before its process exits; adding a node removes it again when it cannot start.

use crate::provider::docker::{ContainerActions, Node, SourceError};

use super::view;

/// What the page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A new node in service `project/service`, configured like a sibling.
    Add {
        service: String,
    },
    Start {
        id: String,
    },
    Stop {
        id: String,
    },
    Remove {
        id: String,
    },
}

impl Request {
    /// `add`, `start`, `stop` or `remove` on a node id (`add` takes a service key).
    pub fn parse(action: &str, target: &str) -> Option<Request> {
        let target = target.to_owned();
        Some(match action {
            "add" => Request::Add { service: target },
            "start" => Request::Start { id: target },
            "stop" => Request::Stop { id: target },
            "remove" => Request::Remove { id: target },
            _ => return None,
        })
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Request::Add { .. } => "add",
            Request::Start { .. } => "start",
            Request::Stop { .. } => "stop",
            Request::Remove { .. } => "remove",
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Request::Add { service } => service,
            Request::Start { id } | Request::Stop { id } | Request::Remove { id } => id,
        }
    }
}

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("no container or service `{0}` here (it may have been removed; reload the page)")]
    NotFound(String),
    #[error(transparent)]
    Engine(#[from] SourceError),
}

/// Performs `req` on the containers `engine` lists, within the scope of `own_project`.
/// Returns what was done, for the page and the log.
pub async fn perform(
    engine: &(dyn ContainerActions + '_),
    own_project: Option<&str>,
    req: &Request,
) -> Result<String, ActionError> {
    let nodes = view::in_scope(engine.nodes().await?, own_project);
    let node = |id: &str| -> Result<Node, ActionError> {
        nodes
            .iter()
            .find(|n| n.id == id)
            .cloned()
            .ok_or_else(|| ActionError::NotFound(id.to_owned()))
    };
    match req {
        Request::Add { service } => {
            let mut siblings: Vec<&Node> = nodes
                .iter()
                .filter(|n| format!("{}/{}", n.project, n.service) == *service)
                .collect();
            // A running sibling has the configuration the service runs with now.
            siblings.sort_by_key(|n| (!n.is_running(), std::cmp::Reverse(n.number)));
            let sibling = siblings
                .first()
                .ok_or_else(|| ActionError::NotFound(service.clone()))?;
            let id = engine.create_like(&sibling.id).await?;
            if let Err(e) = engine.start(&id).await {
                let _ = engine.remove(&id).await;
                return Err(e.into());
            }
            let name = engine
                .nodes()
                .await
                .ok()
                .and_then(|all| all.into_iter().find(|n| n.id == id).map(|n| n.name))
                .unwrap_or_else(|| id.chars().take(12).collect());
            Ok(format!("added {name} like {}", sibling.name))
        }
        Request::Start { id } => {
            let n = node(id)?;
            engine.start(&n.id).await?;
            Ok(format!("started {}", n.name))
        }
        Request::Stop { id } => {
            let n = node(id)?;
            engine.stop(&n.id).await?;
            Ok(format!("stopped {}", n.name))
        }
        Request::Remove { id } => {
            let n = node(id)?;
            if n.is_running() || n.state == "paused" || n.state == "restarting" {
                engine.stop(&n.id).await?;
            }
            engine.remove(&n.id).await?;
            Ok(format!("removed {}", n.name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{node, FakeEngine};
    use super::*;

    fn fake() -> FakeEngine {
        FakeEngine::new(vec![
            node("p1", "lab", "proxy", 1, "running", true),
            node("s1", "lab", "static", 1, "running", false),
            node("s2", "lab", "static", 2, "exited", false),
            node("x1", "other", "static", 1, "running", false),
        ])
    }

    #[tokio::test]
    async fn add_clones_a_running_sibling_and_starts_the_copy() {
        let e = fake();
        let done = perform(
            &e,
            Some("lab"),
            &Request::Add {
                service: "lab/static".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(done, "added lab-static-3 like lab-static-1");
        assert_eq!(e.calls(), ["create_like s1", "start new-1"]);
    }

    #[tokio::test]
    async fn a_copy_that_cannot_start_is_removed() {
        let e = fake();
        e.fail_on("start new-1");
        let r = perform(
            &e,
            Some("lab"),
            &Request::Add {
                service: "lab/static".into(),
            },
        )
        .await;
        assert!(matches!(r, Err(ActionError::Engine(_))), "{r:?}");
        assert_eq!(e.calls(), ["create_like s1", "start new-1", "remove new-1"]);
    }

    #[tokio::test]
    async fn remove_stops_a_running_node_first() {
        let e = fake();
        let done = perform(&e, Some("lab"), &Request::Remove { id: "s1".into() })
            .await
            .unwrap();
        assert_eq!(done, "removed lab-static-1");
        assert_eq!(e.calls(), ["stop s1", "remove s1"]);
        perform(&e, Some("lab"), &Request::Remove { id: "s2".into() })
            .await
            .unwrap();
        assert_eq!(e.calls()[2..], ["remove s2"]);
    }

    #[tokio::test]
    async fn stop_and_start_go_to_the_engine() {
        let e = fake();
        perform(&e, Some("lab"), &Request::Stop { id: "s1".into() })
            .await
            .unwrap();
        perform(&e, Some("lab"), &Request::Start { id: "s2".into() })
            .await
            .unwrap();
        assert_eq!(e.calls(), ["stop s1", "start s2"]);
    }

    #[tokio::test]
    async fn containers_out_of_scope_are_never_touched() {
        let e = fake();
        for req in [
            Request::Stop { id: "p1".into() }, // the proxy itself (traefik.enable=false)
            Request::Remove { id: "x1".into() }, // another project
            Request::Start { id: "nope".into() },
            Request::Add {
                service: "other/static".into(),
            },
        ] {
            let r = perform(&e, Some("lab"), &req).await;
            assert!(matches!(r, Err(ActionError::NotFound(_))), "{req:?}: {r:?}");
        }
        assert!(e.calls().is_empty());
    }

    #[tokio::test]
    async fn engine_errors_are_reported() {
        let e = fake();
        e.fail_on("stop s1");
        let r = perform(&e, Some("lab"), &Request::Stop { id: "s1".into() }).await;
        assert!(matches!(r, Err(ActionError::Engine(_))));
    }

    #[test]
    fn requests_parse() {
        assert_eq!(
            Request::parse("stop", "abc"),
            Some(Request::Stop { id: "abc".into() })
        );
        assert_eq!(Request::parse("explode", "abc"), None);
        assert_eq!(Request::parse("add", "lab/static").unwrap().verb(), "add");
    }
}
