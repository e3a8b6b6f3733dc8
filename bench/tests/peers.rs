//! Each peer's generated config passes the peer's own check and routes a request to the
//! backends (stand-in backends, no load). Where a peer is not installed the test skips, except
//! under CI=true where it fails: CI installs them (LAB_SETUP_BENCH=1 bash scripts/setup.sh).

use std::path::PathBuf;
use std::time::Duration;

use bench::backend::{Backend, BackendKind, WHO_PATH};
use bench::http;
use bench::peers::{self, Peer, Running, Upstream};

fn installed(prog: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found && std::env::var("CI").as_deref() == Ok("true") {
        panic!("{prog} is missing: LAB_SETUP_BENCH=1 bash scripts/setup.sh");
    }
    if !found {
        eprintln!("skipping {prog}: not installed");
    }
    found
}

fn stand_in() -> BackendKind {
    BackendKind::StandIn {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_bench")),
    }
}

#[test]
fn every_peer_config_passes_its_own_check() {
    let work = tempfile::tempdir().expect("tmp");
    for p in [Peer::Haproxy, Peer::Nginx, Peer::Caddy, Peer::Apache] {
        let prog = p.program(&PathBuf::new());
        if !installed(&prog.to_string_lossy()) {
            continue;
        }
        for sticky in [false, true] {
            let servers = vec![Upstream {
                name: "a".into(),
                port: 1,
            }];
            let cfg = peers::config_in(
                work.path(),
                &format!("{}-{sticky}", p.name()),
                servers,
                sticky,
            )
            .expect("config");
            peers::validate(p, &prog, &cfg).unwrap_or_else(|e| panic!("{e:#}"));
        }
    }
}

#[test]
fn every_peer_routes_round_robin_and_follows_a_config_change() {
    let work = tempfile::tempdir().expect("tmp");
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(work.path())
        .status();
    let backends: Vec<Backend> = ["a", "b", "c"]
        .iter()
        .map(|n| Backend::start(&stand_in(), n, work.path()).expect("backend"))
        .collect();
    let ups: Vec<Upstream> = backends
        .iter()
        .map(|b| Upstream {
            name: b.name.clone(),
            port: b.port,
        })
        .collect();
    for p in [Peer::Haproxy, Peer::Nginx, Peer::Caddy, Peer::Apache] {
        if !installed(&p.program(&PathBuf::new()).to_string_lossy()) {
            continue;
        }
        let cfg = peers::config_in(work.path(), p.name(), ups.clone(), false).expect("config");
        let (mut running, _) = Running::start(p, &PathBuf::new(), cfg).expect("starts");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..12 {
            let r = http::get(running.port(), WHO_PATH, &[], Duration::from_secs(2)).expect("get");
            assert_eq!(r.status, 200, "{p:?}");
            seen.insert(r.body.trim().to_string());
        }
        assert_eq!(
            seen.len(),
            3,
            "{p:?} spreads over the three servers: {seen:?}"
        );
        running.reconfigure(ups[..1].to_vec()).expect("reload");
        http::wait_until(
            running.port(),
            WHO_PATH,
            &[],
            Duration::from_secs(10),
            |r| r.body.trim() == "a",
        )
        .unwrap_or_else(|e| panic!("{p:?} after reload: {e:#}"));
        running.stop();
    }
}

/// The TLS section's peers serve the bench certificate over TLS 1.3 and route to plain-HTTP
/// backends; a plain request on the TLS port is not answered as one. Ours runs when
/// `BENCH_PROXY` names its binary (bench/run.sh builds it in release).
#[test]
fn tls_peers_terminate_tls_with_the_bench_certificate() {
    let work = tempfile::tempdir().expect("tmp");
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(work.path())
        .status();
    let backend = Backend::start(&stand_in(), "a", work.path()).expect("backend");
    let ups = vec![Upstream {
        name: backend.name.clone(),
        port: backend.port,
    }];
    let cert = bench::tls::BenchCert::generate(&work.path().join("cert")).expect("openssl");
    let ours = std::env::var_os("BENCH_PROXY").map(PathBuf::from);
    if ours.is_none() {
        eprintln!("skipping ours: set BENCH_PROXY to the proxy's binary");
    }
    for p in [Peer::Ours, Peer::Haproxy, Peer::Nginx] {
        let exe = match p {
            Peer::Ours => match &ours {
                Some(exe) => exe.clone(),
                None => continue,
            },
            _ if !installed(&p.program(&PathBuf::new()).to_string_lossy()) => continue,
            _ => PathBuf::new(),
        };
        let mut cfg = peers::config_in(
            work.path(),
            &format!("tls-{}", p.name()),
            ups.clone(),
            false,
        )
        .expect("config");
        cfg.tls = Some(cert.clone());
        let (mut running, _) = Running::start(p, &exe, cfg).expect("starts over TLS");
        let port = running.port();
        let (r, n) = bench::handshake::get(port, WHO_PATH, &cert.der, Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{p:?}: {e:#}"));
        assert_eq!((r.status, r.body.trim()), (200, "a"), "{p:?}");
        assert_eq!(n.protocol, "TLSv1.3", "{p:?}");
        assert!(!n.resumed, "{p:?}: the handshake client never resumes");
        let o = bench::tls::negotiated_with_openssl(port).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(o.protocol, "TLSv1.3", "{p:?} with OpenSSL");
        let plain = http::get(port, WHO_PATH, &[], Duration::from_secs(2));
        assert!(
            plain.map(|r| r.status != 200).unwrap_or(true),
            "{p:?} answers plain HTTP on its TLS port"
        );
        let load = bench::handshake::run(port, WHO_PATH, &cert.der, 4, Duration::from_secs(1))
            .expect("handshake load");
        assert!(load.requests > 0 && load.failed() == 0, "{p:?}: {load:?}");
        running.stop();
    }
}
