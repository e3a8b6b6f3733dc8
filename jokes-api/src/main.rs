//! `jokes-api`: parses flags, then runs [`jokes_api::run`] until SIGTERM or SIGINT.
//!
//! Once it listens it prints one line on stdout, `listening on http://ADDRESS:PORT`, which tools
//! (and the tests) parse to find a server started with `--listen 127.0.0.1:0`. Logs go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderValue;
use clap::Parser;
use jokes_api::{AppState, Catalog};
use lab_common::{instance_id, Instance, InstanceId};

/// The lab's jokes API: random jokes as JSON, naming the server that answered, and a CRUD API
/// on this instance's own jokes (/jokes).
#[derive(Debug, Parser)]
#[command(version)]
struct Flags {
    /// Address and port to listen on (port 0: any free port).
    #[arg(
        long,
        env = "JOKES_LISTEN",
        value_name = "ADDR",
        default_value = "0.0.0.0:3000"
    )]
    listen: SocketAddr,

    /// This server's name in X-Served-By and the JSON [default: the container id, else the
    /// hostname].
    #[arg(long, env = "INSTANCE_ID", value_name = "ID", value_parser = instance_id::check)]
    instance_id: Option<String>,

    /// Serve the jokes in this JSON file (a list of {"id", "setup", "punchline"}) instead of the
    /// bundled ones.
    #[arg(long, env = "JOKES_FILE", value_name = "FILE")]
    jokes: Option<PathBuf>,

    /// Let pages from this origin call the API directly (CORS), e.g. http://localhost:8080,
    /// or * for any. Without it, browsers reach the API only through the proxy (same origin).
    #[arg(long, env = "JOKES_CORS_ORIGIN", value_name = "ORIGIN", value_parser = parse_origin)]
    cors_origin: Option<HeaderValue>,
}

fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
    let looks_right = origin == "*"
        || ((origin.starts_with("http://") || origin.starts_with("https://"))
            && !origin.ends_with('/'));
    match HeaderValue::from_str(origin) {
        Ok(value) if looks_right => Ok(value),
        _ => Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port] with no path, \
             e.g. http://localhost:8080, or *"
        )),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    lab_common::logging::init();

    let catalog = match &flags.jokes {
        Some(path) => {
            let json = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --jokes {}", path.display()))?;
            Catalog::parse(&json).with_context(|| format!("--jokes {}", path.display()))?
        }
        None => Catalog::bundled().context("the bundled jokes are broken")?,
    };
    let instance = Arc::new(Instance::new(
        "jokes-api",
        InstanceId::detect(flags.instance_id.as_deref()),
    ));
    let shutdown = lab_common::shutdown::signal().context("cannot install signal handlers")?;
    let listener = tokio::net::TcpListener::bind(flags.listen)
        .await
        .with_context(|| format!("cannot listen on {}: is the port free?", flags.listen))?;
    let address = listener.local_addr()?;

    tracing::info!(
        "jokes-api {} ({} jokes), instance {} (from {})",
        env!("CARGO_PKG_VERSION"),
        catalog.len(),
        instance.id(),
        instance.id_source()
    );
    println!("listening on http://{address}");

    let state = AppState::new(instance, catalog, flags.cors_origin);
    jokes_api::run(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
