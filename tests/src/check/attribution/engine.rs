//! The Docker side of attribution: the network counters of a compose project's backend
//! containers, read from the engine's API (`GET /containers/{id}/stats?stream=false&one-shot=true`,
//! API 1.41, Docker 20.10 and later) through bollard.
//!
//! `one-shot` matters: without it the engine waits for a second sample to compute CPU usage,
//! about a second per call. With it the engine reads the counters once (a netlink query in the
//! container's network namespace) and answers in a few milliseconds. The containers are read
//! in parallel; `docker stats` (the CLI) would cost two seconds per reading.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, Result};
use bollard::query_parameters::{ListContainersOptions, StatsOptions};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::decide::Sample;

/// Where counter samples come from: Docker here, a script in the unit tests.
pub trait Counters: Send + Sync {
    /// One sample of every running container of the watched services.
    fn sample(&self) -> Pin<Box<dyn Future<Output = Result<Vec<Sample>>> + Send + '_>>;
}

/// The running containers of some services of one compose project.
pub struct DockerCounters {
    /// Connected on first use, at the API version the engine speaks (20.10: 1.41).
    docker: OnceCell<Docker>,
    project: String,
    services: Vec<String>,
}

impl DockerCounters {
    /// Watches `services` of compose `project`; connects, as the `docker` CLI would
    /// (`DOCKER_HOST`, else the local socket), on the first reading.
    pub fn connect(project: &str, services: &[&str]) -> Result<Self> {
        Ok(Self {
            docker: OnceCell::new(),
            project: project.to_string(),
            services: services.iter().map(|s| s.to_string()).collect(),
        })
    }

    async fn docker(&self) -> Result<&Docker> {
        self.docker
            .get_or_try_init(|| async {
                let docker = Docker::connect_with_defaults().context(
                    "cannot reach the Docker engine (is DOCKER_HOST right, is the socket readable?)",
                )?;
                docker
                    .negotiate_version()
                    .await
                    .context("the Docker engine does not answer")
            })
            .await
    }

    async fn containers(&self) -> Result<Vec<(String, String, String)>> {
        let mut filters = HashMap::new();
        filters.insert(
            "label".to_string(),
            vec![format!("com.docker.compose.project={}", self.project)],
        );
        filters.insert("status".to_string(), vec!["running".to_string()]);
        let list = self
            .docker()
            .await?
            .list_containers(Some(ListContainersOptions {
                all: false,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .context("listing the project's containers")?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let service = c
                    .labels
                    .as_ref()?
                    .get("com.docker.compose.service")?
                    .clone();
                if !self.services.contains(&service) {
                    return None;
                }
                let name = c
                    .names
                    .as_ref()?
                    .first()?
                    .trim_start_matches('/')
                    .to_string();
                Some((c.id?, name, service))
            })
            .collect())
    }

    async fn counters(&self, id: &str) -> Result<(u64, u64)> {
        let opts = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = Box::pin(self.docker().await?.stats(id, Some(opts)));
        let stats = stream
            .next()
            .await
            .context("the engine sent no stats")?
            .context("reading a container's stats")?;
        let (mut tx, mut rx) = (0, 0);
        for n in stats.networks.unwrap_or_default().values() {
            tx += n.tx_bytes.unwrap_or(0);
            rx += n.rx_bytes.unwrap_or(0);
        }
        Ok((tx, rx))
    }
}

impl Counters for DockerCounters {
    fn sample(&self) -> Pin<Box<dyn Future<Output = Result<Vec<Sample>>> + Send + '_>> {
        Box::pin(async move {
            let containers = self.containers().await?;
            let reads = containers.iter().map(|(id, _, _)| self.counters(id));
            let counters = futures_util::future::join_all(reads).await;
            let mut out = Vec::new();
            for ((_, name, service), c) in containers.into_iter().zip(counters) {
                // A container that stopped between the list and its stats is simply absent.
                if let Ok((tx, rx)) = c {
                    out.push(Sample {
                        name,
                        service,
                        tx,
                        rx,
                    });
                }
            }
            Ok(out)
        })
    }
}
