//! A program started for a test: killed and reaped when its guard is dropped, so a failing
//! test (a panic unwinds through the drop) leaves nothing running.
//!
//! Its stdout is read line by line on a thread, so a test can wait for a line with a time
//! limit: first the `listening on` lines ([`crate::listening`]), then whatever it prints after
//! them (the proxy's access log). A program that exits, or prints no address in time, fails the
//! test with what it printed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::listening::{parse_listening, Listening};

/// How long a program may take to print where it listens (a cold start on a busy CI machine).
pub const START_LIMIT: Duration = Duration::from_secs(20);

/// A running program; killed (SIGKILL) and reaped on drop.
pub struct Running {
    child: Child,
    /// What it names itself in messages: the program's file name.
    name: String,
    /// Its stdout, one line at a time (read by a thread, so waits can have a limit).
    lines: Receiver<String>,
    /// The lines read while waiting for addresses, for the message when none comes.
    printed: Vec<String>,
}

impl Running {
    /// Starts `command` with stdout piped (stderr goes where `command` says: inherited unless
    /// set). Panics if the program cannot start.
    pub fn start(command: &mut Command) -> Running {
        let name = std::path::Path::new(command.get_program())
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            name,
            lines,
            printed: Vec::new(),
        }
    }

    /// The process itself: its pid, `try_wait`, its stderr when piped.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The next line on stdout, waiting up to `limit`; `None` if none came (or stdout closed).
    pub fn next_line(&mut self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    /// Waits for the proxy's `entrypoint NAME listening on ...` line of each of `names`; the
    /// lines by entrypoint name (every one printed so far, `names` included).
    pub fn entrypoints(&mut self, names: &[&str]) -> BTreeMap<String, Listening> {
        let what = format!("a listening line for each of the entrypoints {names:?}");
        self.wait_listening(&what, |seen| {
            names
                .iter()
                .all(|n| seen.iter().any(|l| l.name.as_deref() == Some(*n)))
        })
        .into_iter()
        .filter_map(|l| Some((l.name.clone()?, l)))
        .collect()
    }

    /// Waits for a server's `listening on http://ADDR` line; its URL (`http://ADDR`).
    pub fn listening_url(&mut self) -> String {
        self.wait_listening("a `listening on http://ADDR` line", |seen| !seen.is_empty())[0].url()
    }

    /// One of our servers (`static-server`, `jokes-api`) started from its binary `bin` with
    /// `args` and `env`, its log quiet (`RUST_LOG=warn`): the guard, and the URL it printed.
    pub fn server(bin: &str, args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
        let mut server = Running::start(
            Command::new(bin)
                .args(args)
                .envs(env.iter().copied())
                .env("RUST_LOG", "warn"),
        );
        let url = server.listening_url();
        (server, url)
    }

    /// Reads stdout until `done` holds for the addresses seen, within [`START_LIMIT`]. The
    /// servers print their addresses first: any other line before them fails.
    fn wait_listening(
        &mut self,
        what: &str,
        done: impl Fn(&[Listening]) -> bool,
    ) -> Vec<Listening> {
        let deadline = Instant::now() + START_LIMIT;
        let mut seen = Vec::new();
        while !done(&seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let listening = parse_listening(&line);
                    self.printed.push(line);
                    match listening {
                        Some(l) => seen.push(l),
                        None => self.fail(&format!(
                            "printed something else before {what} (stdout starts with them)"
                        )),
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("printed no {what} within {START_LIMIT:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait(Duration::from_secs(2));
                    self.fail(&format!("exited ({status:?}) before it printed {what}"))
                }
            }
        }
        seen
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "{} {why}; its stdout:\n{}",
            self.name,
            self.printed.join("\n")
        )
    }

    /// Sends a signal (`TERM`, `INT`, `HUP`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("the kill command");
        assert!(status.success(), "kill -{name} {}", self.child.id());
    }

    /// Waits for the process to exit; `None` if it is still running after `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` expecting it to refuse to start; returns its stderr.
pub fn start_fails(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    assert!(!output.status.success(), "{command:?} started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Running {
        Running::start(Command::new("/bin/sh").args(["-c", script]))
    }

    #[test]
    fn the_printed_addresses_are_read_back_and_later_lines_kept() {
        let mut p = sh("echo 'entrypoint web listening on http://127.0.0.1:1234'; \
             echo 'entrypoint traefik listening on https://127.0.0.1:5678'; \
             echo 'after'; sleep 30");
        let eps = p.entrypoints(&["traefik", "web"]);
        assert_eq!(eps["web"].url(), "http://127.0.0.1:1234");
        assert_eq!(eps["traefik"].url(), "https://127.0.0.1:5678");
        assert_eq!(p.next_line(START_LIMIT).as_deref(), Some("after"));
        assert!(p.wait(Duration::ZERO).is_none(), "still running");
    }

    #[test]
    fn a_server_line_gives_its_url() {
        let mut p = sh("echo 'listening on http://127.0.0.1:41234'; sleep 30");
        assert_eq!(p.listening_url(), "http://127.0.0.1:41234");
    }

    #[test]
    fn a_program_that_exits_first_fails_saying_so() {
        let failed = std::panic::catch_unwind(|| {
            sh("exit 3").listening_url();
        })
        .unwrap_err();
        let message = failed.downcast_ref::<String>().unwrap();
        assert!(message.contains("exited"), "{message}");
    }

    #[test]
    fn a_line_before_the_addresses_fails_with_it() {
        let failed = std::panic::catch_unwind(|| {
            sh("echo starting; echo 'listening on http://127.0.0.1:1'; sleep 30").listening_url();
        })
        .unwrap_err();
        let message = failed.downcast_ref::<String>().unwrap();
        assert!(message.contains("starting"), "{message}");
    }

    #[test]
    fn dropping_the_guard_kills_the_program() {
        let p = sh("sleep 30");
        let pid = p.child.id();
        drop(p);
        // Killed and reaped: the pid is gone (a zombie would still have a /proc entry).
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
