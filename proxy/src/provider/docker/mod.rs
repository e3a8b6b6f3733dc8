//! The Docker provider: running containers and their `traefik.*` labels become routers,
//! services (one server per container) and middlewares, kept up to date from the engine's
//! event stream.
//!
//! Interface contract for the data plane: build a [`DockerOptions`] from the CLI flags
//! (`--providers.docker`, `--providers.docker.endpoint`, `--providers.docker.exposedbydefault`,
//! `--providers.docker.network`) and spawn [`run`] with the provider's [`Publisher`] and a
//! shutdown future. `run` never fails: an engine that is missing or goes away is retried with
//! backoff while the last published configuration stays in place.

mod actions;
mod container;
mod desired;
mod engine;
mod scope;
pub mod socket_access;
mod source;
mod watch;

use std::future::Future;

pub use actions::{
    clone_spec, next_number, CloneSpec, ContainerActions, Node, ADDED_BY_LABEL, STOP_GRACE_SECS,
};
pub use container::{Action, Container, ContainerEvent, Health, State};
pub use desired::{build as desired_config, build_in, default_name, is_serving, normalize};
pub(crate) use desired::{fill_defaults, pick_address, Merged};
pub(crate) use engine::attributes;
pub use engine::{Engine, DEFAULT_ENDPOINT};
pub(crate) use scope::detect as detect_scope;
pub use scope::Scope;
pub use source::{accepts_tcp, ContainerSource, Prober, SourceError};
pub use watch::watch;

use super::Publisher;

/// The Docker provider's settings, as Traefik's `--providers.docker.*` flags name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// `--providers.docker.endpoint` (`unix:///var/run/docker.sock`, `tcp://host:2375`).
    /// `None`: `DOCKER_HOST`, else the local socket.
    pub endpoint: Option<String>,
    /// `--providers.docker.exposedbydefault` (Traefik's default: true). When false, only
    /// containers labelled `traefik.enable=true` are routed.
    pub exposed_by_default: bool,
    /// `--providers.docker.network`: the network whose address is used to reach containers,
    /// unless a container says otherwise with `traefik.docker.network`.
    pub network: Option<String>,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            exposed_by_default: true,
            network: None,
        }
    }
}

/// Watches the engine and publishes the desired configuration on `publisher` whenever it
/// changes, until `shutdown` completes.
pub async fn run(
    opts: DockerOptions,
    publisher: Publisher,
    shutdown: impl Future<Output = ()> + Send,
) {
    let engine = Engine::new(opts.endpoint.as_deref());
    run_with(&engine, opts, publisher, shutdown).await
}

/// [`run`] with any container source (a fake engine in tests, or an [`Engine`] shared with
/// the management UI).
pub async fn run_with<S>(
    source: &S,
    opts: DockerOptions,
    publisher: Publisher,
    shutdown: impl Future<Output = ()> + Send,
) where
    S: ContainerSource + ?Sized,
{
    tokio::select! {
        () = watch(source, &opts, &publisher) => {}
        () = shutdown => tracing::debug!("docker provider: stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data plane spawns `run` on the runtime: it must be `Send`.
    #[test]
    fn run_can_be_spawned() {
        fn spawnable<T: Future<Output = ()> + Send + 'static>(_: T) {}
        let (tx, _rx) = tokio::sync::watch::channel(Default::default());
        spawnable(run(DockerOptions::default(), tx, async {}));
    }
}
