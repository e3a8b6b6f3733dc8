//! A fake engine for the UI's tests: containers in memory, every action recorded, any action
//! made to fail on demand.

use std::sync::Mutex;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::provider::docker::{
    Container, ContainerActions, ContainerEvent, ContainerSource, Node, SourceError,
};

pub fn node(
    id: &str,
    project: &str,
    service: &str,
    number: u32,
    state: &str,
    opt_out: bool,
) -> Node {
    let mut labels: std::collections::BTreeMap<String, String> = [
        (
            "com.docker.compose.project".to_string(),
            project.to_string(),
        ),
        (
            "com.docker.compose.service".to_string(),
            service.to_string(),
        ),
    ]
    .into();
    if opt_out {
        labels.insert("traefik.enable".into(), "false".into());
    }
    Node {
        id: id.into(),
        name: format!("{project}-{service}-{number}"),
        project: project.into(),
        service: service.into(),
        number,
        state: state.into(),
        status: String::new(),
        image: format!("img/{service}"),
        networks: [("net".to_string(), format!("10.0.0.{number}"))].into(),
        labels,
    }
}

#[derive(Default)]
pub struct FakeEngine {
    nodes: Mutex<Vec<Node>>,
    calls: Mutex<Vec<String>>,
    fail: Mutex<Vec<String>>,
}

impl FakeEngine {
    pub fn new(nodes: Vec<Node>) -> Self {
        Self {
            nodes: Mutex::new(nodes),
            ..Default::default()
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Makes the call `verb id` fail.
    pub fn fail_on(&self, call: &str) {
        self.fail.lock().unwrap().push(call.to_owned());
    }

    fn record(&self, call: String) -> Result<(), SourceError> {
        let failing = self.fail.lock().unwrap().contains(&call);
        self.calls.lock().unwrap().push(call.clone());
        if failing {
            return Err(SourceError::Engine {
                request: call,
                reason: "500: the fake says no".into(),
            });
        }
        Ok(())
    }

    fn set_state(&self, id: &str, state: &str) {
        if let Some(n) = self.nodes.lock().unwrap().iter_mut().find(|n| n.id == id) {
            n.state = state.into();
        }
    }
}

impl ContainerSource for FakeEngine {
    fn endpoint(&self) -> String {
        "fake://".into()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn inspect<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Container>, SourceError>> {
        Box::pin(async { Ok(None) })
    }

    fn events(&self) -> BoxStream<'static, Result<ContainerEvent, SourceError>> {
        stream::empty().boxed()
    }
}

impl ContainerActions for FakeEngine {
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, SourceError>> {
        Box::pin(async { Ok(self.nodes.lock().unwrap().clone()) })
    }

    fn create_like<'a>(&'a self, sibling: &'a str) -> BoxFuture<'a, Result<String, SourceError>> {
        Box::pin(async move {
            self.record(format!("create_like {sibling}"))?;
            let mut nodes = self.nodes.lock().unwrap();
            let s = nodes.iter().find(|n| n.id == sibling).cloned().unwrap();
            let number = crate::provider::docker::next_number(
                nodes
                    .iter()
                    .filter(|n| n.project == s.project && n.service == s.service)
                    .map(|n| n.number),
            );
            let id = format!(
                "new-{}",
                nodes.iter().filter(|n| n.id.starts_with("new-")).count() + 1
            );
            let mut copy = node(&id, &s.project, &s.service, number, "created", false);
            copy.labels
                .insert(crate::provider::docker::ADDED_BY_LABEL.into(), "ui".into());
            nodes.push(copy);
            Ok(id)
        })
    }

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.record(format!("start {id}"))?;
            self.set_state(id, "running");
            Ok(())
        })
    }

    fn stop<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.record(format!("stop {id}"))?;
            self.set_state(id, "exited");
            Ok(())
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.record(format!("remove {id}"))?;
            self.nodes.lock().unwrap().retain(|n| n.id != id);
            Ok(())
        })
    }
}
