//! The class kit end to end, on the real engine, with servers that do not cooperate: `lab init`
//! writes the starter repository; the reference report's solution is filled in (its compose
//! file with its labels verbatim, an Apache/PHP site and an Express API built from Debian
//! packages, behind our proxy); and the `lab` binary grades it with
//! `lab check --docker --config lab.toml --format junit`, as the starter's CI does. The report's
//! tests must PASS. Then three broken variants, each of which must FAIL with a message a student
//! understands: the sticky labels removed, the static servers answering 500, the stack not
//! running.
//!
//! Nothing in the servers' answers says which container sent them (no header, no id in the
//! page or the JSON, identical files everywhere): `lab check` tells them apart by itself.
//!
//! Run: `cargo test -p lab --test class_kit -- --nocapture`. It builds the student images once
//! (`scripts/student-images.sh`: mmdebstrap, then `docker import`, cached by the hash of their
//! recipe) and the kit's images (`scripts/build-images.sh`). Without an engine the test skips
//! loudly; with `CI=true` it fails. The stack runs under a fresh `labtest-...` project on free
//! loopback ports and is removed when the test ends, also when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::docker::{self, ensure_images, require_engine};
use lab::student::{student_images, StudentImages, StudentStack};

/// The report's compose file (`report.md`), labels verbatim, with the images swapped: our proxy
/// in Traefik's place, the Debian-built `res/apache_php` and `res/express`. The ports are
/// published on free loopback ports (`127.0.0.1::80`) instead of 80 and 8080.
fn solution_compose(proxy: &str, images: &StudentImages, sticky: bool) -> String {
    let sticky_labels = if sticky {
        "      # allow sticky session in a cooke named static_cookie
      - traefik.http.services.static.loadBalancer.sticky.cookie=true
      - traefik.http.services.static.loadBalancer.sticky.cookie.name=static_cookie
"
    } else {
        ""
    };
    format!(
        "# The reference report's compose file: our proxy in Traefik's place, the report's images
# rebuilt from Debian packages, and the report's labels, verbatim.
name: servers1

services:
  proxy:
    image: {proxy}
    # Enables the web UI and tells the proxy to listen to docker
    command: --api.insecure=true --providers.docker
    ports:
      # The HTTP port
      - \"127.0.0.1::80\"
      # The Web UI (enabled by --api.insecure=true)
      - \"127.0.0.1::8080\"
    volumes:
      # So that the proxy can listen to the Docker events
      - /var/run/docker.sock:/var/run/docker.sock:ro
    labels:
      # Not in the report: without it the proxy routes a Host(`proxy-servers1`) to itself.
      - traefik.enable=false
  static:
    image: '{apache_php}'
    scale: 2 # 2 containers of the static server will be created
    labels:
      # set the redirection
      - traefik.http.routers.static.rule=Host(`demo.res.ch`) && PathPrefix(`/`)
{sticky_labels}  dynamic:
    image: '{express}'
    scale: 2 # 2 containers of the dynamic server will be created
    labels:
      # set the redirection
      - traefik.http.routers.dynamic.rule=Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)
      # correct the prefix because the dynamic server only accept request on '/'
      - traefik.http.middlewares.dynamic.stripprefix.prefixes=/api/jokes/
      - traefik.http.routers.dynamic.middlewares=dynamic@docker
",
        apache_php = images.apache_php,
        express = images.express,
    )
}

/// `lab <args>` (the binary under test), in `dir`.
fn lab(dir: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the lab binary runs");
    eprintln!(
        "$ lab {}  ({:.1} s, {})\n{}{}",
        args.join(" "),
        started.elapsed().as_secs_f64(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One `<testcase>` of a JUnit document.
#[derive(Debug)]
struct Case {
    name: String,
    /// `Some(message)` for a `<failure>`.
    failure: Option<String>,
    skipped: bool,
    /// Everything inside the element (the evidence).
    body: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

/// The test cases of a JUnit document, as GitHub Classroom's and GitLab's readers see them.
fn junit_cases(xml: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for chunk in xml.split("<testcase").skip(1) {
        let open_end = chunk.find('>').expect("a testcase tag ends");
        let tag = &chunk[..open_end];
        let body = if tag.ends_with('/') {
            String::new()
        } else {
            let end = chunk.find("</testcase>").expect("testcase closed");
            chunk[open_end + 1..end].to_owned()
        };
        let failure = body
            .find("<failure")
            .map(|i| attr(&body[i..], "message").unwrap_or_default());
        cases.push(Case {
            name: attr(tag, "name").expect("testcase has a name"),
            failure,
            skipped: body.contains("<skipped"),
            body: unescape(&body),
        });
    }
    cases
}

fn case<'a>(cases: &'a [Case], name: &str, xml: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no testcase {name} in the JUnit document:\n{xml}"))
}

/// Grades the project with `lab check --format junit` in the student's directory; returns the
/// exit code, the text lines and the JUnit test cases.
fn grade(dir: &Path, project: &str, steps: &[u8]) -> (Option<i32>, String, Vec<Case>, String) {
    let out_file = dir.join("lab-check.xml");
    let _ = std::fs::remove_file(&out_file);
    let out = out_file.to_string_lossy().into_owned();
    let mut args = vec![
        "check",
        "--docker",
        "--config",
        "lab.toml",
        "--project",
        project,
        "--format",
        "junit",
        "--out",
        &out,
    ];
    let steps: Vec<String> = steps.iter().map(u8::to_string).collect();
    for s in &steps {
        args.extend(["--step", s.as_str()]);
    }
    let output = lab(dir, &args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = std::fs::read_to_string(&out_file).unwrap_or_default();
    (output.status.code(), text, junit_cases(&xml), xml)
}

/// With `LAB_CAPTURE_OUTPUTS=1`, keeps what `lab check` printed for the book's teacher's guide
/// (`docs/src/outputs/class-<name>.txt`), with the test's project name and directory replaced by
/// what a student would have (`servers1`, `lab-http-infra`).
fn capture(name: &str, command: &str, text: &str, stack: &StudentStack) {
    if std::env::var("LAB_CAPTURE_OUTPUTS").as_deref() != Ok("1") {
        return;
    }
    let dir = stack.dir.to_string_lossy();
    let text = text
        .replace(&stack.project, "servers1")
        .replace(dir.as_ref(), "lab-http-infra");
    let path = docker::repo_root()
        .join("docs/src/outputs")
        .join(format!("class-{name}.txt"));
    std::fs::write(&path, format!("$ {command}\n{}", text.trim_end()))
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    eprintln!("captured {}", path.display());
}

/// Replaces every static server's page with one that answers 500 (a PHP error a student could
/// make), in the running containers.
fn break_static_pages(stack: &StudentStack) {
    for id in stack.running("static").expect("the static containers") {
        docker::docker(&[
            "exec",
            &id,
            "sh",
            "-c",
            "printf '<?php http_response_code(500); echo \"Internal Server Error\";' \
             > /var/www/html/index.php",
        ])
        .expect("docker exec into a static server");
    }
    // PHP's opcache checks a script's timestamp at most every 2 s (opcache.revalidate_freq):
    // until then the old page may still be served.
    std::thread::sleep(Duration::from_secs(3));
}

/// A starter repository made by `lab init`, with the report's solution running in it.
struct Solution {
    stack: StudentStack,
    dir: PathBuf,
    proxy: String,
    images: StudentImages,
    api_url: String,
    started: Instant,
    _tmp: tempfile::TempDir,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

const UP: [&str; 8] = [
    "up",
    "-d",
    "--pull",
    "never",
    "--scale",
    "static=4",
    "--scale",
    "dynamic=3",
];

/// `lab init`, the solution filled in, `docker compose up` at the report's scale, and the
/// proxy routing every server; `None` when there is no engine (outside CI).
async fn solution(test: &str) -> Option<Solution> {
    if !require_engine(test) {
        return None;
    }
    // One stack at a time: they share the engine and the machine's two cores.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let serial = SERIAL.lock().await;
    let started = Instant::now();
    ensure_images().expect("the kit's images build");
    let images = student_images().expect("the student images build (needs mmdebstrap)");
    let proxy = docker::images()[0].clone();
    eprintln!(
        "{test}: images ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The teacher hands out the starter repository.
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("lab-servers1");
    let out = lab(tmp.path(), &["init", "lab-servers1", "--edition", "2021"]);
    assert!(out.status.success(), "lab init failed");
    for file in [
        "README.md",
        "REPORT.md",
        "compose.yaml",
        "lab.toml",
        ".github/workflows/grade.yml",
    ] {
        assert!(dir.join(file).is_file(), "lab init wrote no {file}");
    }
    let again = lab(tmp.path(), &["init", "lab-servers1"]);
    assert!(
        !again.status.success(),
        "lab init must refuse a non-empty directory"
    );

    // The student's solution: the report's compose file, run as the report ran it.
    std::fs::write(
        dir.join("compose.yaml"),
        solution_compose(&proxy, &images, true),
    )
    .unwrap();
    let stack = StudentStack::new(&dir);
    stack.compose(&UP).expect("docker compose up");
    let api_url = format!("http://{}", stack.published("proxy", 8080).unwrap());
    stack
        .wait_routed(
            &api_url,
            &[("static", 4), ("dynamic", 3)],
            Duration::from_secs(60),
        )
        .await
        .expect("the proxy routes the solution");
    eprintln!(
        "{test}: stack {} up after {:.1} s",
        stack.project,
        started.elapsed().as_secs_f64()
    );
    Some(Solution {
        stack,
        dir,
        proxy,
        images,
        api_url,
        started,
        _tmp: tmp,
        _serial: serial,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_solution_passes_on_servers_that_give_no_help() {
    let test = "the_reports_solution_passes_on_servers_that_give_no_help";
    let Some(s) = solution(test).await else {
        return;
    };
    // Steps 1 to 8: the report's stack has no management UI.
    let graded = Instant::now();
    let (code, text, cases, xml) = grade(&s.dir, &s.stack.project, &[1, 2, 3, 4, 5, 6, 7, 8]);
    eprintln!(
        "graded the solution in {:.1} s",
        graded.elapsed().as_secs_f64()
    );
    capture(
        "solution",
        "lab check --docker --format junit --out lab-check.xml --step 1 --step 2 --step 3 \
         --step 4 --step 5 --step 6 --step 7 --step 8",
        &text,
        &s.stack,
    );
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|c| c.failure.as_ref().map(|m| format!("{}: {m}", c.name)))
        .collect();
    assert!(
        failed.is_empty() && code == Some(0),
        "the report's solution must pass (exit {code:?}): {failed:#?}\n{text}\n--- logs ---\n{}",
        s.stack.logs()
    );
    for name in [
        "sticky-sessions",
        "failover",
        "round-robin",
        "scaling",
        "cookie-scope",
    ] {
        let c = case(&cases, name, &xml);
        assert!(
            c.failure.is_none() && !c.skipped,
            "{name} must PASS on the report's solution: {c:?}\n{text}"
        );
    }
    // The report's remark, as an observation: the static site's cookie also goes to the API.
    let cookie = case(&cases, "cookie-scope", &xml);
    assert!(
        cookie.body.contains("static_cookie") && cookie.body.contains("observation"),
        "cookie-scope must report the cookie sent to the API as an observation: {cookie:?}"
    );
    eprintln!("{test}: {:.1} s in all", s.started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_variant_fails_with_a_message_a_student_understands() {
    let test = "each_broken_variant_fails_with_a_message_a_student_understands";
    let Some(mut s) = solution(test).await else {
        return;
    };
    let (dir, stack) = (s.dir.clone(), &s.stack);

    // The sticky labels removed: sessions are no longer pinned, the cookie never comes.
    std::fs::write(
        dir.join("compose.yaml"),
        solution_compose(&s.proxy, &s.images, false),
    )
    .unwrap();
    stack
        .compose(&UP)
        .expect("docker compose up without the sticky labels");
    stack
        .wait_routed(
            &s.api_url,
            &[("static", 4), ("dynamic", 3)],
            Duration::from_secs(60),
        )
        .await
        .expect("the proxy routes the stack without sticky labels");
    let (code, text, cases, xml) = grade(&dir, &stack.project, &[7]);
    capture("no-sticky", "lab check --docker --step 7", &text, stack);
    let sticky = case(&cases, "sticky-sessions", &xml);
    let message = sticky.failure.clone().unwrap_or_default();
    assert!(
        code == Some(1) && message.contains("static_cookie") && message.contains("sticky"),
        "without sticky labels, sticky-sessions must FAIL naming the cookie and the labels \
         (exit {code:?}): {sticky:?}\n{text}"
    );

    // The static servers answer 500 (a PHP error): the site FAILs, with the status.
    break_static_pages(stack);
    let (code, text, cases, xml) = grade(&dir, &stack.project, &[1]);
    capture("500", "lab check --docker --step 1", &text, stack);
    let site = case(&cases, "static-site", &xml);
    let message = site.failure.clone().unwrap_or_default();
    assert!(
        code == Some(1) && message.contains("500"),
        "a static site answering 500 must FAIL with the status (exit {code:?}): {site:?}\n{text}"
    );

    // The stack not running: lab check says so, and names the project.
    s.stack.down().expect("docker compose down");
    let (code, text, _, _) = grade(&dir, &s.stack.project, &[]);
    capture("not-running", "lab check --docker", &text, &s.stack);
    assert!(
        code.is_some_and(|c| c != 0)
            && text.contains("no running proxy")
            && text.contains(&s.stack.project),
        "a stack that does not run must fail, saying so (exit {code:?}):\n{text}"
    );
    eprintln!("{test}: {:.1} s in all", s.started.elapsed().as_secs_f64());
}

#[test]
fn junit_cases_read_failures_skips_and_passes() {
    let xml = r#"<testsuites><testsuite name="lab check (10/20 points)" tests="3">
<testcase classname="step 7" name="round-robin"><system-out>d1 d2 &amp; d3
points: 10/10</system-out></testcase>
<testcase classname="step 7" name="sticky-sessions"><failure message="no &quot;static_cookie&quot;">all</failure></testcase>
<testcase classname="step 9" name="management-ui"><skipped message="off"/></testcase>
</testsuite></testsuites>"#;
    let cases = junit_cases(xml);
    assert_eq!(cases.len(), 3);
    assert!(cases[0].failure.is_none() && !cases[0].skipped);
    assert!(cases[0].body.contains("d2 & d3"));
    assert_eq!(cases[1].failure.as_deref(), Some("no \"static_cookie\""));
    assert!(cases[2].skipped);
}
