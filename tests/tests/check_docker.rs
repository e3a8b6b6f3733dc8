//! `lab check` against the lab on the real Docker engine: the compose stack with the report's
//! scale (`--scale static=4 --scale dynamic=3`), every check, browser included, with the
//! checks stopping, starting and scaling containers through `docker`.
//!
//! Needs Docker and Compose v2; without them the test says so loudly and passes, except with
//! `CI=true`, where it fails. The stack (a fresh `labtest-...` project on free loopback ports)
//! is torn down when the test ends, also when it fails.

use std::time::Duration;

use lab::check::{self, BrowserMode, Control, DockerProject, Status, Target};
use lab::docker::{ensure_images, require_engine, DockerStack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_docker_stack() {
    if !require_engine("every_check_passes_against_the_docker_stack") {
        return;
    }
    // Another lab stack on this engine does not disturb this one: the Docker provider routes
    // only containers on the proxy's own networks (`provider/docker`).
    ensure_images().expect("the lab's images build");
    // Step 9: compose passes LAB_MANAGE_TOKEN to the proxy (as for a student who exported it),
    // and the check gets the same token, so it adds, stops and removes a node from the page.
    // The only test in this binary: setting the variable races with nothing.
    let token = "labtest-check-manage-token-0123456789";
    std::env::set_var("LAB_MANAGE_TOKEN", token);
    let stack = DockerStack::up(StackOptions {
        static_scale: 4,
        dynamic_scale: 3,
        ready_timeout: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .expect("the compose stack starts");
    let control = Control::Docker(DockerProject::new(&stack.project, None));
    let target = Target::new(&stack.http_url, &stack.api_url, &stack.host, control).unwrap();
    let opts = check::Options {
        browser: BrowserMode::Auto,
        manage_token: Some(token.to_string()),
        ..Default::default()
    };
    let report = check::run(&target, &opts, &mut |r| println!("{}", r.line())).await;
    println!("{}", report.summary());
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.line())
        .collect();
    assert!(
        failed.is_empty(),
        "{}\n--- logs ---\n{}",
        failed.join("\n"),
        stack.logs()
    );
    for name in [
        "proxy-only-entry",
        "failover",
        "scaling",
        "round-robin",
        "sticky-sessions",
        "management-ui",
    ] {
        assert_eq!(
            report.get(name).map(|r| r.status),
            Some(Status::Pass),
            "{name}"
        );
    }
}
