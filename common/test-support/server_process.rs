//! Starting the real binary for a test: on port 0, reading the `listening on http://...` line
//! it prints, and killed when the test ends (pass or fail) by `Drop`.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running server process.
pub struct Server {
    child: Child,
    /// Kept open: the server's stdout stays a live pipe for its whole life.
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Server {
    /// Runs `program args...` and waits for its `listening on` line.
    pub fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!("{program} did not say where it listens; it said {line:?}");
        };
        Server {
            url: url.to_owned(),
            child,
            _stdout: stdout,
        }
    }

    /// Sends a signal (`TERM`, `INT`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("the kill command");
        assert!(status.success());
    }

    /// Waits for the process to exit; `None` if it is still running after `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `program args...` expecting it to fail at start-up; returns its stderr.
pub fn start_fails(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    assert!(!output.status.success(), "{program} {args:?} started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}
