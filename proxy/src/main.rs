//! The proxy binary: flags and environment in, [`proxy::run`] until SIGTERM or Ctrl-C.
//!
//! Prints `entrypoint NAME listening on http://ADDR` (`https://` with `http.tls`) on stdout for
//! each entrypoint once it listens (port 0 becomes the real port), which tools parse.

use std::io::Write;
use std::process::ExitCode;

use proxy::privileges;
use proxy::provider::docker::{socket_access, ContainerSource, Engine};
use proxy::static_config::{self, Command};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = static_config::env_settings(std::env::vars());
    let cfg = match static_config::parse(&args, &env) {
        Ok(Command::Run(cfg)) => *cfg,
        Ok(Command::Help) => {
            print!("{}", static_config::help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("proxy {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(lab_common::logging::colour_on_stderr())
        .with_writer(std::io::stderr)
        .init();
    if let Some(file) = &cfg.config_file {
        tracing::info!("static configuration loaded from {}", file.display());
    }
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }

    // Root gives way to PROXY_USER (the image sets 65534:65534) here, while this is the only
    // thread: the calls change the calling thread only. See `proxy::privileges`.
    if let Some(exit) = drop_root(&cfg) {
        return exit;
    }

    // The data plane runs one thread per core, each with its own single-threaded runtime (see
    // `StaticConfig::data_plane_threads`); this runtime keeps the rest: providers, health
    // checks, the API.
    let mut cfg = cfg;
    cfg.data_plane_threads = std::env::var("PROXY_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    cfg.fast_path = std::env::var("PROXY_FAST_PATH").map_or(true, |v| v != "0");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listeners = proxy::bind(&cfg)?;
        // Installed before the listening lines are printed: a SIGTERM sent as soon as a test or
        // a tool has read them stops the proxy cleanly instead of killing it.
        let shutdown = lab_common::shutdown::signal()?;
        let mut out = std::io::stdout().lock();
        for l in &listeners {
            let https = cfg.entrypoints.get(&l.name).is_some_and(|e| e.http.tls);
            writeln!(
                out,
                "{}",
                proxy::listening_line(&l.name, l.local_addr(), https)
            )?;
        }
        out.flush()?;
        drop(out);
        proxy::run(cfg, listeners, Vec::new(), async {
            shutdown.await;
        })
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Switches away from root if asked to (`PROXY_USER`); `Some(exit code)` when it must stop.
fn drop_root(cfg: &proxy::static_config::StaticConfig) -> Option<ExitCode> {
    let target = match std::env::var(privileges::ENV) {
        Ok(v) if !v.trim().is_empty() => match privileges::parse_target(&v) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e}");
                return Some(ExitCode::from(2));
            }
        },
        _ => None,
    };
    let socket = cfg.docker.as_ref().and_then(|d| {
        let endpoint = Engine::new(d.endpoint.as_deref()).endpoint();
        socket_access::socket_path(&endpoint)
    });
    let ports: Vec<u16> = cfg.entrypoints.values().map(|e| e.socket.port()).collect();
    let facts = privileges::Facts::gather(target, socket.as_deref(), &ports);
    match privileges::drop_root(&facts) {
        Ok(()) => None,
        Err(e) => {
            eprintln!("error: cannot switch to {}: {e}", privileges::ENV);
            Some(ExitCode::FAILURE)
        }
    }
}
