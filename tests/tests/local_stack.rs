//! The lab on loopback with the real binaries: a [`LocalStack`] started in-process and every
//! check run against it, browser included; then `lab up`, `lab check`, `lab scale` and
//! `lab down` as a student types them.
//!
//! The proxy, static-server and jokes-api binaries belong to other packages, which cargo does not
//! build for this crate's tests: the tests run `cargo build -p proxy -p static-server -p jokes-api`
//! first (same profile, same target directory), unless `LAB_BIN_DIR` points at them.
//! `LAB_SCREENSHOTS=docs/src/images` keeps the browser's screenshots for the book.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use lab::check::setup::{Flags, LabFile};
use lab::check::{self, BrowserMode, Control, Setup, Status, Target};
use lab::local::{Kind, LocalOptions, LocalStack, StackState};
use lab::routes::RouteOptions;
use testkit::Running;
use tokio::sync::Mutex;

/// The directory of the three binaries, built first if missing or older than their sources.
///
/// `cargo test --workspace` has just built them (the three packages have integration tests,
/// which makes cargo build their binaries): they are used as they are. Otherwise (`cargo test
/// -p lab`) this runs `cargo build -p proxy -p static-server -p jokes-api` once, same profile,
/// same target directory. `LAB_BIN_DIR` skips all of it.
fn binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("LAB_BIN_DIR") {
            return PathBuf::from(dir);
        }
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test> -> target/<profile>
        let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        if !fresh(&dir) {
            let release = exe.components().any(|c| c.as_os_str() == "release");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args([
                "build",
                "-p",
                "proxy",
                "-p",
                "static-server",
                "-p",
                "jokes-api",
            ]);
            if release {
                cmd.arg("--release");
            }
            let status = cmd
                .status()
                .expect("cannot run cargo to build the lab's binaries");
            assert!(
                status.success(),
                "cargo build of proxy, static-server, jokes-api failed"
            );
        }
        dir
    })
    .clone()
}

/// Whether the three binaries in `dir` exist and are newer than every source they are built from.
fn fresh(dir: &Path) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let newest_source = ["proxy", "static-server", "jokes-api", "common"]
        .iter()
        .map(|c| newest(&root.join(c)))
        .chain([newest(&root.join("Cargo.lock"))])
        .max()
        .flatten();
    let oldest_binary = ["proxy", "static-server", "jokes-api"]
        .iter()
        .map(|b| modified(&dir.join(b)))
        .collect::<Option<Vec<_>>>()
        .and_then(|v| v.into_iter().min());
    matches!((oldest_binary, newest_source), (Some(b), Some(s)) if b >= s)
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time under `p` (sources, manifests, the site), skipping `target`.
fn newest(p: &Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(p)
        .ok()?
        .flatten()
        .filter(|e| e.file_name() != "target" && e.file_name() != "tests")
        .filter_map(|e| newest(&e.path()))
        .max()
}

fn screenshots() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("LAB_SCREENSHOTS") {
        Some(dir) => (PathBuf::from(dir), None),
        None => {
            let tmp = tempfile::tempdir().unwrap();
            (tmp.path().to_path_buf(), Some(tmp))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_local_stack() {
    let stack = LocalStack::start(LocalOptions {
        static_count: 4,
        dynamic_count: 3,
        bin_dir: Some(binaries()),
        routes: RouteOptions {
            health_check_ms: Some(500),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("the local stack starts");
    let (http, api, host) = (
        stack.http_url.clone(),
        stack.api_url.clone(),
        stack.host.clone(),
    );
    let stack = Arc::new(Mutex::new(stack));
    let target = Target::new(&http, &api, &host, Control::InProcess(stack.clone())).unwrap();
    let (shots, _keep) = screenshots();
    let opts = check::Options {
        browser: BrowserMode::Auto,
        screenshots: Some(shots.clone()),
        ..Default::default()
    };
    let report = check::run(&target, &opts, &mut |r| println!("{}", r.line())).await;
    println!("{}", report.summary());
    for r in &report.results {
        assert_ne!(r.status, Status::Fail, "{}", r.line());
    }
    for name in [
        "static-site",
        "jokes-json",
        "routing",
        "static-config",
        "ajax-same-origin",
        "discovery",
        "load-spread",
        "round-robin",
        "sticky-sessions",
        "cookie-scope",
        "failover",
        "scaling",
    ] {
        assert_eq!(
            report.get(name).map(|r| r.status),
            Some(Status::Pass),
            "{name}"
        );
    }
    // The browser ran wherever Chromium is installed (and must be, in CI).
    if lab::check::browser::find_chromium().is_some() {
        for name in ["browser-ajax", "browser-dashboard", "browser-sticky"] {
            assert_eq!(
                report.get(name).map(|r| r.status),
                Some(Status::Pass),
                "{name}"
            );
        }
        for png in ["site.png", "site-sticky.png", "dashboard.png"] {
            let bytes = std::fs::read(shots.join(png)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{png} is not a PNG");
        }
    }
    // The checks left the stack as they found it.
    let mut s = stack.lock().await;
    assert_eq!((s.count(Kind::Static), s.count(Kind::Dynamic)), (4, 3));
    assert!(s.state().servers.iter().all(|srv| srv.running));
}

/// Kills `lab up` and, should it have died without cleaning up, the processes it started.
struct LabUp {
    child: std::process::Child,
    run_dir: PathBuf,
}

impl Drop for LabUp {
    fn drop(&mut self) {
        let state = StackState::read(&self.run_dir).ok();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(state) = state {
            let pids = state
                .servers
                .iter()
                .filter_map(|s| s.pid)
                .chain([state.proxy_pid]);
            for pid in pids {
                if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
    }
}

fn lab(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env("LAB_BIN_DIR", binaries())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn lab_up_check_scale_and_down_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().to_path_buf();
    let run = run_dir.to_str().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args([
            "up",
            "--http-port",
            "0",
            "--api-port",
            "0",
            "--run-dir",
            run,
        ])
        .args([
            "--scale",
            "static=3",
            "--scale",
            "dynamic=2",
            "--health-check-ms",
            "500",
        ])
        .env("LAB_BIN_DIR", binaries())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = LabUp {
        child,
        run_dir: run_dir.clone(),
    };
    let start = Instant::now();
    let state = loop {
        if let Ok(s) = StackState::read(&run_dir) {
            if run_dir.join("control.sock").exists() {
                break s;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "lab up did not start within 60 s"
        );
        assert!(
            up.child.try_wait().unwrap().is_none(),
            "lab up exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(state.count(Kind::Static), 3);

    let (ok, out) = lab(&[
        "check",
        "--local",
        run,
        "--no-browser",
        "--step",
        "7",
        "--step",
        "8",
    ]);
    println!("{out}");
    assert!(ok, "lab check failed:\n{out}");
    let summary = out.lines().rev().find(|l| l.contains(" passed, ")).unwrap();
    assert!(summary.starts_with("5 passed, 0 failed"), "{summary}");

    let (ok, out) = lab(&["scale", "static=5", "--run-dir", run]);
    assert!(ok, "{out}");
    assert!(out.contains("5 static"), "{out}");
    let (ok, out) = lab(&["kill", "static", "1", "--run-dir", run]);
    assert!(ok, "{out}");
    let (ok, out) = lab(&["status", "--run-dir", run]);
    assert!(
        ok && out.contains("5 static") && out.contains("killed"),
        "{out}"
    );
    let state = StackState::read(&run_dir).unwrap();
    let pids: Vec<u32> = state
        .servers
        .iter()
        .filter_map(|s| s.pid)
        .chain([state.proxy_pid])
        .collect();

    // `lab down` returns once every process of the stack has exited: no grace period here.
    let (ok, out) = lab(&["down", "--run-dir", run]);
    assert!(ok, "{out}");
    assert!(out.contains("every process of the lab has exited"), "{out}");
    for pid in &pids {
        assert!(
            !alive(*pid),
            "process {pid} of the lab was still alive when `lab down` returned"
        );
    }
    let start = Instant::now();
    while up.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "lab up did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn lab_up_without_binaries_says_how_to_build_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["up", "--http-port", "0", "--api-port", "0"])
        .args(["--bin-dir", dir.path().to_str().unwrap()])
        .args(["--run-dir", dir.path().join("run").to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cargo build --workspace"), "{err}");
}

/// Log lines carry no ANSI colour codes when stderr is not a terminal (here a pipe, as under
/// `docker compose logs`), with `NO_COLOR` unset: the three servers and `lab` itself.
#[test]
fn logs_to_a_pipe_are_plain_text() {
    use std::io::{BufRead, BufReader};
    let bins = binaries();
    let servers: [(PathBuf, Vec<&str>); 3] = [
        (
            bins.join("proxy"),
            vec!["--entrypoints.web.address=127.0.0.1:0"],
        ),
        (
            bins.join("static-server"),
            vec!["--listen", "127.0.0.1:0", "--instance-id", "plain"],
        ),
        (
            bins.join("jokes-api"),
            vec!["--listen", "127.0.0.1:0", "--instance-id", "plain"],
        ),
    ];
    let mut site = None;
    for (program, args) in servers {
        let mut child = Running::start(
            Command::new(&program)
                .args(&args)
                .env_remove("NO_COLOR")
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let stderr = child.child().stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(20));
        let line = line.unwrap_or_else(|_| panic!("{} logged nothing", program.display()));
        assert!(
            line.contains("INFO"),
            "{}: not a log line: {line:?}",
            program.display()
        );
        assert!(
            !line.contains('\u{1b}'),
            "{}: colour codes in {line:?}",
            program.display()
        );
        if program.ends_with("static-server") {
            // Kept running: `lab check` below talks to it. (The others stop here, dropped.)
            let url = child.listening_url();
            site = Some((child, url));
        }
    }

    // `lab` logs at LAB_LOG's level; its HTTP client logs each connection at debug.
    let (server, url) = site.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["check", "--url", &url, "--api-url", &url, "--no-browser"])
        .args(["--step", "1"])
        .env_remove("NO_COLOR")
        .env("LAB_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    drop(server);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEBUG"), "lab logged nothing:\n{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes:\n{stderr}");
}

/// The proxy binary started as root with `PROXY_USER` (as its image does) switches every
/// thread of the process to that uid and gid, keeping only the Docker socket's group, before
/// its runtime starts: checked in `/proc/<pid>/task/*/status`. Needs root; as another user it
/// says so and checks that nothing changed.
#[test]
fn the_proxy_started_as_root_switches_every_thread_to_proxy_user() {
    use std::os::unix::fs::MetadataExt;
    let root = rustix::process::geteuid().is_root();
    let socket = std::fs::metadata("/var/run/docker.sock").ok();
    let mut args = vec!["--entrypoints.web.address=127.0.0.1:0".to_string()];
    if socket.is_some() {
        args.push("--providers.docker".into());
    }
    let mut child = Running::start(
        Command::new(binaries().join("proxy"))
            .args(&args)
            .env("PROXY_USER", "65534:65534")
            .stdin(Stdio::null())
            .stderr(Stdio::piped()),
    );
    child.entrypoints(&["web"]);
    let pid = child.child().id();
    let mut seen = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        seen.push(lab::docker::parse_status(&status).unwrap());
    }
    drop(child);
    assert!(seen.len() > 1, "the runtime's threads: {seen:?}");
    if !root {
        eprintln!("!!!! not root: the switch is not exercised; checking nothing changed");
        let uid = rustix::process::geteuid().as_raw();
        assert!(seen.iter().all(|ids| ids.uid[1] == uid), "{seen:?}");
        return;
    }
    let groups: Vec<u32> = socket.map(|m| m.gid()).into_iter().collect();
    for ids in &seen {
        assert_eq!(ids.uid, [65534; 4], "{seen:?}");
        assert_eq!(ids.gid, [65534; 4], "{seen:?}");
        assert_eq!(ids.groups, groups, "{seen:?}");
        assert_eq!(u64::from_str_radix(&ids.cap_eff, 16), Ok(0), "{seen:?}");
    }
    eprintln!("{} threads, each {:?}", seen.len(), seen[0]);
}

/// The 2023 edition's `crud-api` check on the local stack: with the report's routing (the API
/// round robin) the joke it creates is not found on the next request, and the check fails
/// naming both instances; once the routing file makes the API sticky, it passes, and its
/// last observation shows the joke missing for clients without the cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crud_check_fails_on_a_round_robin_api_and_passes_once_it_is_sticky() {
    let stack = LocalStack::start(LocalOptions {
        static_count: 1,
        dynamic_count: 2,
        bin_dir: Some(binaries()),
        ..Default::default()
    })
    .await
    .expect("the local stack starts");
    let (http, api, host) = (
        stack.http_url.clone(),
        stack.api_url.clone(),
        stack.host.clone(),
    );
    let config_file = stack.config_file.clone();
    let stack = Arc::new(Mutex::new(stack));
    let target = Target::new(&http, &api, &host, Control::InProcess(stack.clone())).unwrap();
    let file = LabFile::parse(&format!(
        "edition = 2023\nhost = \"{host}\"\napi_prefix = \"/api/jokes/\"\n[sticky]\ncookie = \"api_cookie\""
    ))
    .unwrap();
    let opts = check::Options {
        steps: vec![2],
        browser: BrowserMode::Off,
        setup: Setup::resolve(&file, &Flags::default()).unwrap(),
        ..Default::default()
    };
    let crud = |report: &check::Report| report.get("crud-api").cloned().expect("crud-api ran");

    let round_robin = crud(&check::run(&target, &opts, &mut |_| {}).await);
    assert_eq!(round_robin.status, Status::Fail, "{}", round_robin.line());
    assert!(
        round_robin
            .evidence
            .contains("did not stay on the instance that created it"),
        "{}",
        round_robin.line()
    );

    // The API's service made sticky, as the 2023 edition's labels do; the proxy follows the
    // file (written whole, then renamed, as `lab up` does).
    let routes = std::fs::read_to_string(&config_file).unwrap();
    let sticky = routes.replacen(
        "    dynamic:\n      loadBalancer:\n",
        "    dynamic:\n      loadBalancer:\n        sticky:\n          cookie:\n            name: api_cookie\n",
        1,
    );
    assert_ne!(
        sticky, routes,
        "the routing file's dynamic service: {routes}"
    );
    let tmp = config_file.with_extension("tmp");
    std::fs::write(&tmp, sticky).unwrap();
    std::fs::rename(&tmp, &config_file).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !target
        .web
        .get("/api/jokes/", None)
        .await
        .is_ok_and(|a| a.set_cookie("api_cookie").is_some())
    {
        assert!(
            Instant::now() < deadline,
            "the proxy never made the API sticky"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let sticky = crud(&check::run(&target, &opts, &mut |_| {}).await);
    assert_eq!(sticky.status, Status::Pass, "{}", sticky.line());
    assert!(
        sticky.evidence.contains("missing for 2")
            && sticky.evidence.contains("why the API is sticky"),
        "{}",
        sticky.line()
    );
    stack.lock().await.stop().await.unwrap();
}

/// The 2023 edition over real HTTPS: the kit's proxy with an HTTPS entrypoint, a redirect from
/// HTTP, the routing of `compose/edition-2023.yaml` (as a file) and the certificates of
/// `scripts/lab-cert.sh`. With the lab CA, the CRUD API and both HTTPS checks PASS; with another
/// lab CA (same name, another key: a CA made again), `https` FAILs and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2023_checks_pass_over_https_with_the_lab_ca_only() {
    let stack = LocalStack::start(LocalOptions {
        static_count: 2,
        dynamic_count: 2,
        bin_dir: Some(binaries()),
        ..Default::default()
    })
    .await
    .expect("the local stack starts");
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("scripts/lab-cert.sh");
    let make_ca = |into: &Path| {
        let out = Command::new("bash")
            .arg(&script)
            .env("LAB_CERT_DIR", into)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "lab-cert.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        into.join("certs")
    };
    let certs = make_ca(&dir.path().join("lab"));
    let other_ca = make_ca(&dir.path().join("other")).join("ca.crt");

    let servers = |kind| -> String {
        stack
            .servers(kind)
            .map(|b| format!("        - url: {}\n", b.url()))
            .collect()
    };
    let routes = format!(
        "http:
  routers:
    static:
      rule: Host(`localhost`)
      entryPoints: [websecure]
      tls: {{}}
      service: static
    api:
      rule: Host(`localhost`) && PathPrefix(`/api`)
      entryPoints: [websecure]
      tls: {{}}
      middlewares: [api-strip]
      service: api
  middlewares:
    api-strip:
      stripPrefix:
        prefixes: [/api]
  services:
    static:
      loadBalancer:
        servers:
{}    api:
      loadBalancer:
        sticky:
          cookie:
            name: api_cookie
            secure: true
            httpOnly: true
        servers:
{}tls:
  certificates:
    - certFile: {crt}
      keyFile: {key}
  stores:
    default:
      defaultCertificate:
        certFile: {crt}
        keyFile: {key}
",
        servers(Kind::Static),
        servers(Kind::Dynamic),
        crt = certs.join("localhost.crt").display(),
        key = certs.join("localhost.key").display(),
    );
    let routes_file = dir.path().join("dynamic.yaml");
    std::fs::write(&routes_file, routes).unwrap();
    let proxy = lab::child::ChildProcess::spawn(lab::child::Spawn {
        name: "proxy-2023".into(),
        program: binaries().join("proxy"),
        args: vec![
            "--entrypoints.web.address=127.0.0.1:0".into(),
            "--entrypoints.web.http.redirections.entrypoint.to=websecure".into(),
            "--entrypoints.web.http.redirections.entrypoint.scheme=https".into(),
            "--entrypoints.websecure.address=127.0.0.1:0".into(),
            "--entrypoints.websecure.http.tls".into(),
            "--entrypoints.traefik.address=127.0.0.1:0".into(),
            "--api.insecure=true".into(),
            format!("--providers.file.filename={}", routes_file.display()),
        ],
        log: dir.path().join("proxy.log"),
        addresses: 3,
        timeout: Duration::from_secs(20),
    })
    .await
    .expect("the proxy starts");
    let https = format!("https://{}", proxy.addr(Some("websecure")).unwrap());
    let http = format!("http://{}", proxy.addr(Some("web")).unwrap());
    let api = format!("http://{}", proxy.addr(Some("traefik")).unwrap());

    let target = |ca: &Path| {
        let setup = Setup::resolve(
            &LabFile::parse("edition = 2023\n[sticky]\ncookie = \"api_cookie\"").unwrap(),
            &Flags {
                url: Some(https.clone()),
                http_url: Some(http.clone()),
                cacert: Some(ca.to_path_buf()),
                ..Default::default()
            },
        )
        .unwrap();
        let trust = lab::check::trust::Trust::load(Some(ca)).unwrap();
        let target = Target::new(&https, &api, &setup.host, Control::None)
            .unwrap()
            .with_trust(trust)
            .unwrap();
        let opts = check::Options {
            steps: vec![2, 10],
            browser: BrowserMode::Off,
            setup,
            ..Default::default()
        };
        (target, opts)
    };

    let (good, opts) = target(&certs.join("ca.crt"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while !good.web.get("/", None).await.is_ok_and(|a| a.status == 200) {
        assert!(
            Instant::now() < deadline,
            "the proxy never served / over HTTPS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = check::run(&good, &opts, &mut |r| {
        println!("{} ({:.1} s)", r.line(), r.seconds)
    })
    .await;
    for name in ["crud-api", "https", "https-redirect"] {
        let r = report.get(name).expect("ran");
        assert_eq!(r.status, Status::Pass, "{}", r.line());
    }
    let https_line = report.get("https").unwrap().line();
    assert!(
        https_line.contains("verified against") && https_line.contains("refuses the connection"),
        "{https_line}"
    );

    let (stranger, mut opts) = target(&other_ca);
    opts.steps = vec![10];
    let report = check::run(&stranger, &opts, &mut |r| {
        println!("{} ({:.1} s)", r.line(), r.seconds)
    })
    .await;
    let r = report.get("https").expect("ran");
    assert_eq!(r.status, Status::Fail, "{}", r.line());
    assert!(
        r.evidence.contains("signed with another key"),
        "{}",
        r.line()
    );
    drop(proxy);
}
