//! What a check runs against: the proxy's two entrypoints, and — for the checks that stop,
//! start and scale servers — a way to do that on this kind of stack.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::sync::Mutex;

use crate::check::client::Client;
use crate::control;
use crate::docker;
use crate::local::{Kind, LocalStack, StackState};
use crate::swarm::SwarmControl;

/// How the checks stop, start and scale servers.
#[derive(Debug, Clone)]
pub enum Control {
    /// Only traffic: the checks that need to stop or scale servers are skipped.
    None,
    /// A `lab up` running in this run directory, driven over its control socket.
    Local(PathBuf),
    /// A stack in this process (the integration tests).
    InProcess(Arc<Mutex<LocalStack>>),
    /// A compose project on the local Docker engine.
    Docker(DockerProject),
    /// A stack on Docker Swarm (`crate::swarm`).
    Swarm(SwarmControl),
}

/// A compose project: `docker compose -p <project> -f <file>`.
#[derive(Debug, Clone)]
pub struct DockerProject {
    pub project: String,
    pub compose_file: Option<PathBuf>,
}

impl Control {
    pub fn describe(&self) -> String {
        match self {
            Control::None => "traffic only (no --local or --docker: no stop/start/scale)".into(),
            Control::Local(dir) => format!("local stack in {}", dir.display()),
            Control::InProcess(_) => "local stack (in process)".into(),
            Control::Docker(p) => format!("docker compose project {}", p.project),
            Control::Swarm(s) => s.describe(),
        }
    }

    pub fn can_change(&self) -> bool {
        !matches!(self, Control::None)
    }

    pub fn is_docker(&self) -> bool {
        matches!(self, Control::Docker(_))
    }

    /// Stops one server, named by its `X-Served-By` id (a crash for a local stack,
    /// `docker stop` for Docker).
    pub async fn stop(&self, id: &str) -> Result<()> {
        match self {
            Control::None => bail!("no way to stop servers: pass --local or --docker"),
            Control::Local(dir) => control::send(dir, &format!("kill {id}")).await.map(drop),
            Control::InProcess(stack) => stack.lock().await.kill_server(id).await,
            Control::Docker(p) => p.docker(&["stop", id]).await.map(drop),
            Control::Swarm(s) => s.stop(id).await,
        }
    }

    /// Starts a stopped server again.
    pub async fn start(&self, id: &str) -> Result<()> {
        match self {
            Control::None => bail!("no way to start servers: pass --local or --docker"),
            Control::Local(dir) => control::send(dir, &format!("restart {id}")).await.map(drop),
            Control::InProcess(stack) => stack.lock().await.restart_server(id).await,
            Control::Docker(p) => p.docker(&["start", id]).await.map(drop),
            Control::Swarm(s) => s.start(id).await,
        }
    }

    /// How many servers of each kind the stack has (running or not).
    pub async fn count(&self, kind: Kind) -> Result<Option<usize>> {
        Ok(match self {
            Control::None => None,
            Control::Local(dir) => Some(StackState::read(dir)?.count(kind)),
            Control::InProcess(stack) => Some(stack.lock().await.count(kind)),
            Control::Docker(p) => Some(p.running(kind).await?.len()),
            Control::Swarm(s) => Some(s.count(kind).await?),
        })
    }

    /// Sets the number of servers of `kind`.
    pub async fn scale(&self, kind: Kind, n: usize) -> Result<()> {
        match self {
            Control::None => bail!("no way to scale: pass --local or --docker"),
            Control::Local(dir) => control::send(dir, &format!("scale {}={n}", kind.name()))
                .await
                .map(drop),
            Control::InProcess(stack) => stack.lock().await.scale(kind, n).await,
            Control::Swarm(s) => s.scale(kind, n).await,
            Control::Docker(p) => {
                let other = match kind {
                    Kind::Static => Kind::Dynamic,
                    Kind::Dynamic => Kind::Static,
                };
                let keep = p.running(other).await?.len();
                let mut args = p.compose_args();
                args.extend([
                    "up".to_string(),
                    "-d".into(),
                    "--no-recreate".into(),
                    "--no-build".into(),
                    "--pull".into(),
                    "never".into(),
                    "--scale".into(),
                    format!("{}={n}", kind.name()),
                    "--scale".into(),
                    format!("{}={keep}", other.name()),
                ]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                p.docker(&args).await.map(drop)
            }
        }
    }
}

impl DockerProject {
    /// The compose file: the one given, else the repository's `compose/compose.yaml`.
    pub fn file(&self) -> PathBuf {
        self.compose_file
            .clone()
            .unwrap_or_else(docker::compose_file)
    }

    fn compose_args(&self) -> Vec<String> {
        vec![
            "compose".to_string(),
            "-p".into(),
            self.project.clone(),
            "-f".into(),
            self.file().display().to_string(),
        ]
    }

    /// Runs `docker ARGS` (through the Docker suite's helper) off the async threads.
    pub async fn docker(&self, args: &[&str]) -> Result<String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            docker::docker(&args)
        })
        .await?
    }

    /// `http://ADDR` published for the proxy's container `port` (80: web, 8080: API).
    pub async fn published(&self, port: u16) -> Result<String> {
        let mut args = self.compose_args();
        args.extend(["port".to_string(), "proxy".into(), port.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.docker(&args).await.with_context(|| {
            format!(
                "no running proxy in compose project {}: start it (README) or pass --url/--api-url",
                self.project
            )
        })?;
        Ok(format!("http://{}", out.trim()))
    }

    /// The running containers of a compose service: (short id, published ports column).
    pub async fn running(&self, kind: Kind) -> Result<Vec<(String, String)>> {
        let project = format!("label=com.docker.compose.project={}", self.project);
        let service = format!("label=com.docker.compose.service={}", kind.name());
        let out = self
            .docker(&[
                "ps",
                "--filter",
                &project,
                "--filter",
                &service,
                "--format",
                "{{.ID}}\t{{.Ports}}",
            ])
            .await?;
        Ok(out
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (id, ports) = l.split_once('\t').unwrap_or((l, ""));
                (id.trim().to_string(), ports.trim().to_string())
            })
            .collect())
    }
}

/// The stack under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Requests to the web entrypoint with the lab's Host.
    pub web: Client,
    /// `http://127.0.0.1:PORT` of the API/dashboard entrypoint.
    pub api_url: String,
    pub control: Control,
}

impl Target {
    pub fn new(url: &str, api_url: &str, host: &str, control: Control) -> Result<Self> {
        crate::check::client::ensure_loopback(api_url)?;
        Ok(Self {
            web: Client::new(url, host)?,
            api_url: api_url.trim_end_matches('/').to_string(),
            control,
        })
    }

    /// The proxy's API (`/api/...`) as JSON.
    pub async fn api(&self, path: &str) -> Result<serde_json::Value> {
        self.web
            .get_json(&format!("{}{}", self.api_url, path))
            .await
    }
}
