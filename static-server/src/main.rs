//! `static-server`: parses flags, then runs [`static_server::run`] until SIGTERM or SIGINT.
//!
//! Once it listens it prints one line on stdout, `listening on http://ADDRESS:PORT`, which tools
//! (and the tests) parse to find a server started with `--listen 127.0.0.1:0`. Logs go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use lab_common::{instance_id, Instance, InstanceId};
use static_server::{AppState, Site};

/// The lab's static web server: the landing page and its assets, naming the server that
/// answered in X-Served-By.
#[derive(Debug, Parser)]
#[command(version)]
struct Flags {
    /// Address and port to listen on (port 0: any free port).
    #[arg(
        long,
        env = "STATIC_LISTEN",
        value_name = "ADDR",
        default_value = "0.0.0.0:80"
    )]
    listen: SocketAddr,

    /// Serve this directory instead of the site compiled into the binary.
    #[arg(long, env = "STATIC_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,

    /// This server's name in X-Served-By and the page [default: the container id, else the
    /// hostname].
    #[arg(long, env = "INSTANCE_ID", value_name = "ID", value_parser = instance_id::check)]
    instance_id: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    lab_common::logging::init();

    let site = match &flags.root {
        Some(root) => Site::dir(root).context("cannot serve --root")?,
        None => Site::Bundled,
    };
    let instance = Arc::new(Instance::new(
        "static-server",
        InstanceId::detect(flags.instance_id.as_deref()),
    ));
    let shutdown = lab_common::shutdown::signal().context("cannot install signal handlers")?;
    let listener = tokio::net::TcpListener::bind(flags.listen)
        .await
        .with_context(|| format!("cannot listen on {}: is the port free?", flags.listen))?;
    let address = listener.local_addr()?;

    tracing::info!(
        "static-server {} serving {}, instance {} (from {})",
        env!("CARGO_PKG_VERSION"),
        site.describe(),
        instance.id(),
        instance.id_source()
    );
    println!("listening on http://{address}");

    let state = AppState {
        instance,
        site: Arc::new(site),
    };
    static_server::run(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
