//! `lab check`: the lab's demos (LAB.md steps 1 to 9) and the report's tests, run against a
//! stack and printed one line per check with its evidence, then `N passed, M failed`.
//!
//! The same checks run against the local stack, a Docker compose project, or anything that
//! answers on loopback; only the checks that stop, start or scale servers need a [`Control`].

pub mod browser;
pub mod client;
mod manage;
mod static_config;
mod steps;
pub mod target;

use std::path::PathBuf;
use std::time::Duration;

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
    pub name: &'static str,
    pub status: Status,
    /// What was seen: server ids, cookies, status codes.
    pub evidence: String,
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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            browser: BrowserMode::Auto,
            screenshots: None,
            check_timeout: Duration::from_secs(120),
            manage_token: None,
        }
    }
}

/// Every result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub results: Vec<CheckResult>,
}

impl Report {
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
    for check in steps::CHECKS {
        if !opts.steps.is_empty() && !opts.steps.contains(&check.step) {
            continue;
        }
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
            Err(e) => (Status::Fail, format!("{e:#}")),
        };
        let result = CheckResult {
            step: check.step,
            name: check.name,
            status,
            evidence,
        };
        each(&result);
        report.results.push(result);
    }
    ctx.close().await;
    report
}

/// The checks' names by step, for `lab check --list` and the book.
pub fn list() -> Vec<(u8, &'static str, &'static str)> {
    steps::CHECKS
        .iter()
        .map(|c| (c.step, c.name, c.what))
        .collect()
}
