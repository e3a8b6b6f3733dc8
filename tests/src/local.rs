//! The whole lab on loopback, without Docker: the proxy with the file provider, and static-servers
//! and jokes-apis on free ports, routed as the compose file routes (see `routes.rs`).
//!
//! [`LocalStack`] is what `lab up` runs and what the integration tests start. Scaling rewrites
//! the proxy's configuration file, which the proxy watches: no restart, as with Docker labels.
//! Every process is killed when the stack is dropped, also when a test panics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::bins::{BinDir, JOKES_API, PROXY, STATIC_SERVER};
use crate::child::{ChildProcess, Spawn};
use crate::routes::{self, RouteOptions, Upstream};

/// The two services of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The web site (static-server), sticky.
    Static,
    /// The jokes API (jokes-api), round robin.
    Dynamic,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Static, Kind::Dynamic];

    /// The compose service's name, also the proxy's service name and the id prefix.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Static => "static",
            Kind::Dynamic => "dynamic",
        }
    }

    fn program(self) -> &'static str {
        match self {
            Kind::Static => STATIC_SERVER,
            Kind::Dynamic => JOKES_API,
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "static" | "static-server" | "web" => Ok(Kind::Static),
            "dynamic" | "jokes" | "jokes-api" | "api" => Ok(Kind::Dynamic),
            other => bail!("unknown service `{other}`: use `static` or `dynamic`"),
        }
    }
}

/// How to start a local stack.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub static_count: usize,
    pub dynamic_count: usize,
    /// The web entrypoint's port; 0 picks a free one.
    pub http_port: u16,
    /// The API/dashboard entrypoint's port; 0 picks a free one.
    pub api_port: u16,
    pub bin_dir: Option<PathBuf>,
    /// Where the configuration, logs and state go; `None`: a temporary directory removed on drop.
    pub run_dir: Option<PathBuf>,
    pub routes: RouteOptions,
    /// How long a program may take to print its address.
    pub start_timeout: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            static_count: 2,
            dynamic_count: 2,
            http_port: 0,
            api_port: 0,
            bin_dir: None,
            run_dir: None,
            routes: RouteOptions::default(),
            start_timeout: Duration::from_secs(20),
        }
    }
}

/// One backend server of the local stack.
#[derive(Debug)]
pub struct Backend {
    pub kind: Kind,
    /// 1-based, never reused while the stack runs: `static3` stays `static3`.
    pub index: usize,
    /// The instance id it answers with in `X-Served-By`: `static1`, `dynamic2`, ...
    pub id: String,
    pub addr: SocketAddr,
    /// `None` while killed.
    process: Option<ChildProcess>,
}

impl Backend {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What a server looks like from outside, for `status` and the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerState {
    pub kind: Kind,
    pub id: String,
    pub url: String,
    pub pid: Option<u32>,
    pub running: bool,
}

/// Everything another program needs to find and check a running stack (`<run dir>/state.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackState {
    pub http_url: String,
    pub api_url: String,
    pub host: String,
    pub config_file: PathBuf,
    pub proxy_pid: u32,
    pub lab_pid: u32,
    pub servers: Vec<ServerState>,
}

impl StackState {
    pub fn read(run_dir: &Path) -> Result<Self> {
        let path = run_dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no running local stack in {} (cannot read {}): start one with `lab up`",
                run_dir.display(),
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a state file", path.display()))
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.servers.iter().filter(|s| s.kind == kind).count()
    }
}

pub const STATE_FILE: &str = "state.json";
pub const CONFIG_FILE: &str = "dynamic.yaml";

/// The lab on loopback.
#[derive(Debug)]
pub struct LocalStack {
    /// `http://127.0.0.1:PORT`: the web entrypoint.
    pub http_url: String,
    /// `http://127.0.0.1:PORT`: the API and dashboard entrypoint.
    pub api_url: String,
    pub http_addr: SocketAddr,
    pub api_addr: SocketAddr,
    /// The lab's virtual host (`demo.res.ch`).
    pub host: String,
    pub run_dir: PathBuf,
    pub config_file: PathBuf,
    bins: BinDir,
    opts: LocalOptions,
    servers: Vec<Backend>,
    next_index: [usize; 2],
    // Dropped after the processes (fields drop in order): the logs stay until they are gone.
    proxy: ChildProcess,
    /// Set by [`LocalStack::stop`]: every process has exited.
    stopped: bool,
    _tmp: Option<tempfile::TempDir>,
}

impl LocalStack {
    /// Starts the backends, writes the routing, starts the proxy, and waits until the proxy
    /// routes to every backend.
    pub async fn start(opts: LocalOptions) -> Result<Self> {
        let bins = BinDir::locate(opts.bin_dir.as_deref())?;
        let (run_dir, tmp) = match &opts.run_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                (dir.clone(), None)
            }
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("http-infra-lab-")
                    .tempdir()?;
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        let config_file = run_dir.join(CONFIG_FILE);

        let mut servers = Vec::new();
        let mut next_index = [1, 1];
        for kind in Kind::ALL {
            let count = match kind {
                Kind::Static => opts.static_count,
                Kind::Dynamic => opts.dynamic_count,
            };
            let starts = (0..count).map(|i| {
                let index = next_index[kind as usize] + i;
                spawn_backend(&bins, &run_dir, kind, index, None, opts.start_timeout)
            });
            for b in futures_util::future::try_join_all(starts).await? {
                servers.push(b);
            }
            next_index[kind as usize] += count;
        }
        let yaml = routes::dynamic_config(
            &upstreams(&servers, Kind::Static),
            &upstreams(&servers, Kind::Dynamic),
            &opts.routes,
        );
        routes::write_atomic(&config_file, &yaml)?;

        let proxy = ChildProcess::spawn(Spawn {
            name: "proxy".into(),
            program: bins.path(PROXY),
            args: proxy_args(opts.http_port, opts.api_port, &config_file),
            log: run_dir.join("logs").join("proxy.log"),
            addresses: 2,
            timeout: opts.start_timeout,
        })
        .await
        .map_err(|e| {
            if opts.http_port != 0 || opts.api_port != 0 {
                e.context(format!(
                    "the proxy did not start; if a port is in use, pick others with \
                     --http-port/--api-port (0 = any free port): {} / {}",
                    opts.http_port, opts.api_port
                ))
            } else {
                e
            }
        })?;
        let http_addr = proxy.addr(Some("web"))?;
        let api_addr = proxy.addr(Some("traefik"))?;
        let stack = Self {
            http_url: format!("http://{http_addr}"),
            api_url: format!("http://{api_addr}"),
            http_addr,
            api_addr,
            host: opts.routes.host.clone(),
            run_dir,
            config_file,
            bins,
            opts,
            servers,
            next_index,
            proxy,
            stopped: false,
            _tmp: tmp,
        };
        stack.write_state()?;
        stack.wait_routed().await?;
        Ok(stack)
    }

    /// How the stack routes (host, localhost routers, health check).
    pub fn routes(&self) -> &RouteOptions {
        &self.opts.routes
    }

    /// The servers of one kind, in index order.
    pub fn servers(&self, kind: Kind) -> impl Iterator<Item = &Backend> {
        self.servers.iter().filter(move |b| b.kind == kind)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.servers(kind).count()
    }

    /// Starts or stops servers until `kind` has `n`, and rewrites the routing. New servers get
    /// new indices; scaling down removes the highest ones, from the routing first, then their
    /// processes once the proxy no longer routes to them (as `docker compose` does, with our
    /// proxy reacting to `stop`).
    pub async fn scale(&mut self, kind: Kind, n: usize) -> Result<()> {
        let have = self.count(kind);
        if n > have {
            let first = self.next_index[kind as usize];
            let starts = (0..n - have).map(|i| {
                spawn_backend(
                    &self.bins,
                    &self.run_dir,
                    kind,
                    first + i,
                    None,
                    self.opts.start_timeout,
                )
            });
            let new = futures_util::future::try_join_all(starts).await?;
            self.next_index[kind as usize] += new.len();
            self.servers.extend(new);
            self.servers.sort_by_key(|b| (b.kind, b.index));
            self.rewrite()?;
            self.wait_routed().await?;
        } else if n < have {
            let mut victims: Vec<usize> = self.servers(kind).map(|b| b.index).collect();
            victims.sort_unstable();
            let victims = victims.split_off(n);
            let (gone, keep): (Vec<Backend>, Vec<Backend>) = std::mem::take(&mut self.servers)
                .into_iter()
                .partition(|b| b.kind == kind && victims.contains(&b.index));
            self.servers = keep;
            self.rewrite()?;
            self.wait_routed().await?;
            for mut b in gone {
                if let Some(p) = b.process.as_mut() {
                    p.kill().await?;
                }
            }
        }
        self.write_state()
    }

    fn find_mut(&mut self, id: &str) -> Result<&mut Backend> {
        let known: Vec<String> = self.servers.iter().map(|b| b.id.clone()).collect();
        self.servers
            .iter_mut()
            .find(|b| b.id == id)
            .ok_or_else(|| anyhow!("no server `{id}`; the servers are: {}", known.join(", ")))
    }

    /// Kills a server's process (SIGKILL) and leaves it in the routing: to the proxy, a crash.
    pub async fn kill_server(&mut self, id: &str) -> Result<()> {
        let b = self.find_mut(id)?;
        match b.process.as_mut() {
            Some(p) => p.kill().await?,
            None => bail!("{id} is not running"),
        }
        b.process = None;
        self.write_state()
    }

    /// Starts a killed server again, on the same address with the same id.
    pub async fn restart_server(&mut self, id: &str) -> Result<()> {
        let (bins, run_dir, timeout) = (
            self.bins.clone(),
            self.run_dir.clone(),
            self.opts.start_timeout,
        );
        let b = self.find_mut(id)?;
        if b.process.as_mut().is_some_and(|p| p.is_running()) {
            bail!("{id} is already running");
        }
        let fresh = spawn_backend(&bins, &run_dir, b.kind, b.index, Some(b.addr), timeout).await?;
        b.process = fresh.process;
        self.write_state()
    }

    /// Every server with its address and whether its process runs.
    pub fn state(&mut self) -> StackState {
        let servers = self
            .servers
            .iter_mut()
            .map(|b| ServerState {
                kind: b.kind,
                id: b.id.clone(),
                url: b.url(),
                pid: b.process.as_ref().map(|p| p.pid),
                running: b.process.as_mut().is_some_and(|p| p.is_running()),
            })
            .collect();
        StackState {
            http_url: self.http_url.clone(),
            api_url: self.api_url.clone(),
            host: self.host.clone(),
            config_file: self.config_file.clone(),
            proxy_pid: self.proxy.pid,
            lab_pid: std::process::id(),
            servers,
        }
    }

    /// Whether the proxy process still runs.
    pub fn proxy_running(&mut self) -> bool {
        self.proxy.is_running()
    }

    /// Stops every process of the stack (SIGKILL, backends first, then the proxy) and returns
    /// once each one has exited and been reaped: its pid is gone and its ports are free, so a
    /// `lab up` right after cannot collide with it. Dropping the stack only sends the signals.
    /// Returns the pids it stopped.
    pub async fn stop(&mut self) -> Result<Vec<u32>> {
        let mut stopped = Vec::new();
        for b in &mut self.servers {
            if let Some(mut p) = b.process.take() {
                p.kill().await?;
                stopped.push(p.pid);
            }
        }
        if !self.stopped {
            self.proxy.kill().await?;
            stopped.push(self.proxy.pid);
            self.stopped = true;
        }
        let _ = std::fs::remove_file(self.run_dir.join(STATE_FILE));
        Ok(stopped)
    }

    /// Whether [`LocalStack::stop`] ran.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn rewrite(&self) -> Result<()> {
        let yaml = routes::dynamic_config(
            &upstreams(&self.servers, Kind::Static),
            &upstreams(&self.servers, Kind::Dynamic),
            &self.opts.routes,
        );
        routes::write_atomic(&self.config_file, &yaml)
    }

    fn write_state(&self) -> Result<()> {
        // `state()` needs `&mut` only to poll the children; a snapshot without polling is fine.
        let servers = self
            .servers
            .iter()
            .map(|b| ServerState {
                kind: b.kind,
                id: b.id.clone(),
                url: b.url(),
                pid: b.process.as_ref().map(|p| p.pid),
                running: b.process.is_some(),
            })
            .collect();
        let state = StackState {
            http_url: self.http_url.clone(),
            api_url: self.api_url.clone(),
            host: self.host.clone(),
            config_file: self.config_file.clone(),
            proxy_pid: self.proxy.pid,
            lab_pid: std::process::id(),
            servers,
        };
        let json = serde_json::to_string_pretty(&state)?;
        routes::write_atomic(&self.run_dir.join(STATE_FILE), &json)
    }

    /// Waits (bounded, 5 s) until the proxy's API lists exactly the configured servers for
    /// both services. If the API cannot be read in Traefik's shape, waits 500 ms instead: the
    /// checks that follow see traffic, which is what counts.
    pub async fn wait_routed(&self) -> Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let want = |kind: Kind| {
            let mut v: Vec<String> = self.servers(kind).map(|b| b.url()).collect();
            v.sort();
            v
        };
        let started = tokio::time::Instant::now();
        let mut understood = false;
        loop {
            let mut all = true;
            for kind in Kind::ALL {
                let url = format!("{}/api/http/services/{}@file", self.api_url, kind.name());
                match listed_servers(&client, &url).await {
                    Some(urls) => {
                        understood = true;
                        all &= urls == want(kind);
                    }
                    None => all = false,
                }
            }
            if all {
                return Ok(());
            }
            let waited = started.elapsed();
            if !understood && waited > Duration::from_secs(1) {
                // The API does not answer in Traefik's shape: carry on, traffic will tell.
                return Ok(());
            }
            if waited > Duration::from_secs(5) {
                bail!(
                    "the proxy did not pick up {} within 5 s; see {}",
                    self.config_file.display(),
                    self.proxy.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The server URLs of a service in Traefik's API shape, sorted; `None` if unreadable.
async fn listed_servers(client: &reqwest::Client, url: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = client.get(url).send().await.ok()?.json().await.ok()?;
    let servers = v.get("loadBalancer")?.get("servers")?.as_array()?;
    let mut urls: Vec<String> = servers
        .iter()
        .filter_map(|s| Some(s.get("url")?.as_str()?.trim_end_matches('/').to_string()))
        .collect();
    urls.sort();
    Some(urls)
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        // Backends first, then the proxy (field order); ChildProcess kills on drop.
        self.servers.clear();
        let _ = std::fs::remove_file(self.run_dir.join(STATE_FILE));
    }
}

fn upstreams(servers: &[Backend], kind: Kind) -> Vec<Upstream> {
    servers
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| Upstream {
            url: b.url(),
            name: b.id.clone(),
        })
        .collect()
}

/// The proxy's flags, in Traefik's spelling.
pub fn proxy_args(http_port: u16, api_port: u16, config_file: &Path) -> Vec<String> {
    vec![
        format!("--entrypoints.web.address=127.0.0.1:{http_port}"),
        format!("--entrypoints.traefik.address=127.0.0.1:{api_port}"),
        "--api.insecure=true".into(),
        format!("--providers.file.filename={}", config_file.display()),
        "--providers.file.watch=true".into(),
    ]
}

async fn spawn_backend(
    bins: &BinDir,
    run_dir: &Path,
    kind: Kind,
    index: usize,
    addr: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Backend> {
    let id = format!("{}{index}", kind.name());
    let listen = addr.map_or("127.0.0.1:0".to_string(), |a| a.to_string());
    let process = ChildProcess::spawn(Spawn {
        name: id.clone(),
        program: bins.path(kind.program()),
        args: vec![
            "--listen".into(),
            listen,
            "--instance-id".into(),
            id.clone(),
        ],
        log: run_dir.join("logs").join(format!("{id}.log")),
        addresses: 1,
        timeout,
    })
    .await?;
    let addr = process.addr(None)?;
    Ok(Backend {
        kind,
        index,
        id,
        addr,
        process: Some(process),
    })
}
