//! The soak: steady load through the proxy for a few minutes while servers are scaled up and
//! down every few seconds, as `docker compose up --scale` does in the lab.
//!
//! Scaling up starts a backend process, waits until it answers, then adds it to the file
//! config; scaling down removes it from the config, lets the proxy pick that up, then stops the
//! process with SIGTERM (the order an orchestrator that drains would use). `--abrupt` reverses
//! it for scale-down (SIGTERM first, config later), as the Docker provider sees a container
//! stop. Reported: failed GETs, memory over time (growth after warm-up), open fds; memory and
//! fds are summed over the proxy's process tree, so the soak also runs against the peers.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind, LOAD_PATH};
use crate::peers::{self, Peer, Running, Upstream};
use crate::procs;
use crate::stats::mb;
use crate::svg::{self, Series};
use crate::wrk::{Load, WrkResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoakOptions {
    pub peer: Peer,
    pub duration_s: u64,
    /// Seconds between scale steps.
    pub step_s: u64,
    pub conns: u32,
    /// Seconds of load before the memory baseline is taken.
    pub warmup_s: u64,
    pub min_servers: usize,
    pub max_servers: usize,
    /// Scale down by stopping the process before removing it from the config.
    pub abrupt: bool,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions {
            peer: Peer::Ours,
            duration_s: 180,
            step_s: 3,
            conns: 16,
            warmup_s: 20,
            min_servers: 1,
            max_servers: 5,
            abrupt: false,
        }
    }
}

/// One sample per second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub t_s: f64,
    pub rss_kb: u64,
    pub fds: usize,
    pub servers: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoakResults {
    pub command: String,
    pub started_utc: String,
    pub options: SoakOptions,
    pub backend: String,
    pub wrk: WrkResult,
    pub scale_ups: usize,
    pub scale_downs: usize,
    pub points: Vec<Point>,
    /// Open fds right after start-up, before any load.
    pub fds_idle_start: usize,
    /// Open fds two seconds after the load ended.
    pub fds_idle_end: usize,
    /// Of those, pooled idle connections to servers still running (closed after the pool's
    /// idle timeout; not a leak).
    pub pooled_to_live: usize,
    /// Connections still held to servers that were stopped (a leak if not zero).
    pub held_to_stopped: usize,
    pub rss_after_warmup_kb: u64,
    pub rss_end_kb: u64,
    pub rss_peak_kb: u64,
}

impl SoakResults {
    /// Memory growth from the end of warm-up to the end of the load, in percent.
    pub fn growth_pct(&self) -> f64 {
        if self.rss_after_warmup_kb == 0 {
            return 0.0;
        }
        (self.rss_end_kb as f64 - self.rss_after_warmup_kb as f64) * 100.0
            / self.rss_after_warmup_kb as f64
    }
}

/// Memory growth after warm-up at or above this is a missed goal.
pub const MAX_GROWTH_PCT: f64 = 10.0;
/// Open fds idle after the load may exceed those idle at start (plus pooled connections to
/// running servers) by this many without counting as a leak: the process opens a few lazily
/// (the file watcher, the DNS resolver's socket, ...).
pub const FD_SLACK: usize = 8;

impl SoakResults {
    /// The soak's goals that were missed, each with the figures that show it; empty when all
    /// were met.
    pub fn missed_goals(&self) -> Vec<String> {
        let mut missed = Vec::new();
        let failed = self.wrk.failed();
        if self.wrk.requests == 0 {
            missed.push("no request completed: the load never reached the proxy".to_string());
        }
        if failed > 0 {
            missed.push(format!(
                "{failed} failed GETs ({} non-2xx/3xx, {} connect, {} read, {} write errors, {} timeouts); goal: 0",
                self.wrk.non_2xx_3xx,
                self.wrk.connect_errors,
                self.wrk.read_errors,
                self.wrk.write_errors,
                self.wrk.timeouts
            ));
        }
        if self.rss_after_warmup_kb == 0 {
            missed.push(format!(
                "no memory baseline: the load ended before the {} s warm-up did",
                self.options.warmup_s
            ));
        } else if self.growth_pct() >= MAX_GROWTH_PCT {
            missed.push(format!(
                "memory grew {:+.1} % after warm-up ({} -> {} kB); goal: under {MAX_GROWTH_PCT} %",
                self.growth_pct(),
                self.rss_after_warmup_kb,
                self.rss_end_kb
            ));
        }
        if self.held_to_stopped > 0 {
            missed.push(format!(
                "{} connections still held to stopped servers; goal: 0",
                self.held_to_stopped
            ));
        }
        let unexplained = self.fds_idle_end.saturating_sub(self.pooled_to_live);
        if unexplained > self.fds_idle_start + FD_SLACK {
            missed.push(format!(
                "fd leak: {} open fds idle after the load ({} of them pooled to running servers) \
                 against {} idle at start; goal: at most {FD_SLACK} more",
                self.fds_idle_end, self.pooled_to_live, self.fds_idle_start
            ));
        }
        missed
    }
}

/// Open fds of the whole process tree (HAProxy's and nginx's workers hold the sockets).
fn tree_fds(pid: u32) -> usize {
    procs::tree_pids(pid).into_iter().map(procs::fd_count).sum()
}

/// A small deterministic generator, so two soaks scale the same way.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn say(msg: impl AsRef<str>) {
    eprintln!("soak: {}", msg.as_ref());
}

pub fn run(
    opts: &SoakOptions,
    backend: &BackendKind,
    ours: &std::path::Path,
    command: &str,
) -> Result<SoakResults> {
    procs::install_cleanup();
    let started_utc = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let work = tempfile::Builder::new().prefix("soak-").tempdir()?;
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(work.path())
        .status();
    // A pool of backends; the first three start in the config.
    let mut pool: Vec<Backend> = Vec::new();
    for i in 0..opts.max_servers {
        let mut b = Backend::start(backend, &format!("s{i}"), work.path())?;
        if i >= 3 {
            b.stop();
        }
        pool.push(b);
    }
    let mut in_config: Vec<usize> = (0..3.min(opts.max_servers)).collect();
    let ups = |idx: &[usize], pool: &[Backend]| -> Vec<Upstream> {
        idx.iter()
            .map(|i| Upstream {
                name: pool[*i].name.clone(),
                port: pool[*i].port,
            })
            .collect()
    };
    let cfg = peers::config_in(work.path(), "proxy", ups(&in_config, &pool), false)?;
    let (mut running, _) = Running::start(opts.peer, ours, cfg)?;
    let pid = running.pid().context("the soak needs a proxy process")?;
    std::thread::sleep(Duration::from_millis(500));
    let fds_idle_start = tree_fds(pid);
    let load = Load::new(
        running.port(),
        LOAD_PATH,
        opts.conns,
        Duration::from_secs(opts.duration_s),
    );
    let t0 = Instant::now();
    let handle = std::thread::spawn(move || load.run());
    let mut rng = Lcg(42);
    let mut points = Vec::new();
    let (mut ups_n, mut downs_n) = (0, 0);
    let mut next_step = Duration::from_secs(opts.step_s);
    let mut next_sample = Duration::ZERO;
    let mut rss_after_warmup = 0;
    let end = Duration::from_secs(opts.duration_s);
    while t0.elapsed() < end && !handle.is_finished() {
        let now = t0.elapsed();
        if now >= next_sample {
            let p = Point {
                t_s: now.as_secs_f64(),
                rss_kb: procs::tree_rss_kb(pid),
                fds: tree_fds(pid),
                servers: in_config.len(),
            };
            if rss_after_warmup == 0 && now >= Duration::from_secs(opts.warmup_s) {
                rss_after_warmup = p.rss_kb;
            }
            points.push(p);
            next_sample += Duration::from_secs(1);
        }
        // Leave the last step time to settle before the load ends.
        if now >= next_step && now + Duration::from_secs(opts.step_s) < end {
            next_step += Duration::from_secs(opts.step_s);
            let can_up = in_config.len() < opts.max_servers;
            let can_down = in_config.len() > opts.min_servers;
            let up = match (can_up, can_down) {
                (true, true) => rng.next() & 1 == 0,
                (up, _) => up,
            };
            if up {
                let i = (0..pool.len())
                    .find(|i| !in_config.contains(i))
                    .context("no stopped backend")?;
                pool[i].restart()?;
                in_config.push(i);
                running.reconfigure(ups(&in_config, &pool))?;
                ups_n += 1;
                say(format!(
                    "{:>5.1}s up   {} -> {} servers",
                    now.as_secs_f64(),
                    pool[i].name,
                    in_config.len()
                ));
            } else {
                let k = (rng.next() as usize) % in_config.len();
                let i = in_config.remove(k);
                if opts.abrupt {
                    pool[i].stop();
                    running.reconfigure(ups(&in_config, &pool))?;
                } else {
                    running.reconfigure(ups(&in_config, &pool))?;
                    std::thread::sleep(Duration::from_millis(500));
                    pool[i].stop();
                }
                downs_n += 1;
                say(format!(
                    "{:>5.1}s down {} -> {} servers",
                    now.as_secs_f64(),
                    pool[i].name,
                    in_config.len()
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let wrk = handle
        .join()
        .map_err(|_| anyhow::anyhow!("wrk thread panicked"))??;
    let rss_end = points.last().map(|p| p.rss_kb).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(2));
    let fds_idle_end = tree_fds(pid);
    let live: Vec<u16> = pool
        .iter()
        .filter(|b| b.running())
        .map(|b| b.port)
        .collect();
    let stopped: Vec<u16> = pool
        .iter()
        .filter(|b| !b.running())
        .map(|b| b.port)
        .collect();
    let socks: Vec<procs::TcpSocket> = procs::tree_pids(pid)
        .into_iter()
        .flat_map(procs::tcp_sockets)
        .collect();
    let pooled_to_live = socks
        .iter()
        .filter(|s| live.contains(&s.remote_port))
        .count();
    let held_to_stopped = socks
        .iter()
        .filter(|s| stopped.contains(&s.remote_port))
        .count();
    let rss_peak = points
        .iter()
        .map(|p| p.rss_kb)
        .max()
        .unwrap_or(0)
        .max(procs::status_kb(pid, "VmHWM").unwrap_or(0));
    running.stop();
    Ok(SoakResults {
        command: command.to_string(),
        started_utc,
        options: opts.clone(),
        backend: backend.label().to_string(),
        wrk,
        scale_ups: ups_n,
        scale_downs: downs_n,
        points,
        fds_idle_start,
        fds_idle_end,
        pooled_to_live,
        held_to_stopped,
        rss_after_warmup_kb: rss_after_warmup,
        rss_end_kb: rss_end,
        rss_peak_kb: rss_peak,
    })
}

/// The soak's block of the performance chapter.
pub fn markdown(r: &SoakResults) -> String {
    let o = &r.options;
    let fds_max = r.points.iter().map(|p| p.fds).max().unwrap_or(0);
    format!(
        "Measured {} with `{}`: {} requests through {} for {} s, wrk {} connections, servers ({}) scaled between {} and {} every {} s ({} up, {} down; scale-down {}).\n\n\
| figure | value | goal |\n|---|--:|---|\n\
| requests | {} ({:.0} req/s) | |\n\
| failed GETs (non-2xx/3xx + socket errors) | {} | 0 |\n\
| RSS after {} s warm-up → end of load | {} → {} MB | |\n\
| memory growth after warm-up | {:+.1} % | < 10 % |\n\
| peak RSS (sampled, or VmHWM) | {} MB | < 20 MB |\n\
| open fds: idle at start → max under load → idle 2 s after the load | {} → {} → {} | |\n\
| of which idle pooled connections to running servers (closed by the pool's idle timeout) | {} | |\n\
| connections still held to stopped servers (leak) | {} | 0 |\n\n\
{}\n\n\
![Memory and open fds during the soak](images/bench-soak.svg)\n",
        r.started_utc,
        r.command,
        r.wrk.requests,
        o.peer.label(),
        o.duration_s,
        o.conns,
        r.backend,
        o.min_servers,
        o.max_servers,
        o.step_s,
        r.scale_ups,
        r.scale_downs,
        if o.abrupt {
            "process stopped first, config updated after"
        } else {
            "removed from the config first, process stopped 0.5 s later"
        },
        r.wrk.requests,
        r.wrk.rps,
        r.wrk.failed(),
        o.warmup_s,
        mb(r.rss_after_warmup_kb as f64),
        mb(r.rss_end_kb as f64),
        r.growth_pct(),
        mb(r.rss_peak_kb as f64),
        r.fds_idle_start,
        fds_max,
        r.fds_idle_end,
        r.pooled_to_live,
        r.held_to_stopped,
        verdict_line(r),
    )
}

/// The verdict, one line: what `bench soak`'s exit status says.
pub fn verdict_line(r: &SoakResults) -> String {
    let missed = r.missed_goals();
    if missed.is_empty() {
        "Verdict: every goal met (no failed GET, memory growth under 10 %, no fd leak).".into()
    } else {
        format!("Verdict: **goals missed**: {}.", missed.join("; "))
    }
}

pub fn chart(r: &SoakResults) -> String {
    let series = vec![
        Series {
            label: "RSS, MB".into(),
            points: r
                .points
                .iter()
                .map(|p| (p.t_s, p.rss_kb as f64 / 1024.0))
                .collect(),
            colour: "#d9480f".into(),
        },
        Series {
            label: "open fds / 10".into(),
            points: r
                .points
                .iter()
                .map(|p| (p.t_s, p.fds as f64 / 10.0))
                .collect(),
            colour: "#4c6ef5".into(),
        },
        Series {
            label: "servers in config".into(),
            points: r.points.iter().map(|p| (p.t_s, p.servers as f64)).collect(),
            colour: "#2b8a3e".into(),
        },
    ];
    svg::lines(
        "Soak: memory, file descriptors and servers over time",
        &format!(
            "{}, wrk {} connections, scaling every {} s, {}",
            r.options.peer.label(),
            r.options.conns,
            r.options.step_s,
            r.started_utc
        ),
        "seconds",
        "MB / fds÷10 / servers",
        &series,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> SoakResults {
        SoakResults {
            command: "x".into(),
            started_utc: "now".into(),
            options: SoakOptions::default(),
            backend: "b".into(),
            wrk: WrkResult {
                requests: 1000,
                ..WrkResult::default()
            },
            scale_ups: 1,
            scale_downs: 1,
            points: vec![Point {
                t_s: 0.0,
                rss_kb: 1000,
                fds: 20,
                servers: 3,
            }],
            fds_idle_start: 10,
            fds_idle_end: 30,
            pooled_to_live: 20,
            held_to_stopped: 0,
            rss_after_warmup_kb: 1000,
            rss_end_kb: 1050,
            rss_peak_kb: 1100,
        }
    }

    #[test]
    fn growth_is_relative_to_the_warm_baseline() {
        let r = results();
        assert!((r.growth_pct() - 5.0).abs() < 1e-9);
        assert!(markdown(&r).contains("+5.0 %"));
        assert!(chart(&r).contains("<polyline"));
    }

    #[test]
    fn a_run_within_every_goal_passes() {
        let r = results();
        assert_eq!(r.missed_goals(), Vec::<String>::new());
        assert!(markdown(&r).contains("every goal met"));
    }

    #[test]
    fn each_missed_goal_is_reported_with_its_figures() {
        let check = |f: &dyn Fn(&mut SoakResults), want: &str| {
            let mut r = results();
            f(&mut r);
            let missed = r.missed_goals();
            assert_eq!(missed.len(), 1, "{missed:?}");
            assert!(missed[0].contains(want), "{missed:?} lacks {want:?}");
            assert!(markdown(&r).contains("goals missed"));
        };
        check(&|r| r.wrk.non_2xx_3xx = 3, "3 failed GETs");
        check(&|r| r.wrk.read_errors = 1, "1 failed GETs");
        check(&|r| r.rss_end_kb = 1100, "memory grew +10.0 %");
        check(&|r| r.rss_after_warmup_kb = 0, "no memory baseline");
        check(
            &|r| r.held_to_stopped = 2,
            "2 connections still held to stopped servers",
        );
        check(&|r| r.fds_idle_end = 20 + 10 + FD_SLACK + 1, "fd leak");
        check(&|r| r.wrk.requests = 0, "no request completed");
        // Just under the limits.
        let mut r = results();
        r.rss_end_kb = 1099;
        r.fds_idle_end = 20 + 10 + FD_SLACK;
        assert_eq!(r.missed_goals(), Vec::<String>::new());
    }
}
