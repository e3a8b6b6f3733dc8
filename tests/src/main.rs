//! `lab`: run the HTTP infrastructure lab without Docker (`lab up`), drive it (`lab scale`,
//! `lab kill`, `lab status`, `lab down`), and check a stack against the lab's steps and the
//! report's tests (`lab check`). The work is in the library; this file only reads flags.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use lab::check::{self, BrowserMode, Control, DockerProject, Target};
use lab::control;
use lab::local::{Kind, LocalOptions, StackState};
use lab::routes::RouteOptions;

#[derive(Parser)]
#[command(
    name = "lab",
    version,
    about = "The HTTP infrastructure lab: run it, scale it, check it."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the proxy, static-servers and jokes-apis on loopback (no Docker), until Ctrl-C.
    Up(UpArgs),
    /// Scale a running `lab up`: `lab scale static=6 dynamic=3`.
    Scale(CtlArgs),
    /// Kill a server of a running `lab up` (a crash; it stays in the routing): `lab kill static 2`.
    Kill(CtlArgs),
    /// Start a killed server again: `lab restart static 2`.
    Restart(CtlArgs),
    /// List the servers of a running `lab up`.
    Status(CtlArgs),
    /// Stop a running `lab up`.
    Down(CtlArgs),
    /// Check a running stack against the lab's steps and the report's tests.
    Check(CheckArgs),
}

#[derive(Args)]
struct UpArgs {
    /// Servers per service, as in `docker compose up --scale`: `--scale static=4 --scale dynamic=3`.
    #[arg(long, value_name = "SERVICE=N")]
    scale: Vec<String>,
    /// The web entrypoint's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000, env = "LAB_HTTP_PORT")]
    http_port: u16,
    /// The API and dashboard entrypoint's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080, env = "LAB_API_PORT")]
    api_port: u16,
    /// Where proxy, static-server and jokes-api are (default: next to `lab`).
    #[arg(long, env = "LAB_BIN_DIR")]
    bin_dir: Option<PathBuf>,
    /// Routing file, logs, state and control socket (default: $LAB_RUN_DIR or <tmp>/http-infra-lab).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// The lab's virtual host.
    #[arg(long, default_value = "demo.res.ch")]
    host: String,
    /// Route only Host demo.res.ch, exactly as the compose file (no localhost routers).
    #[arg(long)]
    no_localhost: bool,
    /// Active health check on /healthz every N ms, so a restarted server comes back UP
    /// (0: none, as in the report's compose file).
    #[arg(long, default_value_t = 1000)]
    health_check_ms: u64,
}

#[derive(Args)]
struct CtlArgs {
    /// The command's arguments (`static=6`, `static 2`).
    args: Vec<String>,
    /// The run directory of the `lab up` to drive.
    #[arg(long, env = "LAB_RUN_DIR")]
    run_dir: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    /// The proxy's web entrypoint (default: the running `lab up`'s, else http://127.0.0.1:8000).
    #[arg(long)]
    url: Option<String>,
    /// The proxy's API/dashboard entrypoint (default: the running `lab up`'s, else http://127.0.0.1:8080).
    #[arg(long)]
    api_url: Option<String>,
    /// The lab's virtual host, sent as Host.
    #[arg(long, default_value = "demo.res.ch")]
    host: String,
    /// Only these lab steps (1-9); repeatable.
    #[arg(long)]
    step: Vec<u8>,
    /// A `lab up` stack: stop/start/scale its servers through its run directory.
    #[arg(long, value_name = "RUN_DIR", num_args = 0..=1, default_missing_value = "")]
    local: Option<PathBuf>,
    /// A Docker compose project: stop/start/scale its containers.
    #[arg(long)]
    docker: bool,
    /// The compose project (with --docker).
    #[arg(long, default_value = "servers1", env = "COMPOSE_PROJECT_NAME")]
    project: String,
    /// A Docker Swarm stack (compose/stack.yaml): stop tasks, scale services.
    #[arg(long, conflicts_with_all = ["docker", "local"])]
    swarm: bool,
    /// The stack's name (with --swarm).
    #[arg(long, default_value = "servers1")]
    stack: String,
    /// The compose file (with --docker; default: the repository's compose/compose.yaml).
    #[arg(long)]
    compose_file: Option<PathBuf>,
    /// Run the browser checks; a missing Chromium is then a failure (default: when installed).
    #[arg(long, conflicts_with = "no_browser")]
    browser: bool,
    /// Skip the browser checks.
    #[arg(long)]
    no_browser: bool,
    /// Write the browser's screenshots (site.png, site-sticky.png, dashboard.png) here.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// The management page's token (step 9): the check then adds, stops and removes a node.
    #[arg(long, env = "LAB_MANAGE_TOKEN", hide_env_values = true)]
    manage_token: Option<String>,
    /// List the checks and exit.
    #[arg(long)]
    list: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAB_LOG")
                .unwrap_or_else(|_| "warn,chromiumoxide=off".into()),
        )
        .with_ansi(lab_common::logging::colour_on_stderr())
        .with_writer(std::io::stderr)
        .init();
    // Where panics abort (release), no destructor runs: kill the lab's processes from the hook.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        lab::child::kill_all();
    }));
    let cli = Cli::parse();
    let code = match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lab: {e:#}");
            ExitCode::from(2)
        }
    };
    // Exit now: a thread blocked on standard input must not keep the process alive.
    std::process::exit(if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(2) {
        2
    } else {
        1
    });
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Up(a) => {
            let mut opts = LocalOptions {
                http_port: a.http_port,
                api_port: a.api_port,
                bin_dir: a.bin_dir,
                run_dir: a.run_dir,
                routes: RouteOptions {
                    host: a.host,
                    localhost_routes: !a.no_localhost,
                    health_check_ms: (a.health_check_ms > 0).then_some(a.health_check_ms),
                },
                ..Default::default()
            };
            for s in &a.scale {
                let Some((kind, n)) = s.split_once('=') else {
                    bail!("--scale wants SERVICE=N, like --scale static=4");
                };
                let n: usize = n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--scale {s}: `{n}` is not a number"))?;
                if n > 32 {
                    bail!("--scale {s}: at most 32 servers per service on this machine");
                }
                match Kind::parse(kind)? {
                    Kind::Static => opts.static_count = n,
                    Kind::Dynamic => opts.dynamic_count = n,
                }
            }
            lab::up::up(opts).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Scale(a) => ctl("scale", a).await,
        Cmd::Kill(a) => ctl("kill", a).await,
        Cmd::Restart(a) => ctl("restart", a).await,
        Cmd::Status(a) => ctl("status", a).await,
        Cmd::Down(a) => ctl("quit", a).await,
        Cmd::Check(a) => check_cmd(a).await,
    }
}

async fn ctl(verb: &str, a: CtlArgs) -> Result<ExitCode> {
    let run_dir = a.run_dir.unwrap_or_else(control::default_run_dir);
    let line = format!("{verb} {}", a.args.join(" "));
    control::parse(&line)?;
    println!("{}", control::send(&run_dir, &line).await?);
    Ok(ExitCode::SUCCESS)
}

async fn check_cmd(a: CheckArgs) -> Result<ExitCode> {
    if a.list {
        for (step, name, what) in check::list() {
            println!("step {step}  {name:<18} {what}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Which stack: --docker, --local [dir], or a `lab up` found in the default run directory.
    let local_dir = match &a.local {
        Some(d) if d.as_os_str().is_empty() => Some(control::default_run_dir()),
        Some(d) => Some(d.clone()),
        None if !a.docker && !a.swarm && a.url.is_none() => {
            let d = control::default_run_dir();
            (control::send(&d, "status").await.is_ok()).then_some(d)
        }
        None => None,
    };
    let (control, url, api_url) = if a.swarm {
        let stack = lab::swarm::SwarmStack::attach(&a.stack)?;
        (
            Control::Swarm(lab::swarm::SwarmControl {
                stack: a.stack.clone(),
            }),
            Some(a.url.clone().unwrap_or(stack.http_url.clone())),
            Some(a.api_url.clone().unwrap_or(stack.api_url.clone())),
        )
    } else if a.docker {
        let p = DockerProject {
            project: a.project.clone(),
            compose_file: a.compose_file.clone(),
        };
        let url = match &a.url {
            Some(u) => u.clone(),
            None => p.published(80).await?,
        };
        let api_url = match &a.api_url {
            Some(u) => u.clone(),
            None => p.published(8080).await?,
        };
        (Control::Docker(p), Some(url), Some(api_url))
    } else if let Some(dir) = local_dir {
        let state = StackState::read(&dir)?;
        control::send(&dir, "status").await?;
        (
            Control::Local(dir),
            Some(a.url.clone().unwrap_or(state.http_url)),
            Some(a.api_url.clone().unwrap_or(state.api_url)),
        )
    } else {
        (Control::None, a.url.clone(), a.api_url.clone())
    };
    let url = url.unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let api_url = api_url.unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let target = Target::new(&url, &api_url, &a.host, control)?;
    for u in [&url, &api_url] {
        if let Err(e) = reachable(u).await {
            bail!(
                "nothing answers on {u} ({e}): start the lab first (`lab up`, or \
                 scripts/lab-up.sh on Docker), or pass --url / --api-url, --local, --docker, --swarm"
            );
        }
    }
    println!(
        "checking {url} (Host: {}) and {api_url}; {}",
        a.host,
        target.control.describe()
    );
    let opts = check::Options {
        steps: a.step,
        browser: if a.no_browser {
            BrowserMode::Off
        } else if a.browser {
            BrowserMode::On
        } else {
            BrowserMode::Auto
        },
        screenshots: a.screenshots,
        manage_token: a.manage_token,
        ..Default::default()
    };
    let report = check::run(&target, &opts, &mut |r| println!("{}", r.line())).await;
    println!("{}", report.summary());
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether something accepts TCP connections at the URL's address (3 s at most).
async fn reachable(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url)?;
    let addrs = parsed.socket_addrs(|| Some(80))?;
    let addr = addrs
        .first()
        .ok_or_else(|| anyhow::anyhow!("`{url}` has no address"))?;
    tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|_| anyhow::anyhow!("connect timed out"))??;
    Ok(())
}
