//! What a check runs against: the proxy's two entrypoints, and — for the checks that stop,
//! start and scale servers — a way to do that on this kind of stack.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::sync::Mutex;

use crate::check::attribution::Undecidable;
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
    /// The compose services of the static site and of the API (`static`, `dynamic` in the
    /// kit's compose file; a student's may differ: `lab.toml`'s `[compose]`).
    pub static_service: String,
    pub api_service: String,
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
            Control::Docker(p) => Some(p.running(p.service(kind)).await?.len()),
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
                let keep = p.running(p.service(other)).await?.len();
                let mut args = p.compose_args();
                args.extend([
                    "up".to_string(),
                    "-d".into(),
                    "--no-recreate".into(),
                    "--no-build".into(),
                    "--pull".into(),
                    "never".into(),
                    "--scale".into(),
                    format!("{}={n}", p.service(kind)),
                    "--scale".into(),
                    format!("{}={keep}", p.service(other)),
                ]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                p.docker(&args).await.map(drop)
            }
        }
    }
}

impl DockerProject {
    /// The kit's compose project (services `static` and `dynamic`).
    pub fn new(project: &str, compose_file: Option<PathBuf>) -> Self {
        Self {
            project: project.to_string(),
            compose_file,
            static_service: Kind::Static.name().to_string(),
            api_service: Kind::Dynamic.name().to_string(),
        }
    }

    /// A student's project, with the service names of their set-up.
    pub fn for_setup(project: &str, setup: &crate::check::Setup) -> Self {
        Self {
            project: project.to_string(),
            compose_file: setup.compose_file.clone(),
            static_service: setup.static_service.clone(),
            api_service: setup.api_service.clone(),
        }
    }

    /// The compose service that plays `kind`.
    pub fn service(&self, kind: Kind) -> &str {
        match kind {
            Kind::Static => &self.static_service,
            Kind::Dynamic => &self.api_service,
        }
    }

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
    pub async fn published(&self, proxy_service: &str, port: u16) -> Result<String> {
        let mut args = self.compose_args();
        args.extend(["port".to_string(), proxy_service.into(), port.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let not_running = || {
            format!(
                "no running proxy in compose project {}: start it (README) or pass --url/--api-url",
                self.project
            )
        };
        let out = self.docker(&args).await.with_context(not_running)?;
        // Compose prints nothing, successfully, for a project without containers.
        if out.trim().is_empty() {
            bail!(not_running());
        }
        if out.trim().ends_with(":0") {
            bail!(
                "compose project {} publishes no port {port} for service `{proxy_service}`: is \
                 the stack up?",
                self.project
            );
        }
        Ok(format!("http://{}", out.trim()))
    }

    /// The running containers of a compose service: (short id, published ports column).
    pub async fn running(&self, service: &str) -> Result<Vec<(String, String)>> {
        let project = format!("label=com.docker.compose.project={}", self.project);
        let service = format!("label=com.docker.compose.service={service}");
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

    /// The proxy's API (`/api/...`) as JSON. Nothing listening there is not the stack's
    /// fault (Traefik's API is optional): the error is [`Undecidable`], and the check SKIPs.
    pub async fn api(&self, path: &str) -> Result<serde_json::Value> {
        let url = format!("{}{}", self.api_url, path);
        match self.web.get_json(&url).await {
            Err(e)
                if e.chain().any(|c| {
                    c.downcast_ref::<reqwest::Error>()
                        .is_some_and(|r| r.is_connect() || r.is_timeout())
                }) =>
            {
                Err(Undecidable(format!(
                    "the proxy's API does not answer at {} ({e:#}): publish it (Traefik:                      --api.insecure=true and port 8080) and give api_url in lab.toml",
                    self.api_url
                ))
                .into())
            }
            other => other,
        }
    }

    /// The same target, its web entrypoint trusting `trust` over HTTPS.
    pub fn with_trust(mut self, trust: crate::check::trust::Trust) -> Result<Self> {
        self.web = Client::with_trust(self.web.base(), self.web.host(), trust)?;
        Ok(self)
    }

    /// Which proxy this is, from its API's `/api/version`: `("Traefik", "2.4.8")`, or ours.
    pub async fn proxy(&self) -> Option<(String, String)> {
        let v = self.api("/api/version").await.ok()?;
        let version = v.get("Version")?.as_str()?.to_string();
        let codename = v.get("Codename").and_then(|c| c.as_str()).unwrap_or("");
        Some(if codename == "http-infra-lab" {
            ("the kit's proxy".to_string(), version)
        } else {
            ("Traefik".to_string(), version)
        })
    }

    /// Whether the proxy is the kit's own (its management page, its dashboard).
    pub async fn is_ours(&self) -> bool {
        self.proxy()
            .await
            .is_some_and(|(name, _)| name.starts_with("the kit"))
    }
}
