//! Child processes the harness starts, and what `/proc` says about them.
//!
//! A benchmark must never leave a proxy or a backend running behind it: every child is registered
//! here, so that `Drop`, Ctrl-C, SIGTERM and a panic (the release profile aborts, so `Drop` would
//! not run) all kill it together with its own children (nginx and Apache fork workers).
//! CPU and memory are read from `/proc` for the whole process tree, so multi-process peers are
//! measured the same way as single-process ones.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Root pids of every live child, for the Ctrl-C and panic paths.
static REGISTRY: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C/SIGTERM handler and the panic hook that kill every registered child.
pub fn install_cleanup() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all_registered();
            previous(info);
        }));
        std::thread::spawn(|| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            });
            eprintln!("bench: interrupted, stopping every process it started");
            kill_all_registered();
            std::process::exit(130);
        });
    });
}

fn kill_all_registered() {
    let pids: Vec<u32> = match REGISTRY.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for pid in pids {
        let tree = tree_pids(pid);
        signal_pids(&tree, "KILL");
    }
}

/// Sends `sig` (a name such as `TERM`, `KILL`, `HUP`, `USR1`) to the given pids with `kill(1)`,
/// which keeps this crate free of `unsafe`.
pub fn signal_pids(pids: &[u32], sig: &str) {
    if pids.is_empty() {
        return;
    }
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{sig}"));
    for p in pids {
        cmd.arg(p.to_string());
    }
    let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// A process we started; killed (with its descendants) when dropped.
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Child {
    /// Starts `cmd` with stdout and stderr appended to `log`, and registers it for cleanup.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Child> {
        install_cleanup();
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("open log {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {name}: {cmd:?} (is it installed and on PATH?)"))?;
        REGISTRY
            .lock()
            .map_err(|_| anyhow::anyhow!("registry poisoned"))?
            .push(child.id());
        Ok(Child {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a signal to the root process only (reload signals, graceful stop).
    pub fn signal(&self, sig: &str) {
        signal_pids(&[self.pid()], sig);
    }

    /// True while the process has not exited.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of the child's log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        !self.alive()
    }

    /// SIGTERM, a grace period, then SIGKILL for whatever of the tree is left.
    pub fn stop(&mut self, grace: Duration) {
        let tree = tree_pids(self.pid());
        if self.alive() {
            self.signal("TERM");
            self.wait_exit(grace);
        }
        let left: Vec<u32> = tree.into_iter().filter(|p| pid_alive(*p)).collect();
        signal_pids(&left, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut g) = REGISTRY.lock() {
            let pid = self.pid();
            g.retain(|p| *p != pid);
        }
    }

    /// SIGKILL to the whole tree at once, no grace.
    pub fn kill(&mut self) {
        let tree = tree_pids(self.pid());
        signal_pids(&tree, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut g) = REGISTRY.lock() {
            let pid = self.pid();
            g.retain(|p| *p != pid);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

pub fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    lines[start..].join("\n")
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry but no longer runs.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => parse_stat(&s).map(|st| st.state != 'Z').unwrap_or(false),
        Err(_) => false,
    }
}

/// The fields of `/proc/<pid>/stat` the harness uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub state: char,
    pub ppid: u32,
    /// utime + stime + cutime + cstime, in clock ticks: the children's part counts processes the
    /// root already reaped (nginx workers replaced on reload, Apache children retired).
    pub cpu_ticks: u64,
}

/// Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so the fields
/// are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let state = f.first()?.chars().next()?;
    let ppid = f.get(1)?.parse().ok()?;
    let mut cpu = 0u64;
    for i in 11..=14 {
        cpu += f.get(i)?.parse::<i64>().ok()?.max(0) as u64;
    }
    Some(Stat {
        state,
        ppid,
        cpu_ticks: cpu,
    })
}

fn all_stats() -> HashMap<u32, Stat> {
    let mut out = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(s) = fs::read_to_string(format!("/proc/{pid}/stat")) {
            if let Some(st) = parse_stat(&s) {
                out.insert(pid, st);
            }
        }
    }
    out
}

/// `root` and all its live descendants.
pub fn tree_pids(root: u32) -> Vec<u32> {
    let stats = all_stats();
    tree_from(root, &stats)
}

fn tree_from(root: u32, stats: &HashMap<u32, Stat>) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, st) in stats {
        children.entry(st.ppid).or_default().push(*pid);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if !stats.contains_key(&p) {
            continue;
        }
        out.push(p);
        if let Some(c) = children.get(&p) {
            todo.extend(c);
        }
    }
    out
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds (user + system, children included) used so far by the tree under `root`.
pub fn tree_cpu_seconds(root: u32) -> f64 {
    let stats = all_stats();
    let ticks: u64 = tree_from(root, &stats)
        .iter()
        .filter_map(|p| stats.get(p))
        .map(|s| s.cpu_ticks)
        .sum();
    ticks as f64 / clock_ticks()
}

/// A `kB` field of `/proc/<pid>/status` such as `VmRSS` or `VmHWM`.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kb(&text, field)
}

pub fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resident memory of the whole tree, in kB (shared pages count once per process, as `ps` does).
pub fn tree_rss_kb(root: u32) -> u64 {
    tree_pids(root)
        .iter()
        .filter_map(|p| status_kb(*p, "VmRSS"))
        .sum()
}

/// Context switches (voluntary + involuntary) of every thread of the tree under `root`: how
/// often its threads slept and were woken, a cost that shows as scheduler time in profiles.
pub fn tree_context_switches(root: u32) -> u64 {
    let mut total = 0;
    for pid in tree_pids(root) {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(text) = fs::read_to_string(t.path().join("status")) else {
                continue;
            };
            for field in ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"] {
                total += text
                    .lines()
                    .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

/// Open file descriptors of one process.
pub fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A TCP socket a process holds: local and remote port, and the kernel's state number
/// (1 = ESTABLISHED, 8 = CLOSE_WAIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    pub state: u8,
}

/// The TCP sockets among `pid`'s fds (matched by inode against `/proc/net/tcp{,6}`).
pub fn tcp_sockets(pid: u32) -> Vec<TcpSocket> {
    let inodes: std::collections::HashSet<u64> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let s = l.to_string_lossy().into_owned();
                    s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        out.extend(
            parse_tcp_table(&text)
                .into_iter()
                .filter(|(inode, _)| inodes.contains(inode))
                .map(|(_, s)| s),
        );
    }
    out
}

/// Rows of `/proc/net/tcp`: (inode, socket).
pub fn parse_tcp_table(text: &str) -> Vec<(u64, TcpSocket)> {
    let port = |addr: &str| {
        addr.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.get(9)?.parse().ok()?,
                TcpSocket {
                    local_port: port(f.get(1)?)?,
                    remote_port: port(f.get(2)?)?,
                    state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                },
            ))
        })
        .collect()
}

/// Samples a tree's resident memory in the background and keeps the peak.
pub struct MemSampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
    root: u32,
}

impl MemSampler {
    pub fn start(root: u32, every: Duration) -> MemSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(tree_rss_kb(root));
                std::thread::sleep(every);
            }
            peak.max(tree_rss_kb(root))
        });
        MemSampler {
            stop,
            handle: Some(handle),
            root,
        }
    }

    /// The peak in kB: the sampled tree sum, or the root's own high-water mark when higher
    /// (it catches spikes between samples for single-process proxies).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.handle.take().and_then(|h| h.join().ok()).unwrap_or(0);
        sampled.max(status_kb(self.root, "VmHWM").unwrap_or(0))
    }
}

impl Drop for MemSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Fails with the log's tail when the process has already exited.
pub fn ensure_alive(child: &mut Child) -> Result<()> {
    if !child.alive() {
        bail!(
            "{} exited early; its log ends with:\n{}",
            child.name(),
            child.log_tail()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_in_the_name() {
        let line = "1234 (nginx: worker (x)) S 1200 1234 1234 0 -1 4194624 100 0 0 0 7 3 2 1 20 0 1 0 5 1000 200";
        let st = parse_stat(line).expect("parses");
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 1200);
        assert_eq!(st.cpu_ticks, 7 + 3 + 2 + 1);
    }

    #[test]
    fn status_fields() {
        let text = "Name:\tproxy\nVmHWM:\t   9000 kB\nVmRSS:\t    8123 kB\n";
        assert_eq!(parse_status_kb(text, "VmRSS"), Some(8123));
        assert_eq!(parse_status_kb(text, "VmHWM"), Some(9000));
        assert_eq!(parse_status_kb(text, "VmSwap"), None);
    }

    #[test]
    fn tcp_table_rows() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 20 4 30 10 -1
";
        let rows = parse_tcp_table(text);
        assert_eq!(
            rows,
            vec![(
                12345,
                TcpSocket {
                    local_port: 8080,
                    remote_port: 50000,
                    state: 1
                }
            )]
        );
    }

    #[test]
    fn tree_of_this_process_includes_a_child() {
        let mut c = Command::new("sleep");
        c.arg("5");
        let dir = tempfile::tempdir().expect("tmp");
        let mut child = Child::spawn("sleep", c, &dir.path().join("log")).expect("spawn");
        let me = std::process::id();
        let tree = tree_pids(me);
        assert!(tree.contains(&child.pid()));
        child.stop(Duration::from_secs(1));
        assert!(!child.alive());
    }
}
