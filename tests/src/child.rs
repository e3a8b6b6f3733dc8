//! A program the lab started: its output goes to a log file, the address it prints is read
//! back, and it is killed when dropped, also when a test panics.
//!
//! Every server binds port 0 and prints the address it got (`listening on http://ADDR`; the
//! proxy: `entrypoint NAME listening on http://ADDR`, `https://` for an entrypoint with
//! `http.tls`), so nothing ever races for a fixed port. The line is read by
//! [`testkit::parse_listening`], as the tests read it.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use testkit::listening::{parse_listening, Listening};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The pids of every program started and not yet killed, so a panic hook can kill them even
/// where panics abort (the release profile) and no destructor runs.
static RUNNING: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// SIGKILLs every program the lab started that is still registered (for a panic hook).
pub fn kill_all() {
    let pids: Vec<u32> = RUNNING
        .lock()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    for pid in pids {
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

fn register(pid: u32, running: bool) {
    if let Ok(mut s) = RUNNING.lock() {
        if running {
            s.insert(pid);
        } else {
            s.remove(&pid);
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// For people: `proxy`, `static1`, ...
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
    /// How many address lines to wait for (the proxy prints one per entrypoint).
    pub addresses: usize,
    pub timeout: Duration,
}

/// A running program. Killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct ChildProcess {
    pub name: String,
    pub pid: u32,
    pub listening: Vec<Listening>,
    pub log: PathBuf,
    child: Child,
}

impl ChildProcess {
    /// Starts the program and waits until it printed `spec.addresses` address lines.
    pub async fn spawn(spec: Spawn) -> Result<Self> {
        if let Some(dir) = spec.log.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let log_file = Arc::new(Mutex::new(log_file));
        let rust_log = std::env::var("LAB_CHILD_RUST_LOG").unwrap_or_else(|_| "info".into());
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .env("RUST_LOG", rust_log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", spec.program.display()))?;
        let pid = child.id().unwrap_or_default();
        register(pid, true);
        let (tx, mut rx) = mpsc::unbounded_channel();
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump(out, log_file.clone(), tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump(err, log_file, tx));
        }

        let mut listening = Vec::new();
        let deadline = tokio::time::Instant::now() + spec.timeout;
        while listening.len() < spec.addresses {
            tokio::select! {
                got = rx.recv() => match got {
                    Some(l) => listening.push(l),
                    None => {
                        // Both pipes closed: the program is gone.
                        let status = child.wait().await.ok();
                        register(pid, false);
                        bail!("{} exited ({}) before printing its address; its log:\n{}",
                            spec.name, status.map(|s| s.to_string()).unwrap_or_default(),
                            tail(&spec.log, 20));
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    register(pid, false);
                    bail!("{} printed no `listening on http(s)://ADDR` line within {:?}; its log:\n{}",
                        spec.name, spec.timeout, tail(&spec.log, 20));
                }
            }
        }
        // Keep draining: later address lines are only logged.
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        Ok(Self {
            name: spec.name,
            pid,
            listening,
            log: spec.log,
            child,
        })
    }

    /// The address printed for an entrypoint, or the first one when `name` is `None`.
    pub fn addr(&self, name: Option<&str>) -> Result<SocketAddr> {
        match name {
            None => self.listening.first(),
            Some(n) => self.listening.iter().find(|l| l.name.as_deref() == Some(n)),
        }
        .map(|l| l.addr)
        .ok_or_else(|| {
            anyhow!(
                "{} printed no address for entrypoint {:?} (got {:?})",
                self.name,
                name,
                self.listening
            )
        })
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and wait until it is gone (a crash, as far as the proxy can tell).
    pub async fn kill(&mut self) -> Result<()> {
        if self.is_running() {
            self.child.start_kill().ok();
        }
        self.child.wait().await?;
        register(self.pid, false);
        Ok(())
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // kill_on_drop does it too; being explicit keeps it true if that flag is ever removed.
        let _ = self.child.start_kill();
        register(self.pid, false);
    }
}

async fn pump(
    stream: impl AsyncRead + Unpin,
    log: Arc<Mutex<std::fs::File>>,
    tx: mpsc::UnboundedSender<Listening>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(mut f) = log.lock() {
            let _ = writeln!(f, "{line}");
        }
        if let Some(l) = parse_listening(&line) {
            let _ = tx.send(l);
        }
    }
}

/// The last `n` lines of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_program_that_prints_no_address_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let err = ChildProcess::spawn(Spawn {
            name: "echo".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo something went wrong; exit 3".into()],
            log: dir.path().join("echo.log"),
            addresses: 1,
            timeout: Duration::from_secs(10),
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("something went wrong"), "{err}");
    }

    #[tokio::test]
    async fn the_printed_address_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = ChildProcess::spawn(Spawn {
            name: "fake".into(),
            program: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                "echo 'entrypoint web listening on http://127.0.0.1:1234'; \
                 echo 'entrypoint traefik listening on http://127.0.0.1:5678' >&2; sleep 30"
                    .into(),
            ],
            log: dir.path().join("fake.log"),
            addresses: 2,
            timeout: Duration::from_secs(10),
        })
        .await
        .unwrap();
        assert_eq!(child.addr(Some("traefik")).unwrap().port(), 5678);
        assert_eq!(child.addr(Some("web")).unwrap().port(), 1234);
        assert!(child.is_running());
        child.kill().await.unwrap();
        assert!(!child.is_running());
    }
}
