//! The TLS section of `bench run`: our proxy, HAProxy and nginx terminating TLS in front of the
//! same plain-HTTP backends, with the same certificate, in interleaved rounds.
//!
//! Two figures per peer and round, at [`TLS_CONNS`] connections:
//! - keep-alive: wrk over `https://`, many requests per connection (the cost of encryption);
//! - handshakes: [`crate::handshake`], a new connection and a full TLS handshake per request
//!   (the cost of setting a connection up: a signature and a key exchange).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backend::LOAD_PATH;
use crate::handshake;
use crate::peers::{self, Peer, Running, Upstream};
use crate::procs::{self, MemSampler};
use crate::suite::{Env, Options};
use crate::tls::{self, BenchCert, Negotiated};
use crate::wrk::{Load, WrkResult};

/// Connections (clients) for both figures, as the plain table's headline.
pub const TLS_CONNS: u32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsLoad {
    /// wrk over HTTPS with keep-alive.
    KeepAlive,
    /// A new connection and a full handshake per request.
    Handshake,
}

/// One measured run through one peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsSample {
    pub peer: Peer,
    pub load: TlsLoad,
    pub conns: u32,
    pub round: usize,
    pub wrk: WrkResult,
    /// CPU seconds of the proxy's process tree during the run.
    pub cpu_s: Option<f64>,
    pub peak_rss_kb: Option<u64>,
}

impl TlsSample {
    /// Proxy CPU milliseconds per `per` requests (or handshakes).
    pub fn cpu_ms_per(&self, per: f64) -> Option<f64> {
        let cpu = self.cpu_s?;
        (self.wrk.requests > 0).then(|| cpu * 1000.0 * per / self.wrk.requests as f64)
    }
}

/// What each peer negotiated with each client, checked once per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsPeerInfo {
    pub peer: Peer,
    /// With OpenSSL's client, as wrk (keep-alive figures).
    pub with_openssl: Option<Negotiated>,
    /// With the handshake client (rustls, no resumption).
    pub with_rustls: Option<Negotiated>,
    pub errors: Vec<String>,
}

/// The section's results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TlsResults {
    /// What the certificate is.
    pub cert: String,
    /// `openssl version`: the library of wrk, HAProxy and nginx.
    pub openssl: String,
    pub peers: Vec<TlsPeerInfo>,
    pub samples: Vec<TlsSample>,
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: tls: {}", msg.as_ref());
}

/// Runs the section for the peers of `peers` that [`Peer::supports_tls`].
pub fn run(
    opts: &Options,
    env: &Env,
    work: &Path,
    peers: &[Peer],
    servers: &[Upstream],
) -> Result<TlsResults> {
    let cert = BenchCert::generate(&work.join("tls-cert"))?;
    let openssl = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut out = TlsResults {
        cert: tls::CERT_KIND.to_string(),
        openssl,
        ..TlsResults::default()
    };
    let peers: Vec<Peer> = peers.iter().copied().filter(|p| p.supports_tls()).collect();
    for round in 0..opts.rounds {
        for i in 0..peers.len() {
            let peer = peers[(i + round) % peers.len()];
            let mut cfg = peers::config_in(
                work,
                &format!("tls-{}-{round}", peer.name()),
                servers.to_vec(),
                false,
            )?;
            cfg.tls = Some(cert.clone());
            match measure(peer, round, opts, env, cfg, round == 0) {
                Ok((samples, info)) => {
                    out.samples.extend(samples);
                    out.peers.extend(info);
                }
                Err(e) => say(format!("round {round}: {} failed: {e:#}", peer.name())),
            }
        }
    }
    Ok(out)
}

/// Runs `f` (a load) and measures the proxy's CPU and peak memory meanwhile.
fn with_usage(
    pid: Option<u32>,
    f: impl FnOnce() -> Result<WrkResult>,
) -> Result<(WrkResult, Option<f64>, Option<u64>)> {
    let cpu0 = pid.map(procs::tree_cpu_seconds);
    let sampler = pid.map(|p| MemSampler::start(p, Duration::from_millis(50)));
    let wrk = f()?;
    let cpu1 = pid.map(procs::tree_cpu_seconds);
    let peak = sampler.map(MemSampler::finish);
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok((wrk, cpu, peak))
}

fn probe(peer: Peer, port: u16, cert: &BenchCert) -> TlsPeerInfo {
    let mut errors = Vec::new();
    let with_openssl = tls::negotiated_with_openssl(port)
        .map_err(|e| errors.push(format!("openssl s_client: {e:#}")))
        .ok();
    let with_rustls = handshake::get(port, LOAD_PATH, &cert.der, Duration::from_secs(2))
        .map(|(_, n)| n)
        .map_err(|e| errors.push(format!("handshake client: {e:#}")))
        .ok();
    let info = TlsPeerInfo {
        peer,
        with_openssl,
        with_rustls,
        errors,
    };
    let show = |n: &Option<Negotiated>| n.as_ref().map(Negotiated::show).unwrap_or("?".into());
    say(format!(
        "{} negotiates {} with OpenSSL, {} with rustls {}",
        peer.name(),
        show(&info.with_openssl),
        show(&info.with_rustls),
        info.errors.join("; ")
    ));
    info
}

fn measure(
    peer: Peer,
    round: usize,
    opts: &Options,
    env: &Env,
    cfg: peers::ProxyConfig,
    first: bool,
) -> Result<(Vec<TlsSample>, Option<TlsPeerInfo>)> {
    let cert = cfg.tls.clone().expect("a TLS config");
    let (mut running, _) = Running::start(peer, &env.ours, cfg)?;
    let port = running.port();
    let pid = running.pid();
    let info = first.then(|| probe(peer, port, &cert));
    let load = |secs: u64| {
        let mut l = Load::new(port, LOAD_PATH, TLS_CONNS, Duration::from_secs(secs));
        l.tls = true;
        l
    };
    load(opts.warmup_s).run()?;
    let mut out = Vec::new();
    let keep_alive = with_usage(pid, || load(opts.duration_s).run())?;
    let handshakes = with_usage(pid, || {
        handshake::run(
            port,
            LOAD_PATH,
            &cert.der,
            TLS_CONNS,
            Duration::from_secs(opts.duration_s),
        )
    })?;
    for (kind, (wrk, cpu_s, peak_rss_kb)) in [
        (TlsLoad::KeepAlive, keep_alive),
        (TlsLoad::Handshake, handshakes),
    ] {
        say(format!(
            "round {round} {:<8} {kind:?}: {:>8.0}/s p50 {:.2} ms p99 {:.2} ms, failed {}, cpu {:?} s",
            peer.name(),
            wrk.rps,
            wrk.p50_ms,
            wrk.p99_ms,
            wrk.failed(),
            cpu_s.map(|x| (x * 100.0).round() / 100.0),
        ));
        out.push(TlsSample {
            peer,
            load: kind,
            conns: TLS_CONNS,
            round,
            wrk,
            cpu_s,
            peak_rss_kb,
        });
    }
    running.stop();
    Ok((out, info))
}
