//! Attribution without help from the servers, on the real Docker engine: the kit's stack, but
//! the grader forbidden to read what the servers volunteer (`--no-shortcuts`), so it must tell
//! containers apart by Docker's network counters alone.
//!
//! 1. For requests to the site (page and assets) and to the API, the container the counters
//!    name is the one whose id the response's `X-Served-By` carries: the header is the answer
//!    key here, never an input.
//! 2. The report's tests (routing, spread, round robin, sticky sessions, cookie, failover,
//!    scaling) then PASS with counters only.
//!
//! The stack is a fresh `labtest-...` project on free loopback ports, removed when the test
//! ends, also when it fails. Without Docker the test says so loudly and passes, except with
//! `CI=true`, where it fails.

use std::sync::Arc;
use std::time::Duration;

use lab::check::attribution::{Attributor, Counters, DockerCounters, How, Mode};
use lab::check::client::{asset_paths, Client};
use lab::check::{self, BrowserMode, Control, DockerProject, Status, Target};
use lab::docker::{ensure_images, require_engine, ContainerInfo, DockerStack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_name_the_container_that_answered() {
    if !require_engine("counters_name_the_container_that_answered") {
        return;
    }
    ensure_images().expect("the lab's images build");
    let stack = DockerStack::up(StackOptions {
        static_scale: 3,
        dynamic_scale: 2,
        ready_timeout: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .expect("the compose stack starts");
    let mut containers: Vec<ContainerInfo> = stack.containers("static").unwrap();
    containers.extend(stack.containers("dynamic").unwrap());

    // 1. Per request: the counters' container is the one X-Served-By names.
    let web = Client::new(&stack.http_url, &stack.host).unwrap();
    let counters: Arc<dyn Counters> =
        Arc::new(DockerCounters::connect(&stack.project, &["static", "dynamic"]).unwrap());
    let attr = Attributor::new(false, Ok(counters), &["/", "/api/jokes/"]);
    assert_eq!(attr.mode(&web).await, Mode::Counters);
    let page = web.get("/", None).await.unwrap();
    let mut paths = vec!["/".to_string()];
    paths.extend(asset_paths("/", &page.body).into_iter().take(5));
    paths.push("/api/jokes/".to_string());
    let mut checked = 0;
    for round in 0..3 {
        for path in &paths {
            let seen = attr.get(&web, path, None, &[]).await.unwrap();
            let header = seen
                .answer
                .served_by
                .clone()
                .expect("the kit's servers send X-Served-By");
            let truth = containers
                .iter()
                .find(|c| c.answers_as(&header))
                .unwrap_or_else(|| panic!("no container answers as {header}"));
            let who = seen
                .who
                .as_ref()
                .unwrap_or_else(|why| panic!("round {round}: GET {path} not attributed: {why}"));
            assert_eq!(
                who.server, truth.name,
                "GET {path}: the counters say {}, X-Served-By says {} ({header})",
                who.server, truth.name
            );
            assert_eq!(who.service.as_deref(), Some(truth.service.as_str()));
            assert!(matches!(who.how, How::Counters(tx) if tx >= seen.answer.body.len() as u64));
            checked += 1;
        }
    }
    let cost = attr.cost();
    println!(
        "{checked} requests attributed by counters, all matching X-Served-By; {}",
        cost.describe()
    );
    assert_eq!(cost.undecided, 0);

    // 2. The report's tests, graded with counters only.
    let control = Control::Docker(DockerProject::new(&stack.project, None));
    let target = Target::new(&stack.http_url, &stack.api_url, &stack.host, control).unwrap();
    let opts = check::Options {
        browser: BrowserMode::Off,
        shortcuts: false,
        steps: vec![1, 2, 3, 6, 7, 8],
        ..Default::default()
    };
    let report = check::run(&target, &opts, &mut |r| println!("{}", r.line())).await;
    println!("{}\n{}", report.attribution, report.summary());
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
        "static-site",
        "routing",
        "load-spread",
        "round-robin",
        "sticky-sessions",
        "cookie-scope",
        "failover",
        "scaling",
    ] {
        let r = report.get(name).unwrap_or_else(|| panic!("{name} ran"));
        assert_eq!(r.status, Status::Pass, "{}", r.line());
    }
    assert!(
        report.attribution.contains("network counters"),
        "{}",
        report.attribution
    );
}
