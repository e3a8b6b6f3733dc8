//! The backends behind every proxy: three servers answering ~100-byte responses.
//!
//! Each backend serves two files from its own root: `bench.txt` (100 bytes, the load) and
//! `who.txt` (its name, so a probe can tell which server answered: that is how the config
//! change to routed time is observed). The real `static-server` serves them with `--root`; the
//! stand-in (a minimal hyper server in this binary, `bench backend`) answers the same two paths
//! and is used when `static-server` is not built, so the harness runs on its own.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::http;
use crate::procs::Child;

/// The path wrk loads: a 100-byte file.
pub const LOAD_PATH: &str = "/bench.txt";
/// The path probes read to learn which backend answered.
pub const WHO_PATH: &str = "/who.txt";
/// The load body: 100 bytes, like a small JSON answer.
pub const BODY: &str =
    "{\"joke\":\"A proxy walks into a bar. The bartender serves the next one in line.\",\"id\":12345678901234}\n";

/// How a backend process is started.
#[derive(Debug, Clone)]
pub enum BackendKind {
    /// This binary's `backend` subcommand.
    StandIn { exe: PathBuf },
    /// The project's `static-server --root DIR` (release build).
    StaticServer { exe: PathBuf },
}

impl BackendKind {
    pub fn label(&self) -> &'static str {
        match self {
            BackendKind::StandIn { .. } => "stand-in hyper server (bench backend)",
            BackendKind::StaticServer { .. } => "static-server (release)",
        }
    }
}

/// A running backend.
pub struct Backend {
    pub name: String,
    pub port: u16,
    kind: BackendKind,
    dir: PathBuf,
    child: Option<Child>,
}

/// A free TCP port on 127.0.0.1 (bound then released; the window for a clash is tiny).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Backend {
    /// Writes the backend's root and starts it on a free port.
    pub fn start(kind: &BackendKind, name: &str, work: &Path) -> Result<Backend> {
        let dir = work.join(format!("backend-{name}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("bench.txt"), BODY)?;
        std::fs::write(dir.join("who.txt"), name)?;
        let mut b = Backend {
            name: name.to_string(),
            port: free_port()?,
            kind: kind.clone(),
            dir,
            child: None,
        };
        b.restart()?;
        Ok(b)
    }

    fn command(&self) -> Command {
        match &self.kind {
            BackendKind::StandIn { exe } => {
                let mut c = Command::new(exe);
                c.arg("backend")
                    .arg("--port")
                    .arg(self.port.to_string())
                    .arg("--name")
                    .arg(&self.name);
                c
            }
            BackendKind::StaticServer { exe } => {
                let mut c = Command::new(exe);
                c.arg("--root")
                    .arg(&self.dir)
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{}", self.port))
                    .arg("--instance-id")
                    .arg(&self.name);
                // The access log is at INFO: one line per request would measure the log.
                c.env("RUST_LOG", "warn");
                c
            }
        }
    }

    /// (Re)starts the process on the same port and waits until it answers.
    pub fn restart(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.stop(Duration::from_secs(2));
        }
        let log = self.dir.with_extension("log");
        let child = Child::spawn(&format!("backend {}", self.name), self.command(), &log)?;
        self.child = Some(child);
        let name = self.name.clone();
        http::wait_until(self.port, WHO_PATH, &[], Duration::from_secs(10), |r| {
            r.status == 200 && r.body.trim() == name
        })
        .with_context(|| {
            format!(
                "backend {} did not come up; log:\n{}",
                self.name,
                crate::procs::log_tail(&log)
            )
        })?;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::pid)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (graceful) and wait for the exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.stop(Duration::from_secs(5));
        }
    }

    /// SIGKILL, no grace.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

/// The stand-in backend: answers `/who.txt` with its name and anything else with [`BODY`].
pub fn serve_stand_in(port: u16, name: String) -> Result<()> {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .with_context(|| format!("bind 127.0.0.1:{port}"))?;
        let name = Bytes::from(name);
        let body = Bytes::from_static(BODY.as_bytes());
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            let (stream, _) = tokio::select! {
                a = listener.accept() => a?,
                _ = term.recv() => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let name = name.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let bytes = if req.uri().path() == WHO_PATH {
                        name.clone()
                    } else {
                        body.clone()
                    };
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .header("content-type", "text/plain")
                                .body(Full::new(bytes))
                                .expect("static response"),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_100_bytes() {
        assert_eq!(BODY.len(), 100);
    }
}
