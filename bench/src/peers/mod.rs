//! The proxies under test, each configured the same way: listen on one loopback port, round robin
//! over the same backends, optionally a sticky cookie named `lb`.
//!
//! Each peer has its own file that renders its configuration (pure, unit-tested) and says how to
//! start, validate and reload it. Configs are written into a temp dir and every process runs as
//! the current user in the foreground: no system service or system config is touched.

pub mod apache;
pub mod caddy;
pub mod haproxy;
pub mod nginx;
pub mod ours;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::backend::{self, LOAD_PATH};
use crate::procs::{self, Child};
use crate::tls::BenchCert;
use crate::{handshake, http};

/// One upstream server, as every peer's config names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upstream {
    /// Short name, also the sticky-cookie value where the peer lets us choose it.
    pub name: String,
    pub port: u16,
}

/// What every peer is asked to do.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The port clients connect to.
    pub listen: u16,
    /// A second port for peers that need an admin endpoint to reload (Caddy).
    pub admin: u16,
    pub servers: Vec<Upstream>,
    pub sticky: bool,
    /// The temp dir holding this peer's config, pid file, logs.
    pub dir: PathBuf,
    /// True when running as root: nginx and Apache then need a `User` for their workers.
    pub as_root: bool,
    /// Terminate TLS on `listen` with this certificate (HTTP/1.1 to the backends, as without).
    pub tls: Option<BenchCert>,
}

/// The proxies compared. `Direct` is no proxy at all: wrk talks to one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Peer {
    Direct,
    Ours,
    /// Ours with the fast path off (`PROXY_FAST_PATH=0`): hyper serves every request, as
    /// before the fast path existed. Shows what the fast path is worth, in the same run.
    #[serde(rename = "ours-hyper")]
    OursHyper,
    Haproxy,
    Nginx,
    Caddy,
    Apache,
}

impl Peer {
    pub const ALL: [Peer; 7] = [
        Peer::Direct,
        Peer::Ours,
        Peer::OursHyper,
        Peer::Haproxy,
        Peer::Nginx,
        Peer::Caddy,
        Peer::Apache,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Direct => "none",
            Peer::Ours => "ours",
            Peer::OursHyper => "ours-hyper",
            Peer::Haproxy => "haproxy",
            Peer::Nginx => "nginx",
            Peer::Caddy => "caddy",
            Peer::Apache => "apache",
        }
    }

    pub fn parse(s: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.name() == s)
    }

    /// A label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Peer::Direct => "no proxy (1 backend direct)",
            Peer::Ours => "ours",
            Peer::OursHyper => "ours, fast path off (hyper only)",
            Peer::Haproxy => "HAProxy",
            Peer::Nginx => "nginx",
            Peer::Caddy => "Caddy",
            Peer::Apache => "Apache httpd",
        }
    }

    /// Whether the peer has a sticky cookie of its own (open-source nginx has none: `sticky`
    /// is nginx Plus only).
    pub fn supports_sticky(self) -> bool {
        matches!(
            self,
            Peer::Ours | Peer::OursHyper | Peer::Haproxy | Peer::Caddy | Peer::Apache
        )
    }

    /// Whether the TLS section measures this peer: the issue compares ours with the two
    /// OpenSSL-based proxies.
    pub fn supports_tls(self) -> bool {
        matches!(self, Peer::Ours | Peer::Haproxy | Peer::Nginx)
    }

    /// The executable, looked up once.
    pub fn program(self, ours: &Path) -> PathBuf {
        match self {
            Peer::Direct => PathBuf::new(),
            Peer::Ours | Peer::OursHyper => ours.to_path_buf(),
            Peer::Haproxy => "haproxy".into(),
            Peer::Nginx => "nginx".into(),
            Peer::Caddy => "caddy".into(),
            Peer::Apache => "apache2".into(),
        }
    }

    /// The config files to write, relative to the config dir.
    pub fn render(self, cfg: &ProxyConfig) -> Vec<(&'static str, String)> {
        match self {
            Peer::Direct => vec![],
            Peer::Ours | Peer::OursHyper => vec![(ours::FILE, ours::render(cfg))],
            Peer::Haproxy => vec![(haproxy::FILE, haproxy::render(cfg))],
            Peer::Nginx => vec![(nginx::FILE, nginx::render(cfg))],
            Peer::Caddy => vec![(caddy::FILE, caddy::render(cfg))],
            Peer::Apache => vec![(apache::FILE, apache::render(cfg))],
        }
    }

    fn start_command(self, exe: &Path, cfg: &ProxyConfig) -> Command {
        match self {
            Peer::Direct => Command::new("true"),
            Peer::Ours => ours::command(exe, cfg),
            Peer::OursHyper => {
                let mut c = ours::command(exe, cfg);
                c.env("PROXY_FAST_PATH", "0");
                c
            }
            Peer::Haproxy => haproxy::command(exe, cfg),
            Peer::Nginx => nginx::command(exe, cfg),
            Peer::Caddy => caddy::command(exe, cfg),
            Peer::Apache => apache::command(exe, cfg),
        }
    }

    /// The peer's own config check (`haproxy -c`, `nginx -t`, `caddy validate`, `apache2 -t`).
    pub fn validate_command(self, exe: &Path, cfg: &ProxyConfig) -> Option<Command> {
        match self {
            Peer::Direct | Peer::Ours | Peer::OursHyper => None,
            Peer::Haproxy => Some(haproxy::validate(exe, cfg)),
            Peer::Nginx => Some(nginx::validate(exe, cfg)),
            Peer::Caddy => Some(caddy::validate(exe, cfg)),
            Peer::Apache => Some(apache::validate(exe, cfg)),
        }
    }

    /// How the peer takes a new config: ours watches the file; the others are told.
    pub fn reload_method(self) -> &'static str {
        match self {
            Peer::Direct => "-",
            Peer::Ours | Peer::OursHyper => "file provider watch (no command)",
            Peer::Haproxy => "SIGUSR2 to the master (-W), as systemd's reload does",
            Peer::Nginx => "nginx -s reload",
            Peer::Caddy => "caddy reload (admin API)",
            Peer::Apache => "apache2 -k graceful",
        }
    }

    /// The version line the peer prints.
    pub fn version(self, exe: &Path) -> String {
        let (prog, arg) = match self {
            Peer::Direct => return String::new(),
            Peer::Ours | Peer::OursHyper => (exe.to_path_buf(), "--version"),
            Peer::Haproxy => ("haproxy".into(), "-v"),
            Peer::Nginx => ("nginx".into(), "-v"),
            Peer::Caddy => ("caddy".into(), "version"),
            Peer::Apache => ("apache2".into(), "-v"),
        };
        match Command::new(&prog).arg(arg).output() {
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                text.lines().next().unwrap_or("").trim().to_string()
            }
            Err(_) => format!("{} not found", prog.display()),
        }
    }
}

/// Writes the peer's files into `cfg.dir`.
pub fn write_config(peer: Peer, cfg: &ProxyConfig) -> Result<()> {
    std::fs::create_dir_all(&cfg.dir)?;
    for (name, text) in peer.render(cfg) {
        let path = cfg.dir.join(name);
        // Write then rename: a watcher never sees a half-written file, as an editor's save.
        let tmp = cfg.dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// Runs the peer's own config check on freshly rendered files.
pub fn validate(peer: Peer, exe: &Path, cfg: &ProxyConfig) -> Result<String> {
    write_config(peer, cfg)?;
    let Some(mut cmd) = peer.validate_command(exe, cfg) else {
        return Ok("no check command".into());
    };
    let out = cmd
        .output()
        .with_context(|| format!("run {cmd:?} (is {} installed?)", peer.name()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("{} rejects its generated config:\n{text}", peer.name());
    }
    Ok(text.trim().to_string())
}

/// A running proxy in front of the backends.
pub struct Running {
    pub peer: Peer,
    pub cfg: ProxyConfig,
    exe: PathBuf,
    child: Option<Child>,
}

impl Running {
    /// Writes the config, starts the peer and waits until a request goes through.
    /// Returns the time from spawn to the first successful proxied request.
    /// `ours` is our proxy's binary; the peers are found on PATH.
    pub fn start(peer: Peer, ours: &Path, cfg: ProxyConfig) -> Result<(Running, Duration)> {
        let exe = &peer.program(ours);
        if peer == Peer::Direct {
            let r = Running {
                peer,
                cfg,
                exe: exe.to_path_buf(),
                child: None,
            };
            return Ok((r, Duration::ZERO));
        }
        write_config(peer, &cfg)?;
        let cmd = peer.start_command(exe, &cfg);
        let log = cfg.dir.join(format!("{}.log", peer.name()));
        let t0 = Instant::now();
        let mut child = Child::spawn(peer.name(), cmd, &log)?;
        let port = cfg.listen;
        let deadline = Duration::from_secs(15);
        let probe = |cfg: &ProxyConfig| {
            let timeout = Duration::from_millis(500);
            match &cfg.tls {
                None => http::get(port, LOAD_PATH, &[], timeout),
                Some(cert) => handshake::get(port, LOAD_PATH, &cert.der, timeout).map(|(r, _)| r),
            }
        };
        loop {
            if let Ok(r) = probe(&cfg) {
                if r.status == 200 {
                    break;
                }
            }
            procs::ensure_alive(&mut child)?;
            if t0.elapsed() > deadline {
                bail!(
                    "{} did not route a request within {deadline:?}; log:\n{}",
                    peer.name(),
                    child.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let took = t0.elapsed();
        Ok((
            Running {
                peer,
                cfg,
                exe: exe.to_path_buf(),
                child: Some(child),
            },
            took,
        ))
    }

    /// The port clients use (for `Direct`, the first backend's).
    pub fn port(&self) -> u16 {
        match self.peer {
            Peer::Direct => self.cfg.servers[0].port,
            _ => self.cfg.listen,
        }
    }

    /// The proxy's root pid (none without a proxy).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::pid)
    }

    /// Rewrites the config with new servers and triggers the peer's reload.
    pub fn reconfigure(&mut self, servers: Vec<Upstream>) -> Result<()> {
        self.cfg.servers = servers;
        write_config(self.peer, &self.cfg)?;
        let Some(child) = &self.child else {
            return Ok(());
        };
        match self.peer {
            Peer::Direct | Peer::Ours | Peer::OursHyper => Ok(()),
            Peer::Haproxy => {
                child.signal("USR2");
                Ok(())
            }
            Peer::Nginx => run_ok(nginx::reload(&self.exe, &self.cfg)),
            Peer::Caddy => run_ok(caddy::reload(&self.exe, &self.cfg)),
            Peer::Apache => run_ok(apache::graceful(&self.exe, &self.cfg)),
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.stop(Duration::from_secs(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_ok(mut cmd: Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// True when this process runs as root (uid 0), read from `/proc/self/status`.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A config for `servers` in a fresh sub-directory of `work`, on free ports.
pub fn config_in(
    work: &Path,
    tag: &str,
    servers: Vec<Upstream>,
    sticky: bool,
) -> Result<ProxyConfig> {
    let dir = work.join(tag);
    std::fs::create_dir_all(&dir)?;
    Ok(ProxyConfig {
        listen: backend::free_port()?,
        admin: backend::free_port()?,
        servers,
        sticky,
        dir,
        as_root: running_as_root(),
        tls: None,
    })
}

#[cfg(test)]
pub(crate) fn sample(sticky: bool) -> ProxyConfig {
    ProxyConfig {
        listen: 18080,
        admin: 18081,
        servers: vec![
            Upstream {
                name: "a".into(),
                port: 19001,
            },
            Upstream {
                name: "b".into(),
                port: 19002,
            },
        ],
        sticky,
        dir: PathBuf::from("/tmp/bench-x"),
        as_root: true,
        tls: None,
    }
}

#[cfg(test)]
pub(crate) fn sample_tls() -> ProxyConfig {
    let dir = PathBuf::from("/tmp/bench-x");
    ProxyConfig {
        tls: Some(BenchCert {
            cert: dir.join("bench-cert.pem"),
            key: dir.join("bench-key.pem"),
            combined: dir.join("bench-combined.pem"),
            der: Vec::new(),
        }),
        ..sample(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Peer::ALL {
            assert_eq!(Peer::parse(p.name()), Some(p));
        }
        assert!(!Peer::Nginx.supports_sticky());
        assert!(Peer::Haproxy.supports_sticky());
    }

    #[test]
    fn every_config_names_every_server_and_the_port() {
        for p in [
            Peer::Ours,
            Peer::Haproxy,
            Peer::Nginx,
            Peer::Caddy,
            Peer::Apache,
        ] {
            for sticky in [false, true] {
                let cfg = sample(sticky);
                let files = p.render(&cfg);
                let text: String = files.iter().map(|(_, t)| t.as_str()).collect();
                assert!(text.contains("19001") && text.contains("19002"), "{p:?}");
                if p != Peer::Ours {
                    // Ours takes its port from a flag, as Traefik's entrypoints.
                    assert!(text.contains("18080"), "{p:?} listens on the port");
                }
                if sticky && p.supports_sticky() {
                    assert!(text.contains("lb"), "{p:?} sticky cookie named lb");
                }
            }
        }
    }
}
