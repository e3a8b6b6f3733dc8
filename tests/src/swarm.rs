//! The lab on Docker Swarm: `compose/stack.yaml` deployed with `docker stack deploy` under a
//! unique stack name on free ports, driven with `docker service scale`, `docker service update`
//! and task kills, and always removed (on drop, so a failing test cleans up too).
//!
//! The swarm itself: a single-node swarm is initialised when the engine is in none
//! ([`ensure_swarm`]), and left again when the test process ends, only if this process created
//! it. Leaving happens from a small watchdog process (a shell loop waiting for this process to
//! exit), because a Rust test binary runs no destructor at exit. The node carries a label naming
//! the process that created the swarm, so a later run can tell an abandoned test swarm from a
//! user's own (which is never left).
//!
//! Used by the Swarm test suite (`tests/tests/swarm_*.rs`) and by `lab check --swarm`. Traffic
//! goes only to the published ports on 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::docker::{docker, repo_root, server_statuses, HOST, TEST_PROJECT_PREFIX};
use crate::local::Kind;

/// The node label that names the test process which created the swarm.
const OWNER_LABEL: &str = "labtest.swarm.owner";

/// `compose/stack.yaml`.
pub fn stack_file() -> PathBuf {
    repo_root().join("compose").join("stack.yaml")
}

/// The engine's swarm state: `active`, `inactive`, `pending`, `error`, `locked`.
fn swarm_state() -> Result<String> {
    Ok(docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?
        .trim()
        .to_owned())
}

fn node_owner(node: &str) -> Option<u32> {
    let format = format!("{{{{index .Spec.Labels \"{OWNER_LABEL}\"}}}}");
    docker(&["node", "inspect", node, "--format", &format])
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Makes this engine a swarm manager if it is in no swarm (once per process). A swarm that
/// existed before is used as it is and never left; one created here is left when this process
/// ends (by the watchdog described above).
pub fn ensure_swarm() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| init_swarm().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn init_swarm() -> Result<()> {
    let mut state = swarm_state()?;
    if state == "active" {
        let node = docker(&["info", "--format", "{{.Swarm.NodeID}}"])?;
        match node_owner(node.trim()) {
            // An earlier test process's swarm, about to be left by its watchdog: wait for it.
            Some(pid)
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() =>
            {
                let deadline = Instant::now() + Duration::from_secs(20);
                while state == "active" && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(250));
                    state = swarm_state()?;
                }
                if state == "active" {
                    // Its watchdog is gone too: the swarm is ours to leave.
                    adopt(node.trim())?;
                    return Ok(());
                }
            }
            _ => {
                eprintln!("swarm: using the engine's existing swarm (it is left as it is)");
                return Ok(());
            }
        }
    }
    if state != "inactive" {
        bail!("the engine's swarm is `{state}`; fix it (`docker swarm leave --force`) and retry");
    }
    docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"])
        .context("`docker swarm init` failed")?;
    let node = docker(&["info", "--format", "{{.Swarm.NodeID}}"])?;
    eprintln!("swarm: initialised a single-node swarm; it is left when this test process ends");
    adopt(node.trim())
}

/// Marks the swarm as this process's and starts the watchdog that leaves it after we exit.
fn adopt(node: &str) -> Result<()> {
    let pid = std::process::id();
    docker(&[
        "node",
        "update",
        "--label-add",
        &format!("{OWNER_LABEL}={pid}"),
        node,
    ])?;
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         owner=$(docker node inspect {node} --format '{{{{index .Spec.Labels \"{OWNER_LABEL}\"}}}}' 2>/dev/null); \
         [ \"$owner\" = \"{pid}\" ] && docker swarm leave --force >/dev/null 2>&1"
    );
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C that stops the tests does not stop it.
        .process_group(0)
        .spawn()
        .context("cannot start the swarm watchdog (sh)")?;
    Ok(())
}

/// A free TCP port on every interface (host-mode publishing needs a concrete port and binds
/// it on all interfaces). Free when asked; a race with another program is possible but rare.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("0.0.0.0:0")?.local_addr()?.port())
}

/// How to deploy a stack.
#[derive(Debug, Clone)]
pub struct SwarmStackOptions {
    /// `None`: a fresh `labtest-<pid>-s<n>` name.
    pub name: Option<String>,
    pub static_replicas: usize,
    pub dynamic_replicas: usize,
    pub ready_timeout: Duration,
}

impl Default for SwarmStackOptions {
    fn default() -> Self {
        SwarmStackOptions {
            name: None,
            static_replicas: 4,
            dynamic_replicas: 3,
            ready_timeout: Duration::from_secs(90),
        }
    }
}

/// A deployed stack; removed (`docker stack rm`) on drop unless attached to with
/// [`SwarmStack::attach`].
#[derive(Debug)]
pub struct SwarmStack {
    pub name: String,
    pub http: SocketAddr,
    pub api: SocketAddr,
    /// `http://127.0.0.1:<port>`: send `Host: demo.res.ch`.
    pub http_url: String,
    pub api_url: String,
    pub host: String,
    owned: bool,
    removed: bool,
}

/// One running task, as `docker ps` on this node shows its container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContainer {
    pub container: String,
    /// `servers1_static.2.<task id>`.
    pub task_name: String,
    /// `servers1_static.2`: what the server answers in `X-Served-By` (stack.yaml's INSTANCE_ID).
    pub served_by: String,
}

impl SwarmStack {
    /// Deploys `compose/stack.yaml` (images must exist: [`crate::docker::ensure_images`]) and
    /// waits until the proxy routes every replica.
    pub async fn deploy(opts: SwarmStackOptions) -> Result<SwarmStack> {
        ensure_swarm()?;
        sweep_stale_stacks();
        let name = opts.name.clone().unwrap_or_else(fresh_name);
        let (http_port, api_port) = (free_port()?, free_port()?);
        let stack = SwarmStack {
            http: SocketAddr::from(([127, 0, 0, 1], http_port)),
            api: SocketAddr::from(([127, 0, 0, 1], api_port)),
            http_url: format!("http://127.0.0.1:{http_port}"),
            api_url: format!("http://127.0.0.1:{api_port}"),
            host: HOST.into(),
            name,
            owned: true,
            removed: false,
        };
        let file = stack_file();
        let output = Command::new("docker")
            .args(["stack", "deploy", "--resolve-image", "never", "-c"])
            .arg(&file)
            .arg(&stack.name)
            .env("LAB_HTTP_PORT", http_port.to_string())
            .env("LAB_API_PORT", api_port.to_string())
            .stdin(Stdio::null())
            .output()
            .context("cannot run `docker stack deploy`")?;
        if !output.status.success() {
            bail!(
                "`docker stack deploy -c {} {}` failed: {}",
                file.display(),
                stack.name,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        for (service, n) in [
            (Kind::Static, opts.static_replicas),
            (Kind::Dynamic, opts.dynamic_replicas),
        ] {
            if n != if service == Kind::Static { 4 } else { 3 } {
                stack.scale(service, n)?;
            }
        }
        stack
            .wait_routed(
                opts.static_replicas,
                opts.dynamic_replicas,
                opts.ready_timeout,
            )
            .await?;
        Ok(stack)
    }

    /// A stack deployed by someone else (`lab check --swarm --stack servers1`): its published
    /// ports are read from the proxy service. Never removed by this handle.
    pub fn attach(name: &str) -> Result<SwarmStack> {
        let service = format!("{name}_proxy");
        let ports = docker(&[
            "service",
            "inspect",
            &service,
            "--format",
            "{{json .Endpoint.Spec.Ports}}",
        ])
        .with_context(|| {
            format!("no service {service}: deploy the stack first (README), or pass --stack NAME")
        })?;
        let ports: Value = serde_json::from_str(ports.trim()).unwrap_or(Value::Null);
        let published = |target: u64| -> Result<u16> {
            ports
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|p| p["TargetPort"] == target)
                        .and_then(|p| p["PublishedPort"].as_u64())
                })
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| anyhow!("service {service} publishes no port for {target}"))
        };
        let (http, api) = (published(80)?, published(8080)?);
        Ok(SwarmStack {
            name: name.to_owned(),
            http: SocketAddr::from(([127, 0, 0, 1], http)),
            api: SocketAddr::from(([127, 0, 0, 1], api)),
            http_url: format!("http://127.0.0.1:{http}"),
            api_url: format!("http://127.0.0.1:{api}"),
            host: HOST.into(),
            owned: false,
            removed: false,
        })
    }

    /// `servers1_static`.
    pub fn service(&self, kind: Kind) -> String {
        format!("{}_{}", self.name, kind.name())
    }

    /// `docker service scale -d <stack>_<kind>=<n>` (returns once the service is updated;
    /// tasks start or stop after).
    pub fn scale(&self, kind: Kind, n: usize) -> Result<()> {
        docker(&[
            "service",
            "scale",
            "--detach",
            &format!("{}={n}", self.service(kind)),
        ])
        .map(drop)
    }

    /// Replicas wanted for `kind`.
    pub fn replicas(&self, kind: Kind) -> Result<usize> {
        let out = docker(&[
            "service",
            "inspect",
            &self.service(kind),
            "--format",
            "{{.Spec.Mode.Replicated.Replicas}}",
        ])?;
        out.trim()
            .parse()
            .with_context(|| format!("replicas of {}: `{}`", self.service(kind), out.trim()))
    }

    /// `docker service update --force` (a rolling update, replacing every task), detached.
    pub fn force_update(&self, kind: Kind) -> Result<()> {
        docker(&[
            "service",
            "update",
            "--detach",
            "--force",
            &self.service(kind),
        ])
        .map(drop)
    }

    /// The service's last update: its state (`updating`, `completed`, ...) and when it started;
    /// empty strings before any update.
    pub fn update_status(&self, kind: Kind) -> Result<(String, String)> {
        let out = docker(&[
            "service",
            "inspect",
            &self.service(kind),
            "--format",
            "{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.StartedAt}}{{end}}",
        ])?;
        let (state, started) = out.trim().split_once(' ').unwrap_or((out.trim(), ""));
        Ok((state.to_owned(), started.to_owned()))
    }

    /// The running task containers of `kind` on this node.
    pub fn task_containers(&self, kind: Kind) -> Result<Vec<TaskContainer>> {
        let filter = format!("label=com.docker.swarm.service.name={}", self.service(kind));
        let out = docker(&[
            "ps",
            "--filter",
            &filter,
            "--format",
            "{{.ID}}\t{{.Label \"com.docker.swarm.task.name\"}}",
        ])?;
        let mut tasks: Vec<TaskContainer> = out
            .lines()
            .filter_map(|l| {
                let (id, task) = l.split_once('\t')?;
                let served_by = task.rsplit_once('.').map(|(s, _)| s)?.to_owned();
                Some(TaskContainer {
                    container: id.trim().to_owned(),
                    task_name: task.trim().to_owned(),
                    served_by,
                })
            })
            .collect();
        tasks.sort_by(|a, b| a.served_by.cmp(&b.served_by));
        Ok(tasks)
    }

    /// The running task container that answers as `served_by` (`servers1_static.2`).
    pub fn task_serving(&self, served_by: &str) -> Result<TaskContainer> {
        let kind = if served_by.starts_with(&self.service(Kind::Static)) {
            Kind::Static
        } else {
            Kind::Dynamic
        };
        self.task_containers(kind)?
            .into_iter()
            .find(|t| t.served_by == served_by)
            .ok_or_else(|| {
                anyhow!(
                    "no running task of {} on this node answers as `{served_by}` (`docker \
                     service ps {}`; tasks on other nodes cannot be stopped from here)",
                    self.service(kind),
                    self.service(kind)
                )
            })
    }

    /// Kills a task's container (SIGKILL); Swarm starts a new task in its slot.
    pub fn kill_task(&self, served_by: &str) -> Result<()> {
        let task = self.task_serving(served_by)?;
        docker(&["kill", &task.container]).map(drop)
    }

    /// Stops a task's container (SIGTERM, then SIGKILL); Swarm starts a new task in its slot.
    pub fn stop_task(&self, served_by: &str) -> Result<()> {
        let task = self.task_serving(served_by)?;
        docker(&["stop", "--time", "3", &task.container]).map(drop)
    }

    /// Waits until a task answering as `served_by` runs again (Swarm's replacement).
    pub async fn wait_replaced(&self, served_by: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.task_serving(served_by).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("Swarm did not start a new `{served_by}` within {timeout:?}")
    }

    /// Waits until the API shows `statics` static and `dynamics` dynamic servers, all UP,
    /// and the site answers through the proxy.
    pub async fn wait_routed(
        &self,
        statics: usize,
        dynamics: usize,
        timeout: Duration,
    ) -> Result<()> {
        let client = crate::docker::client()?;
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            match self.routed(&client).await {
                Ok((s, d))
                    if s.len() == statics && d.len() == dynamics && all_up(&s) && all_up(&d) =>
                {
                    let page = client
                        .get(&self.http_url)
                        .header(reqwest::header::HOST, HOST)
                        .send()
                        .await;
                    if matches!(&page, Ok(r) if r.status().is_success()) {
                        return Ok(());
                    }
                    last = format!("the API is ready but GET / said {page:?}");
                }
                Ok((s, d)) => last = format!("static servers {s:?}, dynamic servers {d:?}"),
                Err(e) => last = format!("{e:#}"),
            }
            if Instant::now() > deadline {
                bail!(
                    "the proxy did not route {statics} static and {dynamics} dynamic servers \
                     within {timeout:?}; last: {last}\n--- logs ---\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// (url, status) of the servers behind the `static` and `dynamic` routers.
    pub async fn routed(
        &self,
        client: &reqwest::Client,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
        Ok((
            self.router_servers(client, "static").await?,
            self.router_servers(client, "dynamic").await?,
        ))
    }

    /// (url, status) of the servers of the service behind `router` (`static@swarm`).
    pub async fn router_servers(
        &self,
        client: &reqwest::Client,
        router: &str,
    ) -> Result<Vec<(String, String)>> {
        let router = get_json(
            client,
            &format!("{}/api/http/routers/{router}@swarm", self.api_url),
        )
        .await?;
        let service = router["service"]
            .as_str()
            .ok_or_else(|| anyhow!("router without service: {router}"))?;
        let service = if service.contains('@') {
            service.to_owned()
        } else {
            format!("{service}@swarm")
        };
        let service = get_json(
            client,
            &format!("{}/api/http/services/{service}", self.api_url),
        )
        .await?;
        Ok(server_statuses(&service))
    }

    /// The proxy's last log lines, for failure messages.
    pub fn logs(&self) -> String {
        docker(&[
            "service",
            "logs",
            "--tail",
            "40",
            &format!("{}_proxy", self.name),
        ])
        .unwrap_or_else(|e| format!("(no logs: {e:#})"))
    }

    /// `docker stack rm`, then waits (bounded) until its containers and network are gone.
    pub fn remove(&mut self) -> Result<()> {
        self.removed = true;
        remove_stack(&self.name)
    }
}

impl Drop for SwarmStack {
    fn drop(&mut self) {
        if self.owned && !self.removed {
            if let Err(e) = self.remove() {
                eprintln!("removing stack {}: {e:#}", self.name);
            }
        }
    }
}

fn all_up(servers: &[(String, String)]) -> bool {
    servers.iter().all(|(_, st)| st == "UP")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))
}

fn fresh_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{TEST_PROJECT_PREFIX}{}-s{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes a stack and waits (up to 30 s) until its containers and networks are gone, so the
/// next stack (or `docker swarm leave`) starts clean.
pub fn remove_stack(name: &str) -> Result<()> {
    let result = docker(&["stack", "rm", name]).map(drop);
    let filter = format!("label=com.docker.stack.namespace={name}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let containers = docker(&["ps", "-aq", "--filter", &filter]).unwrap_or_default();
        let networks = docker(&["network", "ls", "-q", "--filter", &filter]).unwrap_or_default();
        if containers.trim().is_empty() && networks.trim().is_empty() {
            return result;
        }
        if containers.trim().is_empty() {
            for id in networks.split_whitespace() {
                let _ = docker(&["network", "rm", id]);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    result.and_then(|()| bail!("stack {name}: containers or networks still there after 30 s"))
}

/// Removes test stacks left by test processes that no longer exist.
pub fn sweep_stale_stacks() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let Ok(out) = docker(&["stack", "ls", "--format", "{{.Name}}"]) else {
            return;
        };
        for name in out.lines().filter(|n| n.starts_with(TEST_PROJECT_PREFIX)) {
            let pid = name[TEST_PROJECT_PREFIX.len()..]
                .split('-')
                .next()
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    eprintln!("removing stale test stack {name}");
                    let _ = remove_stack(name);
                }
            }
        }
    });
}

/// How `lab check --swarm` stops, starts and scales servers of a deployed stack: a stopped
/// server is a stopped task (Swarm replaces it in the same slot, so it comes back under the
/// same `X-Served-By`), scaling is `docker service scale`.
#[derive(Debug, Clone)]
pub struct SwarmControl {
    pub stack: String,
}

impl SwarmControl {
    fn handle(&self) -> SwarmStack {
        SwarmStack {
            name: self.stack.clone(),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            api: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_url: String::new(),
            api_url: String::new(),
            host: HOST.into(),
            owned: false,
            removed: false,
        }
    }

    pub fn describe(&self) -> String {
        format!("docker stack {}", self.stack)
    }

    /// Stops the task answering as `id` (`docker stop` of its container, on this node).
    pub async fn stop(&self, id: &str) -> Result<()> {
        let (stack, id) = (self.handle(), id.to_owned());
        tokio::task::spawn_blocking(move || stack.stop_task(&id)).await?
    }

    /// "Starts it again": Swarm does, with a new task in the same slot; waits for it.
    pub async fn start(&self, id: &str) -> Result<()> {
        self.handle()
            .wait_replaced(id, Duration::from_secs(60))
            .await
    }

    /// Replicas wanted.
    pub async fn count(&self, kind: Kind) -> Result<usize> {
        let stack = self.handle();
        tokio::task::spawn_blocking(move || stack.replicas(kind)).await?
    }

    /// `docker service scale`, then waits until the service runs `n` tasks (as `docker
    /// compose up --scale` returns once its containers run).
    pub async fn scale(&self, kind: Kind, n: usize) -> Result<()> {
        let stack = self.handle();
        let service = stack.service(kind);
        tokio::task::spawn_blocking(move || {
            stack.scale(kind, n)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let replicas = docker(&[
                    "service",
                    "ls",
                    "--filter",
                    &format!("name={service}"),
                    "--format",
                    "{{.Name}} {{.Replicas}}",
                ])?;
                let done = replicas
                    .lines()
                    .any(|l| l.trim() == format!("{service} {n}/{n}"));
                if done {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    bail!("{service} did not reach {n} running tasks within 60 s: {replicas}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stacks_carry_the_pid() {
        let n = fresh_name();
        assert!(n.starts_with(&format!("{TEST_PROJECT_PREFIX}{}-s", std::process::id())));
    }

    #[test]
    fn free_ports_are_ports() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
