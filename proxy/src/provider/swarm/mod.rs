//! The Swarm provider: Docker Swarm services and their `traefik.*` labels (`deploy.labels` in a
//! stack file) become routers, services and middlewares; each service's running tasks are its
//! servers (or its virtual IP, with `traefik.swarm.lbswarm=true`).
//!
//! Shaped like the Docker provider beside it: the engine behind a trait ([`SwarmSource`],
//! [`engine`] for the real one), services and tasks to desired configuration as a pure function
//! ([`desired`]), the watch loop tested against a fake swarm in paused time ([`watch`]). What
//! follows the provider (merge, snapshot, round robin kept across changes, sticky cookies,
//! health, the API) is the same path as for every provider.
//!
//! Interface contract for the data plane: build a [`SwarmOptions`] from the CLI flags
//! (`--providers.swarm.*`, or v2's `--providers.docker.swarmMode=true`) and spawn [`run`] with
//! the provider's [`Publisher`] and a shutdown future. `run` never fails: an engine that is
//! missing, not a manager, or goes away is retried with backoff while the last published
//! configuration stays in place.

mod desired;
mod engine;
mod labels;
mod model;
mod options;
mod raw;
mod source;
mod watch;

use std::future::Future;

pub use desired::{build as desired_config, is_serving};
pub use engine::SwarmEngine;
pub use labels::{split as split_labels, SwarmLabels};
pub use model::{SwarmEvent, SwarmService, Task, TaskState};
pub use options::{parse_refresh, render_rule, SwarmOptions, DEFAULT_REFRESH, DEFAULT_RULE};
pub use source::SwarmSource;
pub use watch::{watch, CONVERGING_POLL, FAST_FOR, FAST_POLL};

use super::Publisher;

/// Watches the swarm and publishes the desired configuration on `publisher` whenever it
/// changes, until `shutdown` completes.
pub async fn run(
    opts: SwarmOptions,
    publisher: Publisher,
    shutdown: impl Future<Output = ()> + Send,
) {
    let engine = SwarmEngine::new(opts.endpoint.as_deref());
    run_with(&engine, opts, publisher, shutdown).await
}

/// [`run`] with any source (a fake swarm in tests).
pub async fn run_with<S>(
    source: &S,
    opts: SwarmOptions,
    publisher: Publisher,
    shutdown: impl Future<Output = ()> + Send,
) where
    S: SwarmSource + ?Sized,
{
    tokio::select! {
        () = watch(source, &opts, &publisher) => {}
        () = shutdown => tracing::debug!("swarm provider: stopped"),
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
        spawnable(run(SwarmOptions::default(), tx, async {}));
    }
}
