//! The benchmark run: backends up once, then each proxy in turn, round after round.
//!
//! Rounds are interleaved (round r runs every proxy once, starting from a different one each
//! round) so that the machine's noise, which comes and goes over minutes on a shared machine,
//! lands on every proxy alike; figures are medians over the rounds with their min–max.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind, LOAD_PATH, WHO_PATH};
use crate::http;
use crate::peers::{self, Peer, Running, Upstream};
use crate::procs::{self, MemSampler};
use crate::tls_section::{self, TlsResults};
use crate::wrk::{Load, WrkResult};

/// What to run; `Options::full` and `Options::quick` are the two presets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    pub quick: bool,
    pub rounds: usize,
    /// Length of each measured wrk run.
    pub duration_s: u64,
    /// Warm-up after each proxy start (64 connections).
    pub warmup_s: u64,
    pub concurrencies: Vec<u32>,
    /// Concurrencies for the sticky-cookie variants (fewer, to keep the run short).
    pub sticky_concurrencies: Vec<u32>,
    pub peers: Vec<Peer>,
    /// Repetitions of the start-up and config-change measurements.
    pub repeats: usize,
    /// Length of each failover run (a backend stops a third of the way in).
    pub failover_s: u64,
    pub dynamic: bool,
    /// The plain-HTTP measurements (everything but the TLS section); off with `--tls`.
    #[serde(default = "yes")]
    pub plain: bool,
    /// The TLS section ([`crate::tls_section`]).
    #[serde(default)]
    pub tls: bool,
}

fn yes() -> bool {
    true
}

impl Options {
    pub fn full() -> Options {
        Options {
            quick: false,
            rounds: 3,
            duration_s: 5,
            warmup_s: 2,
            concurrencies: vec![1, 16, 64, 256],
            sticky_concurrencies: vec![64],
            peers: Peer::ALL.to_vec(),
            repeats: 3,
            failover_s: 6,
            dynamic: true,
            plain: true,
            tls: true,
        }
    }

    pub fn quick() -> Options {
        Options {
            quick: true,
            rounds: 1,
            duration_s: 2,
            warmup_s: 1,
            concurrencies: vec![1, 64],
            sticky_concurrencies: vec![64],
            peers: Peer::ALL.to_vec(),
            repeats: 2,
            failover_s: 3,
            dynamic: true,
            plain: true,
            tls: true,
        }
    }

    /// The (peer, sticky) variants in run order.
    pub fn variants(&self) -> Vec<(Peer, bool)> {
        let mut v: Vec<(Peer, bool)> = self.peers.iter().map(|p| (*p, false)).collect();
        v.extend(
            self.peers
                .iter()
                .filter(|p| p.supports_sticky())
                .map(|p| (*p, true)),
        );
        v
    }
}

/// One measured wrk run through one proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub peer: Peer,
    pub sticky: bool,
    pub conns: u32,
    pub round: usize,
    pub wrk: WrkResult,
    /// CPU seconds of the proxy's process tree during the run (none without a proxy).
    pub cpu_s: Option<f64>,
    /// Peak resident memory of the proxy's process tree during the run, kB.
    pub peak_rss_kb: Option<u64>,
    /// Context switches of the proxy's threads during the run.
    #[serde(default)]
    pub ctx_switches: Option<u64>,
}

impl Sample {
    pub fn ctx_switches_per_req(&self) -> Option<f64> {
        let c = self.ctx_switches?;
        (self.wrk.requests > 0).then(|| c as f64 / self.wrk.requests as f64)
    }

    pub fn cpu_ms_per_10k(&self) -> Option<f64> {
        let cpu = self.cpu_s?;
        (self.wrk.requests > 0).then(|| cpu * 1000.0 * 10_000.0 / self.wrk.requests as f64)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartSample {
    pub peer: Peer,
    /// Spawn to the first successful proxied request.
    pub start_ms: f64,
    /// Resident memory of the tree one second after the first request, kB.
    pub idle_rss_kb: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReloadSample {
    pub peer: Peer,
    /// From the moment the new file is written (and the reload command, if any, issued) to the
    /// first new connection answered by the new server set.
    pub ms: Option<f64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailoverSample {
    pub peer: Peer,
    /// `SIGTERM` or `SIGKILL`, sent to one of the three backends under load.
    pub signal: String,
    pub wrk: WrkResult,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub kernel: String,
    pub loadavg_start: String,
    pub loadavg_end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub command: String,
    pub started_utc: String,
    pub elapsed_s: f64,
    pub options: Options,
    pub machine: Machine,
    pub backend: String,
    pub versions: Vec<(Peer, String)>,
    pub skipped: Vec<(Peer, String)>,
    pub samples: Vec<Sample>,
    pub starts: Vec<StartSample>,
    pub reloads: Vec<ReloadSample>,
    pub failovers: Vec<FailoverSample>,
    /// The TLS section (empty when it did not run).
    #[serde(default)]
    pub tls: TlsResults,
}

/// Where things are.
pub struct Env {
    pub ours: PathBuf,
    pub backend: BackendKind,
    pub command: String,
}

fn sh(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine {
        nproc: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        kernel: sh("uname", &["-r"]),
        loadavg_start: loadavg(),
        loadavg_end: String::new(),
    }
}

fn upstreams(backends: &[Backend]) -> Vec<Upstream> {
    backends
        .iter()
        .map(|b| Upstream {
            name: b.name.clone(),
            port: b.port,
        })
        .collect()
}

/// Why a peer cannot run here, if it cannot (not installed, not built).
fn unavailable(peer: Peer, env: &Env) -> Option<String> {
    match peer {
        Peer::Direct => None,
        Peer::Ours | Peer::OursHyper if !env.ours.exists() => Some(format!(
            "{} not built (cargo build --release -p proxy)",
            env.ours.display()
        )),
        Peer::Ours | Peer::OursHyper => None,
        p => {
            let prog = p.program(&env.ours);
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {}", prog.display()))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            (!found).then(|| {
                format!(
                    "{} not installed (LAB_SETUP_BENCH=1 bash scripts/setup.sh)",
                    prog.display()
                )
            })
        }
    }
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

/// Runs everything the options ask for and returns the raw results.
pub fn run(opts: &Options, env: &Env) -> Result<Results> {
    procs::install_cleanup();
    let t0 = Instant::now();
    let started_utc = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let work = tempfile::Builder::new().prefix("bench-").tempdir()?;
    // nginx and Apache workers run as nobody when we are root: let them read their dir.
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(work.path())
        .status();
    if std::process::Command::new("wrk")
        .arg("-v")
        .output()
        .is_err()
    {
        bail!("wrk not found: apt-get install wrk (or LAB_SETUP_BENCH=1 bash scripts/setup.sh)");
    }
    let mut machine = machine();
    let mut skipped = Vec::new();
    let mut peers_ok = Vec::new();
    let mut versions = Vec::new();
    for p in &opts.peers {
        match unavailable(*p, env) {
            Some(why) => {
                say(format!("skipping {}: {why}", p.name()));
                skipped.push((*p, why));
            }
            None => {
                if *p != Peer::Direct {
                    versions.push((*p, p.version(&env.ours)));
                }
                peers_ok.push(*p);
            }
        }
    }
    say(format!("backends: 3 x {}", env.backend.label()));
    let mut backends = Vec::new();
    for name in ["a", "b", "c"] {
        backends.push(Backend::start(&env.backend, name, work.path())?);
    }
    let mut results = Results {
        command: env.command.clone(),
        started_utc,
        elapsed_s: 0.0,
        options: opts.clone(),
        machine: machine.clone(),
        backend: env.backend.label().to_string(),
        versions,
        skipped,
        samples: Vec::new(),
        starts: Vec::new(),
        reloads: Vec::new(),
        failovers: Vec::new(),
        tls: TlsResults::default(),
    };
    let mut opts_ok = opts.clone();
    opts_ok.peers = peers_ok;
    let mut seq = 0usize;
    let mut fresh = |p: Peer, sticky: bool, servers: Vec<Upstream>| {
        seq += 1;
        peers::config_in(work.path(), &format!("{}-{seq}", p.name()), servers, sticky)
    };

    // Start-up time and idle memory.
    let repeats = if opts.plain { opts.repeats } else { 0 };
    for rep in 0..repeats {
        for p in opts_ok.peers.iter().filter(|p| **p != Peer::Direct) {
            let cfg = fresh(*p, false, upstreams(&backends))?;
            match Running::start(*p, &env.ours, cfg) {
                Ok((mut r, took)) => {
                    std::thread::sleep(Duration::from_secs(1));
                    let idle = r.pid().map(procs::tree_rss_kb).unwrap_or(0);
                    say(format!(
                        "start {} #{rep}: {:.1} ms, idle {} kB",
                        p.name(),
                        took.as_secs_f64() * 1e3,
                        idle
                    ));
                    results.starts.push(StartSample {
                        peer: *p,
                        start_ms: took.as_secs_f64() * 1e3,
                        idle_rss_kb: idle,
                    });
                    r.stop();
                }
                Err(e) => {
                    say(format!("{} failed to start: {e:#}", p.name()));
                    results
                        .skipped
                        .push((*p, format!("failed to start: {e:#}")));
                }
            }
        }
        // A peer that cannot start is left out of everything after.
        let failed: Vec<Peer> = results.skipped.iter().map(|(p, _)| *p).collect();
        opts_ok.peers.retain(|p| !failed.contains(p));
    }

    // Throughput, latency, CPU, memory: interleaved rounds.
    let variants = if opts.plain {
        opts_ok.variants()
    } else {
        Vec::new()
    };
    for round in 0..opts.rounds {
        for i in 0..variants.len() {
            let (peer, sticky) = variants[(i + round) % variants.len()];
            let cfg = fresh(peer, sticky, upstreams(&backends))?;
            let conns = if sticky {
                &opts.sticky_concurrencies
            } else {
                &opts.concurrencies
            };
            match measure_variant(peer, sticky, conns, round, opts, env, cfg) {
                Ok(samples) => results.samples.extend(samples),
                Err(e) => say(format!(
                    "round {round}: {} sticky={sticky} failed: {e:#}",
                    peer.name()
                )),
            }
        }
    }

    if opts.tls {
        results.tls = tls_section::run(
            opts,
            env,
            work.path(),
            &opts_ok.peers,
            &upstreams(&backends),
        )?;
    }

    if opts.plain && opts.dynamic {
        let mut spare = Backend::start(&env.backend, "d", work.path())?;
        for p in opts_ok.peers.iter().filter(|p| **p != Peer::Direct) {
            let cfg = fresh(*p, false, upstreams(&backends))?;
            results.reloads.extend(measure_reload(
                *p,
                env,
                cfg,
                &backends,
                &spare,
                opts.repeats,
            ));
        }
        spare.stop();
        for signal in ["SIGTERM", "SIGKILL"] {
            for p in opts_ok.peers.iter().filter(|p| **p != Peer::Direct) {
                let cfg = fresh(*p, false, upstreams(&backends))?;
                match measure_failover(*p, env, cfg, &mut backends, signal, opts.failover_s) {
                    Ok(s) => {
                        say(format!(
                            "failover {} {signal}: {} failed of {}",
                            p.name(),
                            s.wrk.failed(),
                            s.wrk.requests
                        ));
                        results.failovers.push(s);
                    }
                    Err(e) => say(format!("failover {} {signal} failed: {e:#}", p.name())),
                }
            }
        }
    }
    machine.loadavg_end = loadavg();
    results.machine = machine;
    results.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(results)
}

/// The `Cookie` header a client holds after its first answer, for the sticky variants.
fn sticky_cookie(port: u16) -> Result<String> {
    let r = http::get(port, LOAD_PATH, &[], Duration::from_secs(2))?;
    r.cookie("lb")
        .with_context(|| format!("no `lb` cookie set; headers: {:?}", r.headers))
}

fn measure_variant(
    peer: Peer,
    sticky: bool,
    conns: &[u32],
    round: usize,
    opts: &Options,
    env: &Env,
    cfg: peers::ProxyConfig,
) -> Result<Vec<Sample>> {
    let (mut running, _) = Running::start(peer, &env.ours, cfg)?;
    let port = running.port();
    let headers = if sticky {
        vec![format!("Cookie: {}", sticky_cookie(port)?)]
    } else {
        vec![]
    };
    let load = |c: u32, secs: u64| {
        let mut l = Load::new(port, LOAD_PATH, c, Duration::from_secs(secs));
        l.headers = headers.clone();
        l
    };
    load(64, opts.warmup_s).run()?;
    let mut out = Vec::new();
    for &c in conns {
        if !opts.quick {
            load(c, 1).run()?;
        }
        let pid = running.pid();
        let cs0 = pid.map(procs::tree_context_switches);
        let cpu0 = pid.map(procs::tree_cpu_seconds);
        let sampler = pid.map(|p| MemSampler::start(p, Duration::from_millis(50)));
        let wrk = load(c, opts.duration_s).run()?;
        let cpu1 = pid.map(procs::tree_cpu_seconds);
        let cs1 = pid.map(procs::tree_context_switches);
        let peak = sampler.map(MemSampler::finish);
        let cpu_s = match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        say(format!(
            "round {round} {:<8} sticky={:<5} c={c:<3}: {:>8.0} req/s p50 {:.2} ms p99 {:.2} ms, failed {}, cpu {:?} s, peak {:?} kB",
            peer.name(),
            sticky,
            wrk.rps,
            wrk.p50_ms,
            wrk.p99_ms,
            wrk.failed(),
            cpu_s.map(|x| (x * 100.0).round() / 100.0),
            peak
        ));
        out.push(Sample {
            peer,
            sticky,
            conns: c,
            round,
            wrk,
            cpu_s,
            peak_rss_kb: peak,
            ctx_switches: match (cs0, cs1) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            },
        });
    }
    running.stop();
    Ok(out)
}

/// Config change to routed: switch the service to the spare server `d` alone, then back to
/// a, b, c; each time measure until a new connection is answered by the new set.
fn measure_reload(
    peer: Peer,
    env: &Env,
    cfg: peers::ProxyConfig,
    backends: &[Backend],
    spare: &Backend,
    repeats: usize,
) -> Vec<ReloadSample> {
    let mut out = Vec::new();
    let (mut running, _) = match Running::start(peer, &env.ours, cfg) {
        Ok(r) => r,
        Err(e) => {
            out.push(ReloadSample {
                peer,
                ms: None,
                error: Some(format!("{e:#}")),
            });
            return out;
        }
    };
    let port = running.port();
    let to_spare = vec![Upstream {
        name: spare.name.clone(),
        port: spare.port,
    }];
    let back = upstreams(backends);
    for _ in 0..repeats {
        for (servers, want_spare) in [(to_spare.clone(), true), (back.clone(), false)] {
            // Let the previous change settle (a reload's old workers draining, a debounce).
            std::thread::sleep(Duration::from_millis(300));
            let t0 = Instant::now();
            let res = running.reconfigure(servers).and_then(|()| {
                http::wait_until(port, WHO_PATH, &[], Duration::from_secs(10), |r| {
                    r.status == 200 && (r.body.trim() == "d") == want_spare
                })
            });
            let sample = match res {
                Ok(_) => ReloadSample {
                    peer,
                    ms: Some(t0.elapsed().as_secs_f64() * 1e3),
                    error: None,
                },
                Err(e) => ReloadSample {
                    peer,
                    ms: None,
                    error: Some(format!("{e:#}")),
                },
            };
            say(format!(
                "reload {}: {:?} {}",
                peer.name(),
                sample.ms.map(|m| (m * 10.0).round() / 10.0),
                sample.error.as_deref().unwrap_or("")
            ));
            let failed = sample.error.is_some();
            out.push(sample);
            if failed {
                return out;
            }
        }
    }
    running.stop();
    out
}

/// Bounded load (16 connections) through the proxy while backend `b` is stopped a third of the
/// way in; counts every request that did not get a 2xx/3xx.
fn measure_failover(
    peer: Peer,
    env: &Env,
    cfg: peers::ProxyConfig,
    backends: &mut [Backend],
    signal: &str,
    secs: u64,
) -> Result<FailoverSample> {
    let (mut running, _) = Running::start(peer, &env.ours, cfg)?;
    let load = Load::new(running.port(), LOAD_PATH, 16, Duration::from_secs(secs));
    let handle = std::thread::spawn(move || load.run());
    std::thread::sleep(Duration::from_millis(secs * 1000 / 3));
    match signal {
        "SIGKILL" => backends[1].kill(),
        _ => backends[1].stop(),
    }
    let wrk = handle
        .join()
        .map_err(|_| anyhow::anyhow!("wrk thread panicked"))??;
    running.stop();
    backends[1].restart()?;
    Ok(FailoverSample {
        peer,
        signal: signal.to_string(),
        wrk,
    })
}

/// Renders and checks every peer's configs (and the TLS ones of HAProxy and nginx) with the
/// peer's own checker, without load.
pub fn validate_all(env: &Env) -> Result<Vec<String>> {
    let work = tempfile::tempdir()?;
    let servers = vec![
        Upstream {
            name: "a".into(),
            port: 1,
        },
        Upstream {
            name: "b".into(),
            port: 2,
        },
    ];
    let mut lines = Vec::new();
    for p in [Peer::Haproxy, Peer::Nginx, Peer::Caddy, Peer::Apache] {
        if let Some(why) = unavailable(p, env) {
            bail!("{}: {why}", p.name());
        }
        for sticky in [false, true] {
            let cfg = peers::config_in(
                work.path(),
                &format!("{}-{sticky}", p.name()),
                servers.clone(),
                sticky,
            )?;
            let out = peers::validate(p, &p.program(&env.ours), &cfg)?;
            lines.push(format!(
                "{} sticky={sticky}: ok ({})",
                p.name(),
                out.lines().last().unwrap_or("")
            ));
        }
    }
    let cert = crate::tls::BenchCert::generate(&work.path().join("cert"))?;
    for p in [Peer::Haproxy, Peer::Nginx] {
        let mut cfg = peers::config_in(
            work.path(),
            &format!("{}-tls", p.name()),
            servers.clone(),
            false,
        )?;
        cfg.tls = Some(cert.clone());
        let out = peers::validate(p, &p.program(&env.ours), &cfg)?;
        lines.push(format!(
            "{} tls: ok ({})",
            p.name(),
            out.lines().last().unwrap_or("")
        ));
    }
    Ok(lines)
}
