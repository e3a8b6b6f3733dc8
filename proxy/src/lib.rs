//! A label-driven reverse proxy for the HTTP infrastructure lab, compatible with Traefik v2's
//! Docker labels and file format.
//!
//! The binary is thin: `main` parses the static configuration ([`static_config`]), binds the entrypoints
//! ([`bind`]), prints one line per entrypoint, and calls [`run`]. Tests call [`bind`] and
//! [`run`] in-process with port-0 addresses, their own provider channels and shutdown future.

pub mod answer;
pub mod api;
pub mod balance;
pub mod config;
pub mod dataplane;
pub mod entrypoint_http;
pub mod fuzz;
pub mod limits;
pub mod middleware;
pub mod observe;
pub mod parse;
pub mod privileges;
pub mod provider;
pub mod runtime;
pub mod snapshot;
pub mod static_config;
pub mod tls;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use config::ProviderConfig;
use dataplane::entrypoint;
pub use runtime::{ProviderFeed, Runtime};
pub use static_config::StaticConfig;

/// A bound entrypoint.
pub struct Listener {
    pub name: String,
    pub listener: TcpListener,
}

impl Listener {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }
}

/// The line `main` prints for each entrypoint once it listens; tools (the `lab` command, tests)
/// parse it to find ports chosen by the system: `entrypoint NAME listening on http://ADDR`, or
/// `https://` for an entrypoint with `http.tls` (every router on it serves TLS).
pub fn listening_line(name: &str, addr: SocketAddr, https: bool) -> String {
    let scheme = if https { "https" } else { "http" };
    format!("entrypoint {name} listening on {scheme}://{addr}")
}

/// Binds every entrypoint of `cfg`. Must run inside a Tokio runtime.
pub fn bind(cfg: &StaticConfig) -> anyhow::Result<Vec<Listener>> {
    cfg.entrypoints
        .iter()
        .map(|(name, ep)| {
            let listener = entrypoint::bind(ep.socket).with_context(|| {
                format!(
                    "cannot listen on {} for entrypoint `{name}`; is the port free (and allowed)? \
                     change it with --entrypoints.{name}.address",
                    ep.socket
                )
            })?;
            Ok(Listener {
                name: name.clone(),
                listener,
            })
        })
        .collect()
}

/// Runs the proxy on `listeners` until `shutdown` completes, then drains in-flight requests
/// within each entrypoint's grace period.
///
/// Providers named in `cfg` (`--providers.docker`, `--providers.swarm`, `--providers.file.*`)
/// are started here;
/// `feeds` adds providers of the caller's (tests publish on their own channels).
pub async fn run(
    cfg: StaticConfig,
    listeners: Vec<Listener>,
    mut feeds: Vec<ProviderFeed>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let bound: BTreeMap<String, SocketAddr> = listeners
        .iter()
        .map(|l| (l.name.clone(), l.local_addr()))
        .collect();
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    if let Some(opts) = cfg.docker.clone() {
        let (tx, rx) = watch::channel(ProviderConfig::default());
        tokio::spawn(provider::docker::run(opts, tx, stopped(stop_rx.clone())));
        feeds.push(("docker".into(), rx));
    }
    if let Some(opts) = cfg.swarm.clone() {
        let (tx, rx) = watch::channel(ProviderConfig::default());
        let name = opts.provider_name.clone();
        tokio::spawn(provider::swarm::run(opts, tx, stopped(stop_rx.clone())));
        feeds.push((name, rx));
    }
    if let Some(opts) = cfg.file.clone() {
        let (tx, rx) = watch::channel(ProviderConfig::default());
        spawn_file_provider(opts, tx, stopped(stop_rx.clone()));
        feeds.push(("file".into(), rx));
    }

    let serves_api = runtime::serves_api(&cfg);
    let rt = Arc::new(Runtime::new(cfg, bound.clone()));
    tokio::spawn(runtime::watch_providers(rt.clone(), feeds, stop_rx.clone()));

    let mut tasks = Vec::new();
    for l in listeners {
        let ep_cfg = rt.static_config.entrypoints[&l.name].clone();
        if l.name == static_config::API_ENTRYPOINT && serves_api {
            let app = api::app(rt.clone());
            let stop = stopped(stop_rx.clone());
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(l.listener, app).with_graceful_shutdown(stop);
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "API entrypoint failed");
                }
            }));
            continue;
        }
        let port = l.local_addr().port();
        let ctx = dataplane::hyper_path::EntryCtx {
            name: l.name.clone(),
            port_value: http::HeaderValue::from(port),
            trust_all: ep_cfg.trust_all_forwarded,
            trusted: ep_cfg.trusted_ips.clone(),
            tls_routers: ep_cfg.http.tls,
            redirect: match &ep_cfg.http.redirect {
                Some(r) => Some((
                    r.router_name(&l.name),
                    r.compile(&bound)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| {
                            format!("--entrypoints.{}.http.redirections.entrypoint", l.name)
                        })?,
                )),
                None => None,
            },
        };
        let threads = rt.static_config.data_plane_threads;
        if threads == 0 {
            tasks.push(tokio::spawn(entrypoint::serve(
                rt.clone(),
                ctx,
                l.listener,
                ep_cfg.header_read_timeout,
                ep_cfg.grace_timeout,
                stop_rx.clone(),
            )));
            continue;
        }
        // One socket per thread on the same address (SO_REUSEPORT): the kernel spreads new
        // connections over them.
        let ctx = Arc::new(ctx);
        let first = l
            .listener
            .into_std()
            .with_context(|| format!("entrypoint `{}`: cannot hand the listener over", l.name))?;
        let mut sockets = Vec::with_capacity(threads);
        for _ in 1..threads {
            sockets.push(entrypoint::bind_again(&first).with_context(|| {
                format!(
                    "entrypoint `{}`: cannot open another socket on its address",
                    l.name
                )
            })?);
        }
        sockets.insert(0, first);
        for (i, listener) in sockets.into_iter().enumerate() {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let (rt, ctx, stop) = (rt.clone(), ctx.clone(), stop_rx.clone());
            let (read_timeout, grace) = (ep_cfg.header_read_timeout, ep_cfg.grace_timeout);
            std::thread::Builder::new()
                .name(format!("{}-{i}", l.name))
                .spawn(move || {
                    balance::pool::set_thread_slot(i);
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot start a data-plane runtime");
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        match TcpListener::from_std(listener) {
                            Ok(l) => {
                                entrypoint::serve_shared(rt, ctx, l, read_timeout, grace, stop)
                                    .await
                            }
                            Err(e) => tracing::error!(error = %e, "cannot listen"),
                        }
                    });
                    drop(done_tx);
                })
                .context("cannot start a data-plane thread")?;
            tasks.push(tokio::spawn(async move {
                let _ = done_rx.await;
            }));
        }
    }
    tokio::spawn(runtime::reap_idle_connections(rt.clone(), stop_rx.clone()));

    shutdown.await;
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Starts the file provider (`--providers.file.filename` or `.directory`, `.watch`).
fn spawn_file_provider(
    opts: static_config::FileOptions,
    publisher: provider::Publisher,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use provider::file::{FileProvider, FileSource};
    let source = match (opts.filename, opts.directory) {
        (Some(f), _) => FileSource::File(f.into()),
        (None, Some(d)) => FileSource::Dir(d.into()),
        (None, None) => unreachable!("the CLI requires a filename or a directory"),
    };
    tokio::spawn(FileProvider::new(source, opts.watch).run(publisher, shutdown));
}
