//! Where services and tasks come from: a manager's engine, behind a trait, so the watch loop is
//! tested with a fake swarm in paused time.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::provider::docker::{accepts_tcp, Prober, Scope, SourceError};

use super::model::{SwarmEvent, SwarmService, Task};

/// Read access to a swarm: services, tasks, events, and where the proxy itself sits.
///
/// Methods take `&self` and return boxed futures so the trait works as `dyn SwarmSource` and
/// in spawned tasks, like the Docker provider's `ContainerSource`.
pub trait SwarmSource: Send + Sync {
    /// Where the engine is, for messages.
    fn endpoint(&self) -> String;

    /// Every service of the swarm.
    fn services(&self) -> BoxFuture<'_, Result<Vec<SwarmService>, SourceError>>;

    /// Every task the manager still lists (running, starting, and recently ended ones).
    fn tasks(&self) -> BoxFuture<'_, Result<Vec<Task>, SourceError>>;

    /// Service and node changes, and the containers of tasks on this engine's node, from now
    /// on. The stream ends, or yields an error, when the engine goes away.
    fn events(&self) -> BoxStream<'static, Result<SwarmEvent, SourceError>>;

    /// The networks the proxy's own container is on (unscoped when it runs on a host).
    fn scope(&self) -> BoxFuture<'_, Result<Scope, SourceError>>;

    /// How to tell whether a task's port accepts connections yet. The default connects over
    /// TCP.
    fn prober(&self) -> Prober {
        std::sync::Arc::new(|addr| Box::pin(accepts_tcp(addr)))
    }
}
