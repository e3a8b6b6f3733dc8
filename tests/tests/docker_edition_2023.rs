//! The 2023-24 edition end to end on the real Docker engine, as the README runs it: the lab's
//! certificates (`scripts/lab-cert.sh`), the kit's images, `compose/edition-2023.yaml` scaled
//! up, then `lab check --edition 2023 --docker --cacert ...` as a student types it, and curl's
//! own proofs: HTTP/2 over HTTPS with the lab CA, the 301 from HTTP to HTTPS, and a joke created
//! then read back through the API's sticky cookie.
//!
//! Needs Docker and Compose v2; without them the test says so loudly and passes, except with
//! `CI=true`, where it fails. The stack is a fresh `labtest-...` project (swept by a later run
//! if this one is killed) with every port picked by Docker on 127.0.0.1, and the certificates
//! live in a temporary folder (`LAB_CERT_DIR`): nothing of the checkout's own stack is touched.
//! The project is taken down (`down -v`) when the test ends, also when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::check::browser::find_chromium;
use lab::docker::{
    ensure_images, fresh_project, remove_project, repo_root, require_engine, server_statuses,
};

const STATIC_SCALE: usize = 3;
const API_SCALE: usize = 3;

/// One compose project of `compose/edition-2023.yaml`, with the environment every command on it
/// gets (the same for `lab check`, so its `up --scale` sees the same file); down on drop.
struct Stack {
    project: String,
    env: Vec<(&'static str, String)>,
}

impl Stack {
    fn file() -> PathBuf {
        repo_root().join("compose").join("edition-2023.yaml")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(repo_root())
            .stdin(Stdio::null())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn compose(&self, args: &[&str]) -> Output {
        self.command("docker")
            .args(["compose", "-f"])
            .arg(Self::file())
            .args(["-p", &self.project])
            .args(args)
            .output()
            .expect("docker compose runs")
    }

    fn compose_ok(&self, args: &[&str]) -> String {
        let out = self.compose(args);
        assert!(
            out.status.success(),
            "docker compose {}: {}\n{}\n--- logs ---\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The host port published for the proxy's container `port`.
    fn port(&self, port: u16) -> u16 {
        let out = self.compose_ok(&["port", "proxy", &port.to_string()]);
        let addr = out.trim();
        assert!(addr.starts_with("127.0.0.1:"), "published on {addr}");
        addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn logs(&self) -> String {
        let out = self.compose(&["logs", "--no-color", "--tail", "40"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let out = self.compose(&["down", "-v", "--remove-orphans", "--timeout", "3"]);
        if !out.status.success() {
            eprintln!(
                "tearing down {}: {}",
                self.project,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Whatever compose left behind with the project's label.
        remove_project(&self.project);
    }
}

/// `curl <args>` (never through a system proxy); its stdout, or a panic with its stderr.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--max-time",
            "10",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl {}: {}: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the proxy's API shows `n` servers of `service`, all UP (bounded).
fn wait_servers(stack: &Stack, api_port: u16, service: &str, n: usize) {
    let url = format!("http://127.0.0.1:{api_port}/api/http/services/{service}@docker");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = Command::new("curl")
            .args(["--silent", "--noproxy", "*", "--max-time", "3", &url])
            .output()
            .expect("curl is installed");
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(json) = serde_json::from_str(&body) {
            let servers = server_statuses(&json);
            if servers.len() == n && servers.iter().all(|(_, s)| s == "UP") {
                return;
            }
        }
        last = body;
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "the proxy did not show {n} servers UP for {service} within 90 s; last: {last}\n\
         --- logs ---\n{}",
        stack.logs()
    );
}

/// The lab certificates in `dir` (its `certs/` and `ca/`), made by the README's script.
fn lab_certificates(dir: &Path) -> PathBuf {
    // The proxy reads certs/ as nobody (uid 65534): the temporary folder must let it in.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("bash")
        .arg(repo_root().join("scripts").join("lab-cert.sh"))
        .env("LAB_CERT_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "lab-cert.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["certs/ca.crt", "certs/localhost.crt", "certs/localhost.key"] {
        assert!(dir.join(file).is_file(), "lab-cert.sh wrote no {file}");
    }
    dir.join("certs").join("ca.crt")
}

/// `(status, check)` of each result line of `lab check` (`PASS [step 10] https: ...`).
fn results(report: &str) -> Vec<(&str, &str)> {
    report
        .lines()
        .filter_map(|line| {
            let (status, rest) = line.split_once(" [step ")?;
            let (_, rest) = rest.split_once("] ")?;
            let (name, _) = rest.split_once(':')?;
            Some((status, name))
        })
        .collect()
}

#[test]
fn the_2023_edition_runs_from_the_readme_and_passes_its_checks() {
    if !require_engine("the_2023_edition_runs_from_the_readme_and_passes_its_checks") {
        return;
    }
    let started = Instant::now();
    ensure_images().expect("the lab's images build");
    let certs = tempfile::tempdir().unwrap();
    let ca = lab_certificates(certs.path());
    let ca = ca.to_str().unwrap();

    let stack = Stack {
        project: fresh_project(),
        env: vec![
            ("LAB_BIND_ADDRESS", "127.0.0.1".into()),
            // 0: Docker picks free ports; the test reads them back with `compose port`.
            ("LAB_HTTP_PORT", "0".into()),
            ("LAB_HTTPS_PORT", "0".into()),
            ("LAB_API_PORT", "0".into()),
            ("LAB_CERT_DIR", certs.path().display().to_string()),
            // A missing image is built from the host's binaries, never from the network.
            ("LAB_BUILD_TARGET", "prebuilt".into()),
        ],
    };
    let (s, a) = (format!("static={STATIC_SCALE}"), format!("api={API_SCALE}"));
    stack.compose_ok(&[
        "up",
        "-d",
        "--no-build",
        "--pull",
        "never",
        "--scale",
        &s,
        "--scale",
        &a,
    ]);
    let (http, https, api) = (stack.port(80), stack.port(443), stack.port(8080));
    wait_servers(&stack, api, "static", STATIC_SCALE);
    wait_servers(&stack, api, "api", API_SCALE);

    // curl: HTTP/2 over HTTPS, the certificate verified against the lab CA.
    let site = format!("https://localhost:{https}/");
    let negotiated = curl(&[
        "--cacert",
        ca,
        "--http2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &site,
    ]);
    assert_eq!(negotiated, "2 200", "GET {site} over HTTP/2");
    // The README's request: a bundled joke, the API's /jokes/1 behind /api.
    let joke = curl(&["--cacert", ca, &format!("{site}api/jokes/1")]);
    assert!(joke.contains("\"punchline\""), "GET /api/jokes/1: {joke}");

    // curl: plain HTTP answers a permanent redirect to the same path over HTTPS. The proxy's
    // HTTPS entrypoint is :443 in its container, so the Location has no port.
    let plain = format!("http://localhost:{http}/api/jokes?from=curl");
    let redirect = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        &plain,
    ]);
    assert_eq!(
        redirect, "301 https://localhost/api/jokes?from=curl",
        "GET {plain}"
    );

    // curl: create a joke, then read it back with the sticky cookie, a few times: every API
    // instance keeps its own jokes, so only the cookie's instance has it.
    let jar = certs.path().join("cookies.txt");
    let jar = jar.to_str().unwrap();
    let setup = format!("Why did {} cross the proxy?", stack.project);
    let body = serde_json::json!({"setup": setup, "punchline": "To reach the other side."});
    let created = curl(&[
        "--cacert",
        ca,
        "-c",
        jar,
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("https://localhost:{https}/api/jokes"),
    ]);
    assert!(
        created.starts_with("HTTP/2 201"),
        "POST /api/jokes: {created}"
    );
    let location = created
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("POST /api/jokes: no Location: {created}"));
    assert!(location.starts_with("/api/jokes/"), "Location: {location}");
    assert!(
        std::fs::read_to_string(jar).unwrap().contains("api_cookie"),
        "POST /api/jokes set no api_cookie"
    );
    for _ in 0..API_SCALE {
        let read = curl(&[
            "--cacert",
            ca,
            "-b",
            jar,
            "-w",
            "\n%{http_code}",
            &format!("https://localhost:{https}{location}"),
        ]);
        assert!(
            read.ends_with("\n200") && read.contains(&setup),
            "GET {location} with the cookie: {read}"
        );
    }

    // lab check, as the README and the book's edition-2023 page give it.
    let out = stack
        .command(env!("CARGO_BIN_EXE_lab"))
        .args(["check", "--edition", "2023", "--docker", "--project"])
        .arg(&stack.project)
        .arg("--compose-file")
        .arg(Stack::file())
        .args(["--cacert", ca])
        .output()
        .expect("lab runs");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let results = results(&report);
    let failed: Vec<&str> = results
        .iter()
        .filter(|(status, _)| *status == "FAIL")
        .map(|(_, name)| *name)
        .collect();
    assert!(
        failed.is_empty(),
        "lab check FAILs {failed:?}\n--- logs ---\n{}",
        stack.logs()
    );
    assert!(out.status.success(), "lab check exited {}", out.status);
    let mut must_pass = vec![
        "static-site",
        "jokes-json",
        "crud-api",
        "routing",
        "proxy-only-entry",
        "discovery",
        "round-robin",
        "sticky-sessions",
        "failover",
        "scaling",
        "https",
        "https-redirect",
    ];
    // browser-sticky SKIPs in this edition (the site is round robin, not sticky).
    if find_chromium().is_some() {
        must_pass.extend(["browser-ajax", "browser-dashboard"]);
    }
    for name in must_pass {
        assert!(
            results.contains(&("PASS", name)),
            "{name} did not PASS: {:?}",
            results.iter().find(|(_, n)| *n == name)
        );
    }
    println!("the 2023 edition end to end: {:?}", started.elapsed());
}
