//! `lab check`: the lab's demos (LAB.md steps 1 to 9) and the report's tests, run against a
//! stack and printed one line per check with its evidence, then `points: X/Y` and
//! `N passed, M failed`.
//!
//! The same checks run against the kit's own stack or a student's (their own images, behind
//! our proxy or Traefik), local, on Docker, or anything that answers on loopback. Which server
//! answered each request is found by the grader itself ([`attribution`]); the student's set-up
//! (host, API prefix, services, which one is sticky) comes from `lab.toml` ([`setup`]); only
//! the checks that stop, start or scale servers need a [`Control`].

pub mod attribution;
pub mod browser;
pub mod client;
pub mod cookie;
mod diagnose;
pub mod format;
mod manage;
pub mod rubric;
pub mod setup;
mod static_config;
mod steps;
pub mod target;
pub mod trust;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use rubric::Rubric;
pub use setup::{Edition, Setup};
pub use target::{Control, DockerProject, Target};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not applicable here (for example: no way to stop servers); says why.
    Skip,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The lab step the check belongs to (LAB.md).
    pub step: u8,
    /// The check's id (`sticky-sessions`): the rubric's key, `--list`'s name.
    pub name: &'static str,
    /// What it proves, in a sentence.
    pub what: &'static str,
    pub status: Status,
    /// What was seen: server ids, cookies, status codes.
    pub evidence: String,
    /// What the rubric gives it, and what it was worth.
    pub points: u32,
    pub max_points: u32,
    /// How long it took.
    pub seconds: f64,
}

impl CheckResult {
    pub fn line(&self) -> String {
        format!(
            "{} [step {}] {}: {}",
            self.status.word(),
            self.step,
            self.name,
            self.evidence
        )
    }
}

/// Whether to run the browser checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserMode {
    /// When Chromium is installed; with `CI=true` a missing Chromium is a failure.
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Only these steps; empty: all.
    pub steps: Vec<u8>,
    pub browser: BrowserMode,
    /// Where the browser checks write their screenshots.
    pub screenshots: Option<PathBuf>,
    /// Upper bound for one check.
    pub check_timeout: Duration,
    /// The management page's token (step 9): with it the check adds, stops and removes a node.
    pub manage_token: Option<String>,
    /// The student's set-up (lab.toml and flags); the default is the kit's own stack.
    pub setup: Setup,
    /// May the grader use what the servers volunteer (`X-Served-By`, `/whoami`) to know who
    /// answered? Off (`--no-shortcuts`): only what it measures itself.
    pub shortcuts: bool,
    pub rubric: Option<Rubric>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            browser: BrowserMode::Auto,
            screenshots: None,
            check_timeout: Duration::from_secs(120),
            manage_token: None,
            setup: Setup::default(),
            shortcuts: true,
            rubric: None,
        }
    }
}

/// Every result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub results: Vec<CheckResult>,
    /// How the run knew which server answered, and what that cost.
    pub attribution: String,
}

impl Report {
    pub fn points(&self) -> u32 {
        self.results.iter().map(|r| r.points).sum()
    }

    pub fn max_points(&self) -> u32 {
        self.results.iter().map(|r| r.max_points).sum()
    }

    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// All checks passed (skips allowed) and at least one ran.
    pub fn ok(&self) -> bool {
        self.count(Status::Fail) == 0 && self.count(Status::Pass) > 0
    }

    /// `N passed, M failed`, and `, K skipped` when some were.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} passed, {} failed",
            self.count(Status::Pass),
            self.count(Status::Fail)
        );
        let skipped = self.count(Status::Skip);
        if skipped > 0 {
            s.push_str(&format!(", {skipped} skipped"));
        }
        s
    }

    pub fn get(&self, name: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.name == name)
    }
}

/// Runs the selected checks in step order; `each` sees every result as soon as it is known.
pub async fn run(target: &Target, opts: &Options, each: &mut dyn FnMut(&CheckResult)) -> Report {
    let mut ctx = steps::Ctx::new(target.clone(), opts.clone());
    let mut report = Report::default();
    let ids: Vec<&str> = steps::CHECKS.iter().map(|c| c.name).collect();
    let rubric = opts
        .rubric
        .clone()
        .unwrap_or_else(|| Rubric::default_for(&ids));
    for check in steps::CHECKS {
        if !opts.steps.is_empty() && !opts.steps.contains(&check.step) {
            continue;
        }
        if !check.runs_in(opts.setup.edition) {
            continue;
        }
        let started = Instant::now();
        let verdict = match tokio::time::timeout(
            opts.check_timeout,
            steps::run_one(check.id, &mut ctx),
        )
        .await
        {
            Ok(v) => v,
            Err(_) => Err(anyhow::anyhow!(
                "did not finish within {:?}",
                opts.check_timeout
            )),
        };
        let (status, evidence) = match verdict {
            Ok(steps::Outcome::Pass(e)) => (Status::Pass, e),
            Ok(steps::Outcome::Skip(e)) => (Status::Skip, e),
            // The grader could not tell (who answered, an API that is not published): that
            // is not the stack's fault.
            Err(e) if e.downcast_ref::<attribution::Undecidable>().is_some() => {
                (Status::Skip, format!("{e:#}"))
            }
            Err(e) => (Status::Fail, format!("{e:#}")),
        };
        let (points, max_points) = rubric.score(check.name, status);
        let result = CheckResult {
            step: check.step,
            name: check.name,
            what: check.what,
            status,
            evidence,
            points,
            max_points,
            seconds: started.elapsed().as_secs_f64(),
        };
        each(&result);
        report.results.push(result);
    }
    report.attribution = ctx.attribution_summary().await;
    ctx.close().await;
    report
}

/// A run where nothing could be checked (the stack does not answer): every selected check
/// FAILs with `why`, so CI still gets a report with the points at 0 and the reason.
pub fn fail_all(opts: &Options, why: &str) -> Report {
    let ids = ids();
    let rubric = opts
        .rubric
        .clone()
        .unwrap_or_else(|| Rubric::default_for(&ids));
    let results = steps::CHECKS
        .iter()
        .filter(|c| opts.steps.is_empty() || opts.steps.contains(&c.step))
        .filter(|c| c.runs_in(opts.setup.edition))
        .map(|c| CheckResult {
            step: c.step,
            name: c.name,
            what: c.what,
            status: Status::Fail,
            evidence: why.to_string(),
            points: 0,
            max_points: rubric.max(c.name),
            seconds: 0.0,
        })
        .collect();
    Report {
        results,
        attribution: "attribution: nothing was sent".into(),
    }
}

/// What Docker says about a compose project's services, for a stack that does not answer.
pub async fn stack_state(p: &DockerProject, setup: &Setup) -> String {
    diagnose::stack_state(p, setup).await
}

/// The checks' ids.
pub fn ids() -> Vec<&'static str> {
    steps::CHECKS.iter().map(|c| c.name).collect()
}

/// The checks that run in `edition`'s runs.
pub fn ids_in(edition: Edition) -> Vec<&'static str> {
    steps::CHECKS
        .iter()
        .filter(|c| c.runs_in(edition))
        .map(|c| c.name)
        .collect()
}

/// The checks' names by step, for `lab check --list` and the book.
pub fn list() -> Vec<(u8, &'static str, &'static str)> {
    steps::CHECKS
        .iter()
        .map(|c| (c.step, c.name, c.what))
        .collect()
}
