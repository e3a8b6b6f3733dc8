//! Profiles our proxy's hot path: `perf record` (software `cpu-clock` event, which works in
//! VMs without hardware counters) on the proxy process while wrk drives 64 connections through
//! it, then `perf report` sorted by self time. Build the proxy with symbols first
//! (`bench/profile.sh` does: the release profile strips them).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::backend::{Backend, BackendKind, LOAD_PATH};
use crate::peers::{self, Peer, Running, Upstream};
use crate::procs;
use crate::wrk::Load;

pub struct ProfileOutput {
    pub rps: f64,
    /// `perf report --no-children` by symbol, top lines.
    pub flat: String,
    /// Only the proxy's own code and libc (malloc, memcpy), percentages of all samples.
    pub user: String,
    /// The same, grouped by shared object (proxy code vs libc vs kernel).
    pub by_dso: String,
}

fn perf_report(data: &Path, args: &[&str], lines: usize) -> Result<String> {
    let out = Command::new("perf")
        .arg("report")
        .arg("-i")
        .arg(data)
        .args([
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--percent-limit",
            "0.3",
        ])
        .args(args)
        .output()
        .context("perf report")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(tidy)
        .take(lines)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// One report line without perf's padding and empty trailing columns.
fn tidy(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let end = words.iter().rposition(|w| *w != "-").map_or(0, |i| i + 1);
    words[..end].join(" ")
}

fn dso_name(exe: &Path) -> String {
    exe.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "proxy".into())
}

pub fn run(ours: &Path, backend: &BackendKind, secs: u64, sticky: bool) -> Result<ProfileOutput> {
    procs::install_cleanup();
    if !ours.exists() {
        bail!("{} not built", ours.display());
    }
    let work = tempfile::Builder::new().prefix("profile-").tempdir()?;
    let backends: Vec<Backend> = ["a", "b", "c"]
        .iter()
        .map(|n| Backend::start(backend, n, work.path()))
        .collect::<Result<_>>()?;
    let ups = backends
        .iter()
        .map(|b| Upstream {
            name: b.name.clone(),
            port: b.port,
        })
        .collect();
    let cfg = peers::config_in(work.path(), "ours", ups, sticky)?;
    let (running, _) = Running::start(Peer::Ours, ours, cfg)?;
    let pid = running.pid().context("no proxy pid")?;
    let port = running.port();
    Load::new(port, LOAD_PATH, 64, Duration::from_secs(2)).run()?;
    let data = work.path().join("perf.data");
    let mut perf = Command::new("perf");
    perf.args(["record", "-e", "cpu-clock", "-F", "999", "-g", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep"])
        .arg(secs.to_string());
    let mut perf = procs::Child::spawn("perf", perf, &work.path().join("perf.log"))?;
    std::thread::sleep(Duration::from_millis(300));
    let wrk = Load::new(
        port,
        LOAD_PATH,
        64,
        Duration::from_secs(secs.saturating_sub(1).max(1)),
    )
    .run()?;
    if !perf.wait_exit(Duration::from_secs(secs + 30)) {
        bail!("perf record did not finish: {}", perf.log_tail());
    }
    drop(running);
    Ok(ProfileOutput {
        rps: wrk.rps,
        flat: perf_report(&data, &["--sort", "dso,symbol"], 40)?,
        user: perf_report(
            &data,
            &[
                "--sort",
                "dso,symbol",
                "--dsos",
                &format!("{},libc.so.6", dso_name(ours)),
            ],
            30,
        )?,
        by_dso: perf_report(&data, &["--sort", "dso"], 12)?,
    })
}
