//! `lab`: run the HTTP infrastructure lab without Docker (`lab up`), drive it (`lab scale`,
//! `lab kill`, `lab status`, `lab down`), and check a stack against the lab's steps and the
//! report's tests (`lab check`), and write the starter repository a teacher hands out
//! (`lab init`). The work is in the library; this file only reads flags.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use lab::check::format::{self, Format};
use lab::check::setup::{Flags, LabFile};
use lab::check::trust::Trust;
use lab::check::{self, BrowserMode, Control, DockerProject, Edition, Rubric, Setup, Target};
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
    Check(Box<CheckArgs>),
    /// Write the starter repository a teacher hands out: tasks, report template, skeletons,
    /// lab.toml and a GitHub Classroom workflow that grades every push.
    Init(InitArgs),
    /// Remove what the lab left on the Docker engine: the test stacks (compose projects named
    /// labtest-*), or the projects named; with --images, the lab's images too.
    Clean(CleanArgs),
}

#[derive(Args)]
struct CleanArgs {
    /// Compose projects to remove (default: every test stack, labtest-*).
    projects: Vec<String>,
    /// Also remove the lab's images ($LAB_IMAGE_PREFIX/proxy, static-server, jokes-api;
    /// default prefix http-infra-lab).
    #[arg(long)]
    images: bool,
}

#[derive(Args)]
struct InitArgs {
    /// Where to write it (created if missing; must be empty unless --force).
    dir: PathBuf,
    /// Which statement: 2021 (the reference report's: sticky site, round-robin API) or 2023
    /// (the 2023-24 edition: sticky API, round-robin site, HTTPS).
    #[arg(long, default_value = "2021", value_parser = parse_edition)]
    edition: Edition,
    /// The kit's repository, for the workflow's `cargo install --git` (default: a placeholder
    /// the teacher sets once in .github/workflows/grade.yml).
    #[arg(long, value_name = "URL")]
    kit_repo: Option<String>,
    /// Points per check for the workflow's graded steps (default: the kit's rubric).
    #[arg(long, value_name = "PATH")]
    rubric: Option<PathBuf>,
    /// Write into a directory that is not empty (the starter's files are replaced, others kept).
    #[arg(long)]
    force: bool,
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
    /// The student's set-up (host, API prefix, compose services, which one is sticky); default:
    /// ./lab.toml when it exists. Flags override it.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The proxy's web entrypoint (default: lab.toml's `url`, the running `lab up`'s, the
    /// published port with --docker, else http://127.0.0.1:8000).
    #[arg(long)]
    url: Option<String>,
    /// The proxy's API/dashboard entrypoint (default: lab.toml's `api_url`, the running `lab up`'s,
    /// the published port with --docker, else http://127.0.0.1:8080).
    #[arg(long)]
    api_url: Option<String>,
    /// The plain HTTP entrypoint that redirects to HTTPS (2023; default: lab.toml's `http_url`,
    /// the published port 80 with --docker when the web entrypoint is HTTPS).
    #[arg(long)]
    http_url: Option<String>,
    /// The CA certificate (PEM) that signed the proxy's HTTPS certificate: HTTPS is verified
    /// against it (default: lab.toml's `cacert`; none: any certificate is accepted, and the
    /// `https` check says so). The kit's: compose/edition-2023/certs/ca.crt.
    #[arg(long, value_name = "PATH")]
    cacert: Option<PathBuf>,
    /// The lab's virtual host, sent as Host (default: lab.toml's, else the edition's:
    /// demo.res.ch in 2021, localhost in 2023).
    #[arg(long)]
    host: Option<String>,
    /// The API router's path prefix (default: lab.toml's, else the edition's: /api/jokes/ in
    /// 2021, /api/ in 2023).
    #[arg(long)]
    api_prefix: Option<String>,
    /// Which lab: 2021 (sticky static site, round-robin API) or 2023 (sticky API, round-robin
    /// site, a CRUD API, HTTPS).
    #[arg(long, value_parser = parse_edition)]
    edition: Option<Edition>,
    /// Only these lab steps (1-9, and 10: HTTPS); repeatable.
    #[arg(long)]
    step: Vec<u8>,
    /// A `lab up` stack: stop/start/scale its servers through its run directory.
    #[arg(long, value_name = "RUN_DIR", num_args = 0..=1, default_missing_value = "")]
    local: Option<PathBuf>,
    /// A Docker compose project: stop/start/scale its containers, and tell its servers apart by
    /// their network counters (implied when lab.toml names a compose project).
    #[arg(long)]
    docker: bool,
    /// The compose project (with --docker; default: lab.toml's, else servers1).
    #[arg(long, env = "COMPOSE_PROJECT_NAME")]
    project: Option<String>,
    /// A Docker Swarm stack (compose/stack.yaml): stop tasks, scale services.
    #[arg(long, conflicts_with_all = ["docker", "local"])]
    swarm: bool,
    /// The stack's name (with --swarm).
    #[arg(long, default_value = "servers1")]
    stack: String,
    /// The compose file (with --docker; default: lab.toml's, else the repository's compose/compose.yaml).
    #[arg(long)]
    compose_file: Option<PathBuf>,
    /// Never use what the servers volunteer (X-Served-By, /whoami) to know who answered: only
    /// Docker's counters, as for servers that give no help.
    #[arg(long)]
    no_shortcuts: bool,
    /// Output: text (one line per check), json, or junit (XML for GitHub Classroom, GitLab CI).
    #[arg(long, default_value = "text", value_parser = parse_format)]
    format: Format,
    /// Write the json/junit document here instead of standard output (the text lines still print).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Points per check (`[points] check-id = N`; default: the kit's, docs/src/rubric.toml).
    #[arg(long, value_name = "PATH")]
    rubric: Option<PathBuf>,
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

fn parse_edition(s: &str) -> Result<Edition> {
    Edition::parse(s)
}

fn parse_format(s: &str) -> Result<Format> {
    Format::parse(s)
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
        Cmd::Check(a) => check_cmd(*a).await,
        Cmd::Init(a) => init_cmd(a),
        Cmd::Clean(a) => {
            lab::docker::clean(&a.projects, a.images)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_cmd(a: InitArgs) -> Result<ExitCode> {
    let rubric = a
        .rubric
        .as_deref()
        .map(std::fs::read_to_string)
        .transpose()
        .map_err(|e| anyhow::anyhow!("cannot read the rubric: {e}"))?;
    let opts = lab::init::Options {
        edition: a.edition,
        kit_repo: a.kit_repo,
        force: a.force,
        graded: lab::init::graded_checks(rubric.as_deref(), a.edition)?,
    };
    let written = lab::init::write(&a.dir, &opts)?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    let placeholder = if opts.kit_repo.is_none() {
        format!(
            "\nTeacher: set LAB_KIT_REPO in .github/workflows/grade.yml (now {}) to the kit's \
             repository, or run lab init again with --kit-repo URL --force.",
            lab::init::KIT_REPO_PLACEHOLDER
        )
    } else {
        String::new()
    };
    println!(
        "\nThe starter repository for the {} lab is in {}. Students: read README.md, then \
         `lab check --docker` there.{placeholder}",
        opts.edition.year(),
        a.dir.display()
    );
    Ok(ExitCode::SUCCESS)
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
    // The set-up: lab.toml (given, or ./lab.toml), then the flags over it.
    let config = a
        .config
        .clone()
        .or_else(|| Some(PathBuf::from("lab.toml")).filter(|p| p.is_file()));
    let file = match &config {
        Some(path) => LabFile::read(path)?,
        None => LabFile::default(),
    };
    let setup = Setup::resolve(
        &file,
        &Flags {
            edition: a.edition,
            host: a.host.clone(),
            api_prefix: a.api_prefix.clone(),
            url: a.url.clone(),
            api_url: a.api_url.clone(),
            project: a.project.clone(),
            compose_file: a.compose_file.clone(),
            http_url: a.http_url.clone(),
            cacert: a.cacert.clone(),
        },
    )?;
    let trust = Trust::load(setup.cacert.as_deref())?;
    let rubric = match &a.rubric {
        Some(path) => Rubric::read(path, &check::ids())?,
        None => Rubric::default_for(&check::ids()),
    };
    let docker = a.docker || (a.local.is_none() && file.compose.project.is_some());
    // Which stack: --docker, --local [dir], or a `lab up` found in the default run directory.
    let local_dir = match &a.local {
        Some(d) if d.as_os_str().is_empty() => Some(control::default_run_dir()),
        Some(d) => Some(d.clone()),
        None if !docker && !a.swarm && setup.url.is_none() => {
            let d = control::default_run_dir();
            (control::send(&d, "status").await.is_ok()).then_some(d)
        }
        None => None,
    };
    // Why nothing can be checked, if so: then every check FAILs with that reason, so CI
    // still gets its report.
    let mut down: Option<String> = None;
    let mut http_url = setup.http_url.clone();
    let (control, url, api_url) = if a.swarm {
        let stack = lab::swarm::SwarmStack::attach(&a.stack)?;
        (
            Control::Swarm(lab::swarm::SwarmControl {
                stack: a.stack.clone(),
            }),
            Some(setup.url.clone().unwrap_or(stack.http_url.clone())),
            Some(setup.api_url.clone().unwrap_or(stack.api_url.clone())),
        )
    } else if docker {
        let project = setup.project.clone().unwrap_or_else(|| "servers1".into());
        let p = DockerProject::for_setup(&project, &setup);
        // The 2023 edition serves everything over HTTPS (443) and only redirects on 80: check
        // through 443 when it is published, and the redirect on 80.
        let https = match (&setup.url, setup.edition) {
            (None, Edition::E2023) => p.published(&setup.proxy_service, 443).await.ok(),
            _ => None,
        };
        let url = match (&setup.url, https) {
            (Some(u), _) => u.clone(),
            (None, Some(https)) => {
                if http_url.is_none() {
                    http_url = p.published(&setup.proxy_service, 80).await.ok();
                }
                https.replacen("http://", "https://", 1)
            }
            (None, None) => match p.published(&setup.proxy_service, 80).await {
                Ok(u) => u,
                Err(e) => {
                    down = Some(format!(
                        "the stack is not running: {e:#} {}",
                        check::stack_state(&p, &setup).await
                    ));
                    "http://127.0.0.1:80".into()
                }
            },
        };
        let api_url = match &setup.api_url {
            Some(u) => Some(u.clone()),
            // Traefik's API is optional: without it, the checks that read it SKIP.
            None => p.published(&setup.proxy_service, 8080).await.ok(),
        };
        (Control::Docker(p), Some(url), api_url)
    } else if let Some(dir) = local_dir {
        let state = StackState::read(&dir)?;
        control::send(&dir, "status").await?;
        (
            Control::Local(dir),
            Some(setup.url.clone().unwrap_or(state.http_url)),
            Some(setup.api_url.clone().unwrap_or(state.api_url)),
        )
    } else {
        (Control::None, setup.url.clone(), setup.api_url.clone())
    };
    let url = url.unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let api_url = api_url.unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let target = Target::new(&url, &api_url, &setup.host, control)?.with_trust(trust)?;
    if down.is_none() {
        if let Err(e) = reachable(&url).await {
            let state = match &target.control {
                Control::Docker(p) => format!(" {}", check::stack_state(p, &setup).await),
                _ => String::new(),
            };
            down = Some(format!(
                "nothing answers on {url} ({e}): start the lab first (`lab up`, or \
                 scripts/lab-up.sh on Docker), or pass --url, --local, --docker (or url in \
                 lab.toml).{state}"
            ));
        }
    }
    // Progress lines go to stderr when the document goes to stdout.
    let doc_to_stdout = a.format != Format::Text && a.out.is_none();
    let say = |line: &str| {
        if doc_to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let api_note = match reachable(&api_url).await {
        Ok(()) => String::new(),
        Err(_) => " (nothing answers there: the checks that read the proxy's API will SKIP)".into(),
    };
    say(&format!(
        "checking {url} (Host: {}) and {api_url}{api_note}; {}; edition {}: sticky {}, round robin {}{}",
        setup.host,
        target.control.describe(),
        setup.edition.year(),
        setup.describe(setup.sticky),
        setup.describe(setup.round_robin()),
        config
            .as_ref()
            .map(|c| format!("; set-up from {}", c.display()))
            .unwrap_or_default()
    ));
    let mut setup = setup;
    setup.http_url = http_url;
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
        setup,
        shortcuts: !a.no_shortcuts,
        rubric: Some(rubric),
        ..Default::default()
    };
    let report = match &down {
        None => check::run(&target, &opts, &mut |r| say(&r.line())).await,
        Some(why) => {
            let report = check::fail_all(&opts, why);
            report.results.iter().for_each(|r| say(&r.line()));
            report
        }
    };
    say(&report.attribution);
    let document = match a.format {
        Format::Text => None,
        Format::Json => Some(format::json(&report)),
        Format::Junit => Some(format::junit(&report, "lab check")),
    };
    match (document, &a.out) {
        (Some(doc), Some(path)) => {
            std::fs::write(path, doc).with_context(|| format!("cannot write {}", path.display()))?
        }
        (Some(doc), None) => print!("{doc}"),
        (None, _) => {}
    }
    // The summary is the last line, where CI looks for it.
    say(&format::text_footer(&report));
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether something accepts TCP connections at one of the URL's addresses (3 s at most each):
/// `localhost` may be ::1 first while a proxy listens on 127.0.0.1 only.
async fn reachable(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url)?;
    let addrs = parsed.socket_addrs(|| Some(80))?;
    let mut last = anyhow::anyhow!("`{url}` has no address");
    for addr in addrs {
        match tokio::time::timeout(
            std::time::Duration::from_secs(3),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => last = e.into(),
            Err(_) => last = anyhow::anyhow!("connect to {addr} timed out"),
        }
    }
    Err(last)
}
