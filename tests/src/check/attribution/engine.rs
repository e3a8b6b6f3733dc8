//! The Docker side of attribution: the network counters of a compose project's backend
//! containers, read from the engine's API (`GET /containers/{id}/stats?stream=false&one-shot=true`,
//! API 1.41, Docker 20.10 and later) through bollard.
//!
//! `one-shot` matters: without it the engine waits for a second sample to compute CPU usage,
//! two seconds per call (as `docker stats --no-stream` does). With it, measured on the lab
//! machine (Docker 20.10, loaded): 0.02 s or, as often, a full second. So when `lab check` runs
//! on the engine's host (Linux, the usual case), it reads the same counters where the kernel
//! publishes them, `/proc/<container's pid>/net/dev` (the container's network namespace, as
//! Docker itself reads them): microseconds. The stats API is the fallback (Docker Desktop, a
//! remote engine, no permission on /proc). The list of containers still comes from the engine
//! at each reading (a scaled-up container must be seen at once): about 50 ms.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

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

    /// Where the readings come from, for the run's summary.
    fn source(&self) -> String {
        String::new()
    }
}

/// The running containers of some services of one compose project.
pub struct DockerCounters {
    /// Connected on first use, at the API version the engine speaks (20.10: 1.41).
    docker: OnceCell<Docker>,
    project: String,
    services: Vec<String>,
    /// Container id -> its main process's pid, once inspected.
    pids: Mutex<HashMap<String, i64>>,
    /// Readings taken from /proc, and from the stats API.
    from_proc: AtomicU32,
    from_api: AtomicU32,
}

/// A container's counters: bytes received, bytes sent, packets sent.
type NetDev = (u64, u64, u64);

fn read_net_dev(pid: i64) -> Option<NetDev> {
    parse_net_dev(&std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?)
}

/// The bytes received, bytes sent and packets sent on every interface but loopback, from a
/// `/proc/*/net/dev`.
pub fn parse_net_dev(text: &str) -> Option<NetDev> {
    let (mut rx, mut tx, mut tx_packets, mut any) = (0u64, 0u64, 0u64, false);
    for line in text.lines().skip(2) {
        let (iface, counters) = line.split_once(':')?;
        if iface.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        rx += *fields.first()?;
        tx += *fields.get(8)?;
        tx_packets += *fields.get(9)?;
        any = true;
    }
    any.then_some((rx, tx, tx_packets))
}

impl DockerCounters {
    /// Watches `services` of compose `project`; connects, as the `docker` CLI would
    /// (`DOCKER_HOST`, else the local socket), on the first reading.
    pub fn connect(project: &str, services: &[&str]) -> Result<Self> {
        Ok(Self {
            docker: OnceCell::new(),
            project: project.to_string(),
            services: services.iter().map(|s| s.to_string()).collect(),
            pids: Mutex::new(HashMap::new()),
            from_proc: AtomicU32::new(0),
            from_api: AtomicU32::new(0),
        })
    }

    /// Where the readings came from so far.
    pub fn source(&self) -> String {
        let (p, a) = (
            self.from_proc.load(Ordering::Relaxed),
            self.from_api.load(Ordering::Relaxed),
        );
        match (p, a) {
            (_, 0) => "read from /proc/<pid>/net/dev".into(),
            (0, _) => "read from the engine's stats API (one-shot)".into(),
            _ => format!("{p} from /proc/<pid>/net/dev, {a} from the engine's stats API"),
        }
    }

    /// The counters from /proc, when this process can see the container's. A restarted
    /// container has a new pid: a cached pid that no longer reads is inspected again.
    async fn proc_counters(&self, id: &str) -> Option<NetDev> {
        let cached = self.pids.lock().expect("not poisoned").get(id).copied();
        if let Some(pid) = cached {
            if let Some(c) = read_net_dev(pid) {
                return Some(c);
            }
        }
        let inspect = self
            .docker()
            .await
            .ok()?
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()?;
        let pid = inspect.state?.pid.filter(|p| *p > 0)?;
        self.pids
            .lock()
            .expect("not poisoned")
            .insert(id.to_string(), pid);
        read_net_dev(pid)
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

    async fn counters(&self, id: &str) -> Result<NetDev> {
        if let Some(c) = self.proc_counters(id).await {
            self.from_proc.fetch_add(1, Ordering::Relaxed);
            return Ok(c);
        }
        self.from_api.fetch_add(1, Ordering::Relaxed);
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
        let (mut rx, mut tx, mut tx_packets) = (0, 0, 0);
        for n in stats.networks.unwrap_or_default().values() {
            rx += n.rx_bytes.unwrap_or(0);
            tx += n.tx_bytes.unwrap_or(0);
            tx_packets += n.tx_packets.unwrap_or(0);
        }
        Ok((rx, tx, tx_packets))
    }
}

impl Counters for DockerCounters {
    fn source(&self) -> String {
        DockerCounters::source(self)
    }

    fn sample(&self) -> Pin<Box<dyn Future<Output = Result<Vec<Sample>>> + Send + '_>> {
        Box::pin(async move {
            let containers = self.containers().await?;
            let reads = containers.iter().map(|(id, _, _)| self.counters(id));
            let counters = futures_util::future::join_all(reads).await;
            let mut out = Vec::new();
            for ((_, name, service), c) in containers.into_iter().zip(counters) {
                // A container that stopped between the list and its stats is simply absent.
                if let Ok((rx, tx, tx_packets)) = c {
                    out.push(Sample {
                        name,
                        service,
                        tx,
                        tx_packets,
                        rx,
                    });
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_is_summed_without_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0
  eth0:     806       9    0    0    0     0          0         0     2400       4    0    0    0     0       0          0
  eth1:     100       1    0    0    0     0          0         0       60       1    0    0    0     0       0          0
";
        assert_eq!(parse_net_dev(text), Some((906, 2460, 5)));
        assert_eq!(
            parse_net_dev("header\nheader\n"),
            None,
            "no interface: no reading"
        );
        assert_eq!(parse_net_dev("h\nh\n eth0: 1 2 x\n"), None);
    }
}
